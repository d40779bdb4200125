"""The comparison with the papers: settings, agreement decisions, missing sets, the table."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from causalsynth.core.uncertainty import UNDECIDED, Interval, normal_interval, prediction_interval
from causalsynth.report.findings.paper import paper_section
from causalsynth.report.paper.comparison import (
    AGREES,
    COLUMNS,
    DISAGREES,
    agreement,
    compare_with_papers,
    comparison_summary,
    number_scopes,
    read_comparison,
    tolerance,
    write_comparison,
)
from causalsynth.report.paper.numbers import read_paper_numbers
from causalsynth.report.paper.settings import settings_match
from tests.unit.paper_run import CTGAN_RUN_ATE, paper_run, paper_settings


def _without_great(settings: dict) -> dict:
    settings["generators"].pop("great")
    settings["hybrid"]["bases"] = [b for b in settings["hybrid"]["bases"] if b != "great"]
    settings["pairing"]["pool"] = "hybrid_ctgan"
    return settings


def _row(table: pd.DataFrame, **where) -> pd.Series:
    sel = table
    for k, v in where.items():
        sel = sel[sel[k] == v]
    assert len(sel) == 1, (where, sel)
    return sel.iloc[0]


# ----------------------------------------------------------------------------- settings


def test_the_paper_config_has_the_papers_settings_with_the_llm_as_a_caveat():
    match = settings_match(paper_settings())
    assert match.matches, match.describe()
    assert [c.key for c in match.caveats] == ["llm.source"]
    assert match.describe() == "the papers'"


def test_the_default_config_differs_and_says_where():
    match = settings_match(paper_settings("config/config.yaml"))
    assert not match.matches
    keys = {d.key for d in match.differences}
    assert {
        "generators.ctgan.epochs",
        "generators.great.epochs",
        "estimation.learners",
        "hybrid.outcome_model",
    } <= keys
    assert "generators.ctgan.epochs None (the papers': 50)" in match.describe()
    # the real test set's DCR depends on the data alone, which the default config draws as the papers do
    assert settings_match(paper_settings("config/config.yaml"), ["data"]).matches


def test_a_setting_differs_only_in_its_scope_and_an_absent_generator_is_no_difference():
    settings = paper_settings()
    settings["generators"]["great"]["epochs"] = 3
    assert not settings_match(settings, ["great"]).matches
    assert settings_match(settings, ["ctgan", "hybrid", "estimation", "data"]).matches
    assert settings_match(_without_great(paper_settings())).matches


def test_a_number_is_judged_on_the_settings_that_can_move_it():
    numbers = read_paper_numbers()
    llm_hybrid = _row(numbers, figure_id="paper_ate_by_baseline", set="LLM hybrid", estimator="iptw")
    assert set(number_scopes(llm_hybrid)) == {"data", "great", "hybrid", "estimation"}
    holdout_dcr = _row(numbers, figure_id="paper_dcr", generator="holdout", quantity="dcr_median")
    assert number_scopes(holdout_dcr) == ["data"]


# ----------------------------------------------------------------------------- decisions


def test_prediction_interval_is_the_t_interval_for_the_mean_of_m_new_draws():
    values = np.array([1.0, 2.0, 4.0, 5.0])
    iv = prediction_interval(values, m=2)
    half = stats.t.ppf(0.975, 3) * values.std(ddof=1) * math.sqrt(1 / 2 + 1 / 4)
    assert iv.estimate == pytest.approx(3.0)
    assert (iv.low, iv.high) == pytest.approx((3.0 - half, 3.0 + half))
    assert not prediction_interval([1.0]).defined
    assert normal_interval(1.0, 0.5).high == pytest.approx(1.0 + 1.959964 * 0.5)
    assert not normal_interval(1.0, math.nan).defined


@pytest.mark.parametrize(
    ("interval", "expected"),
    [
        (Interval(0.01, -0.02, 0.03), AGREES),  # inside (-0.05, 0.05)
        (Interval(0.30, 0.20, 0.40), DISAGREES),  # wholly beyond 0.05
        (Interval(-0.30, -0.40, -0.20), DISAGREES),
        (Interval(0.04, -0.01, 0.09), UNDECIDED),  # straddles a bound
        (Interval(0.01), UNDECIDED),  # no interval (one replicate)
    ],
)
def test_agreement_is_an_equivalence_decision_on_the_tolerance(interval, expected):
    assert agreement(interval, 0.05) == expected


def test_tolerance_is_absolute_or_relative_by_quantity():
    assert tolerance("ate", 0.42) == 0.05
    assert tolerance("mse", 0.001) == pytest.approx(0.0005)


# ----------------------------------------------------------------------------- the table


def test_a_run_near_the_papers_agrees_and_one_far_from_them_disagrees():
    table = compare_with_papers(paper_run())
    assert list(table.columns) == COLUMNS
    assert len(table) == len(read_paper_numbers())
    hybrid = _row(table, figure="paper_ate_by_baseline", set="LLM hybrid", estimator="iptw")
    assert hybrid["agrees"] == AGREES
    assert hybrid["settings"] == "the papers'"
    assert hybrid["run_low"] < hybrid["this_run"] < hybrid["run_high"]
    assert hybrid["diff_low"] < hybrid["difference"] < hybrid["diff_high"]
    # this run's CTGAN keeps the effect the papers' CTGAN lost: a decided disagreement, with the known reason
    ctgan = _row(table, figure="paper_ate_by_baseline", set="GAN, fully generative", estimator="aipw")
    assert ctgan["agrees"] == DISAGREES
    assert ctgan["this_run"] == pytest.approx(CTGAN_RUN_ATE, abs=0.01)
    assert "declared every column discrete" in ctgan["note"]
    # the engine's numbers come with Monte Carlo intervals
    engine = _row(table, figure="paper_engine", set="GAN pool", estimator="aipw", quantity="variance")
    assert engine["agrees"] == AGREES and engine["run_draws"] == 100
    # the pairing rows read the run's pool
    assert (
        _row(table, figure="paper_ate_by_baseline", set="LLM pairing", estimator="aipw")["agrees"] == AGREES
    )
    counts = comparison_summary(table)
    assert counts[AGREES] > 0 and counts[DISAGREES] > 0 and counts["rows"] == len(table)


def test_one_replicate_decides_nothing():
    table = compare_with_papers(paper_run(reps=1))
    hybrid = _row(table, figure="paper_ate_by_baseline", set="LLM hybrid", estimator="iptw")
    assert np.isfinite(hybrid["this_run"]) and np.isnan(hybrid["run_low"])
    assert hybrid["agrees"] == UNDECIDED
    # the engine's rows carry their own Monte Carlo error: still decided
    assert (
        _row(table, figure="paper_engine", set="LLM pool", estimator="iptw", quantity="bias")["agrees"]
        == AGREES
    )


def test_a_run_without_great_names_what_is_missing_and_does_not_fail():
    settings = _without_great(paper_settings())
    table = compare_with_papers(paper_run(settings=settings, with_great=False))
    llm = table[table["generator"].isin(["great", "hybrid_great"])]
    assert len(llm) > 0
    assert (llm["agrees"] == UNDECIDED).all()
    full = _row(table, figure="paper_ate_by_baseline", set="LLM, fully generative", estimator="iptw")
    assert full["missing"] == "this run has no great set on sim_paper"
    pairing = _row(table, figure="paper_ate_by_baseline", set="LLM pairing", estimator="iptw")
    assert pairing["missing"] == "this run pairs from hybrid_ctgan (pairing.pool), not hybrid_great"
    assert _row(table, figure="paper_engine", set="LLM pool", estimator="aipw", quantity="mse")[
        "missing"
    ] == ("this run has no hybrid_great engine on sim_paper")
    # what the run has is still compared
    assert (
        _row(table, figure="paper_ate_by_baseline", set="GAN pairing", estimator="iptw")["agrees"] == AGREES
    )


def test_settings_that_differ_make_every_number_in_their_scope_undecided():
    settings = paper_settings()
    settings["generators"]["great"]["epochs"] = 2
    table = compare_with_papers(paper_run(settings=settings))
    hybrid = _row(table, figure="paper_ate_by_baseline", set="LLM hybrid", estimator="iptw")
    assert hybrid["agrees"] == UNDECIDED
    assert hybrid["settings"].startswith("differ: generators.great.epochs 2 (the papers': 50)")
    assert np.isfinite(hybrid["difference"])  # the numbers are still shown
    assert (
        _row(table, figure="paper_ate_by_baseline", set="GAN hybrid", estimator="iptw")["settings"]
        == "the papers'"
    )


def test_quantities_no_table_keeps_are_named():
    table = compare_with_papers(paper_run())
    mean = _row(table, figure="paper_dcr", generator="holdout", quantity="dcr_mean")
    assert mean["missing"].startswith("not kept by the run")
    assert mean["agrees"] == UNDECIDED and np.isnan(mean["this_run"])


def _steam_fidelity(values: dict[str, float], reps: int = 10, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        [
            {"dataset": "actg175_steam", "generator": "ctgan", "rep": rep, "metric": metric,
             "value": centre + rng.normal(0, 0.01 * abs(centre)), "real_value": np.nan, "status": "ok"}
            for rep in range(1, reps + 1)
            for metric, centre in values.items()
        ]
    )  # fmt: skip


def test_steams_actg175_numbers_stand_beside_the_fidelity_table_never_judged(tmp_path):
    run = paper_run()
    run.fidelity = _steam_fidelity(
        {"alpha_precision_naive": 0.80, "beta_recall_naive": 0.45, "jsd_pi": 0.83, "u_pehe": 60.0}
    )
    table = compare_with_papers(run)
    steam = table[table["paper"] == "NeurIPS 2025 STEAM"]
    assert len(steam) == 4 and (steam["figure"] == "table").all()
    # the run's values are its replicates' means, with the STEAM value beside them
    jsd = _row(steam, quantity="jsd_pi")
    assert jsd["this_run"] == pytest.approx(0.83, abs=0.005) and jsd["paper_value"] == 0.833
    assert jsd["run_low"] < jsd["this_run"] < jsd["run_high"] and jsd["run_draws"] == 10
    alpha = _row(steam, quantity="alpha_precision")
    assert alpha["this_run"] == pytest.approx(0.80, abs=0.01)
    # close or far, STEAM's implementation is not the run's: undecided, with the reasons
    assert (steam["agrees"] == UNDECIDED).all()
    assert (steam["settings"].str.startswith("differ: generators.ctgan.type ctgan")).all()
    assert "naive variant" in alpha["note"] and "one-class" in alpha["note"]
    assert "rescaled" in _row(steam, quantity="u_pehe")["note"]
    assert steam["note"].str.contains("every row of the design").all()
    # STEAM's scope never reaches the two papers' numbers
    hybrid = _row(table, figure="paper_ate_by_baseline", set="LLM hybrid", estimator="iptw")
    assert hybrid["agrees"] == AGREES and hybrid["settings"] == "the papers'"
    # findings.md: the two papers' section counts their numbers only; STEAM's get their own table
    write_comparison(table, tmp_path / "paper_comparison.csv")
    text = paper_section(read_comparison(tmp_path))
    assert f"each of the papers' {len(table) - 4} numbers" in text and "Settings: the papers'" in text
    steam_part = text[text.index("### STEAM's ACTG 175 numbers") :]
    assert "shown, not judged" in steam_part and "| jsd_pi" in steam_part and "0.833" in steam_part


def test_a_run_without_steams_design_names_it_missing(tmp_path):
    table = compare_with_papers(paper_run())
    steam = table[table["paper"] == "NeurIPS 2025 STEAM"]
    assert (steam["missing"] == "this run has no fidelity table on actg175_steam").all()
    assert steam["this_run"].isna().all()
    run = paper_run()
    run.fidelity = _steam_fidelity({"jsd_pi": 0.8}).assign(generator="tvae")
    missing = compare_with_papers(run).query("quantity == 'jsd_pi' and paper == 'NeurIPS 2025 STEAM'")
    assert missing["missing"].iloc[0] == "this run has no ctgan set on actg175_steam"
    # findings.md says how to get them
    write_comparison(compare_with_papers(paper_run()), tmp_path / "paper_comparison.csv")
    assert "configfile config/steam_actg.yaml" in paper_section(read_comparison(tmp_path))


def test_the_table_round_trips_through_its_files(tmp_path):
    table = compare_with_papers(paper_run())
    write_comparison(table, tmp_path / "paper_comparison.csv", tmp_path / "paper_comparison.md")
    back = read_comparison(tmp_path)
    assert list(back.columns) == COLUMNS and len(back) == len(table)
    assert (back["agrees"] == table["agrees"]).all()
    assert "| figure" in (tmp_path / "paper_comparison.md").read_text()
    assert read_comparison(tmp_path / "elsewhere") is None


# ----------------------------------------------------------------------------- findings.md


def test_the_findings_section_says_where_the_run_agrees_and_where_not_and_why(tmp_path):
    table = compare_with_papers(paper_run())
    write_comparison(table, tmp_path / "paper_comparison.csv")
    text = paper_section(read_comparison(tmp_path))
    agree = text[text.index("### Where this run agrees") : text.index("### Where it does not")]
    disagree = text[text.index("### Where it does not") : text.index("### Undecided")]
    assert "| LLM hybrid" in agree
    assert "GAN, fully generative" in disagree and "declared every column discrete" in disagree
    assert "GAN, fully generative" not in agree
    assert "Settings: the papers'" in text
    counts = comparison_summary(table)
    assert f"Verdicts: {counts[AGREES]} agree, {counts[DISAGREES]} disagree" in text


def test_the_findings_section_names_settings_that_differ_and_a_missing_table():
    settings = paper_settings()
    settings["generators"]["great"]["epochs"] = 2
    text = paper_section(compare_with_papers(paper_run(settings=settings)))
    assert "this run's are not the papers'" in text and "generators.great.epochs 2 (the papers': 50)" in text
    assert "No `paper_comparison` table" in paper_section(None)
