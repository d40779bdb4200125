"""A generator from outside the package, as a user would write one (ARCHITECTURE.md, "A generator
of your own"): loaded by import path, ``type: "tests.plugins.toy_generator:ToyGenerator"``.

``ToyGenerator`` resamples training rows and adds Gaussian noise to the continuous columns;
the other classes break the contract on purpose, for the tests.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from causalsynth.core.roles import Roles
from causalsynth.generate import Generator, SamplingBudget


class ToyGenerator(Generator):
    """Rows drawn with replacement from the training table, continuous values plus noise.

    ``noise``: the noise's standard deviation, in standard deviations of each continuous column.
    """

    name = "toy"
    mem_mb = 500
    runtime_minutes = 5

    def __init__(self, noise: float = 0.5, n_jobs: int = 1, random_state: int = 0):
        self.noise = noise
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _fit(self, data: pd.DataFrame, roles: Roles) -> None:
        self.data_ = data.reset_index(drop=True)
        self.scale_ = {
            c: float(data[c].std(ddof=1)) for c, k in roles.column_types().items() if k == "continuous"
        }
        self.fit_info_["rows_seen"] = len(data)

    def _sample(self, n: int, seed: int, budget: SamplingBudget) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        rows = self.data_.iloc[rng.integers(0, len(self.data_), n)].reset_index(drop=True)
        for column, scale in self.scale_.items():
            rows[column] = rows[column] + rng.normal(0.0, self.noise * scale, n)
        return rows


class FailingGenerator(ToyGenerator):
    """Raises inside fit, as a plug-in with a bug would."""

    def _fit(self, data: pd.DataFrame, roles: Roles) -> None:
        raise ValueError("the toy model diverged")


class NoSampleGenerator(Generator):
    """Breaks the contract: no _sample."""

    def __init__(self, n_jobs: int = 1, random_state: int = 0):
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _fit(self, data: pd.DataFrame, roles: Roles) -> None:
        pass


class NoRunParamsGenerator(ToyGenerator):
    """Breaks the contract: a constructor without n_jobs and random_state."""

    def __init__(self, noise: float = 0.5):
        self.noise = noise


class UnstoredGenerator(ToyGenerator):
    """Breaks the contract: keeps its argument under another name."""

    def __init__(self, noise: float = 0.5, n_jobs: int = 1, random_state: int = 0):
        self.sigma = noise
        self.n_jobs = n_jobs
        self.random_state = random_state


class RaisingInitGenerator(ToyGenerator):
    """Raises in its constructor (validation that belongs in _check_own_params or fit)."""

    def __init__(self, noise: float = 0.5, n_jobs: int = 1, random_state: int = 0):
        raise ValueError("no GPU here")


class NotAGenerator:
    """Has fit and sample of its own, but is no Generator."""

    def fit(self, table, roles):
        return self

    def sample(self, n, seed):
        return None
