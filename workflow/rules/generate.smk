rule prepare_llm:
    output:
        config=f"{llm_folder()}/config.json",
    log:
        f"logs/llm/{config['llm']['name']}.log",
    benchmark:
        f"results/benchmarks/prepare_llm/{config['llm']['name']}.tsv"
    conda:
        "../../envs/causalsynth.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=15,
    params:
        source=config["llm"]["source"],
        folder=llm_folder(),
    script:
        "../../scripts/prepare_llm.py"


def generate_resources_gpu(wildcards):
    return (
        1
        if wildcards.generator == "great"
        and config["generators"]["great"].get("device") == "cuda"
        else 0
    )


def generate_mem_mb(wildcards, attempt):
    # GReaT holds an LLM and its optimizer state; the tabular generators are small
    base = 8000 if wildcards.generator == "great" else 3000
    return base * attempt


def generate_runtime(wildcards, attempt):
    return (240 if wildcards.generator == "great" else 60) * attempt


rule generate:
    input:
        unpack(generate_inputs),
    output:
        data="results/synthetic/{dataset}/{generator}/rep{rep}/synthetic.parquet",
        meta="results/synthetic/{dataset}/{generator}/rep{rep}/meta.json",
    log:
        "logs/synthetic/{dataset}/{generator}/rep{rep}.log",
    benchmark:
        "results/benchmarks/generate/{dataset}/{generator}/rep{rep}.tsv"
    conda:
        "../../envs/causalsynth.yaml"
    threads: 2
    resources:
        mem_mb=generate_mem_mb,
        runtime=generate_runtime,
        gpu=generate_resources_gpu,
    params:
        generator_params=generator_params,
        n_rows=generator_rows,
        seed=generator_seed,
    script:
        "../../scripts/generate.py"
