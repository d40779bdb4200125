"""Name-keyed nuisance learners for the propensity g(A|W) and the outcome h(Y|A,W).

Every entry is a factory ``(task, seed, n_jobs) -> unfitted scikit-learn estimator`` with
``task`` either ``"classification"`` (propensity, binary outcome) or ``"regression"``
(continuous outcome). Classifiers expose ``predict_proba``.
"""

from __future__ import annotations

from collections.abc import Callable

from sklearn.base import BaseEstimator
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
    StackingClassifier,
    StackingRegressor,
)
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from causalsynth.core.registry import Registry

TASKS = ("classification", "regression")

LearnerFactory = Callable[[str, int, int], BaseEstimator]
LEARNERS: Registry[LearnerFactory] = Registry("learner")


def _check_task(task: str) -> None:
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")


@LEARNERS.register("linear")
def linear(task: str, seed: int, n_jobs: int = 1) -> BaseEstimator:
    """Logistic regression (lightly penalized, standardized inputs) or OLS."""
    _check_task(task)
    if task == "classification":
        # C=1e4 is near-unpenalized yet stays finite under separation
        return make_pipeline(StandardScaler(), LogisticRegression(C=1e4, max_iter=5000))
    return make_pipeline(StandardScaler(), LinearRegression())


@LEARNERS.register("random_forest")
def random_forest(task: str, seed: int, n_jobs: int = 1) -> BaseEstimator:
    """scikit-learn's defaults, as in the paper (100 trees, fully grown)."""
    _check_task(task)
    cls = RandomForestClassifier if task == "classification" else RandomForestRegressor
    return cls(random_state=seed, n_jobs=n_jobs)


# 100 rounds at rate 0.1: the same cross-validated fit as 200 at 0.05 on the default datasets'
# sizes in about half the time (benchmarks/gradient_boosting.py: R^2 0.426 vs 0.425, 1.97x), and
# the grid fits this learner about 30 times per synthetic set
GRADIENT_BOOSTING_PARAMS = dict(max_iter=100, learning_rate=0.1, max_leaf_nodes=15, early_stopping=False)


@LEARNERS.register("gradient_boosting")
def gradient_boosting(task: str, seed: int, n_jobs: int = 1) -> BaseEstimator:
    """Histogram gradient boosting with early stopping off, so results do not depend on a split."""
    _check_task(task)
    cls = HistGradientBoostingClassifier if task == "classification" else HistGradientBoostingRegressor
    return cls(**GRADIENT_BOOSTING_PARAMS, random_state=seed)


# small trees, a slow rate, leaves of at least 40 rows and an L2 penalty: the same boosting,
# fitted so that it does not chase noise on a few hundred rows. On real rows it beats
# gradient_boosting where the outcome is mostly noise (lalonde_nsw holdout R^2 -0.02 vs -0.17,
# nhefs 0.11 vs 0.01) and gives up little where it is not (acic16 0.88 vs 0.92);
# benchmarks/tstr_judges.py prints the table
REGULARIZED_BOOSTING_PARAMS = dict(
    max_iter=100, learning_rate=0.05, max_leaf_nodes=7, min_samples_leaf=40, l2_regularization=1.0,
    early_stopping=False,
)  # fmt: skip


@LEARNERS.register("gradient_boosting_regularized")
def gradient_boosting_regularized(task: str, seed: int, n_jobs: int = 1) -> BaseEstimator:
    """Histogram gradient boosting regularized for small, noisy tables (the TSTR judge)."""
    _check_task(task)
    cls = HistGradientBoostingClassifier if task == "classification" else HistGradientBoostingRegressor
    return cls(**REGULARIZED_BOOSTING_PARAMS, random_state=seed)


# The stack's members: a parametric fit, a forest, and the boosting regularized for small noisy
# tables. Not the unregularized gradient_boosting: on nhefs it reaches a propensity AUC of 0.99
# inside the training folds and 0.589 out of fold; the regularized one has the best mean holdout
# R^2 of the single learners trained on real rows (config/README.md, `tstr`).
SUPER_LEARNER_MEMBERS = ("linear", "random_forest", "gradient_boosting_regularized")


@LEARNERS.register("super_learner")
def super_learner(task: str, seed: int, n_jobs: int = 1) -> BaseEstimator:
    """Stacking of :data:`SUPER_LEARNER_MEMBERS` on their 5-fold predictions.

    The regression meta-learner is non-negative least squares with an intercept, as the
    SuperLearner's NNLS: unconstrained weights (a ridge) let the stack extrapolate from
    members that disagree, and on lalonde_nsw's 311 rows its out-of-fold R^2 was -0.86 (NNLS:
    -0.03; nhefs, ihdp and sim_continuous equal or better). Classification: a logistic
    regression on the members' probabilities.
    """
    _check_task(task)
    base = [(name, LEARNERS.get(name)(task, seed, n_jobs)) for name in SUPER_LEARNER_MEMBERS]
    if task == "classification":
        cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
        return StackingClassifier(base, final_estimator=LogisticRegression(max_iter=2000), cv=cv, n_jobs=1)
    cv = KFold(n_splits=5, shuffle=True, random_state=seed)
    return StackingRegressor(base, final_estimator=LinearRegression(positive=True), cv=cv, n_jobs=1)


def make_learner(name: str, task: str, seed: int, n_jobs: int = 1) -> BaseEstimator:
    """Build the learner ``name`` for ``task``; unknown names list the valid ones."""
    return LEARNERS.get(name)(task, seed, n_jobs)
