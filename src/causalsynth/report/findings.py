"""The paper's claims, tested against this run's result tables and written as Markdown.

`write_findings(tables_dir, out_md)` is the only entry point. Every number in the output is
computed from the tables; every verdict comes from a rule that is printed next to it, so a
reader can check it by hand. A claim whose data this run did not produce is reported as
"not tested in this run" rather than silently dropped.

The table readers and generator helpers here are shared with `causalsynth.report.figures`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from causalsynth.core.io import write_text
from causalsynth.core.vocabulary import (
    HYBRID_PREFIX,
    POSITIVITY_METHODS,
    REAL,
    TABLES,
    TRUTH_ENGINE,
    deduplicate_real,
    find_table,
    read_table,
)
from causalsynth.evaluate.engine import engine_ranking
from causalsynth.report.common import (
    absolute_error,
    cell_errors,
    generator_group,
    ok_rows,
    order_generators,
    paired_errors,
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
NOT_TESTED = "not tested in this run"

# Thresholds of the verdict rules; printed verbatim in the findings.
TSTR_GAP_MAX = 0.05  # "good fidelity": within 0.05 AUC or R² of training on real data
FAR_ERROR_RATIO = 2.0  # "far from the truth": at least twice the error of its hybrid
SPEARMAN_AGREES = 0.5  # an engine "ranks as the truth does" at Spearman >= 0.5
EXACT_COPY_EXCESS_MAX = 0.01  # exact copies beyond the holdout's own rate (discrete data repeats)
NEAR_COPY_MAX = 2 * HOLDOUT_NEAR_SHARE


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


def _md_table(df: pd.DataFrame) -> str:
    if df.empty:
        return "_(no rows)_"
    # a bare "|" inside a cell (as in "|ATE error|") would split it into two columns
    cells = df.map(lambda v: _fmt(v).replace("|", r"\|"))
    return cells.to_markdown(index=False, disable_numparse=True)


def _majority(n_hold: int, n_tested: int) -> str:
    if n_tested == 0:
        return NOT_TESTED
    return SUPPORTED if n_hold > n_tested / 2 else CONTRADICTED


@dataclass
class Claim:
    key: str
    title: str
    paper: str
    rule: str
    verdict: str = NOT_TESTED
    headline: str = ""
    body: list[str] = field(default_factory=list)

    def to_markdown(self) -> str:
        if self.verdict == SUPPORTED:
            verdict = "**Verdict: supported.** This run reproduces the paper's finding."
        elif self.verdict == CONTRADICTED:
            verdict = "**Verdict: contradicted.** This run does not reproduce the paper's finding."
        else:
            verdict = "**Verdict: not tested in this run.**"
        parts = [
            f"## ({self.key}) {self.title}",
            f"**Paper.** {self.paper}",
            f"**Rule.** {self.rule}",
            f"{verdict} {self.headline}".rstrip(),
            *self.body,
        ]
        return "\n\n".join(parts)


# --------------------------------------------------------------------------- claims


def claim_fidelity_vs_effect(ate: pd.DataFrame, tstr: pd.DataFrame) -> Claim:
    claim = Claim(
        "a",
        "Good predictive fidelity, wrong effect",
        "Fully generative generators (CTGAN, TVAE, GReaT, ...) reach good train-on-synthetic-"
        "test-on-real (TSTR) scores, yet their ATE estimates are far from the truth.",
        f"For each fully generative generator g and dataset, the claim holds when g's mean TSTR "
        f"score is at most {TSTR_GAP_MAX} below the train-on-real score (AUC for binary, R² for "
        f"continuous outcomes) and g's mean |ATE error| is at least {FAR_ERROR_RATIO:g} times "
        f"that of its hybrid counterpart hybrid_g on the same estimator and learner cells. "
        f"Supported when it holds for more than half of the (generator, dataset) pairs with all "
        f"numbers available; contradicted otherwise.",
    )
    cells = cell_errors(ate)
    fidelity = tstr_with_baseline(tstr)
    rows = []
    for g in order_generators(set(cells["generator"]) | set(fidelity["generator"])):
        if generator_group(g) != "fully generative":
            continue
        datasets = sorted(
            set(cells.loc[cells["generator"] == g, "dataset"])
            | set(fidelity.loc[fidelity["generator"] == g, "dataset"])
        )
        errs = paired_errors(cells, g, HYBRID_PREFIX + g).set_index("dataset")
        for d in datasets:
            f = fidelity[(fidelity["generator"] == g) & (fidelity["dataset"] == d)]
            score = f["value"].mean() if len(f) else np.nan
            base = f["baseline"].mean() if len(f) else np.nan
            metric = ", ".join(sorted(f["metric"].astype(str).unique())) if len(f) else "–"
            err_g = errs.at[d, "err_a"] if d in errs.index else np.nan
            err_h = errs.at[d, "err_b"] if d in errs.index else np.nan
            ratio = err_g / err_h if np.isfinite(err_h) and err_h > 0 else np.nan
            gap = base - score
            tested = bool(np.isfinite(gap) and np.isfinite(err_g) and np.isfinite(err_h))
            holds = tested and gap <= TSTR_GAP_MAX and (err_h == 0 and err_g > 0 or ratio >= FAR_ERROR_RATIO)
            rows.append(
                {
                    "generator": g,
                    "dataset": d,
                    "metric": metric,
                    "TSTR": score,
                    "train on real": base,
                    "gap": gap,
                    "mean abs error": err_g,
                    "hybrid mean abs error": err_h,
                    "error ratio": ratio,
                    "holds": "yes" if holds else ("no" if tested else "not tested"),
                }
            )
    table = pd.DataFrame(rows)
    if table.empty:
        claim.headline = "No fully generative generator has both ATE and TSTR results in this run."
        return claim
    n_tested = int((table["holds"] != "not tested").sum())
    n_hold = int((table["holds"] == "yes").sum())
    claim.verdict = _majority(n_hold, n_tested)
    if n_tested:
        good = table.loc[table["holds"] != "not tested"]
        claim.headline = (
            f"The claim holds for {n_hold} of {n_tested} (generator, dataset) pairs; "
            f"{int((good['gap'] <= TSTR_GAP_MAX).sum())} have good TSTR and "
            f"{int((good['error ratio'] >= FAR_ERROR_RATIO).sum())} have at least {FAR_ERROR_RATIO:g}x "
            f"the error of their hybrid."
        )
    else:
        claim.headline = "No pair has TSTR, train-on-real and both ATE errors at once."
    claim.body.append(_md_table(table))
    return claim


def claim_hybrid_beats_generative(ate: pd.DataFrame) -> Claim:
    claim = Claim(
        "b",
        "Hybrid beats fully generative",
        "Hybrid synthetic data (synthetic covariates, treatment and outcome drawn from models "
        "learned on the real data) gives ATE estimates much closer to the truth than fully "
        "generative data from the same generator.",
        "For each base generator b and dataset, hybrid_b wins when its mean |ATE error| over the "
        "estimator and learner cells both have is lower than b's. Supported when the hybrid wins "
        "in more than half of all (base, dataset) pairs; contradicted otherwise.",
    )
    cells = cell_errors(ate)
    gens = set(cells["generator"])
    per_dataset, per_base = [], []
    for b in order_generators(g for g in gens if generator_group(g) == "fully generative"):
        if HYBRID_PREFIX + b not in gens:
            continue
        errs = paired_errors(cells, b, HYBRID_PREFIX + b)
        if errs.empty:
            continue
        wins = errs["err_b"] < errs["err_a"]
        for row, win in zip(errs.itertuples(index=False), wins, strict=True):
            per_dataset.append(
                {
                    "base": b,
                    "dataset": row.dataset,
                    "base mean abs error": row.err_a,
                    "hybrid mean abs error": row.err_b,
                    "cells": row.n_cells,
                    "hybrid wins": bool(win),
                }
            )
        # a ratio per dataset, because the datasets' outcome scales differ by orders of magnitude
        ratio = (errs["err_b"] / errs["err_a"].where(errs["err_a"] > 0)).median()
        per_base.append(
            {
                "base": b,
                "datasets": len(errs),
                "median error ratio hybrid / base": ratio,
                "share of datasets hybrid wins": _pct(wins.mean()),
            }
        )
    if not per_dataset:
        claim.headline = "No base generator has both its fully generative and hybrid results in this run."
        return claim
    detail = pd.DataFrame(per_dataset)
    n_win = int(detail["hybrid wins"].sum())
    claim.verdict = _majority(n_win, len(detail))
    claim.headline = (
        f"The hybrid has the lower mean |ATE error| in {n_win} of {len(detail)} (base, dataset) pairs."
    )
    losing = sorted(set(detail["base"]) - set(detail.loc[detail["hybrid wins"], "base"]))
    if losing:
        claim.headline += f" It never wins for: {', '.join(losing)}."
    claim.body += [
        "Per base (the error ratio is taken per dataset, then the median over datasets):",
        _md_table(pd.DataFrame(per_base)),
        "Per dataset:",
        _md_table(detail),
    ]
    return claim


def claim_llm_vs_ctgan(ate: pd.DataFrame) -> Claim:
    claim = Claim(
        "c",
        "LLM-based covariates beat CTGAN-based covariates",
        "In the follow-up paper, hybrid data with covariates from an LLM generator (GReaT) often "
        "gives ATE estimates closer to the truth than hybrid data with CTGAN covariates.",
        "Per dataset, hybrid_great wins when its mean |ATE error| over the estimator and learner "
        "cells both have is lower than hybrid_ctgan's. Supported when hybrid_great wins in more "
        "than half of the datasets; contradicted otherwise.",
    )
    cells = cell_errors(ate)
    errs = paired_errors(cells, "hybrid_great", "hybrid_ctgan")
    if errs.empty:
        present = sorted({"hybrid_great", "hybrid_ctgan"} & set(cells["generator"]))
        claim.headline = (
            "Needs ok ATE results of both hybrid_great and hybrid_ctgan on a common dataset; "
            f"present: {', '.join(present) or 'neither'}."
        )
        return claim
    wins = errs["err_a"] < errs["err_b"]
    claim.verdict = _majority(int(wins.sum()), len(errs))
    ratio = (errs["err_a"] / errs["err_b"].where(errs["err_b"] > 0)).median()
    claim.headline = (
        f"hybrid_great has the lower mean |ATE error| in {int(wins.sum())} of {len(errs)} datasets "
        f"(median error ratio hybrid_great / hybrid_ctgan: {_fmt(ratio, 3)})."
    )
    table = errs.rename(
        columns={
            "err_a": "hybrid_great mean abs error",
            "err_b": "hybrid_ctgan mean abs error",
            "n_cells": "cells",
        }
    ).assign(**{"hybrid_great wins": wins.to_numpy()})
    claim.body.append(_md_table(table))
    return claim


def claim_pairing(positivity: pd.DataFrame) -> Claim:
    claim = Claim(
        "d",
        "Synthetic pairing under positivity violations",
        "Appending nearest synthetic hybrid units of the missing treatment arm to units with "
        "extreme propensities (synthetic pairing) reduces the ATE error compared with the raw "
        "estimate, IPTW weight truncation and propensity clipping.",
        "Per dataset, mean |ATE error| of each method over the (replicate, set, estimator, learner) cells "
        "that are ok for every method present. Pairing wins a dataset when its mean |error| is "
        "below that of every other method present. Supported when pairing wins in more than half "
        "of the datasets; contradicted otherwise.",
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
    keys = [k for k in ("dataset", "rep", "set", "estimator", "learner") if k in ok.columns]
    # pivot_table drops rows with a missing key (an estimator without a learner); strings keep them
    ok = ok.assign(**{k: ok[k].astype(str) for k in keys if k != "dataset"})
    wide = ok.pivot_table(index=keys, columns="method", values="abs_error", aggfunc="mean")[methods]
    rows = []
    for d, grp in wide.groupby(level="dataset"):
        complete = grp.dropna()
        if complete.empty:
            continue
        means = complete.mean()
        others = means.drop("paired")
        rows.append(
            {
                "dataset": d,
                **means.to_dict(),
                "cells": len(complete),
                "paired wins": bool((means["paired"] < others).all()),
            }
        )
    if not rows:
        claim.headline = "No (replicate, set, estimator, learner) cell is ok for all methods."
        return claim
    table = pd.DataFrame(rows)
    n_win = int(table["paired wins"].sum())
    claim.verdict = _majority(n_win, len(table))
    claim.headline = f"Pairing has the lowest mean |ATE error| in {n_win} of {len(table)} datasets."
    claim.body.append("Mean |ATE error| per method:")
    claim.body.append(_md_table(table))
    return claim


def claim_engine(engine: pd.DataFrame, ranking: pd.DataFrame) -> Claim:
    claim = Claim(
        "e",
        "The simulation engine ranks estimators as the truth does",
        "A large hybrid pool used as a known-truth population ranks estimators by error the same "
        "way the true data-generating process does.",
        f"Spearman correlation, per dataset and hybrid engine, between the estimators' RMSE "
        f"under the engine and under the true process (from the engine_ranking table, else "
        f"computed from the engine table with RMSE averaged over n). An engine agrees when "
        f"Spearman >= {SPEARMAN_AGREES}. Supported when more than half of the (dataset, engine) "
        f"pairs agree; contradicted otherwise. Pairs with an undefined correlation are not counted.",
    )
    source = "engine_ranking"
    if ranking.empty:
        ranking, source = engine_ranking(engine), "engine (RMSE averaged over n)"
    ranking = ranking[ranking["engine"] != TRUTH_ENGINE]
    if ranking.empty:
        claim.headline = "No hybrid engine was compared with the true process in this run."
        return claim
    rho = pd.to_numeric(ranking["spearman_vs_truth"], errors="coerce")
    tested = rho.notna()
    agrees = rho >= SPEARMAN_AGREES
    claim.verdict = _majority(int(agrees.sum()), int(tested.sum()))
    claim.headline = (
        f"{int(agrees.sum())} of {int(tested.sum())} (dataset, engine) pairs agree with the truth "
        f"(median Spearman {_fmt(rho.median(), 3)}; source: {source})."
    )
    table = ranking[["dataset", "engine"]].assign(
        spearman=rho.to_numpy(), agrees=np.where(tested, agrees, None)
    )
    claim.body.append(_md_table(table.sort_values(["dataset", "engine"])))
    return claim


def claim_dcr(dcr: pd.DataFrame) -> Claim:
    claim = Claim(
        "f",
        "Synthetic rows are not copies of real rows",
        "Synthetic data can stand in for real data only if it does not copy real training rows; "
        "the distance to closest record (DCR) screen flags rows far closer to the training data "
        "than real holdout rows are (near-copies).",
        f"Per generator, means over datasets and replicates of the unfiltered synthetic covariates: "
        f"the share that exactly copies a training row, beside the real holdout's own share (rows "
        f"repeat in discrete data), and the share of near-copies, closer to the training data than "
        f"the holdout's 5th DCR percentile (a generator as close as unseen real rows has about "
        f"{_pct(HOLDOUT_NEAR_SHARE)}). Supported when every generator has at most "
        f"{EXACT_COPY_EXCESS_MAX * 100:g} percentage point more exact copies than the holdout and at "
        f"most {_pct(NEAR_COPY_MAX)} near-copies; contradicted otherwise. hybrid_real reuses the real "
        f"covariates by design and is shown but not counted.",
    )
    needed = (DCR_EXACT_COPY_COLUMN, DCR_HOLDOUT_EXACT_COLUMN, DCR_NEAR_COPY_COLUMN)
    missing = [c for c in needed if c not in dcr.columns]
    if dcr.empty or missing:
        claim.headline = (
            "The dcr table is absent or empty." if dcr.empty else f"The dcr table lacks column(s) {missing}."
        )
        return claim
    cols = [*needed, *([DCR_RECORD_EXACT_COLUMN] if DCR_RECORD_EXACT_COLUMN in dcr.columns else [])]
    values = dcr[cols].apply(pd.to_numeric, errors="coerce").assign(generator=dcr["generator"].astype(str))
    per_gen = values.groupby("generator")[cols].mean().reindex(order_generators(values["generator"]))
    excess = per_gen[DCR_EXACT_COPY_COLUMN] - per_gen[DCR_HOLDOUT_EXACT_COLUMN].fillna(0.0)
    near = per_gen[DCR_NEAR_COPY_COLUMN]
    counted = ~per_gen.index.isin([REAL, HYBRID_PREFIX + REAL]) & excess.notna() & near.notna()
    within = (excess <= EXACT_COPY_EXCESS_MAX) & (near <= NEAR_COPY_MAX)
    n_tested = int(counted.sum())
    if n_tested == 0:
        claim.headline = "No generator with DCR results to count (hybrid_real reuses real rows by design)."
    else:
        failing = per_gen.index[counted & ~within].tolist()
        claim.verdict = SUPPORTED if not failing else CONTRADICTED
        claim.headline = f"{n_tested - len(failing)} of {n_tested} generators stay within both limits" + (
            f"; over a limit: {', '.join(failing)}." if failing else "."
        )
    table = pd.DataFrame(
        {
            "generator": per_gen.index,
            "exact copies": per_gen[DCR_EXACT_COPY_COLUMN].map(_pct).to_numpy(),
            "holdout exact copies": per_gen[DCR_HOLDOUT_EXACT_COLUMN].map(_pct).to_numpy(),
            "near-copies": near.map(_pct).to_numpy(),
            "counted": counted,
            "within limits": np.where(counted, within, None),
        }
    )
    if DCR_RECORD_EXACT_COLUMN in per_gen.columns:
        table.insert(2, "whole-record copies", per_gen[DCR_RECORD_EXACT_COLUMN].map(_pct).to_numpy())
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
    tables["ate_preservation"] = deduplicate_real(tables["ate_preservation"])
    absent = [name for name in TABLES if find_table(tables_dir, name) is None]
    claims = [
        claim_fidelity_vs_effect(tables["ate_preservation"], tables["tstr"]),
        claim_hybrid_beats_generative(tables["ate_preservation"]),
        claim_llm_vs_ctgan(tables["ate_preservation"]),
        claim_pairing(tables["positivity"]),
        claim_engine(tables["engine"], tables["engine_ranking"]),
        claim_dcr(tables["dcr"]),
    ]
    summary = pd.DataFrame(
        {
            "claim": [f"({c.key}) {c.title}" for c in claims],
            "verdict": [c.verdict for c in claims],
            "evidence": [c.headline for c in claims],
        }
    )
    contradicted = [f"({c.key})" for c in claims if c.verdict == CONTRADICTED]
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
