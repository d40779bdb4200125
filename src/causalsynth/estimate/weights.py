"""Inverse-propensity weights and their two classical remedies for positivity problems.

Truncation caps every arm weight (the papers use 10, the schema's ``estimation.truncation``);
clipping bounds the propensity to ``[delta_n, 1 - delta_n]`` with
``delta_n = 5 / (sqrt(n) log n)``. Synthetic pairing (hybrid.pairing) is compared with both.
"""

from __future__ import annotations

import numpy as np


def truncate_weights(w: np.ndarray, cap: float) -> np.ndarray:
    """IPTW weights capped at ``cap`` (paper: 10); a new array, the input is left as is."""
    if not cap > 0:
        raise ValueError(f"weight cap must be positive, got {cap!r}")
    return np.minimum(np.asarray(w, dtype=float), cap)


def clipping_bound(n: int) -> float:
    """delta_n = 5 / (sqrt(n) log n), the propensity clipping bound for a sample of size n."""
    if n < 2:
        raise ValueError(f"clipping_bound needs n >= 2, got {n}")
    return float(5.0 / (np.sqrt(n) * np.log(n)))


def clip_propensity(e: np.ndarray, n: int) -> np.ndarray:
    """Propensities clipped to [delta_n, 1 - delta_n] with delta_n = :func:`clipping_bound`.

    For n <= 13 the bound exceeds 1/2 and the interval is empty: that raises ValueError.
    """
    delta = clipping_bound(n)
    if delta >= 0.5:
        raise ValueError(f"clipping bound {delta:.3f} >= 0.5 for n={n}: the clipped interval is empty")
    return np.clip(np.asarray(e, dtype=float), delta, 1.0 - delta)
