rule dcr_filter:
    input:
        train="results/data/{dataset}/train.parquet",
        holdout="results/data/{dataset}/holdout.parquet",
        card="results/data/{dataset}/card.json",
        synthetic="results/synthetic/{dataset}/{generator}/rep{rep}/synthetic.parquet",
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
