"""CTGAN and TVAE (package ``ctgan``; the Gaussian copula is :mod:`causalsynth.generate.copula`).

CTGAN and TVAE are used from ``ctgan`` directly rather than through SDV's wrappers, so that
the discrete columns (binary and categorical, treatment and outcome included) are declared
to the model exactly as in the paper, and seeds go through ctgan's own ``set_random_state``.
The libraries are imported when a generator is fitted, so importing the registry stays cheap.
"""

from __future__ import annotations

import abc
import logging
import math
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from unittest import mock

import pandas as pd

from causalsynth.core.errors import ConfigError
from causalsynth.core.progress import Progress
from causalsynth.core.roles import Roles
from causalsynth.generate.base import Generator, SamplingBudget
from causalsynth.generate.registry import GENERATORS
from causalsynth.generate.runtime import isolated_global_rng, resolve_device
from causalsynth.generate.sizing import Schedule, schedule

logger = logging.getLogger(__name__)


def _discrete_columns(roles: Roles) -> list[str]:
    return [c for c, kind in roles.column_types().items() if kind in ("binary", "categorical")]


class _EpochLog:
    """Stands in for the ``tqdm`` that ctgan wraps its epoch loop in, to log each epoch as it ends.

    ctgan has no callback; its loop is ``for i in tqdm(range(epochs))`` and it appends the
    epoch's losses to ``model.loss_values`` before the next iteration, so this iterator sees
    every epoch's loss while training runs (a long fit shows progress and convergence).
    """

    def __init__(self, iterable: Iterable[int], model: Any, owner: _CtganFamily):
        self._iterable, self._model, self._owner = iterable, model, owner

    def __iter__(self) -> Iterator[int]:
        total = self._owner.schedule_.epochs
        progress = Progress(f"{self._owner._who}: epochs", total)
        every = max(1, total // 10)
        for epoch in self._iterable:
            yield epoch
            self._owner._after_epoch(self._model)
            if (epoch + 1) % every == 0 or epoch + 1 == total:
                logger.info(
                    "%s: epoch %d/%d %s",
                    self._owner._who,
                    epoch + 1,
                    total,
                    self._owner._last_loss(self._model),
                )
            progress.step()

    def set_description(self, *args: Any, **kwargs: Any) -> None:
        """ctgan calls this only when verbose; kept so a verbose model does not fail."""


class _CtganFamily(Generator):
    """Shared fit/sample plumbing of the two ``ctgan`` models; training sized by steps (sizing.py)."""

    packages = ("ctgan", "torch", "rdt")
    device: str
    batch_size: int | None
    max_batch_size: int
    epochs: int | None
    steps: int
    _module: str  # the ctgan module whose ``tqdm`` runs the epoch loop
    _drop_last: bool  # CTGAN: n // batch steps per epoch; TVAE's loader keeps the short batch

    def _resolve_device(self) -> str:
        return resolve_device(self.device, f"generator '{self.name}'")

    def _batch_multiple(self) -> int:
        return 1

    def _check_common(self) -> None:
        who = f"generator '{self._who}'"
        if self.epochs is not None and (not isinstance(self.epochs, int) or self.epochs < 1):
            raise ConfigError(f"{who}: epochs must be a positive integer or null, got {self.epochs!r}")
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 1:
            raise ConfigError(f"{who}: steps must be a positive integer, got {self.steps!r}")
        if self.batch_size is not None and (not isinstance(self.batch_size, int) or self.batch_size < 2):
            raise ConfigError(f"{who}: batch_size must be an integer >= 2 or null, got {self.batch_size!r}")
        if not isinstance(self.max_batch_size, int) or self.max_batch_size < 2:
            raise ConfigError(f"{who}: max_batch_size must be an integer >= 2, got {self.max_batch_size!r}")

    def _after_epoch(self, model: Any) -> None:
        """Called at the end of every training epoch (CTGAN averages its generator here)."""

    def _after_fit(self, model: Any) -> None:
        """Called once training has ended, before the model is kept."""

    @abc.abstractmethod
    def _model(self, plan: Schedule) -> Any:
        """An unfitted ctgan model with this generator's hyperparameters and ``plan``'s batch/epochs."""

    @contextmanager
    def _epoch_log(self, model: Any) -> Iterator[None]:
        import importlib

        module = importlib.import_module(self._module)
        # patched for this fit only: the generate job fits one model in its process
        with mock.patch.object(module, "tqdm", lambda iterable, **_: _EpochLog(iterable, model, self)):
            yield

    def _fit(self, data: pd.DataFrame, roles: Roles) -> None:
        self.schedule_ = schedule(
            len(data),
            batch_size=self.batch_size,
            max_batch_size=self.max_batch_size,
            epochs=self.epochs,
            steps=self.steps,
            multiple=self._batch_multiple(),
            drop_last=self._drop_last,
            who=f"generator '{self._who}'",
            dataset=self.dataset_,
        )
        plan = self.schedule_
        logger.info(
            "%s: batch %d, %d epoch(s) of %d step(s) = %d optimizer steps",
            self._who,
            plan.batch_size,
            plan.epochs,
            plan.steps_per_epoch,
            plan.steps,
        )
        model = self._model(plan)
        # ctgan seeds its own (numpy, torch) generator pair and restores the globals after
        # each call; the isolation also covers the data transformer, which draws from them
        model.set_random_state(self.random_state)
        with isolated_global_rng(self.random_state), self._epoch_log(model):
            model.fit(data, discrete_columns=_discrete_columns(roles))
        self._after_fit(model)
        self.model_ = model
        self.fit_info_ = {
            "batch_size": plan.batch_size,
            "epochs": plan.epochs,
            "steps_per_epoch": plan.steps_per_epoch,
            "steps": plan.steps,
            **self._losses(model),
        }

    def _sample(self, n: int, seed: int, budget: SamplingBudget) -> pd.DataFrame:
        self.model_.set_random_state(seed)
        with isolated_global_rng(seed):
            return self.model_.sample(n)

    @abc.abstractmethod
    def _losses(self, model: Any) -> dict[str, list[float]]:
        """The per-epoch losses of the fitted model, for ``fit_info_``."""

    @abc.abstractmethod
    def _last_loss(self, model: Any) -> str:
        """The latest epoch's losses as text, for the log while training runs."""


@GENERATORS.register("ctgan")
class CTGANGenerator(_CtganFamily):
    """Conditional tabular GAN (Xu et al. 2019), package ``ctgan``.

    Discrete columns are declared as in the paper; training is sized by optimizer steps
    (``steps``, with ``epochs: null``) on a batch that fits the data (generate/sizing.py);
    ``epochs: 50`` with the default batch reproduces the paper's CTGAN. A batch must be a
    multiple of ``pac`` and even. Other hyperparameters are ctgan's defaults.

    ``generator_average`` (null: ctgan's last iterate): keep an exponential moving average of
    the generator's weights, with this decay per optimizer step, and sample from it (Yazici et
    al., ICLR 2019). A GAN's last iterate circles the equilibrium; on a few hundred rows the
    synthetic outcome's mean moved by most of a standard deviation from one seed to the next
    (nhefs: -1.4 and 8.1 against 2.5 real) and train-on-synthetic R^2 with it. Updated once per
    epoch, weighted as ``steps_per_epoch`` steps; ctgan samples with its batch-norm layers in
    training mode, so only the weights are averaged.
    """

    name = "ctgan"
    _module = "ctgan.synthesizers.ctgan"
    _drop_last = True

    def __init__(
        self,
        epochs: int | None = None,
        steps: int = 1000,
        batch_size: int | None = None,
        max_batch_size: int = 200,
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
        generator_average: float | None = None,
        device: str = "auto",
        n_jobs: int = 1,
        random_state: int = 0,
        max_sampling_rounds: int = 10,
        max_sampling_seconds: float | None = None,
        range_multiple: float | None = 10.0,
    ):
        self.epochs = epochs
        self.steps = steps
        self.batch_size = batch_size
        self.max_batch_size = max_batch_size
        self.generator_average = generator_average
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
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.max_sampling_rounds = max_sampling_rounds
        self.max_sampling_seconds = max_sampling_seconds
        self.range_multiple = range_multiple

    def _check_own_params(self) -> None:
        self._check_common()
        if isinstance(self.pac, bool) or not isinstance(self.pac, int) or self.pac < 1:
            raise ConfigError(f"generator '{self._who}': pac must be a positive integer, got {self.pac!r}")
        average = self.generator_average
        if average is not None and (isinstance(average, bool) or not 0 < average < 1):
            raise ConfigError(
                f"generator '{self._who}': generator_average must be a decay in (0, 1), e.g. 0.995, "
                f"or null for the last iterate, got {average!r}"
            )

    def _batch_multiple(self) -> int:
        # the discriminator scores packs of pac rows; the conditional sampler halves a batch
        return math.lcm(self.pac, 2)

    def _after_epoch(self, model: Any) -> None:
        if self.generator_average is None:
            return
        import torch

        # one update per epoch, weighted as steps_per_epoch updates of the per-step decay
        decay = self.generator_average**self.schedule_.steps_per_epoch
        with torch.no_grad():
            for name, value in model._generator.named_parameters():
                if name not in self._average:
                    self._average[name] = value.detach().clone()
                else:
                    self._average[name].mul_(decay).add_(value.detach(), alpha=1 - decay)

    def _after_fit(self, model: Any) -> None:
        if self.generator_average is None:
            return
        import torch

        with torch.no_grad():
            for name, value in model._generator.named_parameters():
                value.copy_(self._average[name])
        self._average = {}

    def _model(self, plan: Schedule):
        from ctgan import CTGAN

        self._average: dict[str, Any] = {}  # the generator's running average, one per fit
        return CTGAN(
            embedding_dim=self.embedding_dim,
            generator_dim=tuple(self.generator_dim),
            discriminator_dim=tuple(self.discriminator_dim),
            generator_lr=self.generator_lr,
            generator_decay=self.generator_decay,
            discriminator_lr=self.discriminator_lr,
            discriminator_decay=self.discriminator_decay,
            batch_size=plan.batch_size,
            discriminator_steps=self.discriminator_steps,
            log_frequency=self.log_frequency,
            epochs=plan.epochs,
            pac=self.pac,
            enable_gpu=self.device_ == "cuda",
        )

    def _losses(self, model: Any) -> dict[str, list[float]]:
        losses = model.loss_values
        return {
            "generator_loss": losses["Generator Loss"].astype(float).tolist(),
            "discriminator_loss": losses["Discriminator Loss"].astype(float).tolist(),
        }

    def _last_loss(self, model: Any) -> str:
        last = model.loss_values.iloc[-1]
        return (
            f"generator loss {float(last['Generator Loss']):.4f} "
            f"discriminator loss {float(last['Discriminator Loss']):.4f}"
        )


_DISCRETE_SAMPLING = ("sample", "argmax")


def _tvae_draw(model: Any, n: int) -> pd.DataFrame:
    """``n`` rows from a fitted ctgan TVAE, each one-hot block drawn from the decoder's softmax.

    ctgan's own ``TVAE.sample`` decodes every one-hot block (a discrete column, or the mode of
    a continuous one) by argmax: a level the decoder never rates above all others is never
    sampled, so an 18% treatment arm can vanish from the synthetic table. Drawing from the
    softmax the model was trained to output (its loss is a cross-entropy on these logits) keeps
    minority levels at their learned frequency. Uses the global generators (seeded by the caller).
    """
    import torch

    decoder = model.decoder
    decoder.eval()
    with torch.no_grad():
        noise = torch.randn(n, model.embedding_dim).to(model._device)
        raw, sigmas = decoder(noise)
        out = torch.tanh(raw)
        start = 0
        for column_info in model.transformer.output_info_list:
            for span in column_info:
                end = start + span.dim
                if span.activation_fn == "softmax":
                    pick = torch.multinomial(torch.softmax(raw[:, start:end], dim=1), 1).squeeze(1)
                    out[:, start:end] = torch.nn.functional.one_hot(pick, span.dim).to(out.dtype)
                start = end
    return model.transformer.inverse_transform(out.cpu().numpy(), sigmas.detach().cpu().numpy())


@GENERATORS.register("tvae")
class TVAEGenerator(_CtganFamily):
    """Tabular variational autoencoder (Xu et al. 2019), package ``ctgan``; training sized by
    optimizer steps like CTGAN's (generate/sizing.py), its other hyperparameters ctgan's defaults.

    ``discrete_sampling``: ``sample`` draws each discrete value from the decoder's softmax
    (:func:`_tvae_draw`); ``argmax`` is ctgan's own sampler (the paper's), which can drop a
    minority treatment arm entirely.
    """

    name = "tvae"
    _module = "ctgan.synthesizers.tvae"
    _drop_last = False

    def __init__(
        self,
        epochs: int | None = None,
        steps: int = 1000,
        batch_size: int | None = None,
        max_batch_size: int = 200,
        embedding_dim: int = 128,
        compress_dims: Sequence[int] = (128, 128),
        decompress_dims: Sequence[int] = (128, 128),
        l2scale: float = 1e-5,
        loss_factor: float = 2,
        discrete_sampling: str = "sample",
        device: str = "auto",
        n_jobs: int = 1,
        random_state: int = 0,
        max_sampling_rounds: int = 10,
        max_sampling_seconds: float | None = None,
        range_multiple: float | None = 10.0,
    ):
        self.epochs = epochs
        self.steps = steps
        self.batch_size = batch_size
        self.max_batch_size = max_batch_size
        self.embedding_dim = embedding_dim
        self.compress_dims = compress_dims
        self.decompress_dims = decompress_dims
        self.l2scale = l2scale
        self.loss_factor = loss_factor
        self.discrete_sampling = discrete_sampling
        self.device = device
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.max_sampling_rounds = max_sampling_rounds
        self.max_sampling_seconds = max_sampling_seconds
        self.range_multiple = range_multiple

    def _check_own_params(self) -> None:
        self._check_common()
        if self.discrete_sampling not in _DISCRETE_SAMPLING:
            raise ConfigError(
                f"generator '{self._who}': discrete_sampling must be one of {', '.join(_DISCRETE_SAMPLING)}, "
                f"got {self.discrete_sampling!r}"
            )

    def _sample(self, n: int, seed: int, budget: SamplingBudget) -> pd.DataFrame:
        if self.discrete_sampling == "argmax":
            return super()._sample(n, seed, budget)
        with isolated_global_rng(seed):
            return _tvae_draw(self.model_, n)

    def _model(self, plan: Schedule):
        from ctgan import TVAE

        return TVAE(
            embedding_dim=self.embedding_dim,
            compress_dims=tuple(self.compress_dims),
            decompress_dims=tuple(self.decompress_dims),
            l2scale=self.l2scale,
            batch_size=plan.batch_size,
            epochs=plan.epochs,
            loss_factor=self.loss_factor,
            enable_gpu=self.device_ == "cuda",
        )

    def _losses(self, model: Any) -> dict[str, list[float]]:
        per_epoch = model.loss_values.astype({"Loss": float}).groupby("Epoch")["Loss"].mean()
        return {"loss": per_epoch.tolist()}

    def _last_loss(self, model: Any) -> str:
        values = model.loss_values
        last = values[values["Epoch"] == values["Epoch"].iloc[-1]]["Loss"].astype(float)
        return f"mean loss {last.mean():.4f}"
