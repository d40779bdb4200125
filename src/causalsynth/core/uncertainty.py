"""Intervals for Monte Carlo summaries and the three-way decisions that rest on them.

A comparison of two generators, or of a score with a threshold, is only as good as the noise
of the replicates behind it: a point comparison from one replicate decides nothing. The helpers
here give a mean with a t interval over replicates, a difference or a ratio with its interval,
a Wilson interval for a share of counts, and `decide`, which calls a comparison "holds",
"fails" or "undecided" depending on where its interval lies relative to the threshold.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy import stats

LEVEL = 0.95

HOLDS, FAILS, UNDECIDED = "holds", "fails", "undecided"


@dataclass(frozen=True)
class Interval:
    """An estimate with a two-sided interval; `low`/`high` are NaN when no interval exists."""

    estimate: float
    low: float = math.nan
    high: float = math.nan
    n: int = 0

    @property
    def defined(self) -> bool:
        return bool(np.isfinite(self.low) and np.isfinite(self.high))

    def map(self, f) -> Interval:
        """The interval of a monotone increasing transform (the log scale back to ratios)."""
        return Interval(f(self.estimate), f(self.low), f(self.high), self.n)

    def clip(self, lo: float, hi: float) -> Interval:
        """Bounded quantities (shares) keep their interval inside their range."""

        def c(v: float) -> float:
            return float(min(max(v, lo), hi)) if np.isfinite(v) else v

        return Interval(c(self.estimate), c(self.low), c(self.high), self.n)


def _finite(values: Iterable[float]) -> np.ndarray:
    a = np.asarray(list(values), dtype=float)
    return a[np.isfinite(a)]


def mean_interval(values: Iterable[float], level: float = LEVEL) -> Interval:
    """The mean and its t interval; no interval below two values (one replicate is no evidence)."""
    return _t_interval(values, level)


def prediction_interval(values: Iterable[float], m: int = 1, level: float = LEVEL) -> Interval:
    """Where the mean of ``m`` new draws from the values' distribution falls: the t prediction
    interval mean ± t s sqrt(1/m + 1/n). A number someone else computed from one synthetic set
    is one such draw (m = 1); comparing it with the mean's interval instead would call a
    difference the mere noise of its single set. No interval below two values."""
    return _t_interval(values, level, m)


def _t_interval(values: Iterable[float], level: float, m: int | None = None) -> Interval:
    """The mean with its t interval (``m`` None) or its prediction interval for the mean of
    ``m`` new draws."""
    a = _finite(values)
    if len(a) == 0:
        return Interval(math.nan)
    mean = float(a.mean())
    if len(a) < 2:
        return Interval(mean, n=1)
    t_s = stats.t.ppf(0.5 + level / 2, len(a) - 1) * a.std(ddof=1)
    half = float(t_s / math.sqrt(len(a)) if m is None else t_s * math.sqrt(1 / m + 1 / len(a)))
    return Interval(mean, mean - half, mean + half, len(a))


def normal_interval(estimate: float, se: float, level: float = LEVEL, n: int = 0) -> Interval:
    """estimate ± z se, for a Monte Carlo summary that carries its standard error; none
    without a finite standard error."""
    if not (np.isfinite(estimate) and np.isfinite(se)):
        return Interval(float(estimate), n=n)
    half = float(stats.norm.ppf(0.5 + level / 2) * se)
    return Interval(float(estimate), estimate - half, estimate + half, n)


def welch_interval(a: Iterable[float], b: Iterable[float], level: float = LEVEL) -> Interval:
    """mean(a) - mean(b) with Welch's t interval, for replicates that are not paired."""
    x, y = _finite(a), _finite(b)
    if len(x) == 0 or len(y) == 0:
        return Interval(math.nan)
    d = float(x.mean() - y.mean())
    if len(x) < 2 or len(y) < 2:
        return Interval(d, n=min(len(x), len(y)))
    vx, vy = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
    se2 = vx + vy
    if se2 == 0:
        return Interval(d, d, d, min(len(x), len(y)))
    df = se2**2 / (vx**2 / (len(x) - 1) + vy**2 / (len(y) - 1))
    half = float(stats.t.ppf(0.5 + level / 2, df) * math.sqrt(se2))
    return Interval(d, d - half, d + half, min(len(x), len(y)))


def ratio_interval(num: Iterable[float], den: Iterable[float], level: float = LEVEL) -> Interval:
    """Geometric mean of paired ratios num/den with the t interval of their logs.

    Errors are positive and their ratios skewed, so the log scale is where a t interval is
    symmetric. Pairs where either side is not positive have no log ratio and are left out.
    """
    x, y = np.asarray(list(num), dtype=float), np.asarray(list(den), dtype=float)
    keep = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    return mean_interval(np.log(x[keep] / y[keep]), level).map(math.exp)


def wilson_interval(k: int, n: int, level: float = LEVEL) -> Interval:
    """The share k/n with its Wilson score interval (sound at small n and at 0 or n)."""
    if n <= 0:
        return Interval(math.nan)
    z = float(stats.norm.ppf(0.5 + level / 2))
    p = k / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half), n)


def median_interval(values: Iterable[float], level: float = LEVEL) -> Interval:
    """The median with its distribution-free interval: the order statistics whose ranks bound
    the binomial(n, 1/2) quantiles, so it holds for any continuous distribution."""
    a = np.sort(_finite(values))
    n = len(a)
    if n == 0:
        return Interval(math.nan)
    m = float(np.median(a))
    if n < 2:
        return Interval(m, n=1)
    lo = int(stats.binom.ppf((1 - level) / 2, n, 0.5))
    hi = int(stats.binom.isf((1 - level) / 2, n, 0.5))
    return Interval(m, float(a[max(lo - 1, 0)]), float(a[min(hi, n - 1)]), n)


def decide(interval: Interval, threshold: float, holds_above: bool = True) -> str:
    """HOLDS when the whole interval lies on the claimed side of `threshold`, FAILS when it lies
    wholly on the other side, UNDECIDED when it contains the threshold or does not exist."""
    if not interval.defined:
        return UNDECIDED
    above, below = interval.low > threshold, interval.high < threshold
    if above:
        return HOLDS if holds_above else FAILS
    if below:
        return FAILS if holds_above else HOLDS
    return UNDECIDED


def combine_all(decisions: Iterable[str]) -> str:
    """A conjunction of comparisons: holds when all hold, fails when any fails, else undecided."""
    ds = list(decisions)
    if not ds:
        return UNDECIDED
    if any(d == FAILS for d in ds):
        return FAILS
    return HOLDS if all(d == HOLDS for d in ds) else UNDECIDED


def widest(intervals: Iterable[Interval]) -> Interval:
    """The widest defined interval of several (e.g. over sets and over replicates of one design),
    so that no source of noise is left out; the first one when none is defined."""
    ivs = list(intervals)
    defined = [iv for iv in ivs if iv.defined]
    if defined:
        return max(defined, key=lambda iv: iv.high - iv.low)
    return ivs[0] if ivs else Interval(math.nan)
