from causalsynth.core.runner import logged
from causalsynth.core.vocabulary import PRIVACY_SETS
from causalsynth.privacy.attacks import run_privacy_attacks

with logged(snakemake.log[0], snakemake.threads):
    run_privacy_attacks(
        train_path=snakemake.input.train,
        holdout_path=snakemake.input.holdout,
        card_path=snakemake.input.card,
        sets={s: snakemake.input[s] for s in PRIVACY_SETS if s in snakemake.input.keys()},
        meta_path=snakemake.input.meta,
        params=snakemake.params.privacy,
        dcr_params=snakemake.params.dcr,
        seed=snakemake.params.seed,
        out_table=snakemake.output.table,
        generator=snakemake.wildcards.any_generator,
        rep=int(snakemake.wildcards.rep),
        threads=snakemake.threads,
    )
