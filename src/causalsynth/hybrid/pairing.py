"""Rule pairing: synthetic pairing for positivity violations.

On observational data with extreme propensities, the propensity g is fitted on the real set
and predicted in-sample (as in the paper). Every real unit with g(W) < threshold (paper:
0.001) gets the nearest unused hybrid unit with A~ = 1, every unit with g(W) > 1 - threshold
the nearest unused hybrid unit with A~ = 0, by Euclidean distance in covariates standardized
with an encoder fitted on the real set (:class:`CovariateEncoder`). The added units are
appended to the real set and flagged ``synthetic = 1``.

Estimand (the card's ``estimand``): under the ATE both sides are paired. Under the ATT only
the high side is: units with g(W) > 1 - threshold get synthetic controls, and units with
g(W) < threshold get nothing. Why: the ATT is defined on the treated population, so adding
synthetic treated rows would change the target itself (on lalonde_cps, twins for thousands of
CPS controls), while a low-propensity unit lies where controls abound, and the ATT needs no
treated comparison for a control. The skipped units are counted (``n_skipped_low``).

Matching order (deterministic): within each arm, pairs are formed greedily in increasing
order of distance over all (extreme unit, candidate) pairs, i.e. the closest remaining pair
is always taken first; ties go to the earlier real row, then to the earlier pool row. Each
hybrid unit is used at most once per set (sets are paired independently). When no unused
hybrid unit of the needed arm is left, the real unit is a counted miss.

Target population: the paired set is the union of the real rows and the added ones, and
``synthetic_share`` (per set and in total in the JSON) is the added rows' share of it. The union
is not the population a user asks about: the added rows sit where the real set has extreme
propensities. The positivity study (:mod:`causalsynth.evaluate.positivity`) therefore averages
its ``paired`` estimate over the real rows, with nuisances fitted on the union, and keeps the
papers' average over the union as ``paired_union``.

The two classical baselines it is compared with (weight truncation and propensity clipping)
live with the estimators, in :mod:`causalsynth.estimate.weights`.
"""

from __future__ import annotations

import heapq
import time
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from causalsynth.core.encoding import CovariateEncoder
from causalsynth.core.errors import ComponentFailure, ConfigError, DataError
from causalsynth.core.io import read_parquet, write_json, write_parquet
from causalsynth.core.learners import LEARNERS, make_learner
from causalsynth.core.provenance import CORE_PACKAGES, provenance_record
from causalsynth.core.roles import Roles, read_card
from causalsynth.core.schema import default, resolve_section
from causalsynth.core.seeds import derive_seed
from causalsynth.core.threads import limit_threads

__all__ = [
    "SyntheticPairing",
    "greedy_nearest_matching",
    "run_pairing",
    "skipped_sides",
    "synthetic_share",
]


def synthetic_share(n_real: int, n_added: int) -> float | None:
    """The added rows' share of a paired set of ``n_real`` real rows (None for an empty set)."""
    total = n_real + n_added
    return n_added / total if total else None


def skipped_sides(estimand: str) -> list[str]:
    """Sides left unpaired: under the ATT, ``low`` (its units would get synthetic treated rows)."""
    # an ATT's target population is the treated: synthetic treated rows would redefine it
    return ["low"] if estimand == "ATT" else []


# ----------------------------------------------------------------------------- matching


def greedy_nearest_matching(units: np.ndarray, candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Match each unit to a distinct candidate, closest pairs first.

    Returns ``(match, distance)``: ``match[i]`` is the candidate row given to unit ``i`` or
    -1 (a miss: all candidates were taken), ``distance[i]`` the Euclidean distance (NaN for a
    miss). The closest remaining (unit, candidate) pair is always taken next; ties go to the
    smaller unit index, then the smaller candidate index. Neighbours come from an exact
    k-d tree, queried again with twice the k when a unit's list runs out; neighbours tied
    with the k-th are only used once the larger query shows them all.
    """
    units = np.asarray(units, dtype=float)
    candidates = np.asarray(candidates, dtype=float)
    n_u, n_c = len(units), len(candidates)
    match = np.full(n_u, -1, dtype=np.int64)
    distance = np.full(n_u, np.nan)
    if n_u == 0 or n_c == 0:
        return match, distance
    if units.shape[1] == 0:  # no covariates: every candidate is as close as any other
        k = min(n_u, n_c)
        match[:k] = np.arange(k)
        distance[:k] = 0.0
        return match, distance
    tree = cKDTree(candidates)
    k_used = np.zeros(n_u, dtype=np.int64)
    lists: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def complete(i: int, d: np.ndarray, j: np.ndarray, k: int) -> int:
        """Keep the neighbours known to be complete; return how many there are."""
        order = np.lexsort((j, d))  # ties by candidate index, whatever order the tree returns
        d, j = d[order], j[order]
        if k < n_c:
            # a candidate tied with the k-th distance may have been left out: keep only closer ones
            inside = d < d[-1]
            d, j = d[inside], j[inside]
        k_used[i] = k
        lists[i] = d, j
        return d.size

    def extend(i: int, need: int) -> None:
        """Query until unit i has more than ``need`` neighbours (known ones stay a prefix)."""
        k = int(k_used[i])
        while True:
            k = min(n_c, 2 * k)
            d, j = tree.query(units[i], k=k)
            if complete(i, np.atleast_1d(d), np.atleast_1d(j), k) > need or k == n_c:
                return

    k0 = min(n_c, 8)
    d0, j0 = tree.query(units, k=k0)
    d0, j0 = d0.reshape(n_u, k0), j0.reshape(n_u, k0)
    for i in range(n_u):
        if not complete(i, d0[i], j0[i], k0):
            extend(i, 0)
    pointer = np.zeros(n_u, dtype=np.int64)
    heap = [(lists[i][0][0], i, int(lists[i][1][0])) for i in range(n_u)]
    heapq.heapify(heap)
    used = np.zeros(n_c, dtype=bool)
    n_used = 0
    while heap and n_used < n_c:
        dist, i, j = heapq.heappop(heap)
        if not used[j]:
            used[j] = True
            n_used += 1
            match[i] = j
            distance[i] = dist
            continue
        # unit i's next candidate; while some candidate is unused, every list still has one
        pointer[i] += 1
        if pointer[i] >= lists[i][1].size:
            extend(i, int(pointer[i]))
        dists, idx = lists[i]
        heapq.heappush(heap, (dists[pointer[i]], i, int(idx[pointer[i]])))
    return match, distance


class SyntheticPairing:
    """Fit g on one real set and add, for each extreme unit, the nearest hybrid unit of the other arm.

    ``fit(real)`` fits the propensity learner and the covariate encoder on the real set and
    stores the in-sample propensities ``propensity_``; ``pair(real, pool)`` returns the augmented set
    and the counts. The estimand is ``roles.estimand``: under the ATT the low side is skipped.
    """

    def __init__(
        self,
        roles: Roles,
        threshold: float = default("pairing", "threshold"),
        learner: str = default("pairing", "learner"),
        categorical_weight: float = default("pairing", "categorical_weight"),
        random_state: int = 0,
        n_jobs: int = 1,
    ):
        self.roles = roles
        self.threshold = threshold
        self.learner = learner
        self.categorical_weight = categorical_weight
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _check_params(self) -> None:
        LEARNERS.get(self.learner)
        t = self.threshold
        if not (isinstance(t, int | float) and 0.0 < t <= 0.5):
            raise ConfigError(f"pairing threshold must be in (0, 0.5], got {t!r}")
        w = self.categorical_weight
        if not (isinstance(w, int | float) and w > 0):
            raise ConfigError(f"pairing categorical_weight must be positive, got {w!r}")

    def fit(self, real: pd.DataFrame) -> SyntheticPairing:
        self._check_params()
        a = real[self.roles.treatment].to_numpy(dtype=np.int64)
        if np.unique(a).size < 2:
            raise ComponentFailure(
                f"the real set has only {self.roles.treatment}={int(a[0]) if a.size else 'none'}: "
                "a propensity model needs both arms"
            )
        self.encoder_ = CovariateEncoder(self.roles, categorical_weight=self.categorical_weight).fit(real)
        # the learner sees the encoder's standardized one-hot matrix, like the hybrid's models
        w = self.encoder_.transform(real)
        with limit_threads(self.n_jobs):
            learner = make_learner(self.learner, "classification", self.random_state, self.n_jobs)
            self.propensity_model_ = learner.fit(w, a)
        self.propensity_ = self.predict_propensity(real)
        return self

    def predict_propensity(self, df: pd.DataFrame) -> np.ndarray:
        """The real set's propensity model at the covariates of ``df``."""
        if len(df) == 0:  # no extreme unit, nothing added: scikit-learn refuses empty input
            return np.empty(0, dtype=float)
        with limit_threads(self.n_jobs):
            return self.propensity_model_.predict_proba(self.encoder_.transform(df))[:, 1].astype(float)

    def pair(self, real: pd.DataFrame, pool: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
        """``real`` plus the matched pool rows, and the counts.

        ``real`` is normally the set passed to ``fit`` (in-sample propensities, as in the paper).

        Columns: the role columns, ``synthetic`` (0 real, 1 added) and ``propensity`` (the
        real set's model evaluated at each row's covariates).
        """
        roles = self.roles
        e = self.predict_propensity(real)
        low = np.flatnonzero(e < self.threshold)
        high = np.flatnonzero(e > 1.0 - self.threshold)
        real_x = self.encoder_.transform(real)
        pool_x = self.encoder_.transform(pool)
        pool_a = pool[roles.treatment].to_numpy(dtype=np.int64)
        skip = skipped_sides(roles.estimand)
        counts: dict[str, Any] = {
            "estimand": roles.estimand,
            "n_real": len(real),
            "n_extreme_low": int(low.size),
            "n_extreme_high": int(high.size),
            "n_skipped_low": int(low.size) if "low" in skip else 0,
            "n_skipped_high": int(high.size) if "high" in skip else 0,
        }
        added: list[np.ndarray] = []
        distances: list[np.ndarray] = []
        # low propensity units lack treated twins; high ones lack controls
        for side, units, arm in (("low", low, 1), ("high", high, 0)):
            if side in skip:
                units = units[:0]
            cand = np.flatnonzero(pool_a == arm)
            match, dist = greedy_nearest_matching(real_x[units], pool_x[cand])
            hit = match >= 0
            counts[f"n_matched_{side}"] = int(hit.sum())
            counts[f"n_missed_{side}"] = int((~hit).sum())
            added.append(cand[match[hit]])
            distances.append(dist[hit])
        rows = np.concatenate(added)
        dist_all = np.concatenate(distances)
        counts["n_added"] = int(rows.size)
        counts["synthetic_share"] = synthetic_share(len(real), int(rows.size))
        counts["n_missed"] = counts["n_missed_low"] + counts["n_missed_high"]
        counts["n_skipped"] = counts["n_skipped_low"] + counts["n_skipped_high"]
        counts["skipped_sides"] = skip
        counts["match_distance_mean"] = float(dist_all.mean()) if dist_all.size else None
        counts["match_distance_max"] = float(dist_all.max()) if dist_all.size else None

        real_part = real[roles.columns].reset_index(drop=True).assign(synthetic=0, propensity=e)
        extra = pool.iloc[rows][roles.columns].reset_index(drop=True)
        extra = extra.assign(synthetic=1, propensity=self.predict_propensity(extra))
        out = pd.concat([real_part, extra], ignore_index=True)
        out["synthetic"] = out["synthetic"].astype(np.int64)
        return out, counts


def run_pairing(
    positivity_path: str,
    card_path: str,
    pool_path: str,
    params: dict[str, Any],
    seed: int,
    out_paired: str,
    out_json: str,
    n_jobs: int = 1,
) -> dict[str, Any]:
    """Pair every set of ``positivity.parquet`` with the hybrid pool; write the union and counts.

    ``params``: the ``pairing`` config block (defaults from the schema): ``threshold``,
    ``learner``, ``categorical_weight``. ``out_paired`` holds, set by set, the role columns,
    ``set``, ``synthetic`` (0 real, 1 added) and ``propensity`` (estimated on the real set).
    The JSON has the params, the pool's arm sizes and, per set (keyed by the set id as a
    string) and in total: n_real, n_extreme_low, n_extreme_high, n_matched_low,
    n_matched_high, n_missed_low, n_missed_high, n_missed, n_skipped_low, n_skipped_high,
    n_skipped, n_added, synthetic_share (n_added / (n_real + n_added), the added rows' share of
    the paired set), match distances; per set also the estimand and the skipped sides
    (``["low"]`` under the ATT, whose low-propensity units get no synthetic treated rows).
    n_added = n_extreme_low + n_extreme_high - n_missed - n_skipped.
    """
    t0 = time.perf_counter()
    params = resolve_section(params, "pairing", "run_pairing")
    card, roles = read_card(card_path)
    dataset = card.get("dataset", str(card_path))
    raw = read_parquet(positivity_path)
    if "set" not in raw.columns:
        raise DataError(
            str(positivity_path), "set", "column is missing", "write an int column 'set' per data set"
        )
    real_all = roles.validate(raw, str(positivity_path), reset_index=False)
    real_all["set"] = raw["set"].to_numpy(dtype=np.int64)
    pool = roles.validate(read_parquet(pool_path), str(pool_path), reset_index=False)

    sets = sorted(real_all["set"].unique().tolist())
    parts, per_set = [], {}
    for s in sets:
        real = real_all[real_all["set"] == s].drop(columns="set").reset_index(drop=True)
        pairing = SyntheticPairing(
            roles,
            threshold=params["threshold"],
            learner=params["learner"],
            categorical_weight=params["categorical_weight"],
            random_state=derive_seed(seed, "propensity", rep=s),
            n_jobs=n_jobs,
        )
        try:
            paired, counts = pairing.fit(real).pair(real, pool)
        except ComponentFailure as err:
            raise ComponentFailure(f"dataset '{dataset}', positivity set {s}: {err}") from err
        paired.insert(len(roles.columns), "set", np.int64(s))
        parts.append(paired)
        per_set[str(s)] = counts

    out = pd.concat(parts, ignore_index=True)
    keys = [k for k in next(iter(per_set.values())) if k.startswith("n_")]
    totals = {k: int(sum(c[k] for c in per_set.values())) for k in keys}
    totals["synthetic_share"] = synthetic_share(totals["n_real"], totals["n_added"])
    pool_a = pool[roles.treatment].to_numpy()
    summary = {
        "dataset": dataset,
        "params": {
            "threshold": params["threshold"],
            "learner": params["learner"],
            "categorical_weight": params["categorical_weight"],
        },
        "seed": int(seed),
        "estimand": roles.estimand,
        "skipped_sides": skipped_sides(roles.estimand),
        "matching_order": "greedy by increasing distance; ties: earlier real row, then earlier pool row",
        "pool": {
            "n_rows": len(pool),
            "n_treated": int((pool_a == 1).sum()),
            "n_control": int((pool_a == 0).sum()),
        },
        "n_sets": len(sets),
        "sets": per_set,
        "totals": totals,
        "seconds": time.perf_counter() - t0,
        **provenance_record(CORE_PACKAGES),
    }
    write_parquet(out, out_paired)
    write_json(summary, out_json)
    return summary
