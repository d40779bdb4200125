import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from causalsynth.core.vocabulary import TABLES

ROOT = Path(__file__).resolve().parents[2]
TINY = "tests/config/tiny.yaml"
# Columns that measure time, not results
TIMING = {"seconds", "fit_seconds", "sample_seconds"}


def snakemake(*args, cwd=ROOT, check=True, timeout=1500):
    """Run the Snakemake CLI of this interpreter; return the completed process."""
    cmd = [sys.executable, "-m", "snakemake", *map(str, args)]
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{proc.stdout[-5000:]}\n{proc.stderr[-8000:]}")
    return proc


def copy_workflow(root: Path) -> Path:
    """A copy of the workflow (not of results) in ``root``; the one every workflow test runs in."""
    for item in ("Snakefile", "workflow", "scripts", "config", "profiles", "envs", "tests"):
        src = ROOT / item
        if src.is_dir():
            shutil.copytree(src, root / item, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, root / item)
    return root


@pytest.fixture
def workdir(tmp_path):
    return copy_workflow(tmp_path)


def read_tables(root: Path) -> dict[str, pd.DataFrame]:
    """The result tables of a run in ``root``, without the columns that measure time."""
    out = {}
    for t in TABLES:
        df = pd.read_csv(root / f"results/tables/{t}.csv")
        out[t] = df.drop(columns=[c for c in df.columns if c in TIMING or c.endswith("_seconds")])
    return out


@pytest.fixture(scope="session")
def tiny_local_run(tmp_path_factory) -> Path:
    """The tiny config run once straight through on this machine; the run other runs are compared to."""
    root = copy_workflow(tmp_path_factory.mktemp("straight"))
    snakemake("--cores", "2", "--configfile", TINY, cwd=root)
    return root
