from causalsynth.core.runner import logged
from causalsynth.evaluate.engine import run_engine

with logged(snakemake.log[0], snakemake.threads):
    run_engine(
        source=snakemake.params.pool["pool"],
        params=snakemake.params.engine,
        seed=snakemake.params.seed,
        n_jobs=snakemake.threads,
        out_path=snakemake.output.table,
        replicates_path=snakemake.output.replicates,
        dataset=snakemake.wildcards.dataset,
        engine=snakemake.wildcards.engine,
        meta_path=snakemake.params.pool["meta"],
        card_path=snakemake.input.card,
        dataset_options=snakemake.params.dataset_options,
    )
