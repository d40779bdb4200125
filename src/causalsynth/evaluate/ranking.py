"""Rule engine_ranking: ties between estimators, and does each hybrid engine rank the estimators
as the true process does?

The engine jobs each hold one (dataset, engine, n); the ranking needs every n of every engine of a
dataset at once, with their replicates for a bootstrap interval. It is evaluation (a seeded
bootstrap), so it is a rule of this stage and the report only reads its table.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from causalsynth.core.io import read_parquet, write_parquet
from causalsynth.core.seeds import derive_seed
from causalsynth.core.uncertainty import UNDECIDED
from causalsynth.core.vocabulary import (
    AGREES,
    DISAGREES,
    ENGINE_REFERENCE,
    RANKING,
    SPEARMAN_AGREES,
    TRUTH_ENGINE,
)

RANKING_BOOTSTRAP = 1000
# the replicate columns two estimators must agree on, in every replicate, to be called tied
TIE_COLUMNS = ("status", "ate", "se", "ci_low", "ci_high")


def run_engine_ranking(
    tables: list[str], replicates: list[str], seed: int, out_summary: str, out_ranking: str
) -> None:
    """The engine's summary over every (dataset, engine, n) with ties judged again over every n
    (each engine job saw one), and the ranking table with its bootstrap intervals."""
    summary = _concat(tables)
    reps = _concat(replicates)
    if len(summary) and len(reps):
        summary = mark_ties(summary, reps)
    ranking = engine_ranking(summary, reps if len(reps) else None, seed) if len(summary) else pd.DataFrame()
    write_parquet(summary, out_summary)
    write_parquet(ranking, out_ranking)


def _tie_groups(replicates: pd.DataFrame, keys: list[str]) -> dict[tuple, list[list[str]]]:
    """Per value of ``keys``, the estimators in groups identical in every replicate of every n on
    (status, ate, se, ci_low, ci_high)."""
    order = [c for c in ("n", "replicate") if c in replicates.columns]
    out: dict[tuple, list[str]] = {}
    for key, data in replicates.groupby(keys, sort=False):
        groups: dict[tuple, list[str]] = {}
        for estimator, rows in data.groupby("estimator", sort=False):
            rows = rows.sort_values(order, kind="stable")
            cols = [rows["status"].astype(str).tolist(), rows[order].to_numpy().tolist()]
            for c in TIE_COLUMNS[1:]:
                v = rows[c].to_numpy(dtype=float).round(12)
                cols.append([None if math.isnan(x) else x for x in v.tolist()])
            groups.setdefault(repr(cols), []).append(estimator)
        out[key if isinstance(key, tuple) else (key,)] = list(groups.values())
    return out


def mark_ties(summary: pd.DataFrame, replicates: pd.DataFrame) -> pd.DataFrame:
    """``ties`` of every summary row: the other estimators (same learner, dataset and engine)
    whose estimate, SE and interval equal this one's in every replicate of every n the
    replicates hold. Every estimator keeps its row; the ranking counts tied ones at their
    average rank."""
    summary = summary.copy()
    keys = [c for c in ("dataset", "engine", "learner") if c in replicates.columns and c in summary.columns]
    ties = []
    groups = _tie_groups(replicates, keys)
    for _, row in summary.iterrows():
        mates = next((g for g in groups.get(tuple(row[k] for k in keys), []) if row["estimator"] in g), [])
        ties.append(", ".join(e for e in mates if e != row["estimator"]))
    summary["ties"] = ties
    return summary


def _concat(paths: list[str]) -> pd.DataFrame:
    frames = [f for f in (read_parquet(p) for p in paths) if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


RANKING_BOOTSTRAP = 1000


def _spearman(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman's rho of each row of ``a`` with the same row of ``b`` (Pearson's r of average
    ranks, so tied values share a rank); NaN below three columns, for a row with a constant side
    or with a missing value (the estimator set is fixed by the caller, never shrunk here)."""
    a, b = np.atleast_2d(np.asarray(a, dtype=float)), np.atleast_2d(np.asarray(b, dtype=float))
    out = np.full(len(a), np.nan)
    if a.shape[1] < 3:
        return out
    valid = np.isfinite(a).all(axis=1) & np.isfinite(b).all(axis=1)
    ra = rankdata(a[valid], axis=1)
    rb = rankdata(b[valid], axis=1)
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    den = np.sqrt((ra**2).sum(axis=1) * (rb**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        out[valid] = np.where(den > 0, (ra * rb).sum(axis=1) / den, np.nan)
    return out


def engine_ranking(
    engine_table: pd.DataFrame | list[dict[str, Any]],
    replicates: pd.DataFrame | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Spearman correlation between each engine's estimator RMSEs and the truth engine's.

    RMSEs are averaged over n per (estimator, learner) first. The correlation runs over one
    estimator set per engine: the (estimator, learner) pairs with a finite mean RMSE under both
    the engine and the truth engine, the reference :data:`ENGINE_REFERENCE` left out (it is no
    candidate). Tied estimators keep their rows and take average ranks. NaN when fewer than three
    pairs remain, when either side is constant, or when the dataset has no truth engine. With
    ``replicates`` (every replicate's estimate and the engine's truth), ``spearman_low`` and
    ``spearman_high`` are a 95% percentile bootstrap interval over exactly that set, resampling
    the replicates of each (engine, n) independently (a draw in which an estimator of the set has
    no ok replicate at any n is left out), and ``verdict`` is ``agrees`` (interval at or above
    :data:`SPEARMAN_AGREES`), ``disagrees`` (below it) or ``undecided``. Columns:
    ``vocabulary.RANKING``.
    """
    table = pd.DataFrame(engine_table)
    table = table[table["estimator"] != ENGINE_REFERENCE]
    rows = []
    for dataset, data in table.groupby("dataset", sort=True):
        mean_rmse = data.groupby(["engine", "estimator", "learner"])["rmse"].mean()
        engines = sorted(set(data["engine"]) - {TRUTH_ENGINE})
        has_truth = TRUTH_ENGINE in set(data["engine"])
        for engine in engines:
            rho, count, low, high = math.nan, 0, math.nan, math.nan
            if has_truth:
                both = pd.concat(
                    [mean_rmse.loc[engine].rename("e"), mean_rmse.loc[TRUTH_ENGINE].rename("t")], axis=1
                ).dropna()
                count = len(both)
                rho = float(_spearman(both["e"].to_numpy(), both["t"].to_numpy())[0])
                if replicates is not None and np.isfinite(rho):
                    keys = both.index.to_frame(index=False)
                    draws = [
                        _bootstrap_rmse(replicates, data, dataset, name, keys, seed)
                        for name in (engine, TRUTH_ENGINE)
                    ]
                    rhos = _spearman(*draws)
                    rhos = rhos[np.isfinite(rhos)]
                    if len(rhos):
                        low, high = (float(q) for q in np.quantile(rhos, [0.025, 0.975]))
            if np.isfinite(low) and low >= SPEARMAN_AGREES:
                verdict = AGREES
            elif np.isfinite(high) and high < SPEARMAN_AGREES:
                verdict = DISAGREES
            else:
                verdict = UNDECIDED
            rows.append(
                {
                    "dataset": dataset,
                    "engine": engine,
                    "spearman_vs_truth": rho,
                    "spearman_low": low,
                    "spearman_high": high,
                    "verdict": verdict,
                    "n_estimators": count,
                }
            )
    return pd.DataFrame(rows, columns=list(RANKING.columns))


def _bootstrap_rmse(
    replicates: pd.DataFrame,
    summary: pd.DataFrame,
    dataset: str,
    engine: str,
    keys: pd.DataFrame,
    seed: int,
) -> np.ndarray:
    """RANKING_BOOTSTRAP bootstrap draws (rows) of the mean RMSE over n of each (estimator,
    learner) of ``keys`` (columns, in order) under one engine.

    Replicates are resampled as wholes (all estimators of a replicate together, as they share
    its sample), independently for each engine and size; the seed depends on the dataset, the
    engine and n only, so an engine's draws are the same whichever engine it is compared with.
    """
    sub = replicates[(replicates["dataset"] == dataset) & (replicates["engine"] == engine)]
    sub = sub.merge(keys, on=["estimator", "learner"])
    truth = float(summary.loc[summary["engine"] == engine, "truth"].iloc[0])
    ok = sub["status"] == "ok"
    sub = sub.assign(err2=np.where(ok, (sub["ate"].to_numpy(dtype=float) - truth) ** 2, np.nan))
    columns = pd.MultiIndex.from_frame(keys)
    per_n = []
    for n, at_n in sub.groupby("n", sort=True):
        wide = at_n.pivot_table(
            index="replicate", columns=["estimator", "learner"], values="err2", dropna=False
        )
        wide = wide.reindex(columns=columns).to_numpy(dtype=float)  # replicates x estimators
        rng = np.random.default_rng(derive_seed(seed, "ranking", dataset, engine, rep=f"n={n}"))
        pick = rng.integers(0, len(wide), size=(RANKING_BOOTSTRAP, len(wide)))
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an estimator failing in a whole draw
            per_n.append(np.sqrt(np.nanmean(wide[pick], axis=1)))  # draws x estimators
    if not per_n:
        return np.full((RANKING_BOOTSTRAP, len(keys)), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(np.stack(per_n), axis=0)
