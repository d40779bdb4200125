from causalsynth.core.runner import logged
from causalsynth.core.splits import by_rep
from causalsynth.privacy.run import run_privacy_attacks

with logged(snakemake.log[0], snakemake.threads):
    run_privacy_attacks(
        cells=snakemake.params.cells,
        train_path=by_rep(snakemake.input.trains, snakemake.params.data_reps),
        holdout_path=by_rep(snakemake.input.holdouts, snakemake.params.data_reps),
        card_path=by_rep(snakemake.input.cards, snakemake.params.data_reps),
        params=snakemake.params.privacy,
        dcr_params=snakemake.params.dcr,
        out_table=snakemake.output.table,
        out_release=snakemake.output.release,
        n_jobs=snakemake.threads,
    )
