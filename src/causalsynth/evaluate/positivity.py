"""Rule positivity, evaluation B: raw, truncated, clipped and paired estimates on data with
extreme propensities."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from causalsynth.core.errors import DataError
from causalsynth.core.io import read_parquet
from causalsynth.core.progress import Progress
from causalsynth.core.roles import read_card
from causalsynth.core.schema import default
from causalsynth.core.seeds import derive_seed
from causalsynth.core.vocabulary import POSITIVITY, POSITIVITY_METHODS
from causalsynth.estimate.estimators import ESTIMATORS
from causalsynth.estimate.grid import (
    as_float,
    check_params,
    estimate_grid,
    fit_shared_nuisances,
    grid_defaults,
    write_rows,
)
from causalsynth.estimate.real import DIAGNOSTICS


def _positivity_truth(card: dict[str, Any]) -> float:
    positivity = card.get("positivity") or {}
    if positivity.get("truth") is not None:
        return float(positivity["truth"])
    return as_float((card.get("truth") or {}).get("ate"))


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
    else its truth. ``share_clipped`` ... ``warning`` are the overlap diagnostics of the weights
    each estimate used (:mod:`causalsynth.estimate.weights`): the clipped method's are those of
    the clipped g, the truncated method's those of the capped weights. ``params``: the grid params of :func:`run_ate_preservation` and
    ``threshold``. Columns: ``vocabulary.POSITIVITY``.
    """
    p = check_params(
        params,
        {**grid_defaults(), "threshold": default("pairing", "threshold")},
        ["estimators"],
        "run_positivity",
    )
    card, roles = read_card(card_path)
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
    progress = Progress("positivity study: (set, learner) cells", len(set_ids) * len(p["learners"]))
    for s in set_ids:
        real = roles.validate(positivity[positivity["set"] == s], f"{positivity_path} (set {s})")
        paired_raw = paired_sets[s]
        n_added = int(paired_raw["synthetic"].astype(int).sum())
        paired = roles.validate(paired_raw, f"{paired_path} (set {s})")
        set_seed = derive_seed(seed, "set", rep=s)
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
                            **{k: r[k] for k in DIAGNOSTICS},
                        }
                    )
            progress.step()
    return write_rows(rows, list(POSITIVITY.columns), out_path, dtypes={"warning": "string"})
