from causalsynth.core.runner import logged
from causalsynth.core.splits import by_rep
from causalsynth.hybrid.pool import run_hybrid_sets

with logged(snakemake.log[0], snakemake.threads):
    run_hybrid_sets(
        folder=snakemake.output.folder,
        cells=snakemake.params.cells,
        mechanism_seeds=snakemake.params.mechanism_seeds,
        train_path=by_rep(snakemake.input.trains, snakemake.params.data_reps),
        card_path=by_rep(snakemake.input.cards, snakemake.params.data_reps),
        params=snakemake.params.hybrid,
        n_jobs=snakemake.threads,
        dataset=snakemake.wildcards.dataset,
    )
