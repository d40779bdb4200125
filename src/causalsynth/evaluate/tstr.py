"""Rule evaluate_synthetic, train-on-synthetic-test-on-real: the usual utility score, for contrast."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import r2_score, roc_auc_score

from causalsynth.core.encoding import CovariateEncoder
from causalsynth.core.io import read_parquet
from causalsynth.core.learners import make_learner
from causalsynth.core.roles import Roles, read_card
from causalsynth.core.schema import default
from causalsynth.core.seeds import derive_seed
from causalsynth.estimate.grid import check_params


def outcome_score(
    train: pd.DataFrame, test: pd.DataFrame, roles: Roles, learner: str, seed: int, n_jobs: int
) -> tuple[float, str]:
    """Fit h(Y | W, A) on ``train``; AUC (binary Y) or R^2 (continuous) on ``test``."""
    binary = roles.outcome_type == "binary"
    y_train = train[roles.outcome].to_numpy()
    y_test = test[roles.outcome].to_numpy()
    if binary and np.unique(y_train).size < 2:
        return math.nan, f"the training outcome has a single class (Y={int(y_train[0])})"
    if binary and np.unique(y_test).size < 2:
        return math.nan, "the holdout outcome has a single class; AUC is undefined"
    if len(test) < 2:
        return math.nan, "the holdout has fewer than 2 rows"
    encoder = CovariateEncoder(roles).fit(train)
    x_train = np.column_stack([encoder.transform(train), train[roles.treatment].to_numpy(dtype=float)])
    x_test = np.column_stack([encoder.transform(test), test[roles.treatment].to_numpy(dtype=float)])
    model = make_learner(learner, "classification" if binary else "regression", seed, n_jobs)
    try:
        if binary:
            model.fit(x_train, y_train.astype(np.int64))
            proba = model.predict_proba(x_test)[:, list(model.classes_).index(1)]
            return float(roc_auc_score(y_test, proba)), "ok"
        model.fit(x_train, y_train.astype(float))
        return float(r2_score(y_test, model.predict(x_test))), "ok"
    except Exception as exc:  # a learner failure is the cell's status
        return math.nan, f"outcome learner '{learner}' failed: {type(exc).__name__}: {exc}"


def real_ceiling(
    train_path: str, holdout_path: str, card_path: str, params: dict[str, Any], seed: int, n_jobs: int = 1
) -> tuple[float, str]:
    """The train-on-real (score, status): the TSTR learner fitted on the real training table."""
    p = check_params(params, {"learner": default("tstr", "learner")}, [], "tstr_row")
    _, roles = read_card(card_path)
    train = roles.validate(read_parquet(train_path), str(train_path))
    holdout = roles.validate(read_parquet(holdout_path), str(holdout_path))
    return outcome_score(train, holdout, roles, p["learner"], seed, n_jobs)


def tstr_row(
    synthetic_path: str,
    train_path: str,
    holdout_path: str,
    card_path: str,
    params: dict[str, Any],
    seed: int,
    dataset: str,
    generator: str,
    rep: int,
    n_jobs: int = 1,
    real_seed: int | None = None,
    ceiling: tuple[float, str] | None = None,
) -> dict[str, Any]:
    """Train the outcome model on synthetic rows, score it on the real holdout.

    ``seed`` seeds the synthetic cell's model, ``real_seed`` (default: derived from ``seed``) the
    train-on-real model; give every cell of a dataset the same ``real_seed`` for one ceiling.
    ``ceiling``: that train-on-real (score, status), computed once by :func:`real_ceiling` for
    all cells that share it, instead of refitted here.

    ``params``: ``learner`` (default: the schema's ``tstr.learner``). ``metric`` is ``auc`` for a binary
    outcome and ``r2`` for a continuous one; ``train_on_real`` is the same model trained on the
    real training table (the ceiling). Columns: ``vocabulary.TSTR``.
    """
    p = check_params(params, {"learner": default("tstr", "learner")}, [], "tstr_row")
    _, roles = read_card(card_path)
    synthetic = roles.validate(read_parquet(synthetic_path), str(synthetic_path))
    holdout = roles.validate(read_parquet(holdout_path), str(holdout_path))
    if ceiling is None:
        real_seed = derive_seed(seed, "real") if real_seed is None else real_seed
        ceiling = real_ceiling(train_path, holdout_path, card_path, params, real_seed, n_jobs)
    scores = tstr_scores(synthetic, holdout, roles, p["learner"], seed, ceiling, n_jobs)
    return {"dataset": dataset, "generator": generator, "rep": rep, **scores}


def tstr_scores(
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame,
    roles: Roles,
    learner: str,
    seed: int,
    ceiling: tuple[float, str],
    n_jobs: int = 1,
) -> dict[str, Any]:
    """``metric``, ``value``, ``train_on_real`` and ``status`` of one synthetic set (validated
    role columns) scored on the real ``holdout``; ``ceiling``: the train-on-real (score, status)."""
    value, status = outcome_score(synthetic, holdout, roles, learner, seed, n_jobs)
    ceiling_value, real_status = ceiling
    if status == "ok" and real_status != "ok":
        status = f"train-on-real: {real_status}"
    return {
        "metric": "auc" if roles.outcome_type == "binary" else "r2",
        "value": value,
        "train_on_real": ceiling_value,
        "status": status,
    }
