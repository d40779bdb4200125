"""The contract every tabular generator follows.

scikit-learn style: the constructor only stores hyperparameters, ``fit(table, roles)`` learns
the whole real table (covariates W, treatment A, outcome Y) and returns ``self``, and
``sample(n, seed)`` returns exactly ``n`` rows with the training columns and their types
(binary columns int 0/1, categorical columns strings among the training levels, continuous
columns finite floats).

Template method: :meth:`Generator.fit` validates the table and then calls ``_fit``;
:meth:`Generator.sample` calls ``_sample`` in bounded rounds, casts and validates every value,
drops and counts invalid rows (:attr:`Generator.sample_report_`), and raises
:class:`~causalsynth.core.errors.ComponentFailure` rather than return a short table.
"""

from __future__ import annotations

import abc
import logging
import math
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, ClassVar

import pandas as pd
from sklearn.base import BaseEstimator

from causalsynth.core.errors import ComponentFailure, ConfigError
from causalsynth.core.roles import Roles
from causalsynth.core.seeds import derive_seed
from causalsynth.core.threads import check_n_jobs, limit_threads
from causalsynth.generate.checks import TableSpec, validate_rows

logger = logging.getLogger("causalsynth.generate")

# A round asks for the missing rows divided by the valid fraction seen so far, times this
# margin, and never more than _MAX_OVERSAMPLE times the missing rows: a generator that
# produces almost nothing valid fails after max_sampling_rounds instead of asking for millions.
_MARGIN = 1.1
_MAX_OVERSAMPLE = 10


class SamplingBudget:
    """Time left for one :meth:`Generator.sample` call; generators check it between batches."""

    def __init__(self, max_seconds: float | None, fail: Callable[[str], ComponentFailure]):
        self._deadline = None if max_seconds is None else time.monotonic() + max_seconds
        self._max_seconds = max_seconds
        self._fail = fail

    def check(self) -> None:
        """Raise :class:`ComponentFailure` once ``max_sampling_seconds`` have passed."""
        if self._deadline is not None and time.monotonic() > self._deadline:
            raise self._fail(f"the time limit max_sampling_seconds={self._max_seconds} was reached")


class Generator(BaseEstimator, abc.ABC):
    """Base class of the registered generators.

    Subclasses define ``name`` (the registry id), ``packages`` (distributions whose versions
    are recorded next to results), an ``__init__`` that stores its arguments -- at least
    ``n_jobs`` and ``random_state``; ``max_sampling_rounds``, ``max_sampling_seconds`` and
    ``range_multiple`` default to 10, None and 10.0 where it does not take them -- and
    ``_fit`` / ``_sample``. A class outside the package (``type: "package.module:Class"``, or
    an entry point of the group ``causalsynth.generators``) follows the same contract.

    Fitted attributes: ``roles_``, ``spec_`` (:class:`TableSpec`), ``dataset_``, ``device_``,
    ``fit_seconds_``, ``fit_info_`` (generator-specific diagnostics: losses, epoch times).
    After each ``sample``: ``sample_report_`` with ``n_requested, n_generated, n_valid,
    n_invalid, invalid_reasons, rounds, sample_seconds``, and ``sampling_stats_``, a Counter that
    ``sample`` empties and a generator's ``_sample`` may add to over its rounds (GReaT's token
    counts; empty for the others).
    """

    name: ClassVar[str]
    packages: ClassVar[tuple[str, ...]] = ()
    min_rows: ClassVar[int] = 2
    # What the workflow asks the registry (never the generator's name): a job's memory and time
    # on its first attempt (Snakemake multiplies both by the attempt), whether the generator
    # fine-tunes the language model that the rule prepare_llm converts, and its GPUs.
    mem_mb: ClassVar[int] = 3000
    runtime_minutes: ClassVar[int] = 60
    uses_llm: ClassVar[bool] = False
    # The differential-privacy epsilon a fit spent; None for a generator trained without DP.
    epsilon_: float | None = None
    # The configured instance id (``ctgan_paper`` of type ``ctgan``), set by make_generator;
    # messages name it so a user of two instances of one generator knows which one failed.
    instance_: str | None = None
    # The replicate the job makes (1, 2, ...; None outside the workflow), set by make_generator:
    # the file generator reads the replicate's own file.
    replicate_: int | None = None

    @classmethod
    def gpus(cls, params: dict[str, Any]) -> int:
        """GPUs one generate job of these params needs (0: CPU only)."""
        return 0

    @classmethod
    def input_files(cls, params: dict[str, Any], dataset: str, rep: int) -> list[str]:
        """Files a generate job of these params reads besides the training table (the
        workflow makes them inputs of the job, so editing one reruns it); none by default."""
        return []

    @classmethod
    def check_installed(cls) -> None:
        """Raise ConfigError saying what to pip install when a library the generator needs is
        absent. The config check calls it, so a run stops before its first job; a generator of
        an optional library overrides it (generate/forests.py). Nothing is needed by default."""

    def extra_meta(self) -> dict[str, Any]:
        """Keys a fitted generator adds to its meta.json (the file generator: its file); none by default."""
        return {}

    @property
    def _who(self) -> str:
        return self.instance_ or getattr(self, "name", type(self).__name__)

    n_jobs: int
    random_state: int
    # defaults for a generator whose constructor does not take these (a plug-in may not)
    max_sampling_rounds: int = 10
    max_sampling_seconds: float | None = None
    range_multiple: float | None = 10.0

    # ----------------------------------------------------------------- public contract
    def fit(self, table: pd.DataFrame, roles: Roles, *, dataset: str = "table") -> Generator:
        """Learn the whole table ``roles.columns``; ``dataset`` names it in error messages."""
        self._check_params()
        source = f"dataset '{dataset}', generator '{self._who}'"
        data = roles.validate(table, source, min_rows=self.min_rows, both_arms=True, varying=True)
        self._check_table(data, roles, source)
        self.roles_ = roles
        self.dataset_ = dataset
        self.spec_ = TableSpec.from_table(data, roles)
        self.device_ = self._resolve_device()
        self.fit_info_: dict[str, Any] = {}
        self.sampling_stats_: Counter[str] = Counter()
        logger.info(
            "%s: fitting on dataset '%s' (%d rows, %d columns, device %s, %d thread(s))",
            self._who,
            dataset,
            len(data),
            data.shape[1],
            self.device_,
            self.n_jobs,
        )
        start = time.perf_counter()
        with limit_threads(self.n_jobs, torch_and_joblib=True):
            self._fit(data, roles)
        self.fit_seconds_ = time.perf_counter() - start
        logger.info("%s: fitted in %.1f s", self._who, self.fit_seconds_)
        return self

    def sample(self, n: int, seed: int) -> pd.DataFrame:
        """Exactly ``n`` valid rows of the training schema, reproducible for a fixed ``seed``."""
        self.sampling_stats_ = Counter()
        if not hasattr(self, "spec_"):
            raise ComponentFailure(f"generator '{self._who}': call fit before sample")
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ConfigError(f"generator '{self._who}': n must be a positive integer, got {n!r}")
        start = time.perf_counter()
        parts: list[pd.DataFrame] = []
        reasons: Counter[str] = Counter()
        counts = {"generated": 0, "valid": 0, "rounds": 0}

        def report() -> dict[str, Any]:
            return {
                "n_requested": n,
                "n_generated": counts["generated"],
                "n_valid": counts["valid"],
                "n_invalid": counts["generated"] - counts["valid"],
                "invalid_reasons": dict(sorted(reasons.items())),
                "rounds": counts["rounds"],
                "sample_seconds": time.perf_counter() - start,
            }

        def failure(why: str) -> ComponentFailure:
            r = report()
            exc = ComponentFailure(
                f"generator '{self._who}' on dataset '{self.dataset_}': {why} with only "
                f"{r['n_valid']} valid of {n} requested rows ({r['n_generated']} generated in "
                f"{r['rounds']} round(s); invalid rows by reason: {r['invalid_reasons'] or 'none'}). "
                "Fix: train longer (more epochs), or raise max_sampling_rounds / max_sampling_seconds"
            )
            exc.report = r  # type: ignore[attr-defined]
            self.sample_report_ = r
            return exc

        budget = SamplingBudget(self.max_sampling_seconds, failure)
        with limit_threads(self.n_jobs, torch_and_joblib=True):
            for round_ in range(self.max_sampling_rounds):
                missing = n - counts["valid"]
                if missing <= 0:
                    break
                budget.check()
                request = self._round_size(missing, counts["valid"], counts["generated"])
                round_seed = derive_seed(seed, "round", rep=round_)
                raw = self._sample(request, round_seed, budget)
                clean, bad = validate_rows(raw, self.spec_, self.range_multiple)
                counts["rounds"] += 1
                counts["generated"] += len(raw)
                counts["valid"] += len(clean)
                reasons.update(bad)
                parts.append(clean)
                logger.info(
                    "%s: sampling round %d: %d generated, %d valid (%d of %d so far)",
                    self._who,
                    round_ + 1,
                    len(raw),
                    len(clean),
                    counts["valid"],
                    n,
                )
        if counts["valid"] < n:
            raise failure(f"sampling stopped after max_sampling_rounds={self.max_sampling_rounds}")
        self.sample_report_ = report()
        if self.sample_report_["n_invalid"]:
            logger.info(
                "%s: dropped %d invalid of %d generated rows: %s",
                self._who,
                self.sample_report_["n_invalid"],
                self.sample_report_["n_generated"],
                self.sample_report_["invalid_reasons"],
            )
        return pd.concat(parts, ignore_index=True).head(n)

    # --------------------------------------------------------------- subclass hooks
    @abc.abstractmethod
    def _fit(self, data: pd.DataFrame, roles: Roles) -> None:
        """Learn ``data`` (validated, canonical dtypes, columns ``roles.columns``)."""

    @abc.abstractmethod
    def _sample(self, n: int, seed: int, budget: SamplingBudget) -> pd.DataFrame:
        """About ``n`` raw rows (numbers or text; ``None`` where a value is absent).

        Rows may be invalid: :meth:`sample` validates and counts them. Long-running
        generators call ``budget.check()`` between batches.
        """

    def _check_table(self, data: pd.DataFrame, roles: Roles, source: str) -> None:
        """Generator-specific limits on a valid table; raise DataError."""

    def _resolve_device(self) -> str:
        return "cpu"

    def _check_own_params(self) -> None:
        """Generator-specific hyperparameter checks; raise ConfigError."""

    # ------------------------------------------------------------------ internals
    def _check_params(self) -> None:
        who = f"generator '{self._who}'"
        check_n_jobs(self.n_jobs, who)
        if isinstance(self.random_state, bool) or not isinstance(self.random_state, int):
            raise ConfigError(f"{who}: random_state must be an integer, got {self.random_state!r}")
        if not isinstance(self.max_sampling_rounds, int) or self.max_sampling_rounds < 1:
            raise ConfigError(
                f"{who}: max_sampling_rounds must be a positive integer, got {self.max_sampling_rounds!r}"
            )
        if self.max_sampling_seconds is not None and not self.max_sampling_seconds > 0:
            raise ConfigError(
                f"{who}: max_sampling_seconds must be positive or null, got {self.max_sampling_seconds!r}"
            )
        if self.range_multiple is not None and not self.range_multiple >= 0:
            raise ConfigError(f"{who}: range_multiple must be >= 0 or null, got {self.range_multiple!r}")
        self._check_own_params()

    @staticmethod
    def _round_size(missing: int, n_valid: int, n_generated: int) -> int:
        if n_generated == 0:
            return missing
        # Laplace-smoothed valid fraction: a round with no valid row does not divide by zero
        rate = (n_valid + 1) / (n_generated + 2)
        return min(math.ceil(missing / rate * _MARGIN), _MAX_OVERSAMPLE * missing)
