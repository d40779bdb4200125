from causalsynth.core.runner import logged
from causalsynth.estimate.real import run_real_estimates

with logged(snakemake.log[0], snakemake.threads):
    run_real_estimates(
        train_path=snakemake.input.data,
        card_path=snakemake.input.card,
        params=snakemake.params.estimation,
        seed=snakemake.params.seed,
        n_jobs=snakemake.threads,
        out_path=snakemake.output.estimates,
        dataset=snakemake.wildcards.dataset,
        rep=int(snakemake.wildcards.rep),
    )
