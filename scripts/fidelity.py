from causalsynth.core.runner import logged
from causalsynth.core.splits import by_rep
from causalsynth.evaluate.fidelity import run_fidelity_sets

with logged(snakemake.log[0], snakemake.threads):
    run_fidelity_sets(
        cells=snakemake.params.cells,
        train_path=by_rep(snakemake.input.trains, snakemake.params.data_reps),
        holdout_path=by_rep(snakemake.input.holdouts, snakemake.params.data_reps),
        card_path=by_rep(snakemake.input.cards, snakemake.params.data_reps),
        params=snakemake.params.fidelity,
        estimation=snakemake.params.estimation,
        real_seed=snakemake.params.real_seed,
        out_path=snakemake.output.table,
        dataset=snakemake.wildcards.dataset,
    )
