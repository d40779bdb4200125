"""ruff, snakefmt, snakemake --lint and a dry run of every shipped config."""

import re
import subprocess
import sys

import pytest

from .conftest import ROOT, snakemake

CONFIGS = sorted(p.relative_to(ROOT) for p in (ROOT / "config").glob("*.yaml")) + [
    ROOT.joinpath("tests/config/tiny.yaml").relative_to(ROOT)
]


def test_ruff():
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "."], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_format():
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "."], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_snakefmt():
    proc = subprocess.run(
        [sys.executable, "-m", "snakefmt", "--check", "Snakefile", "workflow"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_snakemake_lint():
    proc = snakemake("--lint", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("config", CONFIGS, ids=str)
def test_dry_run(config):
    proc = snakemake("-n", "--configfile", config, "--cores", "2")
    out = proc.stdout + proc.stderr
    # a DAG down to the report: every stage has jobs
    for rule in (
        "prepare_dataset",
        "generate",
        "dcr_filter",
        "hybrid",
        "evaluate_synthetic",
        "collect_tables",
    ):
        assert re.search(rf"^{rule}\s+[1-9]\d*$", out, re.M), f"{config}: no {rule} jobs"


def test_unknown_generator_fails_before_anything_runs(workdir):
    bad = workdir / "bad.yaml"
    bad.write_text("datasets: {sim_paper: {}}\ngenerators: {gan9000: {}}\n")
    proc = snakemake("-n", "--configfile", bad, "--cores", "1", cwd=workdir, check=False)
    assert proc.returncode != 0
    assert "generators/gan9000: unknown generator 'gan9000'" in proc.stdout + proc.stderr
