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


rule evaluate_synthetic:
    # The estimator grid and train-on-synthetic-test-on-real of every replicate of one
    # generator, in one job: a replicate takes about as long as a job's start-up
    # (evaluate/synthetic.py says why).
    input:
        unpack(evaluate_inputs),
    output:
        estimates="results/estimates/{dataset}/{any_generator}/estimates.parquet",
        tstr="results/tstr/{dataset}/{any_generator}/tstr.parquet",
    log:
        "logs/evaluate/{dataset}/{any_generator}.log",
    benchmark:
        "results/benchmarks/evaluate_synthetic/{dataset}/{any_generator}.tsv"
    conda:
        "../../envs/causalsynth.yaml"
    threads: 1
    resources:
        mem_mb=estimate_mem_mb,
        runtime=60,
    params:
        estimation=estimation_params(),
        tstr=config["tstr"],
        reps=evaluate_reps,
        seeds=evaluate_seeds,
        tstr_seeds=tstr_seeds,
        tstr_real_seed=tstr_real_seed,
    script:
        "../../scripts/evaluate_synthetic.py"


rule positivity:
    input:
        positivity=rules.prepare_dataset.output.positivity,
        paired=rules.pairing.output.paired,
        pairing=rules.pairing.output.summary,
        card=rules.prepare_dataset.output.card,
    output:
        table="results/positivity/{dataset}/{hybrid}/rep{rep}/positivity.parquet",
    log:
        "logs/positivity/{dataset}/{hybrid}/rep{rep}.log",
    benchmark:
        "results/benchmarks/positivity/{dataset}/{hybrid}/rep{rep}.tsv"
    conda:
        "../../envs/causalsynth.yaml"
    threads: 2
    resources:
        mem_mb=estimate_mem_mb,
        runtime=60,
    params:
        estimation=estimation_params(),
        threshold=config["pairing"]["threshold"],
        seed=positivity_seed,
    script:
        "../../scripts/positivity.py"


rule engine:
    input:
        unpack(engine_source),
    output:
        table="results/engine/{dataset}/{engine}/n{n}.parquet",
        replicates="results/engine/{dataset}/{engine}/n{n}.replicates.parquet",
    log:
        "logs/engine/{dataset}/{engine}/n{n}.log",
    benchmark:
        "results/benchmarks/engine/{dataset}/{engine}/n{n}.tsv"
    conda:
        "../../envs/causalsynth.yaml"
    threads: 2
    resources:
        mem_mb=estimate_mem_mb,
        runtime=120,
    params:
        engine=engine_params,
        dataset_options=dataset_options,
        seed=engine_seed,
    script:
        "../../scripts/engine.py"
