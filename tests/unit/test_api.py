"""The notebook API: judge() runs the workflow's stage functions on tables in memory."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import causalsynth
from causalsynth.api import Judgement, judge, prepare
from causalsynth.api.inputs import in_call_terms
from causalsynth.core.errors import ComponentFailure, ConfigError, DataError
from causalsynth.core.io import read_parquet, write_parquet
from causalsynth.core.seeds import derive_seed
from causalsynth.core.vocabulary import PRIVACY_METRICS, REAL
from causalsynth.data import prepare_dataset
from causalsynth.estimate.real import run_real_estimates
from causalsynth.evaluate.fidelity import METRICS
from tests.unit.conftest import generator_table

ROOT = Path(__file__).resolve().parents[2]
ROLES = dict(treatment="A", outcome="Y", covariates=["w_bin", "w_cat", "w_cont"])
ESTIMATORS = ["iptw", "aipw"]
SETTINGS = {"estimation": {"folds": 2}, "tstr": {"learner": "linear"}, "fidelity": {"c2st_learner": "linear"}}
SEED, NAME = 5, "toy"


@pytest.fixture(scope="module")
def real() -> pd.DataFrame:
    return generator_table(300, seed=11)  # Y = 1 + 2 A + w_cont + noise


@pytest.fixture(scope="module")
def judged(real) -> Judgement:
    data = prepare(real, **ROLES, seed=SEED, name=NAME)
    # a copy of the training rows, and an independent draw of the same process (a perfect generator)
    sets = {"copy": data.train.copy(), "fresh": generator_table(len(data.train), seed=12)}
    return judge(
        real, sets, **ROLES, seed=SEED, name=NAME, estimators=ESTIMATORS, learner="linear", settings=SETTINGS
    )


def test_the_result_holds_every_table(judged):
    assert judged.set_names == ["copy", "fresh"]
    ate = judged.ate
    assert list(ate.columns[:7]) == ["set", "estimator", "learner", "ate", "se", "ci_low", "ci_high"]
    assert sorted(zip(ate["set"], ate["estimator"], strict=True)) == sorted(
        (s, e) for s in (REAL, "copy", "fresh") for e in ESTIMATORS
    )
    assert (ate["status"] == "ok").all()
    assert (ate["ci_low"] < ate["ate"]).all() and (ate["ate"] < ate["ci_high"]).all()
    # the process's effect is 2: the real rows and the fresh draw find it within their intervals
    for s in (REAL, "fresh"):
        rows = ate[ate["set"] == s]
        assert ((rows["ci_low"] < 2.0) & (2.0 < rows["ci_high"])).all(), rows
    assert set(judged.fidelity["metric"]) == set(METRICS)
    assert set(judged.privacy["metric"]) == set(PRIVACY_METRICS)
    assert (judged.privacy["status"] == "ok").all(), judged.privacy[["metric", "status"]]
    assert set(judged.privacy["verdict"]) <= {"riskier", "not riskier", "undecided"}
    assert list(judged.tstr["set"]) == ["copy", "fresh"] and (judged.tstr["metric"] == "r2").all()
    assert list(judged.sets["n_evaluated"]) == [len(judged.data.train)] * 2
    assert judged.settings["seed"] == SEED and judged.settings["estimation"]["estimators"] == ESTIMATORS


def test_the_real_rows_are_the_workflows(judged, real, tmp_path):
    # prepare_dataset on the same table as a csv dataset, with the seed the workflow derives for
    # replicate 1 of dataset NAME, then estimate_real's entry function on its files
    path = tmp_path / "real.parquet"
    write_parquet(real, path)
    options = {"loader": "csv", "path": str(path), **ROLES}
    data_seed = derive_seed(SEED, "data", NAME, rep=1)
    out = {k: tmp_path / f"{k}.parquet" for k in ("train", "holdout", "positivity")}
    prepare_dataset(
        NAME, options, data_seed, out["train"], out["holdout"], tmp_path / "card.json", out["positivity"]
    )
    pd.testing.assert_frame_equal(read_parquet(out["train"]), judged.data.train)
    pd.testing.assert_frame_equal(read_parquet(out["holdout"]), judged.data.holdout)
    params = {"estimators": ESTIMATORS, "learners": ["linear"], "folds": 2}
    estimate_seed = derive_seed(SEED, "estimate", NAME, rep=1)
    workflow = run_real_estimates(
        out["train"], tmp_path / "card.json", params, estimate_seed, 1, tmp_path / "est.parquet", NAME, 1
    )
    mine = judged.ate[judged.ate["set"] == REAL].reset_index(drop=True)
    for col in ("estimator", "learner", "ate", "se", "ci_low", "ci_high"):
        assert list(mine[col]) == list(workflow[col]), col  # bit for bit


def test_a_copy_of_the_training_rows_keeps_the_effect_and_is_flagged(judged):
    pres = judged.preservation.set_index(["set", "estimator"])
    assert (pres.loc["copy", "error"] == 0.0).all()
    assert (pres.loc["copy", "verdict"] == "undecided").all()
    assert (pres.loc["fresh", "abs_error"] > 0).all()
    summary = judged.preservation_summary.set_index("set")
    assert summary.loc["copy", "max_abs_error"] == 0.0
    assert summary.loc["fresh", "n_estimates"] == len(ESTIMATORS)
    dcr = judged.dcr.set_index("set")
    assert dcr.loc["copy", "share_exact_copies"] == 1.0
    assert dcr.loc["copy", "share_near_copies"] == 1.0
    assert dcr.loc["fresh", "share_exact_copies"] == 0.0
    privacy = judged.privacy.set_index(["set", "metric"])
    assert privacy.loc[("copy", "dcr_share"), "verdict"] == "riskier"
    assert privacy.loc[("copy", "dcr_share"), "value"] > 0.95
    assert privacy.loc[("copy", "nndr"), "verdict"] == "riskier"
    assert privacy.loc[("fresh", "dcr_share"), "verdict"] != "riskier"
    # the copy's fidelity metrics that compare columns equal the real sample's, which is itself
    fid = judged.fidelity.set_index(["set", "metric"])
    for metric in ("treatment_share", "outcome_mean_treated", "outcome_mean_control", "shape_ks"):
        assert fid.loc[("copy", metric), "value"] == pytest.approx(fid.loc[("copy", metric), "real_value"])


def test_the_summary_is_one_paragraph_and_the_plot_a_figure(judged):
    from matplotlib.figure import Figure

    text = judged.summary()
    assert "\n" not in text
    for name in ("'toy'", "'copy'", "'fresh'", "DCR share", "singling out"):
        assert name in text
    assert "riskier than the holdout control" in text  # the copy
    fig = judged.plot()
    assert isinstance(fig, Figure)
    (ax,) = fig.axes  # one learner, one panel
    assert [t.get_text() for t in ax.get_xticklabels()] == ESTIMATORS
    assert len(ax.collections) >= len(ESTIMATORS)  # the real intervals, shaded
    assert text in judged._repr_html_().replace("&#x27;", "'")
    assert repr(judged).startswith("<Judgement of 2 synthetic set(s)")


def test_files_and_a_filtered_release(judged, real, tmp_path):
    write_parquet(real, tmp_path / "real.parquet")
    write_parquet(judged.data.train, tmp_path / "copy.parquet")
    fresh = generator_table(len(judged.data.train), seed=12)
    fresh.to_csv(tmp_path / "fresh.csv", index=False)
    kwargs = dict(**ROLES, seed=SEED, name=NAME, estimators=["iptw"], learner="linear", settings=SETTINGS)
    res = judge(
        tmp_path / "real.parquet", {"fresh": tmp_path / "fresh.csv"}, **kwargs, attacks=False, dcr_filter=True
    )
    assert res.privacy.empty and "no attacks were run" in res.summary()
    assert "dropped" not in res.summary()  # nothing was
    sets = res.sets.set_index("set")
    assert sets.loc["fresh", "evaluated"] == "DCR-filtered"
    assert sets.loc["fresh", "source"].startswith("file '")
    same = judged.ate[judged.ate["estimator"] == "iptw"]
    mine = res.ate[res.ate["estimator"] == "iptw"]
    real_ate = same.loc[same["set"] == REAL, "ate"].item()
    assert mine.loc[mine["set"] == REAL, "ate"].item() == real_ate
    # the fresh set keeps the rows the screen does not flag; its estimate is the grid's on them
    kept = sets.loc["fresh", "n_evaluated"]
    assert 0 < kept == round(len(fresh) * (1 - res.dcr.set_index("set").loc["fresh", "share_near_copies"]))
    # a copy has nothing left after the filter: one line saying so, not a failure downstream
    with pytest.raises(ComponentFailure, match="synthetic set 'copy': the DCR filter leaves 0 of its"):
        judge(real, {"copy": tmp_path / "copy.parquet"}, **kwargs, attacks=False, dcr_filter=True)


def test_bad_input_is_one_line_naming_the_table_the_column_and_the_fix(real, judged):
    with pytest.raises(DataError) as info:
        judge(real, judged.data.train, treatment="A", outcome="Y", covariates=["w_bin", "w_cat", "w_cnt"])
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("<real DataFrame>, column 'w_cnt': column not found")
    assert "Fix: correct the column name in the call" in message

    broken = judged.data.train.drop(columns=["w_cont"]).assign(Y=np.nan)
    with pytest.raises(
        DataError, match=r"^<synthetic DataFrame 'vendor'>, column 'w_cont': column not found"
    ):
        judge(real, {"vendor": broken}, **ROLES, seed=SEED, name=NAME)
    missing = judged.data.train.assign(Y=np.where(np.arange(len(judged.data.train)) == 3, np.nan, 1.0))
    with pytest.raises(DataError, match=r"column 'Y': 1 missing value.*options=\{'missing': 'drop'\}"):
        judge(real, {"vendor": missing}, **ROLES, seed=SEED, name=NAME)
    coded = real.assign(A=real["A"].map({1: "yes", 0: "no"}))
    with pytest.raises(DataError, match=r"options=\{'treatment_values': \{treated"):
        prepare(coded, **ROLES, seed=SEED)
    with pytest.raises(ConfigError, match="set name 'real' is not allowed"):
        judge(real, {REAL: judged.data.train}, **ROLES)
    with pytest.raises(ConfigError, match=r"unknown settings block\(s\) \['estimaton'\]"):
        judge(real, judged.data.train, **ROLES, settings={"estimaton": {}})


def test_rows_the_checks_drop_are_counted(real, judged):
    vendor = judged.data.train.copy()
    vendor.loc[[0, 1], "w_cat"] = "east"  # a level the training rows lack
    vendor.loc[2, "w_cont"] = np.nan
    res = judge(
        real, {"vendor": vendor}, **ROLES, seed=SEED, name=NAME, estimators=["iptw"], learner="linear",
        settings=SETTINGS, attacks=False, options={"missing": "drop"},
    )  # fmt: skip
    info = res.sets.set_index("set").loc["vendor"]
    assert (info["n_rows"], info["n_dropped"], info["n_evaluated"]) == (len(vendor), 3, len(vendor) - 3)
    assert info["dropped"] == {"nan": 1, "unknown_category": 2}
    assert "the input checks dropped 3 of" in res.summary()


def test_config_phrasing_becomes_the_calls():
    exc = DataError(
        "<real DataFrame>",
        "Y",
        "3 missing value(s)",
        "set `missing: drop` for this dataset, or name `treatment:` in the config",
    )
    assert (
        in_call_terms(exc, table=True).fix
        == "set options={'missing': 'drop'}, or name treatment= in the call"
    )


def test_judge_is_exported_lazily():
    assert causalsynth.judge is judge and causalsynth.prepare is prepare
    with pytest.raises(AttributeError):
        causalsynth.no_such_thing  # noqa: B018


README_BLOCK = re.compile(
    r"<!-- notebook-example -->\s*```python\n(.*?)```\s*<!-- /notebook-example -->", re.S
)


@pytest.mark.slow
def test_the_readme_notebook_example_runs_as_written(tmp_path, monkeypatch):
    (code,) = README_BLOCK.findall((ROOT / "README.md").read_text())
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "README.md (From a notebook)", "exec"), namespace)  # noqa: S102
    result = namespace["result"]
    assert isinstance(result, Judgement)
    assert result.preservation["abs_error"].notna().all()
    assert math.isfinite(result.privacy.set_index("metric").loc["dcr_share", "value"])
    assert type(namespace["fig"]).__name__ == "Figure"
