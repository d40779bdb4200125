rule prepare_dataset:
    input:
        unpack(dataset_inputs),
    output:
        train="results/data/{dataset}/train.parquet",
        holdout="results/data/{dataset}/holdout.parquet",
        card="results/data/{dataset}/card.json",
        positivity="results/data/{dataset}/positivity.parquet",
    log:
        "logs/data/{dataset}.log",
    conda:
        "../../envs/causalsynth.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        options=dataset_options,
        checks=dataset_checks,
        seed=dataset_seed,
    script:
        "../../scripts/prepare_dataset.py"
