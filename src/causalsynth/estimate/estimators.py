"""Estimators of the average treatment effect (or on the treated) and the estimate grid.

Every estimator targets the table's declared estimand (``Roles.estimand``): the ATE
``E[Q1(W) - Q0(W)]`` or the ATT ``E[Q1(W) - Q0(W) | A = 1]``, and returns an
:class:`EstimateResult` with a 95% Wald interval, or NaNs and a ``status`` that says why it
could not run. All work on the :class:`~causalsynth.estimate.nuisance.Nuisances` fitted once
per table and learner; ``dml`` hands them to DoubleML as external predictions when they are
cross-fitted (the same learner on the same folds: fitting them again inside DoubleML repeated the
most expensive step of every grid), and fits its own models only where the grid's are in-sample.

Notation: g = P(A=1|W), Q_a = E[Y|A=a,W], p = P(A=1), m = 1 (ATE) or A (ATT) the weight of a
row in the target population, and the arm weights

    ATE: w1 = 1/g,  w0 = 1/(1-g)          ATT: w1 = 1,  w0 = g/(1-g).

With h1 = A w1 and h0 = (1-A) w0 every weighting estimator below has one formula for both
estimands, and the efficient influence function (EIF) is

    D = [m (Q1 - Q0) + h1 (Y - Q1) - h0 (Y - Q0) - m psi] / E[m].

Estimators (registry :data:`ESTIMATORS`):

``substitution``
    g-computation, ``sum m (Q1 - Q0) / sum m``. Standard error: the standard deviation of the EIF
    above at the fitted nuisances, with g bounded to [delta_n, 1 - delta_n] for this variance only
    (delta_n = 5 / (sqrt(n) log n)) so that a positivity violation widens the interval instead of
    voiding it. Why not the fixed-Q influence function ``Q1 - Q0 - psi`` (or a bootstrap of rows
    over fitted predictions, the same thing): it ignores the outcome model's estimation error, and
    for a constant effect it is identically zero. A bootstrap that refits the outcome model would
    be valid but costs hundreds of fits per cell. The EIF variance is the variance of every regular
    estimator in the nonparametric model; for a correctly specified parametric outcome model it is
    an upper bound, so the interval is then conservative. The point estimate never uses g.
    For a machine-learned outcome model (forests, boosting, the stack) no SE is valid:
    substitution's error then carries the outcome model's regularization bias, which is of the
    order of that model's error and shrinks slower than 1/sqrt(n), so the interval drifts off the
    truth by a growing number of SEs as n grows; use ``aipw``, ``tmle`` or ``dml`` for inference
    there (config/README.md, ``estimation``, has the measured numbers).
``iptw``
    Normalized (Hajek) inverse-probability weighting: weighted means of Y in each arm with weights
    h1 and h0. SE: the sandwich / influence function ``h1 (Y - mu1) / E[h1] - h0 (Y - mu0) / E[h0]``
    with g treated as known. It ignores that g was estimated: for the ATE with g fitted by maximum
    likelihood in a correct model that makes it conservative, often by far (a mean SE of 0.162
    against a true SD of 0.101 in config/README.md's design); for a machine-learned g it has no
    guarantee in either direction.
``iptw_truncated``
    ``iptw`` with every weight capped at ``truncation_cap`` (paper: 10).
``aipw``
    Augmented IPW, ``sum [m (Q1 - Q0) + h1 (Y - Q1) - h0 (Y - Q0)] / sum m``; SE from its EIF,
    valid with cross-fitted nuisances whose errors shrink fast enough (the product of the
    propensity's and the outcome model's errors faster than 1/sqrt(n)).
``tmle``
    Targeted maximum likelihood with a logistic fluctuation of Q along the clever covariate
    ``H = A w1 - (1-A) w0`` (for the ATT the constant 1/p is absorbed by epsilon and the
    distribution of W among the treated is the empirical one). A continuous outcome is scaled to
    [0, 1] with its sample range and scaled back. SE from the EIF at the updated Q.
``dml``
    DoubleML's ``DoubleMLIRM`` (score ``ATE`` or ``ATTE``) on our folds: its score, clipping
    and inference on the grid's cross-fitted nuisances, or on its own fits of our learner for
    ``ml_g`` and ``ml_m`` where the grid's nuisances are in-sample (the method is defined with
    sample splitting).

Bounding of propensities: one bound, one home (:mod:`causalsynth.estimate.weights`).

* Every estimator that uses g -- ``iptw``, ``iptw_truncated``, ``aipw``, ``tmle``, ``dml`` -- and
  substitution's standard error use g clipped to [b, 1 - b] with
  ``b = max(propensity_bound, delta_n if clip)`` (:func:`~causalsynth.estimate.weights.propensity_bound`).
  ``propensity_bound`` (schema ``estimation.propensity_bound``, default 0.01, which is also
  DoubleML's default) keeps a flexible learner's propensities of (nearly) 0 or 1 from turning
  one unit into the whole estimate; 0 turns it off.
* Then the arm weights are capped at ``weight_cap`` (and, for ``iptw_truncated``, at
  ``truncation_cap``; the smaller cap wins). ``dml`` can only clip: there a cap c becomes the
  bound ``max(b, 1/c)``; with b = 0 and no cap DoubleML keeps only its numerical floor
  ``DML_MIN_THRESHOLD``.
* With b = 0, a weight that is infinite where it is used (a treated unit with g = 0 for the ATE, a
  control with g = 1) makes the cell fail with a positivity status -- no exception.
* ``tmle`` also bounds Q to [0.005, 0.995] before the logistic fluctuation (the logit must be
  finite; 0.005 as in the R package ``tmle``, ``alpha = 0.995``).

Options shared by the grid (:data:`OPTIONS`): ``propensity_bound``; ``clip`` raises the bound to
delta_n = 5 / (sqrt(n) log n) where that is larger; ``weight_cap`` caps every arm weight;
``truncation_cap`` is ``iptw_truncated``'s cap. Evaluation B's "clipped" and "truncated" methods
are ``clip`` and ``weight_cap``.

Each grid row also carries the overlap diagnostics of the weights its estimator used
(:func:`~causalsynth.estimate.weights.overlap_diagnostics`, :meth:`Estimator.diagnostics`);
substitution reports those of the weights of its standard error, ``dml`` those of DoubleML's own
clipped propensities. Beside them:

* ``max_influence_share``, the largest share of the summed squared (centred) influence terms
  that one unit holds (:func:`max_influence_share`; ``dml``: DoubleML's score). The SE is
  ``sqrt(sum of those terms) / n`` and leaving a unit out moves the estimate by about its term
  / n, that is by sqrt(share) standard errors: a unit holding a quarter of the terms is worth
  half an SE on its own, and the SE itself leans on it. Above the grid option
  ``influence_share`` (schema ``estimation.influence_share``, default 0.25) the row's ``warning``
  says so. The share of the largest of n normal terms is about 2 log(n) / n (2.5% at n = 500),
  so the flag means one unit, not noise.
* ``outcome_r2_oof`` and ``propensity_auc_oof``, the out-of-fold quality of the nuisances the
  estimate used (:func:`~causalsynth.estimate.nuisance.fit_quality`; ``dml``: DoubleML's own
  predictions). ``outcome_r2_oof`` is NaN for ``iptw`` and ``iptw_truncated``, which use no
  outcome model; both are NaN for nuisances fitted in sample.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit, logit

from causalsynth.core.encoding import CovariateEncoder
from causalsynth.core.learners import make_learner
from causalsynth.core.registry import Registry
from causalsynth.core.roles import Roles
from causalsynth.core.seeds import derive_seed
from causalsynth.estimate.base import (
    OPTIONS,
    EstimateResult,
    EstimationFailure,
    Estimator,
    _eif_numerator,
    _target_weights,
    max_influence_share,
    resolve_options,
)
from causalsynth.estimate.nuisance import (
    Nuisances,
    Splits,
    fit_quality,
)
from causalsynth.estimate.weights import (
    overlap_diagnostics,
)

TMLE_Q_BOUND = 0.005
# DoubleML rejects a clipping threshold of 0; its own floor for "extreme" propensities is 1e-12
DML_MIN_THRESHOLD = 1e-12


ESTIMATORS: Registry[type[Estimator]] = Registry("estimator")


def make_estimator(name: str, options: dict[str, Any] | None = None) -> Estimator:
    """The estimator ``name`` configured with the grid ``options`` it reads."""
    cls = ESTIMATORS.get(name)
    resolved = resolve_options(options)
    return cls(**{k: resolved[k] for k in cls.option_names})


@ESTIMATORS.register("substitution")
class Substitution(Estimator):
    name = "substitution"
    uses_propensity = False

    def _estimate(self, nuis: Nuisances) -> EstimateResult:
        m = _target_weights(nuis)
        ate = float(np.sum(m * (nuis.q1 - nuis.q0)) / np.sum(m))
        # the EIF's weights are AIPW's, bounded (and capped) the same way
        w1, w0 = self.weights(nuis)
        h1, h0 = np.where(nuis.a == 1, w1, 0.0), np.where(nuis.a == 0, w0, 0.0)
        num = _eif_numerator(nuis.q0, nuis.q1, nuis.y, h1, h0, m)
        return EstimateResult.from_influence(ate, (num - m * ate) / m.mean())


@ESTIMATORS.register("iptw")
class IPTW(Estimator):
    name = "iptw"
    uses_outcome = False

    def _estimate(self, nuis: Nuisances) -> EstimateResult:
        w1, w0 = self.weights(nuis)
        h1, h0 = np.where(nuis.a == 1, w1, 0.0), np.where(nuis.a == 0, w0, 0.0)
        if h1.sum() <= 0 or h0.sum() <= 0:
            raise EstimationFailure("an arm has zero total weight")
        y = nuis.y
        mu1 = float(np.sum(h1 * y) / np.sum(h1))
        mu0 = float(np.sum(h0 * y) / np.sum(h0))
        influence = h1 * (y - mu1) / h1.mean() - h0 * (y - mu0) / h0.mean()
        return EstimateResult.from_influence(mu1 - mu0, influence)


@ESTIMATORS.register("iptw_truncated")
class IPTWTruncated(IPTW):
    name = "iptw_truncated"
    positivity_remedy = True
    option_names = ("propensity_bound", "clip", "weight_cap", "truncation_cap")

    def __init__(
        self,
        propensity_bound: float = OPTIONS["propensity_bound"][0],
        clip: bool = False,
        weight_cap: float | None = None,
        truncation_cap: float = OPTIONS["truncation_cap"][0],
    ):
        super().__init__(propensity_bound=propensity_bound, clip=clip, weight_cap=weight_cap)
        self.truncation_cap = truncation_cap

    def _cap(self) -> float | None:
        return self.truncation_cap if self.weight_cap is None else min(self.truncation_cap, self.weight_cap)


@ESTIMATORS.register("aipw")
class AIPW(Estimator):
    name = "aipw"

    def _estimate(self, nuis: Nuisances) -> EstimateResult:
        w1, w0 = self.weights(nuis)
        h1, h0 = np.where(nuis.a == 1, w1, 0.0), np.where(nuis.a == 0, w0, 0.0)
        m = _target_weights(nuis)
        num = _eif_numerator(nuis.q0, nuis.q1, nuis.y, h1, h0, m)
        ate = float(num.sum() / m.sum())
        return EstimateResult.from_influence(ate, (num - m * ate) / m.mean())


def _solve_fluctuation(y: np.ndarray, offset: np.ndarray, h: np.ndarray) -> float:
    """epsilon solving sum h (y - expit(offset + epsilon h)) = 0 (the logistic MLE with offset).

    The score decreases strictly in epsilon, so a bracket grown by doubling and Brent's method
    find the root whenever one exists; no root means y is separated by h.
    """

    def score(eps: float) -> float:
        return float(np.sum(h * (y - expit(offset + eps * h))))

    s0 = score(0.0)
    if s0 == 0.0 or not np.any(h):
        return 0.0
    direction = 1.0 if s0 > 0 else -1.0
    bound = 1.0
    for _ in range(64):
        if score(direction * bound) * s0 < 0:
            lo, hi = sorted((0.0, direction * bound))
            return float(brentq(score, lo, hi, xtol=1e-12, rtol=1e-12, maxiter=500))
        bound *= 2.0
    raise EstimationFailure("the TMLE fluctuation has no finite solution (the clever covariate separates Y)")


@ESTIMATORS.register("tmle")
class TMLE(Estimator):
    name = "tmle"

    def _estimate(self, nuis: Nuisances) -> EstimateResult:
        w1, w0 = self.weights(nuis, every_unit=True)
        if nuis.outcome_type == "binary":
            lo, scale = 0.0, 1.0
        else:
            lo, scale = float(nuis.y.min()), float(nuis.y.max() - nuis.y.min())
            if scale <= 0:
                raise EstimationFailure("the outcome is constant; TMLE cannot scale it to [0, 1]")
        y = (nuis.y - lo) / scale
        q0 = np.clip((nuis.q0 - lo) / scale, TMLE_Q_BOUND, 1.0 - TMLE_Q_BOUND)
        q1 = np.clip((nuis.q1 - lo) / scale, TMLE_Q_BOUND, 1.0 - TMLE_Q_BOUND)
        treated = nuis.a == 1
        clever = np.where(treated, w1, -w0)
        eps = _solve_fluctuation(y, logit(np.where(treated, q1, q0)), clever)
        q1s = expit(logit(q1) + eps * w1)
        q0s = expit(logit(q0) - eps * w0)
        m = _target_weights(nuis)
        h1, h0 = np.where(treated, w1, 0.0), np.where(~treated, w0, 0.0)
        num = _eif_numerator(q0s, q1s, y, h1, h0, m)
        psi = float(np.sum(m * (q1s - q0s)) / np.sum(m))
        influence = (num - m * psi) / m.mean()
        return EstimateResult.from_influence(psi * scale, influence * scale)


def _check_same_folds(nuisances: Nuisances, splits: Splits) -> None:
    """The external predictions are out-of-fold for exactly ``splits``, or DML's score is wrong."""
    for k, (_, test) in enumerate(splits):
        if not np.array_equal(np.sort(test), np.flatnonzero(nuisances.fold == k)):
            raise ValueError(
                f"the nuisances' fold {k + 1} is not the test fold {k + 1} of the splits given to dml"
            )


@ESTIMATORS.register("dml")
class DML(Estimator):
    """DoubleML's interactive regression model (DoubleMLIRM) on our folds and learner."""

    name = "dml"
    uses_nuisances = False

    def clipping_threshold(self, n: int) -> float:
        """DoubleML's propensity clipping: the bound b, raised to 1/weight_cap (it can only clip)."""
        threshold = self.bound(n)
        if self.weight_cap is not None:
            threshold = max(threshold, 1.0 / self.weight_cap)
        return max(threshold, DML_MIN_THRESHOLD)

    def estimate(self, nuisances: Nuisances) -> EstimateResult:
        raise TypeError("dml fits its own nuisances: call estimate_table(df, roles, ...)")

    def estimate_table(
        self,
        df: pd.DataFrame,
        roles: Roles,
        learner: str,
        splits: Splits,
        seed: int,
        n_jobs: int = 1,
        nuisances: Nuisances | None = None,
    ) -> EstimateResult:
        """DoubleMLIRM on ``df`` and the folds ``splits``.

        With ``nuisances`` (cross-fitted on exactly these folds) DoubleML takes their
        predictions as external ones and fits nothing; without, it fits ``learner`` for both
        nuisances itself.
        """
        from doubleml import DoubleMLData, DoubleMLIRM
        from doubleml.utils import PSProcessorConfig

        try:
            threshold = self.clipping_threshold(len(df))
        except EstimationFailure as exc:
            return EstimateResult.failed(str(exc))
        if threshold >= 0.5:
            return EstimateResult.failed(
                f"the clipping bound {threshold:.3f} (1/weight_cap) is not below 0.5; raise weight_cap above 2"
            )
        binary = roles.outcome_type == "binary"
        x = CovariateEncoder(roles).fit_transform(df)
        y = df[roles.outcome].to_numpy(dtype=float)
        d = df[roles.treatment].to_numpy(dtype=float)
        ml_g = make_learner(
            learner, "classification" if binary else "regression", derive_seed(seed, "dml-outcome"), n_jobs
        )
        ml_m = make_learner(learner, "classification", derive_seed(seed, "dml-propensity"), n_jobs)
        external = None
        if nuisances is not None:
            _check_same_folds(nuisances, splits)
            external = {
                "d": {
                    "ml_g0": nuisances.q0[:, None],
                    "ml_g1": nuisances.q1[:, None],
                    "ml_m": nuisances.g[:, None],
                }
            }
        elif binary:
            # DoubleML fits the outcome model per arm inside each training fold; a single
            # outcome class there breaks the library with an opaque shape error
            for k, (train_idx, _) in enumerate(splits, start=1):
                for arm in (0, 1):
                    classes = np.unique(y[train_idx][d[train_idx] == arm])
                    if classes.size < 2:
                        return EstimateResult.failed(
                            f"arm {roles.treatment}={arm} of training fold {k} of {len(splits)} holds a "
                            f"single outcome class ({roles.outcome}={int(classes[0]) if classes.size else 'none'})"
                        )
        try:
            with warnings.catch_warnings():
                # near-0/1 propensities are handled by the documented clipping, and the
                # sensitivity-analysis elements DoubleML computes on the side are not used here
                warnings.filterwarnings("ignore", message="Propensity predictions", category=UserWarning)
                warnings.filterwarnings("ignore", message="The estimated nu2", category=UserWarning)
                model = DoubleMLIRM(
                    DoubleMLData.from_arrays(x, y, d),
                    ml_g,
                    ml_m,
                    n_folds=len(splits),
                    score="ATTE" if roles.estimand == "ATT" else "ATE",
                    ps_processor_config=PSProcessorConfig(clipping_threshold=threshold),
                    draw_sample_splitting=False,
                )
                model.set_sample_splitting([list(splits)])
                model.fit(store_predictions=True, external_predictions=external)
        except Exception as exc:  # learner or library failure: the cell's status, not a crash
            return EstimateResult.failed(f"DoubleML failed: {type(exc).__name__}: {exc}")
        result = EstimateResult.from_se(float(model.coef[0]), float(model.se[0]))
        # DoubleML stores its propensities already clipped at the threshold
        g = np.asarray(model.predictions["ml_m"])[:, 0, 0]
        a = d.astype(np.int64)
        qa = np.where(a == 1, model.predictions["ml_g1"][:, 0, 0], model.predictions["ml_g0"][:, 0, 0])
        diagnostics = {
            **overlap_diagnostics(g, a, roles.estimand, threshold),
            **fit_quality(a, y, g, qa),
        }
        share = max_influence_share(np.asarray(model.psi)[:, 0, 0])
        return dataclasses.replace(result, diagnostics=diagnostics, influence_share=share)
