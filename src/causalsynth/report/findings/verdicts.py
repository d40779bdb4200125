"""Verdicts, the claim record, and the per-pair vote that is the SECONDARY reading.

The verdict of a claim comes from its primary test alone (causalsynth.report.findings.primary).
The vote over (generator, dataset) pairs below is kept beside it as a description: each pair
is decided by an interval over a handful of replicates, without multiplicity control, so it
must not carry a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from causalsynth.core.uncertainty import FAILS, HOLDS, LEVEL, UNDECIDED, Interval, wilson_interval
from causalsynth.report.findings.format import ci
from causalsynth.report.findings.primary import ALPHA, MIN_REPLICATES, PrimaryTest

SUPPORTED = "supported"
CONTRADICTED = "contradicted"
INCONCLUSIVE = "inconclusive"
NOT_TESTED = "not tested in this run"
NOT_TESTABLE = "not testable at this configuration"

# The secondary vote: a majority is one that noise would rarely give, its Wilson interval
# excludes one half, on at least two datasets.
MIN_DECIDED = 2
MIN_DATASETS = 2
MAJORITY = 0.5

PAIR_RULE = (
    f"Secondary pair decisions, unless the rule above says otherwise: per pair, a mean over the "
    f"replicates with its {LEVEL:.0%} t interval (none below {MIN_REPLICATES} replicates); the pair "
    f"holds or fails when the interval lies wholly on one side of its threshold, and is undecided "
    f"otherwise. The vote over pairs (its share of "
    f"decided pairs that hold, with a Wilson interval) is descriptive: it has no multiplicity "
    f"control and does not feed the verdict."
)


@dataclass
class Evidence:
    """The decided comparisons of the secondary vote."""

    unit: str
    n_hold: int
    n_fail: int
    n_undecided: int
    n_datasets: int  # datasets with at least one decided comparison
    share: Interval  # of decided comparisons that hold, with its Wilson interval

    @property
    def n_decided(self) -> int:
        return self.n_hold + self.n_fail

    def counts(self) -> str:
        return f"{self.n_hold} / {self.n_fail} / {self.n_undecided}"

    def text(self) -> str:
        if self.n_decided == 0:
            return f"none of {self.n_undecided} {self.unit}s is decided"
        return (
            f"{self.n_hold} of {self.n_decided} decided {self.unit}s hold "
            f"({ci(self.share, as_pct=True)}), on {self.n_datasets} dataset(s); "
            f"{self.n_undecided} undecided"
        )


def _judge(decisions: pd.DataFrame, unit: str) -> tuple[str, Evidence]:
    """The secondary vote from a frame with one row per comparison: `dataset` and `decision`."""
    dec = decisions["decision"]
    decided = decisions.loc[dec.isin([HOLDS, FAILS])]
    n_hold, n_fail = int((dec == HOLDS).sum()), int((dec == FAILS).sum())
    share = wilson_interval(n_hold, n_hold + n_fail)
    ev = Evidence(unit, n_hold, n_fail, int((dec == UNDECIDED).sum()), decided["dataset"].nunique(), share)
    if ev.n_decided < MIN_DECIDED or ev.n_datasets < MIN_DATASETS:
        return INCONCLUSIVE, ev
    if share.low > MAJORITY:
        return SUPPORTED, ev
    if share.high < MAJORITY:
        return CONTRADICTED, ev
    return INCONCLUSIVE, ev


def verdict_of(test: PrimaryTest) -> str:
    """Supported / contradicted when the Holm-adjusted p is below ALPHA, by the estimate's side."""
    if not test.testable:
        return NOT_TESTABLE
    if test.p_holm < ALPHA:
        return SUPPORTED if test.on_paper_side else CONTRADICTED
    return INCONCLUSIVE


_VERDICT_TEXT = {
    SUPPORTED: "**Verdict: supported.** This run reproduces the paper's finding.",
    CONTRADICTED: "**Verdict: contradicted.** This run does not reproduce the paper's finding.",
    INCONCLUSIVE: (
        "**Verdict: inconclusive.** The primary test does not reject its null at the family-wise "
        "level: this run can neither reproduce nor contradict the paper's finding."
    ),
    NOT_TESTABLE: "**Verdict: not testable at this configuration.**",
    NOT_TESTED: "**Verdict: not tested in this run.**",
}


@dataclass
class Claim:
    key: str
    title: str
    paper: str
    test: str  # the primary test, pre-specified
    unit: str  # of the secondary table, e.g. "(base, dataset) pair"
    secondary_rule: str = ""
    verdict: str = NOT_TESTED
    primary: PrimaryTest | None = None
    # further readings, reported beside the primary test and outside the Holm family
    readings: list[tuple[str, PrimaryTest]] = field(default_factory=list)
    headline: str = ""  # why the claim is not tested, or the secondary tables' gist
    body: list[str] = field(default_factory=list)
    evidence: Evidence | None = None  # the secondary vote

    def judge(self, decisions: pd.DataFrame) -> None:
        """The secondary vote; the verdict is the primary test's (`settle`)."""
        _, self.evidence = _judge(decisions, self.unit)

    def settle(self) -> None:
        """The verdict from the primary test, once its Holm-adjusted p is known."""
        self.verdict = NOT_TESTED if self.primary is None else verdict_of(self.primary)

    def result_text(self) -> str:
        p = self.primary
        if p is None:
            return self.headline
        if not p.testable:
            reason = str(p.reason)
            return reason[:1].upper() + reason[1:]
        return p.result()

    def to_markdown(self) -> str:
        parts = [
            f"## ({self.key}) {self.title}",
            f"**Paper.** {self.paper}",
            f"**Primary test (pre-specified).** {self.test}",
            f"{_VERDICT_TEXT[self.verdict]} {self.result_text()}".rstrip(),
        ]
        for name, reading in self.readings:
            text = reading.result() if reading.testable else f"not testable: {reading.reason}"
            parts.append(f"{name}: {text}")
        if self.primary is not None and self.primary.across_text():
            parts.append(self.primary.across_text())
        if self.body or self.evidence:
            vote = f" Vote: {self.evidence.text()}." if self.evidence else ""
            parts.append(
                f"**Secondary: per-pair table** (unit: {self.unit}; descriptive, not the verdict). "
                f"{self.secondary_rule} {PAIR_RULE}{vote} {self.headline if self.primary else ''}".rstrip()
            )
            parts += self.body
        return "\n\n".join(parts)
