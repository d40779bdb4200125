"""Claims (d) and (e): synthetic pairing under positivity violations, and the simulation
engine's ranking of estimators."""

from __future__ import annotations

import numpy as np
import pandas as pd

from causalsynth.core.uncertainty import (
    FAILS,
    HOLDS,
    LEVEL,
    UNDECIDED,
    Interval,
    combine_all,
    decide,
    mean_interval,
    widest,
)
from causalsynth.core.vocabulary import AGREES, DISAGREES, POSITIVITY_METHODS, SPEARMAN_AGREES, TRUTH_ENGINE
from causalsynth.report.common import absolute_error, ok_rows
from causalsynth.report.findings.format import ci, err_ci, md_table
from causalsynth.report.findings.primary import PrimaryTest, stratified_t, z_test
from causalsynth.report.findings.verdicts import Claim

Z_INTERVAL = 1.96  # half-width of a 95% interval in SEs: the bootstrap interval read as normal


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
        "Per dataset d and replicate r (a fresh draw of the data): each method's mean |ATE - truth| "
        "over the sets and the estimator and learner cells that are ok for every method present; "
        "y[d, r] = log( err(paired) / min over the other methods m of err(m) ). Null 0; the paper's "
        "side: below (pairing lower than the best other method). Reported as the geometric-mean "
        "error ratio paired / best other.",
        "dataset",
        "Per dataset: for each other method m, the difference m minus paired, with the wider of the "
        "t intervals over sets (each averaged over replicates) and over replicates (each averaged "
        "over sets); the dataset holds when every difference is above 0, fails when any is below 0.",
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
    others = [m for m in methods if m != "paired"]
    means, diffs, ys = [], [], []
    for d, grp in wide.groupby(level="dataset"):
        complete = grp.dropna()
        if complete.empty:
            continue
        per_rep = complete.groupby(level="rep").mean()
        ys.append(
            pd.DataFrame(
                {
                    "dataset": d,
                    "rep": per_rep.index,
                    "y": np.log(per_rep["paired"] / per_rep[others].min(axis=1)),
                }
            )
        )
        units = complete.groupby(level=["rep", "set"]).mean()
        size = {
            "dataset": d,
            "sets": units.index.get_level_values("set").nunique(),
            "reps": units.index.get_level_values("rep").nunique(),
        }
        means.append(
            {**size, **{m: err_ci(_set_rep_interval(units[m])) for m in methods}, "cells": len(complete)}
        )
        row, decisions = dict(size), []
        for m in others:
            iv = _set_rep_interval(units[m] - units["paired"])
            decisions.append(decide(iv, 0.0))
            row[f"{m} - paired"] = ci(iv)
        diffs.append({**row, "pairing lowest": combine_all(decisions)})
    if not means:
        claim.headline = "No (replicate, set, estimator, learner) cell is ok for all methods."
        return claim
    claim.primary = stratified_t(
        pd.concat(ys, ignore_index=True).replace([np.inf, -np.inf], np.nan),
        PrimaryTest("geometric-mean error ratio paired / best other method", 0.0, "below", log_scale=True),
        "2 or more replicates of the positivity study (fresh draws of the data), on 2 or more "
        "datasets, would test it.",
    )
    claim.settle()
    table = pd.DataFrame(diffs)
    claim.judge(table.rename(columns={"pairing lowest": "decision"}))
    claim.body += [
        "Mean |ATE error| per method [interval]:",
        md_table(pd.DataFrame(means)),
        "Differences to pairing (positive: pairing has the lower error):",
        md_table(table),
    ]
    return claim


def _engine_reps(engine: pd.DataFrame, ranking: pd.DataFrame) -> dict[str, int]:
    """The engine stage's replicates per dataset (the median over its rows), where it says."""
    if engine.empty or "reps" not in engine.columns:
        return {}
    rows = engine.merge(ranking[["dataset", "engine"]].drop_duplicates(), on=["dataset", "engine"])
    reps = pd.to_numeric(rows["reps"], errors="coerce").groupby(rows["dataset"]).median().dropna()
    return {str(d): int(r) for d, r in reps.items() if r > 0}


def claim_engine(engine: pd.DataFrame, ranking: pd.DataFrame) -> Claim:
    claim = Claim(
        "e",
        "The simulation engine ranks estimators as the truth does",
        "A large hybrid pool used as a known-truth population ranks estimators by error the same "
        "way the true data-generating process does.",
        f"Per (dataset, hybrid engine) pair: the Spearman correlation between the estimators' RMSE "
        f"under the engine and under the true process, with the engine stage's {LEVEL:.0%} "
        f"bootstrap interval over its replicates (engine_ranking spearman_low, spearman_high); its "
        f"SE is (high - low) / (2 x {Z_INTERVAL}). Estimate: the mean Spearman over the k pairs "
        f"with an interval, SE = sqrt(sum SE^2) / k (the pairs' bootstraps are independent); a z "
        f"test against {SPEARMAN_AGREES}. The paper's side: above.",
        "(dataset, engine) pair",
        f"Per pair: the engine stage's own call, holds at '{AGREES}' (interval at or above "
        f"{SPEARMAN_AGREES}), fails at '{DISAGREES}' (below it), undecided otherwise; without "
        f"intervals every pair is undecided.",
    )
    source = "engine_ranking"
    if ranking.empty and not engine.empty:
        claim.primary = PrimaryTest("mean Spearman, engine vs truth", SPEARMAN_AGREES, "above")
        claim.primary.reason = (
            "the run has engine results but no engine_ranking table (the evaluate stage's "
            "engine_ranking rule writes it): rerun the workflow to test it."
        )
        claim.settle()
        claim.headline = "The engine's ranking table is absent."
        return claim
    ranking = ranking[ranking["engine"] != TRUTH_ENGINE]
    if ranking.empty:
        claim.headline = "No hybrid engine was compared with the true process in this run."
        return claim
    rho = pd.to_numeric(ranking["spearman_vs_truth"], errors="coerce")
    has_interval = {"spearman_low", "spearman_high", "verdict"} <= set(ranking.columns) and bool(
        np.isfinite(pd.to_numeric(ranking["spearman_low"], errors="coerce")).any()
    )
    test = PrimaryTest("mean Spearman, engine vs truth", SPEARMAN_AGREES, "above")
    if has_interval:
        low = pd.to_numeric(ranking["spearman_low"], errors="coerce")
        high = pd.to_numeric(ranking["spearman_high"], errors="coerce")
        decision = ranking["verdict"].astype(str).str.strip().map({AGREES: HOLDS, DISAGREES: FAILS})
        points = pd.DataFrame(
            {"dataset": ranking["dataset"].astype(str), "value": rho, "se": (high - low) / (2 * Z_INTERVAL)}
        )
        z_test(points, test, "The engine stage's bootstrap intervals on 2 or more datasets would test it.")
        reps = _engine_reps(engine, ranking)
        if reps:
            test.reps, test.replicates_known = reps, True
    else:
        low = high = pd.Series(np.nan, index=ranking.index)
        decision = pd.Series(UNDECIDED, index=ranking.index)
        test.estimate = float(rho.mean())
        test.reason = (
            f"the ranking has no bootstrap interval (source: {source}); the engine stage's "
            f"engine_ranking table with spearman_low and spearman_high would test it."
        )
    claim.primary = test
    claim.settle()
    table = pd.DataFrame(
        {
            "dataset": ranking["dataset"].to_numpy(),
            "engine": ranking["engine"].to_numpy(),
            "spearman [CI]": [ci(Interval(r, lo, hi)) for r, lo, hi in zip(rho, low, high, strict=True)],
            "point rule": np.where(rho.notna(), np.where(rho >= SPEARMAN_AGREES, AGREES, DISAGREES), "–"),
            "decision": decision.fillna(UNDECIDED).to_numpy(),
        }
    ).sort_values(["dataset", "engine"])
    claim.judge(table)
    claim.headline = f"Source: {source}."
    claim.body.append(md_table(table.rename(columns={"decision": "ranks as the truth"})))
    return claim
