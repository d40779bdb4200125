"""The three evaluations of causalsynth (method.md sections 1-4), one entry function each.

* :func:`run_ate_preservation` (evaluation A): does a synthetic table give the real effect?
* :func:`run_tstr`: train on synthetic, test on real -- the usual utility score, for contrast.
* :func:`run_positivity` (evaluation B): raw, truncated, clipped and paired estimates on data with
  extreme propensities.
* :func:`run_engine` (evaluation C): bias, variance, RMSE and coverage of the estimators on many
  samples from a known-truth source, and :func:`engine_ranking`, whether an engine ranks the
  estimators as the true data-generating process does.

Every entry function reads parquet / JSON paths and plain params and writes one table of rows
(parquet, or CSV when the path ends in ``.csv``) atomically. Cells that cannot be estimated are
rows with NaN estimates and a ``status`` saying why.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy.stats import spearmanr
from sklearn.metrics import r2_score, roc_auc_score

from causalsynth.core.encoding import CovariateEncoder
from causalsynth.core.errors import ConfigError, DataError
from causalsynth.core.io import read_json, read_parquet, write_parquet, write_table
from causalsynth.core.learners import LEARNERS, make_learner
from causalsynth.core.roles import Roles
from causalsynth.core.seeds import derive_seed
from causalsynth.estimate.estimators import (
    ESTIMATORS,
    GRID_COLUMNS,
    check_table,
    estimate_grid,
    fit_shared_nuisances,
    resolve_options,
)

ATE_COLUMNS = [
    "dataset",
    "generator",
    "rep",
    "estimator",
    "learner",
    "ate",
    "se",
    "ci_low",
    "ci_high",
    "truth",
    "truth_kind",
    "bias",
    "covered",
    "real_ate",
    "status",
    "engine_truth",
    "seconds",
]
TSTR_COLUMNS = ["dataset", "generator", "rep", "metric", "value", "train_on_real", "status"]
POSITIVITY_COLUMNS = [
    "dataset",
    "rep",
    "set",
    "method",
    "estimator",
    "learner",
    "ate",
    "se",
    "ci_low",
    "ci_high",
    "truth",
    "n_extreme",
    "n_added",
    "status",
]
ENGINE_COLUMNS = [
    "dataset",
    "engine",
    "estimator",
    "learner",
    "n",
    "reps",
    "truth",
    "bias",
    "variance",
    "rmse",
    "coverage",
    "ci_width",
    "n_failed",
    "failure_example",
]
ENGINE_REPLICATE_COLUMNS = ["dataset", "engine", "n", "replicate", *GRID_COLUMNS]
RANKING_COLUMNS = ["dataset", "engine", "spearman_vs_truth", "n_estimators"]

POSITIVITY_METHODS = ("raw", "truncated", "clipped", "paired")
DEFAULT_EXTREME_THRESHOLD = 1e-3  # the paper's pairing threshold on g
TRUTH_ENGINE = "truth"
REAL = "real"  # the generator name of real-data rows

# Keys of the grid params every estimating entry function accepts; they mirror the workflow's
# `estimation` config block. `learner` and `learners` are alternatives; `truncation` is the
# weight cap of iptw_truncated and of evaluation B's truncated method (estimator option
# `truncation_cap`); `options` passes further estimator options (OPTIONS in estimators.py).
_GRID_DEFAULTS: dict[str, Any] = {
    "learner": None,
    "learners": None,
    "folds": 5,
    "cross_fit": True,
    "truncation": None,
    "options": None,
}
DEFAULT_LEARNER = "random_forest"


# ---------------------------------------------------------------------------------------------
# params and I/O helpers


def _check_params(params: dict[str, Any], defaults: dict[str, Any], required: Iterable[str], where: str):
    """Params with defaults filled in; unknown or missing keys and unknown names fail loudly."""
    params = dict(params or {})
    valid = set(defaults) | set(required)
    unknown = sorted(set(params) - valid)
    if unknown:
        raise ConfigError(f"{where}: unknown param(s) {unknown}; valid params: {sorted(valid)}")
    missing = sorted(k for k in required if k not in params)
    if missing:
        raise ConfigError(f"{where}: missing param(s) {missing}")
    out = {**defaults, **params}
    if "estimators" in out:
        if isinstance(out["estimators"], str) or not out["estimators"]:
            raise ConfigError(f"{where}: 'estimators' must be a non-empty list of names")
        for name in out["estimators"]:
            ESTIMATORS.get(name)  # unknown names fail here, listing the valid ones
    if "options" in out:
        out["learners"], out["options"] = _grid_settings(out, where)
    return out


def _grid_settings(p: dict[str, Any], where: str) -> tuple[list[str], dict[str, Any]]:
    if p.get("learner") is not None and p.get("learners") is not None:
        raise ConfigError(f"{where}: give 'learner' or 'learners', not both")
    learners = p.get("learners") or [p.get("learner") or DEFAULT_LEARNER]
    if isinstance(learners, str):
        raise ConfigError(f"{where}: 'learners' must be a list of names, got {learners!r}")
    for name in learners:
        LEARNERS.get(name)
    options = dict(p.get("options") or {})
    if p.get("truncation") is not None:
        if options.get("truncation_cap", p["truncation"]) != p["truncation"]:
            raise ConfigError(f"{where}: 'truncation' and options.truncation_cap disagree")
        options["truncation_cap"] = p["truncation"]
    return list(learners), resolve_options(options)


def _grid(
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


def _read_card(card_path: str | Path) -> tuple[dict[str, Any], Roles]:
    card = read_json(card_path)
    try:
        return card, Roles.from_dict(card)
    except (KeyError, ValueError) as exc:
        raise DataError(str(card_path), None, f"not a dataset card ({exc})", "rerun prepare_dataset") from exc


def _read_table(path: str | Path, roles: Roles) -> pd.DataFrame:
    return check_table(read_parquet(path), roles, source=str(path))


def _write_rows(
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


def _read_rows(path: str | Path) -> pd.DataFrame:
    return pd.read_csv(path) if str(path).endswith(".csv") else read_parquet(path)


def _float(value: Any) -> float:
    return math.nan if value is None else float(value)


def _engine_truth(meta_path: str | Path | None, table_path: str | Path, required: bool) -> float:
    """The known ATE of a hybrid pool, from ``meta_path`` or the ``meta.json`` beside the table."""
    path = Path(meta_path) if meta_path is not None else Path(table_path).parent / "meta.json"
    if not path.exists():
        if required:
            raise DataError(str(path), "engine_truth", "the pool's meta JSON is missing", "pass meta_path")
        return math.nan
    value = read_json(path).get("engine_truth")
    if isinstance(value, dict):
        value = value.get("ate")
    if value is None:
        if required:
            raise DataError(
                str(path), "engine_truth", "no engine_truth", "generate the pool with a hybrid generator"
            )
        return math.nan
    return float(value)


def _covered(low: float, high: float, truth: float):
    if any(math.isnan(v) for v in (low, high, truth)):
        return pd.NA
    return bool(low <= truth <= high)


# ---------------------------------------------------------------------------------------------
# evaluation A: ATE preservation


def _truth_of(card: dict[str, Any]) -> tuple[float, str | None]:
    truth = card.get("truth") or {}
    return _float(truth.get("ate")), truth.get("kind")


def _ate_rows(
    grid_rows: list[dict[str, Any]],
    dataset: str,
    generator: str,
    rep: int,
    truth: float,
    truth_kind: str | None,
    real_ate: dict[tuple[str, str], float],
    engine_truth: float,
) -> list[dict[str, Any]]:
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
                "covered": _covered(r["ci_low"], r["ci_high"], truth),
                "real_ate": real_ate.get((r["estimator"], r["learner"]), math.nan),
                "status": r["status"],
                "engine_truth": engine_truth,
                "seconds": r["seconds"],
            }
        )
    return rows


def _write_ate_rows(rows: list[dict[str, Any]], out_path: str | Path) -> pd.DataFrame:
    # nullable: coverage is undefined where the dataset has no known truth
    return _write_rows(rows, ATE_COLUMNS, out_path, dtypes={"covered": "boolean"})


def run_real_estimates(
    train_path: str,
    card_path: str,
    params: dict[str, Any],
    seed: int,
    n_jobs: int,
    out_path: str,
    dataset: str,
) -> pd.DataFrame:
    """The estimate grid on the real training table: the ``generator = "real"`` rows of A.

    Run once per dataset and pass the output to :func:`run_ate_preservation` as
    ``real_estimates_path`` so no cell refits the real grid. ``rep`` is 0, ``real_ate`` the
    row's own estimate. ``params`` as in :func:`run_ate_preservation`. Columns: :data:`ATE_COLUMNS`.
    """
    p = _check_params(params, _GRID_DEFAULTS, ["estimators"], "run_real_estimates")
    card, roles = _read_card(card_path)
    truth, truth_kind = _truth_of(card)
    grid_rows = _grid(
        _read_table(train_path, roles), roles, p, derive_seed(seed, "estimate", dataset, "real"), n_jobs
    )
    own = {(r["estimator"], r["learner"]): r["ate"] for r in grid_rows}
    return _write_ate_rows(_ate_rows(grid_rows, dataset, REAL, 0, truth, truth_kind, own, math.nan), out_path)


def _load_real_rows(path: str | Path, estimators: list[str], learners: list[str]) -> list[dict[str, Any]]:
    real = _read_rows(path)
    have = set(zip(real["estimator"], real["learner"], strict=True))
    missing = sorted((e, lrn) for e in estimators for lrn in learners if (e, lrn) not in have)
    if missing:
        raise DataError(
            str(path), "estimator", f"no real-data estimate for {missing}", "rerun the real-data estimates"
        )
    keep = real[real["estimator"].isin(estimators) & real["learner"].isin(learners)]
    return keep[["estimator", "learner", "ate", "se", "ci_low", "ci_high", "status", "seconds"]].to_dict(
        "records"
    )


def run_ate_preservation(
    data_path: str,
    real_train_path: str | None,
    card_path: str,
    params: dict[str, Any],
    seed: int,
    n_jobs: int,
    out_path: str,
    dataset: str,
    generator: str,
    rep: int,
    meta_path: str | None = None,
    real_estimates_path: str | None = None,
) -> pd.DataFrame:
    """Evaluation A: the estimate grid on a synthetic table beside the same grid on real data.

    ``params``: ``estimators`` (list), ``learner`` or ``learners``, ``folds``, ``cross_fit``,
    ``truncation`` (iptw_truncated's cap), ``options`` (see
    :func:`causalsynth.estimate.estimators.estimate_grid`).

    The real-data rows (``generator = "real"``) come from ``real_estimates_path`` (the output of
    :func:`run_real_estimates`) when given, else the grid runs here on ``real_train_path`` with
    a seed derived from ``seed`` and the dataset only. Either way they are repeated in every cell
    (deduplicate when gathering). ``truth`` is the dataset's truth from the card (does synthetic
    data recover the real effect?); ``engine_truth`` is the synthetic population's own known
    effect for hybrid pools, read from ``meta_path`` (default: ``meta.json`` beside
    ``data_path``; NaN when it has none). ``real_ate`` is the same estimator and learner on the
    real data. Columns: :data:`ATE_COLUMNS`.
    """
    p = _check_params(params, _GRID_DEFAULTS, ["estimators"], "run_ate_preservation")
    card, roles = _read_card(card_path)
    truth, truth_kind = _truth_of(card)
    synthetic = _read_table(data_path, roles)
    if real_estimates_path is not None:
        real_rows = _load_real_rows(real_estimates_path, p["estimators"], p["learners"])
    elif real_train_path is not None:
        real_seed = derive_seed(seed, "estimate", dataset, REAL)
        real_rows = _grid(_read_table(real_train_path, roles), roles, p, real_seed, n_jobs)
    else:
        raise ConfigError("run_ate_preservation: give real_train_path or real_estimates_path")
    synth_rows = _grid(
        synthetic, roles, p, derive_seed(seed, "estimate", dataset, generator, rep=rep), n_jobs
    )
    real_ate = {(r["estimator"], r["learner"]): r["ate"] for r in real_rows}
    engine_truth = _engine_truth(meta_path, data_path, required=False)
    rows = _ate_rows(real_rows, dataset, REAL, rep, truth, truth_kind, real_ate, math.nan)
    rows += _ate_rows(synth_rows, dataset, generator, rep, truth, truth_kind, real_ate, engine_truth)
    return _write_ate_rows(rows, out_path)


# ---------------------------------------------------------------------------------------------
# TSTR


def _outcome_score(
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


def run_tstr(
    synthetic_path: str,
    train_path: str,
    holdout_path: str,
    card_path: str,
    params: dict[str, Any],
    seed: int,
    out_path: str,
    dataset: str,
    generator: str,
    rep: int,
    n_jobs: int = 1,
) -> pd.DataFrame:
    """Train the outcome model on synthetic rows, score it on the real holdout.

    ``params``: ``learner`` (default ``random_forest``). ``metric`` is ``auc`` for a binary
    outcome and ``r2`` for a continuous one; ``train_on_real`` is the same model trained on the
    real training table (the ceiling). Columns: :data:`TSTR_COLUMNS`.
    """
    p = _check_params(params, {"learner": "random_forest"}, [], "run_tstr")
    _, roles = _read_card(card_path)
    synthetic = _read_table(synthetic_path, roles)
    train = _read_table(train_path, roles)
    holdout = _read_table(holdout_path, roles)
    value, status = _outcome_score(
        synthetic,
        holdout,
        roles,
        p["learner"],
        derive_seed(seed, "tstr", dataset, generator, rep=rep),
        n_jobs,
    )
    ceiling, real_status = _outcome_score(
        train, holdout, roles, p["learner"], derive_seed(seed, "tstr", dataset, "real"), n_jobs
    )
    if status == "ok" and real_status != "ok":
        status = f"train-on-real: {real_status}"
    row = {
        "dataset": dataset,
        "generator": generator,
        "rep": rep,
        "metric": "auc" if roles.outcome_type == "binary" else "r2",
        "value": value,
        "train_on_real": ceiling,
        "status": status,
    }
    return _write_rows([row], TSTR_COLUMNS, out_path)


# ---------------------------------------------------------------------------------------------
# evaluation B: positivity


def _positivity_truth(card: dict[str, Any]) -> float:
    positivity = card.get("positivity") or {}
    if positivity.get("truth") is not None:
        return float(positivity["truth"])
    return _float((card.get("truth") or {}).get("ate"))


def _paired_sets(paired: pd.DataFrame, set_ids: list[int], path: str) -> dict[int, pd.DataFrame]:
    if "synthetic" not in paired.columns:
        raise DataError(
            path, "synthetic", "column is missing", "mark the rows added by pairing with synthetic = 1"
        )
    if "set" in paired.columns:
        return {s: paired[paired["set"] == s] for s in set_ids}
    if len(set_ids) == 1:
        return {set_ids[0]: paired}
    raise DataError(
        path, "set", "column is missing with several positivity sets", "write the set of every row"
    )


def run_positivity(
    positivity_path: str,
    paired_path: str,
    card_path: str,
    params: dict[str, Any],
    seed: int,
    n_jobs: int,
    out_path: str,
    dataset: str,
    rep: int,
) -> pd.DataFrame:
    """Evaluation B: raw, truncated, clipped and paired estimates on each positivity set.

    * ``raw``: every estimator on the real set.
    * ``truncated``: the estimators whose estimate uses g (not ``iptw_truncated``, itself a
      truncation), every arm weight capped at ``truncation`` (paper: 10).
    * ``clipped``: the same estimators with g clipped to [delta_n, 1 - delta_n].
    * ``paired``: every estimator on the union from pairing (``paired_path``; its column
      ``synthetic`` marks the added rows and ``set`` the positivity set).

    raw, truncated and clipped share one nuisance fit per set and learner. ``n_extreme`` counts
    the real units whose fitted g (the estimators' own) is below ``threshold`` or above
    1 - ``threshold`` (default 0.001, the paper's pairing threshold); ``n_added`` the synthetic
    rows of the paired set (0 for the other methods). ``truth`` is the card's positivity truth,
    else its truth. ``params``: the grid params of :func:`run_ate_preservation` and
    ``threshold``. Columns: :data:`POSITIVITY_COLUMNS`.
    """
    p = _check_params(
        params, {**_GRID_DEFAULTS, "threshold": DEFAULT_EXTREME_THRESHOLD}, ["estimators"], "run_positivity"
    )
    card, roles = _read_card(card_path)
    truth = _positivity_truth(card)
    positivity = read_parquet(positivity_path)
    if "set" not in positivity.columns:
        raise DataError(positivity_path, "set", "column is missing", "rerun prepare_dataset")
    set_ids = sorted(int(s) for s in positivity["set"].unique())
    paired_sets = _paired_sets(read_parquet(paired_path), set_ids, paired_path) if set_ids else {}
    base = p["options"]
    weighting = [
        name
        for name in p["estimators"]
        if ESTIMATORS.get(name).uses_propensity and not ESTIMATORS.get(name).positivity_remedy
    ]
    variants = {
        "raw": (p["estimators"], base),
        "truncated": (weighting, {**base, "weight_cap": base["truncation_cap"]}),
        "clipped": (weighting, {**base, "clip": True}),
    }
    grid = dict(folds=p["folds"], cross_fit=p["cross_fit"], n_jobs=n_jobs)
    rows = []
    for s in set_ids:
        real = check_table(positivity[positivity["set"] == s], roles, source=f"{positivity_path} (set {s})")
        paired_raw = paired_sets[s]
        n_added = int(paired_raw["synthetic"].astype(int).sum())
        paired = check_table(paired_raw, roles, source=f"{paired_path} (set {s})")
        set_seed = derive_seed(seed, "positivity", dataset, rep=f"{rep}:{s}")
        for learner in p["learners"]:
            shared = fit_shared_nuisances(real, roles, learner, seed=set_seed, **grid)
            n_extreme = math.nan
            if shared.nuisances is not None:
                g = shared.nuisances.g
                n_extreme = int(((g < p["threshold"]) | (g > 1 - p["threshold"])).sum())
            results = {
                method: estimate_grid(
                    real, roles, names, learner, seed=set_seed, options=opts, shared=shared, **grid
                )
                for method, (names, opts) in variants.items()
            }
            results["paired"] = estimate_grid(
                paired, roles, p["estimators"], learner, seed=set_seed, options=base, **grid
            )
            for method in POSITIVITY_METHODS:
                for r in results[method]:
                    rows.append(
                        {
                            "dataset": dataset,
                            "rep": rep,
                            "set": s,
                            "method": method,
                            **{k: r[k] for k in ("estimator", "learner", "ate", "se", "ci_low", "ci_high")},
                            "truth": truth,
                            "n_extreme": n_extreme,
                            "n_added": n_added if method == "paired" else 0,
                            "status": r["status"],
                        }
                    )
    return _write_rows(rows, POSITIVITY_COLUMNS, out_path)


# ---------------------------------------------------------------------------------------------
# evaluation C: the simulation engine


def _get_dataset(name: str, options: dict[str, Any] | None = None):
    from causalsynth.data import get_dataset

    opts = dict(options or {})
    return get_dataset(name, opts.pop("loader", None), **opts)


def _engine_replicate(
    sample: pd.DataFrame, roles: Roles, n: int, replicate: int, p: dict[str, Any], seed: int
) -> list[dict[str, Any]]:
    return [{"n": n, "replicate": replicate, **r} for r in _grid(sample, roles, p, seed, n_jobs=1)]


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
    n and the replicate. Writes :data:`ENGINE_COLUMNS` to ``out_path`` and, when
    ``replicates_path`` is given, every replicate's estimate (:data:`ENGINE_REPLICATE_COLUMNS`).
    """
    p = _check_params(
        params, {**_GRID_DEFAULTS, "n_grid": None, "n": None}, ["reps", "estimators"], "run_engine"
    )
    if (p["n_grid"] is None) == (p["n"] is None):
        raise ConfigError("run_engine: give exactly one of 'n_grid' (a list of sizes) and 'n' (one size)")
    n_grid = [int(n) for n in (p["n_grid"] if p["n_grid"] is not None else [p["n"]])]
    reps = int(p["reps"])
    if not n_grid or min(n_grid) < 2 or reps < 1:
        raise ConfigError(f"run_engine: sizes must be >= 2 and reps >= 1, got n_grid={n_grid}, reps={reps}")
    if card_path is not None:
        roles = _read_card(card_path)[1]
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
        pool = _read_table(source, roles)
        truth = _engine_truth(meta_path, source, required=True)

        def draw(n: int, draw_seed: int) -> pd.DataFrame:
            rng = np.random.default_rng(draw_seed)
            idx = rng.choice(len(pool), size=n, replace=n > len(pool))
            return pool.iloc[idx].reset_index(drop=True)

    def tasks() -> Iterator:
        # samples are drawn here, lazily, so workers receive n rows and not the whole pool
        for n in n_grid:
            for r in range(reps):
                rep_seed = derive_seed(seed, "engine", dataset, engine, rep=f"n={n}:r={r}")
                sample = draw(n, derive_seed(rep_seed, "sample"))
                yield delayed(_engine_replicate)(sample, roles, n, r, p, rep_seed)

    per_replicate = Parallel(n_jobs=n_jobs)(tasks())
    replicates = pd.DataFrame([row for rows in per_replicate for row in rows])
    replicates.insert(0, "engine", engine)
    replicates.insert(0, "dataset", dataset)
    if replicates_path is not None:
        _write_rows(replicates.to_dict("records"), ENGINE_REPLICATE_COLUMNS, replicates_path)
    summary = summarize_replicates(replicates, truth)
    summary.insert(0, "engine", engine)
    summary.insert(0, "dataset", dataset)
    return _write_rows(summary.to_dict("records"), ENGINE_COLUMNS, out_path)


def engine_ranking(engine_table: pd.DataFrame | list[dict[str, Any]]) -> pd.DataFrame:
    """Spearman correlation between each engine's estimator RMSEs and the truth engine's.

    RMSEs are averaged over n per (estimator, learner) first; the correlation runs over the
    (estimator, learner) pairs both engines have a finite RMSE for. NaN when fewer than two pairs
    remain, when either side is constant, or when the dataset has no truth engine.
    Columns: :data:`RANKING_COLUMNS`.
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
    return pd.DataFrame(rows, columns=RANKING_COLUMNS)
