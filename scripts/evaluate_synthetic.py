from causalsynth.core.runner import logged
from causalsynth.core.splits import by_rep
from causalsynth.evaluate.synthetic import run_synthetic_evaluation

with logged(snakemake.log[0], snakemake.threads):
    run_synthetic_evaluation(
        cells=snakemake.params.cells,
        tstr_real_seed=snakemake.params.tstr_real_seed,
        real_estimates_path=by_rep(snakemake.input.reals, snakemake.params.data_reps),
        train_path=by_rep(snakemake.input.trains, snakemake.params.data_reps),
        holdout_path=by_rep(snakemake.input.holdouts, snakemake.params.data_reps),
        card_path=by_rep(snakemake.input.cards, snakemake.params.data_reps),
        estimation=snakemake.params.estimation,
        tstr=snakemake.params.tstr,
        dataset=snakemake.wildcards.dataset,
        out_estimates=snakemake.output.estimates,
        out_tstr=snakemake.output.tstr,
        n_jobs=snakemake.threads,
    )
