from causalsynth.core.runner import logged
from causalsynth.report.findings import write_findings

with logged(snakemake.log[0], snakemake.threads):
    write_findings(
        tables_dir=snakemake.params.tables_dir,
        out_md=snakemake.output.findings,
        out_front_page=snakemake.output.front_page,
    )
