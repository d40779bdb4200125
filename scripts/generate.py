from causalsynth.core.runner import logged
from causalsynth.generate import run_generate

with logged(snakemake.log[0], snakemake.threads):
    run_generate(
        train_path=snakemake.input.train,
        card_path=snakemake.input.card,
        generator=snakemake.wildcards.generator,
        generator_type=snakemake.params.generator_type,
        params=snakemake.params.generator_params,
        n_rows=snakemake.params.n_rows,
        seed=snakemake.params.seed,
        threads=snakemake.threads,
        out_data=snakemake.output.data,
        out_meta=snakemake.output.meta,
        dataset=snakemake.wildcards.dataset,
        rep=int(snakemake.wildcards.rep),
    )
