"""Checks every table against its declared roles before anything learns from it.

Each failure is a :class:`~causalsynth.core.errors.DataError` that names the file (or dataset),
the column and the fix. Nothing is dropped silently: rows with missing values are either an
error or, with ``missing: drop``, dropped and counted by the caller.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from causalsynth.core.errors import DataError
from causalsynth.core.roles import Roles, require_columns

# Beyond this magnitude squared distances and standardizations overflow or lose all precision.
MAX_ABS_VALUE = 1e12


def check_columns_present(df: pd.DataFrame, columns: list[str], source: str) -> None:
    require_columns(
        df, columns, source, "correct the column name in the config or add the column to the file"
    )


def missing_rows(df: pd.DataFrame, roles: Roles) -> pd.Series:
    """Rows with a missing value in any role column."""
    return df[roles.columns].isna().any(axis=1)


def check_no_missing(df: pd.DataFrame, roles: Roles, source: str) -> None:
    for col in roles.columns:
        n = int(df[col].isna().sum())
        if n:
            raise DataError(
                source,
                col,
                f"{n} missing value(s)",
                "fill them in, or set `missing: drop` for this dataset to drop (and count) those rows",
            )


def binary_values(s: pd.Series) -> np.ndarray | None:
    """The column as int 0/1, or None when it holds anything else."""
    if s.dtype == bool:
        return s.to_numpy().astype(np.int64)
    x = pd.to_numeric(s, errors="coerce")
    if x.isna().any():
        return None
    values = set(np.unique(x.to_numpy()))
    if not values <= {0, 1}:
        return None
    return x.to_numpy().astype(np.int64)


def check_treatment(df: pd.DataFrame, col: str, source: str) -> np.ndarray:
    values = df[col].dropna().unique()
    a = binary_values(df[col])
    if a is None:
        shown = sorted(map(str, values))[:5]
        if len(values) > 2:
            problem = f"the treatment must be binary 0/1 but has {len(values)} levels ({shown})"
            fix = (
                "recode it to two arms (1 = treated, 0 = control) or drop the extra arm's rows from the file"
            )
        else:
            problem = f"the treatment must be 0/1 but holds {shown}"
            fix = (
                "name the values with `treatment_values: {treated: <value>, control: <value>}` (a csv "
                "dataset), or recode the column as 1 for treated and 0 for control"
            )
        raise DataError(source, col, problem, fix)
    n1 = int(a.sum())
    if n1 == 0 or n1 == len(a):
        arm = "treated (1)" if n1 == 0 else "control (0)"
        raise DataError(
            source,
            col,
            f"all {len(a)} rows have treatment {int(a[0])}: no {arm} units",
            "use data with units in both arms",
        )
    return a


def check_numeric(df: pd.DataFrame, col: str, source: str, role: str) -> np.ndarray:
    x = pd.to_numeric(df[col], errors="coerce")
    bad = x.isna() & df[col].notna()
    if bad.any():
        examples = df.loc[bad, col].astype(str).unique()[:3].tolist()
        raise DataError(
            source,
            col,
            f"{role} column holds non-numeric text in {int(bad.sum())} row(s), for example {examples}",
            "clean those values, or declare the column `categorical` if it is a category",
        )
    v = x.to_numpy(dtype=float)
    if not np.isfinite(v).all():
        raise DataError(
            source, col, f"{role} column holds infinite values", "replace them with finite numbers"
        )
    big = np.abs(v) > MAX_ABS_VALUE
    if big.any():
        raise DataError(
            source,
            col,
            f"{role} column holds {int(big.sum())} value(s) beyond {MAX_ABS_VALUE:g} in magnitude "
            f"(largest {np.abs(v).max():.3g})",
            "check for a data-entry error or rescale the column (for example to thousands)",
        )
    return v


def check_outcome(df: pd.DataFrame, roles: Roles, source: str) -> None:
    col = roles.outcome
    if roles.outcome_type == "binary":
        if binary_values(df[col]) is None:
            raise DataError(
                source,
                col,
                f"declared binary but holds {sorted(map(str, df[col].unique()))[:5]}",
                "name the values with `outcome_values: {positive: <value>, negative: <value>}` (a csv "
                "dataset), recode the outcome to 0/1, or declare `outcome_type: continuous`",
            )
    else:
        check_numeric(df, col, source, "outcome")
    if df[col].nunique() < 2:
        raise DataError(
            source,
            col,
            f"the outcome is constant ({df[col].iloc[0]} in every row); no effect can be estimated",
            "choose an outcome that varies",
        )


def check_covariates(df: pd.DataFrame, roles: Roles, source: str) -> None:
    for col, kind in roles.covariates.items():
        if df[col].nunique(dropna=True) < 2:
            raise DataError(
                source,
                col,
                "covariate has a single value in every row and carries no information",
                "remove it from the covariate list",
            )
        if kind == "binary" and binary_values(df[col]) is None:
            raise DataError(
                source,
                col,
                f"declared binary but holds {sorted(map(str, df[col].unique()))[:5]}",
                "recode it to 0/1 or declare it `categorical`",
            )
        if kind == "continuous":
            check_numeric(df, col, source, "covariate")


def validate_table(df: pd.DataFrame, roles: Roles, source: str) -> None:
    """Raise a DataError for the first problem found; return None for a usable table."""
    if len(df) == 0:
        raise DataError(source, None, "the table has no rows", "use a file with data rows")
    dup = df.columns[df.columns.duplicated()].tolist()
    if dup:
        raise DataError(
            source, dup[0], "column name appears more than once", "give every column a unique name"
        )
    check_columns_present(df, roles.columns, source)
    role_cols = roles.columns
    if len(set(role_cols)) != len(role_cols):
        twice = [c for c in role_cols if role_cols.count(c) > 1][0]
        raise DataError(
            source, twice, "column has two roles", "name it once, as treatment, outcome or covariate"
        )
    check_no_missing(df, roles, source)
    check_treatment(df, roles.treatment, source)
    check_outcome(df, roles, source)
    check_covariates(df, roles, source)


def infer_type(s: pd.Series) -> str:
    """Binary for 0/1 (or booleans), categorical for text, continuous otherwise."""
    if binary_values(s.dropna()) is not None and s.dropna().nunique() <= 2:
        return "binary"
    if s.dtype == object or isinstance(s.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(s):
        if pd.to_numeric(s.dropna(), errors="coerce").notna().all():
            return "continuous"
        return "categorical"
    return "continuous"
