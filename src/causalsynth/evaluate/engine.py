"""Rule engine, evaluation C: estimator performance on many samples from a source of known
truth, and whether an engine ranks the estimators as the true data-generating process does."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy.stats import spearmanr

from causalsynth.core.errors import ConfigError
from causalsynth.core.io import read_parquet
from causalsynth.core.roles import Roles, read_card
from causalsynth.core.seeds import derive_seed
from causalsynth.core.vocabulary import ENGINE, ENGINE_REPLICATE_COLUMNS, RANKING, TRUTH_ENGINE
from causalsynth.estimate.grid import check_params, grid_defaults, run_grid, write_rows
from causalsynth.hybrid.pool import read_engine_truth


def _get_dataset(name: str, options: dict[str, Any] | None = None):
    from causalsynth.data import get_dataset  # lazily: the truth engine alone needs it

    opts = dict(options or {})
    return get_dataset(name, opts.pop("loader", None), **opts)


def _engine_replicate(
    sample: pd.DataFrame, roles: Roles, n: int, replicate: int, p: dict[str, Any], seed: int
) -> list[dict[str, Any]]:
    return [{"n": n, "replicate": replicate, **r} for r in run_grid(sample, roles, p, seed, n_jobs=1)]


def summarize_replicates(replicates: pd.DataFrame, truth: float) -> pd.DataFrame:
    """Bias, variance, RMSE, coverage and mean CI width per (n, estimator, learner).

    Failed replicates (status other than ``ok``) are counted in ``n_failed`` (one of their
    reasons in ``failure_example``) and left out of every other statistic.
    """
    rows = []
    for (n, estimator, learner), group in replicates.groupby(["n", "estimator", "learner"], sort=False):
        ok = group[group["status"] == "ok"]
        ate = ok["ate"].to_numpy(dtype=float)
        failures = group.loc[group["status"] != "ok", "status"]
        some = len(ate) > 0
        rows.append(
            {
                "estimator": estimator,
                "learner": learner,
                "n": int(n),
                "reps": len(group),
                "truth": truth,
                "bias": float(ate.mean() - truth) if some else math.nan,
                "variance": float(ate.var(ddof=1)) if len(ate) > 1 else math.nan,
                "rmse": float(np.sqrt(np.mean((ate - truth) ** 2))) if some else math.nan,
                "coverage": float(np.mean((ok["ci_low"] <= truth) & (truth <= ok["ci_high"])))
                if some
                else math.nan,
                "ci_width": float(np.mean(ok["ci_high"] - ok["ci_low"])) if some else math.nan,
                "n_failed": int(len(failures)),
                "failure_example": str(failures.iloc[0]) if len(failures) else "",
            }
        )
    return pd.DataFrame(rows)


def run_engine(
    source: str | None,
    params: dict[str, Any],
    seed: int,
    n_jobs: int,
    out_path: str,
    dataset: str,
    engine: str,
    meta_path: str | None = None,
    card_path: str | None = None,
    dataset_options: dict[str, Any] | None = None,
    replicates_path: str | None = None,
) -> pd.DataFrame:
    """Evaluation C: estimator performance on many samples from a source of known truth.

    ``engine == "truth"``: fresh samples of the dataset's data-generating process
    (``get_dataset(dataset, **dataset_options).sample(n, seed)``, in the design the training data
    were drawn from, so the truth engine and the hybrid pools imitate the same process), truth its
    ``true_ate``; ``source`` is ignored. Otherwise ``source`` is a hybrid pool parquet, truth its
    ``engine_truth`` (from ``meta_path``, default ``meta.json`` beside the pool), and each
    replicate draws n rows without replacement (with replacement when n exceeds the pool).
    Roles come from ``card_path`` or, without it, from the dataset's loader.

    ``params``: ``n_grid`` (list of sample sizes; or ``n``, one size), ``reps`` (replicates per
    size), ``estimators``, and the grid params of :func:`run_ate_preservation`. Replicates run in
    parallel over ``n_jobs`` processes, each with its own seed derived from ``seed``, the engine,
    n and the replicate. Writes ``vocabulary.ENGINE`` to ``out_path`` and, when
    ``replicates_path`` is given, every replicate's estimate (:data:`ENGINE_REPLICATE_COLUMNS`).
    """
    p = check_params(
        params, {**grid_defaults(), "n_grid": None, "n": None}, ["reps", "estimators"], "run_engine"
    )
    if (p["n_grid"] is None) == (p["n"] is None):
        raise ConfigError("run_engine: give exactly one of 'n_grid' (a list of sizes) and 'n' (one size)")
    n_grid = [int(n) for n in (p["n_grid"] if p["n_grid"] is not None else [p["n"]])]
    reps = int(p["reps"])
    if not n_grid or min(n_grid) < 2 or reps < 1:
        raise ConfigError(f"run_engine: sizes must be >= 2 and reps >= 1, got n_grid={n_grid}, reps={reps}")
    if card_path is not None:
        roles = read_card(card_path)[1]
    else:
        roles = getattr(_get_dataset(dataset, dataset_options), "roles", None)
        if not isinstance(roles, Roles):
            raise ConfigError(
                f"run_engine: dataset '{dataset}' declares no roles before loading; pass card_path"
            )
    if engine == TRUTH_ENGINE:
        dgp = _get_dataset(dataset, dataset_options)
        truth = float(dgp.true_ate)

        def draw(n: int, draw_seed: int) -> pd.DataFrame:
            return dgp.sample(n, draw_seed)

    else:
        if source is None:
            raise ConfigError(f"run_engine: engine '{engine}' needs the pool parquet as source")
        pool = roles.validate(read_parquet(source), str(source))
        truth = read_engine_truth(meta_path, source, required=True)

        def draw(n: int, draw_seed: int) -> pd.DataFrame:
            rng = np.random.default_rng(draw_seed)
            idx = rng.choice(len(pool), size=n, replace=n > len(pool))
            return pool.iloc[idx].reset_index(drop=True)

    def tasks() -> Iterator:
        # samples are drawn here, lazily, so workers receive n rows and not the whole pool
        for n in n_grid:
            for r in range(reps):
                rep_seed = derive_seed(seed, "replicate", rep=f"n={n}:r={r}")
                sample = draw(n, derive_seed(rep_seed, "sample"))
                yield delayed(_engine_replicate)(sample, roles, n, r, p, rep_seed)

    per_replicate = Parallel(n_jobs=n_jobs)(tasks())
    replicates = pd.DataFrame([row for rows in per_replicate for row in rows])
    replicates.insert(0, "engine", engine)
    replicates.insert(0, "dataset", dataset)
    if replicates_path is not None:
        write_rows(replicates.to_dict("records"), ENGINE_REPLICATE_COLUMNS, replicates_path)
    summary = summarize_replicates(replicates, truth)
    summary.insert(0, "engine", engine)
    summary.insert(0, "dataset", dataset)
    return write_rows(summary.to_dict("records"), list(ENGINE.columns), out_path)


def engine_ranking(engine_table: pd.DataFrame | list[dict[str, Any]]) -> pd.DataFrame:
    """Spearman correlation between each engine's estimator RMSEs and the truth engine's.

    RMSEs are averaged over n per (estimator, learner) first; the correlation runs over the
    (estimator, learner) pairs both engines have a finite RMSE for. NaN when fewer than two pairs
    remain, when either side is constant, or when the dataset has no truth engine.
    Columns: ``vocabulary.RANKING``.
    """
    table = pd.DataFrame(engine_table)
    rows = []
    for dataset, data in table.groupby("dataset", sort=True):
        mean_rmse = data.groupby(["engine", "estimator", "learner"])["rmse"].mean()
        engines = sorted(set(data["engine"]) - {TRUTH_ENGINE})
        truth = mean_rmse.loc[TRUTH_ENGINE] if TRUTH_ENGINE in set(data["engine"]) else None
        for engine in engines:
            rho, count = math.nan, 0
            if truth is not None:
                both = pd.concat(
                    [mean_rmse.loc[engine].rename("engine"), truth.rename("truth")], axis=1
                ).dropna()
                count = len(both)
                if count >= 2 and both["engine"].nunique() > 1 and both["truth"].nunique() > 1:
                    rho = float(spearmanr(both["engine"], both["truth"]).statistic)
            rows.append(
                {"dataset": dataset, "engine": engine, "spearman_vs_truth": rho, "n_estimators": count}
            )
    return pd.DataFrame(rows, columns=list(RANKING.columns))
