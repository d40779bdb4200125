from causalsynth.core.runner import logged
from causalsynth.core.splits import by_rep
from causalsynth.privacy.dcr import run_dcr_filter_reps

with logged(snakemake.log[0], snakemake.threads):
    run_dcr_filter_reps(
        folder=snakemake.output.folder,
        cells=snakemake.params.cells,
        train_path=by_rep(snakemake.input.trains, snakemake.params.reps),
        holdout_path=by_rep(snakemake.input.holdouts, snakemake.params.reps),
        card_path=by_rep(snakemake.input.cards, snakemake.params.reps),
        params=snakemake.params.dcr,
        generator=snakemake.wildcards.generator,
        n_jobs=snakemake.threads,
    )
