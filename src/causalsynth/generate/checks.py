"""What a generator may learn, and what it may hand back.

:func:`check_table` rejects tables no generator can learn, with a message naming the dataset,
the generator, the column and the fix. :class:`TableSpec` remembers the columns, types,
categorical levels and ranges of the training table; :func:`validate_rows` holds every
generated row against it, so that a generator returns only rows of the training schema and
each row it drops is counted under one reason.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from causalsynth.core.roles import Roles

#: Why a generated row was dropped. Each dropped row is counted once, under the problem of
#: its first failing column in table order.
INVALID_REASONS = (
    "missing_column",  # the generated row has no value for a column (GReaT text without it)
    "unparseable",  # text that is not a number where the column is numeric
    "nan",
    "inf",
    "non_binary",  # a number other than 0/1 in a binary column
    "unknown_category",  # a level the training table does not have
    "huge",  # a continuous value beyond range_multiple training ranges outside the range
)

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_NAN_WORDS = frozenset({"nan", "+nan", "-nan"})
_INF_WORDS = frozenset({"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"})


@dataclass(frozen=True)
class TableSpec:
    """Schema of a training table: column order, types, categorical levels, numeric ranges."""

    columns: tuple[str, ...]
    types: dict[str, str]
    levels: dict[str, tuple[str, ...]]
    ranges: dict[str, tuple[float, float]]

    @classmethod
    def from_table(cls, data: pd.DataFrame, roles: Roles) -> TableSpec:
        types = roles.column_types()
        levels = {c: tuple(sorted(data[c].unique())) for c, k in types.items() if k == "categorical"}
        ranges = {
            c: (float(data[c].min()), float(data[c].max())) for c, k in types.items() if k == "continuous"
        }
        return cls(columns=tuple(roles.columns), types=types, levels=levels, ranges=ranges)

    def limits(self, column: str, range_multiple: float | None) -> tuple[float, float]:
        """Values of a continuous column outside these bounds count as ``huge``."""
        if range_multiple is None:
            return -math.inf, math.inf
        lo, hi = self.ranges[column]
        width = hi - lo
        return lo - range_multiple * width, hi + range_multiple * width


def _parse_number(value: Any) -> tuple[float, str | None]:
    if value is None:
        return math.nan, "missing_column"
    if isinstance(value, bool | np.bool_):
        return float(value), None
    if isinstance(value, int | float | np.integer | np.floating):
        x = float(value)
    elif isinstance(value, str):
        text = value.strip()
        word = text.lower()
        if word in _NAN_WORDS:
            return math.nan, "nan"
        if word in _INF_WORDS:
            return math.inf, "inf"
        if not _NUMBER.fullmatch(text):
            return math.nan, "unparseable"
        x = float(text)  # "1e999" parses to inf and is caught below
    elif pd.isna(value):
        return math.nan, "nan"
    else:
        return math.nan, "unparseable"
    if math.isnan(x):
        return x, "nan"
    if math.isinf(x):
        return x, "inf"
    return x, None


def _numeric(raw: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Floats and a per-value problem (None when fine) for a generated numeric column."""
    if pd.api.types.is_numeric_dtype(raw) or pd.api.types.is_bool_dtype(raw):
        x = raw.to_numpy(dtype=np.float64, na_value=np.nan)
        problem = np.full(len(x), None, dtype=object)
        problem[np.isinf(x)] = "inf"
        problem[np.isnan(x)] = "nan"
        return x, problem
    parsed = [_parse_number(v) for v in raw.to_numpy(dtype=object)]
    x = np.array([p[0] for p in parsed], dtype=np.float64)
    problem = np.array([p[1] for p in parsed], dtype=object)
    return x, problem


def _categorical(raw: pd.Series, levels: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    known = set(levels)
    values = np.empty(len(raw), dtype=object)
    problem = np.full(len(raw), None, dtype=object)
    for i, v in enumerate(raw.to_numpy(dtype=object)):
        if v is None:
            problem[i] = "missing_column"
        elif not isinstance(v, str) and pd.isna(v):
            problem[i] = "nan"
        else:
            text = str(v).strip()
            values[i] = text
            if text not in known:
                problem[i] = "unknown_category"
    return values, problem


def validate_rows(
    raw: pd.DataFrame, spec: TableSpec, range_multiple: float | None = None
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Cast generated rows to the training schema; drop and count the rows that do not fit.

    ``raw`` holds one column per training column (extra columns are ignored; an absent column
    makes every row ``missing_column``). Values may be numbers or text; ``None`` means the
    generator produced no value for that column. Returns the valid rows (fresh RangeIndex,
    training column order, canonical dtypes) and ``{reason: count}`` over the dropped rows.
    """
    n = len(raw)
    first_problem = np.full(n, None, dtype=object)
    out: dict[str, np.ndarray] = {}
    for column in spec.columns:
        kind = spec.types[column]
        col = raw[column] if column in raw.columns else pd.Series([None] * n, dtype=object)
        if kind == "categorical":
            values, problem = _categorical(col, spec.levels[column])
        else:
            values, problem = _numeric(col)
            ok = problem == None  # noqa: E711 -- elementwise on an object array
            if kind == "binary":
                problem[ok & ~np.isin(values, (0.0, 1.0))] = "non_binary"
            else:
                lo, hi = spec.limits(column, range_multiple)
                problem[ok & ((values < lo) | (values > hi))] = "huge"
        unset = first_problem == None  # noqa: E711
        first_problem[unset] = problem[unset]
        out[column] = values
    valid = first_problem == None  # noqa: E711
    clean = {}
    for column in spec.columns:
        kind = spec.types[column]
        v = out[column][valid]
        if kind == "binary":
            clean[column] = v.astype(np.int64)
        elif kind == "categorical":
            clean[column] = v.astype(object)
        else:
            clean[column] = v.astype(np.float64)
    reasons, counts = np.unique(first_problem[~valid].astype(str), return_counts=True)
    return pd.DataFrame(clean, columns=list(spec.columns)), {
        str(r): int(c) for r, c in zip(reasons, counts, strict=True)
    }
