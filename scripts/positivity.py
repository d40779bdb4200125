from causalsynth.core.runner import logged
from causalsynth.evaluate.positivity import run_positivity

with logged(snakemake.log[0], snakemake.threads):
    run_positivity(
        positivity_path=snakemake.input.positivity,
        paired_path=snakemake.input.paired,
        card_path=snakemake.input.card,
        params={**snakemake.params.estimation, "threshold": snakemake.params.threshold},
        seed=snakemake.params.seed,
        n_jobs=snakemake.threads,
        out_path=snakemake.output.table,
        dataset=snakemake.wildcards.dataset,
        rep=int(snakemake.wildcards.rep),
    )
