from causalsynth.core.runner import logged
from causalsynth.evaluate.ate import run_ate_preservation
from causalsynth.evaluate.tstr import run_tstr

with logged(snakemake.log[0], snakemake.threads):
    cell = dict(
        dataset=snakemake.wildcards.dataset,
        generator=snakemake.wildcards.any_generator,
        rep=int(snakemake.wildcards.rep),
    )
    run_ate_preservation(
        data_path=snakemake.input.data,
        real_train_path=None,
        card_path=snakemake.input.card,
        params=snakemake.params.estimation,
        seed=snakemake.params.seed,
        n_jobs=snakemake.threads,
        out_path=snakemake.output.estimates,
        meta_path=snakemake.input.meta,
        real_estimates_path=snakemake.input.real,
        **cell,
    )
    run_tstr(
        synthetic_path=snakemake.input.data,
        train_path=snakemake.input.train,
        holdout_path=snakemake.input.holdout,
        card_path=snakemake.input.card,
        params=snakemake.params.tstr,
        seed=snakemake.params.tstr_seed,
        real_seed=snakemake.params.tstr_real_seed,
        out_path=snakemake.output.tstr,
        n_jobs=snakemake.threads,
        **cell,
    )
