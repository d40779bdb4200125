"""The estimator grid of one table: every configured estimator with every learner.

:func:`estimate_grid` fits the nuisances once per (table, learner) and hands them to every
estimator that uses them; :func:`run_grid` runs it for each learner of the stage's params.
The params every estimating stage accepts mirror the ``estimation`` config block, with the
schema's defaults; rows are written with :func:`write_rows`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from causalsynth.core.errors import ConfigError
from causalsynth.core.io import read_parquet, write_parquet, write_table
from causalsynth.core.learners import LEARNERS
from causalsynth.core.roles import Roles
from causalsynth.core.schema import resolve_params, section_defaults
from causalsynth.core.seeds import derive_seed
from causalsynth.core.vocabulary import GRID_COLUMNS
from causalsynth.estimate.base import EstimateResult, influence_warning, resolve_options
from causalsynth.estimate.estimators import ESTIMATORS, make_estimator
from causalsynth.estimate.nuisance import (
    NO_FIT_QUALITY,
    NuisanceFailure,
    NuisanceFitter,
    Nuisances,
    arm_problem,
    treatment_folds,
)
from causalsynth.estimate.weights import no_diagnostics


def grid_defaults() -> dict[str, Any]:
    """Keys of the grid params and their defaults (the schema's ``estimation`` block).

    ``learner`` and ``learners`` are alternatives; ``truncation`` is the weight cap of
    iptw_truncated and of evaluation B's truncated method (estimator option ``truncation_cap``);
    ``propensity_bound`` is the bound of g of every estimator and ``influence_share`` the
    influence diagnostic's threshold (estimator options of the same names; None: the schema's
    defaults); ``reference_learner`` is the learner of the real-data reference rows
    (:func:`causalsynth.estimate.real.run_real_estimates`), read by that stage only: None, the
    default of a call, gives none; the workflow passes the config's (schema default
    ``super_learner``);
    ``options`` passes further estimator options (``OPTIONS`` in estimators.py).
    """
    defaults = section_defaults("estimation")
    return {
        "learner": None,
        "learners": None,
        "folds": defaults["folds"],
        "cross_fit": defaults["cross_fit"],
        "truncation": None,
        "propensity_bound": None,
        "influence_share": None,
        "reference_learner": None,
        "options": None,
    }


def check_params(params: dict[str, Any], defaults: dict[str, Any], required: Iterable[str], where: str):
    """Params with defaults filled in (`core.schema.resolve_params`), then the grid's own names
    checked: unknown estimators and learners fail, listing the valid ones."""
    out = resolve_params(params, defaults, where, required)
    if "estimators" in out:
        if isinstance(out["estimators"], str) or not out["estimators"]:
            raise ConfigError(f"{where}: 'estimators' must be a non-empty list of names")
        for name in out["estimators"]:
            ESTIMATORS.get(name)  # unknown names fail here, listing the valid ones
    if "options" in out:
        out["learners"], out["options"] = grid_settings(out, where)
    if out.get("reference_learner") is not None:
        LEARNERS.get(out["reference_learner"])  # an unknown name fails here, listing the valid ones
    return out


def grid_settings(p: dict[str, Any], where: str) -> tuple[list[str], dict[str, Any]]:
    if p.get("learner") is not None and p.get("learners") is not None:
        raise ConfigError(f"{where}: give 'learner' or 'learners', not both")
    learners = p.get("learners") or (
        [p["learner"]] if p.get("learner") else section_defaults("estimation")["learners"]
    )
    if isinstance(learners, str):
        raise ConfigError(f"{where}: 'learners' must be a list of names, got {learners!r}")
    for name in learners:
        LEARNERS.get(name)
    options = dict(p.get("options") or {})
    if p.get("truncation") is not None:
        if options.get("truncation_cap", p["truncation"]) != p["truncation"]:
            raise ConfigError(f"{where}: 'truncation' and options.truncation_cap disagree")
        options["truncation_cap"] = p["truncation"]
    for key in ("propensity_bound", "influence_share"):
        if p.get(key) is not None:
            if options.get(key, p[key]) != p[key]:
                raise ConfigError(f"{where}: '{key}' and options.{key} disagree")
            options[key] = p[key]
    return list(learners), resolve_options(options)


def run_grid(
    df: pd.DataFrame,
    roles: Roles,
    p: dict[str, Any],
    seed: int,
    n_jobs: int,
    estimators: list[str] | None = None,
) -> list[dict[str, Any]]:
    """The estimate grid for every learner of the params (same seed, so the same folds)."""
    rows = []
    for learner in p["learners"]:
        rows += estimate_grid(
            df,
            roles,
            list(estimators if estimators is not None else p["estimators"]),
            learner=learner,
            folds=p["folds"],
            cross_fit=p["cross_fit"],
            seed=seed,
            n_jobs=n_jobs,
            options=p["options"],
        )
    return rows


def write_rows(
    rows: list[dict[str, Any]], columns: list[str], path: str | Path, dtypes: dict[str, str] | None = None
) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns)
    if dtypes:
        frame = frame.astype(dtypes)
    if str(path).endswith(".csv"):
        write_table(frame, path)
    else:
        write_parquet(frame, path)
    return frame


def read_rows(path: str | Path) -> pd.DataFrame:
    return pd.read_csv(path) if str(path).endswith(".csv") else read_parquet(path)


def as_float(value: Any) -> float:
    return math.nan if value is None else float(value)


def covered(low: float, high: float, truth: float):
    if any(math.isnan(v) for v in (low, high, truth)):
        return pd.NA
    return bool(low <= truth <= high)


@dataclass(frozen=True)
class SharedNuisances:
    """Nuisances fitted once for a (table, learner), or the status of why they could not be."""

    nuisances: Nuisances | None
    status: str
    seconds: float
    learner: str


def fit_shared_nuisances(
    df: pd.DataFrame,
    roles: Roles,
    learner: str,
    folds: int = 5,
    cross_fit: bool = True,
    seed: int = 0,
    n_jobs: int = 1,
) -> SharedNuisances:
    """Fit g and h once for the table; a failure is returned as a status, not raised."""
    start = time.perf_counter()
    try:
        fitter = NuisanceFitter(learner, folds, cross_fit, seed, n_jobs).fit(df, roles)
    except NuisanceFailure as exc:
        return SharedNuisances(None, str(exc), time.perf_counter() - start, learner)
    return SharedNuisances(fitter.nuisances_, "ok", time.perf_counter() - start, learner)


def estimate_grid(
    df: pd.DataFrame,
    roles: Roles,
    estimators: list[str],
    learner: str = "random_forest",
    folds: int = 5,
    cross_fit: bool = True,
    seed: int = 0,
    n_jobs: int = 1,
    options: dict[str, Any] | None = None,
    shared: SharedNuisances | None = None,
) -> list[dict[str, Any]]:
    """Run ``estimators`` on one table with one learner.

    Nuisances are fitted once (or taken from ``shared``, fitted on the same table) and used by
    every estimator; ``dml`` runs DoubleML on the same folds
    (``treatment_folds(a, folds, derive_seed(seed, "folds"))``), on the shared nuisances when
    they are cross-fitted and on its own fits of ``learner`` when they are not. A cell that cannot be estimated
    gets NaNs and its reason in ``status``; unknown estimator names or options raise.

    Returns one dict per estimator with the keys ``vocabulary.GRID_COLUMNS``: ``estimator,
    learner, ate, se, ci_low, ci_high, status``, the overlap diagnostics of the weights the
    estimator used (``share_clipped, ess_treated, ess_control, max_weight``; see
    :mod:`causalsynth.estimate.weights`; substitution's are those of its standard error, dml's
    those of DoubleML's own propensities), ``max_influence_share`` and the nuisances'
    ``outcome_r2_oof`` and ``propensity_auc_oof`` (:mod:`causalsynth.estimate.estimators`),
    ``warning`` (the weights' and the influence diagnostic's reasons, ``; ``-joined; empty when
    none), all NaN and an empty warning where no nuisances exist, and ``seconds``, the wall time
    to produce that estimate from the table: for the shared-nuisance estimators it includes the
    nuisance fit, so rows are not additive.
    """
    resolved = resolve_options(options)
    instances = {name: make_estimator(name, resolved) for name in estimators}
    df = roles.validate(df, "table")
    a = df[roles.treatment].to_numpy(dtype=np.int64)
    # cross-fitted nuisances are dml's too (the same learner on the same folds), so every
    # estimator of a cross-fitted grid uses them
    needs_nuisances = cross_fit or any(est.uses_nuisances for est in instances.values())
    if shared is None and instances and needs_nuisances:
        shared = fit_shared_nuisances(df, roles, learner, folds, cross_fit, seed, n_jobs)
    if shared is not None:
        if shared.learner != learner:
            raise ValueError(f"shared nuisances were fitted with '{shared.learner}', not '{learner}'")
        if shared.nuisances is not None and shared.nuisances.n != len(df):
            raise ValueError(f"shared nuisances have {shared.nuisances.n} rows, the table {len(df)}")
    rows = []
    for name, est in instances.items():
        start = time.perf_counter()
        if est.uses_nuisances:
            if shared.nuisances is None:
                result = EstimateResult.failed(shared.status)
            else:
                result = est.estimate(shared.nuisances)
            seconds = shared.seconds + time.perf_counter() - start
        else:
            n_folds = max(folds, 2)
            problem = arm_problem(a, n_folds, True)
            if problem is not None:
                result = EstimateResult.failed(problem)
            elif cross_fit and shared.nuisances is None:
                result = EstimateResult.failed(shared.status)
            else:
                splits = treatment_folds(a, n_folds, derive_seed(seed, "folds"))
                reused = shared.nuisances if cross_fit else None
                result = est.estimate_table(df, roles, learner, splits, seed, n_jobs, nuisances=reused)
            # like the other estimators' rows, a reused fit is part of the time to the estimate
            seconds = (shared.seconds if cross_fit else 0.0) + time.perf_counter() - start
        if result.diagnostics is not None:
            diagnostics = result.diagnostics
        elif shared is not None and shared.nuisances is not None:
            diagnostics = est.diagnostics(shared.nuisances)
        else:
            diagnostics = {**no_diagnostics(), **NO_FIT_QUALITY}
        share = result.influence_share
        warning = "; ".join(
            w for w in (diagnostics["warning"], influence_warning(share, resolved["influence_share"])) if w
        )
        row = {
            "estimator": name,
            "learner": learner,
            **result.to_dict(),
            **diagnostics,
            "max_influence_share": share,
            "warning": warning,
            "seconds": seconds,
        }
        rows.append({k: row[k] for k in GRID_COLUMNS})
    return rows
