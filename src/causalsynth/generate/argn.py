"""TabularARGN (Tiwald et al. 2025), package ``mostlyai-engine``: an autoregressive network over
the columns of a table, trained with early stopping on a validation split.

The engine works on a workspace directory (split, analyze, encode, train, then generate into
it); each fitted generator owns a temporary one, removed when the generator is garbage
collected. Seeds go through the engine's ``set_random_state`` (Python, numpy and torch, and
the ``MOSTLYAI_ENGINE_SEED`` its data-loader workers read) inside an isolated global state, so
a fixed seed gives the same fit and the same sample on a CPU.

``epsilon`` trains with differential privacy (DP-SGD through Opacus): training stops before
the spent epsilon passes it, the value ranges are then found with the engine's private
analysis, and the epsilon spent is kept in ``epsilon_`` (meta.json's ``epsilon``).
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import pandas as pd

from causalsynth.core.errors import ConfigError, DataError
from causalsynth.core.progress import Progress
from causalsynth.core.roles import Roles
from causalsynth.core.seeds import derive_seed
from causalsynth.generate.base import Generator, SamplingBudget
from causalsynth.generate.registry import GENERATORS
from causalsynth.generate.runtime import foreach_adam, isolated_global_rng, resolve_device

logger = logging.getLogger(__name__)

_ENCODING = {
    "binary": "TABULAR_CATEGORICAL",
    "categorical": "TABULAR_CATEGORICAL",
    "continuous": "TABULAR_NUMERIC_AUTO",
}
_MODELS = ("MOSTLY_AI/Small", "MOSTLY_AI/Medium", "MOSTLY_AI/Large")
# mostlyai-engine 2.7's bin count for TABULAR_NUMERIC_BINNED, a module constant with no argument
_BINS_MODULE = "mostlyai.engine._encoding_types.tabular.numeric"
_BINS_CONSTANT = "NUMERIC_BINNED_MAX_BINS"
_SEED_VARIABLE = "MOSTLYAI_ENGINE_SEED"
_WITHIN_BIN = ("empirical", "uniform")


@contextmanager
def _numeric_bins(bins: int | None) -> Iterator[None]:
    """The engine's analysis with at most ``bins`` quantile bins per continuous column.

    The engine has no argument for it; the constant is patched for the call only and its
    absence (another engine version) is an error rather than a silently ignored setting.
    """
    if bins is None:
        yield
        return
    import importlib

    module = importlib.import_module(_BINS_MODULE)
    if not hasattr(module, _BINS_CONSTANT):
        raise ConfigError(
            f"generator 'tabularargn': numeric_bins needs {_BINS_MODULE}.{_BINS_CONSTANT}, which this "
            "mostlyai-engine version lacks. Fix: install mostlyai-engine==2.7.3 or set numeric_bins: null"
        )
    with mock.patch.object(module, _BINS_CONSTANT, int(bins)):
        yield


@contextmanager
def _engine_state(seed: int) -> Iterator[None]:
    """The engine's seeds for one call; the global generators, its variable and the float mode
    restored after.

    The engine's training turns on flush-to-zero for subnormal floats
    (``torch.set_flush_denormal(True)``) and leaves it on for the whole process; later numpy
    and scipy code then computes differently, and scipy's k-d tree build crashes the process
    (a segfault, seen in the test suite). causalsynth never wants it, so it is switched off
    after every engine call.
    """
    import torch
    from mostlyai.engine import set_random_state

    before = os.environ.get(_SEED_VARIABLE)
    with isolated_global_rng(seed):
        set_random_state(seed)
        try:
            yield
        finally:
            torch.set_flush_denormal(False)
            if before is None:
                os.environ.pop(_SEED_VARIABLE, None)
            else:
                os.environ[_SEED_VARIABLE] = before


class _EpochLog:
    """The engine's progress callback: a Progress line and the losses at each epoch's end."""

    def __init__(self, who: str):
        self.who = who
        self.progress: Progress | None = None

    def __call__(self, total=None, completed=None, advance=None, message=None, **_: Any) -> None:
        if total is not None and total > 1 and completed is not None:
            if self.progress is None or self.progress.total != total:
                self.progress = Progress(f"{self.who}: training", total)
                self.progress.done = 0
            if completed > self.progress.done:
                self.progress.step(completed - self.progress.done)
        if message and message.get("val_loss") is not None:
            eps = message.get("dp_eps")
            logger.info(
                "%s: epoch %.0f train loss %.4f validation loss %.4f%s%s",
                self.who,
                message["epoch"],
                message["trn_loss"],
                message["val_loss"],
                " (best so far)" if message.get("is_checkpoint") else "",
                "" if eps is None else f", epsilon {eps:.3f}",
            )
        return None


def bin_members(values: np.ndarray, edges: np.ndarray) -> list[np.ndarray]:
    """The sorted values inside each bin of ``edges``, as the engine bins them.

    The engine codes a value as bin ``i`` when ``edges[i] <= value < edges[i + 1]``, and the
    minimum and the maximum (the outer edges) as tokens of their own, decoded to the exact
    edge; those two values are therefore members of no bin.
    """
    x = values[np.isfinite(values)]
    x = x[(x > edges[0]) & (x < edges[-1])]
    which = np.searchsorted(edges, x, side="right") - 1
    return [np.sort(x[which == i]) for i in range(edges.size - 1)]


def draw_within_bins(
    values: np.ndarray, edges: np.ndarray, members: list[np.ndarray], rng: np.random.Generator
) -> np.ndarray:
    """Each value redrawn inside its own bin from that bin's ``members``.

    The draw is the members' empirical distribution, linearly interpolated between order
    statistics (``np.quantile`` at a uniform level), so a value is a copy of a member only where
    the bin holds one distinct value. The outer edges (the engine's minimum and maximum
    tokens), missing values and values in a bin without members are kept.
    """
    out = values.copy()
    inside = np.isfinite(values) & (values > edges[0]) & (values < edges[-1])
    which = np.searchsorted(edges, values, side="right") - 1
    for i, member in enumerate(members):
        rows = inside & (which == i)
        if member.size and rows.any():
            out[rows] = np.quantile(member, rng.uniform(size=int(rows.sum())))
    return out


@GENERATORS.register("tabularargn")
class TabularARGNGenerator(Generator):
    """TabularARGN from ``mostlyai-engine`` (Apache-2.0) behind the generator contract.

    ``model`` is the engine's size (``MOSTLY_AI/Small``, ``/Medium``, ``/Large``); training
    runs for at most ``max_epochs`` epochs and ``max_training_minutes``, stopping early when the
    validation loss stops improving. ``value_protection`` (the engine's guard against rare
    categories and extreme values; on whenever ``epsilon`` is set) is off by default: the
    benchmark compares generators on fidelity, and protected values would be clipped.

    ``numeric_bins`` (10): continuous columns are encoded as that many quantile bins, a value
    drawn within its bin (``within_bin``). The engine's own choice (``null``: digits, or 100 bins) gives
    each bin or digit an embedding learned as an unordered category, which a table of a few
    hundred to a few thousand rows cannot teach: on ``sim_continuous`` (1,000 rows) the synthetic
    outcome then had correlation 0.005 with the treatment against 0.555 in the real rows and
    train-on-synthetic R^2 -0.17 against 0.79 on real rows; 0.47 and 0.68 with 10 bins and the
    table's order (uniform draws inside bins, the former gradient-boosting judge:
    ``benchmarks/generator_settings.py``, config/README.md).
    ``flexible_generation`` (off): the engine's random column orders in training, which allow
    generating from any subset of columns; causalsynth always generates whole rows, and the
    table's fixed order (covariates, treatment, outcome: the causal order) learns the outcome
    given everything before it.
    ``within_bin``: how a value is drawn inside the bin the network chose. The engine draws it
    uniformly between the bin's edges, which misplaces the mass of skewed columns: the top bin
    of an earnings column spans the top tenth of the rows up to the maximum, so uniform draws
    raise the outcome's mean (lalonde_nsw: 6,749 and 6,631 for seeds 1 and 2 against 5,448 in
    the training rows; 5,446 and 5,109 with ``empirical``) and
    train-on-synthetic R^2 falls below what the learned dependence gives. ``empirical``
    draws from the training rows' own values in that bin instead (their empirical distribution,
    linearly interpolated between order statistics, so no value is copied unless a bin holds a
    single one); ``uniform`` keeps the engine's draw. The default (``null``) is ``empirical``,
    or ``uniform`` under ``epsilon``/``value_protection``, whose guarantees cover only what the
    engine's analysis released; ``empirical`` together with either is a ConfigError.
    """

    name = "tabularargn"
    packages = ("mostlyai-engine", "torch", "opacus")
    runtime_minutes = 30

    def __init__(
        self,
        model: str = "MOSTLY_AI/Small",
        max_epochs: float = 100.0,
        max_training_minutes: float = 10.0,
        batch_size: int | None = None,
        value_protection: bool = False,
        epsilon: float | None = None,
        delta: float = 1e-5,
        noise_multiplier: float = 1.5,
        max_grad_norm: float = 1.0,
        sampling_temperature: float = 1.0,
        device: str = "auto",
        n_jobs: int = 1,
        random_state: int = 0,
        max_sampling_rounds: int = 10,
        max_sampling_seconds: float | None = None,
        range_multiple: float | None = 10.0,
        numeric_bins: int | None = 10,
        flexible_generation: bool = False,
        within_bin: str | None = None,
    ):
        self.model = model
        self.max_epochs = max_epochs
        self.max_training_minutes = max_training_minutes
        self.batch_size = batch_size
        self.value_protection = value_protection
        self.epsilon = epsilon
        self.delta = delta
        self.noise_multiplier = noise_multiplier
        self.max_grad_norm = max_grad_norm
        self.sampling_temperature = sampling_temperature
        self.device = device
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.max_sampling_rounds = max_sampling_rounds
        self.max_sampling_seconds = max_sampling_seconds
        self.range_multiple = range_multiple
        self.numeric_bins = numeric_bins
        self.flexible_generation = flexible_generation
        self.within_bin = within_bin

    def _check_own_params(self) -> None:
        who = f"generator '{self._who}'"
        if self.model not in _MODELS:
            raise ConfigError(f"{who}: model must be one of {', '.join(_MODELS)}, got {self.model!r}")
        for key in ("max_epochs", "max_training_minutes", "sampling_temperature"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ConfigError(f"{who}: {key} must be a positive number, got {value!r}")
        if self.batch_size is not None and (
            isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 1
        ):
            raise ConfigError(
                f"{who}: batch_size must be a positive integer or null, got {self.batch_size!r}"
            )
        if self.numeric_bins is not None and (
            isinstance(self.numeric_bins, bool)
            or not isinstance(self.numeric_bins, int)
            or self.numeric_bins < 2
        ):
            raise ConfigError(
                f"{who}: numeric_bins must be an integer >= 2, or null for the engine's own encoding, "
                f"got {self.numeric_bins!r}"
            )
        if not isinstance(self.flexible_generation, bool):
            raise ConfigError(
                f"{who}: flexible_generation must be true or false, got {self.flexible_generation!r}"
            )
        if self.within_bin is not None and self.within_bin not in _WITHIN_BIN:
            raise ConfigError(
                f"{who}: within_bin must be one of {', '.join(_WITHIN_BIN)} or null, got {self.within_bin!r}"
            )
        if self.within_bin == "empirical" and (self.epsilon is not None or self.value_protection):
            raise ConfigError(
                f"{who}: within_bin 'empirical' draws from the training rows' values, outside what "
                "epsilon or value_protection protect. Fix: set within_bin: uniform (or null)"
            )
        if self.epsilon is not None and (isinstance(self.epsilon, bool) or not self.epsilon > 0):
            raise ConfigError(
                f"{who}: epsilon must be a positive number (the privacy budget) or null for no "
                f"differential privacy, got {self.epsilon!r}"
            )
        if not 0 < self.delta < 1:
            raise ConfigError(f"{who}: delta must be in (0, 1), got {self.delta!r}")

    def _resolve_device(self) -> str:
        return resolve_device(self.device, f"generator '{self._who}'")

    def _check_table(self, data: pd.DataFrame, roles: Roles, source: str) -> None:
        if len(data) < 10:
            raise DataError(
                source,
                None,
                "TabularARGN holds out a fifth of the rows for early stopping and needs at least "
                f"10 training rows, got {len(data)}",
                "use a larger dataset",
            )

    def _privacy(self) -> Any:
        if self.epsilon is None:
            return None
        from mostlyai.engine.domain import DifferentialPrivacyConfig

        return DifferentialPrivacyConfig(
            max_epsilon=float(self.epsilon),
            delta=float(self.delta),
            noise_multiplier=float(self.noise_multiplier),
            max_grad_norm=float(self.max_grad_norm),
        )

    def _fit(self, data: pd.DataFrame, roles: Roles) -> None:
        from mostlyai.engine import analyze, encode, split, train

        self._workspace = tempfile.TemporaryDirectory(prefix="tabularargn-")
        ws = Path(self._workspace.name)
        types = roles.column_types()
        privacy = self._privacy()
        with _engine_state(self.random_state):
            split(
                tgt_data=data,
                tgt_encoding_types={c: self._encoding(types[c]) for c in data.columns},
                model_type="TABULAR",
                workspace_dir=ws,
            )
            with _numeric_bins(self.numeric_bins):
                analyze(
                    value_protection=self.value_protection or privacy is not None,
                    differential_privacy=privacy,
                    workspace_dir=ws,
                )
            encode(workspace_dir=ws)
            with foreach_adam():
                train(
                    model=self.model,
                    max_training_time=float(self.max_training_minutes),
                    max_epochs=float(self.max_epochs),
                    batch_size=self.batch_size,
                    enable_flexible_generation=self.flexible_generation,
                    differential_privacy=privacy,
                    device=self.device_,
                    workspace_dir=ws,
                    update_progress=_EpochLog(self._who),
                )
        self.fit_info_ = self._training_history(ws)
        self.within_bin_ = self._resolved_within_bin()
        self.fit_info_["within_bin"] = self.within_bin_
        self.bin_values_ = self._bin_values(data, ws) if self.within_bin_ == "empirical" else {}
        if privacy is not None:
            spent = self.fit_info_.get("epsilon") or []
            self.epsilon_ = float(spent[-1]) if spent else None

    def _resolved_within_bin(self) -> str:
        if self.within_bin is not None:
            return self.within_bin
        return "uniform" if self.epsilon is not None or self.value_protection else "empirical"

    @staticmethod
    def _bin_values(data: pd.DataFrame, ws: Path) -> dict[str, tuple[np.ndarray, list[np.ndarray], int]]:
        """Per binned column: the engine's bin edges, :func:`bin_members` of the training
        values, and the engine's decimal exponent of the column."""
        from mostlyai.engine._workspace import Workspace

        values = {}
        for column, stats in Workspace(ws).tgt_stats.read()["columns"].items():
            edges = np.asarray(stats.get("bins") or [], dtype=float)
            if stats.get("encoding_type") == "TABULAR_NUMERIC_BINNED" and edges.size >= 2:
                members = bin_members(data[column].to_numpy(dtype=float, na_value=np.nan), edges)
                values[column] = (edges, members, int(stats.get("min_decimal", 0)))
        return values

    def _draw_within_bins(self, frame: pd.DataFrame, seed: int) -> pd.DataFrame:
        """:func:`draw_within_bins` on every binned column (``within_bin: empirical``)."""
        rng = np.random.default_rng(derive_seed(seed, "within_bin"))
        for column, (edges, members, min_decimal) in self.bin_values_.items():
            values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            out = draw_within_bins(values, edges, members, rng)
            if min_decimal >= 0:
                # the column's values are multiples of 10**min_decimal (whole years, whole dollars)
                out = np.round(out / 10.0**min_decimal) * 10.0**min_decimal
            frame[column] = pd.Series(out, index=frame.index).astype(frame[column].dtype)
        return frame

    def _encoding(self, kind: str) -> str:
        if kind == "continuous" and self.numeric_bins is not None:
            return "TABULAR_NUMERIC_BINNED"
        return _ENCODING[kind]

    @staticmethod
    def _training_history(ws: Path) -> dict[str, Any]:
        from mostlyai.engine._workspace import Workspace

        path = Workspace(ws).model_progress_messages_path
        if not path.exists():
            return {}
        history = pd.read_csv(path)
        history = history[history["val_loss"].notna()] if "val_loss" in history else history.iloc[:0]
        info: dict[str, Any] = {
            "epoch": history["epoch"].astype(float).tolist(),
            "steps": history["steps"].astype(int).tolist() if "steps" in history else [],
            "train_loss": history["trn_loss"].astype(float).tolist(),
            "validation_loss": history["val_loss"].astype(float).tolist(),
        }
        if "dp_eps" in history:
            info["epsilon"] = history["dp_eps"].astype(float).tolist()
        return info

    def _sample(self, n: int, seed: int, budget: SamplingBudget) -> pd.DataFrame:
        from mostlyai.engine import generate

        ws = Path(self._workspace.name)
        with _engine_state(seed):
            generate(
                sample_size=n,
                sampling_temperature=float(self.sampling_temperature),
                rare_category_replacement_method="SAMPLE",
                device=self.device_,
                workspace_dir=ws,
            )
        files = sorted((ws / "SyntheticData").glob("*.parquet"))
        frame = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
        return self._draw_within_bins(frame, seed)
