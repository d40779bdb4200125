"""Hybrid synthetic data: synthetic covariates, treatment and outcome drawn from learned models.

``hybrid_<base>`` takes the DCR-filtered covariates W~ of a base generator (``ctgan``,
``great``, ...; the base's own treatment and outcome columns are dropped), learns the
propensity g(A|W) and the outcome model h(Y|A,W) on the real training table and draws

* A~ ~ Bernoulli(g(W~)) (``assignment: learned``), or A~ ~ Bernoulli(p_treat)
  independent of W~ (``assignment: randomized``, the follow-up paper's variant);
* Y~ ~ h(. | A~, W~): Bernoulli(h(A~, W~)) for a binary outcome; for a continuous outcome
  the mean model m(A~, W~) plus a residual drawn with replacement from the *out-of-fold*
  residuals of the training units of the same arm, centred within the arm.

h is one model per arm (``outcome_model: per_arm``, the default): m(a, .) is learned on the
training units with A = a alone. Why: a single model on (W, A) (``pooled``, the papers' choice,
kept for ``config/paper.yaml``) treats A as one feature among many; a forest rarely splits on
it, so m(1, W) - m(0, W) is shrunk toward 0 (on five ``sim_paper`` training sets the pooled
pool's ATE fell 0.040 short of the set's own difference in means on average, short in all
five; per-arm models 0.009: the test of tests/unit/test_hybrid.py), and every hybrid starts
with that error before its covariates matter.

Why this noise model: in-sample residuals of flexible learners (fully grown forests) are
nearly zero and would make the synthetic outcome far less noisy than the real one; out-of-fold
residuals keep the real noise level, and drawing them per arm keeps a treatment-dependent
spread. Centring them makes m the exact conditional mean of the synthetic population, so
the pool's effect is known exactly: ``engine_truth`` = mean over the pool of
m(1, W~) - m(0, W~) (over the units with A~ = 1 for an ATT estimand), the same plug-in
formula as for a binary outcome with h the fitted probability. The noise does not depend on
W beyond the arm, a documented simplification.

``hybrid_real`` bootstraps W~ from the real training rows instead: an oracle that isolates
the nuisance-model error from the covariate error; it is not releasable. Its g and h are
cross-fitted (``n_folds`` folds stratified by treatment; encoder and models see only the
training folds), and each bootstrap row keeps the out-of-fold mu0, mu1 and propensity of the
real row it copies. Why: a flexible learner evaluated at the rows it was fit on memorizes
them (a fully grown forest gives real treated units propensities near 1 on an RCT), so A~
would mostly copy the real A and the pool would inherit the real rows' noise instead of the
models' structure. The continuous-outcome residuals then come from the same folds.

Propensities are used as the model gives them (no clipping); the share of extreme values is
recorded in the metadata.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict

from causalsynth.core.encoding import CovariateEncoder
from causalsynth.core.errors import ComponentFailure, ConfigError
from causalsynth.core.learners import LEARNERS, make_learner
from causalsynth.core.roles import Roles
from causalsynth.core.schema import default
from causalsynth.core.seeds import derive_seed
from causalsynth.core.threads import limit_threads

__all__ = [
    "ASSIGNMENTS",
    "OUTCOME_MODELS",
    "POOL_EXTRA_COLUMNS",
    "HybridGenerator",
    "engine_truth",
    "propensity_extremes",
]

ASSIGNMENTS = ("learned", "randomized")
OUTCOME_MODELS = ("per_arm", "pooled")
POOL_EXTRA_COLUMNS = ("mu0", "mu1", "propensity")


class HybridGenerator:
    """Learn g(A|W) and h(Y|A,W) on real data; attach treatment and outcome to new covariates.

    Parameters: ``learner`` (a name of :data:`causalsynth.core.learners.LEARNERS`), ``assignment``
    (``learned`` or ``randomized``), ``p_treat`` (treated probability when randomized),
    ``outcome_model`` (``per_arm``: one model of Y on W per arm; ``pooled``: one model on (W, A)),
    ``n_folds`` (folds for the out-of-fold residuals of a continuous outcome, and of the
    cross-fit behind :meth:`sample_training_rows`), ``random_state`` (base of the learners' seeds),
    ``n_jobs``.

    ``fit(train)`` fits on all training rows, for new covariates (:meth:`sample`);
    ``fit(train, out_of_fold=True)`` cross-fits instead and stores, for every training row, the
    predictions of the models that did not see it (:meth:`sample_training_rows`).
    """

    def __init__(
        self,
        roles: Roles,
        learner: str = default("hybrid", "learner"),
        assignment: str = default("hybrid", "assignment"),
        p_treat: float = default("hybrid", "p_treat"),
        n_folds: int = default("hybrid", "n_folds"),
        random_state: int = 0,
        n_jobs: int = 1,
        outcome_model: str = default("hybrid", "outcome_model"),
    ):
        self.roles = roles
        self.learner = learner
        self.assignment = assignment
        self.p_treat = p_treat
        self.n_folds = n_folds
        self.outcome_model = outcome_model
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _check_params(self) -> None:
        LEARNERS.get(self.learner)  # unknown names list the valid ones
        if self.assignment not in ASSIGNMENTS:
            raise ConfigError(f"hybrid assignment must be one of {ASSIGNMENTS}, got {self.assignment!r}")
        if self.outcome_model not in OUTCOME_MODELS:
            raise ConfigError(
                f"hybrid outcome_model must be one of {OUTCOME_MODELS}, got {self.outcome_model!r}"
            )
        p = self.p_treat
        if not (isinstance(p, int | float) and 0.0 < p < 1.0):
            raise ConfigError(f"hybrid p_treat must be in (0, 1), got {p!r}")
        if not (isinstance(self.n_folds, int) and self.n_folds >= 2):
            raise ConfigError(f"hybrid n_folds must be an integer >= 2, got {self.n_folds!r}")

    def fit(self, train: pd.DataFrame, out_of_fold: bool = False) -> HybridGenerator:
        """Fit on the real training table (role columns with canonical dtypes)."""
        self._check_params()
        roles = self.roles
        a = train[roles.treatment].to_numpy(dtype=np.int64)
        y = train[roles.outcome].to_numpy()
        for arm in (0, 1):
            if not (a == arm).any():
                raise ComponentFailure(
                    f"the training table has no units with {roles.treatment}={arm}: "
                    "the outcome model cannot learn that arm; use a dataset with both arms"
                )
        if roles.outcome_type == "binary" and np.unique(y).size < 2:
            raise ComponentFailure(
                f"the binary outcome '{roles.outcome}' takes a single value in the training table; "
                "an outcome model needs both values"
            )
        t0 = time.perf_counter()
        self.oof_: dict[str, Any] | None = None
        with limit_threads(self.n_jobs):
            if out_of_fold:
                self._cross_fit(train, a, y)
            else:
                self._fit(train, a, y)
        self.fit_seconds_ = time.perf_counter() - t0
        return self

    def _fit_models(self, train: pd.DataFrame, a: np.ndarray, y: np.ndarray, rep: int | str = "") -> None:
        """Encoder, propensity model (learned assignment) and outcome model on ``train``."""
        roles = self.roles
        self.encoder_ = CovariateEncoder(roles).fit(train)
        w = self.encoder_.transform(train)
        self.propensity_model_ = None
        if self.assignment == "learned":
            self.propensity_model_ = make_learner(
                self.learner,
                "classification",
                derive_seed(self.random_state, "hybrid.propensity", rep=rep),
                self.n_jobs,
            ).fit(w, a)
        task = "classification" if roles.outcome_type == "binary" else "regression"
        if self.outcome_model == "pooled":
            x = np.hstack([w, a[:, None].astype(float)])
            outcome_seed = derive_seed(self.random_state, "hybrid.outcome", rep=rep)
            self.outcome_model_ = make_learner(self.learner, task, outcome_seed, self.n_jobs).fit(x, y)
        else:
            self.outcome_model_ = {
                arm: self._arm_learner(task, arm, rep).fit(w[a == arm], y[a == arm])
                if task == "regression" or np.unique(y[a == arm]).size > 1
                else _ConstantProbability(float(y[a == arm][0]))
                for arm in (0, 1)
            }

    def _arm_learner(self, task: str, arm: int, rep: int | str = ""):
        return make_learner(
            self.learner,
            task,
            derive_seed(self.random_state, f"hybrid.outcome.arm{arm}", rep=rep),
            self.n_jobs,
        )

    def _fit(self, train: pd.DataFrame, a: np.ndarray, y: np.ndarray) -> None:
        self._fit_models(train, a, y)
        self.residuals_: dict[int, np.ndarray] | None = None
        if self.roles.outcome_type == "binary":
            return
        w = self.encoder_.transform(train)
        folds_seed = derive_seed(self.random_state, "hybrid.folds")
        if self.outcome_model == "pooled":
            x = np.hstack([w, a[:, None].astype(float)])
            folds = KFold(n_splits=min(self.n_folds, len(y)), shuffle=True, random_state=folds_seed)
            learner = make_learner(
                self.learner, "regression", derive_seed(self.random_state, "hybrid.outcome"), self.n_jobs
            )
            resid = y.astype(float) - cross_val_predict(learner, x, y, cv=folds)
            self.residuals_ = {arm: resid[a == arm] - resid[a == arm].mean() for arm in (0, 1)}
            return
        self.residuals_ = {}
        for arm in (0, 1):
            in_arm = a == arm
            if in_arm.sum() < 2:
                raise ComponentFailure(
                    f"only {int(in_arm.sum())} training unit has {self.roles.treatment}={arm}: the "
                    "out-of-fold residuals of a continuous outcome need at least 2 per arm"
                )
            folds = KFold(
                n_splits=min(self.n_folds, int(in_arm.sum())), shuffle=True, random_state=folds_seed
            )
            y_arm = y[in_arm].astype(float)
            resid = y_arm - cross_val_predict(
                self._arm_learner("regression", arm), w[in_arm], y_arm, cv=folds
            )
            self.residuals_[arm] = resid - resid.mean()

    def _cross_fit(self, train: pd.DataFrame, a: np.ndarray, y: np.ndarray) -> None:
        roles = self.roles
        k = self.n_folds
        for arm in (0, 1):
            if (a == arm).sum() < k:
                raise ComponentFailure(
                    f"only {int((a == arm).sum())} training units have {roles.treatment}={arm}, fewer than "
                    f"the {k} cross-fitting folds of hybrid_real; lower hybrid n_folds"
                )
        folds = StratifiedKFold(
            n_splits=k, shuffle=True, random_state=derive_seed(self.random_state, "hybrid.folds")
        )
        n = len(train)
        e, mu0, mu1 = np.empty(n), np.empty(n), np.empty(n)
        for fold, (fit_idx, out_idx) in enumerate(folds.split(np.zeros(n), a)):
            if roles.outcome_type == "binary" and np.unique(y[fit_idx]).size < 2:
                raise ComponentFailure(
                    f"the binary outcome '{roles.outcome}' takes a single value in cross-fitting fold "
                    f"{fold + 1} of hybrid_real; lower hybrid n_folds"
                )
            self._fit_models(train.iloc[fit_idx], a[fit_idx], y[fit_idx], rep=fold)
            held_out = train.iloc[out_idx]
            e[out_idx] = self.propensity(held_out)
            mu0[out_idx], mu1[out_idx] = self.outcome_means(held_out)
        # the fold models answer only for their own held-out rows: none may serve new covariates
        self.encoder_ = self.propensity_model_ = self.outcome_model_ = None
        self.residuals_ = None
        if roles.outcome_type != "binary":
            resid = y.astype(float) - np.where(a == 1, mu1, mu0)
            self.residuals_ = {arm: resid[a == arm] - resid[a == arm].mean() for arm in (0, 1)}
        self.oof_ = {
            "covariates": train[roles.covariate_names].reset_index(drop=True),
            "treatment": a,
            "propensity": e,
            "mu0": mu0,
            "mu1": mu1,
        }

    def _require_full_fit(self) -> None:
        if getattr(self, "oof_", None) is not None:
            raise ComponentFailure(
                "this hybrid model was cross-fitted (fit(..., out_of_fold=True)) and only predicts its "
                "training rows; use sample_training_rows, or fit(train) for new covariates"
            )

    def propensity(self, covariates: pd.DataFrame) -> np.ndarray:
        """Assignment probability of each row: g(W) (learned) or ``p_treat`` (randomized)."""
        self._require_full_fit()
        if self.assignment != "learned":
            return np.full(len(covariates), float(self.p_treat))
        w = self.encoder_.transform(covariates)
        return self.propensity_model_.predict_proba(w)[:, 1].astype(float)

    def outcome_means(self, covariates: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(h(0, W), h(1, W)): outcome probabilities (binary) or means (continuous)."""
        self._require_full_fit()
        w = self.encoder_.transform(covariates)
        means = []
        for arm in (0, 1):
            if self.outcome_model == "pooled":
                model, x = self.outcome_model_, np.hstack([w, np.full((len(w), 1), float(arm))])
            else:
                model, x = self.outcome_model_[arm], w
            if self.roles.outcome_type == "binary":
                means.append(model.predict_proba(x)[:, 1].astype(float))
            else:
                means.append(np.asarray(model.predict(x), dtype=float))
        return means[0], means[1]

    def sample(self, covariates: pd.DataFrame, seed: int) -> pd.DataFrame:
        """The pool: ``covariates`` with drawn treatment and outcome, plus mu0, mu1, propensity."""
        self._require_full_fit()
        with limit_threads(self.n_jobs):
            e = self.propensity(covariates)
            mu0, mu1 = self.outcome_means(covariates)
        return self._draw(covariates, e, mu0, mu1, seed)

    def sample_training_rows(self, rows: np.ndarray, seed: int) -> pd.DataFrame:
        """The oracle pool: training rows ``rows`` (positions, repeats allowed) with their
        out-of-fold predictions, drawn treatment and outcome. Needs ``fit(..., out_of_fold=True)``."""
        if getattr(self, "oof_", None) is None:
            raise ComponentFailure(
                "sample_training_rows needs out-of-fold predictions; fit with fit(train, out_of_fold=True)"
            )
        rows = np.asarray(rows, dtype=np.int64)
        oof = self.oof_
        covariates = oof["covariates"].iloc[rows].reset_index(drop=True)
        return self._draw(covariates, oof["propensity"][rows], oof["mu0"][rows], oof["mu1"][rows], seed)

    def _draw(
        self, covariates: pd.DataFrame, e: np.ndarray, mu0: np.ndarray, mu1: np.ndarray, seed: int
    ) -> pd.DataFrame:
        roles = self.roles
        rng = np.random.default_rng(seed)
        n = len(covariates)
        a = (rng.random(n) < e).astype(np.int64)
        mu = np.where(a == 1, mu1, mu0)
        if roles.outcome_type == "binary":
            y: np.ndarray = (rng.random(n) < mu).astype(np.int64)
        else:
            y = mu.copy()
            for arm in (0, 1):
                idx = np.flatnonzero(a == arm)
                y[idx] += rng.choice(self.residuals_[arm], size=idx.size, replace=True)
        pool = covariates[roles.covariate_names].reset_index(drop=True).copy()
        pool[roles.treatment] = a
        pool[roles.outcome] = y
        pool["mu0"] = mu0
        pool["mu1"] = mu1
        pool["propensity"] = e
        return pool


class _ConstantProbability:
    """The outcome model of an arm whose binary outcome takes one value in the training rows:
    the arm's observed frequency (0 or 1), which is the maximum-likelihood fit there."""

    def __init__(self, p: float):
        self.p = p

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return np.column_stack([np.full(len(x), 1.0 - self.p), np.full(len(x), self.p)])


def engine_truth(pool: pd.DataFrame, roles: Roles) -> float:
    """The pool's exact effect: mean of mu1 - mu0 (over treated rows for an ATT estimand)."""
    diff = pool["mu1"].to_numpy(dtype=float) - pool["mu0"].to_numpy(dtype=float)
    if roles.estimand == "ATT":
        treated = pool[roles.treatment].to_numpy() == 1
        if not treated.any():
            raise ComponentFailure("the pool has no treated rows, so its ATT is undefined")
        diff = diff[treated]
    return float(diff.mean())


def propensity_extremes(e: np.ndarray) -> dict[str, float | None]:
    """Shares of extreme propensities (none are clipped before the draw)."""
    e = np.asarray(e, dtype=float)
    if e.size == 0:
        return {}
    return {
        "min": float(e.min()),
        "max": float(e.max()),
        "share_exactly_0_or_1": float(((e == 0.0) | (e == 1.0)).mean()),
        "share_below_0.001": float((e < 0.001).mean()),
        "share_above_0.999": float((e > 0.999).mean()),
        "share_below_0.01": float((e < 0.01).mean()),
        "share_above_0.99": float((e > 0.99).mean()),
    }
