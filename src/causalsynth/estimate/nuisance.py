"""Nuisance models shared by the ATE estimators: the propensity g and the outcome model h.

For a table (W, A, Y) this module predicts, for every row,

* ``g(W) = P(A = 1 | W)`` from a classifier of A on W, and
* ``Q1(W) = E[Y | A = 1, W]`` from a model fitted on the treated rows only and
  ``Q0(W) = E[Y | A = 0, W]`` from a model fitted on the control rows only (the paper's
  h(Y | A, W), one model per arm). A single model on (W, A) predicted with A set to 0 and 1 cannot
  express effect heterogeneity for an additive learner: with ``linear``, Q1 - Q0 would be its
  coefficient of A, the same for every row, and substitution's ATT would be the ATE. A binary
  outcome uses a classifier (``predict_proba``), a continuous one a regressor.

  A binary outcome of one class in an arm's training rows (every treated unit of a training fold
  had Y = 1, say) is predicted as that constant for the arm: it is the arm's maximum-likelihood
  fit, and classifiers cannot be fitted on one class. A training fold whose outcome is of one
  class in *both* arms carries no outcome information at all and fails with a status.

By default the predictions are cross-fitted: K folds stratified by treatment, each row predicted
by models that never saw it, covariates encoded by a :class:`~causalsynth.core.encoding.CovariateEncoder`
fitted inside each training fold. ``cross_fit=False`` fits every model once on the whole table and
predicts in-sample, as the paper's scripts do, so its numbers can be reproduced.

Predictions are returned as fitted: no bounding away from 0 and 1 happens here. Each estimator
bounds g with the grid's one propensity bound (see :mod:`causalsynth.estimate.estimators`).

How good the nuisances are, out of fold (:func:`fit_quality`): ``outcome_r2_oof`` is
``1 - sum (Y - Q_A(W))^2 / sum (Y - mean Y)^2`` over every row at its observed arm; for a binary
outcome the same formula on the predicted probabilities is the Brier skill score (the Brier score
relative to that of the constant prediction mean Y, Efron's pseudo-R^2). ``propensity_auc_oof``
is the ROC AUC of g for A. Both are NaN where the predictions were made in sample
(``cross_fit=False``): an in-sample fit scores itself on rows it saw, which is how a learner that
overfits looks good (``gradient_boosting`` on nhefs: AUC 0.99 in its training folds, 0.589 out
of fold).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from causalsynth.core.encoding import CovariateEncoder
from causalsynth.core.errors import ComponentFailure
from causalsynth.core.learners import make_learner
from causalsynth.core.roles import MIN_ARM_UNITS, Roles, min_arm_units
from causalsynth.core.seeds import derive_seed

Splits = list[tuple[np.ndarray, np.ndarray]]

# the fit-quality columns of nuisances that were not fitted out of fold, or not at all
NO_FIT_QUALITY = {"outcome_r2_oof": math.nan, "propensity_auc_oof": math.nan}


class NuisanceFailure(ComponentFailure):
    """The nuisance models could not be fitted; the message is the status of the affected cells."""


@dataclass(frozen=True)
class Nuisances:
    """Per-row treatment, outcome and nuisance predictions of one table.

    ``fold`` is the test fold each prediction comes from (-1 when fitted in-sample).
    ``estimand`` is the target the estimators use: ``"ATE"`` or ``"ATT"``.
    """

    a: np.ndarray
    y: np.ndarray
    g: np.ndarray
    q0: np.ndarray
    q1: np.ndarray
    fold: np.ndarray
    outcome_type: str
    estimand: str = "ATE"

    def __post_init__(self) -> None:
        n = len(self.a)
        for name in ("y", "g", "q0", "q1", "fold"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"Nuisances: '{name}' has {len(getattr(self, name))} rows, 'a' has {n}")
        if not np.isin(self.a, (0, 1)).all():
            raise ValueError("Nuisances: the treatment 'a' must hold only 0 and 1")

    @property
    def n(self) -> int:
        return len(self.a)

    @property
    def qa(self) -> np.ndarray:
        """Outcome prediction at the observed treatment, Q(A, W)."""
        return np.where(self.a == 1, self.q1, self.q0)

    @property
    def cross_fitted(self) -> bool:
        """Whether every prediction comes from models that did not see its row."""
        return bool(np.all(self.fold >= 0))

    def quality(self) -> dict[str, float]:
        """:func:`fit_quality` of these predictions; NaN for both when fitted in sample."""
        return dict(self._quality)

    @functools.cached_property
    def _quality(self) -> dict[str, float]:
        # computed once: every estimator of a grid reports it, on the same predictions
        if not self.cross_fitted:
            return dict(NO_FIT_QUALITY)
        return fit_quality(self.a, self.y, self.g, self.qa)


def fit_quality(a: np.ndarray, y: np.ndarray, g: np.ndarray, qa: np.ndarray) -> dict[str, float]:
    """``outcome_r2_oof`` and ``propensity_auc_oof`` of out-of-fold predictions (module docstring).

    ``qa`` is the outcome prediction at the observed arm, ``g`` the propensity as fitted. NaN
    where a score is undefined: a constant outcome (R^2) or a single arm (AUC).
    """
    a, y, g, qa = (np.asarray(v, dtype=float) for v in (a, y, g, qa))
    total = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum((y - qa) ** 2)) / total if total > 0 else math.nan
    auc = float(roc_auc_score(a, g)) if np.unique(a).size == 2 else math.nan
    return {"outcome_r2_oof": r2, "propensity_auc_oof": auc}


def treatment_folds(a: np.ndarray, folds: int, seed: int) -> Splits:
    """K (train, test) index pairs stratified by treatment.

    The same ``(a, folds, seed)`` always gives the same folds, so the library estimators
    (DoubleML) can be run on exactly the folds of the shared nuisances.
    """
    if folds < 2:
        raise ValueError(f"cross-fitting needs at least 2 folds, got {folds}")
    a = np.asarray(a)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return [(train, test) for train, test in splitter.split(np.zeros((len(a), 1)), a)]


def arm_problem(a: np.ndarray, folds: int, cross_fit: bool) -> str | None:
    """The reason a table's arms are too small to estimate on, or None when they are fine."""
    a = np.asarray(a)
    need = min_arm_units(folds, cross_fit)
    for arm in (1, 0):
        count = int((a == arm).sum())
        if count < need:
            return f"treatment arm A={arm} has {count} unit(s); at least {need} are needed" + (
                f" for {folds}-fold cross-fitting" if cross_fit and folds > MIN_ARM_UNITS else ""
            )
    return None


def _positive_proba(model, x: np.ndarray) -> np.ndarray:
    classes = list(model.classes_)
    return model.predict_proba(x)[:, classes.index(1)]


class NuisanceFitter:
    """Fit g and h on a table and return their (out-of-fold) predictions.

    Parameters
    ----------
    learner:
        Name in :data:`causalsynth.core.learners.LEARNERS`, used for both g and h.
    folds:
        Number of cross-fitting folds (stratified by treatment); ignored when ``cross_fit`` is off.
    cross_fit:
        ``False`` fits on the whole table and predicts in-sample (the paper's protocol).
    random_state:
        Base seed of the fold split and of every learner.
    n_jobs:
        Passed to the learners.

    After :meth:`fit`: ``nuisances_`` (:class:`Nuisances`) and ``splits_`` (the folds used).
    """

    def __init__(
        self,
        learner: str = "random_forest",
        folds: int = 5,
        cross_fit: bool = True,
        random_state: int = 0,
        n_jobs: int = 1,
    ):
        self.learner = learner
        self.folds = folds
        self.cross_fit = cross_fit
        self.random_state = random_state
        self.n_jobs = n_jobs

    def splits(self, a: np.ndarray) -> Splits:
        """The (train, test) pairs this fitter uses for treatment vector ``a``."""
        if not self.cross_fit:
            idx = np.arange(len(a))
            return [(idx, idx)]
        return treatment_folds(a, self.folds, derive_seed(self.random_state, "folds"))

    def fit(self, df: pd.DataFrame, roles: Roles) -> NuisanceFitter:
        a = df[roles.treatment].to_numpy(dtype=np.int64)
        y = df[roles.outcome].to_numpy(dtype=float)
        problem = arm_problem(a, self.folds, self.cross_fit)
        if problem is not None:
            raise NuisanceFailure(problem)
        binary = roles.outcome_type == "binary"
        n = len(df)
        g, q0, q1 = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
        fold_of = np.full(n, -1, dtype=np.int64)
        splits = self.splits(a)
        for k, (train, test) in enumerate(splits):
            where = f"fold {k + 1} of {len(splits)}" if self.cross_fit else "the whole table"
            # the encoder sees only training rows, like the learners
            encoder = CovariateEncoder(roles).fit(df.iloc[train])
            x_train = encoder.transform(df.iloc[train])
            x_test = encoder.transform(df.iloc[test])
            g[test] = self._fit_propensity(x_train, a[train], x_test, k, where)
            q0[test], q1[test] = self._fit_outcome(x_train, a[train], y[train], x_test, binary, k, where)
            if self.cross_fit:
                fold_of[test] = k
        for name, pred in (("propensity", g), ("outcome", q0), ("outcome", q1)):
            if not np.isfinite(pred).all():
                raise NuisanceFailure(f"{name} learner '{self.learner}' returned non-finite predictions")
        self.splits_ = splits
        self.nuisances_ = Nuisances(
            a=a,
            y=y,
            g=g,
            q0=q0,
            q1=q1,
            fold=fold_of,
            outcome_type=roles.outcome_type,
            estimand=roles.estimand,
        )
        return self

    def _fit_propensity(self, x_train, a_train, x_test, k: int, where: str) -> np.ndarray:
        if np.unique(a_train).size < 2:
            raise NuisanceFailure(f"the training data of {where} hold a single treatment arm")
        model = make_learner(
            self.learner, "classification", derive_seed(self.random_state, "propensity", rep=k), self.n_jobs
        )
        try:
            model.fit(x_train, a_train)
            return _positive_proba(model, x_test)
        except Exception as exc:  # any learner failure becomes the status of the cell
            raise NuisanceFailure(
                f"propensity learner '{self.learner}' failed on {where}: {type(exc).__name__}: {exc}"
            ) from exc

    def _fit_outcome(self, x_train, a_train, y_train, x_test, binary: bool, k: int, where: str):
        """(Q0, Q1) on ``x_test`` from one model per arm, each fitted on that arm's training rows."""
        if binary and np.unique(y_train).size < 2:
            raise NuisanceFailure(
                f"the training data of {where} hold a single outcome class (Y={int(y_train[0])})"
            )
        task = "classification" if binary else "regression"
        preds = []
        for arm in (0, 1):
            rows = a_train == arm
            y_arm = y_train[rows]
            if binary and np.unique(y_arm).size < 2:
                # the arm's maximum-likelihood fit; a classifier cannot be fitted on one class
                preds.append(np.full(len(x_test), float(y_arm[0])))
                continue
            seed = derive_seed(self.random_state, "outcome", estimator=f"arm{arm}", rep=k)
            model = make_learner(self.learner, task, seed, self.n_jobs)
            try:
                if binary:
                    model.fit(x_train[rows], y_arm.astype(np.int64))
                    preds.append(_positive_proba(model, x_test))
                else:
                    model.fit(x_train[rows], y_arm)
                    preds.append(model.predict(x_test).astype(float))
            except Exception as exc:  # any learner failure becomes the status of the cell
                raise NuisanceFailure(
                    f"outcome learner '{self.learner}' failed on {where}: {type(exc).__name__}: {exc} "
                    f"(the model of arm A={arm})"
                ) from exc
        return preds[0], preds[1]


def fit_nuisances(
    df: pd.DataFrame,
    roles: Roles,
    learner: str = "random_forest",
    folds: int = 5,
    cross_fit: bool = True,
    seed: int = 0,
    n_jobs: int = 1,
) -> Nuisances:
    """Shortcut for ``NuisanceFitter(...).fit(df, roles).nuisances_``."""
    return NuisanceFitter(learner, folds, cross_fit, seed, n_jobs).fit(df, roles).nuisances_
