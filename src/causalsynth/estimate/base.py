"""What every estimator shares: the grid's options, the result of one estimate with its
interval and influence diagnostics, the formulas' weights, and the :class:`Estimator` contract
(:mod:`causalsynth.estimate.estimators` holds the estimators and their registry)."""

from __future__ import annotations

import dataclasses
import inspect
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from scipy.stats import norm

from causalsynth.core.errors import ComponentFailure, ConfigError
from causalsynth.core.schema import default
from causalsynth.estimate.nuisance import (
    Nuisances,
)
from causalsynth.estimate.weights import (
    arm_weights,
    bound_propensity,
    clipping_bound,
    no_diagnostics,
    overlap_diagnostics,
    propensity_bound,
)

Z_95 = float(norm.ppf(0.975))

# name -> (default, description); the single source of truth for estimate_grid's `options`
OPTIONS: dict[str, tuple[Any, str]] = {
    "influence_share": (
        default("estimation", "influence_share"),
        "flag a row in `warning` where one unit holds more than this share of its summed squared "
        "influence terms",
    ),
    "propensity_bound": (
        default("estimation", "propensity_bound"),
        "clip g to [b, 1 - b] in every estimator using g and in substitution's SE (0: no bound)",
    ),
    "clip": (
        False,
        "raise the propensity bound to delta_n = 5 / (sqrt(n) log n) where that is larger",
    ),
    "weight_cap": (None, "cap every inverse-propensity arm weight at this value (null: no cap)"),
    "truncation_cap": (default("estimation", "truncation"), "weight cap of iptw_truncated (paper: 10)"),
}


class EstimationFailure(ComponentFailure):
    """An estimator cannot produce an estimate on these data; the message is the cell's status."""


def _clipping_bound(n: int) -> float:
    """delta_n = 5 / (sqrt(n) log n) (:func:`causalsynth.estimate.weights.clipping_bound`), as a cell status."""
    try:
        return clipping_bound(n)
    except ValueError as exc:
        raise EstimationFailure(str(exc)) from exc


@dataclass(frozen=True)
class EstimateResult:
    """An effect estimate with its standard error and 95% Wald interval."""

    ate: float
    se: float
    ci_low: float
    ci_high: float
    status: str = "ok"
    # the overlap and fit diagnostics of an estimator that fits its own nuisances (dml); None:
    # the grid takes them from the shared nuisances
    diagnostics: dict[str, Any] | None = field(default=None, compare=False, repr=False)
    # the largest share of the summed squared influence terms one unit holds (NaN: unknown)
    influence_share: float = field(default=math.nan, compare=False)

    @classmethod
    def failed(cls, status: str) -> EstimateResult:
        return cls(math.nan, math.nan, math.nan, math.nan, status)

    @classmethod
    def from_se(cls, ate: float, se: float) -> EstimateResult:
        if not (math.isfinite(ate) and math.isfinite(se)):
            return cls.failed(f"non-finite estimate (ate={ate}, se={se})")
        return cls(float(ate), float(se), float(ate - Z_95 * se), float(ate + Z_95 * se))

    @classmethod
    def from_influence(cls, ate: float, influence: np.ndarray) -> EstimateResult:
        n = len(influence)
        se = float(np.std(influence, ddof=1) / math.sqrt(n)) if n > 1 else math.nan
        result = cls.from_se(ate, se)
        if result.status != "ok":
            return result
        return dataclasses.replace(result, influence_share=max_influence_share(influence))

    def to_dict(self) -> dict[str, Any]:
        return {
            "ate": self.ate,
            "se": self.se,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "status": self.status,
        }


def max_influence_share(influence: np.ndarray) -> float:
    """The largest share of ``sum (D_i - mean D)^2`` that one term holds; NaN if all are equal."""
    d = np.asarray(influence, dtype=float)
    if not len(d) or not np.isfinite(d).all():
        return math.nan
    sq = (d - d.mean()) ** 2
    total = float(sq.sum())
    return float(sq.max()) / total if total > 0 else math.nan


def influence_warning(share: float, limit: float) -> str:
    """The ``warning`` text of a row whose largest influence share is above ``limit``; else empty."""
    if not share > limit:
        return ""
    return (
        f"one unit holds {share:.0%} of the summed squared influence terms (above {limit:.0%}): "
        "the estimate and its SE rest on it"
    )


def resolve_options(options: dict[str, Any] | None) -> dict[str, Any]:
    """Defaults filled in and values checked; unknown keys list the valid ones."""
    options = dict(options or {})
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        valid = "; ".join(f"{k} ({desc}, default {d!r})" for k, (d, desc) in OPTIONS.items())
        raise ConfigError(f"unknown estimator option(s) {unknown}; valid options: {valid}")
    resolved = {k: options.get(k, default) for k, (default, _) in OPTIONS.items()}
    if not isinstance(resolved["clip"], bool):
        raise ConfigError(f"estimator option 'clip' must be true or false, got {resolved['clip']!r}")
    for key in ("weight_cap", "truncation_cap"):
        value = resolved[key]
        if value is not None and not (isinstance(value, int | float) and value > 1):
            raise ConfigError(f"estimator option '{key}' must be a number > 1 (or null), got {value!r}")
    share = resolved["influence_share"]
    if isinstance(share, bool) or not (isinstance(share, int | float) and 0 < share <= 1):
        raise ConfigError(
            f"estimator option 'influence_share' must be a number in (0, 1], got {share!r}; "
            "set estimation.influence_share to e.g. 0.25 (1 = never flag)"
        )
    if resolved["truncation_cap"] is None:
        raise ConfigError("estimator option 'truncation_cap' must be a number > 1, got null")
    bound = resolved["propensity_bound"]
    if isinstance(bound, bool) or not (isinstance(bound, int | float) and 0 <= bound < 0.5):
        raise ConfigError(
            f"estimator option 'propensity_bound' must be a number in [0, 0.5), got {bound!r}; "
            "set estimation.propensity_bound to e.g. 0.01 (0 = no bound)"
        )
    return resolved


# ---------------------------------------------------------------------------------------------
# shared pieces of the formulas


def _target_weights(nuis: Nuisances) -> np.ndarray:
    return nuis.a.astype(float) if nuis.estimand == "ATT" else np.ones(nuis.n)


def _arm_weights(
    g: np.ndarray, a: np.ndarray, estimand: str, cap: float | None, every_unit: bool
) -> tuple[np.ndarray, np.ndarray]:
    """(w1, w0) for every row; fails with a positivity status where a used weight is infinite.

    ``every_unit``: the estimator uses both weights of every row (TMLE updates Q1 and Q0 of all
    rows); otherwise only w1 of treated and w0 of control rows matter.
    """
    w1, w0 = arm_weights(g, estimand, cap)
    used1 = np.ones_like(a, dtype=bool) if every_unit else a == 1
    used0 = np.ones_like(a, dtype=bool) if every_unit else a == 0
    bad1 = int((~np.isfinite(w1[used1])).sum())
    bad0 = int((~np.isfinite(w0[used0])).sum())
    if bad1 or bad0:
        parts = []
        if bad1:
            parts.append(f"{bad1} {'unit(s)' if every_unit else 'treated unit(s)'} with propensity 0")
        if bad0:
            parts.append(f"{bad0} {'unit(s)' if every_unit else 'control unit(s)'} with propensity 1")
        raise EstimationFailure(
            "positivity violated: " + " and ".join(parts) + " give infinite weights "
            "(set estimation.propensity_bound above 0, or use the clip or weight_cap option)"
        )
    return w1, w0


def _eif_numerator(q0, q1, y, h1, h0, m) -> np.ndarray:
    return m * (q1 - q0) + h1 * (y - q1) - h0 * (y - q0)


# ---------------------------------------------------------------------------------------------
# estimators


class Estimator:
    """One estimator of the declared estimand.

    Class attributes: ``uses_nuisances`` (works on the shared :class:`Nuisances`; else on the
    table), ``uses_propensity`` (the point estimate depends on g, so evaluation B's clipping and
    truncation change it), ``uses_outcome`` (the estimate depends on Q, so its row reports the
    outcome model's ``outcome_r2_oof``),
    ``positivity_remedy`` (the estimator is itself a positivity remedy, like ``iptw_truncated``),
    ``option_names`` (the grid options it reads).
    """

    name: ClassVar[str]
    uses_nuisances: ClassVar[bool] = True
    uses_propensity: ClassVar[bool] = True
    uses_outcome: ClassVar[bool] = True
    positivity_remedy: ClassVar[bool] = False
    option_names: ClassVar[tuple[str, ...]] = ("propensity_bound", "clip", "weight_cap")

    def __init__(
        self,
        propensity_bound: float = OPTIONS["propensity_bound"][0],
        clip: bool = False,
        weight_cap: float | None = None,
    ):
        self.propensity_bound = propensity_bound
        self.clip = clip
        self.weight_cap = weight_cap

    def bound(self, n: int) -> float:
        """b, the bound of g at n rows (:func:`causalsynth.estimate.weights.propensity_bound`)."""
        try:
            return propensity_bound(n, self.propensity_bound, self.clip)
        except ValueError as exc:
            raise EstimationFailure(str(exc)) from exc

    def _cap(self) -> float | None:
        return self.weight_cap

    def weights(self, nuis: Nuisances, every_unit: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(w1, w0) from g bounded to [b, 1 - b], then capped; see :func:`_arm_weights`."""
        g = bound_propensity(nuis.g, self.bound(nuis.n))
        return _arm_weights(g, nuis.a, nuis.estimand, self._cap(), every_unit)

    def diagnostics(self, nuis: Nuisances) -> dict[str, Any]:
        """The overlap diagnostics of the weights this estimator uses on ``nuis``, and the
        out-of-fold quality of the nuisances it uses (:meth:`Nuisances.quality`)."""
        quality = nuis.quality()
        if not self.uses_outcome:
            quality["outcome_r2_oof"] = math.nan
        try:
            b = self.bound(nuis.n)
        except EstimationFailure:
            return {**no_diagnostics(), **quality}
        return {**overlap_diagnostics(nuis.g, nuis.a, nuis.estimand, b, self._cap()), **quality}

    def estimate(self, nuisances: Nuisances) -> EstimateResult:
        """The estimate, or NaNs with the reason in ``status`` when it cannot be computed."""
        try:
            with np.errstate(over="ignore", under="ignore"):
                return self._estimate(nuisances)
        except EstimationFailure as exc:
            return EstimateResult.failed(str(exc))

    def _estimate(self, nuis: Nuisances) -> EstimateResult:
        raise NotImplementedError

    def get_params(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in inspect.signature(type(self).__init__).parameters if k != "self"}
