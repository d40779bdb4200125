"""The release gate (privacy.gate): each threshold over and under its limit, thresholds turned
off, sets it cannot assess, and hybrids that carry their base's verdict. Hand-made privacy rows,
no attack is run."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from causalsynth.core.errors import ConfigError
from causalsynth.core.schema import SCHEMA_PATH, section_defaults
from causalsynth.core.vocabulary import NOT_ASSESSED, NOT_RELEASABLE, RELEASABLE
from causalsynth.privacy.gate import (
    THRESHOLDS,
    check_set,
    release_record,
    release_thresholds,
    release_verdicts,
    set_verdict,
    with_verdicts,
)

DEFAULTS = section_defaults("privacy.release")
ALL_ON = {**DEFAULTS, "nndr_shortfall": 0.1}


def metric_rows(**overrides: dict) -> dict[str, dict]:
    """A set's rows (metric -> row) that sit well inside every default limit; ``overrides``
    replace fields of one metric's row."""
    rows = {
        m: {"metric": m, "value": 0.01, "ci_low": 0.0, "ci_high": 0.05, "baseline": 0.0, "status": "ok"}
        for m in ("singling_out_risk", "linkability_risk", "inference_risk")
    }
    rows["dcr_share"] = {
        "metric": "dcr_share",
        "value": 0.5,
        "ci_low": 0.47,
        "ci_high": 0.53,
        "baseline": 0.5,
    }
    rows["nndr"] = {"metric": "nndr", "value": 0.9, "ci_low": 0.88, "ci_high": 0.92, "baseline": 0.9}
    rows["dcr_share"]["status"] = rows["nndr"]["status"] = "ok"
    for metric, fields in overrides.items():
        rows[metric] = {**rows[metric], **fields}
    return rows


def verdict_of(rows, thresholds=ALL_ON, set_name="filtered", base=None):
    return set_verdict(check_set(rows, thresholds), set_name, base)


def test_every_threshold_is_a_documented_schema_key():
    schema = yaml.safe_load(SCHEMA_PATH.read_text())
    release = schema["properties"]["privacy"]["properties"]["release"]["properties"]
    assert [t.key for t in THRESHOLDS] == list(release)
    assert DEFAULTS == {
        "singling_out_risk": 0.2,
        "linkability_risk": 0.2,
        "inference_risk": 0.2,
        "dcr_share_excess": 0.1,
        "nndr_shortfall": None,
    }


def test_a_set_inside_every_limit_is_releasable_and_says_each_value():
    v = verdict_of(metric_rows())
    assert v.releasable == RELEASABLE
    assert v.reason.startswith("within every threshold: singling_out_risk upper 95% bound 0.050 <= 0.2")
    assert "dcr_share upper 95% bound 0.530 minus its baseline 0.500 = 0.030 <= 0.1" in v.reason
    assert "nndr baseline 0.900 minus its lower 95% bound 0.880 = 0.020 <= 0.1" in v.reason
    assert [c.outcome for c in v.checks] == ["within"] * 5


@pytest.mark.parametrize(
    "metric, fields, text",
    [
        ("singling_out_risk", {"ci_high": 0.21}, "singling_out_risk upper 95% bound 0.210 > 0.2"),
        ("linkability_risk", {"ci_high": 0.35}, "linkability_risk upper 95% bound 0.350 > 0.2"),
        ("inference_risk", {"ci_high": 0.5}, "inference_risk upper 95% bound 0.500 > 0.2"),
        # a 70/30 split: the baseline is 0.7, and 0.81 is 0.11 above it
        ("dcr_share", {"ci_high": 0.81, "baseline": 0.7}, "dcr_share upper 95% bound 0.810 minus its baseline 0.700 = 0.110 > 0.1"),
        ("nndr", {"ci_low": 0.7}, "nndr baseline 0.900 minus its lower 95% bound 0.700 = 0.200 > 0.1"),
    ],
)  # fmt: skip
def test_each_threshold_refuses_a_set_over_it_and_names_value_and_limit(metric, fields, text):
    v = verdict_of(metric_rows(**{metric: fields}))
    assert v.releasable == NOT_RELEASABLE
    assert v.reason == f"over: {text}"
    assert [c.metric for c in v.checks if c.outcome == "over"] == [metric]


@pytest.mark.parametrize(
    "metric, fields",
    [
        ("linkability_risk", {"ci_high": 0.2}),  # at the limit: not over it
        ("dcr_share", {"ci_high": 0.6, "baseline": 0.5}),
        ("dcr_share", {"ci_high": 0.4, "baseline": 0.7}),  # below its baseline: no excess
        ("nndr", {"ci_low": 0.8}),
    ],
)
def test_a_value_at_or_under_its_limit_passes(metric, fields):
    assert verdict_of(metric_rows(**{metric: fields})).releasable == RELEASABLE


def test_the_riskier_end_of_the_interval_decides_not_the_estimate():
    # a risk estimated at 0.05 whose interval reaches 0.3: the data do not place it below 0.2
    assert (
        verdict_of(metric_rows(inference_risk={"value": 0.05, "ci_high": 0.3})).releasable == NOT_RELEASABLE
    )


def test_a_threshold_turned_off_is_not_checked():
    rows = metric_rows(inference_risk={"ci_high": 0.9}, nndr={"ci_low": 0.1})
    assert (
        verdict_of(rows, {**ALL_ON, "inference_risk": None, "nndr_shortfall": None}).releasable == RELEASABLE
    )
    assert verdict_of(rows, DEFAULTS).releasable == NOT_RELEASABLE  # inference is on by default
    assert "nndr" not in verdict_of(rows, DEFAULTS).reason  # nndr is off by default


def test_every_threshold_off_leaves_only_the_dcr_screen():
    off = dict.fromkeys(DEFAULTS)
    v = verdict_of(metric_rows(linkability_risk={"ci_high": 1.0}), off)
    assert v.releasable == RELEASABLE and v.checks == ()
    assert v.reason == "every privacy.release threshold is off: only the DCR screen applies"
    assert verdict_of(metric_rows(), off, set_name="unfiltered").releasable == NOT_RELEASABLE


def test_the_unfiltered_set_is_never_releasable():
    v = verdict_of(metric_rows(), set_name="unfiltered")
    assert v.releasable == NOT_RELEASABLE
    assert v.reason == (
        "not screened by the DCR filter (the release is its filtered set); "
        "its own measurements are within every threshold"
    )


def test_a_set_the_attacks_could_not_score_is_not_assessed():
    small = "holdout too small: 30 rows, the attacks need at least 50 (privacy.min_control_rows) as their control set"
    rows = metric_rows(
        **{m: {"status": small, "ci_high": float("nan")} for m in ("linkability_risk", "inference_risk")}
    )
    v = verdict_of(rows)
    assert v.releasable == NOT_ASSESSED
    assert f"linkability_risk not scored ({small})" in v.reason
    assert [c.outcome for c in v.checks].count("not scored") == 2
    # an ok row without an interval, and a metric with no row at all, are not scored either
    no_interval = verdict_of(metric_rows(singling_out_risk={"ci_high": None}))
    assert (
        no_interval.releasable == NOT_ASSESSED
        and "singling_out_risk not scored (no interval)" in no_interval.reason
    )
    rows = metric_rows()
    del rows["dcr_share"]
    assert verdict_of(rows).reason.endswith("dcr_share not scored (no row)")


def test_a_breach_decides_even_beside_a_metric_not_scored():
    rows = metric_rows(linkability_risk={"status": "failed: ValueError: x"}, inference_risk={"ci_high": 0.4})
    v = verdict_of(rows)
    assert v.releasable == NOT_RELEASABLE
    assert (
        "over: inference_risk" in v.reason
        and "linkability_risk not scored (failed: ValueError: x)" in v.reason
    )


def test_a_hybrid_carries_its_bases_verdict():
    base_no = verdict_of(metric_rows(dcr_share={"ci_high": 0.9}))
    base_yes = verdict_of(metric_rows())
    base_unsure = verdict_of(metric_rows(nndr={"status": "needs at least two training rows"}))
    clean = metric_rows()
    v = verdict_of(clean, base=("ctgan", base_no))
    assert v.releasable == NOT_RELEASABLE and v.base == "ctgan" and v.base_releasable == NOT_RELEASABLE
    assert "its base ctgan is not releasable (over: dcr_share upper 95% bound 0.900" in v.reason
    v = verdict_of(clean, base=("ctgan", base_yes))
    assert v.releasable == RELEASABLE and v.reason.endswith("<= 0.1; its base ctgan is releasable")
    assert v.reason.startswith("within every threshold: ")
    v = verdict_of(clean, base=("ctgan", base_unsure))
    assert v.releasable == NOT_ASSESSED and "its base ctgan is not assessed (nndr not scored" in v.reason
    v = verdict_of(clean, base=("ctgan", None))
    assert v.releasable == NOT_ASSESSED and v.base_releasable is None
    assert "its base ctgan's filtered set of this replicate was not attacked" in v.reason
    # the hybrid's own breach refuses it whatever its base
    assert (
        verdict_of(metric_rows(inference_risk={"ci_high": 0.3}), base=("ctgan", base_yes)).releasable
        == NOT_RELEASABLE
    )


def table_of(sets: dict[tuple[str, int, str], dict[str, dict]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"generator": g, "rep": r, "set": s, **row}
            for (g, r, s), rows in sets.items()
            for row in rows.values()
        ]
    )


def test_release_verdicts_pair_a_hybrid_with_its_base_of_the_same_replicate():
    leaky = metric_rows(inference_risk={"ci_high": 0.6})
    table = table_of(
        {
            # the hybrid first: the order of the rows does not matter
            ("hybrid_ctgan", 1, "filtered"): metric_rows(),
            ("hybrid_ctgan", 2, "filtered"): metric_rows(),
            ("ctgan", 1, "unfiltered"): leaky,
            ("ctgan", 1, "filtered"): leaky,
            ("ctgan", 2, "unfiltered"): metric_rows(),
            ("ctgan", 2, "filtered"): metric_rows(),
            ("hybrid_tvae", 1, "filtered"): metric_rows(),
        }
    )
    verdicts = release_verdicts(table, DEFAULTS)
    got = {k: v.releasable for k, v in verdicts.items()}
    assert got == {
        ("ctgan", 1, "unfiltered"): NOT_RELEASABLE,
        ("ctgan", 1, "filtered"): NOT_RELEASABLE,
        ("ctgan", 2, "unfiltered"): NOT_RELEASABLE,
        ("ctgan", 2, "filtered"): RELEASABLE,
        ("hybrid_ctgan", 1, "filtered"): NOT_RELEASABLE,
        ("hybrid_ctgan", 2, "filtered"): RELEASABLE,
        ("hybrid_tvae", 1, "filtered"): NOT_ASSESSED,  # its base was not attacked
    }
    marked = with_verdicts(table, verdicts)
    assert len(marked) == len(table)
    assert marked.groupby(["generator", "rep", "set"])["releasable"].nunique().eq(1).all()
    row = marked[(marked["generator"] == "hybrid_ctgan") & (marked["rep"] == 1)].iloc[0]
    assert row["release_reason"] == (
        "its base ctgan is not releasable (over: inference_risk upper 95% bound 0.600 > 0.2); "
        "its own measurements are within every threshold"
    )

    files = {k: (f"{k[0]}/rep{k[1]}/{k[2]}.parquet", f"{k[0]}/rep{k[1]}/meta.json") for k in verdicts}
    record = json.loads(json.dumps(release_record("toy", verdicts, DEFAULTS, files)))  # JSON-safe
    assert record["counts"] == {RELEASABLE: 2, NOT_RELEASABLE: 4, NOT_ASSESSED: 1}
    assert record["thresholds"] == DEFAULTS
    hybrid = next(s for s in record["sets"] if s["generator"] == "hybrid_ctgan" and s["rep"] == 1)
    assert hybrid["base"] == "ctgan" and hybrid["base_releasable"] == NOT_RELEASABLE
    assert hybrid["meta"] == "hybrid_ctgan/rep1/meta.json" and len(hybrid["checks"]) == 4


@pytest.mark.parametrize(
    "params, message",
    [
        ({"linkability_risk": 1.5}, "privacy.release.linkability_risk must be a number from 0 to 1, or null to turn it off; got 1.5"),
        ({"inference_risk": -0.1}, "privacy.release.inference_risk must be a number from 0 to 1, or null to turn it off; got -0.1"),
        ({"dcr_share_excess": "high"}, "privacy.release.dcr_share_excess must be a number from 0 to 1, or null to turn it off; got 'high'"),
        ({"singling_out_risk": True}, "privacy.release.singling_out_risk must be a number from 0 to 1"),
        ({"linkability": 0.1}, r"unknown param(s) ['linkability']; valid params: ['dcr_share_excess', "),
    ],
)  # fmt: skip
def test_a_bad_threshold_is_one_line_naming_the_key(params, message):
    with pytest.raises(ConfigError) as err:
        release_thresholds(params, "run_privacy_attacks")
    assert message in str(err.value) and "\n" not in str(err.value)
    assert str(err.value).startswith("run_privacy_attacks: ")
