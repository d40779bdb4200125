from causalsynth.core.runner import logged
from causalsynth.report.provenance import write_provenance

with logged(snakemake.log[0], snakemake.threads):
    write_provenance(
        config=snakemake.params.config,
        cards=list(snakemake.input.cards),
        metas=snakemake.params.metas,
        releases=list(snakemake.input.releases),
        out_path=snakemake.output.provenance,
    )
