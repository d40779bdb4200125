"""prepare_dataset's extreme-value check (Tukey fences, checks.outliers / checks.outlier_iqr)."""

import logging

import numpy as np
import pandas as pd
import pytest

from causalsynth.config import Plan, load_config
from causalsynth.core.errors import ConfigError, DataError
from causalsynth.core.roles import Roles
from causalsynth.data import prepare_dataset
from causalsynth.data.checks import check_outliers, run_checks
from tests.unit.conftest import MIXED_CONTINUOUS as ROLES
from tests.unit.conftest import check_settings as settings

SOURCE = "dataset 'd'"


def table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    a = rng.binomial(1, 1 / (1 + np.exp(-0.5 * x1)))
    return pd.DataFrame(
        {
            "x1": x1,
            "x2": x2,
            "b": rng.integers(0, 2, n),
            "c": rng.choice(["u", "v", "w"], n),
            "A": a,
            "Y": 1 + 0.1 * x1 + 0.2 * a + rng.normal(0, 0.1, n),
        }
    )


def fences(x, k=3.0):
    q1, q3 = np.percentile(np.asarray(x, dtype=float), [25, 75])
    return q1 - k * (q3 - q1), q3 + k * (q3 - q1)


def dim(y, a):
    y, a = np.asarray(y, dtype=float), np.asarray(a)
    y1, y0 = y[a == 1], y[a == 0]
    return y1.mean() - y0.mean(), np.sqrt(y1.var(ddof=1) / len(y1) + y0.var(ddof=1) / len(y0))


@pytest.fixture
def heavy():
    """An outcome near 1 with four training rows a million times larger, and a clean holdout."""
    train, holdout = table(400, 0), table(100, 1)
    rows = [3, 50, 120, 300]
    train.loc[rows, "Y"] = [1.0e6, 2.5e6, 1.2e6, 3.0e6]
    return train, holdout, rows


def test_a_heavy_tailed_outcome_warns_with_column_count_and_dim_shift(heavy, caplog):
    train, holdout, rows = heavy
    with caplog.at_level(logging.WARNING, logger="causalsynth.data.checks"):
        frames, report = run_checks(
            {"train": train, "holdout": holdout, "positivity": None}, ROLES, settings(), 1, SOURCE
        )
    lo, hi = fences(train["Y"])
    keep = ~train.index.isin(rows)
    (d_all, se_all), (d_wo, se_wo) = dim(train["Y"], train["A"]), dim(train["Y"][keep], train["A"][keep])
    entry = report["outliers"]["columns"]["Y"]
    assert (entry["n_train"], entry["n_holdout"], entry["n_positivity"]) == (4, 0, None)
    assert entry["lower"] == pytest.approx(lo, rel=1e-12) and entry["upper"] == pytest.approx(hi, rel=1e-12)
    assert entry["most_extreme"] == 3.0e6
    shift = entry["dim_shift"]
    assert shift["dim_all"] == pytest.approx(d_all, rel=1e-12)
    assert shift["dim_without"] == pytest.approx(d_wo, rel=1e-12)
    assert shift["shift"] == pytest.approx(d_all - d_wo, rel=1e-12)
    assert shift["shift_se"] == pytest.approx((d_all - d_wo) / se_all, rel=1e-12)
    assert shift["shift_se_without"] == pytest.approx((d_all - d_wo) / se_wo, rel=1e-12)
    assert report["outliers"]["flagged"] == ["Y"]  # the normal covariates have no value 4.7 SD out
    assert set(report["outliers"]["columns"]) == {"Y", "x1", "x2"}  # never binary or categorical ones
    line = (
        f"dataset 'd': extreme values (3 x IQR beyond the quartiles of the training rows, checks.outlier_iqr) "
        f"in 1 column(s): 'Y': 4 of 500 rows lie beyond the fences [{lo:.4g}, {hi:.4g}], the most extreme at "
        f"3e+06; removing them from the training rows moves the difference in means from {d_all:.4g} to "
        f"{d_wo:.4g} (by {(d_all - d_wo) / se_all:.3g} standard errors of the estimate with them, "
        f"{(d_all - d_wo) / se_wo:.3g} without). Options: set checks.outliers to winsorize (clip them to "
        "the fences), error (refuse the dataset) or keep (record them silently), or clean the column"
    )
    assert [r.getMessage() for r in caplog.records] == [line]
    assert report["outliers"]["warnings"] == [line]
    # warn changes nothing
    assert frames["train"] is train and frames["holdout"] is holdout


def test_keep_records_the_counts_and_says_nothing(heavy, caplog):
    train, holdout, _ = heavy
    with caplog.at_level(logging.DEBUG, logger="causalsynth.data.checks"):
        frames, report = check_outliers(
            {"train": train, "holdout": holdout, "positivity": None}, ROLES, settings(outliers="keep"), SOURCE
        )
    assert caplog.records == []
    assert report["action"] == "keep" and report["warnings"] == [] and report["clipped"] == {}
    assert report["columns"]["Y"]["n_train"] == 4 and report["flagged"] == ["Y"]
    assert frames["train"] is train and frames["holdout"] is holdout


def test_error_names_the_column_the_count_and_the_most_extreme_value(heavy):
    train, holdout, _ = heavy
    with pytest.raises(DataError) as err:
        check_outliers({"train": train, "holdout": holdout}, ROLES, settings(outliers="error"), SOURCE)
    assert err.value.column == "Y"
    # no fences or shift in the refusal: they move with the split, the refusal must not
    assert err.value.problem == (
        "4 of 500 rows lie beyond 3 x IQR from the quartiles of the training rows "
        "(checks.outlier_iqr), the most extreme at 3e+06"
    )
    assert err.value.fix == "set checks.outliers: winsorize, or clean the column"


def test_winsorize_clips_every_split_to_the_training_fences_and_counts(caplog):
    train, holdout = table(400, 0), table(100, 1)
    positivity = table(200, 2).assign(set=np.repeat([1, 2], 100))
    lo, hi = fences(train["x1"])
    train.loc[[7, 8], "x1"] = [hi + 5.0, lo - 7.0]
    holdout.loc[4, "x1"] = hi + 1.0
    positivity.loc[[0, 150], "x1"] = [lo - 0.5, hi + 40.0]
    lo, hi = fences(train["x1"])  # the fences of the training rows as the check sees them
    _, y_hi = fences(train["Y"])
    holdout.loc[9, "Y"] = y_hi + 0.5
    before = {"train": train.copy(), "holdout": holdout.copy(), "positivity": positivity.copy()}
    assert fences(holdout["x1"])[1] != hi  # so a clip to hi is a clip to the training fence
    with caplog.at_level(logging.INFO, logger="causalsynth.data.checks"):
        frames, report = check_outliers(
            {"train": train, "holdout": holdout, "positivity": positivity},
            ROLES,
            settings(outliers="winsorize"),
            SOURCE,
        )
    assert report["clipped"] == {
        "Y": {"train": 0, "holdout": 1, "positivity": 0},
        "x1": {"train": 2, "holdout": 1, "positivity": 2},
    }
    assert frames["train"].loc[[7, 8], "x1"].tolist() == [hi, lo]
    assert frames["holdout"].loc[4, "x1"] == hi and frames["holdout"].loc[9, "Y"] == y_hi
    assert frames["positivity"].loc[[0, 150], "x1"].tolist() == [lo, hi]
    for split, df in frames.items():
        changed = (df != before[split]).any(axis=1)
        assert changed.sum() == sum(n[split] for n in report["clipped"].values())
        assert list(df.columns) == list(before[split].columns)  # `set` and the other columns untouched
        pd.testing.assert_frame_equal(df[["x2", "b", "c", "A"]], before[split][["x2", "b", "c", "A"]])
    assert [r.getMessage() for r in caplog.records] == [
        "dataset 'd': clipped to the outlier fences (checks.outliers: winsorize): 'Y' 1 value(s), 'x1' 5 value(s)"
    ]


def test_the_fences_follow_outlier_iqr():
    train = table(2000, 3)
    x = train["x2"].to_numpy()
    for k in (1.5, 3.0):
        lo, hi = fences(x, k)
        _, report = check_outliers(
            {"train": train, "holdout": None}, ROLES, settings(outliers="keep", outlier_iqr=k), SOURCE
        )
        assert report["columns"]["x2"]["n_train"] == int(((x < lo) | (x > hi)).sum())
    assert report["columns"]["x2"]["n_train"] == 0 and report["outlier_iqr"] == 3.0


def test_a_column_whose_middle_half_is_one_value_is_skipped():
    train = table(400, 0)
    rng = np.random.default_rng(4)
    train["x2"] = np.where(rng.random(400) < 0.8, 0.0, rng.lognormal(3, 1, 400))
    frames, report = check_outliers(
        {"train": train, "holdout": None}, ROLES, settings(outliers="winsorize"), SOURCE
    )
    entry = report["columns"]["x2"]
    assert entry["q1"] == entry["q3"] == 0.0
    assert entry["skipped"].startswith(
        "the IQR is 0 (the middle half of the training rows holds the single value 0)"
    )
    assert "x2" not in report["flagged"] and "x2" not in report["clipped"]
    pd.testing.assert_series_equal(frames["train"]["x2"], train["x2"])


def test_a_binary_outcome_is_not_checked():
    roles = Roles(
        treatment="A", outcome="Y", outcome_type="binary", covariates={"x1": "continuous", "b": "binary"}
    )
    train = table(400, 0).assign(Y=lambda t: (t["Y"] > 1).astype(int))
    _, report = check_outliers({"train": train, "holdout": None}, roles, settings(), SOURCE)
    assert list(report["columns"]) == ["x1"]


def test_dataset_overrides_and_a_builtin_is_not_altered_by_the_default(tmp_path, caplog):
    config = load_config(
        {"datasets": {"lalonde_nsw": {"checks": {"outliers": "winsorize", "outlier_iqr": 5}}}},
        check_components=False,
    )
    checks = Plan(config).dataset_checks("lalonde_nsw")
    assert (checks["outliers"], checks["outlier_iqr"]) == ("winsorize", 5)
    with pytest.raises(ConfigError, match=r"datasets/lalonde_nsw/checks/outliers.*'clip' is not one of"):
        load_config({"datasets": {"lalonde_nsw": {"checks": {"outliers": "clip"}}}}, check_components=False)
    tables = {}
    for action in ("warn", "keep", "winsorize"):
        out = tmp_path / action
        with caplog.at_level(logging.WARNING, logger="causalsynth.data.checks"):
            caplog.clear()
            card = prepare_dataset(
                "lalonde_nsw",
                {},
                seed=1,
                out_train=out / "t.parquet",
                out_holdout=out / "h.parquet",
                out_card=out / "c.json",
                checks={**checks, "outliers": action, "outlier_iqr": 3.0},
            )
        tables[action] = pd.read_parquet(out / "t.parquet")
        outliers = card["checks"]["outliers"]
        assert outliers["flagged"] == ["re78", "age", "re74", "re75"]
        assert len(caplog.records) == (action == "warn")
        assert len(outliers["warnings"]) == (action == "warn")
    pd.testing.assert_frame_equal(tables["warn"], tables["keep"])
    assert not tables["winsorize"].equals(tables["keep"])
    assert (tables["winsorize"]["re74"] <= card["checks"]["outliers"]["columns"]["re74"]["upper"]).all()
