from causalsynth.findings import write_findings
from causalsynth.runner import logged

with logged(snakemake.log[0], snakemake.threads):
    write_findings(tables_dir=snakemake.params.tables_dir, out_md=snakemake.output.findings)
