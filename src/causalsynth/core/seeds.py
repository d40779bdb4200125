"""Seeds derived from the ids of a run, never from hash(), time or global state.

Every random draw in causalsynth takes a seed from :func:`derive_seed`, so the same
(base seed, stage, dataset, generator, estimator, replicate) always gives the same numbers,
whatever order Snakemake runs the jobs in.
"""

from __future__ import annotations

import hashlib

_SEED_BITS = 32  # sdv, torch and numpy all accept a 32-bit unsigned seed


def derive_seed(
    base: int,
    stage: str,
    dataset: str = "",
    generator: str = "",
    estimator: str = "",
    rep: int | str = "",
) -> int:
    """SHA-256 of the ids, truncated to an unsigned 32-bit integer."""
    key = "\x1f".join(str(p) for p in (int(base), stage, dataset, generator, estimator, rep))
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[: _SEED_BITS // 8], "big")
