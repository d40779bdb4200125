from causalsynth.core.runner import logged
from causalsynth.privacy.dcr import run_dcr_filter

with logged(snakemake.log[0], snakemake.threads):
    run_dcr_filter(
        train_path=snakemake.input.train,
        holdout_path=snakemake.input.holdout,
        card_path=snakemake.input.card,
        synthetic_path=snakemake.input.synthetic,
        params=snakemake.params.dcr,
        out_filtered=snakemake.output.filtered,
        out_json=snakemake.output.summary,
        threads=snakemake.threads,
        generator=snakemake.wildcards.generator,
        rep=int(snakemake.wildcards.rep),
    )
