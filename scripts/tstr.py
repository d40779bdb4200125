from causalsynth.evaluation import run_tstr
from causalsynth.runner import logged

with logged(snakemake.log[0], snakemake.threads):
    run_tstr(
        synthetic_path=snakemake.input.data,
        train_path=snakemake.input.train,
        holdout_path=snakemake.input.holdout,
        card_path=snakemake.input.card,
        params=snakemake.params.tstr,
        seed=snakemake.params.seed,
        out_path=snakemake.output.tstr,
        dataset=snakemake.wildcards.dataset,
        generator=snakemake.wildcards.any_generator,
        rep=int(snakemake.wildcards.rep),
        n_jobs=snakemake.threads,
    )
