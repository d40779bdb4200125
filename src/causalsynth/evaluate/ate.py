"""Rule evaluate_synthetic, evaluation A: does a synthetic table give the real effect?

The estimator grid on one synthetic table beside the same grid on the real data
(estimate.real), each row with the dataset's truth and, for hybrid pools, the pool's own
known effect.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from causalsynth.core.errors import ConfigError, DataError
from causalsynth.core.io import read_parquet
from causalsynth.core.roles import Roles, read_card
from causalsynth.core.seeds import derive_seed
from causalsynth.core.vocabulary import DIAGNOSTIC_COLUMNS, GRID_COLUMNS, REAL
from causalsynth.estimate.grid import check_params, grid_defaults, read_rows, run_grid
from causalsynth.estimate.real import ate_rows, truth_of
from causalsynth.hybrid.pool import read_engine_truth


def _load_real_rows(path: str | Path, estimators: list[str], learners: list[str]) -> list[dict[str, Any]]:
    real = read_rows(path)
    have = set(zip(real["estimator"], real["learner"], strict=True))
    missing = sorted((e, lrn) for e in estimators for lrn in learners if (e, lrn) not in have)
    if missing:
        raise DataError(
            str(path), "estimator", f"no real-data estimate for {missing}", "rerun the real-data estimates"
        )
    absent = [c for c in DIAGNOSTIC_COLUMNS if c not in real.columns]
    if absent:
        raise DataError(
            str(path), absent[0], "column is missing (written before the overlap diagnostics)",
            "rerun the real-data estimates",
        )  # fmt: skip
    keep = real[real["estimator"].isin(estimators) & real["learner"].isin(learners)]
    columns = list(GRID_COLUMNS)
    return keep[columns].to_dict("records")


def ate_preservation_rows(
    data_path: str,
    real_train_path: str | None,
    card_path: str,
    params: dict[str, Any],
    seed: int,
    n_jobs: int,
    dataset: str,
    generator: str,
    rep: int,
    meta_path: str | None = None,
    real_estimates_path: str | None = None,
) -> list[dict[str, Any]]:
    """Evaluation A: the estimate grid on a synthetic table beside the same grid on real data.

    ``params``: ``estimators`` (list), ``learner`` or ``learners``, ``folds``, ``cross_fit``,
    ``truncation`` (iptw_truncated's cap), ``propensity_bound`` (the bound of g), ``options`` (see
    :func:`causalsynth.estimate.estimators.estimate_grid`).

    The real-data rows (``generator = "real"``) come from ``real_estimates_path`` (the output of
    :func:`run_real_estimates`) when given, else the grid runs here on ``real_train_path`` with
    a seed derived from ``seed``. Either way they are repeated in every cell
    (deduplicate when gathering). ``truth`` is the dataset's truth from the card (does synthetic
    data recover the real effect?); ``engine_truth`` is the synthetic population's own known
    effect for hybrid pools, read from ``meta_path`` (default: ``meta.json`` beside
    ``data_path``; NaN when it has none). ``real_ate`` is the same estimator and learner on the
    real data. ``covered`` is NA unless the card's truth is exact or Monte Carlo (a reference
    value is another estimate); ``covered_engine`` is coverage of ``engine_truth`` on hybrid
    rows. The overlap diagnostics (``share_clipped`` ... ``warning``) come from the grid rows
    (:func:`causalsynth.estimate.grid.estimate_grid`). Columns: ``vocabulary.ATE``.
    """
    p = check_params(params, grid_defaults(), ["estimators"], "ate_preservation_rows")
    card, roles = read_card(card_path)
    truth, truth_kind = truth_of(card)
    synthetic = roles.validate(read_parquet(data_path), str(data_path))
    if real_estimates_path is not None:
        real_rows = _load_real_rows(real_estimates_path, p["estimators"], p["learners"])
    elif real_train_path is not None:
        real_seed = derive_seed(seed, REAL)
        real_rows = run_grid(
            roles.validate(read_parquet(real_train_path), str(real_train_path)), roles, p, real_seed, n_jobs
        )
    else:
        raise ConfigError("ate_preservation_rows: give real_train_path or real_estimates_path")
    engine_truth = read_engine_truth(meta_path, data_path, required=False)
    return preservation_rows(
        synthetic, real_rows, roles, p, seed, n_jobs, dataset, generator, rep, truth, truth_kind, engine_truth
    )


def preservation_rows(
    synthetic: pd.DataFrame,
    real_rows: list[dict[str, Any]],
    roles: Roles,
    p: dict[str, Any],
    seed: int,
    n_jobs: int,
    dataset: str,
    generator: str,
    rep: int,
    truth: float = math.nan,
    truth_kind: str | None = None,
    engine_truth: float = math.nan,
) -> list[dict[str, Any]]:
    """The grid on ``synthetic`` (validated role columns) beside ``real_rows``, the real table's
    grid rows (or its ATE rows) with the same estimators and learners: the real rows, then the
    synthetic ones, each with its ``real_ate``. ``p``: params checked by ``check_params``;
    ``engine_truth``: a hybrid pool's own effect (NaN for other sets)."""
    synth_rows = run_grid(synthetic, roles, p, seed, n_jobs)
    real_ate = {(r["estimator"], r["learner"]): r["ate"] for r in real_rows}
    rows = ate_rows(real_rows, dataset, REAL, rep, truth, truth_kind, real_ate, math.nan)
    rows += ate_rows(synth_rows, dataset, generator, rep, truth, truth_kind, real_ate, engine_truth)
    return rows
