"""Every dataset loader: roles, types, binary treatment, no missing values, sizes, truth."""

import numpy as np
import pandas as pd
import pytest

from causalsynth.core.errors import UnknownComponentError
from causalsynth.core.io import read_json
from causalsynth.data import DATASETS, build_card, get_dataset, prepare_dataset
from causalsynth.data.base import subsample

BUILTIN = [d for d in DATASETS.names() if d != "csv"]


@pytest.fixture(scope="module")
def prepared():
    return {d: get_dataset(d).prepare(seed=11) for d in BUILTIN}


@pytest.mark.parametrize("dataset", BUILTIN)
def test_loader_roles_types_and_sizes(prepared, dataset):
    p = prepared[dataset]
    roles = p.roles
    for part in (p.train, p.holdout):
        assert list(part.columns) == roles.columns
        assert not part.isna().any().any()
        assert set(part[roles.treatment].unique()) == {0, 1}
        assert part[roles.treatment].dtype == np.int64
        for col, kind in roles.covariates.items():
            if kind == "binary":
                assert set(part[col].unique()) <= {0, 1}, col
            elif kind == "continuous":
                assert part[col].dtype == np.float64 and np.isfinite(part[col]).all(), col
            else:
                assert part[col].dtype == object, col
        if roles.outcome_type == "binary":
            assert set(part[roles.outcome].unique()) <= {0, 1}
    assert len(p.train) >= 300 and len(p.holdout) >= 100
    assert p.kind in ("simulated", "semi-synthetic", "real-rct", "real-observational")
    card = build_card(dataset, p, 11, {})
    assert card["truth"]["ate"] is not None and card["truth"]["source"]
    assert card["truth"]["kind"] in ("exact", "monte_carlo", "reference")


def test_sim_paper_truth_matches_paper():
    ds = get_dataset("sim_paper")
    assert abs(ds.true_ate - 0.4183) < 0.003
    # the quadrature agrees with a large Monte Carlo draw of the same process
    big = ds.sample(400_000, seed=3)
    from scipy.special import expit

    w = [big[f"W{i}"].to_numpy() for i in range(1, 7)]
    eta0, eta1 = ds.outcome_logits(*w)
    assert abs(np.mean(expit(eta1) - expit(eta0)) - ds.true_ate) < 0.002


def test_sim_paper_designs(prepared):
    p = prepared["sim_paper"]
    assert len(p.train) == 1000 and len(p.holdout) == 1000
    pos = p.positivity
    assert sorted(pos["set"].unique()) == [1, 2, 3, 4, 5]
    assert (pos.groupby("set").size() == 200).all()
    # the confounded design has extreme propensities; the RCT arms are balanced
    ds = get_dataset("sim_paper")
    w = [pos[f"W{i}"].to_numpy() for i in range(1, 7)]
    from scipy.special import expit

    e = expit(ds.propensity_logit(*w))
    assert np.mean((e < 0.001) | (e > 0.999)) > 0.3
    # and the sets' treatment follows that propensity (not the RCT's coin)
    a = pos["A"].to_numpy()
    assert a[e > 0.999].mean() > 0.98 and a[e < 0.001].mean() < 0.02
    assert 0.4 < p.train["A"].mean() < 0.6


def test_sim_continuous_truth_by_monte_carlo():
    ds = get_dataset("sim_continuous")
    big = ds.sample(200_000, seed=5, design="rct")
    high = (big["W2"] == "high").to_numpy(float)
    tau = ds.tau(big["W1"].to_numpy(), high, big["W3"].to_numpy(), big["W5"].to_numpy())
    assert abs(tau.mean() - ds.true_ate) < 0.01
    assert set(big["W2"].unique()) == {"low", "mid", "high"}


def test_known_effects_truth_is_sample_mean(prepared):
    assert 3.0 < prepared["ihdp"].truth.ate < 5.0
    assert np.isfinite(prepared["acic16"].truth.ate)
    assert prepared["acic16"].roles.of_type("categorical") == ["x_2", "x_21", "x_24"]


def test_lalonde_estimands(prepared):
    cps = prepared["lalonde_cps"]
    assert cps.roles.estimand == "ATT"
    assert cps.truth.ate == pytest.approx(1794.34)
    assert cps.positivity is not None and cps.positivity["treat"].sum() == 185
    nsw = prepared["lalonde_nsw"]
    assert nsw.roles.estimand == "ATE" and nsw.truth.ate == pytest.approx(1794.34, abs=0.01)


def test_nhefs_reference_and_categoricals(prepared):
    p = prepared["nhefs"]
    assert p.truth.ate == pytest.approx(3.4)
    assert "Hernan" in p.truth.source
    assert set(p.roles.of_type("categorical")) == {"education", "exercise", "active"}


def test_same_seed_same_split_other_seed_other_split():
    a = get_dataset("nhefs").prepare(1).train
    b = get_dataset("nhefs").prepare(1).train
    c = get_dataset("nhefs").prepare(2).train
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


@pytest.mark.parametrize("max_rows", [3000, 6000])
def test_max_rows_keeps_every_unit_of_the_rare_arm(max_rows):
    p = get_dataset("lalonde_cps", max_rows=max_rows).prepare(1)
    n = len(p.train) + len(p.holdout)
    assert n <= max_rows and n == max_rows  # the controls fill the rest of the cap
    # all 185 NSW treated, the units the ATT reference is computed on (a proportional draw kept 69 at 6000)
    assert p.train["treat"].sum() + p.holdout["treat"].sum() == 185
    assert p.positivity["treat"].sum() == 185 and len(p.positivity) == n
    assert p.train["treat"].sum() > 0 and p.holdout["treat"].sum() > 0


def test_subsample_is_stratified_for_the_ate_and_keeps_the_treated_for_the_att():
    df = pd.DataFrame({"a": np.r_[np.ones(300), np.zeros(9700)].astype(np.int64), "x": np.arange(10000)})
    out = subsample(df, "a", 4000, seed=1)  # the ATE's population keeps its treated share
    assert len(out) == 4000 and out["a"].sum() == 120 and out["x"].is_unique
    att = subsample(df, "a", 4000, seed=1, keep_treated=True)  # the ATT keeps its treated
    assert len(att) == 4000 and att["a"].sum() == 300
    pd.testing.assert_frame_equal(att, subsample(df, "a", 4000, seed=1, keep_treated=True))
    few = subsample(df, "a", 200, seed=1, keep_treated=True)  # no room for them all: stratified
    assert len(few) == 200 and 0 < few["a"].sum() < 200
    assert subsample(df, "a", None, seed=1) is df and subsample(df, "a", 10000, seed=1) is df


def test_unknown_dataset_lists_valid_names():
    with pytest.raises(
        UnknownComponentError, match="valid dataset loaders: .*actg175, actg175_steam, .*sim_paper"
    ):
        get_dataset("nope")


def test_unknown_option_lists_valid_options():
    with pytest.raises(ValueError, match="unknown option.*valid options: .*n_train"):
        get_dataset("sim_paper", n_trian=5)


def test_prepare_dataset_writes_card(tmp_path):
    out = {k: tmp_path / f"{k}.x" for k in ("train", "holdout", "card", "positivity")}
    card = prepare_dataset(
        "sim_continuous",
        {"n_train": 200, "n_holdout": 100},
        seed=3,
        out_train=out["train"],
        out_holdout=out["holdout"],
        out_card=out["card"],
        out_positivity=out["positivity"],
    )
    on_disk = read_json(out["card"])
    assert on_disk == read_json(out["card"]) and on_disk["dataset"] == card["dataset"]
    for key in ("dataset", "kind", "treatment", "outcome", "outcome_type", "covariates", "estimand",
                "n_train", "n_holdout", "n_dropped", "seed", "truth"):  # fmt: skip
        assert key in on_disk, key
    assert on_disk["n_train"] == 200 and on_disk["truth"]["kind"] == "exact"
    assert {"name": "W2", "type": "categorical"} in on_disk["covariates"]
    assert len(pd.read_parquet(out["positivity"])) == 0
