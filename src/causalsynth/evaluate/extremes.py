"""Extreme values of a synthetic set beside the real training rows' (rows of the fidelity table).

``prepare_dataset`` counts the extreme values of the outcome (when continuous) and of every
continuous covariate by Tukey's fences on the training rows, ``checks.outlier_iqr`` (k) times the
IQR beyond the quartiles, and writes each column's fences to ``card.json``
(:func:`causalsynth.data.checks.check_outliers`). A synthetic set is counted against those same
fences, with the same rule (:func:`causalsynth.data.checks.beyond_fences`), so the two counts
compare: a generator that smooths away a heavy tail shows fewer extremes than the real rows, one
that invents them shows more.

One row per checked column, metric ``extreme_share:<column>``: ``value`` is the share of the
set's rows beyond the fences, ``real_value`` the share of the training rows the generator saw
(none after ``checks.outliers: winsorize``, which clips them to the fences), and ``detail`` the
counts and the fences. A column the card skips (an IQR of 0) has no value and says why.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from causalsynth.core.roles import Roles
from causalsynth.core.vocabulary import OK
from causalsynth.data.checks import beyond_fences

__all__ = ["EXTREME_PREFIX", "extreme_metric", "extreme_rows"]

EXTREME_PREFIX = "extreme_share:"


def extreme_metric(column: str) -> str:
    return f"{EXTREME_PREFIX}{column}"


def _checked_columns(roles: Roles) -> list[str]:
    # the columns check_outliers fences, in its order: the outcome first when it is continuous
    columns = [roles.outcome] if roles.outcome_type == "continuous" else []
    return columns + [c for c in roles.of_type("continuous") if c not in columns]


def extreme_rows(
    synthetic: pd.DataFrame, train: pd.DataFrame, roles: Roles, card: dict[str, Any]
) -> list[dict]:
    """The ``extreme_share:<column>`` rows of one synthetic set, against the fences of ``card``
    (the card of the set's replicate: its training rows set the fences)."""
    report = (card.get("checks") or {}).get("outliers")
    if not report:
        why = "card.json has no outlier fences (checks.outliers): rerun prepare_dataset"
        return [
            {
                "metric": extreme_metric(c),
                "value": math.nan,
                "real_value": math.nan,
                "status": why,
                "detail": "",
            }
            for c in _checked_columns(roles)
        ]
    rule = f"{report['outlier_iqr']:g} x IQR beyond the training quartiles (checks.outlier_iqr)"
    rows = []
    for column, entry in report["columns"].items():
        row = {"metric": extreme_metric(column), "value": math.nan, "real_value": math.nan, "detail": rule}
        if "skipped" in entry:
            rows.append(row | {"status": f"no fences: {entry['skipped']}"})
            continue
        lower, upper = float(entry["lower"]), float(entry["upper"])
        n_syn = int(beyond_fences(synthetic[column], lower, upper).sum())
        n_real = int(beyond_fences(train[column], lower, upper).sum())
        rows.append(
            row
            | {
                "value": n_syn / len(synthetic) if len(synthetic) else math.nan,
                "real_value": n_real / len(train) if len(train) else math.nan,
                "status": OK if len(synthetic) else "no synthetic rows",
                "detail": f"{n_syn} of {len(synthetic)} synthetic rows and {n_real} of {len(train)} "
                f"training rows beyond [{lower:.4g}, {upper:.4g}], {rule}",
            }
        )
    return rows
