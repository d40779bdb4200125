from causalsynth.core.runner import logged
from causalsynth.core.splits import by_rep
from causalsynth.evaluate.inference import run_inferential_sets

with logged(snakemake.log[0], snakemake.threads):
    run_inferential_sets(
        cells=snakemake.params.cells,
        train_path=by_rep(snakemake.input.trains, snakemake.params.data_reps),
        card_path=by_rep(snakemake.input.cards, snakemake.params.data_reps),
        params=snakemake.params.inferential,
        estimation=snakemake.params.estimation,
        out_path=snakemake.output.table,
        dataset=snakemake.wildcards.dataset,
        dataset_options=snakemake.params.dataset_options,
    )
