"""The tiny config end to end, twice in fresh directories: once straight through, once killed
half-way and resumed. Both must write every output and give identical tables, and the resumed
run must not redo the jobs that had finished."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from causalsynth.core.vocabulary import (
    FIGURES,
    NOT_RELEASABLE,
    PAPER_FIGURES,
    PRIVACY_METRICS,
    PRIVACY_SETS,
    RELEASE_VERDICTS,
    TABLES,
)
from causalsynth.report.findings import (
    CONTRADICTED,
    INCONCLUSIVE,
    NOT_TESTABLE,
    NOT_TESTED,
    SUPPORTED,
    build_findings,
)
from causalsynth.report.paper.comparison import read_comparison
from causalsynth.report.paper.numbers import read_paper_numbers

from .conftest import TINY, copy_workflow, snakemake
from .conftest import read_tables as _tables

pytestmark = [pytest.mark.workflow, pytest.mark.slow]


def _killed_then_resumed(root):
    """Kill the whole process group once the first generator has finished, as a power cut or
    an out-of-memory kill would; then unlock and run again. Returns the mtimes of the outputs
    that existed before the kill, before and after the resumed run."""
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", "--configfile", TINY]
    proc = subprocess.Popen(
        cmd, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.time() + 600
    while time.time() < deadline and not list((root / "results/synthetic").glob("*/*/rep1/meta.json")):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = sorted((root / "results/data").glob("*/rep*/card.json"))
    before = {p: p.stat().st_mtime_ns for p in finished}
    snakemake("--unlock", "--configfile", TINY, cwd=root)
    snakemake("--cores", "2", "--configfile", TINY, cwd=root)
    after = {p: p.stat().st_mtime_ns for p in finished}
    return before, after


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_local_run):
    straight = tiny_local_run
    resumed = copy_workflow(tmp_path_factory.mktemp("resumed"))
    before, after = _killed_then_resumed(resumed)
    return straight, resumed, before, after


def test_tiny_run_writes_every_output(runs):
    root = runs[0]
    tables = _tables(root)
    ate = tables["ate_preservation"]
    assert {"real", "gaussian_copula", "tvae", "hybrid_gaussian_copula", "hybrid_tvae", "hybrid_real"} <= set(
        ate["generator"]
    )
    assert (ate["status"] == "ok").mean() > 0.8
    assert len(tables["engine"]) and tables["engine"]["coverage"].notna().all()
    assert {"raw", "truncated", "clipped", "paired"} <= set(tables["positivity"]["method"])
    # every releasable set is attacked: base generators before and after the DCR filter,
    # hybrids on their filtered covariates; the hybrid_real oracle is never released
    privacy = tables["privacy"]
    sets = set(zip(privacy["dataset"], privacy["generator"], privacy["set"], strict=True))
    expected = {
        (d, g, s)
        for d in ("sim_paper", "sim_continuous")
        for g, s in [(b, s) for b in ("gaussian_copula", "tvae") for s in PRIVACY_SETS]
        + [("hybrid_gaussian_copula", "filtered"), ("hybrid_tvae", "filtered")]
    }
    assert sets == expected
    per_set = privacy.groupby(["dataset", "generator", "set"])["metric"].agg(set)
    assert (per_set == set(PRIVACY_METRICS)).all()
    assert (privacy["status"] == "ok").all() and privacy["value"].notna().all()
    # the release gate's verdict on every set, the same on each of its rows, with its reason; the
    # unfiltered sets are never released, and a hybrid is refused with its refused base
    assert privacy["releasable"].isin(RELEASE_VERDICTS).all()
    per_set = privacy.groupby(["dataset", "generator", "rep", "set"])
    assert (per_set[["releasable", "release_reason"]].nunique() == 1).all().all()
    assert privacy["release_reason"].str.len().gt(0).all()
    assert (privacy.loc[privacy["set"] == "unfiltered", "releasable"] == NOT_RELEASABLE).all()
    verdict = per_set["releasable"].first()
    for (d, g, r, _), v in verdict.items():
        if (
            g.startswith("hybrid_")
            and verdict[(d, g.removeprefix("hybrid_"), r, "filtered")] == NOT_RELEASABLE
        ):
            assert v == NOT_RELEASABLE, (d, g, r)
    release = json.loads((root / "results/privacy/sim_paper/release.json").read_text())
    assert release["counts"] == {
        v: int((verdict.xs("sim_paper", level="dataset") == v).sum()) for v in RELEASE_VERDICTS
    }
    # fidelity of every released set, base and hybrid, with STEAM's mechanism metrics
    fid = tables["fidelity"]
    released = ate.loc[ate["generator"] != "real", ["dataset", "generator", "rep"]].drop_duplicates()
    scored = fid[["dataset", "generator", "rep"]].drop_duplicates()
    assert len(released.merge(scored)) == len(released)
    metrics = set(fid["metric"])
    for part in ("alpha", "beta", "jsd", "pehe", "c2st", "shape", "trend", "treatment_share"):
        assert any(part in m for m in metrics), part
    assert fid.loc[fid["metric"] == "c2st_auc", "real_value"].between(0.3, 0.7).all()
    # every set's extremes of each continuous column beside the training rows' (card.json's fences)
    extremes = fid[fid["metric"].str.startswith("extreme_share:")]
    checked = {"sim_paper": {"W4", "W5", "W6"}, "sim_continuous": {"Y", "W3", "W4", "W5"}}
    for d, columns in checked.items():
        assert set(extremes.loc[extremes["dataset"] == d, "metric"]) == {
            f"extreme_share:{c}" for c in columns
        }
    assert len(extremes[["dataset", "generator", "rep"]].drop_duplicates()) == len(released)
    assert (extremes["status"] == "ok").all() and extremes[["value", "real_value"]].notna().all().all()
    iu = tables["inferential_utility"]
    assert {"real", "hybrid_real", "gaussian_copula"} <= set(iu["generator"])
    assert set(iu["n_rows"]) == {100, 300} and (iu["reps"] > 0).any()
    assert iu.loc[iu["reps"] > 0, "coverage"].between(0, 1).all()
    for fig in (*FIGURES, *PAPER_FIGURES):
        assert (root / f"results/figures/{fig}.png").stat().st_size > 5000
        assert (root / f"results/figures/{fig}.pdf").exists()
    # the papers' numbers beside the run's: the tiny settings are not the papers', so nothing is judged
    comparison = read_comparison(root / "results/tables")
    assert len(comparison) == len(read_paper_numbers())
    assert (comparison["agrees"] == "undecided").all()
    assert comparison["settings"].str.startswith("differ").any()
    assert "## Beside the papers" in (root / "results/findings.md").read_text()
    # findings.md states, claim by claim, the verdict its rule gives on this run's own tables
    findings = (root / "results/findings.md").read_text()
    _, claims = build_findings(root / "results/tables")
    assert [c.key for c in claims] == list("abcdefg")
    for c in claims:
        assert c.verdict in (SUPPORTED, CONTRADICTED, INCONCLUSIVE, NOT_TESTABLE, NOT_TESTED)
        assert f"| ({c.key}) {c.title} | {c.verdict} |" in re.sub(r" {2,}", " ", findings)
    # two replicates of two datasets: the primary tests run, not only list the claims
    tested = [c for c in claims if c.verdict in (SUPPORTED, CONTRADICTED, INCONCLUSIVE)]
    assert {"b", "f"} <= {c.key for c in tested}
    assert all(0 <= c.primary.p <= c.primary.p_holm <= 1 for c in tested)
    prov = json.loads((root / "results/provenance.json").read_text())
    assert prov["versions"]["torch"] and prov["config"]["seed"] == 7
    # each set's verdict beside its meta.json's contents
    base_meta = prov["jobs"]["results/synthetic/sim_paper/tvae/rep1/meta.json"]["release"]
    assert set(base_meta) == set(PRIVACY_SETS)
    assert base_meta["filtered"]["releasable"] == verdict[("sim_paper", "tvae", 1, "filtered")]
    meta = json.loads((root / "results/hybrid/sim_paper/hybrid_real/rep1/meta.json").read_text())
    assert meta["releasable"] is False and meta["git_commit"]
    assert meta["mechanisms"]["shared"] is False  # the oracle cross-fits its own models
    # the base hybrids of one replicate use the one model fitted for it
    shared = {
        json.loads((root / f"results/hybrid/sim_paper/{h}/rep1/meta.json").read_text())["mechanisms"]["path"]
        for h in ("hybrid_gaussian_copula", "hybrid_tvae")
    }
    assert shared == {"results/hybrid/sim_paper/mechanisms/rep1/model.joblib"}


def test_resumed_run_equals_the_straight_run(runs):
    straight, resumed, _, _ = runs
    a, b = _tables(straight), _tables(resumed)
    for t in TABLES:
        pd.testing.assert_frame_equal(a[t], b[t], check_exact=True, obj=t)


def test_resume_keeps_finished_jobs_and_leaves_no_partial_file(runs):
    _, resumed, before, after = runs
    assert before and before == after  # finished jobs were not redone
    assert not list((resumed / "results").rglob("*.tmp"))


def test_report_builds(runs):
    root = runs[0]
    snakemake("--cores", "1", "--configfile", TINY, "--report", "results/report.html", cwd=root)
    html = (root / "results/report.html").read_text(errors="ignore")
    assert len(html) > 10000
    # it opens on the front page the findings rule wrote, with each claim's headline
    assert "does synthetic tabular data keep the average treatment effect" in html
    assert "(b) Hybrid beats fully generative" in html
