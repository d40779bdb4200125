from causalsynth.evaluation import run_ate_preservation
from causalsynth.runner import logged

with logged(snakemake.log[0], snakemake.threads):
    run_ate_preservation(
        data_path=snakemake.input.data,
        real_train_path=None,
        card_path=snakemake.input.card,
        params=snakemake.params.estimation,
        seed=snakemake.params.seed,
        n_jobs=snakemake.threads,
        out_path=snakemake.output.estimates,
        dataset=snakemake.wildcards.dataset,
        generator=snakemake.wildcards.any_generator,
        rep=int(snakemake.wildcards.rep),
        meta_path=snakemake.input.meta,
        real_estimates_path=snakemake.input.real,
    )
