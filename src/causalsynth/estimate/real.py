"""Rule estimate_real: the estimator grid on the real training table of one replicate's draw.

Its rows are the ``generator = "real"`` rows of the ATE-preservation table; every synthetic
cell (evaluate.ate) reads them instead of refitting the real grid.

Beside the grid's learners it runs the estimators with ``estimation.reference_learner``
(default ``super_learner``, a cross-validated stack): the real-data reference estimate. The
grid's own learner on the real rows is what a synthetic cell is paired with (``real_ate``: same
estimator, learner and folds), but a single flexible learner's estimate on one real table can
wobble far more than its SE says (``gradient_boosting`` on nhefs: AIPW 0.02 to 7.29 over five
seeds); the stack's rows say what the real data give when no single learner's fit decides it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from causalsynth.core.io import read_parquet
from causalsynth.core.roles import Roles, card_truth, read_card
from causalsynth.core.vocabulary import ATE, DIAGNOSTIC_COLUMNS, REAL, is_hybrid
from causalsynth.estimate.grid import check_params, covered, grid_defaults, run_grid, write_rows

# Truth kinds (data.base.TRUTH_KINDS) that are the estimand's value, so an interval can cover
# them: a Monte Carlo truth's error is far below any estimate's. A "reference" is another
# study's estimate, itself uncertain; coverage of it would be read as coverage of the truth.
COVERABLE_TRUTH_KINDS = ("exact", "monte_carlo")

# The diagnostics of a grid row (overlap, influence, nuisance fit), carried into the ATE and
# positivity tables as they are


truth_of = card_truth  # the card's (ATE, kind); one reader, in core.roles


def ate_rows(
    grid_rows: list[dict[str, Any]],
    dataset: str,
    generator: str,
    rep: int,
    truth: float,
    truth_kind: str | None,
    real_ate: dict[tuple[str, str], float],
    engine_truth: float,
) -> list[dict[str, Any]]:
    """ATE-table rows of one grid.

    ``covered``: whether the interval covers ``truth``, NA unless ``truth_kind`` is one of
    :data:`COVERABLE_TRUTH_KINDS`. ``covered_engine``: for a hybrid ``generator``, whether it
    covers the pool's exact ``engine_truth``; NA otherwise.
    """
    coverable = truth_kind in COVERABLE_TRUTH_KINDS
    hybrid = is_hybrid(generator)
    rows = []
    for r in grid_rows:
        rows.append(
            {
                "dataset": dataset,
                "generator": generator,
                "rep": rep,
                **{k: r[k] for k in ("estimator", "learner", "ate", "se", "ci_low", "ci_high")},
                "truth": truth,
                "truth_kind": truth_kind,
                "bias": r["ate"] - truth,
                "covered": covered(r["ci_low"], r["ci_high"], truth) if coverable else pd.NA,
                "real_ate": real_ate.get((r["estimator"], r["learner"]), math.nan),
                "status": r["status"],
                "engine_truth": engine_truth,
                # the error a hybrid's pool makes before any estimator: its mechanisms and covariates
                "engine_truth_minus_truth": engine_truth - truth,
                "covered_engine": covered(r["ci_low"], r["ci_high"], engine_truth) if hybrid else pd.NA,
                **{k: r[k] for k in DIAGNOSTIC_COLUMNS},
                "seconds": r["seconds"],
            }
        )
    return rows


def write_ate_rows(rows: list[dict[str, Any]], out_path: str | Path) -> pd.DataFrame:
    # nullable: coverage is undefined where the dataset has no exact truth (or no pool truth)
    return write_rows(
        rows,
        list(ATE.columns),
        out_path,
        dtypes={"covered": "boolean", "covered_engine": "boolean", "warning": "string"},
    )


def real_estimate_rows(
    train: pd.DataFrame,
    roles: Roles,
    params: dict[str, Any],
    seed: int,
    n_jobs: int,
    dataset: str,
    rep: int = 0,
    truth: float = math.nan,
    truth_kind: str | None = None,
    source: str = "real training table",
) -> list[dict[str, Any]]:
    """The ATE-table rows (``generator = "real"``) of the grid on the real training table
    ``train``; ``source`` names it in messages. See :func:`run_real_estimates`."""
    p = check_params(params, grid_defaults(), ["estimators"], "run_real_estimates")
    reference = p["reference_learner"]
    if reference is not None and reference not in p["learners"]:
        p = {**p, "learners": [*p["learners"], reference]}
    grid_rows = run_grid(roles.validate(train, source), roles, p, seed, n_jobs)
    own = {(r["estimator"], r["learner"]): r["ate"] for r in grid_rows}
    return ate_rows(grid_rows, dataset, REAL, int(rep), truth, truth_kind, own, math.nan)


def run_real_estimates(
    train_path: str,
    card_path: str,
    params: dict[str, Any],
    seed: int,
    n_jobs: int,
    out_path: str,
    dataset: str,
    rep: int = 0,
) -> pd.DataFrame:
    """The estimate grid on the real training table: the ``generator = "real"`` rows of A.

    Run once per replicate's draw of the data (``rep``; 0: one split every replicate shares) and
    pass the output to :func:`~causalsynth.evaluate.ate.ate_preservation_rows` as
    ``real_estimates_path`` so no cell refits the real grid; ``real_ate`` is the row's own
    estimate. ``params`` as in :func:`~causalsynth.evaluate.ate.ate_preservation_rows`, plus
    ``reference_learner``: the learner of the reference rows, run after the grid's learners with
    the same seed (so the same folds) unless it is one of them; None: no reference rows.
    Columns: ``vocabulary.ATE``.
    """
    check_params(params, grid_defaults(), ["estimators"], "run_real_estimates")  # before the files
    card, roles = read_card(card_path)
    truth, truth_kind = truth_of(card)
    train = read_parquet(train_path)
    rows = real_estimate_rows(
        train, roles, params, seed, n_jobs, dataset, rep, truth, truth_kind, str(train_path)
    )
    return write_ate_rows(rows, out_path)
