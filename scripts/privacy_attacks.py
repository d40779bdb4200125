from causalsynth.core.runner import logged
from causalsynth.privacy.attacks import run_privacy_attacks

with logged(snakemake.log[0], snakemake.threads):
    run_privacy_attacks(
        data_paths=list(snakemake.input.sets),
        meta_paths=list(snakemake.input.metas),
        cells=snakemake.params.cells,
        seeds=snakemake.params.seeds,
        train_path=snakemake.input.train,
        holdout_path=snakemake.input.holdout,
        card_path=snakemake.input.card,
        params=snakemake.params.privacy,
        dcr_params=snakemake.params.dcr,
        out_table=snakemake.output.table,
        threads=snakemake.threads,
    )
