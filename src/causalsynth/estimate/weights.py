"""Inverse-propensity weights, their remedies for positivity problems and their diagnostics.

**The one bound of g.** Every estimator that uses g (and substitution's standard error) uses
``clip(g, b, 1 - b)`` with

    b = max(propensity_bound, delta_n if clip else 0),    delta_n = 5 / (sqrt(n) log n),

(:func:`propensity_bound`). ``propensity_bound`` is the grid's standing bound (schema
``estimation.propensity_bound``, default 0.01, DoubleML's own default; 0 = none), ``clip`` is
evaluation B's "clipped" remedy, which can only tighten it. The arm weights are computed from the
bounded g (:func:`arm_weights`), and then a weight cap (``weight_cap``, ``truncation_cap``; the
papers' truncation at 10) caps them: bound first, cap second, so a cap below the bound's largest
weight is the binding one. DoubleML offers only clipping, so there a cap c becomes the bound
``max(b, 1/c)`` (exact for the ATE weights).

**Diagnostics** (:func:`overlap_diagnostics`), per estimate: ``share_clipped``, the share of
units whose g is at or beyond the bound or whose used weight was capped; ``ess_treated`` and
``ess_control``, the Kish effective sample sizes ``(sum w)^2 / sum w^2`` of each arm's weights
(ATE: 1/g and 1/(1-g); ATT: 1 and g/(1-g)); ``max_weight``, the largest share of its arm's total
weight that one unit carries (in (0, 1]; scale-free, so comparable across estimands and arms);
``warning``, empty unless an arm's ESS is below ``max(ESS_MIN_SHARE * arm size, ESS_MIN_UNITS)``
or a used weight is infinite.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

# An arm whose effective sample size is below 5% of its units, or below 10 units, is dominated
# by a handful of weights: its weighted mean is one or two units' outcome, not the arm's.
ESS_MIN_SHARE = 0.05
ESS_MIN_UNITS = 10.0


def truncate_weights(w: np.ndarray, cap: float) -> np.ndarray:
    """IPTW weights capped at ``cap`` (paper: 10); a new array, the input is left as is."""
    if not cap > 0:
        raise ValueError(f"weight cap must be positive, got {cap!r}")
    return np.minimum(np.asarray(w, dtype=float), cap)


def clipping_bound(n: int) -> float:
    """delta_n = 5 / (sqrt(n) log n), the propensity clipping bound for a sample of size n."""
    if n < 2:
        raise ValueError(f"clipping_bound needs n >= 2, got {n}")
    return float(5.0 / (np.sqrt(n) * np.log(n)))


def clip_propensity(e: np.ndarray, n: int) -> np.ndarray:
    """Propensities clipped to [delta_n, 1 - delta_n] with delta_n = :func:`clipping_bound`.

    For n <= 13 the bound exceeds 1/2 and the interval is empty: that raises ValueError.
    """
    delta = clipping_bound(n)
    if delta >= 0.5:
        raise ValueError(f"clipping bound {delta:.3f} >= 0.5 for n={n}: the clipped interval is empty")
    return np.clip(np.asarray(e, dtype=float), delta, 1.0 - delta)


def propensity_bound(n: int, bound: float, clip: bool) -> float:
    """The bound b of g for a table of n rows: ``max(bound, delta_n if clip else 0)``.

    Raises ValueError when b is not below 1/2 (the bounded interval would be empty).
    """
    b = max(float(bound), clipping_bound(n) if clip else 0.0)
    if b >= 0.5:
        raise ValueError(f"the propensity bound {b:.3f} is not below 0.5 at n = {n}")
    return b


def bound_propensity(g: np.ndarray, b: float) -> np.ndarray:
    """g clipped to [b, 1 - b]; b = 0 returns g as fitted."""
    g = np.asarray(g, dtype=float)
    return np.clip(g, b, 1.0 - b) if b > 0 else g


def arm_weights(g: np.ndarray, estimand: str, cap: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(w1, w0) of every row from (already bounded) g, capped at ``cap``; infinite where g is 0 or 1."""
    g = np.asarray(g, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if estimand == "ATT":
            w1 = np.ones_like(g)
            w0 = g / (1.0 - g)
        else:
            w1 = 1.0 / g
            w0 = 1.0 / (1.0 - g)
    if cap is not None:
        w1, w0 = truncate_weights(w1, cap), truncate_weights(w0, cap)
    return w1, w0


def kish_ess(w: np.ndarray) -> float:
    """(sum w)^2 / sum w^2: the number of equally weighted units the weights are worth."""
    w = np.asarray(w, dtype=float)
    if not np.isfinite(w).all():
        return math.nan
    sq = float(np.sum(w**2))
    return float(np.sum(w)) ** 2 / sq if sq > 0 else 0.0


def overlap_diagnostics(
    g: np.ndarray, a: np.ndarray, estimand: str, bound: float, cap: float | None = None
) -> dict[str, Any]:
    """The diagnostic columns (``share_clipped`` to ``warning`` of ``vocabulary.GRID_COLUMNS``) of the weights an estimator uses.

    ``g`` as fitted (or as already clipped at ``bound``, as DoubleML returns it), ``bound`` the
    estimator's b (:func:`propensity_bound`), ``cap`` its weight cap.
    """
    g = np.asarray(g, dtype=float)
    treated = np.asarray(a) == 1
    gb = bound_propensity(g, bound)
    w1_free, w0_free = arm_weights(gb, estimand)
    w1, w0 = arm_weights(gb, estimand, cap)
    used = np.where(treated, w1, w0)
    capped = used != np.where(treated, w1_free, w0_free)
    at_bound = ((g <= bound) | (g >= 1.0 - bound)) if bound > 0 else np.zeros(len(g), dtype=bool)
    out: dict[str, Any] = {"share_clipped": float(np.mean(at_bound | capped)) if len(g) else math.nan}
    reasons, shares = [], []
    for arm, name, w in (("treated", "ess_treated", w1[treated]), ("control", "ess_control", w0[~treated])):
        ess = kish_ess(w)
        out[name] = ess
        finite = np.isfinite(w).all()
        total = float(np.sum(w)) if finite else math.nan
        shares.append(float(np.max(w)) / total if finite and total > 0 else math.nan)
        if not finite:
            reasons.append(f"infinite {arm} weights (propensity 0 or 1 with no bound)")
        elif ess < max(ESS_MIN_SHARE * len(w), ESS_MIN_UNITS):
            reasons.append(
                f"{arm} ESS {ess:.1f} of {len(w)} units is below "
                f"max({ESS_MIN_SHARE:.0%} of them, {ESS_MIN_UNITS:g})"
            )
    out["max_weight"] = math.nan if any(math.isnan(s) for s in shares) else max(shares)
    out["warning"] = "; ".join(reasons)
    return out


def no_diagnostics() -> dict[str, Any]:
    """The diagnostic columns of a cell whose nuisances could not be fitted."""
    return {"share_clipped": math.nan, "ess_treated": math.nan, "ess_control": math.nan,
            "max_weight": math.nan, "warning": ""}  # fmt: skip
