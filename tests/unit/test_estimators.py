"""The ATE / ATT estimators: coverage, exact identities, agreement with DoubleML, failing cells."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from causalsynth.core.errors import ConfigError, UnknownComponentError
from causalsynth.core.roles import Roles
from causalsynth.core.seeds import derive_seed
from causalsynth.core.vocabulary import GRID_COLUMNS
from causalsynth.estimate import base as base_mod
from causalsynth.estimate import estimators as est_mod
from causalsynth.estimate import nuisance as nuis_mod
from causalsynth.estimate.base import OPTIONS, EstimateResult
from causalsynth.estimate.estimators import ESTIMATORS, make_estimator
from causalsynth.estimate.grid import SharedNuisances, estimate_grid, fit_shared_nuisances
from causalsynth.estimate.nuisance import Nuisances, fit_nuisances
from tests.unit.conftest import LINEAR_CONTINUOUS as CONTINUOUS
from tests.unit.conftest import LINEAR_COVARIATES as COVARIATES

SHARED = ["substitution", "iptw", "iptw_truncated", "aipw", "tmle"]
ALL = [*SHARED, "dml"]
BINARY = Roles("a", "y", "binary", COVARIATES)


def confounded(n: int, seed: int, binary: bool = False) -> pd.DataFrame:
    """Linear-logistic confounding, constant effect 2 (continuous Y) so the linear learner is right."""
    r = np.random.default_rng(seed)
    w1, w2, w3 = r.normal(size=n), r.normal(size=n), r.binomial(1, 0.4, n)
    a = r.binomial(1, expit(0.5 * w1 - 0.5 * w2 + 0.5 * w3 - 0.2))
    if binary:
        y = r.binomial(1, expit(-0.3 + 0.8 * a + 0.5 * w1 + 0.4 * w2 - 0.5 * w3))
    else:
        y = 1 + 0.5 * w1 + 0.3 * w2 + 0.3 * w3 + 2 * a + r.normal(size=n)
    return pd.DataFrame({"w1": w1, "w2": w2, "w3": w3, "a": a, "y": y})


def binomial_band(p: float, reps: int, z: float = 3.0) -> tuple[float, float]:
    half = z * math.sqrt(p * (1 - p) / reps)
    return p - half, p + half


def coverage(rows: pd.DataFrame, truth: float) -> pd.Series:
    ok = rows[rows["status"] == "ok"]
    return ((ok["ci_low"] <= truth) & (truth <= ok["ci_high"])).groupby(ok["estimator"]).mean()


# --------------------------------------------------------------------------- coverage


@pytest.mark.slow
def test_shared_nuisance_estimators_cover_near_95_percent():
    reps, truth = 200, 2.0
    rows = []
    for rep in range(reps):
        df = confounded(500, derive_seed(7, "coverage", rep=rep))
        rows += estimate_grid(df, CONTINUOUS, SHARED, "linear", cross_fit=False, seed=rep)
    rows = pd.DataFrame(rows)
    assert (rows["status"] == "ok").all()
    cov = coverage(rows, truth)
    low, high = binomial_band(0.95, reps)
    for name in SHARED:
        assert low <= cov[name] <= high, (name, cov[name])
    # and the estimates are centred on the truth
    means = rows.groupby("estimator")["ate"].mean()
    sds = rows.groupby("estimator")["ate"].std()
    assert ((means - truth).abs() < 4 * sds / math.sqrt(reps)).all(), means


@pytest.mark.slow
def test_dml_covers_near_95_percent():
    reps, truth = 100, 2.0
    rows = []
    for rep in range(reps):
        df = confounded(400, derive_seed(8, "coverage", rep=rep))
        rows += estimate_grid(df, CONTINUOUS, ["dml"], "linear", folds=2, seed=rep)
    rows = pd.DataFrame(rows)
    assert (rows["status"] == "ok").all()
    low, high = binomial_band(0.95, reps)
    assert low <= coverage(rows, truth)["dml"] <= high


# --------------------------------------------------------------------------- exact identities


def rct_nuisances(n: int, p: float, estimand: str, seed: int = 0) -> Nuisances:
    r = np.random.default_rng(seed)
    a = r.binomial(1, p, n)
    y = 1.0 + 0.7 * a + r.normal(size=n)
    zeros = np.zeros(n)
    return Nuisances(a, y, np.full(n, p), zeros, zeros, np.full(n, -1), "continuous", estimand)


@pytest.mark.parametrize("estimand", ["ATE", "ATT"])
def test_iptw_with_known_constant_propensity_is_the_difference_in_means(estimand):
    nuis = rct_nuisances(1000, 0.3, estimand)
    diff = nuis.y[nuis.a == 1].mean() - nuis.y[nuis.a == 0].mean()
    for name in ("iptw", "iptw_truncated"):
        # iptw_truncated caps ATE weights 1/0.3 = 3.3 and 1/0.7 = 1.4 below 10: no truncation
        assert make_estimator(name).estimate(nuis).ate == pytest.approx(diff, abs=1e-12)


def test_iptw_standard_error_on_an_rct_is_the_two_sample_one():
    nuis = rct_nuisances(2000, 0.5, "ATE", seed=3)
    y1, y0 = nuis.y[nuis.a == 1], nuis.y[nuis.a == 0]
    two_sample = math.sqrt(y1.var() / len(y1) + y0.var() / len(y0))
    assert make_estimator("iptw").estimate(nuis).se == pytest.approx(two_sample, rel=0.01)


def test_weight_cap_option_turns_iptw_into_iptw_truncated():
    df = confounded(800, 5)
    nuis = fit_nuisances(df, CONTINUOUS, "linear", cross_fit=False)
    capped = dataclasses.replace(nuis, g=np.clip(nuis.g, 0.02, 0.98))
    a = make_estimator("iptw", {"weight_cap": 3.0}).estimate(capped)
    b = make_estimator("iptw_truncated", {"truncation_cap": 3.0}).estimate(capped)
    assert a == b
    assert a.ate != make_estimator("iptw").estimate(capped).ate


def test_tmle_is_equivariant_to_affine_changes_of_a_continuous_outcome():
    df = confounded(1500, 11)
    nuis = fit_nuisances(df, CONTINUOUS, "linear", folds=3)
    scaled = Nuisances(
        nuis.a, 10 * nuis.y + 3, nuis.g, 10 * nuis.q0 + 3, 10 * nuis.q1 + 3, nuis.fold, "continuous", "ATE"
    )
    tmle = make_estimator("tmle")
    base, big = tmle.estimate(nuis), tmle.estimate(scaled)
    assert big.ate == pytest.approx(10 * base.ate, rel=1e-9)
    assert big.se == pytest.approx(10 * base.se, rel=1e-9)


@pytest.mark.parametrize("binary", [False, True])
def test_tmle_and_aipw_agree_to_second_order_on_a_large_sample(binary):
    roles = BINARY if binary else CONTINUOUS
    rows = estimate_grid(confounded(20_000, 21, binary), roles, ["aipw", "tmle"], "linear", folds=2, seed=1)
    aipw, tmle = rows
    assert aipw["status"] == tmle["status"] == "ok"
    # both are efficient: they differ by o(1/sqrt(n)), far below one standard error
    assert abs(aipw["ate"] - tmle["ate"]) < 0.05 * aipw["se"]
    assert tmle["se"] == pytest.approx(aipw["se"], rel=0.02)


# --------------------------------------------------------------------------- ATT


def heterogeneous(n: int, seed: int) -> pd.DataFrame:
    """tau(W) = 1 + W1 and g = expit(W1): ATE = 1, ATT = 1 + E[W1 | A=1] ~ 1.413."""
    r = np.random.default_rng(seed)
    w1, w2, w3 = r.normal(size=n), r.normal(size=n), r.binomial(1, 0.5, n)
    a = r.binomial(1, expit(w1))
    y = 0.5 * w1 + 0.5 * w2 + (1 + w1) * a + r.normal(size=n)
    return pd.DataFrame({"w1": w1, "w2": w2, "w3": w3, "a": a, "y": y})


def true_att() -> float:
    # E[W1 expit(W1)] / E[expit(W1)] for W1 ~ N(0, 1), by Gauss-Hermite quadrature
    x, w = np.polynomial.hermite_e.hermegauss(80)
    w = w / w.sum()
    e = expit(x)
    return 1.0 + float(np.sum(w * x * e) / np.sum(w * e))


def test_att_estimators_recover_the_att_with_oracle_nuisances():
    df = heterogeneous(20_000, 4)
    w1 = df["w1"].to_numpy()
    q0 = 0.5 * w1 + 0.5 * df["w2"].to_numpy()
    nuis = Nuisances(
        df["a"].to_numpy(),
        df["y"].to_numpy(),
        expit(w1),
        q0,
        q0 + 1 + w1,
        np.full(len(df), -1),
        "continuous",
        "ATT",
    )
    att = true_att()
    assert att - 1.0 > 0.4  # the ATT differs from the ATE (1) by far more than the errors below
    for name in SHARED:
        result = make_estimator(name).estimate(nuis)
        assert result.status == "ok"
        assert abs(result.ate - att) < 4 * result.se, (name, result)


def test_att_grid_recovers_the_att_with_fitted_nuisances():
    # the single linear outcome model on (W, A) misses tau(W) = 1 + W1, so substitution is biased;
    # the doubly robust ones and IPTW lean on the correct logistic propensity, DoubleML fits one
    # linear model per arm (correct here)
    roles = Roles("a", "y", "continuous", {"w1": "continuous", "w2": "continuous", "w3": "binary"}, "ATT")
    rows = estimate_grid(
        heterogeneous(6000, 9), roles, ["iptw", "aipw", "tmle", "dml"], "linear", folds=3, seed=2
    )
    att = true_att()
    for r in rows:
        assert r["status"] == "ok"
        assert abs(r["ate"] - att) < 4 * r["se"], r
        assert abs(r["ate"] - 1.0) > 4 * r["se"], r  # it is not the ATE


# --------------------------------------------------------------------------- the library's DR estimate


def _doubleml_irm(nuis: Nuisances, score: str):
    from doubleml import DoubleMLData, DoubleMLIRM
    from doubleml.utils import PSProcessorConfig
    from sklearn.linear_model import LinearRegression, LogisticRegression

    data = DoubleMLData.from_arrays(np.zeros((nuis.n, 1)), nuis.y, nuis.a.astype(float))
    model = DoubleMLIRM(
        data,
        LinearRegression(),
        LogisticRegression(),
        n_folds=2,
        score=score,
        ps_processor_config=PSProcessorConfig(clipping_threshold=1e-9),
    )
    preds = {"d": {"ml_g0": nuis.q0[:, None], "ml_g1": nuis.q1[:, None], "ml_m": nuis.g[:, None]}}
    return model.fit(external_predictions=preds)


@pytest.mark.parametrize("estimand", ["ATE", "ATT"])
def test_aipw_equals_doubleml_irm_on_the_same_nuisance_predictions(estimand):
    roles = Roles("a", "y", "continuous", COVARIATES, estimand)
    nuis = fit_nuisances(confounded(3000, 13), roles, "linear", folds=5, seed=3)
    ours = make_estimator("aipw").estimate(nuis)
    lib = _doubleml_irm(nuis, "ATTE" if estimand == "ATT" else "ATE")
    assert ours.ate == pytest.approx(float(lib.coef[0]), abs=1e-10)
    assert ours.se == pytest.approx(float(lib.se[0]), rel=1e-3)


def test_aipw_and_dml_agree_on_the_same_folds_and_learner():
    df = confounded(5000, 17)
    rows = {
        r["estimator"]: r for r in estimate_grid(df, CONTINUOUS, ["aipw", "dml"], "linear", folds=5, seed=4)
    }
    # same folds, same learner; DoubleML fits one outcome model per arm, we fit one on (W, A)
    assert abs(rows["aipw"]["ate"] - rows["dml"]["ate"]) < 0.2 * rows["aipw"]["se"]
    assert rows["dml"]["se"] == pytest.approx(rows["aipw"]["se"], rel=0.05)


# --------------------------------------------------------------------------- failing cells


def _assert_failed(row, fragment: str):
    assert row["status"] != "ok"
    assert fragment in row["status"], row["status"]
    assert all(math.isnan(row[k]) for k in ("ate", "se", "ci_low", "ci_high"))


def test_single_outcome_class_in_a_fold_is_a_status():
    df = confounded(200, 2, binary=True)
    df["y"] = 0
    df.loc[df.index[df["a"] == 1][0], "y"] = 1  # one event: some training fold never sees it
    rows = estimate_grid(df, BINARY, ALL, "linear", folds=5, seed=0)
    assert [r["estimator"] for r in rows] == ALL
    for r in rows:
        _assert_failed(r, "single outcome class")
    # dml works on the same cross-fitted nuisances, so it reports their status: the fold
    assert {r["status"] for r in rows} == {rows[0]["status"]} and "of fold" in rows[-1]["status"]
    # in-sample nuisances: dml fits its own models and says where, not DoubleML's shape error
    (own,) = estimate_grid(df, BINARY, ["dml"], "linear", folds=5, seed=0, cross_fit=False)
    _assert_failed(own, "single outcome class")
    assert "of training fold" in own["status"]


def test_tiny_arm_is_a_status_for_every_estimator():
    df = confounded(300, 3)
    df["a"] = 0
    df.loc[df.index[:3], "a"] = 1
    for r in estimate_grid(df, CONTINUOUS, ALL, "linear", seed=0):
        _assert_failed(r, "treatment arm A=1 has 3 unit(s)")


def test_propensities_of_zero_or_one_are_a_status_not_an_exception():
    nuis = rct_nuisances(400, 0.5, "ATE")
    g = nuis.g.copy()
    g[np.flatnonzero(nuis.a == 1)[:2]] = 0.0  # treated with g = 0: infinite ATE weight
    g[np.flatnonzero(nuis.a == 0)[:1]] = 1.0  # control with g = 1
    broken = Nuisances(nuis.a, nuis.y, g, nuis.q0, nuis.q1, nuis.fold, "continuous", "ATE")
    unbounded = {"propensity_bound": 0}  # the default bound (0.01) would absorb these weights
    for name in ("iptw", "aipw", "tmle", "substitution"):
        result = make_estimator(name, unbounded).estimate(broken)
        assert "positivity violated" in result.status and math.isnan(result.ate)
    assert "2 treated unit(s) with propensity 0" in make_estimator("iptw", unbounded).estimate(broken).status
    # remedies, and every estimator under the default bound, still run
    for name, options in (
        ("iptw_truncated", unbounded),
        ("iptw", {**unbounded, "clip": True}),
        *((name, None) for name in SHARED),
    ):
        result = make_estimator(name, options).estimate(broken)
        assert result.status == "ok" and np.isfinite(result.ate), name


def test_grid_with_separated_treatment_and_forests_does_not_raise():
    df = confounded(300, 6)
    df["a"] = (df["w1"] > 0).astype(int)  # perfect separation: forests predict g of exactly 0 or 1
    names = ["substitution", "iptw_truncated", "tmle"]
    shared = fit_shared_nuisances(df, CONTINUOUS, "random_forest", folds=3, seed=0)
    assert ((shared.nuisances.g == 0) | (shared.nuisances.g == 1)).any()
    unbounded = {"propensity_bound": 0}
    by_name = {
        r["estimator"]: r
        for r in estimate_grid(df, CONTINUOUS, names, "random_forest", options=unbounded, shared=shared)
    }
    # TMLE updates Q1 and Q0 of every unit, so any g of 0 or 1 voids it without a bound
    assert "positivity violated" in by_name["tmle"]["status"]
    assert by_name["iptw_truncated"]["status"] == "ok"
    for options in ({**unbounded, "clip": True}, None):  # clipping, or the default bound
        (row,) = estimate_grid(df, CONTINUOUS, ["tmle"], "random_forest", options=options, shared=shared)
        assert row["status"] == "ok"
        assert row["share_clipped"] > 0  # separation: many propensities sit at the bound


def test_a_failing_learner_is_a_status(monkeypatch):
    class Broken:
        def fit(self, x, y):
            raise RuntimeError("boom")

    real_make = nuis_mod.make_learner
    monkeypatch.setattr(
        nuis_mod,
        "make_learner",
        lambda name, task, seed, n_jobs=1: (
            Broken() if task == "regression" else real_make(name, task, seed, n_jobs)
        ),
    )
    rows = estimate_grid(confounded(200, 1), CONTINUOUS, SHARED, "linear", seed=0)
    for r in rows:
        _assert_failed(r, "outcome learner 'linear' failed on fold 1 of 5: RuntimeError: boom")


# --------------------------------------------------------------------------- grid contract


def test_grid_rows_and_a_single_nuisance_fit(monkeypatch):
    calls = []
    real_fit = nuis_mod.NuisanceFitter.fit

    def counting_fit(self, df, roles):
        calls.append(self.learner)
        return real_fit(self, df, roles)

    monkeypatch.setattr(nuis_mod.NuisanceFitter, "fit", counting_fit)
    rows = estimate_grid(confounded(300, 2), CONTINUOUS, ALL, "linear", folds=3, seed=5)
    assert calls == ["linear"]  # one fit shared by all six estimators, dml included
    assert [list(r) for r in rows] == [GRID_COLUMNS] * len(ALL)
    for r in rows:
        assert r["status"] == "ok"
        assert r["ci_low"] < r["ate"] < r["ci_high"]
        assert r["ci_high"] - r["ate"] == pytest.approx(base_mod.Z_95 * r["se"])
        assert r["seconds"] > 0


def test_grid_is_reproducible_and_seed_dependent():
    df = confounded(300, 2)
    first = estimate_grid(df, CONTINUOUS, ["aipw", "dml"], "linear", folds=2, seed=5)
    again = estimate_grid(df, CONTINUOUS, ["aipw", "dml"], "linear", folds=2, seed=5)
    other = estimate_grid(df, CONTINUOUS, ["aipw", "dml"], "linear", folds=2, seed=6)
    assert [r["ate"] for r in first] == [r["ate"] for r in again]
    assert [r["ate"] for r in first] != [r["ate"] for r in other]


def test_dml_takes_the_cross_fitted_nuisances_and_fits_nothing(monkeypatch):
    import doubleml.irm.irm as irm_mod

    def no_fit(*args, **kwargs):
        raise AssertionError("DoubleML fitted a nuisance model of its own")

    monkeypatch.setattr(irm_mod, "_dml_cv_predict", no_fit)
    df = confounded(800, 3)
    rows = {r["estimator"]: r for r in estimate_grid(df, CONTINUOUS, ALL, "linear", folds=3, seed=1)}
    assert rows["dml"]["status"] == "ok", rows["dml"]["status"]
    # the IRM score on the same bounded nuisances is AIPW's: one fit, two implementations
    assert rows["dml"]["ate"] == pytest.approx(rows["aipw"]["ate"], abs=1e-10)
    assert rows["dml"]["se"] == pytest.approx(rows["aipw"]["se"], rel=1e-3)
    # the same cell whatever else the grid holds, and DoubleML's clipping leaves the shared
    # predictions as they were for the grids that reuse them (positivity's variants)
    (alone,) = estimate_grid(df, CONTINUOUS, ["dml"], "linear", folds=3, seed=1)
    assert alone["ate"] == rows["dml"]["ate"]
    shared = fit_shared_nuisances(df, CONTINUOUS, "linear", folds=3, seed=1)
    g = shared.nuisances.g.copy()
    g[:5] = 1e-4  # below the bound: DoubleML clips them
    planted = dataclasses.replace(shared, nuisances=dataclasses.replace(shared.nuisances, g=g))
    (clipped,) = estimate_grid(df, CONTINUOUS, ["dml"], "linear", folds=3, seed=1, shared=planted)
    assert clipped["status"] == "ok" and clipped["share_clipped"] > 0
    assert planted.nuisances.g[:5].max() == 1e-4  # not clipped in place
    # in-sample nuisances cannot be DML's: there it fits its own, on the folds
    (own,) = estimate_grid(df, CONTINUOUS, ["dml"], "linear", folds=3, seed=1, cross_fit=False)
    assert own["status"].startswith("DoubleML failed: AssertionError")


def test_dml_uses_the_folds_of_the_shared_nuisances(monkeypatch):
    import doubleml

    df = confounded(300, 2)
    shared = fit_shared_nuisances(df, CONTINUOUS, "linear", folds=4, seed=9)
    handed = []
    original = doubleml.DoubleMLIRM.set_sample_splitting

    def record(self, all_smpls, *args, **kwargs):
        handed.append(all_smpls)
        return original(self, all_smpls, *args, **kwargs)

    monkeypatch.setattr(doubleml.DoubleMLIRM, "set_sample_splitting", record)
    (row,) = estimate_grid(df, CONTINUOUS, ["dml"], "linear", folds=4, seed=9)
    assert row["status"] == "ok"
    (splits,) = handed  # one repetition of 4 folds, each the test fold of the shared nuisances
    assert len(splits[0]) == 4
    for k, (_, test) in enumerate(splits[0]):
        assert sorted(np.flatnonzero(shared.nuisances.fold == k)) == sorted(test)


def test_unknown_names_and_options_fail_loudly():
    with pytest.raises(UnknownComponentError, match="valid estimators: aipw, dml"):
        estimate_grid(confounded(100, 1), CONTINUOUS, ["aipw", "nope"], "linear")
    with pytest.raises(ConfigError, match="unknown estimator option"):
        make_estimator("aipw", {"cap": 3})
    with pytest.raises(ConfigError, match="weight_cap"):
        make_estimator("aipw", {"weight_cap": 0.5})
    assert set(ESTIMATORS.names()) == set(ALL)
    assert set(OPTIONS) == {"propensity_bound", "clip", "weight_cap", "truncation_cap", "influence_share"}
    for bad in (0.5, -0.1, True, "0.01"):
        with pytest.raises(ConfigError, match=r"propensity_bound' must be a number in \[0, 0.5\)"):
            make_estimator("aipw", {"propensity_bound": bad})
    for bad in (0, 1.5, True, None):
        with pytest.raises(ConfigError, match=r"influence_share' must be a number in \(0, 1\]"):
            make_estimator("aipw", {"influence_share": bad})


def test_clipping_bound_and_dml_threshold():
    assert base_mod._clipping_bound(1000) == pytest.approx(5 / (math.sqrt(1000) * math.log(1000)))
    dml = make_estimator("dml", {"clip": True})
    assert dml.clipping_threshold(200) == pytest.approx(5 / (math.sqrt(200) * math.log(200)))
    assert make_estimator("dml", {"weight_cap": 10}).clipping_threshold(200) == pytest.approx(0.1)
    assert make_estimator("dml").clipping_threshold(200) == OPTIONS["propensity_bound"][0] == 0.01
    assert make_estimator("dml", {"propensity_bound": 0.05}).clipping_threshold(200) == 0.05
    assert make_estimator("dml", {"propensity_bound": 0}).clipping_threshold(200) == est_mod.DML_MIN_THRESHOLD


def test_estimate_result_interval():
    r = EstimateResult.from_se(1.0, 0.5)
    assert (r.ci_low, r.ci_high) == pytest.approx((1 - 1.959964 * 0.5, 1 + 1.959964 * 0.5))
    assert EstimateResult.from_se(1.0, math.inf).status.startswith("non-finite")


# --------------------------------------------------------------------------- one propensity bound


def randomized(n: int, seed: int) -> pd.DataFrame:
    """A randomized trial: g = 0.5 for every unit, one skewed continuous and two binary covariates."""
    r = np.random.default_rng(seed)
    w1, w2, w3 = r.lognormal(0, 1.5, n), r.binomial(1, 0.5, n), r.binomial(1, 0.3, n)
    a = r.binomial(1, 0.5, n)
    y = np.log1p(w1) + w2 + 0.5 * a + r.normal(size=n)
    return pd.DataFrame({"w1": w1, "w2": w2, "w3": w3, "a": a, "y": y})


RCT_ROLES = Roles("a", "y", "continuous", {"w1": "continuous", "w2": "binary", "w3": "binary"})


@pytest.mark.slow
def test_every_estimator_agrees_with_the_difference_in_means_on_a_randomized_trial():
    df = randomized(2800, 0)
    diff = df["y"][df["a"] == 1].mean() - df["y"][df["a"] == 0].mean()
    shared = fit_shared_nuisances(df, RCT_ROLES, "gradient_boosting", folds=5, seed=0)
    # boosting on a real RCT returned some propensities of exactly 0 and 1; plant a few here
    g = shared.nuisances.g.copy()
    a = shared.nuisances.a
    g[np.flatnonzero(a == 1)[:3]] = 0.0
    g[np.flatnonzero(a == 0)[:3]] = 1.0
    planted = dataclasses.replace(shared, nuisances=dataclasses.replace(shared.nuisances, g=g))

    def grid(options, shared):
        return estimate_grid(
            df, RCT_ROLES, ALL, "gradient_boosting", folds=5, seed=0, options=options, shared=shared
        )

    for rows in (grid(None, shared), grid(None, planted)):
        for r in rows:
            assert r["status"] == "ok", r
            assert abs(r["ate"] - diff) < 2 * r["se"], (r, diff)
    assert all(r["warning"] == "" for r in grid(None, shared))
    # a planted propensity of 0, bounded to 0.01, gives its unit a weight of 100: the weights'
    # ESS does not notice, the influence diagnostic does, wherever the planted g is used (dml
    # included: DoubleML takes the same nuisances; the cap of 10 tames it in iptw_truncated)
    for r in grid(None, planted):
        flagged = r["estimator"] != "iptw_truncated"
        assert r["warning"].startswith("one unit holds") == flagged, r
        assert "ESS" not in r["warning"]
    bounded = {r["estimator"]: r for r in grid(None, planted)}
    assert bounded["aipw"]["share_clipped"] == pytest.approx(6 / len(df))
    # without the bound the planted propensities void every estimator that uses g
    for r in grid({"propensity_bound": 0}, planted):
        if r["estimator"] in ("iptw", "aipw", "tmle"):
            assert "positivity violated" in r["status"], r


def test_overlap_diagnostics_follow_the_estimand_and_the_cap():
    from causalsynth.estimate.weights import ESS_MIN_UNITS, kish_ess, overlap_diagnostics

    nuis = rct_nuisances(1000, 0.3, "ATE")
    n1, n0 = int(nuis.a.sum()), int((1 - nuis.a).sum())
    d = make_estimator("aipw").diagnostics(nuis)
    # constant weights within an arm: the ESS is the arm's size, no unit is clipped
    assert d["ess_treated"] == pytest.approx(n1) and d["ess_control"] == pytest.approx(n0)
    assert d["share_clipped"] == 0 and d["warning"] == ""
    assert d["max_weight"] == pytest.approx(1 / min(n1, n0))
    g = np.where(np.arange(1000) < 5, 0.001, 0.3)
    att = overlap_diagnostics(g, nuis.a, "ATT", bound=0.01)
    w0 = np.where(g[nuis.a == 0] < 0.01, 0.01 / 0.99, g[nuis.a == 0] / 0.7)
    assert att["ess_treated"] == n1  # ATT: every treated unit weighs 1
    assert att["ess_control"] == pytest.approx(kish_ess(w0))
    assert att["share_clipped"] == pytest.approx(0.005)
    # one control with a huge weight: its arm's ESS collapses and the warning says so
    a = np.r_[np.ones(50, int), np.zeros(50, int)]
    g = np.r_[np.full(50, 0.5), 0.999, np.full(49, 0.5)]
    bad = overlap_diagnostics(g, a, "ATE", bound=0.0)
    assert bad["ess_control"] < ESS_MIN_UNITS and bad["max_weight"] > 0.9
    assert bad["warning"].startswith("control ESS")
    capped = overlap_diagnostics(g, a, "ATE", bound=0.0, cap=10.0)
    assert capped["share_clipped"] == pytest.approx(0.01) and capped["warning"] == ""


# --------------------------------------------------------------------------- influence and fit diagnostics


def planted_rct(n: int = 400, seed: int = 0, plant: bool = True) -> tuple[pd.DataFrame, Nuisances]:
    """A randomized trial with true nuisances (g = 0.5, Q the arm means); with ``plant``, unit 0
    is treated, has a fitted propensity of 0.002 and an outcome 10 SDs above its arm's mean."""
    r = np.random.default_rng(seed)
    a = r.binomial(1, 0.5, n)
    y = 1.0 + 0.7 * a + r.normal(size=n)
    g = np.full(n, 0.5)
    if plant:
        a[0], g[0], y[0] = 1, 0.002, 1.7 + 10.0
    nuis = Nuisances(a, y, g, np.full(n, 1.0), np.full(n, 1.7), np.arange(n) % 2, "continuous")
    df = pd.DataFrame(
        {"w1": r.normal(size=n), "w2": r.normal(size=n), "w3": r.binomial(1, 0.4, n), "a": a, "y": y}
    )
    return df, nuis


def test_a_unit_that_holds_the_influence_is_flagged():
    df, nuis = planted_rct()
    shared = SharedNuisances(nuis, "ok", 0.0, "linear")
    rows = {r["estimator"]: r for r in estimate_grid(df, CONTINUOUS, SHARED, "linear", shared=shared)}
    # AIPW's influence terms by hand: the bound 0.01 turns the planted 1/0.002 into a weight of 100
    h1 = np.where(nuis.a == 1, 1 / np.clip(nuis.g, 0.01, 0.99), 0.0)
    h0 = np.where(nuis.a == 0, 1 / (1 - np.clip(nuis.g, 0.01, 0.99)), 0.0)
    terms = (nuis.q1 - nuis.q0) + h1 * (nuis.y - nuis.q1) - h0 * (nuis.y - nuis.q0)
    sq = (terms - terms.mean()) ** 2
    assert rows["aipw"]["max_influence_share"] == pytest.approx(sq[0] / sq.sum(), rel=1e-12)
    assert sq.argmax() == 0 and sq[0] / sq.sum() > 0.9
    for name, r in rows.items():
        # the weights alone do not show it: one weight of 100 among ~200 of 2 leaves the ESS large
        assert r["ess_treated"] > 0.05 * nuis.a.sum(), name
        assert r["max_influence_share"] > 0.25, name
        assert "of the summed squared influence terms (above 25%)" in r["warning"], name
    # the same trial without the planted unit: no flag; a threshold of 1 never flags
    df, clean = planted_rct(plant=False)
    for r in estimate_grid(
        df, CONTINUOUS, SHARED, "linear", shared=SharedNuisances(clean, "ok", 0.0, "linear")
    ):
        assert r["max_influence_share"] < 0.05 and r["warning"] == "", r
    df, nuis = planted_rct()
    never = estimate_grid(df, CONTINUOUS, SHARED, "linear", options={"influence_share": 1.0}, shared=shared)
    assert all(r["warning"] == "" for r in never)


def test_grid_rows_carry_the_out_of_fold_fit_of_their_nuisances():
    df = confounded(400, 5)
    shared = fit_shared_nuisances(df, CONTINUOUS, "linear", folds=3, seed=2)
    quality = shared.nuisances.quality()
    rows = {
        r["estimator"]: r
        for r in estimate_grid(df, CONTINUOUS, ALL, "linear", folds=3, seed=2, shared=shared)
    }
    for name in SHARED:
        assert rows[name]["propensity_auc_oof"] == quality["propensity_auc_oof"]
        expected = math.nan if name.startswith("iptw") else quality["outcome_r2_oof"]
        assert rows[name]["outcome_r2_oof"] == pytest.approx(expected, nan_ok=True)
    # dml reports its own models' fit on the same folds: the same linear models up to their seeds
    assert rows["dml"]["propensity_auc_oof"] == pytest.approx(quality["propensity_auc_oof"], abs=1e-3)
    assert rows["dml"]["outcome_r2_oof"] == pytest.approx(quality["outcome_r2_oof"], abs=1e-3)
    assert rows["dml"]["max_influence_share"] == pytest.approx(rows["aipw"]["max_influence_share"], rel=0.05)
    in_sample = estimate_grid(df, CONTINUOUS, SHARED, "linear", cross_fit=False, seed=2)
    assert all(math.isnan(r["outcome_r2_oof"]) and math.isnan(r["propensity_auc_oof"]) for r in in_sample)


def test_super_learner_stacks_the_regularized_boosting():
    from causalsynth.core.learners import make_learner

    for task in ("classification", "regression"):
        names = [name for name, _ in make_learner("super_learner", task, 0).estimators]
        assert names == ["linear", "random_forest", "gradient_boosting_regularized"]


def test_real_estimates_add_the_reference_learner_rows(tmp_path):
    from causalsynth.core.io import write_json, write_parquet
    from causalsynth.estimate.real import run_real_estimates

    train, card = tmp_path / "train.parquet", tmp_path / "card.json"
    write_parquet(confounded(300, 4), train)
    write_json({**CONTINUOUS.to_dict(), "truth": {"ate": 2.0, "kind": "exact"}}, card)
    params = {"estimators": ["aipw", "tmle"], "learners": ["linear"], "folds": 2}

    def run(**extra):
        return run_real_estimates(
            str(train), str(card), {**params, **extra}, 5, 1, str(tmp_path / "o.parquet"), "toy"
        )

    plain = run()
    assert list(plain["learner"]) == ["linear", "linear"]
    # the reference learner's rows follow the grid's, on the same folds; the grid's are unchanged
    ref = run(reference_learner="random_forest")
    assert list(zip(ref["estimator"], ref["learner"], strict=True)) == [
        ("aipw", "linear"), ("tmle", "linear"), ("aipw", "random_forest"), ("tmle", "random_forest"),
    ]  # fmt: skip
    pd.testing.assert_frame_equal(ref.iloc[:2].drop(columns="seconds"), plain.drop(columns="seconds"))
    assert (ref["status"] == "ok").all() and ref["propensity_auc_oof"].between(0.5, 1).all()
    # a reference learner that is already a grid learner adds nothing; an unknown one fails
    assert len(run(reference_learner="linear")) == 2
    with pytest.raises(UnknownComponentError, match="valid learners"):
        run(reference_learner="svm")


def test_iptw_standard_error_treats_g_as_known_and_is_conservative_for_the_ate():
    # the documented promise (config/README.md): with g from a correct logistic fit the
    # known-g sandwich overstates IPTW's sampling SD; AIPW's EIF SE does not
    reps = 80
    rows = []
    for rep in range(reps):
        r = np.random.default_rng(derive_seed(5, "iptw-se", rep=rep))
        w1, w2, w3 = r.normal(size=1000), r.normal(size=1000), r.binomial(1, 0.4, 1000)
        a = r.binomial(1, expit(0.8 * w1 - 0.8 * w2 + 0.5 * w3 - 0.2))
        y = 1 + 1.5 * w1 + w2 + 0.3 * w3 + 2 * a + r.normal(size=1000)
        df = pd.DataFrame({"w1": w1, "w2": w2, "w3": w3, "a": a, "y": y})
        rows += estimate_grid(df, CONTINUOUS, ["iptw", "aipw"], "linear", folds=2, seed=rep)
    frame = pd.DataFrame(rows).groupby("estimator").agg(se=("se", "mean"), sd=("ate", "std"))
    assert frame.loc["iptw", "se"] > 1.2 * frame.loc["iptw", "sd"]  # 1.42 here
    assert frame.loc["aipw", "se"] == pytest.approx(frame.loc["aipw", "sd"], rel=0.25)
