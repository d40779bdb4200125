from causalsynth.core.runner import logged
from causalsynth.hybrid.pairing import run_pairing

with logged(snakemake.log[0], snakemake.threads):
    run_pairing(
        positivity_path=snakemake.input.positivity,
        card_path=snakemake.input.card,
        pool_path=snakemake.params.pool,
        params=snakemake.params.pairing,
        seed=snakemake.params.seed,
        out_paired=snakemake.output.paired,
        out_json=snakemake.output.summary,
        n_jobs=snakemake.threads,
    )
