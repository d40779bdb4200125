from causalsynth.core.runner import logged
from causalsynth.evaluate.fidelity import run_fidelity_sets

with logged(snakemake.log[0], snakemake.threads):
    run_fidelity_sets(
        data_paths=list(snakemake.input.sets),
        meta_paths=list(snakemake.input.metas),
        cells=snakemake.params.cells,
        seeds=snakemake.params.seeds,
        train_path=snakemake.input.train,
        holdout_path=snakemake.input.holdout,
        card_path=snakemake.input.card,
        params=snakemake.params.fidelity,
        estimation=snakemake.params.estimation,
        real_seed=snakemake.params.real_seed,
        out_path=snakemake.output.table,
        dataset=snakemake.wildcards.dataset,
    )
