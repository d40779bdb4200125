"""The primary tests: one pre-specified test per claim, Holm over the family, and its power.

Replicates of a dataset are independent draws (a fresh sample, or a fresh train/holdout split)
that every generator of the replicate shares, so a claim reduces replicate r of dataset d to one
value y[d, r] and tests the mean of those values. The datasets are this run's, not a sample of
datasets: the stratified t test below generalises to new replicates of them, and the
across-dataset reading is printed beside it for a reader who wants the other inference.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from causalsynth.core.uncertainty import LEVEL, Interval
from causalsynth.report.findings.format import fmt, fmt_p

ALPHA = 0.05  # family-wise, over the testable primary tests
POWER = 0.8
MIN_REPLICATES = 2  # fewer gives a dataset no variance
MIN_DATASETS = 2  # one dataset is no evidence that the claim holds beyond it
MIN_ACROSS = 3  # datasets below which the across-dataset reading is not printed


@dataclass
class Across:
    """The random-effects reading: a one-sample t test over the per-dataset means."""

    estimate: float
    low: float
    high: float
    p: float
    n: int


@dataclass
class PrimaryTest:
    """One claim's primary test. estimate, se, low, high, mde are on the test's scale (the log
    scale for ratios); `shown_interval` and the texts are on the claim's scale."""

    label: str  # what the estimate is, on the claim's scale
    null: float
    side: str  # the paper's side of the null: "below" or "above"
    log_scale: bool = False
    estimate: float = math.nan
    se: float = math.nan
    df: float = math.nan  # math.inf: a z test
    p: float = math.nan
    p_holm: float = math.nan
    family: int = 1  # size of the Holm family; a reading outside it takes its size for its power
    in_family: bool = True
    reason: str | None = None  # why the test cannot run at this configuration
    reps: dict[str, int] = field(default_factory=dict)  # replicates per dataset that entered
    left_out: list[str] = field(default_factory=list)  # datasets with too few replicates
    replicates_known: bool = True  # False: the replicates are the engine stage's, not counted here
    across: Across | None = None

    @property
    def testable(self) -> bool:
        return self.reason is None and bool(np.isfinite(self.p))

    def _q(self, prob: float) -> float:
        if not np.isfinite(self.df):
            return float(stats.norm.ppf(prob))
        return float(stats.t.ppf(prob, self.df))

    def shown(self, v: float) -> float:
        """A value on the claim's scale (a ratio for a log-scale test)."""
        return float(math.exp(v)) if self.log_scale and np.isfinite(v) else v

    @property
    def interval(self) -> Interval:
        half = self._q(0.5 + LEVEL / 2) * self.se if self.testable else math.nan
        return Interval(self.estimate, self.estimate - half, self.estimate + half, sum(self.reps.values()))

    @property
    def low(self) -> float:
        return self.interval.low

    @property
    def high(self) -> float:
        return self.interval.high

    @property
    def shown_interval(self) -> Interval:
        return self.interval.map(self.shown)

    @property
    def on_paper_side(self) -> bool:
        return self.estimate < self.null if self.side == "below" else self.estimate > self.null

    @property
    def alpha(self) -> float:
        # Holm's first step tests at ALPHA / m: the strictest, so the worst case of the family
        return ALPHA / max(self.family, 1)

    @property
    def mde(self) -> float:
        """Smallest distance from the null detected with POWER at `alpha`, two-sided."""
        if not self.testable:
            return math.nan
        return (self._q(1 - self.alpha / 2) + self._q(POWER)) * self.se

    @property
    def reps_factor(self) -> float:
        """How many times this run's replicates would detect the observed distance with POWER:
        the SE scales as 1 / sqrt(R); the degrees of freedom are held at this run's."""
        gap = abs(self.estimate - self.null)
        if not self.testable or gap == 0:
            return math.nan
        return (self.mde / gap) ** 2

    @property
    def reps_needed(self) -> int | None:
        k = self.reps_factor
        if not np.isfinite(k) or not self.reps or not self.replicates_known:
            return None
        mean_reps = float(np.mean(list(self.reps.values())))
        return max(MIN_REPLICATES, math.ceil(mean_reps * k - 1e-9))

    # ---------------------------------------------------------------- text

    def detectable(self) -> str:
        if not self.testable:
            return "–"
        bound = self.null - self.mde if self.side == "below" else self.null + self.mde
        rel = "≤" if self.side == "below" else "≥"
        if self.log_scale:
            return f"ratio {rel} {fmt(self.shown(bound), 3)}"
        return f"{fmt(self.mde, 3)} ({rel} {fmt(bound, 3)})"

    def to_decide(self) -> str:
        if self.reps_needed is not None:
            return str(self.reps_needed)
        if np.isfinite(self.reps_factor):
            return f"{fmt(self.reps_factor, 2)} x this run's"
        return "–"

    def result(self) -> str:
        """The result sentence of findings.md."""
        iv = self.shown_interval
        shape = (
            "z test"
            if not np.isfinite(self.df)
            else f"stratified t, {len(self.reps)} datasets x "
            + "/".join(str(n) for n in sorted(set(self.reps.values())))
            + f" replicates, df {fmt(self.df, 3)}"
        )
        holm = f"Holm p {fmt_p(self.p_holm)}" if self.in_family else "outside the Holm family"
        label = self.label[:1].upper() + self.label[1:]
        text = (
            f"{label} {fmt(iv.estimate)} [{fmt(iv.low)}, {fmt(iv.high)}] ({LEVEL:.0%} CI; {shape}); "
            f"null {fmt(self.shown(self.null), 3)}, paper's side {self.side}; raw p {fmt_p(self.p)}, "
            f"{holm}. Detectable with {POWER:.0%} power at alpha {fmt(self.alpha, 3)} "
            f"({ALPHA:g} / {self.family}, Holm's first step, the worst case): {self.detectable()}. "
            f"Replicates per dataset that would decide the observed distance from the null with "
            f"{POWER:.0%} power: {self.to_decide()}."
        )
        if self.left_out:
            text += (
                f" Left out (fewer than {MIN_REPLICATES} replicates, so no variance): "
                f"{', '.join(self.left_out)}."
            )
        return text

    def across_text(self) -> str:
        if self.across is None:
            return ""
        a = self.across
        lo, hi = self.shown(a.low), self.shown(a.high)
        return (
            f"Secondary, across datasets (random-effects reading: a t test over the {a.n} per-dataset "
            f"means, {a.n - 1} df, generalising to new datasets like these): {fmt(self.shown(a.estimate))} "
            f"[{fmt(lo)}, {fmt(hi)}], p {fmt_p(a.p)}; not in the Holm family."
        )


def _p_two_sided(stat: float, df: float) -> float:
    if not np.isfinite(df):
        return float(2 * stats.norm.sf(abs(stat)))
    return float(2 * stats.t.sf(abs(stat), df))


def _test(test: PrimaryTest, estimate: float, se: float, df: float) -> PrimaryTest:
    test.estimate, test.se, test.df = estimate, se, df
    if se > 0:
        test.p = _p_two_sided((estimate - test.null) / se, df)
    else:
        # every replicate agrees exactly: no noise to weigh the distance against
        test.p = 0.0 if estimate != test.null else 1.0
    test.p_holm = test.p
    return test


def _across(means: pd.Series, null: float) -> Across | None:
    m = means.to_numpy(dtype=float)
    if len(m) < MIN_ACROSS:
        return None
    est, se = float(m.mean()), float(m.std(ddof=1) / math.sqrt(len(m)))
    half = float(stats.t.ppf(0.5 + LEVEL / 2, len(m) - 1)) * se
    p = _p_two_sided((est - null) / se, len(m) - 1) if se > 0 else float(est == null)
    return Across(est, est - half, est + half, p, len(m))


def stratified_t(values: pd.DataFrame, test: PrimaryTest, needs: str) -> PrimaryTest:
    """The stratified t test of `values` (dataset, rep, y) against `test.null`.

    The estimate is the mean over datasets of each dataset's mean over replicates; its variance
    (1 / D^2) sum_d s_d^2 / n_d, with Welch-Satterthwaite degrees of freedom. A dataset with one
    replicate has no s_d: counting its mean without a variance would understate the SE, so it is
    left out. `needs` says what would make an untestable test testable.
    """
    y = values.loc[np.isfinite(pd.to_numeric(values["y"], errors="coerce"))]
    per = y.groupby("dataset")["y"].agg(["mean", "var", "size"])
    if not per.empty:
        test.estimate = float(per["mean"].mean())  # shown even when untestable
    enter = per[per["size"] >= MIN_REPLICATES]
    test.left_out = sorted(str(d) for d in per.index[per["size"] < MIN_REPLICATES])
    test.reps = {str(d): int(n) for d, n in enter["size"].items()}
    if per.empty:
        test.reason = f"no replicate has a value. {needs}"
        return test
    if len(enter) < MIN_DATASETS:
        most = int(per["size"].max())
        test.reason = (
            f"{len(enter)} dataset(s) have {MIN_REPLICATES} or more replicates (most replicates on a "
            f"dataset: {most}); the test needs {MIN_DATASETS} or more such datasets. {needs}"
        )
        return test
    d = len(enter)
    w = enter["var"] / enter["size"] / d**2
    se2 = float(w.sum())
    df = se2**2 / float((w**2 / (enter["size"] - 1)).sum()) if se2 > 0 else float((enter["size"] - 1).sum())
    _test(test, float(enter["mean"].mean()), math.sqrt(se2), df)
    test.across = _across(enter["mean"], test.null)
    return test


def z_test(points: pd.DataFrame, test: PrimaryTest, needs: str) -> PrimaryTest:
    """The mean of `points` (dataset, value, se) as independent estimates: SE = sqrt(sum se^2) / k."""
    ok = points[np.isfinite(points["value"]) & np.isfinite(points["se"])]
    if len(points):
        test.estimate = float(points["value"].mean())
    test.replicates_known = False
    test.reps = ok.groupby("dataset").size().astype(int).to_dict()
    if ok.empty or ok["dataset"].nunique() < MIN_DATASETS:
        test.reason = f"{ok['dataset'].nunique()} dataset(s) have a value with an interval. {needs}"
        return test
    k = len(ok)
    _test(test, float(ok["value"].mean()), math.sqrt(float((ok["se"] ** 2).sum())) / k, math.inf)
    test.across = _across(ok.groupby("dataset")["value"].mean(), test.null)
    return test


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given."""
    p = np.asarray(pvalues, dtype=float)
    m = len(p)
    order = np.argsort(p, kind="stable")
    adjusted = np.empty(m)
    running = 0.0
    for i, j in enumerate(order):
        running = max(running, min(1.0, (m - i) * p[j]))
        adjusted[j] = running
    return adjusted.tolist()


def apply_holm(tests: Sequence[PrimaryTest]) -> None:
    """Adjust the testable tests in the family together; each learns the family's size."""
    family = [t for t in tests if t.in_family and t.testable]
    for t, adj in zip(family, holm([t.p for t in family]), strict=True):
        t.p_holm, t.family = adj, len(family)
    for t in tests:
        if not t.in_family:
            t.family = max(len(family), 1)
