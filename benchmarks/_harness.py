"""Run Snakemake in a fresh copy of the workflow and measure wall time and peak memory; time
variants side by side in one process."""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil

from causalsynth.core.provenance import SNAPSHOT_COMMIT_VARIABLE, git_commit

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW_ITEMS = ("Snakefile", "workflow", "scripts", "config", "profiles", "envs")


def fresh_copy(dest: Path) -> Path:
    """The workflow and a snapshot of the package's source in ``dest``. ``run_measured`` puts the
    snapshot first on the jobs' import path, so a run that lasts an hour measures the code it
    started with, not edits made to the checkout while it runs."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(
        ROOT / "src",
        dest / "src",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
        dirs_exist_ok=True,
    )
    for item in WORKFLOW_ITEMS:
        src = ROOT / item
        if src.is_dir():
            shutil.copytree(
                src, dest / item, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True
            )
        else:
            shutil.copy(src, dest / item)
    return dest


def snakemake_env(cwd: Path) -> dict[str, str]:
    """The environment of a Snakemake run in ``cwd``: fresh_copy's snapshot of the package first."""
    env = dict(os.environ)
    if (cwd / "src").is_dir():
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(cwd / "src"), env.get("PYTHONPATH")]))
        env[SNAPSHOT_COMMIT_VARIABLE] = git_commit(ROOT) or ""
    return env


def snakemake_text(args: list[str], cwd: Path) -> str:
    """stdout and stderr of a Snakemake call that runs no job (a dry run, a rule graph); a
    failure stops the benchmark with Snakemake's last lines."""
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", *args],
        cwd=cwd,
        env=snakemake_env(cwd),
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise SystemExit(
            f"snakemake {' '.join(args)} failed in {cwd}:\n{(proc.stdout + proc.stderr)[-3000:]}"
        )
    return proc.stdout + proc.stderr


def run_measured(
    args: list[str], cwd: Path, log: Path, own_cpu: dict | None = None
) -> tuple[float, float, int]:
    """Wall seconds, peak resident memory (GiB) of the whole process tree, and exit code.

    Memory is the largest sum of RSS over Snakemake and all its jobs, sampled every 0.2 s.
    ``own_cpu``, when given, receives ``seconds``: the CPU the Snakemake process itself used
    (scheduling, DAG, file checks; its jobs not included), last sampled before it exited, and
    ``tree_seconds``: the CPU of Snakemake and every process it and its jobs waited for, from
    the kernel's accounting when the run ended (not sampled, so nothing is missed at the end of
    a job).
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with log.open("w") as fh:
        env = snakemake_env(cwd)  # fresh_copy's snapshot of the package, for Snakemake and its jobs
        proc = subprocess.Popen(
            [sys.executable, "-m", "snakemake", *args], cwd=cwd, stdout=fh, stderr=subprocess.STDOUT, env=env
        )
        parent = psutil.Process(proc.pid)
        peak = 0
        while proc.poll() is None:
            total = 0
            try:
                for p in [parent, *parent.children(recursive=True)]:
                    try:
                        total += p.memory_info().rss
                    except psutil.Error:
                        pass
            except psutil.Error:
                pass
            peak = max(peak, total)
            if own_cpu is not None:
                try:
                    times = parent.cpu_times()
                    own_cpu["seconds"] = times.user + times.system
                except psutil.Error:
                    pass
            time.sleep(0.2)
    wall = time.perf_counter() - start
    if own_cpu is not None:
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        own_cpu["tree_seconds"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, peak / 2**30, proc.returncode


def slowest_jobs(root: Path, k: int = 5) -> pd.DataFrame:
    rows = []
    for tsv in (root / "results" / "benchmarks").rglob("*.tsv"):
        df = pd.read_csv(tsv, sep="\t")
        rel = tsv.relative_to(root / "results" / "benchmarks")
        rows.append(
            {
                "job": str(rel.with_suffix("")),
                "seconds": float(df["s"].iloc[0]),
                "max_rss_mb": float(df["max_rss"].iloc[0]),
            }
        )
    return pd.DataFrame(rows).sort_values("seconds", ascending=False).head(k) if rows else pd.DataFrame()


def job_threads(log: Path) -> dict[str, int]:
    """Benchmark file (relative to the run's root) -> the threads its job held, from the
    Snakemake log's job blocks."""
    threads: dict[str, int] = {}
    for block in log.read_text().split("\n\n") if log.exists() else []:
        bench = re.search(r"^\s+benchmark: (\S+)", block, re.M)
        held = re.search(r"^\s+threads: (\d+)", block, re.M)
        if bench and held:
            threads[bench.group(1)] = int(held.group(1))
    return threads


def rules_by_core_seconds(root: Path, k: int = 5, log: Path | None = None) -> pd.DataFrame:
    """The ``k`` rules whose jobs held the most core-seconds (each job's wall seconds times the
    threads it held, as the Snakemake log gives them), with their job count and wall seconds:
    where a run's cores went, so a budget miss names its cause.

    Not Snakemake's ``cpu_time``: it is sampled while a job runs and misses the end of each
    one (a CTGAN job that used 39 CPU seconds, by ``/usr/bin/time``, recorded 15.4)."""
    threads = job_threads(log or root / "snakemake.log")
    rows = []
    for tsv in (root / "results" / "benchmarks").rglob("*.tsv"):
        df = pd.read_csv(tsv, sep="\t")
        rel = tsv.relative_to(root)
        wall = float(df["s"].iloc[0])
        rows.append(
            {
                "rule": rel.parts[2],
                "core_seconds": wall * threads.get(str(rel), 1),
                "wall_seconds": wall,
            }
        )
    if not rows:
        return pd.DataFrame()
    table = (
        pd.DataFrame(rows)
        .groupby("rule")
        .agg(
            jobs=("core_seconds", "size"),
            core_seconds=("core_seconds", "sum"),
            wall_seconds=("wall_seconds", "sum"),
        )
    )
    return table.sort_values("core_seconds", ascending=False).head(k).reset_index().round(1)


def timed(step, *args, **kwargs) -> tuple[object, float, float]:
    """``step(*args, **kwargs)``'s result, its CPU seconds (this process, every thread) and its
    wall seconds."""
    cpu, wall = time.process_time(), time.perf_counter()
    out = step(*args, **kwargs)
    return out, time.process_time() - cpu, time.perf_counter() - wall


def side_by_side_setup(ap: argparse.ArgumentParser) -> tuple[argparse.Namespace, object, int, dict]:
    """A side-by-side benchmark's command line with the shared ``--repeat`` and ``--config``,
    parsed; returns it with the config's plan, its seed and the machine, printed first."""
    from causalsynth.config import Plan, read_config
    from causalsynth.core.provenance import machine

    ap.add_argument("--repeat", type=int, default=1, help="turns per variant; the best is kept")
    ap.add_argument("--config", default="config/config.yaml")
    args = ap.parse_args()
    plan = Plan(read_config(args.config))
    cpu = machine()
    print(f"machine: {cpu['cpu']}, {cpu['logical_cores']} logical cores", flush=True)
    return args, plan, int(plan.config["seed"]), cpu


def side_by_side(variants: dict, repeat: int = 1) -> dict[str, dict]:
    """Each variant (name -> a callable of no argument) run ``repeat`` times in turn, in one
    process: its result, best wall and CPU seconds, and its wall ratio to the first variant.

    Turns alternate (A, B, A, B, ...) so that a machine that slows down or speeds up during the
    benchmark moves every variant alike."""
    out: dict[str, dict] = {name: {"wall": float("inf"), "cpu": float("inf")} for name in variants}
    for _ in range(repeat):
        for name, step in variants.items():
            result, cpu, wall = timed(step)
            best = out[name]
            best["result"] = result
            best["wall"], best["cpu"] = min(best["wall"], wall), min(best["cpu"], cpu)
    first = out[next(iter(variants))]["wall"]
    for best in out.values():
        best["ratio"] = best["wall"] / first if first > 0 else float("nan")
    return out


def save_result(out: Path, name: str, result: dict) -> Path:
    """Write a benchmark's result as JSON under ``out`` (created), for comparing runs later."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    return path
