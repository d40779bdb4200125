from causalsynth.core.runner import logged
from causalsynth.report.figures import make_paper_figures

with logged(snakemake.log[0], snakemake.threads):
    make_paper_figures(
        tables_dir=snakemake.params.tables_dir,
        dcr_jsons=snakemake.params.dcr,
        settings=dict(snakemake.params.settings),
        out_dir=snakemake.params.out_dir,
        out_comparison=snakemake.output.comparison,
        out_comparison_md=snakemake.output.comparison_md,
    )
