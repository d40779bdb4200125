from causalsynth.core.runner import logged
from causalsynth.generate.great import run_prepare_llm

with logged(snakemake.log[0], snakemake.threads):
    run_prepare_llm(source=snakemake.params.source, out_dir=snakemake.params.folder)
