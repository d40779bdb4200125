from causalsynth.core.runner import logged
from causalsynth.evaluate.ranking import run_engine_ranking

with logged(snakemake.log[0], snakemake.threads):
    run_engine_ranking(
        tables=list(snakemake.input.tables),
        replicates=list(snakemake.input.replicates),
        seed=snakemake.params.seed,
        out_summary=snakemake.output.summary,
        out_ranking=snakemake.output.ranking,
    )
