"""The mechanism metrics of rule fidelity (STEAM, NeurIPS 2025): JSD_pi, the propensity's
Jensen-Shannon similarity, and U_PEHE, the CATE's RMSE over three CATE learners
(:mod:`causalsynth.evaluate.fidelity` says what each compares and with which real data)."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from scipy.spatial.distance import jensenshannon

from causalsynth.core.encoding import CovariateEncoder
from causalsynth.core.learners import make_learner
from causalsynth.core.roles import Roles
from causalsynth.core.schema import section_defaults
from causalsynth.core.seeds import derive_seed
from causalsynth.core.vocabulary import OK
from causalsynth.estimate.nuisance import NuisanceFailure, fit_nuisances
from causalsynth.estimate.weights import bound_propensity


def _classes_problem(values: np.ndarray, name: str) -> str | None:
    if np.unique(values).size < 2:
        return f"'{name}' takes a single value, so no model of it can be fitted"
    return None


def propensity(train: pd.DataFrame, roles: Roles, learner: str, seed: int, encoder: CovariateEncoder):
    """A fitted propensity model pi(w) = P(A=1 | W=w) on ``train``, or the reason there is none."""
    a = train[roles.treatment].to_numpy(dtype=np.int64)
    problem = _classes_problem(a, roles.treatment)
    if problem:
        return None, problem
    model = make_learner(learner, "classification", seed, 1).fit(encoder.transform(train), a)
    return model, OK


def _predict_positive(model, x: np.ndarray) -> np.ndarray:
    return model.predict_proba(x)[:, list(model.classes_).index(1)].astype(float)


def jsd_similarity(p: np.ndarray, q: np.ndarray) -> float:
    """STEAM's JSD_pi: 1 - mean Jensen-Shannon distance (base 2) of Bernoulli(p_i) and Bernoulli(q_i)."""
    p, q = np.clip(p, 0.0, 1.0), np.clip(q, 0.0, 1.0)
    d = jensenshannon(np.stack([1 - p, p]), np.stack([1 - q, q]), base=2, axis=0)
    return float(1.0 - np.mean(np.nan_to_num(d, nan=0.0)))


class Score(NamedTuple):
    """A metric's value, its status (``ok`` or why it is NaN) and what it was computed from."""

    value: float
    status: str
    detail: str = ""


# 2 folds: the DR-learner's nuisances are cross-fitted as in Kennedy's sample-splitting
# version, at the lowest cost (the fidelity job fits them for every set)
DR_FOLDS = 2


class CateLearner(ABC):
    """A CATE learner on ``learner``'s models: ``fit`` returns ``ok`` or the reason it cannot be
    fitted; ``cate`` predicts tau(w) on a table's covariates. ``encoder`` is fixed by the caller
    (H's), so the reference and the candidate see one covariate space."""

    name = ""

    def __init__(
        self, roles: Roles, learner: str, random_state: int, encoder: CovariateEncoder, bound: float
    ):
        self.roles, self.learner, self.encoder, self.bound = roles, learner, encoder, bound
        self.random_state = random_state

    @property
    def binary(self) -> bool:
        return self.roles.outcome_type == "binary"

    def _outcome_model(self, x: np.ndarray, y: np.ndarray, seed: int):
        task = "classification" if self.binary else "regression"
        model = make_learner(self.learner, task, seed, 1)
        return model.fit(x, y.astype(np.int64 if self.binary else float))

    def _mean(self, model, x: np.ndarray) -> np.ndarray:
        return _predict_positive(model, x) if self.binary else np.asarray(model.predict(x), dtype=float)

    @abstractmethod
    def fit(self, train: pd.DataFrame) -> str: ...

    @abstractmethod
    def cate(self, covariates: pd.DataFrame) -> np.ndarray: ...


class TLearner(CateLearner):
    """CATE(w) = mu_1(w) - mu_0(w), each arm's outcome model fitted by ``learner`` on its units."""

    name = "T"

    def fit(self, train: pd.DataFrame) -> str:
        roles = self.roles
        a = train[roles.treatment].to_numpy(dtype=np.int64)
        y = train[roles.outcome].to_numpy()
        x = self.encoder.transform(train)
        self.models_ = {}
        for arm in (0, 1):
            rows = a == arm
            if rows.sum() < 2:
                return f"arm {roles.treatment}={arm} has {int(rows.sum())} unit(s); a T-learner needs 2"
            if self.binary and (problem := _classes_problem(y[rows], f"{roles.outcome} in arm {arm}")):
                return problem
            self.models_[arm] = self._outcome_model(
                x[rows], y[rows], derive_seed(self.random_state, "arm", rep=arm)
            )
        return OK

    def cate(self, covariates: pd.DataFrame) -> np.ndarray:
        x = self.encoder.transform(covariates)
        return self._mean(self.models_[1], x) - self._mean(self.models_[0], x)


class SLearner(CateLearner):
    """CATE(w) = mu(w, 1) - mu(w, 0) from one outcome model of Y on (W, A)."""

    name = "S"

    def fit(self, train: pd.DataFrame) -> str:
        roles = self.roles
        a = train[roles.treatment].to_numpy(dtype=np.int64)
        y = train[roles.outcome].to_numpy()
        # both arms are needed, else mu(w, a) of the missing arm is pure extrapolation
        if problem := _classes_problem(a, roles.treatment):
            return problem
        if self.binary and (problem := _classes_problem(y, roles.outcome)):
            return problem
        x = np.column_stack([self.encoder.transform(train), a])
        self.model_ = self._outcome_model(x, y, derive_seed(self.random_state, "s"))
        return OK

    def cate(self, covariates: pd.DataFrame) -> np.ndarray:
        x = self.encoder.transform(covariates)
        ones, zeros = np.ones(len(x)), np.zeros(len(x))
        return self._mean(self.model_, np.column_stack([x, ones])) - self._mean(
            self.model_, np.column_stack([x, zeros])
        )


class DRLearner(CateLearner):
    """Kennedy's DR-learner: the AIPW pseudo-outcome
    ``Q1 - Q0 + A (Y - Q1) / g - (1 - A) (Y - Q0) / (1 - g)`` from ``DR_FOLDS``-fold cross-fitted
    nuisances (:func:`~causalsynth.estimate.nuisance.fit_nuisances`, per-arm outcome models; g
    bounded by ``bound``, the grid's propensity bound), regressed on W."""

    name = "DR"

    def fit(self, train: pd.DataFrame) -> str:
        try:
            nu = fit_nuisances(
                train, self.roles, self.learner, DR_FOLDS, True, derive_seed(self.random_state, "nuisances")
            )
        except NuisanceFailure as exc:
            return str(exc)
        g = bound_propensity(nu.g, self.bound)
        with np.errstate(divide="ignore", invalid="ignore"):
            pseudo = nu.q1 - nu.q0 + nu.a * (nu.y - nu.q1) / g - (1 - nu.a) * (nu.y - nu.q0) / (1 - g)
        if not np.isfinite(pseudo).all():
            return "a fitted propensity is 0 or 1 and no bound is set (estimation.propensity_bound: 0)"
        model = make_learner(self.learner, "regression", derive_seed(self.random_state, "final"), 1)
        self.model_ = model.fit(self.encoder.transform(train), pseudo)
        return OK

    def cate(self, covariates: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.model_.predict(self.encoder.transform(covariates)), dtype=float)


# the learners whose RMSEs u_pehe averages, by name
CATE_LEARNERS: dict[str, type[CateLearner]] = {"t": TLearner, "s": SLearner, "dr": DRLearner}


def _fit_cate_learners(
    train: pd.DataFrame, roles: Roles, learner: str, seed: int, encoder: CovariateEncoder, bound: float
) -> dict[str, tuple[CateLearner, str]]:
    fitted = {}
    for key, cls in CATE_LEARNERS.items():
        model = cls(roles, learner, derive_seed(seed, key), encoder, bound)
        fitted[key] = (model, model.fit(train))
    return fitted


def u_pehe(
    reference: dict[str, tuple[CateLearner, str]],
    candidate: dict[str, tuple[CateLearner, str]],
    holdout: pd.DataFrame,
) -> Score:
    """The mean over ``CATE_LEARNERS`` of the RMSE on ``holdout`` between the reference's and the
    candidate's CATE; NaN with the first learner's reason when any learner cannot be fitted."""
    rmse = {}
    for key in CATE_LEARNERS:
        (ref, ref_status), (cand, cand_status) = reference[key], candidate[key]
        if ref_status != OK:
            return Score(math.nan, f"reference: {ref.name}-learner: {ref_status}")
        if cand_status != OK:
            return Score(math.nan, f"{cand.name}-learner: {cand_status}")
        rmse[cand.name] = float(np.sqrt(np.mean((ref.cate(holdout) - cand.cate(holdout)) ** 2)))
    detail = "RMSE per learner: " + ", ".join(f"{name} {v:.4g}" for name, v in rmse.items())
    return Score(float(np.mean(list(rmse.values()))), OK, detail)


def default_propensity_bound() -> float:
    """The grid's propensity bound (schema ``estimation.propensity_bound``), the DR-learner's default."""
    return float(section_defaults("estimation")["propensity_bound"])


def mechanism_scores(
    reference: pd.DataFrame,
    candidate: pd.DataFrame,
    holdout: pd.DataFrame,
    roles: Roles,
    learner: str,
    seed: int,
    reference_models: dict[str, Any] | None = None,
    propensity_bound: float | None = None,
) -> tuple[dict[str, Score], dict[str, Any]]:
    """JSD_pi and U_PEHE of ``candidate`` against ``reference``, both evaluated on ``holdout``.

    ``reference_models`` (the second return value of an earlier call with the same reference)
    skips refitting the reference side. ``propensity_bound`` bounds the DR-learner's g (None: the
    grid's default bound).
    """
    bound = default_propensity_bound() if propensity_bound is None else float(propensity_bound)
    encoder = CovariateEncoder(roles).fit(holdout)
    if reference_models is None:
        pi_ref, pi_status = propensity(reference, roles, learner, derive_seed(seed, "pi.reference"), encoder)
        cate_ref = _fit_cate_learners(
            reference, roles, learner, derive_seed(seed, "cate.reference"), encoder, bound
        )
        reference_models = {"pi": (pi_ref, pi_status), "cate": cate_ref}
    pi_ref, pi_status = reference_models["pi"]
    x_h = encoder.transform(holdout)
    out: dict[str, Score] = {}
    pi_c, status = propensity(candidate, roles, learner, derive_seed(seed, "pi.candidate"), encoder)
    if pi_status != OK:
        out["jsd_pi"] = Score(math.nan, f"reference: {pi_status}")
    elif status != OK:
        out["jsd_pi"] = Score(math.nan, status)
    else:
        out["jsd_pi"] = Score(
            jsd_similarity(_predict_positive(pi_ref, x_h), _predict_positive(pi_c, x_h)), OK
        )
    cate_c = _fit_cate_learners(
        candidate, roles, learner, derive_seed(seed, "cate.candidate"), encoder, bound
    )
    out["u_pehe"] = u_pehe(reference_models["cate"], cate_c, holdout)
    return out, reference_models
