"""Numeric encodings of covariates shared by the DCR, the learners and pairing."""

from __future__ import annotations

import numpy as np
import pandas as pd

from causalsynth.core.roles import Roles


class CovariateEncoder:
    """Encode covariates (optionally with treatment / outcome) as a float matrix.

    Continuous columns are z-scored with the fitted data's mean and standard deviation
    (a constant column keeps scale 1); binary columns are kept as 0/1 times
    ``categorical_weight``; categorical columns become one-hot indicators over the fitted
    levels, each times ``categorical_weight / sqrt(2)`` so that two rows differing in one
    categorical column are ``categorical_weight`` apart, like two rows differing in one
    binary column. Levels unseen at fit time encode as all zeros.
    """

    def __init__(
        self,
        roles: Roles,
        columns: list[str] | None = None,
        categorical_weight: float = 1.0,
        standardize: bool = True,
    ):
        self.roles = roles
        self.columns = columns
        self.categorical_weight = categorical_weight
        self.standardize = standardize

    def fit(self, df: pd.DataFrame) -> CovariateEncoder:
        types = self.roles.column_types()
        cols = self.columns if self.columns is not None else self.roles.covariate_names
        self.types_ = {c: types[c] for c in cols}
        self.mean_: dict[str, float] = {}
        self.scale_: dict[str, float] = {}
        self.levels_: dict[str, list[str]] = {}
        for c, kind in self.types_.items():
            if kind == "continuous":
                x = df[c].to_numpy(dtype=float)
                sd = float(np.std(x, ddof=1)) if len(x) > 1 else 0.0
                self.mean_[c] = float(np.mean(x)) if self.standardize else 0.0
                self.scale_[c] = sd if (self.standardize and sd > 0) else 1.0
            elif kind == "categorical":
                self.levels_[c] = sorted(df[c].astype(str).unique().tolist())
        self.feature_names_ = self._feature_names()
        return self

    def _feature_names(self) -> list[str]:
        names = []
        for c, kind in self.types_.items():
            if kind == "categorical":
                names.extend(f"{c}={lv}" for lv in self.levels_[c])
            else:
                names.append(c)
        return names

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        blocks = []
        w = self.categorical_weight
        for c, kind in self.types_.items():
            if kind == "continuous":
                x = (df[c].to_numpy(dtype=float) - self.mean_[c]) / self.scale_[c]
                blocks.append(x[:, None])
            elif kind == "binary":
                blocks.append(df[c].to_numpy(dtype=float)[:, None] * w)
            else:
                values = df[c].astype(str).to_numpy()
                levels = np.asarray(self.levels_[c], dtype=object)
                onehot = (values[:, None] == levels[None, :]).astype(float)
                blocks.append(onehot * (w / np.sqrt(2.0)))
        if not blocks:
            return np.zeros((len(df), 0))
        return np.hstack(blocks)

    def fit_transform(self, df: pd.DataFrame) -> np.ndarray:
        return self.fit(df).transform(df)
