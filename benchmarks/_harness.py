"""Run Snakemake in a fresh copy of the workflow and measure wall time and peak memory."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW_ITEMS = ("Snakefile", "workflow", "scripts", "config", "profiles", "envs")


def fresh_copy(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for item in WORKFLOW_ITEMS:
        src = ROOT / item
        if src.is_dir():
            shutil.copytree(
                src, dest / item, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True
            )
        else:
            shutil.copy(src, dest / item)
    return dest


def run_measured(args: list[str], cwd: Path, log: Path) -> tuple[float, float, int]:
    """Wall seconds, peak resident memory (GiB) of the whole process tree, and exit code.

    Memory is the largest sum of RSS over Snakemake and all its jobs, sampled every 0.2 s.
    """
    start = time.perf_counter()
    with log.open("w") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "snakemake", *args], cwd=cwd, stdout=fh, stderr=subprocess.STDOUT
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
            time.sleep(0.2)
    return time.perf_counter() - start, peak / 2**30, proc.returncode


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


def save_result(out: Path, name: str, result: dict) -> Path:
    """Write a benchmark's result as JSON under ``out`` (created), for comparing runs later."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    return path
