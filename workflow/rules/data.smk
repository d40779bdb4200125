# Replicate r of a dataset is its own draw of the data (a fresh sample of a simulated dataset,
# a fresh train/holdout split of a real one), shared by every generator of replicate r.
rule prepare_dataset:
    input:
        unpack(dataset_inputs),
    output:
        train="results/data/{dataset}/rep{rep}/train.parquet",
        holdout="results/data/{dataset}/rep{rep}/holdout.parquet",
        card="results/data/{dataset}/rep{rep}/card.json",
        positivity="results/data/{dataset}/rep{rep}/positivity.parquet",
    log:
        "logs/data/{dataset}/rep{rep}.log",
    # seconds of work that every fit of its replicate waits on
    priority: PREPARE_PRIORITY
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
