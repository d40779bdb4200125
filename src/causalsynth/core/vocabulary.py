"""The result vocabulary: generator ids, table and figure names, table columns and their readers.

Every stage that writes a result table, the gatherer, the figures, the findings and the
workflow take these names from here, so a column or an id is spelled in one place.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from causalsynth.core.errors import ConfigError
from causalsynth.core.roles import require_columns

# the status of a cell, a metric or an attack that was computed (anything else says why not)
OK = "ok"

# ----------------------------------------------------------------------------- generator ids

REAL = "real"  # the generator id of real-data rows, and the hybrid base that bootstraps real covariates
TRUTH_ENGINE = "truth"  # the simulation engine that samples a simulated dataset's true process
# the inferential-utility reference that resamples the real training rows the generators saw
PERFECT = "perfect"
HYBRID_PREFIX = "hybrid_"
ORACLE = f"{HYBRID_PREFIX}{REAL}"  # hybrid pool on real covariates: an oracle, never releasable


def hybrid_name(base: str) -> str:
    """``hybrid_<base>`` for a base generator id (``real`` gives the oracle ``hybrid_real``)."""
    return f"{HYBRID_PREFIX}{base}"


def is_hybrid(generator: str) -> bool:
    return str(generator).startswith(HYBRID_PREFIX)


def generator_base(generator: str) -> str:
    """``hybrid_ctgan`` -> ``ctgan``, ``hybrid_real`` -> ``real``; other ids are their own base."""
    g = str(generator)
    return g[len(HYBRID_PREFIX) :] if is_hybrid(g) else g


def hybrid_base(name: str) -> str | None:
    """The base generator of a hybrid id, ``None`` for the oracle; a non-hybrid id fails."""
    if name == ORACLE:
        return None
    if not is_hybrid(name) or name == HYBRID_PREFIX:
        raise ConfigError(
            f"'{name}' is not a hybrid generator id: expected '{HYBRID_PREFIX}<base>' or '{ORACLE}'"
        )
    return generator_base(name)


# ----------------------------------------------------------------------------- tables

# evaluate.positivity: every method but paired_union averages over the real rows (its target);
# borrowed is the fair baseline of paired (the same synthetic rows, in its outcome model only)
POSITIVITY_METHODS = ("raw", "truncated", "clipped", "borrowed", "paired", "paired_union")

# One row of an estimator grid (estimate.grid), the unit every estimating table is built of.
# share_clipped ... warning: the diagnostics of the row's estimate, so a doubtful estimate says
# why where it is read: the overlap of the weights it used (estimate.weights), the largest share
# of its squared influence terms one unit holds and the out-of-fold fit of its nuisances
# (estimate.estimators, estimate.nuisance).
DIAGNOSTIC_COLUMNS = (
    "share_clipped",
    "ess_treated",
    "ess_control",
    "max_weight",
    "max_influence_share",
    "outcome_r2_oof",
    "propensity_auc_oof",
    "warning",
)
GRID_COLUMNS = [
    "estimator",
    "learner",
    "ate",
    "se",
    "ci_low",
    "ci_high",
    "status",
    *DIAGNOSTIC_COLUMNS,
    "seconds",
]


@dataclass(frozen=True)
class TableSchema:
    """A result table: its columns in order (extra columns may follow) and those its readers need."""

    name: str
    columns: tuple[str, ...]
    required: tuple[str, ...]

    def __post_init__(self) -> None:
        assert set(self.required) <= set(self.columns), self.name


ATE = TableSchema(
    "ate_preservation",
    (
        "dataset",
        "generator",
        "rep",
        "estimator",
        "learner",
        "ate",
        "se",
        "ci_low",
        "ci_high",
        "truth",
        "truth_kind",
        "bias",
        "covered",
        "real_ate",
        "status",
        "engine_truth",
        "engine_truth_minus_truth",
        "covered_engine",
        *DIAGNOSTIC_COLUMNS,
        "seconds",
    ),
    ("dataset", "generator", "rep", "estimator", "learner", "ate", "ci_low", "ci_high", "truth", "status"),
)
TSTR = TableSchema(
    "tstr",
    ("dataset", "generator", "rep", "metric", "value", "train_on_real", "status"),
    ("dataset", "generator", "rep", "metric", "value", "train_on_real"),
)
DCR = TableSchema(
    "dcr",
    ("dataset", "generator", "rep", "n_filtered_low", "n_filtered_high"),
    ("dataset", "generator", "rep"),
)
POSITIVITY = TableSchema(
    "positivity",
    (
        "dataset",
        "rep",
        "set",
        "method",
        "estimator",
        "learner",
        "ate",
        "se",
        "ci_low",
        "ci_high",
        "truth",
        "n_extreme",
        "n_added",
        "target",
        "synthetic_share",
        "synthetic_share_fit",
        "status",
        *DIAGNOSTIC_COLUMNS,
    ),
    ("dataset", "rep", "set", "method", "estimator", "ate", "ci_low", "ci_high", "truth", "status"),
)
ENGINE = TableSchema(
    "engine",
    (
        "dataset",
        "engine",
        "estimator",
        "learner",
        "n",
        "reps",
        "truth",
        "bias",
        "bias_mcse",
        "variance",
        "rmse",
        "rmse_mcse",
        "coverage",
        "coverage_mcse",
        "coverage_low",
        "coverage_high",
        "ci_width",
        "reference",
        "bias_vs_ref",
        "bias_vs_ref_mcse",
        "rmse_vs_ref",
        "rmse_vs_ref_mcse",
        "n_failed",
        "failure_example",
        "ties",
        "propensity_bound",
        "propensity_min",
        "propensity_max",
        "share_bounded",
        "pool_rows",
        "pool_ratio",
        "warning",
    ),
    ("dataset", "engine", "estimator", "learner", "n", "bias", "rmse", "coverage"),
)
# Every engine replicate's reference (evaluate.engine): AIPW with the process's true propensity
# and outcome means, under the learner label TRUE_NUISANCES; the engine's paired columns
# (bias_vs_ref, rmse_vs_ref) compare each estimator with it replicate by replicate.
ENGINE_REFERENCE = "oracle_aipw"
TRUE_NUISANCES = "true"
# An engine "ranks as the truth does" when the rank correlation of its estimator RMSEs with the
# truth engine's is at least SPEARMAN_AGREES; the ranking's `verdict` is AGREES / DISAGREES only
# when its bootstrap interval lies on one side (evaluate.engine.engine_ranking), else UNDECIDED.
SPEARMAN_AGREES = 0.5
AGREES, DISAGREES = "agrees", "disagrees"
RANKING = TableSchema(
    "engine_ranking",
    ("dataset", "engine", "spearman_vs_truth", "spearman_low", "spearman_high", "verdict", "n_estimators"),
    ("dataset", "engine", "spearman_vs_truth"),
)
# Attack-based risk of every releasable set (causalsynth.privacy.attacks): one row per metric.
# `set` is the base generator's set before or after the DCR filter (a hybrid's set is built on
# the filtered covariates, so it is `filtered` only); `higher_is_riskier` states each metric's
# direction and `baseline` the value of a set that never saw the training rows. `releasable`
# and `release_reason` are the release gate's verdict on the set (causalsynth.privacy.gate),
# the same on every row of the set.
PRIVACY = TableSchema(
    "privacy",
    (
        "dataset",
        "generator",
        "rep",
        "set",
        "releasable",
        "release_reason",
        "metric",
        "value",
        "ci_low",
        "ci_high",
        "baseline",
        "higher_is_riskier",
        "epsilon",
        "n_synthetic",
        "n_attacks",
        "attack_rate",
        "control_rate",
        "naive_rate",
        "status",
        "warning",
        "seconds",
    ),
    ("dataset", "generator", "rep", "set", "metric", "value", "baseline", "higher_is_riskier", "status"),
)
PRIVACY_SETS = ("unfiltered", "filtered")  # before and after the DCR filter
# anonymeter's three attacks, each measured against the real holdout as control (risk 0 = none)
PRIVACY_ATTACKS = ("singling_out_risk", "linkability_risk", "inference_risk")
PRIVACY_METRICS = (*PRIVACY_ATTACKS, "dcr_share", "nndr")
# The release gate's verdicts (privacy.release): within every threshold, over one (or not
# screened, or built on a base that is not releasable), or short of a measurement to decide.
RELEASABLE, NOT_RELEASABLE, NOT_ASSESSED = "yes", "no", "not assessed"
RELEASE_VERDICTS = (RELEASABLE, NOT_RELEASABLE, NOT_ASSESSED)
# One row per (synthetic set, metric): evaluate.fidelity; real_value is the metric of a real sample
# in the set's place (or, for a statistic, its value on the real training table).
FIDELITY = TableSchema(
    "fidelity",
    ("dataset", "generator", "rep", "metric", "value", "real_value", "status", "detail", "seconds"),
    ("dataset", "generator", "rep", "metric", "value", "real_value"),
)
# Coverage of as-if-real intervals computed on synthetic sets of n_rows rows: evaluate.inference.
# train_splits: the real training tables the row's fits saw (1: conditional on that split; 0 for
# real's fresh process draws); sizes_dropped: requested sizes the generator's releases cannot reach.
INFERENTIAL_UTILITY = TableSchema(
    "inferential_utility",
    (
        "dataset",
        "generator",
        "n_rows",
        "estimator",
        "learner",
        "coverage",
        "coverage_mcse",
        "ci_width",
        "reps",
        "n_fits",
        "train_splits",
        "n_failed",
        "truth",
        "truth_kind",
        "truth_se",
        "bias",
        "design",
        "status",
        "sizes_dropped",
    ),
    ("dataset", "generator", "n_rows", "estimator", "coverage", "ci_width", "reps"),
)
TABLES: dict[str, TableSchema] = {
    t.name: t for t in (ATE, TSTR, DCR, POSITIVITY, ENGINE, RANKING, PRIVACY, FIDELITY, INFERENTIAL_UTILITY)
}

# Every replicate of an engine job, when asked for (evaluate.engine.run_engine).
ENGINE_REPLICATE_COLUMNS = ["dataset", "engine", "n", "replicate", *GRID_COLUMNS]

FIGURES = (
    "ate_by_generator",
    "tstr_vs_bias",
    "dcr",
    "positivity",
    "engine",
    "runtime",
    "privacy_utility",
    "fidelity",
    "inferential_utility",
)
# The papers' own figures redrawn from a run's tables beside the papers' values (rule
# paper_figures; report/figures/<id>.py): the DCR boxplot, the ATE estimates by baseline (IPTW
# and AIPW) and the simulation engine's bias, variance and MSE.
PAPER_FIGURES = ("paper_dcr", "paper_ate_by_baseline", "paper_engine")
# The table of the papers' numbers beside this run's (report/paper/comparison.py), written by
# the paper_figures rule next to the collected tables.
PAPER_COMPARISON = "paper_comparison"


# ----------------------------------------------------------------------------- readers


def find_table(tables_dir: str | os.PathLike, name: str) -> Path | None:
    """``<tables_dir>/<name>.parquet``, else ``<name>.csv``, else None."""
    for suffix in (".parquet", ".csv"):
        path = Path(tables_dir) / f"{name}{suffix}"
        if path.exists():
            return path
    return None


def check_columns(df: pd.DataFrame, required: Iterable[str], source: str) -> None:
    require_columns(
        df,
        list(required),
        source,
        "regenerate the table with the rule that writes it, or pass the right file",
    )


def read_table(tables_dir: str | os.PathLike, name: str) -> pd.DataFrame:
    """A result table by name; an empty frame with the required columns when the file is absent.

    A present table that lacks a required column is an error: a silently empty figure or an
    untested claim would hide a broken upstream rule.
    """
    required = TABLES[name].required
    path = find_table(tables_dir, name)
    if path is None:
        return pd.DataFrame(columns=list(required))
    df = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    check_columns(df, required, str(path))
    return df


def order_columns(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """The table's columns in their documented order (absent ones empty), extra columns after."""
    cols = list(TABLES[name].columns)
    for c in cols:
        if c not in df.columns:
            df[c] = pd.NA
    return df[cols + [c for c in df.columns if c not in cols]]


def without_reference_learners(ate: pd.DataFrame) -> pd.DataFrame:
    """The ATE rows of the grid's learners: drops a real-data row whose learner no synthetic row
    of its dataset uses (``estimation.reference_learner``'s rows: the real data's reference
    estimate, beside the grid but compared with no synthetic cell)."""
    if ate.empty:
        return ate
    real = ate["generator"] == REAL
    used = set(zip(ate.loc[~real, "dataset"], ate.loc[~real, "learner"].astype(str), strict=True))
    has_synthetic = set(ate.loc[~real, "dataset"])
    keep = ~real | np.array(
        [
            d not in has_synthetic or (d, str(lrn)) in used
            for d, lrn in zip(ate["dataset"], ate["learner"], strict=True)
        ]
    )
    return ate[keep].reset_index(drop=True)


def deduplicate_real(ate: pd.DataFrame) -> pd.DataFrame:
    """One copy of each real-data estimate per (dataset, rep, estimator, learner).

    Every ATE cell carries its replicate's real-data rows beside its own (one fit per
    replicate's draw of the data, the same in every cell of that replicate); counted as they
    are, they would weigh the real data once per generator and inflate the failed-cell counts.
    """
    if ate.empty:
        return ate
    real = ate["generator"] == REAL
    once = ate[real].drop_duplicates(["dataset", "rep", "estimator", "learner"])
    return pd.concat([once, ate[~real]], ignore_index=True)
