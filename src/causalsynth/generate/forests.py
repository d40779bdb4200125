"""Tree-based generators that train on a CPU: adversarial random forests (package ``arfpy``) and
ForestDiffusion (flow matching with XGBoost, package ``ForestDiffusion``).

Both libraries are optional, in the extra ``cpu-generators``; ForestDiffusion itself goes in
with ``--no-deps`` (its metadata asks for the ``xgboost`` distribution, whose Linux wheel pulls
a CUDA library; ``xgboost-cpu`` provides the same module). A config that names either generator
without its packages stops when it is read, with one line saying what to install
(:meth:`check_installed`). Both draw from NumPy's global generator, so fits and samples run
inside :func:`~causalsynth.generate.runtime.isolated_global_rng` with the job's seeds.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any
from unittest import mock

import numpy as np
import pandas as pd

from causalsynth.core.errors import ConfigError, DataError
from causalsynth.core.roles import Roles
from causalsynth.generate.base import Generator, SamplingBudget
from causalsynth.generate.registry import GENERATORS
from causalsynth.generate.runtime import isolated_global_rng

logger = logging.getLogger(__name__)

# what to run when a library is missing (the pins are pyproject.toml's extra cpu-generators)
_INSTALL_ARF = "pip install -e '.[cpu-generators]' (or pip install arfpy==0.1.1)"
_INSTALL_FOREST_DIFFUSION = (
    "pip install -e '.[cpu-generators]' && pip install --no-deps forestdiffusion==1.0.6 "
    "(ForestDiffusion without its dependencies: its xgboost pulls a CUDA library; xgboost-cpu is the same module)"
)


def _missing(modules: tuple[str, ...]) -> list[str]:
    return [m for m in modules if importlib.util.find_spec(m) is None]


def _check_modules(who: str, modules: tuple[str, ...], fix: str) -> None:
    """A ConfigError naming the modules of ``modules`` that are not installed (found, not imported)."""
    missing = _missing(modules)
    if missing:
        raise ConfigError(
            f"generator '{who}' needs the package(s) {', '.join(missing)}, which are not installed. Fix: {fix}"
        )


def _import(module: str, who: str, fix: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"generator '{who}' needs the package '{(exc.name or module).split('.')[0]}', which is not "
            f"installed. Fix: {fix}"
        ) from None


def _check_int(who: str, key: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ConfigError(f"generator '{who}': {key} must be an integer >= {minimum}, got {value!r}")


def _check_number(
    who: str, key: str, value: Any, low: float, high: float | None = None, *, above: bool = False
) -> None:
    """``value`` in [low, high] (``above``: greater than ``low``), else a ConfigError naming ``key``."""
    number = not isinstance(value, bool) and isinstance(value, int | float)
    if not number or not (value > low if above else value >= low) or (high is not None and not value <= high):
        bound = f"{'>' if above else '>='} {low}" + ("" if high is None else f" and <= {high}")
        raise ConfigError(f"generator '{who}': {key} must be a number {bound}, got {value!r}")


# ------------------------------------------------------------------------------------ ARF
class _NumpyForArfpy:
    """numpy as arfpy 0.1.1 sees it: its pruning of small leaves calls ``np.in1d``, which numpy
    2.4 removed; ``np.isin(...).ravel()`` is numpy's documented replacement. Every other name is
    numpy's own. Patched into ``arfpy.arf`` for the fit only (:func:`_arfpy_compatible`)."""

    @staticmethod
    def in1d(ar1: Any, ar2: Any) -> np.ndarray:
        return np.isin(ar1, ar2).ravel()

    def __getattr__(self, name: str) -> Any:
        return getattr(np, name)


@contextmanager
def _arfpy_compatible(module: ModuleType) -> Iterator[None]:
    """arfpy 0.1.1 on numpy 2.4 and pandas 2.3: ``np.in1d`` restored for its module only, and
    pandas' deprecation notices about its positional Series indexing kept out of the job's log
    (they would print on every sample; pandas 2.3, pinned, still does what arfpy means)."""
    with mock.patch.object(module, "np", _NumpyForArfpy()), warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, module="arfpy")
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="arfpy")
        yield


@GENERATORS.register("arf")
class ARFGenerator(Generator):
    """Adversarial random forests (Watson, Blesch, Kapar and Wright, AISTATS 2023), ``arfpy``.

    A random forest learns to tell the real rows from rows drawn from the product of their
    marginals; rows redrawn within its leaves replace the synthetic ones until the forest's
    out-of-bag accuracy falls to 0.5 + ``delta`` (at most ``max_iters`` rounds, ``early_stop``
    when it stops falling). FORDE then fits, per leaf, a truncated normal to each continuous
    column and the level frequencies of each discrete one, and FORGE samples a leaf by its
    coverage and each column from the leaf's distributions. The hyperparameters and their
    defaults are arfpy's (``num_trees`` 30, ``delta`` 0, ``max_iters`` 10, ``early_stop`` true,
    ``min_node_size`` 5). Binary and categorical columns, treatment and binary outcome
    included, are given to arfpy as pandas categories (its discrete columns); continuous ones
    as floats. The forests draw from NumPy's global generator, seeded per fit and per sample.
    """

    name = "arf"
    packages = ("arfpy",)
    runtime_minutes = 30
    _modules = ("arfpy",)

    def __init__(
        self,
        num_trees: int = 30,
        delta: float = 0.0,
        max_iters: int = 10,
        early_stop: bool = True,
        min_node_size: int = 5,
        n_jobs: int = 1,
        random_state: int = 0,
        max_sampling_rounds: int = 10,
        max_sampling_seconds: float | None = None,
        range_multiple: float | None = 10.0,
    ):
        self.num_trees = num_trees
        self.delta = delta
        self.max_iters = max_iters
        self.early_stop = early_stop
        self.min_node_size = min_node_size
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.max_sampling_rounds = max_sampling_rounds
        self.max_sampling_seconds = max_sampling_seconds
        self.range_multiple = range_multiple

    @classmethod
    def check_installed(cls) -> None:
        _check_modules(cls.name, cls._modules, _INSTALL_ARF)

    def _check_own_params(self) -> None:
        who = self._who
        _check_int(who, "num_trees", self.num_trees, 1)
        _check_int(who, "max_iters", self.max_iters, 0)
        _check_int(who, "min_node_size", self.min_node_size, 1)
        _check_number(who, "delta", self.delta, 0.0, 0.5)
        if not isinstance(self.early_stop, bool):
            raise ConfigError(f"generator '{who}': early_stop must be true or false, got {self.early_stop!r}")

    def _fit(self, data: pd.DataFrame, roles: Roles) -> None:
        arf = _import("arfpy.arf", self._who, _INSTALL_ARF)
        frame = data.copy()
        for column, kind in roles.column_types().items():
            if kind != "continuous":
                frame[column] = frame[column].astype("category")
        with isolated_global_rng(self.random_state), _arfpy_compatible(arf):
            model = arf.arf(
                frame,
                num_trees=int(self.num_trees),
                delta=float(self.delta),
                max_iters=int(self.max_iters),
                early_stop=self.early_stop,
                verbose=False,
                min_node_size=int(self.min_node_size),
            )
            model.forde()
        self.model_ = model
        accuracy = [float(a) for a in model.acc]
        self.fit_info_ = {
            "discriminator_accuracy": accuracy,
            "adversarial_rounds": len(accuracy) - 1,
            "leaves": int(len(model.bnds[["tree", "nodeid"]].drop_duplicates())),
        }
        logger.info(
            "%s: discriminator out-of-bag accuracy %s over %d adversarial round(s), %d leaves",
            self._who,
            " -> ".join(f"{a:.3f}" for a in accuracy),
            len(accuracy) - 1,
            self.fit_info_["leaves"],
        )

    def _sample(self, n: int, seed: int, budget: SamplingBudget) -> pd.DataFrame:
        with isolated_global_rng(seed), _arfpy_compatible(importlib.import_module("arfpy.arf")):
            out = self.model_.forge(n)
        # discrete columns come back as pandas categories of the training values
        return pd.DataFrame({c: np.asarray(out[c], dtype=object) for c in out.columns})


# -------------------------------------------------------------------------- ForestDiffusion
_DIFFUSION_TYPES = ("flow", "vp")
# ForestDiffusion 1.0.6 finds a categorical column's dummies by the substring "<index>_" of
# their names, so the dummies of column 11 also match column 1: categorical columns go first,
# where their indices have one digit each, and at most 10 of them fit there.
_MAX_CATEGORICAL = 10


@GENERATORS.register("forest_diffusion")
class ForestDiffusionGenerator(Generator):
    """ForestDiffusion (Jolicoeur-Martineau, Fatras and Kachman, AISTATS 2024), ``ForestDiffusion``.

    Conditional flow matching (``diffusion_type: flow``; ``vp`` is the score-based diffusion of
    the paper) with gradient-boosted trees in place of a neural network: every one of ``n_t``
    noise levels gets an XGBoost model of the flow from noise to the data, min-max scaled, each
    row paired with ``duplicate_K`` noise draws; sampling integrates the flow from Gaussian noise.
    The hyperparameters and their defaults are the library's (``n_t`` 50, ``duplicate_K`` 100,
    ``max_depth`` 7, ``n_estimators`` 100, ``eta`` 0.3, ``reg_lambda`` 0, ``reg_alpha`` 0,
    ``subsample`` 1), trained through its data iterator (``n_batch`` 1) with ``n_jobs`` XGBoost
    threads. Binary columns, the treatment included, are rounded and clipped to 0/1 by the
    library; categorical columns are dummy-coded by it and decoded by argmax; continuous columns
    are clipped to their training range. At most 10 categorical columns (the library decodes
    more wrongly); every draw is seeded from the job's seeds.
    """

    name = "forest_diffusion"
    # xgboost is installed as xgboost-cpu (README); whichever is absent is recorded as null
    packages = ("ForestDiffusion", "xgboost-cpu", "xgboost", "catboost", "lightgbm")
    runtime_minutes = 60
    _modules = ("ForestDiffusion", "xgboost", "catboost", "lightgbm")

    def __init__(
        self,
        n_t: int = 50,
        duplicate_K: int = 100,  # the library's name, capital K included
        diffusion_type: str = "flow",
        max_depth: int = 7,
        n_estimators: int = 100,
        eta: float = 0.3,
        reg_lambda: float = 0.0,
        reg_alpha: float = 0.0,
        subsample: float = 1.0,
        n_jobs: int = 1,
        random_state: int = 0,
        max_sampling_rounds: int = 10,
        max_sampling_seconds: float | None = None,
        range_multiple: float | None = 10.0,
    ):
        self.n_t = n_t
        self.duplicate_K = duplicate_K
        self.diffusion_type = diffusion_type
        self.max_depth = max_depth
        self.n_estimators = n_estimators
        self.eta = eta
        self.reg_lambda = reg_lambda
        self.reg_alpha = reg_alpha
        self.subsample = subsample
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.max_sampling_rounds = max_sampling_rounds
        self.max_sampling_seconds = max_sampling_seconds
        self.range_multiple = range_multiple

    @classmethod
    def check_installed(cls) -> None:
        _check_modules(cls.name, cls._modules, _INSTALL_FOREST_DIFFUSION)

    def _check_own_params(self) -> None:
        who = self._who
        _check_int(who, "n_t", self.n_t, 2)
        _check_int(who, "duplicate_K", self.duplicate_K, 1)
        _check_int(who, "max_depth", self.max_depth, 1)
        _check_int(who, "n_estimators", self.n_estimators, 1)
        _check_number(who, "eta", self.eta, 0.0, above=True)
        _check_number(who, "reg_lambda", self.reg_lambda, 0.0)
        _check_number(who, "reg_alpha", self.reg_alpha, 0.0)
        _check_number(who, "subsample", self.subsample, 0.0, 1.0, above=True)
        if self.diffusion_type not in _DIFFUSION_TYPES:
            raise ConfigError(
                f"generator '{who}': diffusion_type must be one of {', '.join(_DIFFUSION_TYPES)}, "
                f"got {self.diffusion_type!r}"
            )

    def _check_table(self, data: pd.DataFrame, roles: Roles, source: str) -> None:
        categorical = [c for c, k in roles.column_types().items() if k == "categorical"]
        if len(categorical) > _MAX_CATEGORICAL:
            raise DataError(
                source,
                None,
                f"ForestDiffusion 1.0.6 decodes at most {_MAX_CATEGORICAL} categorical columns correctly "
                f"(it matches their dummies by name prefix), the table has {len(categorical)}",
                "declare some of them binary or continuous, or use another generator",
            )

    def _fit(self, data: pd.DataFrame, roles: Roles) -> None:
        library = _import("ForestDiffusion.diffusion_with_trees_class", self._who, _INSTALL_FOREST_DIFFUSION)
        types = roles.column_types()
        # categorical columns first (see _MAX_CATEGORICAL), then the table's order
        order = [c for c in roles.columns if types[c] == "categorical"]
        order += [c for c in roles.columns if types[c] != "categorical"]
        self.order_ = order
        self.levels_ = {c: sorted(data[c].unique()) for c in order if types[c] == "categorical"}
        columns = []
        for c in order:
            if c in self.levels_:
                codes = {level: i for i, level in enumerate(self.levels_[c])}
                columns.append(data[c].map(codes).to_numpy(dtype=float))
            else:
                columns.append(data[c].to_numpy(dtype=float))
        x = np.column_stack(columns)
        with isolated_global_rng(self.random_state):
            self.model_ = library.ForestDiffusionModel(
                x,
                n_t=int(self.n_t),
                duplicate_K=int(self.duplicate_K),
                diffusion_type=self.diffusion_type,
                model="xgboost",
                max_depth=int(self.max_depth),
                n_estimators=int(self.n_estimators),
                eta=float(self.eta),
                reg_lambda=float(self.reg_lambda),
                reg_alpha=float(self.reg_alpha),
                subsample=float(self.subsample),
                bin_indexes=[i for i, c in enumerate(order) if types[c] == "binary"],
                cat_indexes=[i for i, c in enumerate(order) if types[c] == "categorical"],
                int_indexes=[],
                # one model at a time, each with the job's threads (ForestDiffusion would start
                # a joblib worker per core otherwise)
                n_jobs=1,
                n_batch=1,
                seed=int(self.random_state),
                nthread=int(self.n_jobs),
            )
        self.fit_info_ = {
            "noise_levels": int(self.n_t),
            "rows_per_level": int(self.duplicate_K) * len(data),
            "outputs": int(self.model_.c),
        }
        logger.info(
            "%s: %d XGBoost models of %d outputs, each on %d noisy rows",
            self._who,
            self.n_t,
            self.model_.c,
            self.fit_info_["rows_per_level"],
        )

    def _sample(self, n: int, seed: int, budget: SamplingBudget) -> pd.DataFrame:
        with isolated_global_rng(seed):
            x = self.model_.generate(batch_size=n)
        out = {}
        for i, c in enumerate(self.order_):
            if c in self.levels_:
                # the argmax over the dummies, a code in 0..k-1 after the library's clipping
                levels = np.asarray(self.levels_[c], dtype=object)
                out[c] = levels[np.clip(np.rint(x[:, i]).astype(int), 0, len(levels) - 1)]
            else:
                out[c] = x[:, i]
        return pd.DataFrame(out)[list(self.roles_.columns)]
