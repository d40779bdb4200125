rule prepare_llm:
    output:
        config=f"{llm_folder()}/config.json",
    log:
        f"logs/llm/{config['llm']['name']}.log",
    benchmark:
        f"results/benchmarks/prepare_llm/{config['llm']['name']}.tsv"
    # GReaT's fit waits on it and is the longest job of the default run
    priority: PREPARE_PRIORITY
    conda:
        "../../envs/causalsynth.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=15,
    params:
        source=config["llm"]["source"],
        folder=output_dir,
    script:
        "../../scripts/prepare_llm.py"


rule generate:
    # every replicate of one generator on one dataset, in one job: a fit of the default config
    # takes seconds, a job's start-up (torch, SDV, torch's compiler stack) about 6 s
    # (generate/run.py says why). The folder holds each replicate as rep{r}/synthetic.parquet
    # and meta.json.
    input:
        unpack(generate_inputs),
    output:
        folder=directory("results/synthetic/{dataset}/{generator}"),
    log:
        "logs/synthetic/{dataset}/{generator}.log",
    benchmark:
        "results/benchmarks/generate/{dataset}/{generator}.tsv"
    # the fits are the long jobs: started first, longest first (generate_priority), the short
    # downstream jobs fill the cores around them rather than leaving a core idle behind a late
    # fit at the end of the run
    priority: generate_priority
    conda:
        "../../envs/causalsynth.yaml"
    # one thread: TVAE at two torch threads gave rows that differed in the 5th digit between a
    # straight and a resumed tiny run on a loaded machine (one thread was bitwise stable in every
    # check); two generate jobs then share the two cores instead
    threads: 1
    resources:
        mem_mb=generate_mem_mb,
        runtime=generate_runtime,
        gpu=generate_resources_gpu,
    params:
        generator_params=generator_params,
        generator_type=generator_type,
        n_rows=generator_rows,
        reps=generator_reps,
        cells=generate_records,
    script:
        "../../scripts/generate.py"
