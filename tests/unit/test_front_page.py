"""The report's front page: valid reStructuredText naming the run's datasets, generators and each
claim's verdict with its primary test."""

from __future__ import annotations

import numpy as np
import pandas as pd
from docutils.core import publish_parts

from causalsynth.report.findings import NOT_TESTABLE, write_findings
from causalsynth.report.front_page import front_page

DATASETS = {"sim_a": 1.0, "sim_b": 2.0, "sim_c": 3.0}


def _ate(tmp_path) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = []
    for d, truth in DATASETS.items():
        for rep in (1, 2, 3):
            real = truth + 0.05 * rng.standard_normal()
            for g, err in (("real", 0.0), ("ctgan", 0.4), ("hybrid_ctgan", 0.1)):
                ate = real + err * truth * (1 + 0.1 * rng.standard_normal())
                rows.append(
                    {"dataset": d, "generator": g, "rep": rep, "estimator": "aipw", "learner": "linear",
                     "ate": ate, "se": 0.05, "ci_low": ate - 0.1, "ci_high": ate + 0.1, "truth": truth, "truth_kind": "exact", "real_ate": real, "status": "ok"}
                )  # fmt: skip
    ate = pd.DataFrame(rows)
    (tmp_path / "tables").mkdir()
    ate.to_csv(tmp_path / "tables" / "ate_preservation.csv", index=False)
    return ate


def test_front_page_renders_and_names_the_run(tmp_path):
    ate = _ate(tmp_path)
    claims = write_findings(tmp_path / "tables", tmp_path / "findings.md", tmp_path / "front.rst")
    text = (tmp_path / "front.rst").read_text()
    assert text == front_page(ate, claims)
    # docutils raises at a warning (a short underline, a broken list), as the report would show it
    html = publish_parts(text, writer="html", settings_overrides={"halt_level": 2})["html_body"]
    assert "does synthetic tabular data keep" in html
    for d in DATASETS:
        assert f"{d}</tt>: truth exact, 3 replicate(s)" in html
    assert "ctgan" in html and "hybrid_ctgan" in html
    by_key = {c.key: c for c in claims}
    b = by_key["b"]
    assert b.verdict == "supported" and f"<strong>(b) {b.title}</strong>: supported. Geometric" in html
    # a claim this table cannot test says so, with the reason, not a number
    c = by_key["c"]
    assert f"(c) {c.title}</strong>: " in html and c.verdict != "supported"
    assert NOT_TESTABLE in text or "not tested in this run" in text


def test_front_page_names_the_sets_the_release_gate_holds_back(tmp_path):
    ate = _ate(tmp_path)
    claims = write_findings(tmp_path / "tables", tmp_path / "findings.md")
    assert "no set was gated in this run" in front_page(ate, claims)
    rows = [
        {"dataset": d, "generator": g, "rep": rep, "set": s, "metric": "linkability_risk", "releasable": v}
        for d in DATASETS
        for rep in (1, 2, 3)
        for g, s, v in (
            ("ctgan", "unfiltered", "no"),
            ("ctgan", "filtered", "no" if (d, rep) in {("sim_a", 1), ("sim_a", 3)} else "yes"),
            ("hybrid_ctgan", "filtered", "not assessed" if (d, rep) == ("sim_b", 2) else "yes"),
        )
    ]
    privacy = pd.DataFrame(rows).assign(release_reason="why")
    text = front_page(ate, claims, privacy)
    html = publish_parts(text, writer="html", settings_overrides={"halt_level": 2})["html_body"]
    assert "Release gate" in html
    assert "18 set(s) offered for release (each base's DCR-filtered set, each hybrid): 15 releasable" in text
    assert "not releasable: 2: ``ctgan`` in ``sim_a`` (replicate 1, 3)" in text
    assert "not assessed: 1: ``hybrid_ctgan`` in ``sim_b`` (replicate 2)" in text
