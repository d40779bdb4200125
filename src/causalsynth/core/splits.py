"""Per-replicate data: replicate r of a dataset is its own draw of the real rows.

A simulated dataset draws a fresh sample in every replicate and a real one a fresh train/holdout
split, so an interval over replicates covers what a user's next sample would show rather than
one split's luck. Every stage that reads the real rows beside several replicates' synthetic sets
takes them as a mapping replicate -> path; a single path stands for one split that every
replicate shares (a notebook's own table, or a caller with one split).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from causalsynth.core.errors import ConfigError

PathLike = str | os.PathLike
SplitPaths = PathLike | Mapping[int, PathLike]


def by_rep(paths: Sequence[PathLike], reps: Sequence[int], what: str = "paths") -> dict[int, str]:
    """{replicate: path} from two lists in step (a rule's input list and its replicates)."""
    if len(paths) != len(reps):
        raise ConfigError(
            f"{what}: {len(paths)} paths for {len(reps)} replicates; give one path per replicate"
        )
    return {int(r): str(p) for r, p in zip(reps, paths, strict=True)}


def for_rep(paths: SplitPaths, rep: int, what: str = "split") -> str:
    """The path of replicate ``rep``'s split; a single path serves every replicate."""
    if isinstance(paths, str | os.PathLike):
        return str(paths)
    try:
        return str(paths[int(rep)])
    except KeyError:
        raise ConfigError(
            f"{what}: no table for replicate {rep} (have {sorted(paths)}); give one per replicate"
        ) from None
