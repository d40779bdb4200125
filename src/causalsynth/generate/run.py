"""Entry function of the workflow rule ``generate``."""

from __future__ import annotations

import inspect
import logging
import os
from typing import Any

import pandas as pd

from causalsynth.core.errors import ConfigError
from causalsynth.core.io import read_json, read_parquet, write_json, write_parquet
from causalsynth.core.provenance import CORE_PACKAGES, provenance_record
from causalsynth.core.roles import MIN_ARM_UNITS, Roles
from causalsynth.core.seeds import derive_seed
from causalsynth.generate.base import Generator
from causalsynth.generate.registry import GENERATORS

logger = logging.getLogger("causalsynth.generate")

# Set by the workflow for every job, never by a user's generator params.
_RUN_PARAMS = ("threads", "random_state")


def make_generator(
    generator: str, params: dict[str, Any] | None = None, *, instance: str | None = None, **run_params: Any
) -> Generator:
    """An unfitted generator from its registry id and hyperparameters.

    ``instance`` is the configured id when it differs from the registry id (``ctgan_paper``
    of type ``ctgan``); messages name it. Unknown ids fail with the list of valid ones, unknown
    hyperparameters with the list of the generator's.
    """
    cls = GENERATORS.get(generator)
    params = dict(params or {})
    valid = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    unknown = sorted(set(params) - set(valid))
    if unknown:
        who = f"'{generator}'" if instance in (None, generator) else f"'{instance}' (type '{generator}')"
        raise ConfigError(
            f"generator {who} has no parameter(s) {', '.join(unknown)}; valid: {', '.join(valid)}"
        )
    model = cls(**params, **run_params)
    if instance is not None and instance != generator:
        model.instance_ = instance
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
    threads: int,
    out_data: str | os.PathLike,
    out_meta: str | os.PathLike,
    dataset: str,
    generator_type: str | None = None,
) -> None:
    """Fit ``generator`` once on the training table and write ``n_rows`` synthetic rows.

    ``generator`` is the configured id, ``generator_type`` the registered generator it runs
    (default: the id itself). ``seed`` is the job's seed; the fit and the sample each get a
    seed derived from it. Writes ``out_data`` (parquet, the training columns in role order with
    canonical dtypes) and ``out_meta`` (JSON: generator, type, dataset, params -- every
    hyperparameter, defaults included --, seed, fit_seed, sample_seed, threads, device,
    versions, fit_seconds, sample_seconds, n_requested, n_generated, n_valid, n_invalid,
    invalid_reasons, sampling_rounds, fit_info -- losses per epoch, batch and steps --,
    epsilon -- the differential-privacy epsilon spent, null without DP -- and degenerate --
    why an arm is too small to estimate on, null when both arms are fine -- and sampling_info
    -- token counts of generators that sample text).
    """
    kind = generator_type or generator
    params = dict(params or {})
    clash = sorted(set(params) & set(_RUN_PARAMS))
    if clash:
        raise ConfigError(
            f"generator '{generator}': {', '.join(clash)} is set by the workflow (threads from the "
            "rule, random_state from the job's seed); remove it from the generator's params"
        )
    fit_seed = derive_seed(seed, "fit")
    sample_seed = derive_seed(seed, "sample")
    model = make_generator(kind, params, instance=generator, threads=threads, random_state=fit_seed)
    card = read_json(card_path)
    roles = Roles.from_dict(card)
    table = read_parquet(train_path)
    logger.info("generate: dataset '%s', generator '%s', %d rows requested", dataset, generator, n_rows)
    model.fit(table, roles, dataset=dataset)
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
        "threads": threads,
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
    }
    write_parquet(synthetic, out_data)
    write_json(meta, out_meta)
