# Every pool of a dataset in one job: g and h are learned on the real training table alone, so
# every base's hybrid of a replicate shares them (a paired comparison of the bases, one fit per
# replicate instead of one per base), and a pool takes less time than a job's start-up
# (hybrid/pool.py says why). The folder holds each pool as {hybrid}/rep{r}/pool.parquet and
# meta.json, and each replicate's shared models as mechanisms/rep{r}/.
rule hybrid:
    input:
        unpack(hybrid_inputs),
    output:
        folder=directory("results/hybrid/{dataset}"),
    log:
        "logs/hybrid/{dataset}.log",
    benchmark:
        "results/benchmarks/hybrid/{dataset}.tsv"
    conda:
        "../../envs/causalsynth.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=runtime_per_set(3),
    params:
        hybrid=config["hybrid"],
        cells=hybrid_records,
        data_reps=data_reps,
        mechanism_seeds=mechanism_seeds,
    script:
        "../../scripts/hybrid.py"


rule pairing:
    input:
        positivity=rules.prepare_dataset.output.positivity,
        card=rules.prepare_dataset.output.card,
        hybrids=rules.hybrid.output.folder,
    output:
        paired="results/pairing/{dataset}/{hybrid}/rep{rep}/paired.parquet",
        summary="results/pairing/{dataset}/{hybrid}/rep{rep}/pairing.json",
    log:
        "logs/pairing/{dataset}/{hybrid}/rep{rep}.log",
    conda:
        "../../envs/causalsynth.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=20,
    params:
        pairing=config["pairing"],
        pool=pairing_pool,
        seed=pairing_seed,
    script:
        "../../scripts/pairing.py"
