"""This run's counterpart of each of the papers' numbers, read from the result tables.

`measure(number, run)` returns what the run has for one row of the papers' numbers: `Draws`
(one value per replicate, or per confounded set, each an independent draw like the paper's
own), a `Summary` (a Monte Carlo summary with its standard error: the engine's rows), or a
`Missing` that says what the run lacks (no GReaT, no engine at n = 1,000, a quantity no table
keeps). Nothing here fits or resamples: the report stage only reads tables.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from causalsynth.core.vocabulary import (
    REAL,
    TRUTH_ENGINE,
    deduplicate_real,
    generator_base,
    read_table,
    without_reference_learners,
)
from causalsynth.report.common import ok_rows
from causalsynth.report.paper.settings import PAPER_LEARNER

HOLDOUT = "holdout"  # the real test set's id in the papers' numbers (the DCR of unseen real rows)
PAIRED_METHOD = "paired_union"  # the papers' pairing estimate: real and added rows together
UNPAIRED_METHOD = "raw"
DCR_LEVELS = {"dcr_q25": 0.25, "dcr_median": 0.5, "dcr_q75": 0.75, "dcr_max": 1.0}
TSTR_METRIC = "auc"
NOT_KEPT = "not kept by the run"  # a quantity no table of a run holds (as opposed to a set it lacks)
# STEAM's quantities -> the fidelity table's metric that measures them (alpha and beta in the
# naive variant the run computes; comparison.VARIANTS says how that differs from STEAM's)
FIDELITY_METRICS = {
    "alpha_precision": "alpha_precision_naive",
    "beta_recall": "beta_recall_naive",
    "jsd_pi": "jsd_pi",
    "u_pehe": "u_pehe",
}


@dataclass
class RunTables:
    """The tables a comparison with the papers reads, and the run's resolved settings."""

    ate: pd.DataFrame
    positivity: pd.DataFrame
    tstr: pd.DataFrame
    engine: pd.DataFrame
    dcr: list[dict] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    fidelity: pd.DataFrame = field(default_factory=pd.DataFrame)

    @classmethod
    def read(
        cls, tables_dir: str | os.PathLike, dcr_records: Sequence[dict], settings: dict[str, Any]
    ) -> RunTables:
        ate = without_reference_learners(deduplicate_real(read_table(tables_dir, "ate_preservation")))
        return cls(
            ate=ate,
            positivity=read_table(tables_dir, "positivity"),
            tstr=read_table(tables_dir, "tstr"),
            engine=read_table(tables_dir, "engine"),
            dcr=list(dcr_records),
            settings=settings,
            fidelity=read_table(tables_dir, "fidelity"),
        )

    @property
    def pairing_pool(self) -> str | None:
        return (self.settings.get("pairing") or {}).get("pool")

    @property
    def engine_learner(self) -> str | None:
        learners = (self.settings.get("estimation") or {}).get("learners") or [None]
        return (self.settings.get("engine") or {}).get("learner") or learners[0]


@dataclass(frozen=True)
class Draws:
    """Independent draws of the quantity: one per replicate (or per confounded set)."""

    values: np.ndarray
    unit: str = "replicate"


@dataclass(frozen=True)
class Summary:
    """A Monte Carlo summary over `reps` replicates with its standard error."""

    estimate: float
    se: float
    reps: int


@dataclass(frozen=True)
class Missing:
    reason: str


Measurement = Draws | Summary | Missing


def grid_learner(df: pd.DataFrame) -> str | None:
    """The papers' learner where the table has it, else the learner with the most rows (the
    settings check says the learners differ)."""
    if df.empty or "learner" not in df.columns:
        return None
    learners = df["learner"].dropna().astype(str)
    if PAPER_LEARNER in set(learners):
        return PAPER_LEARNER
    return None if learners.empty else str(learners.value_counts().sort_index().idxmax())


def measure(number: pd.Series, run: RunTables) -> Measurement:
    """The run's counterpart of one row of the papers' numbers (`read_paper_numbers`)."""
    q, kind, g, est, d = (number[k] for k in ("quantity", "kind", "generator", "estimator", "dataset"))
    if q in ("dcr_mean", "dcr_sd"):
        return Missing(f"{NOT_KEPT}: dcr.json holds the DCR's quantiles, not its mean or SD")
    if q in DCR_LEVELS:
        return dcr_draws(run, d, g, DCR_LEVELS[q])
    if q == "tstr_auc":
        return tstr_draws(run, d, g)
    if q in FIDELITY_METRICS:
        return fidelity_draws(run, d, g, FIDELITY_METRICS[q])
    if q == "pool_effect":
        return pool_effect_draws(run, d, g)
    if kind in ("pool", "true_process") and q in ("bias", "variance", "mse"):
        return engine_summary(run, d, g, est, q, int(number["n"]))
    if q == "pool_estimate":
        if kind == "true_process":
            return Missing(
                f"{NOT_KEPT}: the papers' true-process truth is each estimator on a large "
                "sample; the run's engine truth is the exact effect"
            )
        return ate_draws(run, d, g, est)
    if kind in ("pairing", "observational"):
        return positivity_draws(run, d, kind, g, est, q)
    if q == "ate":
        return ate_draws(run, d, REAL if kind == "rct_seed" else g, est)
    if q == "bias":
        return ate_draws(run, d, g, est, minus_truth=True)
    if q == "mse":
        return Missing(
            f"{NOT_KEPT}: the papers' MSE is over five subsamples of one set; the run estimates "
            "once on the whole set"
        )
    return Missing(f"no counterpart in this run for {q} of a {kind} set")


def _absent(df: pd.DataFrame, dataset: str, generator: str | None, what: str) -> Missing | None:
    if df.empty or dataset not in set(df["dataset"]):
        return Missing(f"this run has no {what} on {dataset}")
    if generator is not None and generator not in set(df.loc[df["dataset"] == dataset, "generator"]):
        return Missing(f"this run has no {generator} set on {dataset}")
    return None


def ate_draws(
    run: RunTables, dataset: str, generator: str, estimator: str, minus_truth: bool = False
) -> Measurement:
    """The estimator's ATE on the whole set, one value per replicate (minus the truth: its bias)."""
    gone = _absent(run.ate, dataset, generator, "ATE estimates")
    if gone:
        return gone
    rows = run.ate[(run.ate["dataset"] == dataset) & (run.ate["generator"] == generator)]
    rows = rows[rows["estimator"] == estimator]
    if rows.empty:
        return Missing(f"this run has no {estimator} estimates on {dataset}")
    learner = grid_learner(run.ate)
    rows = rows[rows["learner"].astype(str) == str(learner)]
    ok = ok_rows(rows)
    if ok.empty:
        return Missing(f"every {generator} {estimator} ({learner}) cell failed on {dataset}")
    value = pd.to_numeric(ok["ate"])
    if minus_truth:
        value = value - pd.to_numeric(ok["truth"], errors="coerce")
    return Draws(value.groupby(ok["rep"]).mean().to_numpy(dtype=float))


def positivity_draws(
    run: RunTables, dataset: str, kind: str, pool: str, estimator: str, quantity: str
) -> Measurement:
    """Per confounded set (of every replicate): the ATE, its error or its squared error, without
    pairing (`raw`) or paired from the run's pool (`paired_union`, the papers' estimate)."""
    df = run.positivity
    if df.empty or dataset not in set(df["dataset"]):
        return Missing(f"this run has no positivity study on {dataset}")
    if kind == "pairing" and run.pairing_pool != pool:
        return Missing(f"this run pairs from {run.pairing_pool} (pairing.pool), not {pool}")
    method = PAIRED_METHOD if kind == "pairing" else UNPAIRED_METHOD
    rows = df[(df["dataset"] == dataset) & (df["method"] == method) & (df["estimator"] == estimator)]
    if "learner" in rows.columns:
        rows = rows[rows["learner"].astype(str) == str(grid_learner(df))]
    ok = ok_rows(rows)
    if ok.empty:
        return Missing(f"this run has no ok {method} {estimator} estimates on {dataset}")
    ate = pd.to_numeric(ok["ate"]).to_numpy(dtype=float)
    error = ate - pd.to_numeric(ok["truth"], errors="coerce").to_numpy(dtype=float)
    values = {"ate": ate, "bias": error, "mse": error**2}[quantity]
    return Draws(values, unit="confounded set")


def tstr_draws(run: RunTables, dataset: str, generator: str) -> Measurement:
    """TSTR AUC per replicate; the real rows' own score (train on real) for `real`."""
    df = ok_rows(run.tstr, "value") if not run.tstr.empty else run.tstr
    df = df[(df["dataset"] == dataset) & (df["metric"] == TSTR_METRIC)] if not df.empty else df
    if df.empty:
        return Missing(f"this run has no TSTR {TSTR_METRIC} on {dataset}")
    if generator == REAL:
        per_rep = df.drop_duplicates("rep").set_index("rep")["train_on_real"]
        return Draws(pd.to_numeric(per_rep, errors="coerce").dropna().to_numpy(dtype=float))
    rows = df[df["generator"] == generator]
    if rows.empty:
        return Missing(f"this run has no {generator} set on {dataset}")
    return Draws(pd.to_numeric(rows["value"]).groupby(rows["rep"]).mean().to_numpy(dtype=float))


def fidelity_draws(run: RunTables, dataset: str, generator: str, metric: str) -> Measurement:
    """A metric of the fidelity table for a generator's sets, one value per replicate."""
    df = ok_rows(run.fidelity, "value") if not run.fidelity.empty else run.fidelity
    gone = _absent(df, dataset, generator, "fidelity table")
    if gone:
        return gone
    rows = df[(df["dataset"] == dataset) & (df["generator"] == generator) & (df["metric"] == metric)]
    if rows.empty:
        return Missing(f"this run's fidelity table has no {metric} of {generator} on {dataset}")
    return Draws(pd.to_numeric(rows["value"]).groupby(rows["rep"]).mean().to_numpy(dtype=float))


def dcr_draws(run: RunTables, dataset: str, generator: str, level: float) -> Measurement:
    """A quantile of the covariate DCR per replicate: of the real test set (`holdout`) or of a
    generator's set as sampled (before the DCR filter)."""
    recs = [r for r in run.dcr if r["dataset"] == dataset]
    if not recs:
        return Missing(f"this run has no DCR summaries on {dataset}")
    if generator == HOLDOUT:
        by_rep = {}
        for r in recs:
            by_rep.setdefault(r["rep"], _quantile(r.get("holdout_quantiles"), level))
    else:
        by_rep = {
            r["rep"]: _quantile(r.get("synthetic_quantiles"), level)
            for r in recs
            if r["generator"] == generator
        }
        if not by_rep:
            return Missing(f"this run has no {generator} set on {dataset}")
    values = np.array([v for _, v in sorted(by_rep.items()) if v is not None], dtype=float)
    return Draws(values) if values.size else Missing(f"no DCR quantile {level:g} of {generator} on {dataset}")


def _quantile(quantiles: dict | None, level: float) -> float | None:
    if not quantiles:
        return None
    for k, v in quantiles.items():
        if math.isclose(float(k), level):
            return None if v is None else float(v)
    return None


def pool_effect_draws(run: RunTables, dataset: str, generator: str) -> Measurement:
    """The hybrid pool's own effect (its exact `engine_truth`), one per replicate."""
    gone = _absent(run.ate, dataset, generator, "hybrid pools")
    if gone:
        return gone
    rows = run.ate[(run.ate["dataset"] == dataset) & (run.ate["generator"] == generator)]
    per_rep = pd.to_numeric(rows["engine_truth"], errors="coerce").groupby(rows["rep"]).first().dropna()
    if per_rep.empty:
        return Missing(f"this run's {generator} rows carry no engine_truth on {dataset}")
    return Draws(per_rep.to_numpy(dtype=float))


def engine_summary(
    run: RunTables, dataset: str, engine: str, estimator: str, quantity: str, n: int
) -> Measurement:
    """The engine's bias, variance or MSE at sample size `n`, with its Monte Carlo SE: the
    table's `bias_mcse`; for the MSE (RMSE squared) the delta method on `rmse_mcse`; for the
    variance s² sqrt(2 / (reps - 1)), the SE of a variance of normal estimates."""
    df = run.engine
    if df.empty or dataset not in set(df["dataset"]):
        return Missing(f"this run has no simulation engine on {dataset}")
    if engine not in set(df.loc[df["dataset"] == dataset, "engine"]):
        what = "true process" if engine == TRUTH_ENGINE else f"{engine} engine"
        return Missing(f"this run has no {what} on {dataset}")
    rows = df[(df["dataset"] == dataset) & (df["engine"] == engine) & (df["estimator"] == estimator)]
    if rows.empty:
        return Missing(f"this run's engine has no {estimator}")
    rows = rows[pd.to_numeric(rows["n"], errors="coerce") == n]
    if rows.empty:
        return Missing(f"this run's engine has no n = {n:,} (engine.n_grid)")
    learner = run.engine_learner if run.engine_learner in set(rows["learner"].astype(str)) else None
    row = rows[rows["learner"].astype(str) == str(learner)].iloc[0] if learner else rows.iloc[0]
    reps = int(pd.to_numeric(row.get("reps"), errors="coerce") or 0)
    num = {
        k: float(pd.to_numeric(row.get(k), errors="coerce"))
        for k in ("bias", "bias_mcse", "rmse", "rmse_mcse", "variance")
    }
    if quantity == "bias":
        return Summary(num["bias"], num["bias_mcse"], reps)
    if quantity == "mse":
        return Summary(num["rmse"] ** 2, 2 * num["rmse"] * num["rmse_mcse"], reps)
    se = num["variance"] * math.sqrt(2 / (reps - 1)) if reps > 1 else math.nan
    return Summary(num["variance"], se, reps)


def generator_of(number: pd.Series) -> str:
    """The base generator a number's set comes from (`ctgan` for GAN hybrid pairing)."""
    return generator_base(str(number["generator"]))
