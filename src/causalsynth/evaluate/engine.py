"""Rule engine, evaluation C: estimator performance on many samples from a source of known
truth, and whether an engine ranks the estimators as the true data-generating process does."""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy.stats import spearmanr

from causalsynth.core.errors import ConfigError, DataError
from causalsynth.core.io import read_parquet
from causalsynth.core.progress import Progress
from causalsynth.core.roles import Roles, read_card
from causalsynth.core.seeds import derive_seed
from causalsynth.core.vocabulary import ENGINE, ENGINE_REPLICATE_COLUMNS, RANKING, TRUTH_ENGINE
from causalsynth.estimate.grid import check_params, grid_defaults, run_grid, write_rows
from causalsynth.hybrid.pool import POOL_EXTRA_COLUMNS, read_engine_truth


def _get_dataset(name: str, options: dict[str, Any] | None = None):
    from causalsynth.data import get_dataset  # lazily: the truth engine alone needs it

    opts = dict(options or {})
    return get_dataset(name, opts.pop("loader", None), **opts)


def _engine_replicate(
    sample: pd.DataFrame, roles: Roles, n: int, replicate: int, p: dict[str, Any], seed: int
) -> list[dict[str, Any]]:
    return [{"n": n, "replicate": replicate, **r} for r in run_grid(sample, roles, p, seed, n_jobs=1)]


# ----------------------------------------------------------------------------- the simulating pool


class PoolProcess:
    """A hybrid pool as a data-generating process whose effect is known exactly.

    Each draw takes n covariate rows from the pool with replacement (the pool's empirical W
    distribution is the population), then A ~ Bernoulli(propensity(W)) from the pool's stored
    assignment probability, and Y from the pool's outcome model: Bernoulli(mu_A(W)) for a binary
    outcome, mu_A(W) plus a residual resampled from the pool's own (centred) residuals of arm A for a
    continuous one (the pool drew those from the real out-of-fold residuals). Every replicate is
    a fresh draw of the whole process, so the truth is not shifted by one draw's noise and the
    replicates vary as samples of the process do.
    """

    def __init__(self, pool: pd.DataFrame, roles: Roles, source: str):
        missing = [c for c in POOL_EXTRA_COLUMNS if c not in pool.columns]
        if missing:
            raise DataError(
                source,
                missing[0],
                "the pool has no outcome-model or propensity column",
                "rerun the hybrid rule",
            )
        self.roles = roles
        self.w = roles.validate(pool, source, roles.covariate_names)
        extra = pool[list(POOL_EXTRA_COLUMNS)].to_numpy(dtype=float)
        if not np.isfinite(extra).all():
            raise DataError(
                source, "propensity", "non-finite mu0, mu1 or propensity", "rerun the hybrid rule"
            )
        self.mu0, self.mu1, self.e = extra[:, 0], extra[:, 1], np.clip(extra[:, 2], 0.0, 1.0)
        self.binary = roles.outcome_type == "binary"
        if not self.binary:
            table = roles.validate(pool, source)
            a = table[roles.treatment].to_numpy()
            y = table[roles.outcome].to_numpy(dtype=float)
            resid = y - np.where(a == 1, self.mu1, self.mu0)
            # centred, so that E[Y | A, W] is mu_A(W) exactly and the truth holds for every draw
            self.residuals = {arm: resid[a == arm] - resid[a == arm].mean() for arm in (0, 1)}
            for arm, r in self.residuals.items():
                if len(r) == 0:
                    raise DataError(
                        source,
                        roles.treatment,
                        f"the pool has no unit with {roles.treatment}={arm}",
                        "use a pool with both arms",
                    )

    @property
    def truth(self) -> float:
        """The process's exact effect: the ATE over the pool's rows, or the ATT weighted by e."""
        effect = self.mu1 - self.mu0
        if self.roles.estimand == "ATT":
            return float(np.sum(self.e * effect) / np.sum(self.e))
        return float(effect.mean())

    def sample(self, n: int, seed: int) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        idx = rng.integers(0, len(self.w), size=n)
        a = (rng.random(n) < self.e[idx]).astype(np.int64)
        mu = np.where(a == 1, self.mu1[idx], self.mu0[idx])
        if self.binary:
            y = (rng.random(n) < mu).astype(np.int64)
        else:
            noise = np.empty(n)
            for arm in (0, 1):
                where = a == arm
                r = self.residuals[arm]
                noise[where] = r[rng.integers(0, len(r), size=int(where.sum()))]
            y = mu + noise
        out = self.w.iloc[idx].reset_index(drop=True)
        out[self.roles.treatment] = a
        out[self.roles.outcome] = y
        return out[self.roles.columns]


# ----------------------------------------------------------------------------- summaries


def _mcse_rmse(err: np.ndarray) -> float:
    """Monte Carlo SE of the RMSE by the delta method: SE(MSE) / (2 RMSE)."""
    if len(err) < 2:
        return math.nan
    sq = err**2
    rmse = math.sqrt(sq.mean())
    return float(sq.std(ddof=1) / math.sqrt(len(err)) / (2 * rmse)) if rmse > 0 else 0.0


def summarize_replicates(replicates: pd.DataFrame, truth: float) -> pd.DataFrame:
    """Bias, variance, RMSE, coverage and mean CI width per (n, estimator, learner), each with its
    Monte Carlo standard error (``bias_mcse``, ``rmse_mcse``, ``coverage_mcse``).

    Failed replicates (status other than ``ok``) are counted in ``n_failed`` (one of their
    reasons in ``failure_example``) and left out of every other statistic. Estimators whose
    estimates are identical in every replicate (``iptw_truncated`` when no weight reaches the
    cap) are reported once: the first keeps its row and names the others in ``ties``.
    """
    rows, kept = [], {}
    for (n, estimator, learner), group in replicates.groupby(["n", "estimator", "learner"], sort=False):
        ok = group[group["status"] == "ok"]
        ate = ok["ate"].to_numpy(dtype=float)
        key = (n, learner)
        signature = (tuple(group["status"]), tuple(np.round(group["ate"].to_numpy(dtype=float), 12)))
        twin = next((row for row in kept.get(key, []) if row["_signature"] == signature), None)
        if twin is not None:
            twin["ties"] = ", ".join([*filter(None, twin["ties"].split(", ")), estimator])
            continue
        failures = group.loc[group["status"] != "ok", "status"]
        r = len(ate)
        err = ate - truth
        hit = ((ok["ci_low"] <= truth) & (truth <= ok["ci_high"])).to_numpy(dtype=float)
        cov = float(hit.mean()) if r else math.nan
        row = {
            "estimator": estimator,
            "learner": learner,
            "n": int(n),
            "reps": len(group),
            "truth": truth,
            "bias": float(err.mean()) if r else math.nan,
            "bias_mcse": float(ate.std(ddof=1) / math.sqrt(r)) if r > 1 else math.nan,
            "variance": float(ate.var(ddof=1)) if r > 1 else math.nan,
            "rmse": float(np.sqrt(np.mean(err**2))) if r else math.nan,
            "rmse_mcse": _mcse_rmse(err),
            "coverage": cov,
            "coverage_mcse": math.sqrt(cov * (1 - cov) / r) if r else math.nan,
            "ci_width": float(np.mean(ok["ci_high"] - ok["ci_low"])) if r else math.nan,
            "n_failed": int(len(failures)),
            "failure_example": str(failures.iloc[0]) if len(failures) else "",
            "ties": "",
            "_signature": signature,
        }
        kept.setdefault(key, []).append(row)
        rows.append(row)
    for row in rows:
        del row["_signature"]
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
    ``true_ate``; ``source`` is ignored. Otherwise ``source`` is a hybrid pool parquet simulated
    as a :class:`PoolProcess`; its truth is the process's exact effect, which for the ATE is the
    pool's ``engine_truth`` (checked against ``meta_path``, default ``meta.json`` beside the pool).
    Roles come from ``card_path`` or, without it, from the dataset's loader.

    ``params``: ``n_grid`` (list of sample sizes; or ``n``, one size), ``reps`` (replicates per
    size), ``estimators``, and the grid params of :func:`run_ate_preservation`. Replicates run in
    parallel over ``n_jobs`` processes, each with its own seed derived from ``seed``, n and the
    replicate; progress (done, rate, time left) goes to the log. Writes ``vocabulary.ENGINE`` to
    ``out_path`` and, when ``replicates_path`` is given, every replicate's estimate
    (:data:`ENGINE_REPLICATE_COLUMNS`), from which the ranking's intervals are bootstrapped.
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
        process = _get_dataset(dataset, dataset_options)
        truth = float(process.true_ate)
    else:
        if source is None:
            raise ConfigError(f"run_engine: engine '{engine}' needs the pool parquet as source")
        process = PoolProcess(read_parquet(source), roles, str(source))
        truth = process.truth
        recorded = read_engine_truth(meta_path, source, required=True)
        if roles.estimand == "ATE" and not math.isclose(truth, recorded, rel_tol=1e-9, abs_tol=1e-12):
            raise DataError(
                str(meta_path or source),
                "engine_truth",
                f"{recorded} differs from the pool's own {truth}",
                "rerun the hybrid rule",
            )

    def tasks() -> Iterator:
        # samples are drawn here, lazily, so workers receive n rows and not the whole pool
        for n in n_grid:
            for r in range(reps):
                rep_seed = derive_seed(seed, "replicate", rep=f"n={n}:r={r}")
                sample = process.sample(n, derive_seed(rep_seed, "sample"))
                yield delayed(_engine_replicate)(sample, roles, n, r, p, rep_seed)

    total = len(n_grid) * reps
    progress = Progress(f"engine {dataset}/{engine}", total)
    per_replicate = []
    for rows in Parallel(n_jobs=n_jobs, return_as="generator")(tasks()):
        per_replicate.append(rows)
        progress.step()
    replicates = pd.DataFrame([row for rows in per_replicate for row in rows])
    replicates.insert(0, "engine", engine)
    replicates.insert(0, "dataset", dataset)
    if replicates_path is not None:
        write_rows(replicates.to_dict("records"), ENGINE_REPLICATE_COLUMNS, replicates_path)
    summary = summarize_replicates(replicates, truth)
    summary.insert(0, "engine", engine)
    summary.insert(0, "dataset", dataset)
    return write_rows(summary.to_dict("records"), list(ENGINE.columns), out_path)


# ----------------------------------------------------------------------------- ranking

# An engine "ranks as the truth does" when the rank correlation of its estimator RMSEs with the
# truth engine's is at least this; decided only when the bootstrap interval is on one side.
SPEARMAN_AGREES = 0.5
RANKING_BOOTSTRAP = 1000
AGREES, DISAGREES, UNDECIDED = "agrees", "disagrees", "undecided"


def _spearman(a: pd.Series, b: pd.Series) -> tuple[float, int]:
    both = pd.concat([a.rename("a"), b.rename("b")], axis=1).dropna()
    if len(both) < 3 or both["a"].nunique() < 2 or both["b"].nunique() < 2:
        return math.nan, len(both)
    return float(spearmanr(both["a"], both["b"]).statistic), len(both)


def engine_ranking(
    engine_table: pd.DataFrame | list[dict[str, Any]],
    replicates: pd.DataFrame | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Spearman correlation between each engine's estimator RMSEs and the truth engine's.

    RMSEs are averaged over n per (estimator, learner) first; the correlation runs over the
    (estimator, learner) pairs both engines report (tied estimators are reported once, so
    they count once). NaN when fewer than three pairs remain, when either side is constant, or
    when the dataset has no truth engine. With ``replicates`` (every replicate's estimate and
    the engine's truth), ``spearman_low`` and ``spearman_high`` are a 95% percentile bootstrap
    interval that resamples the replicates of each (engine, n) independently, and ``verdict``
    is ``agrees`` (interval at or above :data:`SPEARMAN_AGREES`), ``disagrees`` (below it) or
    ``undecided``. Columns: ``vocabulary.RANKING``.
    """
    table = pd.DataFrame(engine_table)
    rows = []
    for dataset, data in table.groupby("dataset", sort=True):
        listed = data[["estimator", "learner"]].drop_duplicates()
        mean_rmse = data.groupby(["engine", "estimator", "learner"])["rmse"].mean()
        engines = sorted(set(data["engine"]) - {TRUTH_ENGINE})
        has_truth = TRUTH_ENGINE in set(data["engine"])
        boot = _bootstrap_rmse(replicates, data, dataset, listed, seed) if replicates is not None else {}
        for engine in engines:
            rho, count, low, high = math.nan, 0, math.nan, math.nan
            if has_truth:
                rho, count = _spearman(mean_rmse.loc[engine], mean_rmse.loc[TRUTH_ENGINE])
                if engine in boot and TRUTH_ENGINE in boot and np.isfinite(rho):
                    draws = [
                        _spearman(e, t)[0] for e, t in zip(boot[engine], boot[TRUTH_ENGINE], strict=True)
                    ]
                    draws = np.asarray(draws, dtype=float)
                    draws = draws[np.isfinite(draws)]
                    if len(draws):
                        low, high = (float(q) for q in np.quantile(draws, [0.025, 0.975]))
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
    replicates: pd.DataFrame, summary: pd.DataFrame, dataset: str, listed: pd.DataFrame, seed: int
) -> dict[str, list[pd.Series]]:
    """Per engine, RANKING_BOOTSTRAP bootstrap draws of the mean RMSE (over n) per reported estimator.

    Replicates are resampled as wholes (all estimators of a replicate together, as they share
    its sample), independently for each engine and size.
    """
    reps = replicates[replicates["dataset"] == dataset].merge(listed, on=["estimator", "learner"])
    truths = summary.groupby("engine")["truth"].first()
    keys = pd.MultiIndex.from_frame(listed)
    rng = np.random.default_rng(derive_seed(seed, "ranking", dataset))
    out: dict[str, list[pd.Series]] = {}
    for engine, sub in reps.groupby("engine", sort=True):
        ok = sub["status"] == "ok"
        err2 = np.where(ok, (sub["ate"].to_numpy(dtype=float) - float(truths[engine])) ** 2, np.nan)
        sub = sub.assign(err2=err2)
        per_n = []
        for _, at_n in sub.groupby("n", sort=True):
            wide = at_n.pivot_table(
                index="replicate", columns=["estimator", "learner"], values="err2", dropna=False
            )
            wide = wide.reindex(columns=keys).to_numpy(dtype=float)  # replicates x estimators
            pick = rng.integers(0, len(wide), size=(RANKING_BOOTSTRAP, len(wide)))
            with np.errstate(invalid="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # an estimator failing in a whole draw
                per_n.append(np.sqrt(np.nanmean(wide[pick], axis=1)))  # draws x estimators
        mean = np.nanmean(np.stack(per_n), axis=0) if per_n else np.empty((0, len(keys)))
        out[engine] = [pd.Series(row, index=keys) for row in mean]
    return out
