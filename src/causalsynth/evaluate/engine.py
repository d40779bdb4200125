"""Rule engine, evaluation C: estimator performance on many samples from a source of known
truth, and whether an engine ranks the estimators as the true data-generating process does."""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy.stats import norm

from causalsynth.core.errors import ConfigError, DataError
from causalsynth.core.io import read_parquet
from causalsynth.core.progress import Progress
from causalsynth.core.roles import Roles, read_card
from causalsynth.core.seeds import derive_seed
from causalsynth.core.uncertainty import LEVEL, wilson_interval
from causalsynth.core.vocabulary import (
    ENGINE,
    ENGINE_REFERENCE,
    ENGINE_REPLICATE_COLUMNS,
    TRUE_NUISANCES,
    TRUTH_ENGINE,
)
from causalsynth.estimate.estimators import make_estimator
from causalsynth.estimate.grid import check_params, grid_defaults, run_grid, write_rows
from causalsynth.estimate.nuisance import Nuisances
from causalsynth.estimate.weights import ESS_MIN_SHARE, bound_propensity
from causalsynth.evaluate.ranking import mark_ties
from causalsynth.hybrid.model import POOL_EXTRA_COLUMNS
from causalsynth.hybrid.pool import read_engine_truth

# A pool should hold at least this many times the largest n drawn from it: a draw of n rows with
# replacement from N repeats about n / (2 N) of its rows (21% at N = 2 n, 5% at N = 10 n).
POOL_MIN_RATIO = 10


def _get_dataset(name: str, options: dict[str, Any] | None = None):
    from causalsynth.data import get_dataset  # lazily: the truth engine alone needs it

    opts = dict(options or {})
    return get_dataset(name, opts.pop("loader", None), **opts)


# ----------------------------------------------------------------------------- the processes


class Draw(NamedTuple):
    """One sample of a process with its true nuisances: ``propensity`` is the one A was drawn
    with (bounded), ``raw_propensity`` the process's own before the bound."""

    table: pd.DataFrame
    propensity: np.ndarray
    mu0: np.ndarray
    mu1: np.ndarray
    raw_propensity: np.ndarray


class PoolProcess:
    """A hybrid pool as a data-generating process whose effect is known exactly.

    Each draw takes n covariate rows from the pool with replacement (the pool's empirical W
    distribution is the population), then A ~ Bernoulli(e(W)) with e the pool's stored
    assignment probability bounded to [b, 1 - b] (``propensity_bound``, 0 = as stored), and Y
    from the pool's outcome model: Bernoulli(mu_A(W)) for a binary outcome, mu_A(W) plus a
    residual resampled from the pool's own (centred) residuals of arm A for a continuous one
    (the pool drew those from the real out-of-fold residuals). Every replicate is a fresh draw
    of the whole process, so the truth is not shifted by one draw's noise and the replicates
    vary as samples of the process do. The bound changes who is treated, not mu0 or mu1, so the
    ATE does not depend on it; the ATT (weighted by e) is that of the bounded process.
    """

    def __init__(self, pool: pd.DataFrame, roles: Roles, source: str, propensity_bound: float = 0.0):
        missing = [c for c in POOL_EXTRA_COLUMNS if c not in pool.columns]
        if missing:
            raise DataError(
                source,
                missing[0],
                "the pool has no outcome-model or propensity column",
                "rerun the hybrid rule",
            )
        self.roles, self.source = roles, source
        self.w = roles.validate(pool, source, roles.covariate_names)
        extra = pool[list(POOL_EXTRA_COLUMNS)].to_numpy(dtype=float)
        if not np.isfinite(extra).all():
            raise DataError(
                source, "propensity", "non-finite mu0, mu1 or propensity", "rerun the hybrid rule"
            )
        self.mu0, self.mu1 = extra[:, 0], extra[:, 1]
        self.raw_e = np.clip(extra[:, 2], 0.0, 1.0)
        self.e = bound_propensity(self.raw_e, propensity_bound)
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

    def draw(self, n: int, seed: int) -> Draw:
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
        return Draw(out[self.roles.columns], self.e[idx], self.mu0[idx], self.mu1[idx], self.raw_e[idx])

    def sample(self, n: int, seed: int) -> pd.DataFrame:
        return self.draw(n, seed).table


class SimulatedProcess:
    """A simulated dataset's true process in its ``engine_design`` (default: its training
    design), with A drawn from the true propensity bounded to [b, 1 - b]; the truth is the
    dataset's exact ``true_ate``, which the bound does not change."""

    def __init__(self, dataset, propensity_bound: float):
        self.dataset, self.bound = dataset, propensity_bound
        self.design = getattr(dataset, "engine_design", "") or dataset.train_design
        self.truth = float(dataset.true_ate)

    def _assign(self, e: np.ndarray) -> np.ndarray:
        return bound_propensity(e, self.bound)

    def draw(self, n: int, seed: int) -> Draw:
        table = self.dataset.sample(n, seed, self.design, assignment=self._assign)
        e, mu0, mu1 = self.dataset.nuisances(table, self.design)
        return Draw(table, self._assign(e), mu0, mu1, e)


# ----------------------------------------------------------------------------- overlap of a process


def process_overlap(raw_e: np.ndarray, bound: float, estimand: str, source: str) -> dict[str, Any]:
    """The propensity extremes of a process's population, the share of rows the bound moved, and
    a warning where an arm's expected effective sample size (Kish, of the weights an estimator
    with the true e would use) is below ``ESS_MIN_SHARE`` of its expected units, the rule of the
    grid's own overlap warning. A population with no row strictly inside (b, 1 - b) assigns
    treatment by the bound alone: it is refused."""
    raw_e = np.asarray(raw_e, dtype=float)
    e = bound_propensity(raw_e, bound)
    inside = (raw_e > bound) & (raw_e < 1.0 - bound)
    if not inside.any():
        raise DataError(
            source,
            "propensity",
            f"no row has a propensity strictly inside ({bound:g}, {1 - bound:g}): treatment is "
            "decided by covariates alone, so every estimate would be an extrapolation",
            "use a hybrid with a learned or randomized assignment that overlaps (hybrid.assignment)",
        )
    # expected arm weights with each row's probability of being in the arm as its frequency;
    # with no bound (b = 0) a propensity of 0 or 1 gives an infinite weight and an ESS of 0
    with np.errstate(divide="ignore"):
        if estimand == "ATT":
            ess = {"treated": e.sum(), "control": e.sum() ** 2 / np.sum(e**2 / (1.0 - e))}
        else:
            ess = {"treated": len(e) ** 2 / np.sum(1.0 / e), "control": len(e) ** 2 / np.sum(1.0 / (1.0 - e))}
    units = {"treated": e.sum(), "control": (1.0 - e).sum()}
    low = [
        f"{arm} expected ESS {ess[arm] / units[arm]:.1%} of its units"
        for arm in ("treated", "control")
        if ess[arm] < ESS_MIN_SHARE * units[arm]
    ]
    warning = ""
    if low:
        warning = (
            f"{source}: {' and '.join(low)} (below {ESS_MIN_SHARE:.0%}) under the propensity bounded "
            f"at {bound:g}: the engine scores estimators mostly on extrapolation"
        )
    return {
        "propensity_bound": float(bound),
        "propensity_min": float(raw_e.min()),
        "propensity_max": float(raw_e.max()),
        "share_bounded": float(np.mean(e != raw_e)),
        "warning": warning,
    }


def repeated_share(n: int, rows: int) -> float:
    """Expected share of a draw of n rows with replacement from ``rows`` that repeats a row
    already drawn: 1 - E[distinct] / n."""
    return 1.0 - rows * (1.0 - (1.0 - 1.0 / rows) ** n) / n


# ----------------------------------------------------------------------------- one replicate


def oracle_row(draw: Draw, roles: Roles, bound: float) -> dict[str, Any]:
    """The reference of every replicate: AIPW (the grid's own estimator) on the process's true
    propensity and outcome means, so its error is the sample's own noise and nothing else."""
    start = time.perf_counter()
    table = draw.table
    nuis = Nuisances(
        a=table[roles.treatment].to_numpy(dtype=np.int64),
        y=table[roles.outcome].to_numpy(dtype=float),
        g=draw.propensity,
        q0=draw.mu0,
        q1=draw.mu1,
        fold=np.full(len(table), -1),
        outcome_type=roles.outcome_type,
        estimand=roles.estimand,
    )
    estimator = make_estimator("aipw", {"propensity_bound": bound})
    result = estimator.estimate(nuis)
    return {
        "estimator": ENGINE_REFERENCE,
        "learner": TRUE_NUISANCES,
        **result.to_dict(),
        **estimator.diagnostics(nuis),
        "seconds": time.perf_counter() - start,
    }


def _engine_replicate(
    draw: Draw, roles: Roles, n: int, replicate: int, p: dict[str, Any], seed: int, bound: float
) -> list[dict[str, Any]]:
    rows = [*run_grid(draw.table, roles, p, seed, n_jobs=1), oracle_row(draw, roles, bound)]
    return [{"n": n, "replicate": replicate, **r} for r in rows]


# ----------------------------------------------------------------------------- summaries

Z_LEVEL = float(norm.ppf(0.5 + LEVEL / 2))
PAIRED_COLUMNS = ("bias_vs_ref", "bias_vs_ref_mcse", "rmse_vs_ref", "rmse_vs_ref_mcse")


def _mcse_rmse(err: np.ndarray) -> float:
    """Monte Carlo SE of the RMSE by the delta method: SE(MSE) / (2 RMSE)."""
    if len(err) < 2:
        return math.nan
    sq = err**2
    rmse = math.sqrt(sq.mean())
    return float(sq.std(ddof=1) / math.sqrt(len(err)) / (2 * rmse)) if rmse > 0 else 0.0


def _paired(err: np.ndarray, ref: np.ndarray) -> dict[str, float]:
    """Bias and RMSE of an estimator minus the reference's, over the replicates where both are
    ok, with the Monte Carlo SE of the within-replicate difference (delta method for the RMSE)."""
    nan = dict.fromkeys(PAIRED_COLUMNS, math.nan)
    m = len(err)
    if m == 0:
        return nan
    r_est, r_ref = math.sqrt(np.mean(err**2)), math.sqrt(np.mean(ref**2))
    out = {"bias_vs_ref": float(np.mean(err - ref)), "rmse_vs_ref": r_est - r_ref}
    if m < 2:
        return {**nan, **out}
    # d(sqrt(A) - sqrt(B)) = dA / (2 sqrt(A)) - dB / (2 sqrt(B)), per replicate; an RMSE of 0
    # (every error 0) has no variation to carry
    lin = np.zeros(m)
    if r_est > 0:
        lin += err**2 / (2 * r_est)
    if r_ref > 0:
        lin -= ref**2 / (2 * r_ref)
    out["bias_vs_ref_mcse"] = float(np.std(err - ref, ddof=1) / math.sqrt(m))
    out["rmse_vs_ref_mcse"] = float(np.std(lin, ddof=1) / math.sqrt(m))
    return out


def summarize_replicates(
    replicates: pd.DataFrame, truth: float, reference: str = ENGINE_REFERENCE
) -> pd.DataFrame:
    """Bias, variance, RMSE, coverage and mean CI width per (n, estimator, learner), each with its
    Monte Carlo standard error, and bias and RMSE relative to ``reference`` with paired MCSEs.

    ``coverage_low`` / ``coverage_high`` are the coverage's Wilson interval and ``coverage_mcse``
    its half-width over the normal quantile (not 0 at coverage 0 or 1). ``bias_vs_ref`` and
    ``rmse_vs_ref`` are this row's bias and RMSE minus the reference estimator's at the same n,
    over the replicates (matched by ``replicate``) where both are ok; their MCSEs are those of
    the within-replicate differences, far below the marginal ones when errors move together.
    Failed replicates (status other than ``ok``) are counted in ``n_failed`` (one of their
    reasons in ``failure_example``) and left out of every other statistic. ``ties``:
    :func:`mark_ties` over every n given.
    """
    paired_ok = "replicate" in replicates.columns
    refs = replicates[(replicates["estimator"] == reference) & (replicates["status"] == "ok")]
    rows = []
    for (n, estimator, learner), group in replicates.groupby(["n", "estimator", "learner"], sort=False):
        ok = group[group["status"] == "ok"]
        ate = ok["ate"].to_numpy(dtype=float)
        failures = group.loc[group["status"] != "ok", "status"]
        r = len(ate)
        err = ate - truth
        hit = ((ok["ci_low"] <= truth) & (truth <= ok["ci_high"])).to_numpy(dtype=bool)
        wilson = wilson_interval(int(hit.sum()), r)
        paired = dict.fromkeys(PAIRED_COLUMNS, math.nan)
        ref = refs[refs["n"] == n]
        if paired_ok and len(ref):
            both = ok[["replicate", "ate"]].merge(
                ref[["replicate", "ate"]], on="replicate", suffixes=("", "_ref")
            )
            paired = _paired(
                both["ate"].to_numpy(dtype=float) - truth, both["ate_ref"].to_numpy(dtype=float) - truth
            )
        rows.append(
            {
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
                "coverage": float(hit.mean()) if r else math.nan,
                "coverage_mcse": (wilson.high - wilson.low) / (2 * Z_LEVEL) if r else math.nan,
                "coverage_low": wilson.low,
                "coverage_high": wilson.high,
                "ci_width": float(np.mean(ok["ci_high"] - ok["ci_low"])) if r else math.nan,
                "reference": reference if len(refs) else "",
                **paired,
                "n_failed": int(len(failures)),
                "failure_example": str(failures.iloc[0]) if len(failures) else "",
                "ties": "",
            }
        )
    return mark_ties(pd.DataFrame(rows), replicates)


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

    ``engine == "truth"``: fresh samples of the dataset's data-generating process in its
    ``engine_design`` (:class:`SimulatedProcess`; ``sim_paper``: the confounded design, whose
    estimators differ), truth its ``true_ate``; ``source`` is ignored. Otherwise ``source`` is a
    hybrid pool parquet simulated as a :class:`PoolProcess`; its truth is the process's exact
    effect, which for the ATE is the pool's ``engine_truth`` (checked against ``meta_path``,
    default ``meta.json`` beside the pool). Both draw A from the true propensity bounded by the
    grid's one bound (``propensity_bound``, schema ``estimation.propensity_bound``); a pool with no
    overlap is refused, one with little is warned about (:func:`process_overlap`), and a pool
    smaller than :data:`POOL_MIN_RATIO` times the largest n is warned about, naming it. Roles
    come from ``card_path`` or, without it, from the dataset's loader.

    ``params``: ``n_grid`` (list of sample sizes; or ``n``, one size), ``reps`` (replicates per
    size), ``estimators``, and the grid params of
    :func:`~causalsynth.evaluate.ate.ate_preservation_rows`. Every replicate also gets
    :data:`ENGINE_REFERENCE` (:func:`oracle_row`). Replicates run in parallel over ``n_jobs``
    processes, each with its own seed derived from ``seed``, n and the replicate; progress
    (done, rate, time left) goes to the log. Writes ``vocabulary.ENGINE`` to
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
    bound = float(p["options"]["propensity_bound"])  # the grid's one bound of g
    pool_rows = math.nan
    if engine == TRUTH_ENGINE:
        process = SimulatedProcess(_get_dataset(dataset, dataset_options), bound)
        where = f"{dataset}'s true process ({process.design} design)"
    else:
        if source is None:
            raise ConfigError(f"run_engine: engine '{engine}' needs the pool parquet as source")
        process = PoolProcess(read_parquet(source), roles, str(source), propensity_bound=bound)
        where = str(source)
        recorded = read_engine_truth(meta_path, source, required=True)
        if roles.estimand == "ATE" and not math.isclose(process.truth, recorded, rel_tol=1e-9, abs_tol=1e-12):
            raise DataError(
                str(meta_path or source),
                "engine_truth",
                f"{recorded} differs from the pool's own {process.truth}",
                "rerun the hybrid rule",
            )
        overlap = process_overlap(process.raw_e, bound, roles.estimand, where)  # refuses before any fit
        pool_rows = len(process.w)
    truth = process.truth

    drawn: list[np.ndarray] = []

    def tasks() -> Iterator:
        # samples are drawn here, lazily, so workers receive n rows and not the whole pool
        for n in n_grid:
            for r in range(reps):
                rep_seed = derive_seed(seed, "replicate", rep=f"n={n}:r={r}")
                draw = process.draw(n, derive_seed(rep_seed, "sample"))
                drawn.append(draw.raw_propensity)
                yield delayed(_engine_replicate)(draw, roles, n, r, p, rep_seed, bound)

    total = len(n_grid) * reps
    progress = Progress(f"engine {dataset}/{engine}", total)
    per_replicate = []
    for rows in Parallel(n_jobs=n_jobs, return_as="generator")(tasks()):
        per_replicate.append(rows)
        progress.step()
    if engine == TRUTH_ENGINE:  # an infinite population: its overlap over every drawn row
        overlap = process_overlap(np.concatenate(drawn), bound, roles.estimand, where)
    warning = [overlap["warning"]] if overlap["warning"] else []
    if pool_rows < POOL_MIN_RATIO * max(n_grid):
        n_max = max(n_grid)
        warning.append(
            f"{where}: the pool's {pool_rows} rows are {pool_rows / n_max:.1f} times the largest n "
            f"{n_max} (fewer than {POOL_MIN_RATIO}), so about {repeated_share(n_max, pool_rows):.0%} "
            f"of a draw's rows repeat another; set hybrid.n_rows to at least {POOL_MIN_RATIO * n_max}"
        )
    for text in warning:
        warnings.warn(text, stacklevel=2)
    replicates = pd.DataFrame([row for rows in per_replicate for row in rows])
    replicates.insert(0, "engine", engine)
    replicates.insert(0, "dataset", dataset)
    if replicates_path is not None:
        write_rows(replicates.to_dict("records"), ENGINE_REPLICATE_COLUMNS, replicates_path)
    summary = summarize_replicates(replicates, truth)
    summary.insert(0, "engine", engine)
    summary.insert(0, "dataset", dataset)
    summary = summary.assign(
        **{k: overlap[k] for k in ("propensity_bound", "propensity_min", "propensity_max", "share_bounded")},
        pool_rows=pool_rows,
        pool_ratio=pool_rows / summary["n"],
        warning="; ".join(warning),
    )
    return write_rows(summary.to_dict("records"), list(ENGINE.columns), out_path)
