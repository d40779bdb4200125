"""The paper grid's cost, measured on a slice and projected: one dataset and one replicate of
config/paper.yaml run here, the whole grid's core-hours, GPU-hours, peak memory per rule and
wall time on a cluster of a stated size projected from Snakemake's per-job benchmark records.

    python benchmarks/paper_scale.py [--config config/paper.yaml] [--datasets sim_paper]
        [--cores 2] [--cluster-cores 128] [--cluster-gpus 4] [--dir /tmp/causalsynth-scale]
    python benchmarks/paper_scale.py --from-run DIR --slice-config config/paper_slice.yaml

The second form runs no slice: it projects from the records of a run already made in DIR (a
directory holding the workflow it ran and its results/, for example a run of
config/paper_slice.yaml, the papers' settings on sim_paper and actg175), so the hours of a
slice are paid once.

The slice is the config with only the given datasets, one replicate, and no generator that
asks for a GPU (GReaT at the papers' settings): its fits are projected from the H100
measurement of config/README.md (benchmarks/great_gpu.py: 3.9 s per epoch per 1,000 training
rows, 4.0 s per 1,000 sampled rows), on each dataset's training rows (read from its first
replicate's card, which this script prepares for every dataset of the grid). Every other job of
the grid costs what its measured counterpart cost (`causalsynth.report.cost`: same rule,
generator, engine and n; a job that reads every replicate scaled by the replicates it reads);
a dataset that was not measured costs what the measured ones do, job for job, so measure the
costly ones too (`--datasets sim_paper acic16`). Prints the machine, the slice's wall time and
peak memory, the projection per rule and in total, and where it stands on a stand-in or on no
record; writes the result as JSON in the run's directory. The slice of config/paper.yaml on
sim_paper is 69 jobs and takes hours on 2 cores (the engine's 30 jobs of 100 replicates with
random forests and DML; the evaluation of 50,000-row sets).
"""

from __future__ import annotations

import argparse
import copy
import shutil
import tempfile
from pathlib import Path

import yaml
from _harness import ROOT, fresh_copy, run_measured, save_result, snakemake_text

from causalsynth.config import Plan, load_config
from causalsynth.core.io import read_json
from causalsynth.core.provenance import machine
from causalsynth.core.vocabulary import REAL, hybrid_base, hybrid_name
from causalsynth.report.cost import (
    Job,
    benchmark_patterns,
    parse_dry_run,
    parse_rulegraph,
    project,
    read_records,
    with_replicates,
)

# One NVIDIA H100 80GB, SmolLM2-135M at the papers' settings (config/README.md, "GPU check")
GREAT_FIT_S_PER_EPOCH_PER_1000_ROWS = 3.9
GREAT_SAMPLE_S_PER_1000_ROWS = 4.0
SLICE_CONFIG = "config/paper_scale_slice.yaml"


def slice_config(config: dict, datasets: list[str]) -> tuple[dict, list[str]]:
    """The config on `datasets` with one replicate and without the generators that need a GPU;
    returns it and the generators left out."""
    plan = Plan(load_config(copy.deepcopy(config)))
    gpu = [g for g in plan.config["generators"] if plan.generator_class(g).gpus(plan.generator_params(g))]
    out = copy.deepcopy(config)
    out["replicates"] = 1
    out["datasets"] = {d: config["datasets"][d] for d in datasets}
    gens = {}
    for g, opts in (config.get("generators") or {}).items():
        opts = dict(opts or {})
        if g in gpu or ("datasets" in opts and not set(opts["datasets"]) & set(datasets)):
            continue
        if "replicates" in opts:
            opts["replicates"] = 1
        if "datasets" in opts:
            opts["datasets"] = [d for d in opts["datasets"] if d in datasets]
        gens[g] = opts
    out["generators"] = gens
    hybrid = out.setdefault("hybrid", {})
    if hybrid.get("bases") is not None:
        hybrid["bases"] = [b for b in hybrid["bases"] if b == REAL or b in gens]
    bases = [b for b in (hybrid.get("bases") or list(gens)) if b != REAL]
    pairing = out.setdefault("pairing", {})
    pool = pairing.get("pool")
    if pool is not None and hybrid_base(pool) not in gens and bases:
        pairing["pool"] = hybrid_name(bases[0])
    for section in ("engine", "inferential_utility"):
        part = out.get(section) or {}
        if part.get("datasets") is not None:
            part["datasets"] = [d for d in part["datasets"] if d in datasets]
    engines = (out.get("engine") or {}).get("engines")
    if engines is not None:
        out["engine"]["engines"] = [e for e in engines if hybrid_base(e) in gens or e == hybrid_name(REAL)]
    return out, gpu


def training_rows(root: Path, config_path: str, datasets: list[str], cores: int) -> dict[str, int]:
    """Each dataset's training rows, from its first replicate's card (prepared here: cheap)."""
    cards = [f"results/data/{d}/rep1/card.json" for d in datasets]
    missing = [c for c in cards if not (root / c).exists()]
    if missing:
        # the targets first: --configfile takes every value that follows it
        snakemake_text([*missing, "--cores", str(cores), "--configfile", config_path], root)
    return {d: int(read_json(root / c)["n_train"]) for d, c in zip(datasets, cards, strict=True)}


def great_seconds(config: dict, rows: dict[str, int]):
    def seconds(job: Job) -> float:
        opts = config["generators"][job.wildcards["generator"]]
        train = rows[job.dataset]
        if opts.get("max_train_rows"):
            train = min(train, int(opts["max_train_rows"]))
        fit = GREAT_FIT_S_PER_EPOCH_PER_1000_ROWS * int(opts.get("epochs", 50)) * train / 1000
        sampled = int(opts.get("n_rows", config.get("synthetic_rows", 2000)))
        return fit + GREAT_SAMPLE_S_PER_1000_ROWS * sampled / 1000

    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="config/paper.yaml", help="the grid to project")
    ap.add_argument("--datasets", nargs="+", default=["sim_paper"], help="datasets to measure")
    ap.add_argument("--cores", type=int, default=2, help="cores of the measured slice")
    ap.add_argument("--cluster-cores", type=int, default=128)
    ap.add_argument("--cluster-gpus", type=int, default=4)
    ap.add_argument("--dir", type=Path, default=None, help="fresh directory to run in (default: a temp dir)")
    ap.add_argument(
        "--from-run",
        type=Path,
        default=None,
        help="project from an earlier run's records in this directory instead of running a slice",
    )
    ap.add_argument(
        "--slice-config", default=None, help="with --from-run: the config that run used, relative to it"
    )
    args = ap.parse_args()
    if args.from_run is not None:
        project_from_run(args)
        return
    root = fresh_copy(args.dir or Path(tempfile.mkdtemp(prefix="causalsynth-scale-")))
    if not (root / args.config).exists():  # a config outside config/ (tests/config/tiny.yaml)
        shutil.copy(ROOT / args.config, root / "config" / Path(args.config).name)
        args.config = f"config/{Path(args.config).name}"
    grid_config = yaml.safe_load((root / args.config).read_text())
    unknown = sorted(set(args.datasets) - set(grid_config["datasets"]))
    if unknown:
        raise SystemExit(
            f"--datasets {unknown}: not datasets of {args.config} ({sorted(grid_config['datasets'])})"
        )
    config, left_out = slice_config(grid_config, args.datasets)
    (root / SLICE_CONFIG).write_text(yaml.safe_dump(config, sort_keys=False))
    cpu = machine()
    print(f"machine: {cpu['cpu']}, {cpu['logical_cores']} logical cores; directory: {root}", flush=True)
    print(
        f"slice: {args.datasets}, one replicate, without {left_out or 'nothing'} ({SLICE_CONFIG})", flush=True
    )

    # --forceall: every job of the slice, whatever the directory already holds
    measured = with_replicates(
        parse_dry_run(
            snakemake_text(
                ["-n", "--forceall", "--cores", str(args.cores), "--configfile", SLICE_CONFIG], root
            )
        ),
        Plan(load_config(copy.deepcopy(config))).reps_for,
    )
    wall, peak, rc = run_measured(
        ["--cores", str(args.cores), "--configfile", SLICE_CONFIG], root, root / "slice.log"
    )
    if rc != 0:
        raise SystemExit(f"the slice failed (exit {rc}); see {root / 'slice.log'}")
    print(f"slice: {len(measured)} jobs, wall {wall / 60:.1f} min on {args.cores} cores, peak {peak:.2f} GiB")
    slice_info = {"jobs": len(measured), "wall_s": wall, "peak_gib": peak, "cores": args.cores}
    project_grid(root, args, grid_config, measured, slice_info, left_out, args.datasets)


def project_from_run(args: argparse.Namespace) -> None:
    """The projection from the records of a slice run earlier in ``args.from_run``."""
    root = args.from_run.resolve()
    if not (root / "results" / "benchmarks").is_dir():
        raise SystemExit(
            f"--from-run {root}: no results/benchmarks/ there; give the directory of a finished run"
        )
    if not args.slice_config or not (root / args.slice_config).is_file():
        raise SystemExit(
            f"--from-run needs --slice-config, the config that run used, as a path inside {root} "
            f"(got {args.slice_config!r}), e.g. config/paper_slice.yaml"
        )
    if not (root / args.config).is_file():
        raise SystemExit(f"--config {args.config}: not in {root}; copy the grid's config there")
    grid_config = yaml.safe_load((root / args.config).read_text())
    slice_cfg = yaml.safe_load((root / args.slice_config).read_text())
    plan = Plan(load_config(copy.deepcopy(slice_cfg)))
    gpu = [g for g in plan.config["generators"] if plan.generator_class(g).gpus(plan.generator_params(g))]
    grid_plan = Plan(load_config(copy.deepcopy(grid_config)))
    left_out = [
        g
        for g in grid_plan.config["generators"]
        if g not in plan.config["generators"]
        and grid_plan.generator_class(g).gpus(grid_plan.generator_params(g))
    ]
    cpu = machine()
    print(f"machine: {cpu['cpu']}, {cpu['logical_cores']} logical cores; directory: {root}", flush=True)
    print(
        f"slice: the run of {args.slice_config} in {root} (not timed here: its records are read), "
        f"datasets {plan.datasets}, GPU generators {gpu or 'none'}, left out {left_out or 'nothing'}",
        flush=True,
    )
    measured = with_replicates(
        parse_dry_run(
            snakemake_text(
                ["-n", "--forceall", "--cores", str(args.cores), "--configfile", args.slice_config], root
            )
        ),
        plan.reps_for,
    )
    slice_info = {"jobs": len(measured), "from_run": str(root), "config": args.slice_config}
    project_grid(root, args, grid_config, measured, slice_info, left_out, list(plan.datasets))


def project_grid(
    root: Path,
    args: argparse.Namespace,
    grid_config: dict,
    measured: list,
    slice_info: dict,
    left_out: list[str],
    datasets: list[str],
) -> None:
    """Project the grid of ``args.config`` from the records in ``root``; print and save it."""
    cpu = machine()
    grid_args = ["--forceall", "--cores", str(args.cores), "--configfile", args.config]
    # rule all only gathers the targets: no work to project
    grid = with_replicates(
        [j for j in parse_dry_run(snakemake_text(["-n", *grid_args], root)) if j.rule != "all"],
        Plan(load_config(copy.deepcopy(grid_config))).reps_for,
    )
    graph = parse_rulegraph(snakemake_text(["--rulegraph", *grid_args], root))
    rows = training_rows(root, args.config, list(grid_config["datasets"]), args.cores)
    records = read_records(root, benchmark_patterns(sorted((root / "workflow" / "rules").glob("*.smk"))))
    p = project(grid, measured, records, graph, gpu_seconds=great_seconds(grid_config, rows))

    table = p.by_rule()
    lower, upper = p.wall_hours(args.cluster_cores, args.cluster_gpus)
    print(f"\ngrid {args.config}: {len(grid)} jobs; measured datasets {p.measured_datasets}, the others "
          "taken as costing what they cost, job for job")  # fmt: skip
    print(f"training rows (GReaT's GPU model): {rows}")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    print(
        f"\nCPU: {p.core_hours:.1f} core-hours of CPU time, {p.reserved_core_hours:.1f} reserved (seconds x threads)"
    )
    print(f"GPU: {p.gpu_hours:.1f} GPU-hours (H100 model for the jobs that ask for a GPU)")
    print(f"peak memory of one job: {table['peak_rss_gib'].max():.2f} GiB")
    print(f"wall on {args.cluster_cores} cores and {args.cluster_gpus} GPUs: {lower:.1f} to {upper:.1f} hours "
          f"(critical path bound {p.critical_path_hours():.1f} h)")  # fmt: skip
    stand_in = table.loc[table["stand_in"] > 0, "rule"].tolist()
    no_record = table.loc[table["no_record"] > 0, ["rule", "no_record"]].to_dict("records")
    print(f"stand-ins (the rule's mean over measured jobs): {stand_in or 'none'}")
    print(f"jobs without a benchmark record, not in the totals: {no_record or 'none'}")
    out = save_result(
        root / "benchmark_results",
        "paper_scale.json",
        {
            "machine": cpu,
            "config": args.config,
            "datasets_measured": datasets,
            "left_out": left_out,
            "slice": slice_info,
            "grid_jobs": len(grid),
            "training_rows": rows,
            "by_rule": table.to_dict("records"),
            "core_hours": p.core_hours,
            "reserved_core_hours": p.reserved_core_hours,
            "gpu_hours": p.gpu_hours,
            "cluster": {"cores": args.cluster_cores, "gpus": args.cluster_gpus, "wall_hours": [lower, upper]},
        },
    )
    print(f"written: {out}")


if __name__ == "__main__":
    main()
