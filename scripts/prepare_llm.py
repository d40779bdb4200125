from causalsynth.generators.llm import run_prepare_llm
from causalsynth.runner import logged

with logged(snakemake.log[0], snakemake.threads):
    run_prepare_llm(source=snakemake.params.source, out_dir=snakemake.params.folder)
