# Stage evaluate (src/causalsynth/evaluate/): what each released set keeps of the real data. The
# estimator grid and TSTR of every generator, the positivity study, the simulation engine, the
# fidelity of every set and the inferential utility of each generator. Included after
# estimate.smk: its rules read the real-data estimates and the releases.
# Input functions and target lists: common.smk.


rule evaluate_synthetic:
    # The estimator grid and train-on-synthetic-test-on-real of every released set of one
    # dataset, in one job: a set takes less time than a job's start-up, and the train-on-real
    # ceiling of a replicate is fitted once for all generators (evaluate/synthetic.py says why).
    input:
        unpack(evaluate_inputs),
    output:
        estimates="results/estimates/{dataset}/synthetic.parquet",
        tstr="results/tstr/{dataset}/tstr.parquet",
    log:
        "logs/evaluate/{dataset}.log",
    benchmark:
        "results/benchmarks/evaluate_synthetic/{dataset}.tsv"
    conda:
        "../../envs/causalsynth.yaml"
    threads: 1
    resources:
        mem_mb=estimate_mem_mb,
        runtime=runtime_per_set(6),
    params:
        estimation=estimation_params(),
        tstr=config["tstr"],
        cells=evaluate_records,
        data_reps=data_reps,
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
    # one thread where the run shares its cores (two held a second core at about 20% use);
    # the SLURM profile gives it two (set-threads)
    threads: 1
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
    # one thread where the run shares its cores: at two, the workers' start-up and the serial
    # summary held the second core idle for a third of each job (mean load 1.3 of 2), and the
    # jobs ran one at a time at the end of the run; the SLURM profile gives it more (set-threads)
    threads: 1
    resources:
        mem_mb=estimate_mem_mb,
        runtime=120,
    params:
        engine=engine_params,
        pool=engine_pool,
        dataset_options=dataset_options,
        seed=engine_seed,
    script:
        "../../scripts/engine.py"


rule engine_ranking:
    # the engine jobs each hold one n: ties are judged again over every n of the run, and the
    # ranking's bootstrap needs every engine's replicates of a dataset at once
    input:
        tables=engine_cells(),
        replicates=engine_cells("replicates"),
    output:
        summary="results/engine/summary.parquet",
        ranking="results/engine/ranking.parquet",
    log:
        "logs/engine/ranking.log",
    benchmark:
        "results/benchmarks/engine_ranking/all.tsv"
    conda:
        "../../envs/causalsynth.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        seed=seed_for("ranking"),
    script:
        "../../scripts/engine_ranking.py"


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
        cells=fidelity_records,
        data_reps=data_reps,
        real_seed=fidelity_real_seed,
    script:
        "../../scripts/fidelity.py"


rule inferential_utility:
    # One job per dataset runs every generator's coverage study: a study takes about as long
    # as a job's start-up (evaluate/inference.py says why).
    input:
        unpack(inferential_inputs),
    output:
        table="results/inferential_utility/{dataset}.parquet",
    log:
        "logs/inferential_utility/{dataset}.log",
    benchmark:
        "results/benchmarks/inferential_utility/{dataset}.tsv"
    conda:
        "../../envs/causalsynth.yaml"
    threads: 1
    resources:
        mem_mb=estimate_mem_mb,
        runtime=runtime_per_set(6),
    params:
        inferential=config["inferential_utility"],
        estimation=estimation_params(),
        cells=inferential_records,
        data_reps=data_reps,
        dataset_options=dataset_options,
    script:
        "../../scripts/inferential_utility.py"
