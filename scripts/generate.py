from causalsynth.core.runner import logged
from causalsynth.core.splits import by_rep
from causalsynth.generate import run_generate_reps

with logged(snakemake.log[0], snakemake.threads):
    run_generate_reps(
        folder=snakemake.output.folder,
        cells=snakemake.params.cells,
        train_path=by_rep(snakemake.input.trains, snakemake.params.reps),
        card_path=by_rep(snakemake.input.cards, snakemake.params.reps),
        generator=snakemake.wildcards.generator,
        generator_type=snakemake.params.generator_type,
        params=snakemake.params.generator_params,
        n_rows=snakemake.params.n_rows,
        n_jobs=snakemake.threads,
        dataset=snakemake.wildcards.dataset,
    )
