"""The dataset contract: a loader returns real (or simulated) data with declared roles."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from causalsynth.core.roles import Roles

DATASET_KINDS = ("simulated", "semi-synthetic", "real-rct", "real-observational")
TRUTH_KINDS = ("exact", "monte_carlo", "reference", None)


@dataclass(frozen=True)
class Truth:
    """The value of the declared estimand, how it is known, and where it comes from."""

    ate: float | None
    kind: str | None
    source: str

    def __post_init__(self) -> None:
        if self.kind not in TRUTH_KINDS:
            raise ValueError(f"truth kind must be one of {TRUTH_KINDS}, got {self.kind!r}")

    def to_dict(self) -> dict[str, Any]:
        return {"ate": self.ate, "kind": self.kind, "source": self.source}


@dataclass
class PreparedDataset:
    """What ``prepare_dataset`` writes: the split tables, their card and, optionally,
    the sets of the positivity study (stacked, with an int column ``set``)."""

    roles: Roles
    kind: str
    train: pd.DataFrame
    holdout: pd.DataFrame
    truth: Truth
    n_dropped: int = 0
    positivity: pd.DataFrame | None = None
    positivity_truth: Truth | None = None
    notes: dict[str, Any] = field(default_factory=dict)


class DatasetLoader:
    """One entry of the dataset registry.

    Subclasses set ``kind`` and implement :meth:`prepare`. Options from the config arrive as
    keyword arguments and are only stored here; unknown options are an error listing the
    valid ones (``options`` names them).
    """

    kind: ClassVar[str]
    options: ClassVar[dict[str, Any]] = {}
    has_positivity_study: ClassVar[bool] = False

    def __init__(self, dataset_id: str, **options: Any):
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            valid = ", ".join(sorted(self.options)) or "(none)"
            raise ValueError(f"dataset '{dataset_id}': unknown option(s) {unknown}; valid options: {valid}")
        self.dataset_id = dataset_id
        self.params = {**self.options, **options}

    def source(self) -> str:
        """How error messages name this dataset (a user's file adds its path)."""
        return f"dataset '{self.dataset_id}'"

    def prepare(self, seed: int) -> PreparedDataset:
        raise NotImplementedError


def split_train_holdout(
    df: pd.DataFrame, treatment: str, holdout_fraction: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Random split stratified by treatment, so both parts keep the arms' shares."""
    rng = np.random.default_rng(seed)
    hold = np.zeros(len(df), dtype=bool)
    for arm in (0, 1):
        idx = np.flatnonzero(df[treatment].to_numpy() == arm)
        k = int(round(holdout_fraction * len(idx)))
        hold[rng.choice(idx, size=k, replace=False)] = True
    return df.loc[~hold].reset_index(drop=True), df.loc[hold].reset_index(drop=True)


def subsample(
    df: pd.DataFrame, treatment: str, max_rows: int | None, seed: int, keep_treated: bool = False
) -> pd.DataFrame:
    """Subsample by arm to exactly ``max_rows`` rows (``None``, or a smaller table, keeps everything).

    By default each arm keeps its proportional share, as a stratified sample would, so the
    population an ATE is defined on keeps its treated share. With ``keep_treated`` (an ATT
    dataset) every treated unit is kept, as long as they leave room for controls, and the
    controls fill the rest: the ATT is defined on the treated, and a proportional draw would
    throw most of them away (69 of the 185 NSW treated at 6,000 rows of lalonde_cps).
    """
    if max_rows is None or len(df) <= max_rows:
        return df
    rng = np.random.default_rng(seed)
    a = df[treatment].to_numpy()
    arms = [np.flatnonzero(a == arm) for arm in (0, 1)]
    if keep_treated and arms[1].size < max_rows:
        k = {1: arms[1].size, 0: max_rows - arms[1].size}
    else:
        treated = min(max(1, int(round(max_rows * arms[1].size / len(df)))), max_rows - 1)
        k = {1: treated, 0: max_rows - treated}
    keep = [rng.choice(arms[arm], size=k[arm], replace=False) for arm in (0, 1)]
    return df.iloc[np.sort(np.concatenate(keep))].reset_index(drop=True)
