"""Claims (b) and (c): the hybrid keeps the effect better than its base, and LLM covariates
better than CTGAN's. Claim (a) is in `fidelity`."""

from __future__ import annotations

import pandas as pd

from causalsynth.core.uncertainty import FAILS, HOLDS, UNDECIDED, decide, mean_interval, ratio_interval
from causalsynth.core.vocabulary import HYBRID_PREFIX
from causalsynth.report.common import generator_group, order_generators
from causalsynth.report.findings.cells import AteCells, log_sum_ratio, paired_cell_means
from causalsynth.report.findings.format import ci, err_ci, md_table, n_unique
from causalsynth.report.findings.primary import PrimaryTest, stratified_t
from causalsynth.report.findings.verdicts import Claim

ERROR = (
    "e = the preservation error |ate - real_ate| of the primary cell (AIPW with the grid's learner; "
    "real_ate: the same cell on the real training rows of the same replicate)"
)


def exact_columns(e: pd.DataFrame, name_a: str, name_b: str) -> dict[str, str]:
    """|ate - truth| means beside the preservation errors, where the dataset's truth is exact."""
    if not e["exact_a"].notna().any():
        return {}
    return {
        f"{name_a}abs error vs truth": err_ci(mean_interval(e["exact_a"])),
        f"{name_b}abs error vs truth": err_ci(mean_interval(e["exact_b"])),
    }


def hybrid_test(cells: AteCells, bases: list[str]) -> PrimaryTest:
    """Claim (b)'s primary test over the base generators `bases` (each with its hybrid)."""
    test = PrimaryTest("geometric-mean error ratio hybrid / base", 0.0, "below", log_scale=True)
    if cells.learner is None:
        test.reason = cells.no_primary()
        return test
    datasets = sorted(set(cells.primary["dataset"]))
    pairs = pd.DataFrame(
        [(d, HYBRID_PREFIX + b, b) for b in bases for d in datasets], columns=["dataset", "num", "den"]
    )
    return stratified_t(
        log_sum_ratio(cells.primary, pairs),
        test,
        "2 or more replicates of a base generator and its hybrid, on 2 or more datasets, would test it.",
    )


def claim_hybrid_beats_generative(ate: pd.DataFrame) -> Claim:
    claim = Claim(
        "b",
        "Hybrid beats fully generative",
        "Hybrid synthetic data (synthetic covariates, treatment and outcome drawn from models "
        "learned on the real data) gives ATE estimates much closer to the truth than fully "
        "generative data from the same generator.",
        "y[d, r] = log( sum_b e(hybrid_b) / sum_b e(b) ) over the fully generative base generators b "
        f"that have both b and hybrid_b in replicate r of dataset d; {ERROR}. Null 0 (equal "
        "errors); the paper's side: below (the hybrid closer). Reported as the geometric-mean error "
        "ratio hybrid / base, exp(estimate).",
        "(base, dataset) pair",
        "Per pair: the paired difference over replicates of the mean preservation error over the "
        "estimator cells both have (identical cells once), b minus hybrid_b; holds above 0, fails below 0.",
    )
    cells = AteCells.of(ate)
    gens = cells.generators
    bases = [
        b
        for b in order_generators(g for g in gens if generator_group(g) == "fully generative")
        if HYBRID_PREFIX + b in gens
    ]
    if not bases:
        claim.headline = "No base generator has both its fully generative and hybrid results in this run."
        return claim
    claim.primary = hybrid_test(cells, bases)
    claim.settle()

    per_dataset, per_base = [], []
    for b in bases:
        errs = paired_cell_means(cells.counted, b, HYBRID_PREFIX + b)
        rows = []
        for d, e in errs.groupby("dataset", sort=True):
            diff = mean_interval(e["err_a"] - e["err_b"])
            rows.append(
                {
                    "base": b,
                    "dataset": d,
                    "reps": n_unique(e["rep"]),
                    "cells": int(e["n_cells"].max()),
                    "base abs error vs real": err_ci(mean_interval(e["err_a"])),
                    "hybrid abs error vs real": err_ci(mean_interval(e["err_b"])),
                    "base - hybrid [CI]": ci(diff),
                    "hybrid better": decide(diff, 0.0),
                    **exact_columns(e, "base ", "hybrid "),
                    "_base": e["err_a"].mean(),
                    "_hybrid": e["err_b"].mean(),
                }
            )
        if not rows:
            continue
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
                "geometric-mean error ratio hybrid / base [CI over datasets]": ci(
                    ratio_interval(sub["_hybrid"], sub["_base"])
                ),
            }
        )
    if not per_dataset:
        return claim
    detail = pd.DataFrame(per_dataset)
    claim.judge(detail.rename(columns={"hybrid better": "decision"}))
    losing = sorted(set(detail.loc[detail["hybrid better"] == FAILS, "base"]))
    claim.headline = (
        f"The hybrid is decidedly worse on some dataset with: {', '.join(losing)}." if losing else ""
    )
    claim.body += [
        "Per base (the error ratio per dataset, then its geometric mean over datasets):",
        md_table(pd.DataFrame(per_base)),
        "Per pair (mean over replicates [t interval]):",
        md_table(detail.drop(columns=["_base", "_hybrid"]).fillna("–")),
    ]
    return claim


GREAT, CTGAN = "hybrid_great", "hybrid_ctgan"


def claim_llm_vs_ctgan(ate: pd.DataFrame) -> Claim:
    claim = Claim(
        "c",
        "LLM-based covariates beat CTGAN-based covariates",
        "In the follow-up paper, hybrid data with covariates from an LLM generator (GReaT) often "
        "gives ATE estimates closer to the truth than hybrid data with CTGAN covariates.",
        f"y[d, r] = log( e({GREAT}) / e({CTGAN}) ), paired within replicate r of dataset d (the two "
        f"hybrids share the replicate's real training rows and its fitted treatment and outcome "
        f"mechanisms, so their errors are not independent); {ERROR}. Null 0; the paper's side: "
        f"below (GReaT's covariates closer). Reported as the geometric-mean error ratio "
        f"{GREAT} / {CTGAN}.",
        "dataset",
        f"Per dataset: the paired difference over replicates of the mean preservation error over "
        f"the cells both have (identical cells once), {CTGAN} minus {GREAT}; holds above 0, fails below 0.",
    )
    cells = AteCells.of(ate)
    present = sorted({GREAT, CTGAN} & cells.generators)
    if len(present) < 2:
        claim.headline = (
            f"Needs ok ATE results of both {GREAT} and {CTGAN} on a common dataset; "
            f"present: {', '.join(present) or 'neither'}."
        )
        return claim
    test = PrimaryTest(f"geometric-mean error ratio {GREAT} / {CTGAN}", 0.0, "below", log_scale=True)
    great_reps = cells.reps_of(GREAT)
    if cells.learner is None:
        test.reason = cells.no_primary()
    elif great_reps < 2:
        test.reason = (
            f"GReaT has {great_reps} replicate{'s' * (great_reps != 1)}; 2 or more paired with "
            f"{CTGAN} would test it."
        )
    else:
        datasets = sorted(set(cells.primary["dataset"]))
        pairs = pd.DataFrame({"dataset": datasets, "num": GREAT, "den": CTGAN})
        stratified_t(
            log_sum_ratio(cells.primary, pairs),
            test,
            f"2 or more replicates of {GREAT} paired with {CTGAN}, on 2 or more datasets, would test it.",
        )
    claim.primary = test
    claim.settle()

    errs = paired_cell_means(cells.counted, GREAT, CTGAN)
    reps = cells.counted.groupby(["dataset", "generator"])["rep"].nunique()
    rows = []
    for d, e in errs.groupby("dataset", sort=True):
        diff = mean_interval(e["err_b"] - e["err_a"])
        rows.append(
            {
                "dataset": d,
                "reps great / ctgan / paired": " / ".join(
                    str(n) for n in (reps.get((d, GREAT), 0), reps.get((d, CTGAN), 0), len(e))
                ),
                "cells": int(e["n_cells"].max()),
                f"{GREAT} abs error vs real": err_ci(mean_interval(e["err_a"])),
                f"{CTGAN} abs error vs real": err_ci(mean_interval(e["err_b"])),
                "ctgan - great [CI]": ci(diff),
                f"{GREAT} better": decide(diff, 0.0),
                **exact_columns(e, f"{GREAT} ", f"{CTGAN} "),
            }
        )
    if rows:
        table = pd.DataFrame(rows)
        claim.judge(table.rename(columns={f"{GREAT} better": "decision"}))
        claim.body.append(md_table(table.fillna("–")))
    return claim
