from causalsynth.core.runner import logged
from causalsynth.core.vocabulary import TABLES
from causalsynth.report.tables import collect_tables

with logged(snakemake.log[0], snakemake.threads):
    collect_tables(
        estimates=list(snakemake.input.estimates),
        tstr=list(snakemake.input.tstr),
        dcr=snakemake.params.dcr,
        positivity=list(snakemake.input.positivity),
        engine=[snakemake.input.engine],
        engine_ranking=[snakemake.input.engine_ranking],
        privacy=list(snakemake.input.privacy),
        fidelity=list(snakemake.input.fidelity),
        inferential_utility=list(snakemake.input.inferential_utility),
        outputs={k: snakemake.output[k] for k in [*TABLES, *(f"{t}_md" for t in TABLES)]},
    )
