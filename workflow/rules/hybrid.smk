# g and h are learned on the real training table alone, so every base's hybrid of a replicate
# shares them (a paired comparison of the bases, one fit instead of one per base)
rule fit_mechanisms:
    input:
        train=rules.prepare_dataset.output.train,
        card=rules.prepare_dataset.output.card,
    output:
        model="results/mechanisms/{dataset}/rep{rep}/model.joblib",
        meta="results/mechanisms/{dataset}/rep{rep}/meta.json",
    log:
        "logs/mechanisms/{dataset}/rep{rep}.log",
    benchmark:
        "results/benchmarks/fit_mechanisms/{dataset}/rep{rep}.tsv"
    conda:
        "../../envs/causalsynth.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        hybrid=config["hybrid"],
        seed=mechanisms_seed,
    script:
        "../../scripts/fit_mechanisms.py"


rule hybrid:
    input:
        unpack(hybrid_inputs),
    output:
        pool="results/hybrid/{dataset}/{hybrid}/rep{rep}/pool.parquet",
        meta="results/hybrid/{dataset}/{hybrid}/rep{rep}/meta.json",
    log:
        "logs/hybrid/{dataset}/{hybrid}/rep{rep}.log",
    benchmark:
        "results/benchmarks/hybrid/{dataset}/{hybrid}/rep{rep}.tsv"
    conda:
        "../../envs/causalsynth.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        hybrid=config["hybrid"],
        seed=hybrid_seed,
    script:
        "../../scripts/hybrid.py"


rule pairing:
    input:
        positivity=rules.prepare_dataset.output.positivity,
        card=rules.prepare_dataset.output.card,
        pool=rules.hybrid.output.pool,
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
        seed=pairing_seed,
    script:
        "../../scripts/pairing.py"
