# Validation, id lists, wildcard constraints and the named input / param functions of every rule.
import re
from pathlib import Path
from types import SimpleNamespace

from causalsynth.config import Plan, load_config
from causalsynth.core.runner import user_errors_as_one_line
from causalsynth.core.vocabulary import (
    FIGURES,
    PAPER_COMPARISON,
    PAPER_FIGURES,
    PERFECT,
    REAL,
    TABLES,
    TRUTH_ENGINE,
    hybrid_base,
)
from causalsynth.core.seeds import derive_seed
from causalsynth.core.cells import RepCell, SetCell
from causalsynth.core.layout import dcr_files, pool_files, synthetic_files


def run_locally_without_job_rate_limit():
    """Snakemake's job rate limit (--max-jobs-per-timespan, 100/1s) arms a one-second timer at
    every scheduling pass, so after k finished jobs its scheduler runs k passes a second over
    every ready job (1,051 CPU s of the default run's 2-core budget; a longer span keeps a
    non-daemon timer alive that long after the last job, so the process cannot exit). A local run
    submits nothing to throttle: it schedules when a job finishes, as it must. Cluster runs keep
    the limit. The scheduler reads the setting when it is built, after the Snakefile is parsed,
    so the limit is dropped from the built scheduler when the run starts (onstart, below;
    Snakemake is pinned in pyproject.toml). benchmarks/scheduler_overhead.py measures both.
    """
    if workflow.local_exec and workflow.scheduler is not None:
        workflow.scheduler.job_rate_limiter = None


onstart:
    run_locally_without_job_rate_limit()


# Validate (and fill defaults) before anything runs; a bad config stops here with the key
# named, as one line rather than a traceback.
with user_errors_as_one_line():
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
    engine=_alternatives(ENGINES),
    rep=r"\d+",
    n=r"\d+",


def seed_for(stage, dataset="", generator="", estimator="", rep=""):
    """Every job's seed, from the config's seed and the job's ids; the package derives only
    sub-labels of it (folds, replicates, sets), so no id is hashed twice."""
    return derive_seed(config["seed"], stage, dataset, generator, estimator, rep)


def dataset_seed(wildcards):
    # replicate r redraws the data: a fresh sample, or a fresh train/holdout split
    return seed_for("data", wildcards.dataset, rep=wildcards.rep)


def dataset_options(wildcards):
    return config["datasets"][wildcards.dataset]


def dataset_checks(wildcards):
    return PLAN.dataset_checks(wildcards.dataset)


def dataset_inputs(wildcards):
    """A user's file is an input, so editing it reruns the dataset; a missing file is left to
    the loader, whose error names the dataset, the file and the fix."""
    path = config["datasets"][wildcards.dataset].get("path")
    return {"source": path} if path and Path(path).exists() else {}


def generator_class(wildcards):
    return PLAN.generator_class(wildcards.generator)


# The jobs every fit waits on (the data draws, the language model) run before any fit.
PREPARE_PRIORITY = 3


def generate_priority(wildcards):
    """Fits start longest first (by their class's runtime limit: GReaT's 240 minutes before the
    others' 30 to 60): a long fit started late is the run's last job, with a core idle beside it
    (the default run started GReaT 20 and 30 minutes in behind the other fits and the data draws).
    """
    return 1 + generator_class(wildcards).runtime_minutes / 1000


def needs_prepared_llm(wildcards):
    """An LLM generator fine-tunes the model that prepare_llm converted once, unless one is named."""
    return generator_class(wildcards).uses_llm and "llm" not in PLAN.generator_params(
        wildcards.generator
    )


def generator_params(wildcards):
    params = PLAN.generator_params(wildcards.generator)
    if needs_prepared_llm(wildcards):
        params["llm"] = llm_folder()
    return params


def generator_rows(wildcards):
    return PLAN.generator_rows(wildcards.generator)


def generator_type(wildcards):
    return PLAN.generator_type(wildcards.generator)


def generator_reps(wildcards):
    return PLAN.reps_for(wildcards.generator)


def generate_records(wildcards):
    """One record per replicate of the job's generator (core.cells.RepCell), with the seed it
    had when each replicate had a job of its own."""
    d, g = wildcards.dataset, wildcards.generator
    return [
        RepCell(g, r, seed_for("generate", d, g, rep=r)).record()
        for r in generator_reps(wildcards)
    ]


def hybrid_cells(wildcards):
    return PLAN.hybrid_cells(wildcards.dataset)


def hybrid_records(wildcards):
    """One record per pool (core.cells.RepCell): its seed and, for a hybrid with a base, the
    base's DCR-filtered covariates inside its dcr_filter folder (the oracle has none).
    """
    d = wildcards.dataset
    return [
        RepCell(
            h,
            r,
            seed_for("hybrid", d, h, rep=r),
            data=(
                synthetic_release(d, hybrid_base(h), r)["data"]
                if hybrid_base(h) is not None
                else None
            ),
        ).record()
        for h, r in hybrid_cells(wildcards)
    ]


def mechanism_seeds(wildcards):
    """{rep: seed} of the g and h shared by the base hybrids of each replicate."""
    return {
        r: seed_for("mechanisms", wildcards.dataset, rep=r)
        for r in PLAN.mechanism_reps(wildcards.dataset)
    }


def pairing_seed(wildcards):
    return seed_for("pairing", wildcards.dataset, wildcards.hybrid, rep=wildcards.rep)


def positivity_seed(wildcards):
    return seed_for(
        "positivity", wildcards.dataset, wildcards.hybrid, rep=wildcards.rep
    )


def llm_folder():
    return f"resources/llm/{config['llm']['name']}"


def prepared(name, wildcards, rep=None):
    """An output of prepare_dataset: the job's dataset, of the job's replicate or of ``rep``."""
    return getattr(rules.prepare_dataset.output, name).format(
        dataset=wildcards.dataset, rep=wildcards.rep if rep is None else rep
    )


def prepared_by_rep(name, dataset, reps):
    """An output of prepare_dataset for each replicate in ``reps``, in their order."""
    cell = SimpleNamespace(dataset=dataset)
    return [prepared(name, cell, rep=r) for r in reps]


def data_reps(wildcards):
    return PLAN.data_reps(wildcards.dataset)


def generate_inputs(wildcards):
    reps = generator_reps(wildcards)
    inputs = {
        "trains": prepared_by_rep("train", wildcards.dataset, reps),
        "cards": prepared_by_rep("card", wildcards.dataset, reps),
    }
    if needs_prepared_llm(wildcards):
        inputs["llm"] = rules.prepare_llm.output.config
    # files the generator reads (the file generator's set): editing one reruns the job; a
    # missing one is left to the generator, whose error names the file and the fix
    params = PLAN.generator_params(wildcards.generator)
    files = [
        f
        for r in reps
        for f in generator_class(wildcards).input_files(params, wildcards.dataset, r)
    ]
    if any(Path(f).exists() for f in files):
        inputs["files"] = [f for f in files if Path(f).exists()]
    return inputs


def synthetic_folder(dataset, generator):
    return rules.generate.output.folder.format(dataset=dataset, generator=generator)


def dcr_folder(dataset, generator):
    return rules.dcr_filter.output.folder.format(dataset=dataset, generator=generator)


def dcr_records(wildcards):
    """One record per replicate of the job's generator (core.cells.RepCell): the set it sampled."""
    g = wildcards.generator
    folder = synthetic_folder(wildcards.dataset, g)
    return [
        RepCell(g, r, data=synthetic_files(folder, r)[0]).record()
        for r in generator_reps(wildcards)
    ]


def dcr_trains(wildcards):
    return prepared_by_rep("train", wildcards.dataset, generator_reps(wildcards))


def dcr_holdouts(wildcards):
    return prepared_by_rep("holdout", wildcards.dataset, generator_reps(wildcards))


def dcr_cards(wildcards):
    return prepared_by_rep("card", wildcards.dataset, generator_reps(wildcards))


def hybrid_inputs(wildcards):
    """Each replicate's training table and card, and the DCR folders of the bases."""
    bases = {hybrid_base(h) for h, _ in hybrid_cells(wildcards)} - {None}
    reps = data_reps(wildcards)
    return {
        "trains": prepared_by_rep("train", wildcards.dataset, reps),
        "cards": prepared_by_rep("card", wildcards.dataset, reps),
        "bases": [dcr_folder(wildcards.dataset, b) for b in sorted(bases)],
    }


def hybrid_folder(dataset):
    return rules.hybrid.output.folder.format(dataset=dataset)


def synthetic_release(dataset, generator, rep):
    """The table a generator (base or hybrid) releases for evaluation, its meta.json, and what
    a job that reads them waits on (`needs`: the dataset's hybrid folder holds every pool).
    """
    if generator in HYBRIDS:
        data, meta = pool_files(hybrid_folder(dataset), generator, rep)
        return {"data": data, "meta": meta, "needs": [hybrid_folder(dataset)]}
    # a base generator releases its DCR-screened rows, the rows its hybrid starts from
    data = dcr_files(dcr_folder(dataset, generator), rep)[0]
    meta = synthetic_files(synthetic_folder(dataset, generator), rep)[1]
    return {
        "data": data,
        "meta": meta,
        "needs": [dcr_folder(dataset, generator), synthetic_folder(dataset, generator)],
    }


def needs_of(releases):
    """The files and folders a job that reads ``releases`` waits on, each once, in order."""
    return list(dict.fromkeys(p for r in releases for p in r["needs"]))


def privacy_sets(wildcards):
    return PLAN.privacy_sets(wildcards.dataset)


def privacy_releases(wildcards):
    """The set and meta.json of every entry of privacy_sets, in its order: a base generator's
    set as sampled (unfiltered) or its release."""
    out = []
    for g, r, s in privacy_sets(wildcards):
        release = synthetic_release(wildcards.dataset, g, r)
        if s == "unfiltered":
            data = synthetic_files(synthetic_folder(wildcards.dataset, g), r)[0]
            release = {**release, "data": data}
        out.append(release)
    return out


def privacy_inputs(wildcards):
    return {
        "releases": needs_of(privacy_releases(wildcards)),
        **split_inputs(wildcards.dataset, data_reps(wildcards)),
    }


def privacy_records(wildcards):
    """One record per set the privacy job attacks (core.cells.SetCell): its version, files
    and the (generator, rep) cell's seed."""
    d = wildcards.dataset
    return [
        SetCell(
            g, r, rel["data"], rel["meta"], seed_for("privacy", d, g, rep=r), version=v
        ).record()
        for (g, r, v), rel in zip(
            privacy_sets(wildcards), privacy_releases(wildcards), strict=True
        )
    ]


def split_inputs(dataset, reps):
    """The training table, holdout and card of each replicate in ``reps``, in their order."""
    return {
        "trains": prepared_by_rep("train", dataset, reps),
        "holdouts": prepared_by_rep("holdout", dataset, reps),
        "cards": prepared_by_rep("card", dataset, reps),
    }


def engine_source(wildcards):
    # the card of the pool's replicate: the truth engine's dataset is the same in every one
    inputs = {"card": prepared("card", wildcards, rep=config["engine"]["pool_rep"])}
    if wildcards.engine != TRUTH_ENGINE:
        inputs["hybrids"] = hybrid_folder(wildcards.dataset)
    return inputs


def engine_pool(wildcards):
    """The pool and meta.json of the engine's hybrid, of one declared replicate
    (engine.pool_rep); none for the truth engine."""
    if wildcards.engine == TRUTH_ENGINE:
        return {"pool": None, "meta": None}
    release = synthetic_release(
        wildcards.dataset, wildcards.engine, config["engine"]["pool_rep"]
    )
    return {"pool": release["data"], "meta": release["meta"]}


def pairing_pool(wildcards):
    return synthetic_release(wildcards.dataset, wildcards.hybrid, wildcards.rep)["data"]


# ---- target lists (pure functions of the validated config) ----


def dataset_cards():
    return [
        card for d in DATASETS for card in prepared_by_rep("card", d, PLAN.data_reps(d))
    ]


def synthetic_folders():
    return [synthetic_folder(d, g) for d in DATASETS for g in PLAN.generators_for(d)]


def synthetic_metas():
    """The meta.json of every base set (inside the generate folders)."""
    return [
        synthetic_files(synthetic_folder(d, g), r)[1]
        for d in DATASETS
        for g in PLAN.generators_for(d)
        for r in PLAN.reps_for(g)
    ]


def dcr_folders():
    return [dcr_folder(d, g) for d in DATASETS for g in PLAN.generators_for(d)]


def dcr_jsons():
    """The dcr.json of every base set (inside the dcr_filter folders)."""
    return [
        dcr_files(dcr_folder(d, g), r)[1]
        for d in DATASETS
        for g in PLAN.generators_for(d)
        for r in PLAN.reps_for(g)
    ]


def hybrid_targets():
    """The hybrid folder of every dataset with a hybrid."""
    return [hybrid_folder(d) for d in DATASETS if PLAN.hybrids_for(d)]


def hybrid_metas():
    """The meta.json of every hybrid pool (inside the hybrid folders)."""
    return [
        synthetic_release(d, h, r)["meta"]
        for d in DATASETS
        for h in PLAN.hybrids_for(d)
        for r in PLAN.reps_for(h)
    ]


def privacy_cells():
    return expand(rules.privacy_attacks.output.table, dataset=DATASETS)


def release_records():
    return expand(rules.privacy_attacks.output.release, dataset=DATASETS)


def evaluation_cells(output):
    """One evaluate_synthetic output per dataset: every set of it, base or hybrid."""
    return expand(getattr(rules.evaluate_synthetic.output, output), dataset=DATASETS)


def real_estimates(dataset, reps):
    return [
        rules.estimate_real.output.estimates.format(dataset=dataset, rep=r)
        for r in reps
    ]


def ate_cells():
    real = [f for d in DATASETS for f in real_estimates(d, PLAN.data_reps(d))]
    return real + evaluation_cells("estimates")


def tstr_cells():
    return evaluation_cells("tstr")


def positivity_cells():
    pool = config["pairing"]["pool"]
    return [
        rules.positivity.output.table.format(dataset=d, hybrid=pool, rep=r)
        for d in PLAN.positivity_datasets()
        for r in PLAN.reps_for(pool)
    ]


def engine_cells(output="table"):
    pattern = getattr(rules.engine.output, output)
    return [
        pattern.format(dataset=d, engine=e, n=n)
        for d in PLAN.engine_datasets()
        for e in PLAN.engines_for(d)
        for n in N_GRID
    ]


def benchmark_records():
    """(benchmark file, rule, dataset, generator) of every benchmarked job, for the runtime figure."""
    records = [
        (f"results/benchmarks/{rule}/{d}/{g}.tsv", rule, d, g)
        for rule in ("generate", "dcr_filter")
        for d in DATASETS
        for g in PLAN.generators_for(d)
    ]
    records += [
        (f"results/benchmarks/hybrid/{d}.tsv", "hybrid", d, None)
        for d in DATASETS
        if PLAN.hybrids_for(d)
    ]
    records += [
        (f"results/benchmarks/estimate_real/{d}/rep{r}.tsv", "estimate_real", d, "real")
        for d in DATASETS
        for r in PLAN.data_reps(d)
    ]
    records += [
        (f"results/benchmarks/engine/{d}/{e}/n{n}.tsv", "engine", d, e)
        for d in PLAN.engine_datasets()
        for e in PLAN.engines_for(d)
        for n in N_GRID
    ]
    records += [
        (f"results/benchmarks/{rule}/{d}.tsv", rule, d, None)
        for rule in ("evaluate_synthetic", "fidelity", "privacy_attacks")
        for d in DATASETS
    ]
    records += [
        (
            f"results/benchmarks/inferential_utility/{d}.tsv",
            "inferential_utility",
            d,
            None,
        )
        for d in PLAN.inferential_datasets()
    ]
    return records


def all_targets(wildcards):
    return [
        *expand("results/tables/{table}.csv", table=TABLES),
        *expand("results/figures/{figure}.png", figure=FIGURES),
        *expand("results/figures/{figure}.png", figure=PAPER_FIGURES),
        "results/findings.md",
        "results/provenance.json",
    ]


def resolved_settings():
    """The run's settings with every generator's and dataset's defaults filled in: the paper
    figures judge from them whether the run's settings are the papers'."""
    return PLAN.resolved_settings()


# ---- resources and params of the generate and estimate stages ----


def generate_resources_gpu(wildcards):
    return generator_class(wildcards).gpus(PLAN.generator_params(wildcards.generator))


def generate_mem_mb(wildcards, attempt):
    return generator_class(wildcards).mem_mb * attempt


def generate_runtime(wildcards, attempt):
    # a job fits every replicate of its generator, one after another
    reps = len(generator_reps(wildcards))
    return generator_class(wildcards).runtime_minutes * reps * attempt


def runtime_per_set(minutes):
    """A batched job's runtime limit: ``minutes`` per set it makes or reads (its generator's
    replicates, or its dataset's sets), at least an hour, growing with the attempt. The
    per-job limits of before the batching were per set; a flat limit would kill a paper-scale
    job of 90 sets."""

    def runtime(wildcards, attempt):
        if "generator" in wildcards.keys():
            n = len(generator_reps(wildcards))
        else:
            n = len(PLAN.released_sets(wildcards.dataset))
        return max(60, minutes * n) * attempt

    return runtime


def estimation_params():
    return config["estimation"]


def replicate_estimate_seed(dataset, rep):
    """One estimate seed per (dataset, replicate), shared by the real rows and every set of the
    replicate (common random numbers): a base, its hybrid and the real data get the same folds
    and learner seeds, so their paired differences carry the generators' differences alone.
    """
    return seed_for("estimate", dataset, rep=rep)


def estimate_seed(wildcards):
    return replicate_estimate_seed(wildcards.dataset, wildcards.rep)


def estimate_real_params(wildcards):
    """The grid of every replicate; the reference learner's rows (a costly stack) on the first."""
    est = dict(config["estimation"])
    if int(wildcards.rep) != PLAN.data_reps(wildcards.dataset)[0]:
        est["reference_learner"] = None
    return est


def evaluate_records(wildcards):
    """One record per released set (core.cells.SetCell). The grid's and the TSTR judge's seeds
    are the replicate's, the same for every set of it: common random numbers."""
    d = wildcards.dataset
    return [
        SetCell(
            g,
            r,
            rel["data"],
            rel["meta"],
            replicate_estimate_seed(d, r),
            tstr_seed=seed_for("tstr", d, rep=r),
        ).record()
        for (g, r), rel in zip(
            dataset_sets(wildcards), dataset_releases(d), strict=True
        )
    ]


def evaluate_inputs(wildcards):
    reps = data_reps(wildcards)
    return {
        "releases": needs_of(dataset_releases(wildcards.dataset)),
        "reals": real_estimates(wildcards.dataset, reps),
        **split_inputs(wildcards.dataset, reps),
    }


def tstr_real_seed(wildcards):
    # the train-on-real ceiling of each replicate's split, fitted with one seed
    return seed_for("tstr", wildcards.dataset, REAL)


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
        "propensity_bound": config["estimation"]["propensity_bound"],
        "influence_share": config["estimation"]["influence_share"],
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


# ---- fidelity and inferential utility (workflow/rules/evaluate.smk) ----


def _releases(dataset, generator):
    """The released table and meta.json of every replicate of a generator (base or hybrid)."""
    return [
        synthetic_release(dataset, generator, rep) for rep in PLAN.reps_for(generator)
    ]


def dataset_sets(wildcards):
    return PLAN.released_sets(wildcards.dataset)


def dataset_releases(dataset):
    """The released table and meta.json of every set of the dataset (Plan.released_sets' order)."""
    return [synthetic_release(dataset, g, r) for g, r in PLAN.released_sets(dataset)]


def fidelity_inputs(wildcards):
    return {
        "releases": needs_of(dataset_releases(wildcards.dataset)),
        **split_inputs(wildcards.dataset, data_reps(wildcards)),
    }


def fidelity_records(wildcards):
    """One record per released set (core.cells.SetCell), with its own metrics' seed."""
    d = wildcards.dataset
    return [
        SetCell(
            g, r, rel["data"], rel["meta"], seed_for("fidelity", d, g, rep=r)
        ).record()
        for (g, r), rel in zip(
            dataset_sets(wildcards), dataset_releases(d), strict=True
        )
    ]


def fidelity_real_seed(wildcards):
    return seed_for("fidelity", wildcards.dataset, REAL)


def inferential_records(wildcards):
    """One record per replicate a generator's coverage study reads (core.cells.RepCell): its
    seed is the generator's, one per (dataset, generator) as when each generator had a job of
    its own; its table, the replicate's release (none for ``real`` and ``perfect``)."""
    d = wildcards.dataset
    return [
        RepCell(
            g,
            r,
            seed_for("inferential_utility", d, g),
            None if g in (REAL, PERFECT) else synthetic_release(d, g, r)["data"],
        ).record()
        for g in PLAN.inferential_generators_for(d)
        for r in PLAN.inferential_reps(d, g)
    ]


def inferential_inputs(wildcards):
    releases = [
        rel
        for g in PLAN.inferential_generators_for(wildcards.dataset)
        if g not in (REAL, PERFECT)
        for rel in _releases(wildcards.dataset, g)
    ]
    reps = data_reps(wildcards)
    return {
        "trains": prepared_by_rep("train", wildcards.dataset, reps),
        "cards": prepared_by_rep("card", wildcards.dataset, reps),
        "releases": needs_of(releases),
    }


def fidelity_cells():
    return expand(rules.fidelity.output.table, dataset=DATASETS)


def inferential_cells():
    return expand(
        rules.inferential_utility.output.table, dataset=PLAN.inferential_datasets()
    )
