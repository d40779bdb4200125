from causalsynth.core.runner import logged
from causalsynth.hybrid.pool import run_hybrid

with logged(snakemake.log[0], snakemake.threads):
    run_hybrid(
        train_path=snakemake.input.train,
        card_path=snakemake.input.card,
        covariates_path=snakemake.input.get("covariates"),
        params=snakemake.params.hybrid,
        seed=snakemake.params.seed,
        threads=snakemake.threads,
        out_pool=snakemake.output.pool,
        out_meta=snakemake.output.meta,
        dataset=snakemake.wildcards.dataset,
        generator=snakemake.wildcards.hybrid,
        mechanisms_path=snakemake.input.get("mechanisms"),
    )
