"""Nuisance fitting: out-of-fold predictions, the in-sample option, failures as NuisanceFailure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from causalsynth.core.encoding import CovariateEncoder
from causalsynth.core.learners import make_learner
from causalsynth.core.roles import Roles
from causalsynth.core.seeds import derive_seed
from causalsynth.estimate import nuisance as nuis_mod
from causalsynth.estimate.nuisance import (
    MIN_ARM_UNITS,
    NuisanceFailure,
    NuisanceFitter,
    Nuisances,
    arm_problem,
    fit_nuisances,
    treatment_folds,
)

ROLES = Roles("a", "y", "continuous", {"w1": "continuous", "w2": "binary", "c": "categorical"})


def table(n: int, seed: int, binary: bool = False) -> pd.DataFrame:
    r = np.random.default_rng(seed)
    w1, w2 = r.normal(size=n), r.binomial(1, 0.5, n)
    c = r.choice(["x", "y", "z"], size=n)
    a = r.binomial(1, expit(0.5 * w1 + 0.3 * w2 - 0.3))
    eta = 0.5 * w1 - 0.4 * w2 + 0.6 * (c == "z") + 1.5 * a
    y = r.binomial(1, expit(eta - 0.5)) if binary else eta + r.normal(size=n)
    return pd.DataFrame({"w1": w1, "w2": w2, "c": c, "a": a, "y": y})


def test_folds_are_stratified_by_treatment_and_partition_the_rows():
    a = np.r_[np.ones(23, int), np.zeros(77, int)]
    folds = treatment_folds(a, 5, seed=1)
    tests = np.concatenate([test for _, test in folds])
    assert sorted(tests) == list(range(100))
    treated_per_fold = [int(a[test].sum()) for _, test in folds]
    assert max(treated_per_fold) - min(treated_per_fold) <= 1
    assert [t.tolist() for _, t in folds] == [t.tolist() for _, t in treatment_folds(a, 5, seed=1)]
    assert [t.tolist() for _, t in folds] != [t.tolist() for _, t in treatment_folds(a, 5, seed=2)]


def test_cross_fitted_predictions_come_from_models_that_never_saw_the_row():
    df = table(400, 1)
    fitter = NuisanceFitter("linear", folds=4, random_state=3).fit(df, ROLES)
    nuis = fitter.nuisances_
    assert sorted(set(nuis.fold)) == [0, 1, 2, 3]
    # rebuild fold 2 by hand: encoder and learners fitted on the training rows only
    train, test = fitter.splits_[2]
    enc = CovariateEncoder(ROLES).fit(df.iloc[train])
    x_tr, x_te = enc.transform(df.iloc[train]), enc.transform(df.iloc[test])
    a = df["a"].to_numpy()
    g = make_learner("linear", "classification", derive_seed(3, "propensity", rep=2)).fit(x_tr, a[train])
    np.testing.assert_allclose(nuis.g[test], g.predict_proba(x_te)[:, 1])
    y = df["y"].to_numpy()
    for arm, q in ((1, nuis.q1), (0, nuis.q0)):
        # one outcome model per arm, fitted on that arm's training rows only
        rows = a[train] == arm
        seed = derive_seed(3, "outcome", estimator=f"arm{arm}", rep=2)
        h = make_learner("linear", "regression", seed).fit(x_tr[rows], y[train][rows])
        np.testing.assert_allclose(q[test], h.predict(x_te))
    np.testing.assert_allclose(nuis.qa, np.where(nuis.a == 1, nuis.q1, nuis.q0))


def test_in_sample_option_fits_once_on_the_whole_table():
    df = table(300, 2)
    nuis = fit_nuisances(df, ROLES, "linear", cross_fit=False, seed=0)
    assert (nuis.fold == -1).all()
    x = CovariateEncoder(ROLES).fit_transform(df)
    a, y = df["a"].to_numpy(), df["y"].to_numpy()
    h1 = make_learner("linear", "regression", 0).fit(x[a == 1], y[a == 1])
    h0 = make_learner("linear", "regression", 0).fit(x[a == 0], y[a == 0])
    np.testing.assert_allclose(nuis.q1, h1.predict(x))
    np.testing.assert_allclose(nuis.q0, h0.predict(x))
    # per-arm models: Q1 - Q0 varies with W even for the linear learner
    assert np.std(nuis.q1 - nuis.q0) > 0.01


def test_binary_outcome_uses_probabilities():
    df = table(400, 4, binary=True)
    roles = Roles("a", "y", "binary", ROLES.covariates)
    nuis = fit_nuisances(df, roles, "linear", folds=3)
    for pred in (nuis.g, nuis.q0, nuis.q1):
        assert ((pred > 0) & (pred < 1)).all()
    assert (nuis.q1 > nuis.q0).mean() > 0.99  # the effect is positive everywhere
    assert set(np.unique(nuis.y)) == {0.0, 1.0}


def test_random_forest_predictions_are_reproducible():
    df = table(150, 5)
    first = fit_nuisances(df, ROLES, "random_forest", folds=2, seed=1)
    again = fit_nuisances(df, ROLES, "random_forest", folds=2, seed=1)
    np.testing.assert_array_equal(first.g, again.g)
    np.testing.assert_array_equal(first.q1, again.q1)


def test_single_outcome_class_in_a_training_fold_fails_with_its_fold():
    df = table(100, 6, binary=True)
    df["y"] = 0
    df.loc[df.index[df["a"] == 0][0], "y"] = 1
    roles = Roles("a", "y", "binary", ROLES.covariates)
    with pytest.raises(NuisanceFailure, match=r"training data of fold \d of 5 hold a single outcome class"):
        fit_nuisances(df, roles, "linear", folds=5)


def test_small_arms_fail_before_fitting():
    a = np.r_[np.ones(4, int), np.zeros(50, int)]
    assert arm_problem(a, 5, True) == "treatment arm A=1 has 4 unit(s); at least 5 are needed"
    assert "for 8-fold cross-fitting" in arm_problem(np.r_[np.ones(7, int), np.zeros(50, int)], 8, True)
    assert arm_problem(np.r_[np.ones(MIN_ARM_UNITS, int), np.zeros(9, int)], 2, False) is None
    df = table(60, 7)
    df["a"] = 1
    with pytest.raises(NuisanceFailure, match="A=0 has 0 unit"):
        fit_nuisances(df, ROLES, "linear")


def test_learner_exceptions_become_nuisance_failures(monkeypatch):
    class Broken:
        def fit(self, x, y):
            raise ValueError("cannot fit")

    monkeypatch.setattr(nuis_mod, "make_learner", lambda *args, **kwargs: Broken())
    with pytest.raises(NuisanceFailure, match="propensity learner 'linear' failed on the whole table"):
        fit_nuisances(table(100, 8), ROLES, "linear", cross_fit=False)


def test_nuisances_validate_their_arrays():
    with pytest.raises(ValueError, match="'g' has 2 rows"):
        Nuisances(
            np.array([0, 1, 1]), np.zeros(3), np.zeros(2), np.zeros(3), np.zeros(3), np.zeros(3), "binary"
        )
    with pytest.raises(ValueError, match="only 0 and 1"):
        Nuisances(np.array([0, 2]), *(np.zeros(2),) * 5, "binary")


def test_an_arm_with_a_single_outcome_class_predicts_that_class():
    df = table(300, 9, binary=True)
    roles = Roles("a", "y", "binary", ROLES.covariates)
    df.loc[df["a"] == 1, "y"] = 1  # every treated unit has the event; the controls have both classes
    nuis = fit_nuisances(df, roles, "linear", folds=3)
    np.testing.assert_array_equal(nuis.q1, 1.0)
    assert ((nuis.q0 > 0) & (nuis.q0 < 1)).all()


def _true_att_linear_heterogeneous() -> float:
    # ATT = 1 + E[W | A = 1] = 1 + E[W expit(0.8 W)] / E[expit(0.8 W)], W ~ N(0, 1), by quadrature
    x, w = np.polynomial.hermite_e.hermegauss(80)
    e = expit(0.8 * x)
    return 1.0 + float(np.sum(w * x * e) / np.sum(w * e))


def test_per_arm_linear_models_give_substitution_the_att_under_effect_heterogeneity():
    from causalsynth.estimate.estimators import make_estimator

    r = np.random.default_rng(20240611)
    n = 4000
    w = r.normal(size=n)
    a = r.binomial(1, expit(0.8 * w))
    y = w + a * (1 + w) + r.normal(size=n)
    roles = Roles("a", "y", "continuous", {"w": "continuous"}, estimand="ATT")
    nuis = fit_nuisances(pd.DataFrame({"w": w, "a": a, "y": y}), roles, "linear", folds=5, seed=1)
    result = make_estimator("substitution").estimate(nuis)
    att = _true_att_linear_heterogeneous()
    # one model on (W, A) made Q1 - Q0 constant: substitution gave the ATE (1), 0.35 below the ATT
    assert abs(result.ate - att) < 3 * result.se, (result, att)
    assert abs(result.ate - 1.0) > 3 * result.se


# --------------------------------------------------------------------------- out-of-fold fit quality


def test_fit_quality_is_r2_and_auc_of_the_out_of_fold_predictions():
    from sklearn.metrics import r2_score, roc_auc_score

    df = table(400, 6)
    nuis = fit_nuisances(df, ROLES, "linear", folds=4, seed=2)
    q = nuis.quality()
    assert q["outcome_r2_oof"] == pytest.approx(r2_score(nuis.y, nuis.qa), abs=1e-12)
    assert q["propensity_auc_oof"] == pytest.approx(roc_auc_score(nuis.a, nuis.g), abs=1e-12)
    # the linear models are right here: the outcome is well predicted, A somewhat
    assert q["outcome_r2_oof"] > 0.5 and 0.55 < q["propensity_auc_oof"] < 0.8


def test_fit_quality_of_a_binary_outcome_is_the_brier_skill_score():
    a = np.array([0, 0, 1, 1])
    y = np.array([0.0, 1.0, 1.0, 1.0])
    qa = np.array([0.25, 0.5, 1.0, 0.75])
    g = np.array([0.2, 0.6, 0.4, 0.9])
    q = nuis_mod.fit_quality(a, y, g, qa)
    # Brier 0.0625 + 0.25 + 0 + 0.0625 = 0.375 over 4; the constant 0.75 scores 0.1875 each
    assert q["outcome_r2_oof"] == pytest.approx(1 - 0.375 / 0.75)
    # of the four (treated, control) pairs the treated unit ranks higher in three
    assert q["propensity_auc_oof"] == pytest.approx(0.75)
    constant = nuis_mod.fit_quality(a, np.ones(4), g, qa)
    assert np.isnan(constant["outcome_r2_oof"])


def test_in_sample_nuisances_report_no_out_of_fold_quality():
    nuis = fit_nuisances(table(200, 3), ROLES, "linear", cross_fit=False, seed=0)
    assert not nuis.cross_fitted
    assert all(np.isnan(v) for v in nuis.quality().values())


def test_an_overfitting_learner_shows_its_out_of_fold_auc():
    # A independent of W: a fully grown forest separates its training rows, but out of fold
    # its propensity ranks the arms no better than chance
    r = np.random.default_rng(8)
    df = table(400, 8).assign(a=r.binomial(1, 0.4, 400))
    nuis = fit_nuisances(df, ROLES, "random_forest", folds=3, seed=1)
    assert abs(nuis.quality()["propensity_auc_oof"] - 0.5) < 0.1
    in_sample = fit_nuisances(df, ROLES, "random_forest", cross_fit=False, seed=1)
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(in_sample.a, in_sample.g) > 0.95
