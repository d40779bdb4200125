"""prepare_dataset's checks: arm sizes, overlap, categorical levels; refusals name the column."""

import json

import numpy as np
import pandas as pd
import pytest

from causalsynth.config import Plan, load_config
from causalsynth.core.errors import ConfigError, DataError
from causalsynth.data import prepare_dataset
from causalsynth.data.checks import OTHER_LEVEL, run_checks, separating_covariates
from tests.unit.conftest import MIXED_CONTINUOUS as ROLES
from tests.unit.conftest import check_settings as settings


def table(n: int = 400, seed: int = 0, levels: list[str] | None = None, p=None) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    a = rng.binomial(1, 1 / (1 + np.exp(-0.5 * x1)))
    levels = levels or ["u", "v", "w"]
    return pd.DataFrame(
        {
            "x1": x1,
            "x2": x2,
            "b": rng.integers(0, 2, n),
            "c": rng.choice(levels, n, p=p),
            "A": a,
            "Y": x1 + a + rng.normal(size=n),
        }
    )


def check(train, holdout=None, **over):
    frames = {"train": train, "holdout": train.iloc[:0] if holdout is None else holdout, "positivity": None}
    return run_checks(frames, ROLES, settings(**over), seed=1, source="dataset 'd'")


def test_usable_data_passes_with_diagnostics():
    _, report = check(table())
    assert report["arms"]["min_per_arm"] == 20
    overlap = report["overlap"]
    assert 0.5 < overlap["propensity_auc"] < 0.8
    assert overlap["share_extreme"] == 0.0
    assert overlap["separating_covariates"] == {} and overlap["warnings"] == []


def test_arm_minimum_follows_the_folds_and_is_refused_naming_the_treatment():
    t = table(n=60)
    assert settings(min_rows_per_arm=5, folds=10).arm_minimum == (10, "10-fold cross-fitting")
    with pytest.raises(DataError, match=r"column 'A': the training split holds \d+ treated .* at least 40"):
        check(t, min_rows_per_arm=40)


@pytest.mark.parametrize(
    ("column", "make", "how"),
    [
        ("b", lambda t: t.assign(b=t["A"]), "each level of b holds a single arm"),
        (
            "x2",
            lambda t: t.assign(x2=np.where(t["A"] == 1, 1 + t["x2"].abs(), -t["x2"].abs())),
            "every treated unit has x2 >= ",
        ),
        ("c", lambda t: t.assign(c=np.where(t["A"] == 1, "u", "v")), "each level of c holds a single arm"),
    ],
)
def test_a_covariate_that_separates_the_arms_is_refused_or_warned(column, make, how):
    t = make(table())
    assert how in separating_covariates(t, ROLES)[column]
    with pytest.raises(DataError, match=rf"column '{column}': the covariate alone separates the arms"):
        check(t)
    _, report = check(t, overlap="warn")
    assert any(f"column '{column}'" in w for w in report["overlap"]["warnings"])


def test_a_propensity_that_separates_the_arms_is_refused():
    t = table()
    t["A"] = (t["x1"] + t["x2"] > 0).astype(int)  # no single covariate separates, both do
    assert separating_covariates(t, ROLES) == {}
    with pytest.raises(DataError, match=r"column 'A': a cross-validated propensity model separates the arms"):
        check(t)


def test_many_extreme_propensities_warn_but_pass():
    t = table()
    t["A"] = np.random.default_rng(2).binomial(1, 1 / (1 + np.exp(-6 * t["x1"])))
    _, report = check(t, propensity_auc=1.0)
    assert report["overlap"]["share_extreme"] > 0.05
    assert "beyond 0.001" in report["overlap"]["warnings"][0]


def with_levels(t: pd.DataFrame, counts: dict[str, int]) -> pd.DataFrame:
    values = np.concatenate([[lv] * k for lv, k in counts.items()])
    return t.assign(c=np.random.default_rng(5).permutation(values))


def test_rare_levels_merge_into_other_decided_on_the_training_rows():
    train = with_levels(table(), {"u": 160, "v": 120, "w": 115, "rare1": 3, "rare2": 2})
    holdout = with_levels(table(n=100, seed=1), {"u": 50, "v": 30, "rare1": 10, "unseen": 10})
    frames, report = check(train, holdout, rare_levels="merge")
    assert set(frames["train"]["c"]) == {"u", "v", "w", OTHER_LEVEL}
    assert (frames["train"]["c"] == OTHER_LEVEL).sum() == 5
    assert set(frames["holdout"]["c"]) == {"u", "v", OTHER_LEVEL}
    assert report["rare_levels_merged"] == {"c": {"levels_merged": 2, "rows_merged": 5, "into": OTHER_LEVEL}}
    kept, _ = check(train, holdout)  # keep: nothing changes
    assert set(kept["train"]["c"]) == set(train["c"])


def test_too_many_levels_names_the_setting_and_merging_fixes_it():
    t = with_levels(table(), {"l0": 120, "l1": 120, "l2": 120, "l3": 16, "l4": 12, "l5": 4, "l6": 4, "l7": 4})
    with pytest.raises(
        DataError, match=r"column 'c': categorical covariate has 8 levels \(at most checks.max_levels = 5\)"
    ):
        check(t, max_levels=5)
    frames, _ = check(t, max_levels=5, rare_levels="merge", rare_level_share=0.05)
    assert sorted(frames["train"]["c"].unique()) == ["l0", "l1", "l2", OTHER_LEVEL]


def test_card_records_the_checks_and_dataset_overrides_are_validated(tmp_path):
    config = load_config(
        {"datasets": {"sim_paper": {"n_train": 200, "checks": {"min_rows_per_arm": 30}}}},
        check_components=False,
    )
    plan = Plan(config)
    assert plan.dataset_checks("sim_paper")["min_rows_per_arm"] == 30
    assert plan.dataset_checks("sim_paper")["folds"] == config["estimation"]["folds"]
    prepare_dataset(
        "sim_paper",
        config["datasets"]["sim_paper"],
        seed=3,
        out_train=tmp_path / "t.parquet",
        out_holdout=tmp_path / "h.parquet",
        out_card=tmp_path / "card.json",
        checks=plan.dataset_checks("sim_paper"),
    )
    card = json.loads((tmp_path / "card.json").read_text())
    assert card["checks"]["arms"]["min_per_arm"] == 30
    assert set(card["checks"]["overlap"]) >= {"propensity_auc", "share_extreme", "separating_covariates"}
    assert card["checks"]["outliers"]["action"] == "warn"  # sim_paper: nothing flagged, nothing clipped
    assert card["checks"]["outliers"]["flagged"] == [] and card["checks"]["outliers"]["clipped"] == {}
    with pytest.raises(ConfigError, match=r"datasets/sim_paper/checks.*'maxlevels' was unexpected"):
        load_config({"datasets": {"sim_paper": {"checks": {"maxlevels": 3}}}}, check_components=False)
