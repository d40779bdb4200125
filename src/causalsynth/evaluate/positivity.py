"""Rule positivity, evaluation B: estimates on data with extreme propensities, with and without
synthetic pairing and a baseline that gets the same synthetic rows.

Methods (``vocabulary.POSITIVITY_METHODS``) and the population each estimate averages over
(:data:`TARGET`, the table's ``target`` column):

* ``raw``, ``truncated``, ``clipped``: the real set alone (target: its rows).
* ``borrowed``, the fair baseline of pairing: the outcome model h is fitted on the real rows plus
  the synthetic rows pairing added (the same rows ``paired`` gets), g on the real rows alone, and
  the estimate averages over the real rows. It borrows the pool's outcome information exactly as
  pairing does, without pairing's change of the propensity: the added rows' treatments were set
  by the matching rule, so they say nothing about how the real units were treated.
* ``paired``: g and h fitted on the union of real and synthetic rows (pairing's nuisances), the
  estimate averaged over the real rows, the population the truth and a user refer to.
* ``paired_union``: the same nuisances, the estimate averaged over the union, as in the papers. Its
  target is not the real population: the added rows sit where the real set has extreme
  propensities, so under effect heterogeneity its estimand differs from the truth it is scored
  against.

So ``raw -> borrowed`` is what the pool's outcome information is worth, ``borrowed -> paired``
what pairing's propensity change adds, and ``paired -> paired_union`` the change of target.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import pandas as pd

from causalsynth.core.errors import DataError
from causalsynth.core.io import read_parquet
from causalsynth.core.progress import Progress
from causalsynth.core.roles import Roles, read_card
from causalsynth.core.schema import default
from causalsynth.core.seeds import derive_seed
from causalsynth.core.vocabulary import DIAGNOSTIC_COLUMNS, POSITIVITY, POSITIVITY_METHODS
from causalsynth.estimate.estimators import ESTIMATORS
from causalsynth.estimate.grid import (
    SharedNuisances,
    as_float,
    check_params,
    estimate_grid,
    fit_shared_nuisances,
    grid_defaults,
    write_rows,
)
from causalsynth.estimate.nuisance import Nuisances
from causalsynth.hybrid.pairing import synthetic_share

__all__ = ["TARGET", "run_positivity"]

# the rows each method's estimate averages over: the real set, or its union with the added rows
TARGET = {m: "union" if m == "paired_union" else "real" for m in POSITIVITY_METHODS}
# the methods whose nuisances see the synthetic rows (all of them for paired*, h only for borrowed)
USES_SYNTHETIC = ("borrowed", "paired", "paired_union")


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


def _union(real: pd.DataFrame, paired_raw: pd.DataFrame, roles: Roles, path: str, s: int) -> pd.DataFrame:
    """The paired set as the real rows (in ``real``'s order) followed by the added rows.

    The real-row methods take their rows' nuisances by position, so the paired set's real rows
    must be the positivity set's, unchanged.
    """
    flag = pd.to_numeric(paired_raw["synthetic"], errors="coerce")
    if not flag.isin((0, 1)).all():
        raise DataError(path, "synthetic", f"set {s} holds values other than 0 and 1", "rerun pairing")
    union = pd.concat([paired_raw[flag == 0], paired_raw[flag == 1]])
    union = roles.validate(union, f"{path} (set {s})")
    head = union.iloc[: len(real)].reset_index(drop=True)
    if int((flag == 0).sum()) != len(real) or not head.equals(real):
        raise DataError(
            path,
            "synthetic",
            f"the rows with synthetic = 0 of set {s} are not that set's rows of positivity.parquet",
            "rerun pairing on the current positivity.parquet",
        )
    return union


def _derived(parts: list[SharedNuisances], make, learner: str) -> SharedNuisances:
    """Nuisances built from fitted ones (``make(*nuisances)``), or the first failure's status."""
    seconds = sum(p.seconds for p in parts)
    for p in parts:
        if p.nuisances is None:
            return SharedNuisances(None, p.status, seconds, learner)
    return SharedNuisances(make(*(p.nuisances for p in parts)), "ok", seconds, learner)


def _real_rows(union: Nuisances, n_real: int) -> Nuisances:
    """Pairing's nuisances at the real rows: the estimators then average over those rows only."""
    keep = slice(0, n_real)
    return dataclasses.replace(
        union,
        **{k: getattr(union, k)[keep] for k in ("a", "y", "g", "q0", "q1", "fold")},
    )


def _borrowed(real: Nuisances, union: Nuisances) -> Nuisances:
    """g of the real set's fit, h of the union's fit, at the real rows.

    Both are out of fold (each from its own folds) when cross-fitted, so no row's prediction
    comes from a model that saw it.
    """
    at_real = _real_rows(union, real.n)
    return dataclasses.replace(real, q0=at_real.q0, q1=at_real.q1)


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
    """Evaluation B on each positivity set: the methods of the module docstring.

    * ``raw``: every estimator on the real set.
    * ``truncated``: the estimators whose estimate uses g (not ``iptw_truncated``, itself a
      truncation), every arm weight capped at ``truncation`` (paper: 10).
    * ``clipped``: the same estimators with g clipped to [delta_n, 1 - delta_n].
    * ``borrowed``, ``paired``: every estimator on the shared nuisances, averaged over the real
      rows; not ``dml``, which fits its own nuisances on the whole table it is given.
    * ``paired_union``: every estimator on the union from pairing (``paired_path``; its column
      ``synthetic`` marks the added rows and ``set`` the positivity set).

    One nuisance fit per set and learner on the real set serves raw, truncated, clipped and
    borrowed's g; one on the union serves paired_union, paired and borrowed's h. ``n_extreme``
    counts the real units whose fitted g (the estimators' own) is below ``threshold`` or above
    1 - ``threshold`` (default 0.001, the paper's pairing threshold); ``n_added`` the synthetic
    rows the method's nuisances saw (0 for raw, truncated, clipped); ``target`` the rows the
    estimate averages over (``real`` or ``union``); ``synthetic_share`` the share of synthetic
    rows among those, ``synthetic_share_fit`` among the rows its outcome model was fitted on.
    ``truth`` is the card's positivity truth, else its truth: the real population's effect,
    for every target. ``share_clipped`` ... ``warning`` are the overlap diagnostics of the
    weights each estimate used (:mod:`causalsynth.estimate.weights`): the clipped method's are
    those of the clipped g, the truncated method's those of the capped weights, the real-row
    methods' those at the real rows. ``params``: the grid params of
    :func:`~causalsynth.evaluate.ate.ate_preservation_rows` and ``threshold``. Columns: ``vocabulary.POSITIVITY``.
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
    on_nuisances = [name for name in p["estimators"] if ESTIMATORS.get(name).uses_nuisances]
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
        paired = _union(real, paired_sets[s], roles, paired_path, s)
        n_real, n_added = len(real), len(paired) - len(real)
        share = synthetic_share(n_real, n_added)
        set_seed = derive_seed(seed, "set", rep=s)
        for learner in p["learners"]:
            shared = fit_shared_nuisances(real, roles, learner, seed=set_seed, **grid)
            union_shared = fit_shared_nuisances(paired, roles, learner, seed=set_seed, **grid)
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
            on_real = {
                "borrowed": _derived([shared, union_shared], _borrowed, learner),
                "paired": _derived([union_shared], functools.partial(_real_rows, n_real=n_real), learner),
            }
            for method, derived in on_real.items():
                results[method] = estimate_grid(
                    real, roles, on_nuisances, learner, seed=set_seed, options=base, shared=derived, **grid
                )
            results["paired_union"] = estimate_grid(
                paired,
                roles,
                p["estimators"],
                learner,
                seed=set_seed,
                options=base,
                shared=union_shared,
                **grid,
            )
            for method in POSITIVITY_METHODS:
                uses = method in USES_SYNTHETIC
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
                            "n_added": n_added if uses else 0,
                            "target": TARGET[method],
                            "synthetic_share": share if TARGET[method] == "union" else 0.0,
                            "synthetic_share_fit": share if uses else 0.0,
                            "status": r["status"],
                            **{k: r[k] for k in DIAGNOSTIC_COLUMNS},
                        }
                    )
            progress.step()
    return write_rows(
        rows, list(POSITIVITY.columns), out_path, dtypes={"warning": "string", "target": "string"}
    )
