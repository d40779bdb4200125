from causalsynth.core.runner import logged
from causalsynth.data import prepare_dataset

with logged(snakemake.log[0], snakemake.threads):
    prepare_dataset(
        dataset_id=snakemake.wildcards.dataset,
        options=snakemake.params.options,
        seed=snakemake.params.seed,
        out_train=snakemake.output.train,
        out_holdout=snakemake.output.holdout,
        out_card=snakemake.output.card,
        out_positivity=snakemake.output.positivity,
        checks=snakemake.params.checks,
    )
