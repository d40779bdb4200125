"""Rule evaluate_synthetic: evaluation A and TSTR of every released set of one dataset, in one job.

Why one job per dataset and not per set: a set's estimate grid and TSTR take about 1 s on the
default config's 1,000-row sets, while a fresh process spends about 3.5 s importing
scikit-learn, DoubleML and the package, so one job per (dataset, generator) still spent more
than half of the default run's evaluation time starting up (67 jobs, 384 core-seconds); and
the train-on-real ceiling of a replicate's split is the same for every generator, so one job
per dataset fits it once instead of once per generator. Each set keeps its own seeds, so its
rows are those a job of its own would write. On a cluster the job's learners take its threads
(the SLURM profile's set-threads).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from causalsynth.core.cells import SetCell, set_cells
from causalsynth.core.errors import ConfigError
from causalsynth.core.progress import Progress
from causalsynth.core.splits import SplitPaths, for_rep
from causalsynth.core.vocabulary import TSTR
from causalsynth.estimate.grid import write_rows
from causalsynth.estimate.real import write_ate_rows
from causalsynth.evaluate.ate import ate_preservation_rows
from causalsynth.evaluate.tstr import real_ceiling, tstr_row


def run_synthetic_evaluation(
    cells: Sequence[SetCell | Mapping[str, Any]],
    tstr_real_seed: int,
    real_estimates_path: SplitPaths,
    train_path: SplitPaths,
    holdout_path: SplitPaths,
    card_path: SplitPaths,
    estimation: dict[str, Any],
    tstr: dict[str, Any],
    dataset: str,
    out_estimates: str,
    out_tstr: str,
    n_jobs: int = 1,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Evaluation A (:func:`~causalsynth.evaluate.ate.ate_preservation_rows`) and TSTR
    (:func:`~causalsynth.evaluate.tstr.tstr_row`) of each released table.

    ``cells``: one :class:`~causalsynth.core.cells.SetCell` per set, whose ``seed`` seeds the
    estimate grid and ``tstr_seed`` the TSTR judge. ``real_estimates_path``, ``train_path``,
    ``holdout_path`` and ``card_path`` are each replicate's own draw of the real data
    ({rep: path}, see :mod:`causalsynth.core.splits`; one path: a split every replicate shares).
    ``tstr_real_seed`` seeds the train-on-real ceiling of each split, fitted once per split.
    Writes the rows of all sets to ``out_estimates`` (``vocabulary.ATE``) and ``out_tstr``
    (``vocabulary.TSTR``).
    """
    cells = set_cells(cells, "run_synthetic_evaluation")
    missing = [c.data for c in cells if c.tstr_seed is None]
    if missing:
        raise ConfigError(f"run_synthetic_evaluation: the cells of {missing} have no tstr_seed")
    progress = Progress(f"evaluate {dataset}", len(cells))
    ate: list[dict[str, Any]] = []
    tstr_rows: list[dict[str, Any]] = []
    # one fit per split, not one per set: the sets that share a split share its ceiling
    ceilings: dict[tuple[str, str], Any] = {}
    for cell in cells:
        rep = cell.rep
        train, holdout, card = (for_rep(p, rep) for p in (train_path, holdout_path, card_path))
        if (train, holdout) not in ceilings:
            ceilings[train, holdout] = real_ceiling(train, holdout, card, tstr, tstr_real_seed, n_jobs)
        ate += ate_preservation_rows(
            cell.data, None, card, estimation, cell.seed, n_jobs, dataset, cell.generator, rep,
            meta_path=cell.meta, real_estimates_path=for_rep(real_estimates_path, rep),
        )  # fmt: skip
        row = tstr_row(
            cell.data, train, holdout, card, tstr, cell.tstr_seed, dataset, cell.generator, rep,
            n_jobs=n_jobs, ceiling=ceilings[train, holdout],
        )  # fmt: skip
        tstr_rows.append(row)
        progress.step()
    return write_ate_rows(ate, out_estimates), write_rows(tstr_rows, list(TSTR.columns), out_tstr)
