import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


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
