# Fidelity of every released synthetic set (evaluate.fidelity) and the inferential utility of
# each generator (evaluate.inference). Included after estimate.smk: it reads the releases.
# Input functions and target lists: common.smk.


rule fidelity:
    # One job per dataset scores all its sets: a job's start-up (the package and SDMetrics'
    # imports, about 4 s) would otherwise cost more than the metrics of a set (about 1 s).
    input:
        unpack(fidelity_inputs),
    output:
        table="results/fidelity/{dataset}/fidelity.parquet",
    log:
        "logs/fidelity/{dataset}.log",
    benchmark:
        "results/benchmarks/fidelity/{dataset}.tsv"
    conda:
        "../../envs/causalsynth.yaml"
    threads: 1
    resources:
        mem_mb=estimate_mem_mb,
        runtime=30,
    params:
        fidelity=config["fidelity"],
        estimation=estimation_params(),
        cells=fidelity_sets,
        data_reps=data_reps,
        seeds=fidelity_seeds,
        real_seed=fidelity_real_seed,
    script:
        "../../scripts/fidelity.py"


rule inferential_utility:
    input:
        unpack(inferential_inputs),
    output:
        table="results/inferential_utility/{dataset}/{iu_generator}.parquet",
    log:
        "logs/inferential_utility/{dataset}/{iu_generator}.log",
    benchmark:
        "results/benchmarks/inferential_utility/{dataset}/{iu_generator}.tsv"
    conda:
        "../../envs/causalsynth.yaml"
    threads: 1
    resources:
        mem_mb=estimate_mem_mb,
        runtime=60,
    params:
        inferential=config["inferential_utility"],
        estimation=estimation_params(),
        dataset_options=dataset_options,
        seed=inferential_seed,
    script:
        "../../scripts/inferential_utility.py"
