from causalsynth.core.runner import logged
from causalsynth.hybrid.pool import run_fit_mechanisms

with logged(snakemake.log[0], snakemake.threads):
    run_fit_mechanisms(
        train_path=snakemake.input.train,
        card_path=snakemake.input.card,
        params=snakemake.params.hybrid,
        seed=snakemake.params.seed,
        threads=snakemake.threads,
        out_model=snakemake.output.model,
        out_meta=snakemake.output.meta,
        dataset=snakemake.wildcards.dataset,
    )
