"""The hybrid stage's jobs: g and h fitted once per (dataset, replicate), and each base's pool
drawn from them (the method: :mod:`causalsynth.hybrid.model`).

The pipeline fits g and h once per (dataset, replicate) (:func:`run_fit_mechanisms`) and every
base's hybrid of that replicate loads them (``run_hybrid(..., mechanisms_path=...)``). Why: the
models are learned on the real training table alone, so refitting them per base only adds noise
between bases; shared, the hybrids of one replicate differ only by their covariates (a paired
comparison of the bases), and the forests are fitted once instead of once per base.

One job builds every pool of a dataset (:func:`run_hybrid_sets`, rule ``hybrid``): a pool takes
about 0.4 s and a fresh process about 2.6 s to import scikit-learn and the package, so one job
per (dataset, hybrid, replicate) and one per fit spent most of their 128 jobs starting up. Each
pool keeps its own seed, so its rows are those a job of its own would write. The job's folder
holds the files under the names :func:`pool_files` and :func:`mechanism_files` give.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from causalsynth.core.cells import RepCell, rep_cells
from causalsynth.core.errors import ComponentFailure, ConfigError, DataError
from causalsynth.core.io import atomic_path, read_json, read_parquet, write_json, write_parquet
from causalsynth.core.layout import mechanism_files, pool_files
from causalsynth.core.progress import Progress
from causalsynth.core.provenance import CORE_PACKAGES, provenance_record
from causalsynth.core.roles import Roles, card_truth, read_card
from causalsynth.core.schema import resolve_section
from causalsynth.core.seeds import derive_seed
from causalsynth.core.splits import SplitPaths, for_rep
from causalsynth.core.vocabulary import hybrid_base
from causalsynth.hybrid.model import POOL_EXTRA_COLUMNS, HybridGenerator, engine_truth, propensity_extremes

__all__ = [
    "load_mechanisms",
    "read_engine_truth",
    "run_fit_mechanisms",
    "run_hybrid",
    "run_hybrid_sets",
]


def _model_from_params(roles: Roles, params: dict[str, Any], seed: int, n_jobs: int) -> HybridGenerator:
    return HybridGenerator(
        roles,
        learner=params["learner"],
        assignment=params["assignment"],
        p_treat=params["p_treat"],
        n_folds=params["n_folds"],
        random_state=seed,
        n_jobs=n_jobs,
        outcome_model=params["outcome_model"],
    )


_MECHANISM_SETTINGS = ("learner", "assignment", "p_treat", "n_folds", "outcome_model")


def run_fit_mechanisms(
    train_path: str,
    card_path: str,
    params: dict[str, Any],
    seed: int,
    n_jobs: int,
    out_model: str,
    out_meta: str,
    dataset: str,
) -> dict[str, Any]:
    """Fit g and h on the real training table once, for every base's hybrid of one replicate.

    Writes the fitted :class:`HybridGenerator` (joblib) to ``out_model`` and its settings, seed
    and fit time to ``out_meta``; ``params`` is the ``hybrid`` config block.
    """
    import joblib

    params = resolve_section(params, "hybrid", "run_fit_mechanisms")
    _, roles = read_card(card_path)
    train = roles.validate(read_parquet(train_path), str(train_path), reset_index=False)
    model = _model_from_params(roles, params, seed, n_jobs)
    try:
        model.fit(train)
    except ComponentFailure as err:
        raise ComponentFailure(f"dataset '{dataset}', hybrid mechanisms: {err}") from err
    with atomic_path(out_model) as tmp:
        joblib.dump(model, tmp)
    meta = {
        "dataset": dataset,
        "params": {key: getattr(model, key) for key in _MECHANISM_SETTINGS},
        "seed": int(seed),
        "n_train": len(train),
        "fit_seconds": model.fit_seconds_,
        **provenance_record(CORE_PACKAGES),
    }
    write_json(meta, out_meta)
    return meta


def load_mechanisms(path: str | Path, roles: Roles, params: dict[str, Any]) -> HybridGenerator:
    """The models :func:`run_fit_mechanisms` wrote, checked against the dataset and the config."""
    import joblib

    model = joblib.load(path)
    # a model pickled before the constructor took random_state lacks it: refit, never guess
    if (
        not isinstance(model, HybridGenerator)
        or getattr(model, "outcome_model_", None) is None
        or not hasattr(model, "random_state")
    ):
        raise DataError(str(path), "model", "not a fitted hybrid model", "rerun the hybrid rule")
    if model.roles.to_dict() != roles.to_dict():
        raise DataError(
            str(path),
            "roles",
            "fitted for other columns than the dataset card's",
            "rerun the hybrid rule",
        )
    for key in _MECHANISM_SETTINGS:
        # a model written before a setting existed has no attribute for it: refit, never guess
        if getattr(model, key, None) != params[key]:
            raise ConfigError(
                f"{path}: the hybrid models were fitted with {key}={getattr(model, key, None)!r}, the config "
                f"asks for {params[key]!r}; rerun the hybrid rule"
            )
    return model


def run_hybrid(
    train_path: str,
    card_path: str,
    covariates_path: str | None,
    params: dict[str, Any],
    seed: int,
    n_jobs: int,
    out_pool: str,
    out_meta: str,
    dataset: str,
    generator: str,
    mechanisms_path: str | None = None,
) -> dict[str, Any]:
    """Build one hybrid pool; write ``pool.parquet`` and ``meta.json``; return the meta.

    ``mechanisms_path``: g and h fitted by :func:`run_fit_mechanisms`, loaded instead of fitted
    here (a base hybrid only; meta ``mechanisms`` records which, and ``fit_seconds`` is the
    shared fit's).

    ``covariates_path`` is the base generator's DCR-filtered set (``None`` for
    ``hybrid_real``, which bootstraps the training rows and takes cross-fitted predictions for
    them; meta ``nuisance_predictions`` records which). ``params``: the ``hybrid``
    config block (defaults from the schema): ``learner``, ``assignment`` (``learned`` or
    ``randomized``), ``p_treat``, ``n_rows`` (pool size; null: all base rows, or n_train for
    ``hybrid_real``; a base with fewer rows gives them all), ``n_folds``. The pool has the role columns (canonical dtypes) plus float columns
    ``mu0``, ``mu1`` (h(0, W~), h(1, W~)) and ``propensity`` (the assignment probability
    used in the draw).
    """
    params = resolve_section(params, "hybrid", "run_hybrid")
    base = hybrid_base(generator)
    if (base is None) != (covariates_path is None):
        raise ConfigError(
            f"generator '{generator}' needs "
            + ("no covariates file (it bootstraps the real rows)" if base is None else "a covariates file")
        )
    if base is None and mechanisms_path is not None:
        raise ConfigError(f"generator '{generator}' cross-fits its own models and takes no mechanisms file")
    n_rows = params.get("n_rows")
    if n_rows is not None and not (isinstance(n_rows, int | np.integer) and n_rows > 0):
        raise ConfigError(f"hybrid n_rows must be a positive integer or null, got {n_rows!r}")

    where = f"dataset '{dataset}', generator '{generator}'"
    card, roles = read_card(card_path)
    truth, truth_kind = card_truth(card)
    train = roles.validate(read_parquet(train_path), str(train_path), reset_index=False)

    pick = None
    if base is None:
        n_base = len(train)
        size = n_rows if n_rows is not None else n_base
        pick = np.random.default_rng(derive_seed(seed, "hybrid.bootstrap")).integers(0, n_base, size=size)
    else:
        raw = read_parquet(covariates_path)
        covariates = roles.validate(raw, str(covariates_path), roles.covariate_names, reset_index=False)
        n_base = len(covariates)
        if n_base == 0:
            raise ComponentFailure(
                f"{where}: the base generator '{base}' left no usable covariate rows in {covariates_path} "
                "(all rows invalid or removed by the DCR filter); loosen the DCR thresholds or fix the base"
            )
        if n_rows is not None and n_rows < n_base:
            keep = np.random.default_rng(derive_seed(seed, "hybrid.subsample")).choice(
                n_base, n_rows, replace=False
            )
            covariates = covariates.iloc[np.sort(keep)].reset_index(drop=True)

    if mechanisms_path is not None:
        model = load_mechanisms(mechanisms_path, roles, params)
        model.n_jobs = n_jobs
        mechanisms = {"shared": True, "path": str(mechanisms_path), "seed": int(model.random_state)}
    else:
        model = _model_from_params(roles, params, seed, n_jobs)
        mechanisms = {"shared": False, "seed": int(seed)}
    try:
        if mechanisms_path is None:
            model.fit(train, out_of_fold=pick is not None)
        t0 = time.perf_counter()
        if pick is None:
            pool = model.sample(covariates, derive_seed(seed, "hybrid.draw"))
        else:
            pool = model.sample_training_rows(pick, derive_seed(seed, "hybrid.draw"))
        pool_truth = engine_truth(pool, roles)
    except ComponentFailure as err:
        raise ComponentFailure(f"{where}: {err}") from err
    sample_seconds = time.perf_counter() - t0
    pool = pool[[*roles.columns, *POOL_EXTRA_COLUMNS]]

    diff = pool["mu1"].to_numpy() - pool["mu0"].to_numpy()
    treated = pool[roles.treatment].to_numpy() == 1
    if pick is None:
        predictions: dict[str, Any] = {
            "method": "fit_on_all_training_rows",
            "description": "g and h fitted once on all real training rows, predicted at the base's covariates",
        }
    else:
        copied_a = train[roles.treatment].to_numpy(dtype=np.int64)[pick]
        predictions = {
            "method": "cross_fitted",
            "n_folds": model.n_folds,
            "folds": "stratified by treatment over the real training rows",
            "description": "each bootstrap row keeps the out-of-fold mu0, mu1 and propensity of the "
            "real row it copies, from models fitted without that row",
            "share_treatment_equals_copied": float((pool[roles.treatment].to_numpy() == copied_a).mean()),
            "mean_propensity_copied_treated": (
                float(pool["propensity"].to_numpy()[copied_a == 1].mean()) if (copied_a == 1).any() else None
            ),
            "mean_propensity_copied_control": (
                float(pool["propensity"].to_numpy()[copied_a == 0].mean()) if (copied_a == 0).any() else None
            ),
        }
    meta = {
        "dataset": dataset,
        "generator": generator,
        "base": base,
        "params": {
            "learner": model.learner,
            "assignment": model.assignment,
            "p_treat": model.p_treat,
            "n_rows": n_rows,
            "n_folds": model.n_folds,
            "outcome_model": model.outcome_model,
        },
        "seed": int(seed),
        "learner": model.learner,
        "assignment": model.assignment,
        "estimand": roles.estimand,
        "engine_truth": pool_truth,
        # how far the mechanisms alone move the effect, before the covariates matter
        "truth": None if math.isnan(truth) else truth,
        "truth_kind": truth_kind,
        "engine_truth_minus_truth": None if math.isnan(truth) else pool_truth - truth,
        "pool_ate": float(diff.mean()),
        "pool_att": float(diff[treated].mean()) if treated.any() else None,
        "n_rows": len(pool),
        "n_base_rows": n_base,
        "n_train": len(train),
        "share_treated": float(treated.mean()),
        "outcome_noise": "bernoulli" if roles.outcome_type == "binary" else "out_of_fold_residuals_by_arm",
        "nuisance_predictions": predictions,
        "mechanisms": mechanisms,
        "propensity_extremes": propensity_extremes(pool["propensity"].to_numpy()),
        "releasable": base is not None,
        "fit_seconds": model.fit_seconds_,
        "sample_seconds": sample_seconds,
        **provenance_record(CORE_PACKAGES),
    }
    write_parquet(pool, out_pool)
    write_json(meta, out_meta)
    return meta


def read_engine_truth(meta_path: str | Path | None, table_path: str | Path, required: bool) -> float:
    """The known ATE of a hybrid pool, from ``meta_path`` or the ``meta.json`` beside the table."""
    path = Path(meta_path) if meta_path is not None else Path(table_path).parent / "meta.json"
    if not path.exists():
        if required:
            raise DataError(str(path), "engine_truth", "the pool's meta JSON is missing", "pass meta_path")
        return math.nan
    value = read_json(path).get("engine_truth")
    if value is None:
        if required:
            raise DataError(
                str(path), "engine_truth", "no engine_truth", "generate the pool with a hybrid generator"
            )
        return math.nan
    return float(value)


def run_hybrid_sets(
    folder: str,
    cells: Sequence[RepCell | Mapping[str, Any]],
    mechanism_seeds: Mapping[int, int],
    train_path: SplitPaths,
    card_path: SplitPaths,
    params: dict[str, Any],
    n_jobs: int,
    dataset: str,
) -> list[dict[str, Any]]:
    """Every hybrid pool of a dataset, written under ``folder`` (:func:`pool_files`).

    ``cells``: one :class:`~causalsynth.core.cells.RepCell` per pool (the hybrid, its replicate,
    its seed and, for a hybrid with a base, the base's DCR-filtered set as ``data``;
    ``hybrid_real`` has none). g and h are fitted once per replicate with a base hybrid, with
    ``mechanism_seeds[rep]``, and written beside the pools (:func:`mechanism_files`);
    ``train_path`` and ``card_path`` map each replicate to its draw (:mod:`causalsynth.core.splits`).
    Returns the pools' metas in the cells' order.
    """
    cells = rep_cells(cells, "run_hybrid_sets", needs=("seed",))
    unbased = [c.generator for c in cells if (hybrid_base(c.generator) is None) != (c.data is None)]
    if unbased:
        raise ConfigError(
            f"run_hybrid_sets: {unbased}: a hybrid with a base needs its base's covariates (data), "
            "the oracle none"
        )
    Path(folder).mkdir(parents=True, exist_ok=True)
    mechanisms: dict[int, str] = {}
    progress = Progress(f"hybrid {dataset}", len(cells))
    metas = []
    for cell in cells:
        hybrid, rep, seed, cov = cell.generator, cell.rep, cell.seed, cell.data
        train, card = for_rep(train_path, rep), for_rep(card_path, rep)
        if cov is not None and rep not in mechanisms:
            model_path, model_meta = mechanism_files(folder, rep)
            run_fit_mechanisms(
                train, card, params, mechanism_seeds[rep], n_jobs, model_path, model_meta, dataset
            )
            mechanisms[rep] = model_path
        out_pool, out_meta = pool_files(folder, hybrid, rep)
        metas.append(
            run_hybrid(
                train, card, cov, params, seed, n_jobs, out_pool, out_meta, dataset, hybrid,
                mechanisms_path=mechanisms.get(rep) if cov is not None else None,
            )
        )  # fmt: skip
        progress.step()
    return metas
