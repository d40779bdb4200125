"""CTGAN and TVAE (package ``ctgan``) and the Gaussian copula (package ``sdv``).

CTGAN and TVAE are used from ``ctgan`` directly rather than through SDV's wrappers, so that
the discrete columns (binary and categorical, treatment and outcome included) are declared
to the model exactly as in the paper, and seeds go through ctgan's own ``set_random_state``.
The libraries are imported when a generator is fitted, so importing the registry stays cheap.
"""

from __future__ import annotations

import abc
import logging
import warnings
from collections.abc import Sequence
from typing import Any

import pandas as pd

from causalsynth.core.errors import ConfigError
from causalsynth.core.roles import Roles
from causalsynth.generate.base import Generator, SamplingBudget
from causalsynth.generate.registry import GENERATORS
from causalsynth.generate.runtime import isolated_global_rng, resolve_device

logger = logging.getLogger(__name__)


def _discrete_columns(roles: Roles) -> list[str]:
    return [c for c, kind in roles.column_types().items() if kind in ("binary", "categorical")]


class _CtganFamily(Generator):
    """Shared fit/sample plumbing of the two ``ctgan`` models."""

    packages = ("ctgan", "torch", "rdt")
    device: str
    batch_size: int
    epochs: int

    def _resolve_device(self) -> str:
        return resolve_device(self.device, f"generator '{self.name}'")

    def _check_common(self) -> None:
        who = f"generator '{self.name}'"
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise ConfigError(f"{who}: epochs must be a positive integer, got {self.epochs!r}")
        if not isinstance(self.batch_size, int) or self.batch_size < 2:
            raise ConfigError(f"{who}: batch_size must be an integer >= 2, got {self.batch_size!r}")

    @abc.abstractmethod
    def _model(self) -> Any:
        """An unfitted ctgan model with this generator's hyperparameters."""

    def _fit(self, data: pd.DataFrame, roles: Roles) -> None:
        model = self._model()
        # ctgan seeds its own (numpy, torch) generator pair and restores the globals after
        # each call; the isolation also covers the data transformer, which draws from them
        model.set_random_state(self.random_state)
        with isolated_global_rng(self.random_state):
            model.fit(data, discrete_columns=_discrete_columns(roles))
        self.model_ = model
        self._log_losses(model)

    def _sample(self, n: int, seed: int, budget: SamplingBudget) -> pd.DataFrame:
        self.model_.set_random_state(seed)
        with isolated_global_rng(seed):
            return self.model_.sample(n)

    @abc.abstractmethod
    def _log_losses(self, model: Any) -> None:
        """Log the per-epoch losses of the fitted model and keep them in ``fit_info_``."""


@GENERATORS.register("ctgan")
class CTGANGenerator(_CtganFamily):
    """Conditional tabular GAN (Xu et al. 2019), package ``ctgan``.

    Defaults follow the paper (50 epochs, discrete columns declared) and ctgan's defaults
    otherwise. ``batch_size`` must be a multiple of ``pac`` (and even).
    """

    name = "ctgan"

    def __init__(
        self,
        epochs: int = 50,
        batch_size: int = 500,
        pac: int = 10,
        embedding_dim: int = 128,
        generator_dim: Sequence[int] = (256, 256),
        discriminator_dim: Sequence[int] = (256, 256),
        generator_lr: float = 2e-4,
        discriminator_lr: float = 2e-4,
        generator_decay: float = 1e-6,
        discriminator_decay: float = 1e-6,
        discriminator_steps: int = 1,
        log_frequency: bool = True,
        device: str = "auto",
        threads: int = 1,
        random_state: int = 0,
        max_sampling_rounds: int = 10,
        max_sampling_seconds: float | None = None,
        range_multiple: float | None = 10.0,
    ):
        self.epochs = epochs
        self.batch_size = batch_size
        self.pac = pac
        self.embedding_dim = embedding_dim
        self.generator_dim = generator_dim
        self.discriminator_dim = discriminator_dim
        self.generator_lr = generator_lr
        self.discriminator_lr = discriminator_lr
        self.generator_decay = generator_decay
        self.discriminator_decay = discriminator_decay
        self.discriminator_steps = discriminator_steps
        self.log_frequency = log_frequency
        self.device = device
        self.threads = threads
        self.random_state = random_state
        self.max_sampling_rounds = max_sampling_rounds
        self.max_sampling_seconds = max_sampling_seconds
        self.range_multiple = range_multiple

    def _check_own_params(self) -> None:
        self._check_common()
        if not isinstance(self.pac, int) or self.pac < 1 or self.batch_size % self.pac or self.batch_size % 2:
            raise ConfigError(
                f"generator 'ctgan': batch_size ({self.batch_size}) must be even and a multiple of "
                f"pac ({self.pac})"
            )

    def _model(self):
        from ctgan import CTGAN

        return CTGAN(
            embedding_dim=self.embedding_dim,
            generator_dim=tuple(self.generator_dim),
            discriminator_dim=tuple(self.discriminator_dim),
            generator_lr=self.generator_lr,
            generator_decay=self.generator_decay,
            discriminator_lr=self.discriminator_lr,
            discriminator_decay=self.discriminator_decay,
            batch_size=self.batch_size,
            discriminator_steps=self.discriminator_steps,
            log_frequency=self.log_frequency,
            epochs=self.epochs,
            pac=self.pac,
            enable_gpu=self.device_ == "cuda",
        )

    def _log_losses(self, model: Any) -> None:
        losses = model.loss_values
        gen = losses["Generator Loss"].astype(float).tolist()
        dis = losses["Discriminator Loss"].astype(float).tolist()
        for epoch, (g, d) in enumerate(zip(gen, dis, strict=True), start=1):
            logger.info(
                "ctgan: epoch %d/%d generator loss %.4f discriminator loss %.4f", epoch, self.epochs, g, d
            )
        self.fit_info_ = {"generator_loss": gen, "discriminator_loss": dis}


@GENERATORS.register("tvae")
class TVAEGenerator(_CtganFamily):
    """Tabular variational autoencoder (Xu et al. 2019), package ``ctgan``; its defaults."""

    name = "tvae"

    def __init__(
        self,
        epochs: int = 300,
        batch_size: int = 500,
        embedding_dim: int = 128,
        compress_dims: Sequence[int] = (128, 128),
        decompress_dims: Sequence[int] = (128, 128),
        l2scale: float = 1e-5,
        loss_factor: float = 2,
        device: str = "auto",
        threads: int = 1,
        random_state: int = 0,
        max_sampling_rounds: int = 10,
        max_sampling_seconds: float | None = None,
        range_multiple: float | None = 10.0,
    ):
        self.epochs = epochs
        self.batch_size = batch_size
        self.embedding_dim = embedding_dim
        self.compress_dims = compress_dims
        self.decompress_dims = decompress_dims
        self.l2scale = l2scale
        self.loss_factor = loss_factor
        self.device = device
        self.threads = threads
        self.random_state = random_state
        self.max_sampling_rounds = max_sampling_rounds
        self.max_sampling_seconds = max_sampling_seconds
        self.range_multiple = range_multiple

    def _check_own_params(self) -> None:
        self._check_common()

    def _model(self):
        from ctgan import TVAE

        return TVAE(
            embedding_dim=self.embedding_dim,
            compress_dims=tuple(self.compress_dims),
            decompress_dims=tuple(self.decompress_dims),
            l2scale=self.l2scale,
            batch_size=self.batch_size,
            epochs=self.epochs,
            loss_factor=self.loss_factor,
            enable_gpu=self.device_ == "cuda",
        )

    def _log_losses(self, model: Any) -> None:
        per_epoch = model.loss_values.astype({"Loss": float}).groupby("Epoch")["Loss"].mean()
        for epoch, loss in per_epoch.items():
            logger.info("tvae: epoch %d/%d mean loss %.4f", int(epoch) + 1, self.epochs, loss)
        self.fit_info_ = {"loss": per_epoch.tolist()}


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
        threads: int = 1,
        random_state: int = 0,
        max_sampling_rounds: int = 10,
        max_sampling_seconds: float | None = None,
        range_multiple: float | None = 10.0,
    ):
        self.default_distribution = default_distribution
        self.enforce_min_max_values = enforce_min_max_values
        self.threads = threads
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
