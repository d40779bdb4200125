from causalsynth.core.runner import logged
from causalsynth.evaluate.inference import run_inferential_utility

with logged(snakemake.log[0], snakemake.threads):
    run_inferential_utility(
        data_paths=list(snakemake.input.get("sets", [])),
        train_path=list(snakemake.input.trains),
        card_path=list(snakemake.input.cards),
        params=snakemake.params.inferential,
        estimation=snakemake.params.estimation,
        seed=snakemake.params.seed,
        out_path=snakemake.output.table,
        dataset=snakemake.wildcards.dataset,
        generator=snakemake.wildcards.iu_generator,
        dataset_options=snakemake.params.dataset_options,
    )
