from causalsynth.core.runner import logged
from causalsynth.report.figures import make_all_figures

with logged(snakemake.log[0], snakemake.threads):
    make_all_figures(
        tables_dir=snakemake.params.tables_dir,
        dcr_jsons=snakemake.params.dcr,
        benchmark_files=[tuple(r) for r in snakemake.params.benchmarks],
        out_dir=snakemake.params.out_dir,
    )
