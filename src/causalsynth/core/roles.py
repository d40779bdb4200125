"""The causal table: a DataFrame plus the roles of its columns.

Conventions every component relies on:

* the treatment column holds integers 0/1;
* a binary outcome holds integers 0/1, a continuous outcome finite floats;
* covariates are typed ``binary`` (integers 0/1), ``categorical`` (strings with a few
  levels) or ``continuous`` (finite floats).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from causalsynth.core.errors import DataError

COVARIATE_TYPES = ("binary", "categorical", "continuous")
OUTCOME_TYPES = ("binary", "continuous")
ESTIMANDS = ("ATE", "ATT")
# Below this many units in an arm no nuisance model (and no effect estimate) is meaningful:
# estimate cells with smaller arms get a status, prepare_dataset refuses such data, and the
# generate stage flags a synthetic table with such an arm as degenerate.
MIN_ARM_UNITS = 5


def min_arm_units(folds: int, cross_fit: bool = True) -> int:
    """Units an arm needs for the estimators: MIN_ARM_UNITS, or one per fold when cross-fitting
    asks for more (each fold's held-out part needs a unit of each arm)."""
    return max(MIN_ARM_UNITS, int(folds) if cross_fit else 1)


@dataclass(frozen=True)
class Roles:
    treatment: str
    outcome: str
    outcome_type: str
    covariates: dict[str, str] = field(default_factory=dict)
    estimand: str = "ATE"

    def __post_init__(self) -> None:
        if self.outcome_type not in OUTCOME_TYPES:
            raise ValueError(f"outcome_type must be one of {OUTCOME_TYPES}, got {self.outcome_type!r}")
        if self.estimand not in ESTIMANDS:
            raise ValueError(f"estimand must be one of {ESTIMANDS}, got {self.estimand!r}")
        for name, kind in self.covariates.items():
            if kind not in COVARIATE_TYPES:
                raise ValueError(f"covariate '{name}' has type {kind!r}; valid: {COVARIATE_TYPES}")

    @property
    def covariate_names(self) -> list[str]:
        return list(self.covariates)

    @property
    def columns(self) -> list[str]:
        return [*self.covariates, self.treatment, self.outcome]

    def of_type(self, kind: str) -> list[str]:
        return [c for c, k in self.covariates.items() if k == kind]

    def column_types(self) -> dict[str, str]:
        """Type of every column, treatment ('binary') and outcome included."""
        return {**self.covariates, self.treatment: "binary", self.outcome: self.outcome_type}

    def to_dict(self) -> dict[str, Any]:
        return {
            "treatment": self.treatment,
            "outcome": self.outcome,
            "outcome_type": self.outcome_type,
            "covariates": [{"name": n, "type": t} for n, t in self.covariates.items()],
            "estimand": self.estimand,
        }

    def validate(
        self,
        df: pd.DataFrame,
        source: str,
        columns: list[str] | None = None,
        *,
        min_rows: int = 0,
        both_arms: bool = False,
        varying: bool = False,
        reset_index: bool = True,
    ) -> pd.DataFrame:
        """The table contract: ``df[columns]`` (default: every role column) with canonical dtypes.

        Raises a :class:`DataError` naming ``source``, the column and the fix for the first
        problem: a missing column, fewer than ``min_rows`` rows, a missing value, a numeric column
        with text or infinite values, a binary column with values other than 0/1, and, where
        asked, an empty treatment arm (``both_arms``) or a constant column (``varying``).
        Every stage reads its inputs through this one check.
        """
        columns = list(self.columns if columns is None else columns)
        types = self.column_types()
        require_columns(df, columns, source, f"write the role columns of the dataset card: {self.columns}")
        if len(df) < min_rows:
            raise DataError(
                source,
                None,
                f"the table has {len(df)} row(s); at least {min_rows} are needed",
                "use more rows",
            )
        out = {}
        for col in columns:
            out[col] = _canonical_column(df[col], col, types[col], source)
        if both_arms and self.treatment in out:
            for arm in (0, 1):
                if not (out[self.treatment] == arm).any():
                    raise DataError(
                        source,
                        self.treatment,
                        f"the treatment arm {self.treatment}={arm} has no units",
                        "use a table with both treated and control units",
                    )
        if varying:
            for col in columns:
                values = pd.unique(out[col])
                if len(values) < 2:
                    raise DataError(
                        source,
                        col,
                        f"takes the single value {values[0]!r} in all {len(df)} rows; nothing can be "
                        "learned from a constant column",
                        "drop the column from the dataset's roles, or use a table where it varies",
                    )
        table = pd.DataFrame(out, index=df.index)
        return table.reset_index(drop=True) if reset_index else table

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Roles:
        """Read roles from a dataset card (``card.json``) or :meth:`to_dict` output."""
        covs = d["covariates"]
        if isinstance(covs, list):
            covs = {c["name"]: c["type"] for c in covs}
        return cls(
            treatment=d["treatment"],
            outcome=d["outcome"],
            outcome_type=d["outcome_type"],
            covariates=dict(covs),
            estimand=d.get("estimand", "ATE"),
        )


def _canonical_column(s: pd.Series, col: str, kind: str, source: str) -> np.ndarray:
    n_missing = int(s.isna().sum())
    if n_missing:
        raise DataError(source, col, f"{n_missing} missing value(s)", "drop or impute them upstream")
    if kind == "categorical":
        return s.astype(str).astype(object).to_numpy()
    if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
        raise DataError(
            source,
            col,
            f"{kind} column holds non-numeric values (dtype {s.dtype})",
            "type the column 'categorical' in the dataset card, or encode it as numbers",
        )
    x = s.to_numpy(dtype=np.float64)
    if not np.isfinite(x).all():
        raise DataError(source, col, "holds infinite values", "drop or cap them upstream")
    if kind == "binary":
        if not np.isin(x, (0.0, 1.0)).all():
            bad = sorted(set(np.unique(x)) - {0.0, 1.0})[:5]
            raise DataError(
                source, col, f"binary column holds values other than 0/1: {bad}", "recode it to 0/1"
            )
        return x.astype(np.int64)
    return x


def require_columns(df: pd.DataFrame, columns: list[str], source: str, fix: str) -> None:
    """The one check that a table has the columns it must have; ``fix`` says what to do."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataError(
            source,
            missing[0],
            f"column not found (missing: {missing}; the table has: {list(df.columns)})",
            fix,
        )


def read_card(card_path: str | os.PathLike) -> tuple[dict[str, Any], Roles]:
    """A dataset card (``card.json`` of prepare_dataset) and the roles it declares."""
    from causalsynth.core.io import read_json

    card = read_json(card_path)
    try:
        return card, Roles.from_dict(card)
    except (KeyError, ValueError) as exc:
        raise DataError(str(card_path), None, f"not a dataset card ({exc})", "rerun prepare_dataset") from exc


def card_truth(card: dict[str, Any]) -> tuple[float, str | None]:
    """The dataset card's truth: (ATE or NaN when the card has none, its kind or None)."""
    truth = card.get("truth") or {}
    value = truth.get("ate")
    return (math.nan if value is None else float(value)), truth.get("kind")


def coerce_types(df: pd.DataFrame, roles: Roles) -> pd.DataFrame:
    """Return the role columns in role order with the canonical dtypes."""
    out = {}
    for col, kind in roles.column_types().items():
        s = df[col]
        if kind == "binary":
            out[col] = s.astype(np.int64)
        elif kind == "categorical":
            out[col] = s.astype(str).astype(object)
        else:
            out[col] = s.astype(np.float64)
    return pd.DataFrame(out, index=df.index)[roles.columns]
