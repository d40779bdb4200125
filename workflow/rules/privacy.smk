rule dcr_filter:
    input:
        train=rules.prepare_dataset.output.train,
        holdout=rules.prepare_dataset.output.holdout,
        card=rules.prepare_dataset.output.card,
        synthetic=rules.generate.output.data,
    output:
        filtered="results/privacy/{dataset}/{generator}/rep{rep}/filtered.parquet",
        summary="results/privacy/{dataset}/{generator}/rep{rep}/dcr.json",
    log:
        "logs/privacy/{dataset}/{generator}/rep{rep}.log",
    benchmark:
        "results/benchmarks/dcr_filter/{dataset}/{generator}/rep{rep}.tsv"
    conda:
        "../../envs/causalsynth.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    params:
        dcr=config["dcr"],
    script:
        "../../scripts/dcr_filter.py"


rule privacy_attacks:
    input:
        unpack(privacy_inputs),
    output:
        table="results/privacy/{dataset}/{any_generator}/rep{rep}/attacks.parquet",
    log:
        "logs/privacy_attacks/{dataset}/{any_generator}/rep{rep}.log",
    benchmark:
        "results/benchmarks/privacy_attacks/{dataset}/{any_generator}/rep{rep}.tsv"
    conda:
        "../../envs/causalsynth.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=20,
    params:
        privacy=config["privacy"],
        dcr=config["dcr"],
        seed=privacy_seed,
    script:
        "../../scripts/privacy_attacks.py"
