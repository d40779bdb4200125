rule estimate_real:
    input:
        data=rules.prepare_dataset.output.train,
        card=rules.prepare_dataset.output.card,
    output:
        estimates="results/estimates/{dataset}/real/rep{rep}/estimates.parquet",
    log:
        "logs/estimates/{dataset}/real/rep{rep}.log",
    benchmark:
        "results/benchmarks/estimate_real/{dataset}/rep{rep}.tsv"
    conda:
        "../../envs/causalsynth.yaml"
    threads: 1
    resources:
        mem_mb=estimate_mem_mb,
        runtime=60,
    params:
        estimation=estimate_real_params,
        seed=estimate_seed,
    script:
        "../../scripts/estimate_real.py"
