"""The tiny config end to end: every table and figure, identical numbers in two fresh
directories, and a run killed half-way that resumes without redoing finished jobs."""

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from .conftest import snakemake

TINY = "tests/config/tiny.yaml"
TABLES = ["ate_preservation", "tstr", "dcr", "positivity", "engine", "engine_ranking"]
# Columns that measure time, not results
TIMING = {"seconds", "fit_seconds", "sample_seconds"}

pytestmark = [pytest.mark.workflow, pytest.mark.slow]


def _tables(root):
    out = {}
    for t in TABLES:
        df = pd.read_csv(root / f"results/tables/{t}.csv")
        out[t] = df.drop(columns=[c for c in df.columns if c in TIMING])
    return out


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    import shutil

    from .conftest import ROOT

    roots = []
    for name in ("run_a", "run_b"):
        root = tmp_path_factory.mktemp(name)
        for item in ("Snakefile", "workflow", "scripts", "config", "profiles", "envs", "tests"):
            src = ROOT / item
            (shutil.copytree if src.is_dir() else shutil.copy)(src, root / item)
        snakemake("--cores", "2", "--configfile", TINY, cwd=root)
        roots.append(root)
    return roots


def test_tiny_run_writes_every_output(two_runs):
    root = two_runs[0]
    tables = _tables(root)
    ate = tables["ate_preservation"]
    assert {"real", "gaussian_copula", "tvae", "hybrid_gaussian_copula", "hybrid_tvae", "hybrid_real"} <= set(
        ate["generator"]
    )
    assert (ate["status"] == "ok").mean() > 0.8
    assert len(tables["engine"]) and tables["engine"]["coverage"].notna().all()
    assert len(tables["positivity"]) and {"raw", "paired"} <= set(tables["positivity"]["method"])
    for fig in ("ate_by_generator", "tstr_vs_bias", "dcr", "positivity", "engine", "runtime"):
        assert (root / f"results/figures/{fig}.png").stat().st_size > 5000
        assert (root / f"results/figures/{fig}.pdf").exists()
    assert (
        "supported" in (root / "results/findings.md").read_text()
        or "contradicted" in (root / "results/findings.md").read_text()
    )
    prov = json.loads((root / "results/provenance.json").read_text())
    assert prov["versions"]["torch"] and prov["config"]["seed"] == 7
    meta = json.loads((root / "results/hybrid/sim_paper/hybrid_real/rep1/meta.json").read_text())
    assert meta["releasable"] is False


def test_two_fresh_runs_give_identical_tables(two_runs):
    a, b = (_tables(r) for r in two_runs)
    for t in TABLES:
        pd.testing.assert_frame_equal(a[t], b[t], check_exact=True, obj=t)


def test_report_builds(two_runs):
    root = two_runs[0]
    snakemake("--cores", "1", "--configfile", TINY, "--report", "results/report.html", cwd=root)
    html = (root / "results/report.html").read_text(errors="ignore")
    assert len(html) > 10000


def test_killed_run_resumes_without_redoing_finished_jobs(workdir):
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", "--configfile", TINY]
    proc = subprocess.Popen(
        cmd, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    card = workdir / "results/data/sim_paper/card.json"
    deadline = time.time() + 300
    # kill once the first generator has finished, while later jobs are running
    while time.time() < deadline and not list((workdir / "results/synthetic").glob("*/*/rep1/meta.json")):
        time.sleep(0.5)
    # the whole process group, jobs included: as a power cut or an out-of-memory kill would
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    snakemake("--unlock", "--configfile", TINY, cwd=workdir)
    assert card.exists()
    stamp = card.stat().st_mtime_ns
    snakemake("--cores", "2", "--configfile", TINY, cwd=workdir)
    assert card.stat().st_mtime_ns == stamp  # finished jobs are not redone
    assert (workdir / "results/findings.md").exists()
    # nothing half-written was left behind by the kill
    assert not list(workdir.joinpath("results").rglob("*.tmp"))
