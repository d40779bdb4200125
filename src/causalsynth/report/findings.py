"""The paper's claims, tested against this run's result tables and written as Markdown.

`write_findings(tables_dir, out_md)` is the only entry point. Every number in the output is
computed from the tables; every verdict comes from a rule that is printed next to it, so a
reader can check it by hand. A claim whose data this run did not produce is reported as
"not tested in this run" rather than silently dropped.

The table readers and generator helpers here are shared with `causalsynth.report.figures`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from causalsynth.core.io import write_text
from causalsynth.core.uncertainty import (
    FAILS,
    HOLDS,
    LEVEL,
    UNDECIDED,
    Interval,
    combine_all,
    decide,
    mean_interval,
    ratio_interval,
    welch_interval,
    widest,
    wilson_interval,
)
from causalsynth.core.vocabulary import (
    HYBRID_PREFIX,
    POSITIVITY_METHODS,
    REAL,
    TABLES,
    TRUTH_ENGINE,
    deduplicate_real,
    find_table,
    read_table,
    without_reference_learners,
)
from causalsynth.evaluate.engine import AGREES, DISAGREES, engine_ranking
from causalsynth.evaluate.engine import SPEARMAN_AGREES as _ENGINE_SPEARMAN_AGREES
from causalsynth.report.common import (
    absolute_error,
    attack_risk,
    common_cell_errors,
    generator_group,
    ok_rows,
    order_generators,
    paired_replicate_errors,
    replicate_errors,
    tstr_with_baseline,
)

# Fields of the `dcr` table (the flattened scalars of each dcr.json, see
# causalsynth.privacy.dcr_summary) used by claim (f), all fractions of rows before filtering.
DCR_EXACT_COPY_COLUMN = "covariates_share_exact_copies"
DCR_HOLDOUT_EXACT_COLUMN = "covariates_holdout_share_exact_copies"
DCR_NEAR_COPY_COLUMN = "covariates_share_closer_than_holdout_p05"
DCR_RECORD_EXACT_COLUMN = "record_share_exact_copies"  # whole rows (W, A, Y); absent for covariate-only sets
HOLDOUT_NEAR_SHARE = 0.05  # by construction: the holdout's own share below its 5th percentile


SUPPORTED = "supported"
CONTRADICTED = "contradicted"
INCONCLUSIVE = "inconclusive"
NOT_TESTED = "not tested in this run"

# Thresholds of the comparisons; printed verbatim in the findings.
TSTR_GAP_MAX = 0.05  # "good fidelity": within 0.05 AUC or R² of training on real data
# ... and, where the fidelity table measured them: a classifier tells the set from real rows
# with an AUC below 0.7 ("hard to tell apart"), and the column shapes score within 0.05 of a real
# sample of the set's size
C2ST_AUC_MAX = 0.7
SHAPE_GAP_MAX = 0.05
FAR_ERROR_RATIO = 2.0  # "far from the truth": at least twice the error of its hybrid
# the engine stage decides agreement with its own bootstrap; one constant, so the rule text matches
SPEARMAN_AGREES = _ENGINE_SPEARMAN_AGREES
EXACT_COPY_EXCESS_MAX = 0.01  # exact copies beyond the holdout's own rate (discrete data repeats)
NEAR_COPY_MAX = 2 * HOLDOUT_NEAR_SHARE

# Minimum evidence of a verdict. One replicate gives no interval, one dataset no generality, and
# a majority must be one that noise would rarely give: its Wilson interval must exclude one half.
MIN_REPLICATES = 2
MIN_DECIDED = 2
MIN_DATASETS = 2
MAJORITY = 0.5

INTERVAL_RULE = (
    f"Every interval is {LEVEL:.0%}. Per dataset, numbers are means over generator replicates "
    f"(rep 1..R; rep 0 is the real data) with a t interval over the replicates; a dataset with "
    f"fewer than {MIN_REPLICATES} replicates has no interval, and its comparisons are undecided. "
    f"A comparison holds or fails when its interval lies wholly on one side of its threshold and "
    f"is undecided when the interval contains the threshold."
)


def _verdict_rule(unit: str) -> str:
    where = "" if unit == "dataset" else f", on at least {MIN_DATASETS} datasets,"
    least = max(MIN_DECIDED, MIN_DATASETS) if unit == "dataset" else MIN_DECIDED
    return (
        f"Verdict: supported when at least {least} {unit}s{where} are decided and the share of decided {unit}s that hold has a {LEVEL:.0%} Wilson "
        f"interval wholly above {MAJORITY:g}; contradicted when the share that fails does; "
        f"inconclusive otherwise (in particular when the evidence rests on one dataset)."
    )


# --------------------------------------------------------------------------- formatting


def _fmt(x: object, digits: int = 4) -> str:
    if x is None:
        return "–"
    if isinstance(x, bool | np.bool_):
        return "yes" if x else "no"
    if isinstance(x, int | np.integer):
        return str(int(x))
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if not np.isfinite(v):
        return "–"
    return f"{v:.{digits}g}"


def _pct(x: float) -> str:
    # one decimal: half a percent of copied rows must not print as 0%
    return "–" if not np.isfinite(x) else f"{100 * x:.1f}%".replace(".0%", "%")


def _ci(iv: Interval, digits: int = 4, pct: bool = False) -> str:
    """ "estimate [low, high]"; "[–]" says that no interval exists (a single replicate)."""
    f = _pct if pct else (lambda v: _fmt(v, digits))
    if not np.isfinite(iv.estimate):
        return "–"
    if not iv.defined:
        return f"{f(iv.estimate)} [–]"
    return f"{f(iv.estimate)} [{f(iv.low)}, {f(iv.high)}]"


def _err_ci(iv: Interval) -> str:
    # a t interval knows nothing of |error| >= 0; a negative bound would only confuse the reader
    return _ci(iv.clip(0.0, math.inf))


def _md_table(df: pd.DataFrame) -> str:
    if df.empty:
        return "_(no rows)_"
    # a bare "|" inside a cell (as in "|ATE error|") would split it into two columns
    cells = df.map(lambda v: _fmt(v).replace("|", r"\|"))
    return cells.to_markdown(index=False, disable_numparse=True)


# --------------------------------------------------------------------------- verdicts


@dataclass
class Evidence:
    """The decided comparisons a verdict rests on."""

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
            f"({_ci(self.share, pct=True)}), on {self.n_datasets} dataset(s); "
            f"{self.n_undecided} undecided"
        )


def _judge(decisions: pd.DataFrame, unit: str) -> tuple[str, Evidence]:
    """The verdict from a frame with one row per comparison: `dataset` and `decision`."""
    dec = decisions["decision"]
    decided = decisions.loc[dec != UNDECIDED]
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


@dataclass
class Claim:
    key: str
    title: str
    paper: str
    rule: str
    verdict: str = NOT_TESTED
    headline: str = ""
    body: list[str] = field(default_factory=list)
    evidence: Evidence | None = None

    def judge(self, decisions: pd.DataFrame, unit: str) -> None:
        self.verdict, self.evidence = _judge(decisions, unit)

    def to_markdown(self) -> str:
        if self.verdict == SUPPORTED:
            verdict = "**Verdict: supported.** This run reproduces the paper's finding."
        elif self.verdict == CONTRADICTED:
            verdict = "**Verdict: contradicted.** This run does not reproduce the paper's finding."
        elif self.verdict == INCONCLUSIVE:
            verdict = (
                "**Verdict: inconclusive.** This run's evidence is too thin or too noisy to "
                "reproduce or contradict the paper's finding."
            )
        else:
            verdict = "**Verdict: not tested in this run.**"
        evidence = f"Evidence: {self.evidence.text()}." if self.evidence else ""
        parts = [
            f"## ({self.key}) {self.title}",
            f"**Paper.** {self.paper}",
            f"**Rule.** {self.rule}",
            f"{verdict} {evidence} {self.headline}".replace("  ", " ").rstrip(),
            *self.body,
        ]
        return "\n\n".join(parts)


def _reps(values: pd.Series) -> int:
    return int(pd.Series(values).nunique())


# --------------------------------------------------------------------------- claims


def _fidelity_decisions(fidelity: pd.DataFrame | None, g: str, d: str) -> dict[str, object]:
    """C2ST AUC and column-shape gap of (g, d), each a mean over replicates with its t interval."""
    if fidelity is None or fidelity.empty:
        return {}
    ok = ok_rows(fidelity[(fidelity["generator"] == g) & (fidelity["dataset"] == d)], "value")
    if ok.empty:
        return {}
    c2st = ok[ok["metric"] == "c2st_auc"].groupby("rep")["value"].mean()
    shape = ok[ok["metric"] == "shape"]
    shape_gap = (
        (pd.to_numeric(shape["real_value"]) - pd.to_numeric(shape["value"])).groupby(shape["rep"]).mean()
    )
    c2st_iv, shape_iv = mean_interval(c2st), mean_interval(shape_gap)
    return {
        "c2st": c2st_iv,
        "shape_gap": shape_iv,
        "c2st_good": decide(c2st_iv, C2ST_AUC_MAX, holds_above=False),
        "shape_good": decide(shape_iv, SHAPE_GAP_MAX, holds_above=False),
    }


def claim_fidelity_vs_effect(
    ate: pd.DataFrame, tstr: pd.DataFrame, fidelity_table: pd.DataFrame | None = None
) -> Claim:
    claim = Claim(
        "a",
        "Good predictive fidelity, wrong effect",
        "Fully generative generators (CTGAN, TVAE, GReaT, ...) reach good train-on-synthetic-"
        "test-on-real (TSTR) scores, yet their ATE estimates are far from the truth.",
        f"For each fully generative generator g and dataset, two comparisons. Good fidelity: the "
        f"TSTR gap (train-on-real score minus g's TSTR score; AUC for binary, R² for continuous "
        f"outcomes), per replicate, has its interval below {TSTR_GAP_MAX}, and, where the fidelity "
        f"table measured the pair, the classifier two-sample AUC (real holdout vs synthetic) has its "
        f"interval below {C2ST_AUC_MAX:g} and the column-shape gap (a real sample's shape score minus "
        f"g's) below {SHAPE_GAP_MAX:g}; good fidelity fails when any of these fails. Far from the truth: the "
        f"ratio of g's mean |ATE error| to that of its hybrid hybrid_g in the same replicate (over "
        f"the estimator and learner cells both have; hybrid_g's replicate r is built from g's), as "
        f"a geometric mean over replicates with the t interval of the log ratios, has its interval "
        f"above {FAR_ERROR_RATIO:g}. The pair holds when both hold, fails when either fails, and is "
        f"undecided otherwise. {INTERVAL_RULE} {_verdict_rule('(generator, dataset) pair')}",
    )
    cells = replicate_errors(ate)
    fidelity = tstr_with_baseline(tstr, by_rep=True)
    rows = []
    for g in order_generators(set(cells["generator"]) | set(fidelity["generator"])):
        if generator_group(g) != "fully generative":
            continue
        datasets = sorted(
            set(cells.loc[cells["generator"] == g, "dataset"])
            | set(fidelity.loc[fidelity["generator"] == g, "dataset"])
        )
        errs = paired_replicate_errors(cells, g, HYBRID_PREFIX + g)
        for d in datasets:
            f = fidelity[(fidelity["generator"] == g) & (fidelity["dataset"] == d)]
            # several metrics of one replicate are one observation of its fidelity
            gaps = (f["baseline"] - f["value"]).groupby(f["rep"]).mean() if len(f) else pd.Series(dtype=float)
            gap = mean_interval(gaps)
            e = errs[errs["dataset"] == d]
            ratio = ratio_interval(e["err_a"], e["err_b"])
            tested = bool(np.isfinite(gap.estimate) and np.isfinite(ratio.estimate))
            good_tstr = decide(gap, TSTR_GAP_MAX, holds_above=False)
            fid = _fidelity_decisions(fidelity_table, g, d)
            good = combine_all([good_tstr, fid["c2st_good"], fid["shape_good"]]) if fid else good_tstr
            far = decide(ratio, FAR_ERROR_RATIO)
            rows.append(
                {
                    "generator": g,
                    "dataset": d,
                    "metric": ", ".join(sorted(f["metric"].astype(str).unique())) if len(f) else "–",
                    "TSTR reps": _reps(gaps.index),
                    "TSTR": f["value"].mean() if len(f) else np.nan,
                    "train on real": f["baseline"].mean() if len(f) else np.nan,
                    "gap [CI]": _ci(gap),
                    "good TSTR": good_tstr if np.isfinite(gap.estimate) else "–",
                    "C2ST AUC [CI]": _ci(fid["c2st"]) if fid else "not measured",
                    "shape gap [CI]": _ci(fid["shape_gap"]) if fid else "not measured",
                    "good fidelity": good if np.isfinite(gap.estimate) else "–",
                    "ATE reps": _reps(e["rep"]),
                    "mean abs error": _err_ci(mean_interval(e["err_a"])),
                    "hybrid mean abs error": _err_ci(mean_interval(e["err_b"])),
                    "error ratio [CI]": _ci(ratio),
                    "far": far if np.isfinite(ratio.estimate) else "–",
                    "claim": combine_all([good, far]) if tested else "not tested",
                    "_ratio": ratio.estimate,
                }
            )
    table = pd.DataFrame(rows)
    if table.empty:
        claim.headline = "No fully generative generator has both ATE and TSTR results in this run."
        return claim
    tested = table[table["claim"] != "not tested"]
    if tested.empty:
        claim.headline = "No pair has TSTR, train-on-real and both ATE errors at once."
    else:
        claim.judge(tested.rename(columns={"claim": "decision"}), "(generator, dataset) pair")
        across = mean_interval(np.log(tested["_ratio"].where(tested["_ratio"] > 0))).map(np.exp)
        claim.headline = (
            f"Of the tested pairs, {int((tested['good TSTR'] == HOLDS).sum())} decidedly have good TSTR, "
            f"{int((tested['good fidelity'] == HOLDS).sum())} decidedly good fidelity overall, "
            f"and {int((tested['far'] == HOLDS).sum())} decidedly at least {FAR_ERROR_RATIO:g}x the "
            f"error of their hybrid; geometric-mean error ratio over the {len(tested)} pairs "
            f"{_ci(across, 3)} (t interval over pairs, log scale)."
        )
    claim.body.append(_md_table(table.drop(columns="_ratio")))
    return claim


def claim_hybrid_beats_generative(ate: pd.DataFrame) -> Claim:
    claim = Claim(
        "b",
        "Hybrid beats fully generative",
        "Hybrid synthetic data (synthetic covariates, treatment and outcome drawn from models "
        "learned on the real data) gives ATE estimates much closer to the truth than fully "
        "generative data from the same generator.",
        "For each base generator b and dataset, the paired difference over replicates of mean "
        "|ATE error| (b minus hybrid_b in the same replicate, over the estimator and learner cells "
        "both have; hybrid_b's replicate r is built from b's) holds when its interval is above 0 "
        f"and fails when it is below 0. {INTERVAL_RULE} {_verdict_rule('(base, dataset) pair')}",
    )
    cells = replicate_errors(ate)
    gens = set(cells["generator"])
    per_dataset, per_base = [], []
    for b in order_generators(g for g in gens if generator_group(g) == "fully generative"):
        if HYBRID_PREFIX + b not in gens:
            continue
        errs = paired_replicate_errors(cells, b, HYBRID_PREFIX + b)
        if errs.empty:
            continue
        rows = []
        for d, e in errs.groupby("dataset", sort=True):
            diff = mean_interval(e["err_a"] - e["err_b"])
            rows.append(
                {
                    "base": b,
                    "dataset": d,
                    "reps": _reps(e["rep"]),
                    "cells": int(e["n_cells"].max()),
                    "base mean abs error": _err_ci(mean_interval(e["err_a"])),
                    "hybrid mean abs error": _err_ci(mean_interval(e["err_b"])),
                    "base - hybrid [CI]": _ci(diff),
                    "hybrid better": decide(diff, 0.0),
                    "_base": e["err_a"].mean(),
                    "_hybrid": e["err_b"].mean(),
                }
            )
        per_dataset += rows
        sub = pd.DataFrame(rows)
        per_base.append(
            {
                "base": b,
                "datasets": len(sub),
                "holds / fails / undecided": " / ".join(
                    str(int((sub["hybrid better"] == v).sum())) for v in (HOLDS, FAILS, UNDECIDED)
                ),
                # a ratio per dataset, because the datasets' outcome scales differ by orders of magnitude
                "geometric-mean error ratio hybrid / base [CI over datasets]": _ci(
                    ratio_interval(sub["_hybrid"], sub["_base"])
                ),
            }
        )
    if not per_dataset:
        claim.headline = "No base generator has both its fully generative and hybrid results in this run."
        return claim
    detail = pd.DataFrame(per_dataset)
    claim.judge(detail.rename(columns={"hybrid better": "decision"}), "(base, dataset) pair")
    across = ratio_interval(detail["_hybrid"], detail["_base"])
    claim.headline = (
        f"Geometric-mean error ratio hybrid / base over the {len(detail)} pairs: {_ci(across, 3)} "
        f"(t interval over pairs, log scale)."
    )
    losing = sorted(set(detail.loc[detail["hybrid better"] == FAILS, "base"]))
    if losing:
        claim.headline += f" The hybrid is decidedly worse for some dataset with: {', '.join(losing)}."
    claim.body += [
        "Per base (the error ratio is taken per dataset, then its geometric mean over datasets):",
        _md_table(pd.DataFrame(per_base)),
        "Per dataset (mean over replicates [t interval]):",
        _md_table(detail.drop(columns=["_base", "_hybrid"])),
    ]
    return claim


def claim_llm_vs_ctgan(ate: pd.DataFrame) -> Claim:
    claim = Claim(
        "c",
        "LLM-based covariates beat CTGAN-based covariates",
        "In the follow-up paper, hybrid data with covariates from an LLM generator (GReaT) often "
        "gives ATE estimates closer to the truth than hybrid data with CTGAN covariates.",
        "Per dataset, each replicate's mean |ATE error| over the estimator and learner cells both "
        "generators have; the difference hybrid_ctgan minus hybrid_great of the means over "
        "replicates (with Welch's t interval: the two generators' replicates are independent "
        "draws, not pairs) holds when its interval is above 0 and fails when it is below 0. "
        f"{INTERVAL_RULE} {_verdict_rule('dataset')}",
    )
    great, ctgan = "hybrid_great", "hybrid_ctgan"
    cells = replicate_errors(ate)
    errs = common_cell_errors(cells, great, ctgan)
    if errs.empty:
        present = sorted({great, ctgan} & set(cells["generator"]))
        claim.headline = (
            "Needs ok ATE results of both hybrid_great and hybrid_ctgan on a common dataset; "
            f"present: {', '.join(present) or 'neither'}."
        )
        return claim
    rows = []
    for d, e in errs.groupby("dataset", sort=True):
        a, b = e.loc[e["generator"] == great, "err"], e.loc[e["generator"] == ctgan, "err"]
        diff = welch_interval(b, a)
        rows.append(
            {
                "dataset": d,
                "reps great / ctgan": f"{len(a)} / {len(b)}",
                "cells": int(e["n_cells"].max()),
                "hybrid_great mean abs error": _err_ci(mean_interval(a)),
                "hybrid_ctgan mean abs error": _err_ci(mean_interval(b)),
                "ctgan - great [CI]": _ci(diff),
                "hybrid_great better": decide(diff, 0.0),
                "_a": a.mean(),
                "_b": b.mean(),
            }
        )
    table = pd.DataFrame(rows)
    claim.judge(table.rename(columns={"hybrid_great better": "decision"}), "dataset")
    across = ratio_interval(table["_a"], table["_b"])
    claim.headline = (
        f"Geometric-mean error ratio hybrid_great / hybrid_ctgan over the {len(table)} dataset(s): "
        f"{_ci(across, 3)} (t interval over datasets, log scale)."
    )
    claim.body.append(_md_table(table.drop(columns=["_a", "_b"])))
    return claim


def _set_rep_interval(values: pd.Series) -> Interval:
    """Interval of a mean over a (rep, set) design: the wider of the t intervals over sets (each
    averaged over replicates) and over replicates (each averaged over sets), so that neither the
    real sets' noise nor the synthetic pools' noise is left out."""
    return widest(
        [
            mean_interval(values.groupby(level="set").mean()),
            mean_interval(values.groupby(level="rep").mean()),
        ]
    )


def claim_pairing(positivity: pd.DataFrame) -> Claim:
    claim = Claim(
        "d",
        "Synthetic pairing under positivity violations",
        "Appending nearest synthetic hybrid units of the missing treatment arm to units with "
        "extreme propensities (synthetic pairing) reduces the ATE error compared with the raw "
        "estimate, IPTW weight truncation and propensity clipping.",
        "Per dataset and (replicate, set), the mean |ATE error| of each method over the estimator "
        "and learner cells that are ok for every method present. For each other method m, the "
        "difference m minus paired has an interval: the wider of the t intervals over sets "
        "(each averaged over replicates) and over replicates (each averaged over sets); fewer "
        f"than {MIN_REPLICATES} of both gives none. The dataset holds when every difference is "
        f"above 0, fails when any is below 0, and is undecided otherwise. {_verdict_rule('dataset')}",
    )
    ok = ok_rows(positivity)
    if not ok.empty:
        ok = ok.assign(abs_error=absolute_error(ok)).dropna(subset=["abs_error"])
    methods = [m for m in POSITIVITY_METHODS if not ok.empty and m in set(ok["method"])]
    if "paired" not in methods or len(methods) < 2:
        claim.headline = (
            "Needs ok positivity estimates with a known truth for the paired method and at least one "
            f"baseline; methods present: {', '.join(methods) or 'none'}."
        )
        return claim
    keys = ["dataset", "rep", "set", "estimator", "learner"]
    # pivot_table drops rows with a missing key (an estimator without a learner); strings keep them
    ok = ok.assign(**{k: ok[k].astype(str) for k in keys if k != "dataset"})
    wide = ok.pivot_table(index=keys, columns="method", values="abs_error", aggfunc="mean")[methods]
    means, diffs = [], []
    for d, grp in wide.groupby(level="dataset"):
        complete = grp.dropna()
        if complete.empty:
            continue
        units = complete.groupby(level=["rep", "set"]).mean()
        size = {
            "dataset": d,
            "sets": units.index.get_level_values("set").nunique(),
            "reps": units.index.get_level_values("rep").nunique(),
        }
        means.append(
            {**size, **{m: _err_ci(_set_rep_interval(units[m])) for m in methods}, "cells": len(complete)}
        )
        row, decisions = dict(size), []
        for m in methods:
            if m == "paired":
                continue
            iv = _set_rep_interval(units[m] - units["paired"])
            decisions.append(decide(iv, 0.0))
            row[f"{m} - paired"] = _ci(iv)
        diffs.append({**row, "pairing lowest": combine_all(decisions)})
    if not means:
        claim.headline = "No (replicate, set, estimator, learner) cell is ok for all methods."
        return claim
    table = pd.DataFrame(diffs)
    claim.judge(table.rename(columns={"pairing lowest": "decision"}), "dataset")
    claim.headline = f"Pairing has decidedly the lowest mean |ATE error| in {int((table['pairing lowest'] == HOLDS).sum())} of {len(table)} datasets."
    claim.body += [
        "Mean |ATE error| per method [interval]:",
        _md_table(pd.DataFrame(means)),
        "Differences to pairing (positive: pairing has the lower error):",
        _md_table(table),
    ]
    return claim


def claim_engine(engine: pd.DataFrame, ranking: pd.DataFrame) -> Claim:
    claim = Claim(
        "e",
        "The simulation engine ranks estimators as the truth does",
        "A large hybrid pool used as a known-truth population ranks estimators by error the same "
        "way the true data-generating process does.",
        f"Spearman correlation, per dataset and hybrid engine, between the estimators' RMSE "
        f"under the engine and under the true process, with the engine stage's {LEVEL:.0%} "
        f"bootstrap interval over its replicates (engine_ranking columns spearman_low, "
        f"spearman_high, verdict). A pair holds when the engine stage calls it '{AGREES}' (interval "
        f"at or above {SPEARMAN_AGREES}), fails at '{DISAGREES}' (below it), and is undecided "
        f"otherwise; without those columns (or without the engine_ranking table, when the ranking "
        f"is recomputed from the engine table) the point Spearman is shown but every pair is "
        f"undecided. {_verdict_rule('(dataset, engine) pair')}",
    )
    source = "engine_ranking"
    if ranking.empty:
        ranking, source = engine_ranking(engine), "engine (RMSE averaged over n, no replicates)"
    ranking = ranking[ranking["engine"] != TRUTH_ENGINE]
    if ranking.empty:
        claim.headline = "No hybrid engine was compared with the true process in this run."
        return claim
    rho = pd.to_numeric(ranking["spearman_vs_truth"], errors="coerce")
    has_interval = {"spearman_low", "spearman_high", "verdict"} <= set(ranking.columns)
    if has_interval:
        low = pd.to_numeric(ranking["spearman_low"], errors="coerce")
        high = pd.to_numeric(ranking["spearman_high"], errors="coerce")
        verdict = ranking["verdict"].astype(str).str.strip()
        decision = verdict.map({AGREES: HOLDS, DISAGREES: FAILS}).fillna(UNDECIDED)
    else:
        low = high = pd.Series(np.nan, index=ranking.index)
        decision = pd.Series(UNDECIDED, index=ranking.index)
        source += "; no intervals, so every pair is undecided"
    table = pd.DataFrame(
        {
            "dataset": ranking["dataset"].to_numpy(),
            "engine": ranking["engine"].to_numpy(),
            "spearman [CI]": [_ci(Interval(r, lo, hi)) for r, lo, hi in zip(rho, low, high, strict=True)],
            "point rule": np.where(rho.notna(), np.where(rho >= SPEARMAN_AGREES, "agrees", "no"), "–"),
            "decision": decision.to_numpy(),
        }
    ).sort_values(["dataset", "engine"])
    claim.judge(table, "(dataset, engine) pair")
    claim.headline = (
        f"Mean Spearman over the {int(rho.notna().sum())} pairs with one: "
        f"{_ci(mean_interval(rho).clip(-1.0, 1.0), 3)} (t interval over pairs; source: {source})."
    )
    claim.body.append(_md_table(table.rename(columns={"decision": "ranks as the truth"})))
    return claim


def claim_dcr(dcr: pd.DataFrame) -> Claim:
    claim = Claim(
        "f",
        "Synthetic rows are not copies of real rows",
        "Synthetic data can stand in for real data only if it does not copy real training rows; "
        "the distance to closest record (DCR) screen flags rows far closer to the training data "
        "than real holdout rows are (near-copies).",
        f"Per generator and dataset, over replicates of the unfiltered synthetic covariates: the "
        f"excess of exact copies of a training row over the real holdout's own share (rows repeat "
        f"in discrete data), and the share of near-copies, closer to the training data than the "
        f"holdout's 5th DCR percentile (a generator as close as unseen real rows has about "
        f"{_pct(HOLDOUT_NEAR_SHARE)}). The pair holds when the excess's interval is below "
        f"{EXACT_COPY_EXCESS_MAX * 100:g} percentage point and the near-copy share's is below "
        f"{_pct(NEAR_COPY_MAX)}, fails when either lies above its limit, and is undecided "
        f"otherwise. hybrid_real reuses the real covariates by design and is shown but not "
        f"counted. {INTERVAL_RULE} {_verdict_rule('(generator, dataset) pair')}",
    )
    needed = (DCR_EXACT_COPY_COLUMN, DCR_HOLDOUT_EXACT_COLUMN, DCR_NEAR_COPY_COLUMN)
    missing = [c for c in needed if c not in dcr.columns]
    if dcr.empty or missing:
        claim.headline = (
            "The dcr table is absent or empty." if dcr.empty else f"The dcr table lacks column(s) {missing}."
        )
        return claim
    cols = [*needed, *([DCR_RECORD_EXACT_COLUMN] if DCR_RECORD_EXACT_COLUMN in dcr.columns else [])]
    values = (
        dcr[cols]
        .apply(pd.to_numeric, errors="coerce")
        .assign(generator=dcr["generator"].astype(str), dataset=dcr["dataset"].astype(str), rep=dcr["rep"])
    )
    values["excess"] = values[DCR_EXACT_COPY_COLUMN] - values[DCR_HOLDOUT_EXACT_COLUMN].fillna(0.0)
    rank = {g: i for i, g in enumerate(order_generators(values["generator"]))}
    rows = []
    for (g, d), v in sorted(
        values.groupby(["generator", "dataset"]), key=lambda kv: (rank[kv[0][0]], kv[0][1])
    ):
        excess = mean_interval(v["excess"]).clip(-1.0, 1.0)
        near = mean_interval(v[DCR_NEAR_COPY_COLUMN]).clip(0.0, 1.0)
        counted = g not in (REAL, HYBRID_PREFIX + REAL) and bool(
            np.isfinite(excess.estimate) and np.isfinite(near.estimate)
        )
        decision = combine_all(
            [
                decide(excess, EXACT_COPY_EXCESS_MAX, holds_above=False),
                decide(near, NEAR_COPY_MAX, holds_above=False),
            ]
        )
        row = {
            "generator": g,
            "dataset": d,
            "reps": _reps(v["rep"]),
            "exact copies": _pct(v[DCR_EXACT_COPY_COLUMN].mean()),
            "holdout exact copies": _pct(v[DCR_HOLDOUT_EXACT_COLUMN].mean()),
            "excess [CI]": _ci(excess, pct=True),
            "near-copies [CI]": _ci(near, pct=True),
            "counted": counted,
            "within limits": decision if counted else "–",
        }
        if DCR_RECORD_EXACT_COLUMN in v.columns:
            row["whole-record copies"] = _pct(v[DCR_RECORD_EXACT_COLUMN].mean())
        rows.append(row)
    table = pd.DataFrame(rows)
    if "whole-record copies" in table.columns:
        table.insert(4, "whole-record copies", table.pop("whole-record copies"))
    counted = table[table["counted"]]
    if counted.empty:
        claim.headline = "No generator with DCR results to count (hybrid_real reuses real rows by design)."
    else:
        claim.judge(counted.rename(columns={"within limits": "decision"}), "(generator, dataset) pair")
        failing = order_generators(counted.loc[counted["within limits"] == FAILS, "generator"])
        claim.headline = f"Generators decidedly over a limit on some dataset: {', '.join(failing) or 'none'}."
    claim.body.append(_md_table(table))
    return claim


# Privacy claim (g): how much more attack risk a hybrid release may carry than its base's
# filtered set before the claim fails, in units of anonymeter's risk (0 none, 1 every record).
PRIVACY_RISK_MARGIN = 0.05


def claim_privacy(privacy: pd.DataFrame) -> Claim:
    claim = Claim(
        "g",
        "The hybrid release carries no more attack risk than its base",
        "The papers release synthetic data once a DCR screen has passed it, and the hybrid keeps "
        "only the screened synthetic covariates of its base, drawing treatment and outcome from "
        "models; it should then reveal no more about the training rows than the base's screened "
        "set. DCR is a screen, not a guarantee, so the risk is measured by attacks.",
        f"Attack risk of a set: the worst of anonymeter's singling-out, linkability and inference "
        f"risks (each the success on training rows in excess of that on the real holdout, the "
        f"control). For each base generator b with a hybrid hybrid_b and each dataset, the "
        f"paired difference over replicates (hybrid_b minus b's DCR-filtered set in the same "
        f"replicate; hybrid_b's replicate r is built from b's) holds when its interval lies below "
        f"{PRIVACY_RISK_MARGIN:g} and fails when it lies above {PRIVACY_RISK_MARGIN:g}. The filter's "
        f"own effect (b's filtered minus unfiltered set) is shown beside it and not counted. "
        f"{INTERVAL_RULE} {_verdict_rule('(base, dataset) pair')}",
    )
    risk = attack_risk(privacy)
    if risk.empty:
        claim.headline = "The privacy table is absent or has no ok attack risk."
        return claim
    risk = risk.assign(rep=pd.to_numeric(risk["rep"]))
    filtered = risk[risk["set"] == "filtered"]
    rows = []
    bases = order_generators(g for g in risk["generator"] if generator_group(g) == "fully generative")
    for b in bases:
        hybrid = HYBRID_PREFIX + b
        for d in sorted(risk.loc[risk["generator"] == b, "dataset"].unique()):
            base_f = filtered[(filtered["generator"] == b) & (filtered["dataset"] == d)]
            base_u = risk[(risk["generator"] == b) & (risk["dataset"] == d) & (risk["set"] == "unfiltered")]
            hyb = filtered[(filtered["generator"] == hybrid) & (filtered["dataset"] == d)]
            paired = hyb.merge(base_f, on="rep", suffixes=("_h", "_b"))
            filt = base_f.merge(base_u, on="rep", suffixes=("_f", "_u"))
            diff = mean_interval(paired["risk_h"] - paired["risk_b"])
            buys = mean_interval(filt["risk_f"] - filt["risk_u"])
            eps = pd.concat([base_f["epsilon"], hyb["epsilon"]]).dropna()
            rows.append(
                {
                    "base": b,
                    "dataset": d,
                    "reps": _reps(paired["rep"]),
                    "epsilon": eps.max() if len(eps) else None,
                    "unfiltered risk": _ci(mean_interval(base_u["risk"]).clip(0.0, 1.0)),
                    "filtered risk": _ci(mean_interval(base_f["risk"]).clip(0.0, 1.0)),
                    "hybrid risk": _ci(mean_interval(hyb["risk"]).clip(0.0, 1.0)),
                    "hybrid - filtered [CI]": _ci(diff),
                    "no more risk": decide(diff, PRIVACY_RISK_MARGIN, holds_above=False)
                    if len(paired)
                    else "not tested",
                    "filtered - unfiltered [CI]": _ci(buys),
                    "filter lowers risk": decide(buys, 0.0, holds_above=False) if len(filt) else "–",
                }
            )
    table = pd.DataFrame(rows)
    tested = table[table["no more risk"] != "not tested"] if len(table) else table
    if tested.empty:
        claim.headline = "No base generator has both its filtered set and its hybrid attacked."
    else:
        claim.judge(tested.rename(columns={"no more risk": "decision"}), "(base, dataset) pair")
        lowers = int((table["filter lowers risk"] == HOLDS).sum())
        raises = int((table["filter lowers risk"] == FAILS).sum())
        claim.headline = (
            f"The DCR filter decidedly lowers the attack risk on {lowers} and raises it on {raises} "
            f"of {len(table)} (base, dataset) pairs."
        )
    if len(table):
        claim.body.append(_md_table(table))
    return claim


# --------------------------------------------------------------------------- failed cells


def failed_cells(ate: pd.DataFrame, positivity: pd.DataFrame) -> str:
    """Counts of cells whose status is not "ok", by table, generator or method, and reason."""
    lines = ["## Failed cells", ""]
    for name, df, by in (("ate_preservation", ate, "generator"), ("positivity", positivity, "method")):
        if df.empty:
            lines.append(f"- `{name}`: no rows in this run.")
            continue
        status = df["status"].astype(str)
        n_fail = int((status != "ok").sum())
        lines.append(f"- `{name}`: {n_fail} of {len(df)} cells failed ({_pct(n_fail / len(df))}).")
        if n_fail:
            counts = (
                df.loc[status != "ok"]
                .assign(reason=status[status != "ok"])
                .groupby([by, "reason"])
                .size()
                .rename("cells")
                .reset_index()
            )
            lines += ["", _md_table(counts), ""]
    return "\n".join(lines).rstrip()


# --------------------------------------------------------------------------- entry point


def build_findings(tables_dir: str | os.PathLike) -> tuple[str, list[Claim]]:
    """The findings document as Markdown, and the claims with their verdicts."""
    tables = {name: read_table(tables_dir, name) for name in TABLES}
    tables["ate_preservation"] = without_reference_learners(deduplicate_real(tables["ate_preservation"]))
    absent = [name for name in TABLES if find_table(tables_dir, name) is None]
    claims = [
        claim_fidelity_vs_effect(tables["ate_preservation"], tables["tstr"], tables["fidelity"]),
        claim_hybrid_beats_generative(tables["ate_preservation"]),
        claim_llm_vs_ctgan(tables["ate_preservation"]),
        claim_pairing(tables["positivity"]),
        claim_engine(tables["engine"], tables["engine_ranking"]),
        claim_dcr(tables["dcr"]),
        claim_privacy(tables["privacy"]),
    ]
    summary = pd.DataFrame(
        {
            "claim": [f"({c.key}) {c.title}" for c in claims],
            "verdict": [c.verdict for c in claims],
            "holds / fails / undecided": [c.evidence.counts() if c.evidence else "–" for c in claims],
            f"share of decided that hold [{LEVEL:.0%} Wilson]": [
                _ci(c.evidence.share, pct=True) if c.evidence else "–" for c in claims
            ],
            "evidence": [c.headline for c in claims],
        }
    )
    contradicted = [f"({c.key})" for c in claims if c.verdict == CONTRADICTED]
    inconclusive = [f"({c.key})" for c in claims if c.verdict == INCONCLUSIVE]
    parts = [
        "# Findings of this run",
        "Generated by `causalsynth.report.findings.write_findings` from the result tables; do not edit by "
        "hand. Each claim of the papers (Kim, Xu and Lin, arXiv 2511.00318; Xu, arXiv 2604.23904) "
        "is tested by the rule stated with it. The ATE error of a cell is |estimate - truth| "
        "(the table's `bias` where given), against the real-data estimate where a dataset has no "
        "truth; only cells with status `ok` enter the numbers.",
        "Tables read: "
        + ", ".join(f"`{n}` ({len(tables[n])} rows)" for n in TABLES if n not in absent)
        + (f". Absent: {', '.join(f'`{n}`' for n in absent)}." if absent else "."),
        (
            f"**This run contradicts the paper on claim(s) {', '.join(contradicted)}.**"
            if contradicted
            else "This run contradicts none of the claims it tests."
        )
        + (
            f" Inconclusive (too few decided comparisons, or a split one): {', '.join(inconclusive)}."
            if inconclusive
            else ""
        ),
        "## Summary",
        _md_table(summary),
        failed_cells(tables["ate_preservation"], tables["positivity"]),
        *(c.to_markdown() for c in claims),
    ]
    return "\n\n".join(parts) + "\n", claims


def write_findings(tables_dir: str | os.PathLike, out_md: str | os.PathLike) -> list[Claim]:
    """Write `out_md` (e.g. results/findings.md) from the tables in `tables_dir`; return the claims."""
    text, claims = build_findings(tables_dir)
    write_text(text, out_md)
    return claims
