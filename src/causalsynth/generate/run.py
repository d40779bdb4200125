"""Entry function of the workflow rule ``generate``."""

from __future__ import annotations

import contextlib
import inspect
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from causalsynth.core.cells import RepCell, rep_cells
from causalsynth.core.errors import CausalSynthError, ComponentFailure, ConfigError
from causalsynth.core.io import read_parquet, write_json, write_parquet
from causalsynth.core.layout import synthetic_files
from causalsynth.core.progress import Progress
from causalsynth.core.provenance import CORE_PACKAGES, provenance_record
from causalsynth.core.roles import MIN_ARM_UNITS, Roles, read_card
from causalsynth.core.seeds import derive_seed
from causalsynth.core.splits import SplitPaths, for_rep
from causalsynth.generate.base import Generator
from causalsynth.generate.plugins import RUN_PARAMS, is_plugin, resolve_generator

logger = logging.getLogger("causalsynth.generate")


def make_generator(
    generator: str,
    params: dict[str, Any] | None = None,
    *,
    instance: str | None = None,
    replicate: int | None = None,
    **run_params: Any,
) -> Generator:
    """An unfitted generator from its type and hyperparameters.

    ``generator`` is a registry id, an import path ``package.module:ClassName`` or an entry
    point of the group ``causalsynth.generators`` (:func:`~causalsynth.generate.plugins.resolve_generator`).
    ``instance`` is the configured id when it differs from the type (``ctgan_paper`` of type
    ``ctgan``); messages name it. ``replicate`` is the replicate the job makes. Unknown ids fail
    with the list of valid ones, unknown hyperparameters with the list of the generator's,
    missing required ones and a constructor that does not store its arguments with their names.
    """
    cls = resolve_generator(generator)
    params = dict(params or {})
    signature = inspect.signature(cls.__init__).parameters
    named = {
        p: v
        for p, v in signature.items()
        if p != "self" and v.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    }
    valid = list(named)
    who = f"'{generator}'" if instance in (None, generator) else f"'{instance}' (type '{generator}')"
    takes_any = any(v.kind is inspect.Parameter.VAR_KEYWORD for v in signature.values())
    unknown = sorted(set(params) - set(valid))
    if unknown and not takes_any:
        raise ConfigError(
            f"generator {who} has no parameter(s) {', '.join(unknown)}; valid: {', '.join(valid)}"
        )
    required = [p for p, v in named.items() if v.default is inspect.Parameter.empty]
    lacking = [p for p in required if p not in params and p not in run_params]
    if [p for p in lacking if p not in RUN_PARAMS]:
        raise ConfigError(
            f"generator {who} needs the parameter(s) {', '.join(p for p in lacking if p not in RUN_PARAMS)}; "
            "set them in its entry"
        )
    if lacking:
        raise ConfigError(
            f"generator {who}: the constructor of {cls.__name__} has no default for {', '.join(lacking)}; "
            "the config is checked without them (a job gets them from the workflow). Fix: give them "
            "defaults, n_jobs=1 and random_state=0"
        )
    try:
        model = cls(**params, **run_params)
    except Exception as exc:
        if not is_plugin(cls) or isinstance(exc, CausalSynthError):
            raise
        raise ConfigError(
            f"generator {who}: the constructor of {cls.__name__} raised {type(exc).__name__}: {exc}"
        ) from exc
    if is_plugin(cls):
        # sklearn's get_params (meta.json's params) reads every constructor argument back
        unstored = [p for p in valid if not hasattr(model, p)]
        if unstored:
            raise ConfigError(
                f"generator {who}: the constructor of {cls.__name__} does not store its argument(s) "
                f"{', '.join(unstored)}; the contract: store each as self.<name>, unchanged"
            )
    if instance is not None and instance != generator:
        model.instance_ = instance
    if replicate is not None:
        model.replicate_ = replicate
    return model


def degenerate_arms(synthetic: pd.DataFrame, real: pd.DataFrame, roles: Roles) -> str | None:
    """Why a synthetic table cannot be estimated on (an arm below MIN_ARM_UNITS), else None.

    Written into meta.json as ``degenerate`` so that an empty or tiny arm is named at the
    generator that produced it, not only as failed estimate cells downstream.
    """
    a = synthetic[roles.treatment].to_numpy()
    for arm in (1, 0):
        count = int((a == arm).sum())
        if count < MIN_ARM_UNITS:
            share = float((a == 1).mean()) if len(a) else float("nan")
            real_share = float((real[roles.treatment].to_numpy() == 1).mean())
            return (
                f"treatment share {share:.3f} vs {real_share:.3f} real: arm A={arm} has {count} unit(s), "
                f"below the estimators' minimum of {MIN_ARM_UNITS}"
            )
    return None


def run_generate(
    train_path: str | os.PathLike,
    card_path: str | os.PathLike,
    generator: str,
    params: dict[str, Any],
    n_rows: int,
    seed: int,
    n_jobs: int,
    out_data: str | os.PathLike,
    out_meta: str | os.PathLike,
    dataset: str,
    generator_type: str | None = None,
    rep: int | None = None,
) -> None:
    """Fit ``generator`` once on the training table and write ``n_rows`` synthetic rows.

    ``generator`` is the configured id, ``generator_type`` the registered generator it runs
    (default: the id itself). ``seed`` is the job's seed; the fit and the sample each get a
    seed derived from it. Writes ``out_data`` (parquet, the training columns in role order with
    canonical dtypes) and ``out_meta`` (JSON: generator, type, dataset, params -- every
    hyperparameter, defaults included --, seed, fit_seed, sample_seed, n_jobs, device,
    versions, fit_seconds, sample_seconds, n_requested, n_generated, n_valid, n_invalid,
    invalid_reasons, sampling_rounds, fit_info -- losses per epoch, batch and steps --,
    epsilon -- the differential-privacy epsilon spent, null without DP -- and degenerate --
    why an arm is too small to estimate on, null when both arms are fine -- and sampling_info
    -- token counts of generators that sample text), and the keys of the generator's
    ``extra_meta`` (the file generator: ``source``, the file's path and sha256).

    ``rep`` is the job's replicate (the file generator reads that replicate's file). A plug-in
    generator (a class from outside the package) that raises anything but a causalsynth error
    in ``fit`` or ``sample`` fails the job with a :class:`ComponentFailure` naming the generator,
    the dataset and its message; the traceback goes to the job's log.
    """
    kind = generator_type or generator
    params = dict(params or {})
    clash = sorted(set(params) & set(RUN_PARAMS))
    if clash:
        raise ConfigError(
            f"generator '{generator}': {', '.join(clash)} is set by the workflow (n_jobs from the "
            "rule, random_state from the job's seed); remove it from the generator's params"
        )
    fit_seed = derive_seed(seed, "fit")
    sample_seed = derive_seed(seed, "sample")
    model = make_generator(
        kind, params, instance=generator, replicate=rep, n_jobs=n_jobs, random_state=fit_seed
    )
    _, roles = read_card(card_path)
    table = read_parquet(train_path)
    logger.info("generate: dataset '%s', generator '%s', %d rows requested", dataset, generator, n_rows)
    with _plugin_failures(model, generator, kind, dataset, "fit"):
        model.fit(table, roles, dataset=dataset)
    with _plugin_failures(model, generator, kind, dataset, "sample"):
        synthetic = model.sample(n_rows, seed=sample_seed)
    report = model.sample_report_
    degenerate = degenerate_arms(synthetic, table, roles)
    if degenerate:
        logger.warning("generate: generator '%s' on dataset '%s': %s", generator, dataset, degenerate)
    meta = {
        "generator": generator,
        "type": kind,
        "dataset": dataset,
        "params": model.get_params(),
        "seed": seed,
        "fit_seed": fit_seed,
        "sample_seed": sample_seed,
        "n_jobs": n_jobs,
        "device": model.device_,
        **provenance_record((*CORE_PACKAGES, *model.packages)),
        "fit_seconds": model.fit_seconds_,
        "sample_seconds": report["sample_seconds"],
        "n_requested": report["n_requested"],
        "n_generated": report["n_generated"],
        "n_valid": report["n_valid"],
        "n_invalid": report["n_invalid"],
        "invalid_reasons": report["invalid_reasons"],
        "sampling_rounds": report["rounds"],
        "fit_info": model.fit_info_,
        "epsilon": model.epsilon_,
        "degenerate": degenerate,
        # token counts of generators that sample text (GReaT: sampled and forced tokens, steps)
        "sampling_info": dict(model.sampling_stats_),
        **model.extra_meta(),
    }
    write_parquet(synthetic, out_data)
    write_json(meta, out_meta)


def run_generate_reps(
    folder: str | os.PathLike,
    cells: Sequence[RepCell | Mapping[str, Any]],
    train_path: SplitPaths,
    card_path: SplitPaths,
    generator: str,
    params: dict[str, Any],
    n_rows: int,
    n_jobs: int,
    dataset: str,
    generator_type: str | None = None,
) -> None:
    """:func:`run_generate` for every replicate of one generator on one dataset, in one process.

    Why one job per (dataset, generator) and not per replicate: a fit of the default config's
    CTGAN, TVAE, TabularARGN or Gaussian copula takes seconds to tens of seconds, and a fresh
    process spends about 6 s importing torch, SDV and torch's compiler stack (the first
    optimizer imports ``torch._dynamo``) before it. ``cells``: one
    :class:`~causalsynth.core.cells.RepCell` per replicate, with its seed; each replicate reads
    its own draw (``train_path`` and ``card_path`` map a replicate to it,
    :mod:`causalsynth.core.splits`), fits a fresh generator with its own seed and writes
    :func:`synthetic_files` under ``folder``, so its files are those a job of its own would write.
    """
    cells = rep_cells(cells, f"run_generate_reps ({generator})", needs=("seed",))
    Path(folder).mkdir(parents=True, exist_ok=True)
    progress = Progress(f"generate {dataset}/{generator}", len(cells))
    for cell in cells:
        rep = cell.rep
        out_data, out_meta = synthetic_files(folder, rep)
        run_generate(
            for_rep(train_path, rep), for_rep(card_path, rep), generator, params, n_rows, cell.seed, n_jobs,
            out_data, out_meta, dataset, generator_type=generator_type, rep=rep,
        )  # fmt: skip
        progress.step()


@contextlib.contextmanager
def _plugin_failures(model: Generator, generator: str, kind: str, dataset: str, step: str) -> Iterator[None]:
    """A plug-in's own exception -> that generator's ComponentFailure (one line for the user)."""
    try:
        yield
    except CausalSynthError:
        raise
    except Exception as exc:
        if not is_plugin(type(model)):
            raise  # a bug of causalsynth's own generators keeps its traceback
        logger.error("generate: the plug-in generator '%s' raised in %s", generator, step, exc_info=True)
        raise ComponentFailure(
            f"generator '{generator}' (plug-in {kind}) failed in {step} on dataset '{dataset}': "
            f"{type(exc).__name__}: {exc}. Fix: the plug-in's code (its traceback is in this job's log)"
        ) from exc
