"""The Gaussian copula (package ``sdv``): fitted marginals joined by a Gaussian dependence
structure, the cheapest base generator. sdv is imported when it is fitted, so importing the
registry stays cheap."""

from __future__ import annotations

import logging
import warnings

import pandas as pd

from causalsynth.core.errors import ConfigError
from causalsynth.core.roles import Roles
from causalsynth.generate.base import Generator, SamplingBudget
from causalsynth.generate.registry import GENERATORS
from causalsynth.generate.runtime import isolated_global_rng

logger = logging.getLogger(__name__)


@GENERATORS.register("gaussian_copula")
class GaussianCopulaGenerator(Generator):
    """SDV's Gaussian copula: fitted marginals joined by a Gaussian dependence structure.

    Binary and categorical columns get sdtype ``categorical``, continuous columns
    ``numerical``. Runs on the CPU; ``random_state`` is unused because fitting is
    deterministic, and sampling is seeded per call.
    """

    name = "gaussian_copula"
    packages = ("sdv", "copulas", "rdt")
    _table = "table"

    def __init__(
        self,
        default_distribution: str = "beta",
        enforce_min_max_values: bool = True,
        n_jobs: int = 1,
        random_state: int = 0,
        max_sampling_rounds: int = 10,
        max_sampling_seconds: float | None = None,
        range_multiple: float | None = 10.0,
    ):
        self.default_distribution = default_distribution
        self.enforce_min_max_values = enforce_min_max_values
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.max_sampling_rounds = max_sampling_rounds
        self.max_sampling_seconds = max_sampling_seconds
        self.range_multiple = range_multiple

    def _check_own_params(self) -> None:
        valid = ("norm", "beta", "truncnorm", "gamma", "uniform", "gaussian_kde")
        if self.default_distribution not in valid:
            raise ConfigError(
                f"generator 'gaussian_copula': default_distribution must be one of {valid}, "
                f"got {self.default_distribution!r}"
            )

    def _fit(self, data: pd.DataFrame, roles: Roles) -> None:
        from sdv.metadata import Metadata
        from sdv.single_table import GaussianCopulaSynthesizer

        metadata = Metadata()
        metadata.add_table(self._table)
        for column, kind in roles.column_types().items():
            if kind == "continuous":
                metadata.add_column(column, self._table, sdtype="numerical")
            else:
                metadata.add_column(column, self._table, sdtype="categorical")
        with warnings.catch_warnings():
            # the metadata is rebuilt from the roles on every fit: there is nothing to save
            warnings.filterwarnings("ignore", message="We strongly recommend saving the metadata")
            model = GaussianCopulaSynthesizer(
                metadata,
                enforce_min_max_values=self.enforce_min_max_values,
                default_distribution=self.default_distribution,
            )
        with isolated_global_rng(self.random_state):
            model.fit({self._table: data})
        self.model_ = model
        learned = model.get_learned_distributions()
        self.fit_info_ = {"distributions": {c: d["distribution"] for c, d in learned.items()}}
        logger.info("gaussian_copula: fitted marginals %s", self.fit_info_["distributions"])

    def _sample(self, n: int, seed: int, budget: SamplingBudget) -> pd.DataFrame:
        model = self.model_
        # reset_sampling rewinds the data processor's fixed seeds; the copula's own
        # generator then takes this call's seed, so a seed fixes the draw whatever came before
        model.reset_sampling()
        model._set_random_state(seed)
        with isolated_global_rng(seed):
            out = model.sample(num_rows=n)
        return out[self._table] if isinstance(out, dict) else out
