"""Numbers, intervals, p-values and Markdown tables as the findings print them."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from causalsynth.core.uncertainty import Interval


def fmt(x: object, digits: int = 4) -> str:
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


def pct(x: float) -> str:
    # one decimal: half a percent of copied rows must not print as 0%
    return "–" if not np.isfinite(x) else f"{100 * x:.1f}%".replace(".0%", "%")


def fmt_p(p: float | None) -> str:
    """A p-value to two significant digits; below 1e-4 the digits are noise of the t tail."""
    if p is None or not np.isfinite(p):
        return "–"
    return "<0.0001" if p < 1e-4 else f"{p:.2g}"


def ci(iv: Interval, digits: int = 4, as_pct: bool = False) -> str:
    """ "estimate [low, high]"; "[–]" says that no interval exists (a single replicate)."""
    f = pct if as_pct else (lambda v: fmt(v, digits))
    if not np.isfinite(iv.estimate):
        return "–"
    if not iv.defined:
        return f"{f(iv.estimate)} [–]"
    return f"{f(iv.estimate)} [{f(iv.low)}, {f(iv.high)}]"


def err_ci(iv: Interval) -> str:
    # a t interval knows nothing of |error| >= 0; a negative bound would only confuse the reader
    return ci(iv.clip(0.0, math.inf))


def md_table(df: pd.DataFrame) -> str:
    if df.empty:
        return "_(no rows)_"
    # a bare "|" inside a cell (as in "|ATE error|") would split it into two columns
    cells = df.map(lambda v: fmt(v).replace("|", r"\|"))
    return cells.to_markdown(index=False, disable_numparse=True)


def n_unique(values: pd.Series) -> int:
    return int(pd.Series(values).nunique())
