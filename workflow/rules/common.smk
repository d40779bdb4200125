# Validation, id lists, wildcard constraints and the named input / param functions of every rule.
import re
from pathlib import Path

from causalsynth.config import REAL_BASE, TRUE_ENGINE, Plan, load_config
from causalsynth.core.seeds import derive_seed

# Validate (and fill defaults) before anything runs; a bad config stops here with the key named.
config.update(load_config(config))
PLAN = Plan(config)
DATASETS = PLAN.datasets
GENERATORS = sorted({g for d in DATASETS for g in PLAN.generators_for(d)})
HYBRIDS = sorted({h for d in DATASETS for h in PLAN.hybrids_for(d)})
ENGINES = sorted({e for d in PLAN.engine_datasets() for e in PLAN.engines_for(d)})
N_GRID = config["engine"]["n_grid"]


def _alternatives(ids):
    return "|".join(re.escape(i) for i in ids) if ids else "(?!)"


wildcard_constraints:
    dataset=_alternatives(DATASETS),
    generator=_alternatives(GENERATORS),
    hybrid=_alternatives(HYBRIDS),
    any_generator=_alternatives(GENERATORS + HYBRIDS),
    engine=_alternatives(ENGINES),
    rep=r"\d+",
    n=r"\d+",


def seed_for(stage, dataset="", generator="", estimator="", rep=""):
    return derive_seed(config["seed"], stage, dataset, generator, estimator, rep)


def dataset_options(wildcards):
    return config["datasets"][wildcards.dataset]


def dataset_inputs(wildcards):
    """A user's file is an input, so editing it reruns the dataset; a missing file is left to
    the loader, whose error names the dataset, the file and the fix."""
    path = config["datasets"][wildcards.dataset].get("path")
    return {"source": path} if path and Path(path).exists() else {}


def generator_params(wildcards):
    params = PLAN.generator_params(wildcards.generator)
    if wildcards.generator == "great":
        # GReaT fine-tunes the model that prepare_llm converted once, unless one is named
        params.setdefault("llm", llm_folder())
    return params


def generator_rows(wildcards):
    return PLAN.generator_rows(wildcards.generator)


def generator_seed(wildcards):
    return seed_for(
        "generate", wildcards.dataset, wildcards.generator, rep=wildcards.rep
    )


def hybrid_seed(wildcards):
    return seed_for("hybrid", wildcards.dataset, wildcards.hybrid, rep=wildcards.rep)


def llm_folder():
    return f"resources/llm/{config['llm']['name']}"


def generate_inputs(wildcards):
    inputs = {
        "train": f"results/data/{wildcards.dataset}/train.parquet",
        "card": f"results/data/{wildcards.dataset}/card.json",
    }
    if wildcards.generator == "great" and "llm" not in config["generators"]["great"]:
        inputs["llm"] = f"{llm_folder()}/config.json"
    return inputs


def hybrid_inputs(wildcards):
    base = wildcards.hybrid.removeprefix("hybrid_")
    inputs = {
        "train": f"results/data/{wildcards.dataset}/train.parquet",
        "card": f"results/data/{wildcards.dataset}/card.json",
    }
    if base != REAL_BASE:
        inputs["covariates"] = (
            f"results/privacy/{wildcards.dataset}/{base}/rep{wildcards.rep}/filtered.parquet"
        )
    return inputs


def synthetic_table(wildcards):
    """The table a generator (base or hybrid) releases for evaluation."""
    g = wildcards.any_generator
    if g in HYBRIDS:
        return f"results/hybrid/{wildcards.dataset}/{g}/rep{wildcards.rep}/pool.parquet"
    return f"results/synthetic/{wildcards.dataset}/{g}/rep{wildcards.rep}/synthetic.parquet"


def synthetic_meta(wildcards):
    g = wildcards.any_generator
    if g in HYBRIDS:
        return f"results/hybrid/{wildcards.dataset}/{g}/rep{wildcards.rep}/meta.json"
    return f"results/synthetic/{wildcards.dataset}/{g}/rep{wildcards.rep}/meta.json"


def engine_source(wildcards):
    if wildcards.engine == TRUE_ENGINE:
        return {"card": f"results/data/{wildcards.dataset}/card.json"}
    return {
        "card": f"results/data/{wildcards.dataset}/card.json",
        "pool": f"results/hybrid/{wildcards.dataset}/{wildcards.engine}/rep1/pool.parquet",
        "meta": f"results/hybrid/{wildcards.dataset}/{wildcards.engine}/rep1/meta.json",
    }


# ---- target lists (pure functions of the validated config) ----


def cells(pattern, generators_of):
    return [
        pattern.format(dataset=d, generator=g, rep=r)
        for d in DATASETS
        for g in generators_of(d)
        for r in PLAN.reps
    ]


def synthetic_targets():
    return cells(
        "results/synthetic/{dataset}/{generator}/rep{rep}/synthetic.parquet",
        PLAN.generators_for,
    )


def dcr_jsons():
    return cells(
        "results/privacy/{dataset}/{generator}/rep{rep}/dcr.json", PLAN.generators_for
    )


def hybrid_targets():
    return cells(
        "results/hybrid/{dataset}/{generator}/rep{rep}/meta.json", PLAN.hybrids_for
    )


def ate_cells():
    real = [f"results/estimates/{d}/real/estimates.parquet" for d in DATASETS]
    return real + cells(
        "results/estimates/{dataset}/{generator}/rep{rep}/estimates.parquet",
        PLAN.all_generators_for,
    )


def tstr_cells():
    return cells(
        "results/tstr/{dataset}/{generator}/rep{rep}/tstr.parquet",
        PLAN.all_generators_for,
    )


def positivity_cells():
    pool = config["pairing"]["pool"]
    return [
        f"results/positivity/{d}/{pool}/rep{r}/positivity.parquet"
        for d in PLAN.positivity_datasets()
        for r in PLAN.reps
    ]


def engine_cells():
    return [
        f"results/engine/{d}/{e}/n{n}.parquet"
        for d in PLAN.engine_datasets()
        for e in PLAN.engines_for(d)
        for n in N_GRID
    ]


def benchmark_records():
    """(benchmark file, rule, dataset, generator) of every benchmarked job, for the runtime figure."""
    path = "results/benchmarks/{rule}/{dataset}/{generator}/rep{rep}.tsv"
    stages = [
        ("generate", PLAN.generators_for),
        ("dcr_filter", PLAN.generators_for),
        ("hybrid", PLAN.hybrids_for),
        ("evaluate_synthetic", PLAN.all_generators_for),
    ]
    records = [
        (path.format(rule=rule, dataset=d, generator=g, rep=r), rule, d, g)
        for rule, generators_of in stages
        for d in DATASETS
        for g in generators_of(d)
        for r in PLAN.reps
    ]
    records += [
        (f"results/benchmarks/estimate_real/{d}.tsv", "estimate_real", d, "real")
        for d in DATASETS
    ]
    records += [
        (f"results/benchmarks/engine/{d}/{e}/n{n}.tsv", "engine", d, e)
        for d in PLAN.engine_datasets()
        for e in PLAN.engines_for(d)
        for n in N_GRID
    ]
    return records


TABLES = ["ate_preservation", "tstr", "dcr", "positivity", "engine", "engine_ranking"]
FIGURES = ["ate_by_generator", "tstr_vs_bias", "dcr", "positivity", "engine", "runtime"]


def all_targets(wildcards):
    return [
        *expand("results/tables/{table}.csv", table=TABLES),
        *expand("results/figures/{figure}.png", figure=FIGURES),
        "results/findings.md",
        "results/provenance.json",
    ]


# ---- resources and params of the generate and estimate stages ----


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


def estimation_params():
    return config["estimation"]


def estimate_seed(wildcards):
    generator = getattr(wildcards, "any_generator", "real")
    return seed_for(
        "estimate", wildcards.dataset, generator, rep=getattr(wildcards, "rep", "")
    )


def estimate_mem_mb(wildcards, attempt):
    return 4000 * attempt


def engine_params(wildcards):
    return {
        "n_grid": [int(wildcards.n)],
        "estimators": PLAN.engine_estimators,
        "learner": PLAN.engine_learner,
        "reps": config["engine"]["reps"],
        "folds": config["estimation"]["folds"],
        "cross_fit": config["estimation"]["cross_fit"],
        "truncation": config["estimation"]["truncation"],
    }


def engine_seed(wildcards):
    return seed_for(
        "engine", wildcards.dataset, wildcards.engine, rep=f"n{wildcards.n}"
    )


# ---- path parameters, derived from the files of the job itself (never hard-coded) ----


def input_dir(wildcards, input):
    return str(Path(input[0]).parent)


def output_dir(wildcards, output):
    return str(Path(output[0]).parent)
