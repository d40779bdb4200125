"""The papers' numbers: one data file, `paper_numbers.csv` beside this module, and its reader.

Every number the papers report (as recomputed in the project's reference, `paper-numbers.md`)
is one row with its provenance: the paper, its figure or table, the set, estimator and
quantity in causalsynth's ids, the value, an interval where the paper gives one, and the line
of `paper-numbers.md` it comes from. `PAPER_NUMBERS.md` beside the file says where the numbers
come from. The figures, the comparison table and the findings read them only through
`read_paper_numbers`.
"""

from __future__ import annotations

import importlib.resources
import os
import re

import numpy as np
import pandas as pd

from causalsynth.core.errors import DataError
from causalsynth.core.roles import require_columns
from causalsynth.core.vocabulary import PAPER_FIGURES

PAPER_NUMBERS_FILE = "paper_numbers.csv"
STEAM = "NeurIPS 2025 STEAM"

# the papers by the identifier the file uses
PAPERS = {
    "arXiv 2511.00318": "Kim, Xu and Lin (2025)",
    "arXiv 2604.23904": "Xu (2026)",
    # a peer's numbers on ACTG 175 in its own design (dataset actg175_steam), for the fidelity table
    STEAM: "STEAM (NeurIPS 2025, github.com/harrya32/STEAM)",
}

COLUMNS = (
    "paper",
    "figure",
    "figure_id",
    "dataset",
    "set",
    "kind",
    "generator",
    "estimator",
    "quantity",
    "n",
    "draws",
    "value",
    "interval_low",
    "interval_high",
    "source",
    "note",
)

# What each quantity is; the comparison (report/paper/comparison.py) says how a run measures it.
QUANTITIES = {
    "ate": "mean ATE estimate",
    "bias": "bias",
    "variance": "variance of the estimates",
    "mse": "mean squared error",
    "pool_estimate": "the estimator on the whole pool (the papers' engine truth)",
    "pool_effect": "the pool's own effect",
    "tstr_auc": "TSTR AUC",
    "dcr_mean": "mean DCR",
    "dcr_sd": "standard deviation of the DCR",
    "dcr_median": "median DCR",
    "dcr_q25": "25th percentile of the DCR",
    "dcr_q75": "75th percentile of the DCR",
    "dcr_max": "largest DCR",
    # STEAM's metrics, read from the fidelity table (report/paper/measure.py, FIDELITY_METRICS)
    "alpha_precision": "covariate alpha-precision",
    "beta_recall": "covariate beta-recall",
    "jsd_pi": "JSD_pi: 1 - the mean Jensen-Shannon distance of the propensities",
    "u_pehe": "U_PEHE: RMSE between CATEs learned from real and from synthetic rows, outcome units",
}

# The kind of set a number is about: how the run's counterpart is found.
KINDS = {
    "fully_generative": "a generator's own rows",
    "hybrid": "a hybrid pool (synthetic covariates, treatment and outcome from learned mechanisms)",
    "pairing": "a confounded set paired with synthetic units from a hybrid pool",
    "observational": "a confounded set without pairing",
    "rct_seed": "the RCT seed set the generators learn from",
    "real_test": "the real test set",
    "pool": "a hybrid pool used as the simulation engine's population",
    "true_process": "the true data-generating process",
}

# a line of the project's reference paper-numbers.md, or of the ACTG 175 data's README (STEAM's)
SOURCE_PATTERN = re.compile(r"^(paper-numbers\.md|actg175/README\.md):\d+$")
FIX = "restore src/causalsynth/report/paper/paper_numbers.csv from the repository"


def paper_numbers_path() -> os.PathLike:
    return importlib.resources.files("causalsynth.report.paper") / PAPER_NUMBERS_FILE


def read_paper_numbers(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """The papers' numbers, checked: the columns, known papers, figures, kinds and quantities,
    a finite value and a source line on every row. A malformed file is a `DataError` naming
    the file, the column and the first bad row."""
    path = paper_numbers_path() if path is None else path
    source = str(path)
    df = pd.read_csv(path, dtype={"estimator": str, "figure_id": str, "note": str}, keep_default_na=False)
    require_columns(df, list(COLUMNS), source, FIX)
    for column in ("value", "interval_low", "interval_high", "n", "draws"):
        df[column] = pd.to_numeric(df[column], errors="coerce")  # empty: NaN
    _check(df, "paper", df["paper"].isin(PAPERS), f"unknown paper (known: {sorted(PAPERS)})", source)
    _check(
        df,
        "figure_id",
        df["figure_id"].isin(("", *PAPER_FIGURES)),
        f"unknown figure id (known: {list(PAPER_FIGURES)} or empty)",
        source,
    )
    _check(df, "kind", df["kind"].isin(KINDS), f"unknown kind (known: {sorted(KINDS)})", source)
    _check(
        df,
        "quantity",
        df["quantity"].isin(QUANTITIES),
        f"unknown quantity (known: {sorted(QUANTITIES)})",
        source,
    )
    _check(df, "value", np.isfinite(df["value"]), "not a finite number", source)
    _check(df, "draws", df["draws"] >= 1, "not a count of at least 1", source)
    _check(
        df,
        "source",
        df["source"].astype(str).str.match(SOURCE_PATTERN),
        "not a line of a reference ('paper-numbers.md:<line>' or 'actg175/README.md:<line>')",
        source,
    )
    for column in ("set", "generator", "dataset"):
        _check(df, column, df[column].astype(str).str.len() > 0, "empty", source)
    return df[list(COLUMNS)].reset_index(drop=True)


def _check(df: pd.DataFrame, column: str, ok: pd.Series, problem: str, source: str) -> None:
    bad = ~ok.to_numpy(dtype=bool)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        # +2: the header is line 1 of the file
        raise DataError(
            source,
            column,
            f"{problem}: {df[column].iloc[row]!r} on line {row + 2} ({int(bad.sum())} such row(s))",
            FIX,
        )
