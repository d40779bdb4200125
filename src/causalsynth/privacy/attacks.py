"""Attack-based privacy risk of a releasable synthetic set, with the real holdout as control.

DCR screening (:mod:`causalsynth.privacy.dcr`) removes near-copies; it does not bound what an
attacker learns (sets that pass it stay open to membership inference). Each releasable set
(a base generator's set before and after the DCR filter, a hybrid's pool) is therefore
attacked, and every attack is run twice: against the training rows the generator saw
(members) and against the real holdout rows it never saw (the control). A generator that
leaks nothing about its training rows does equally well on both.

The anonymeter attacks take members and non-members in equal numbers: ``n = min(n_train,
n_holdout)`` rows of each, drawn with seeds derived from the cell's ids, so neither side wins
by having more rows.

Metrics (``higher_is_riskier`` gives each one's direction, ``baseline`` the value of a set
that never saw the training rows):

* ``singling_out_risk``, ``linkability_risk``, ``inference_risk``: anonymeter's three attacks
  (singling out in univariate mode; linkability of the two halves of a record through their
  nearest synthetic neighbours; inference of the outcome from every other column). The risk is
  the members' success in excess of the control's, ``(attack - control) / (1 - control)``,
  with anonymeter's 95% interval; 0 is the baseline, higher is riskier. ``naive_rate`` is the
  success of an attacker who guesses at random (linkability, inference): a risk whose attack
  is no better than that carries a warning.

  The inference attack keeps anonymeter's guesses (its nearest synthetic neighbour on the other
  columns), targets, control and risk formula, but its guesses are scored here
  (:func:`inference_hits`): anonymeter 1.1.0's ``evaluate_inference_guesses`` divides
  ``|guess - secret|`` by the signed *guess*, so every negative guess passes its 5% tolerance
  (on ``nhefs``, whose outcome is negative in a third of the rows, both success rates get a
  floor and the risk is pulled toward 0). A numeric guess hits when ``|guess - secret| <=
  tolerance * max(|secret|, sd)``, with ``tolerance`` = ``privacy.inference_tolerance`` and
  ``sd`` the secret's standard deviation over the attacked real rows (members and control
  together, so both sides share it): relative to the secret, as anonymeter means it, and never
  tighter than ``tolerance`` SDs, so a secret at or near 0 is not held to an exact match. A
  categorical or binary guess hits when it equals the secret; a missing guess never hits. The
  random guesser's ``naive_rate`` is computed exactly, the mean over the attacked members of
  the share of synthetic values that would hit (:func:`random_guess_rate`): anonymeter's own
  random guesses are aligned to the targets by index label, so most of them are missing.
* ``dcr_share``: the share of synthetic rows closer to a training row than to any holdout row
  (ties count one half), over all rows of both. A row drawn afresh from the population is
  closest to any one real row with equal chance, so the baseline is the training rows' share
  of the real rows, ``n_train / (n_train + n_holdout)``: 0.5 where train and holdout are equal
  in size (the simulated datasets). Higher is riskier (rows pulled towards the training data).
  A t interval over rows.
* ``nndr``: the median nearest-neighbour distance ratio of the synthetic rows, distance to the
  closest training row over distance to the second closest (0/0 counts as 1: the closest row
  is not singled out); the baseline is the holdout rows' median ratio, lower is riskier (a
  synthetic row much closer to one training row than to any other points at that row). A
  distribution-free interval of the median.

Both distance metrics use the DCR's whole-record space and distance (one home: ``dcr``).

Randomness: anonymeter draws its targets with pandas' ``sample`` from numpy's global state,
which is seeded from the cell's ids around each attack and restored afterwards; singling out
takes its own seed, and its candidate queries are put in a fixed order before they are
shuffled (see :class:`_OrderedShuffle`). Its linkability evaluator also draws random links from an unseeded
generator for its naive attacker, which changes no risk; ``naive_rate`` of linkability is
therefore the exact chance that two random neighbour sets meet, not that draw.

Bad input: a holdout with fewer than ``min_control_rows`` rows gives the three attacks a status
naming both numbers; an empty synthetic set or a failed attack is the status of its rows.

The rule's entry (:mod:`causalsynth.privacy.run`) attacks every set of a dataset with
:func:`attack_set` and then applies the release gate (:mod:`causalsynth.privacy.gate`).
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from causalsynth.core.roles import Roles
from causalsynth.core.seeds import derive_seed
from causalsynth.core.uncertainty import LEVEL, Interval, mean_interval, median_interval
from causalsynth.core.vocabulary import OK, PRIVACY_ATTACKS, PRIVACY_METRICS
from causalsynth.privacy.dcr import nearest_neighbors, record_encoder, two_nearest_distances

__all__ = [
    "HIGHER_IS_RISKIER",
    "attack_set",
    "dcr_share",
    "inference_hits",
    "nndr",
    "random_guess_rate",
]

HIGHER_IS_RISKIER = {
    "singling_out_risk": True,
    "linkability_risk": True,
    "inference_risk": True,
    "dcr_share": True,
    "nndr": False,
}
assert set(HIGHER_IS_RISKIER) == set(PRIVACY_METRICS)


# ----------------------------------------------------------------------------- distance metrics


def dcr_share(synthetic: np.ndarray, train: np.ndarray, holdout: np.ndarray) -> Interval:
    """Share of synthetic rows closer to ``train`` than to ``holdout`` (ties: one half)."""
    d_in = nearest_neighbors(synthetic, train)[0]
    d_out = nearest_neighbors(synthetic, holdout)[0]
    closer = (d_in < d_out) + 0.5 * (d_in == d_out)
    return mean_interval(closer).clip(0.0, 1.0)


def nndr(query: np.ndarray, train: np.ndarray) -> np.ndarray:
    """Nearest-neighbour distance ratio of every query row among the training rows (0/0 = 1)."""
    d = two_nearest_distances(query, train)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = d[:, 0] / d[:, 1]
    return np.where(d[:, 1] == 0.0, 1.0, ratio)


# ----------------------------------------------------------------------------- anonymeter attacks


@contextlib.contextmanager
def _global_numpy_seed(seed: int) -> Iterator[None]:
    """anonymeter samples targets with pandas' ``sample`` and no random state: numpy's global
    generator. Seed it for the call and put the caller's state back."""
    # the legacy global state is the one anonymeter reads, so it is the one to seed
    state = np.random.get_state()  # noqa: NPY002
    np.random.seed(seed)  # noqa: NPY002
    try:
        yield
    finally:
        np.random.set_state(state)  # noqa: NPY002


def _cached_kernels() -> None:
    """anonymeter's numba kernels compile in every new process (several CPU seconds, more than an
    attack costs); numba's own on-disk cache keeps the compiled code for the next job."""
    from anonymeter.neighbors import mixed_types_kneighbors as knn

    for kernel in (knn.gower_distance, knn._nearest_neighbors):
        if getattr(kernel, "_cache", None) is None or type(kernel._cache).__name__ == "NullCache":
            kernel.enable_caching()


class _OrderedShuffle:
    """A numpy Generator whose ``shuffle`` first sorts the list by its text.

    anonymeter's univariate singling out lists candidate queries in the order of a polars
    ``group_by``, which is not stable from one process to the next, and then shuffles them:
    the same seed would pick other queries in another run. Sorting first makes the pick a
    function of the seed and the data alone.
    """

    def __init__(self, rng: np.random.Generator):
        self._rng = rng

    def shuffle(self, x: list) -> None:
        x.sort(key=str)
        self._rng.shuffle(x)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._rng, name)


def _random_link_rate(n_synthetic: int, k: int) -> float:
    """Chance that two independent random k-subsets of n synthetic rows share a row."""
    if k >= n_synthetic:
        return 1.0
    return 1.0 - math.comb(n_synthetic - k, k) / math.comb(n_synthetic, k)


def inference_hits(
    guesses: pd.Series | np.ndarray,
    secrets: pd.Series | np.ndarray,
    regression: bool,
    tolerance: float,
    scale: float,
) -> np.ndarray:
    """Which inference guesses hit their secret (module docstring): numeric ones when
    ``|guess - secret| <= tolerance * max(|secret|, scale)``, categorical ones when equal; a
    missing guess never hits."""
    g, s = np.asarray(guesses), np.asarray(secrets)
    if g.shape != s.shape:
        raise ValueError(f"inference_hits: {g.size} guesses for {s.size} secrets")
    if regression:
        g, s = g.astype(float), s.astype(float)
        with np.errstate(invalid="ignore"):  # NaN guesses compare False: a miss
            return np.abs(g - s) <= tolerance * np.maximum(np.abs(s), scale)
    return pd.notna(g) & (g == s)


def random_guess_rate(
    candidates: pd.Series | np.ndarray,
    secrets: pd.Series | np.ndarray,
    regression: bool,
    tolerance: float,
    scale: float,
) -> float:
    """Expected success of guessing each secret by a synthetic row's value drawn at random: the
    mean over the secrets of the share of ``candidates`` that :func:`inference_hits` counts."""
    if len(candidates) == 0 or len(secrets) == 0:
        return math.nan
    if regression:
        v = np.sort(np.asarray(candidates, dtype=float))
        s = np.asarray(secrets, dtype=float)
        half_width = tolerance * np.maximum(np.abs(s), scale)
        inside = np.searchsorted(v, s + half_width, side="right") - np.searchsorted(
            v, s - half_width, side="left"
        )
        return float(np.mean(inside / len(v)))
    share = pd.Series(np.asarray(candidates)).value_counts(normalize=True)
    return float(pd.Series(np.asarray(secrets)).map(share).fillna(0.0).mean())


def _scored_inference(
    ev: Any,
    members: pd.DataFrame,
    non_members: pd.DataFrame,
    synthetic: pd.DataFrame,
    secret: str,
    regression: bool,
    tolerance: float,
) -> tuple[Any, float]:
    """anonymeter's evaluated InferenceEvaluator ``ev`` rescored by :func:`inference_hits`: its
    results (the same attacks, counts from our rule) and the random guesser's exact rate."""
    from anonymeter.stats.confidence import EvaluationResults

    scale = float(pd.concat([members[secret], non_members[secret]]).std()) if regression else 0.0

    def hits(guesses: pd.Series, targets: pd.DataFrame) -> int:
        # anonymeter indexes each guess by its target's row label
        secrets = targets.loc[guesses.index, secret]
        return int(inference_hits(guesses, secrets, regression, tolerance, scale).sum())

    attacked, naive, control = ev._guesses_success, ev._guesses_baseline, ev._guesses_control
    results = EvaluationResults(
        n_attacks=(len(attacked), len(naive), len(control)),
        n_success=hits(attacked, members),
        n_baseline=hits(naive, members),
        n_control=hits(control, non_members),
        confidence_level=LEVEL,
    )
    rate = random_guess_rate(
        synthetic[secret], members.loc[attacked.index, secret], regression, tolerance, scale
    )
    return results, rate


def _risk_row(metric: str, results: Any, naive_rate: float | None, n_attacks: int) -> dict[str, Any]:
    risk = results.risk()
    attack = float(results.attack_rate.value)
    naive = float(results.baseline_rate.value) if naive_rate is None else float(naive_rate)
    weak = bool(np.isfinite(naive) and attack <= naive)
    return {
        "metric": metric,
        "value": float(risk.value),
        "ci_low": float(risk.ci[0]),
        "ci_high": float(risk.ci[1]),
        "n_attacks": int(n_attacks),
        "attack_rate": attack,
        "control_rate": float(results.control_rate.value),
        "naive_rate": naive,
        "status": OK,
        "warning": ("the attack does no better than random guessing: its risk says little" if weak else None),
    }


def _anonymeter_attacks(
    roles: Roles,
    synthetic: pd.DataFrame,
    members: pd.DataFrame,
    non_members: pd.DataFrame,
    params: dict[str, Any],
    seed: int,
    n_jobs: int,
) -> list[dict[str, Any]]:
    from anonymeter.evaluators import InferenceEvaluator, LinkabilityEvaluator, SinglingOutEvaluator

    _cached_kernels()
    n = min(int(params["n_attacks"]), len(members), len(non_members), len(synthetic))
    columns = list(roles.columns)
    rows = []

    def attack(metric: str, run) -> None:
        try:
            # anonymeter warns where its naive attacker beats the real one; the row says so itself
            with warnings.catch_warnings(), _global_numpy_seed(derive_seed(seed, metric)):
                warnings.simplefilter("ignore")
                rows.append(run())
        except Exception as exc:  # a failed attack is its cell's status, never the whole job
            rows.append({"metric": metric, "status": f"failed: {type(exc).__name__}: {exc}"[:300]})

    def singling_out():
        ev = SinglingOutEvaluator(ori=members, syn=synthetic, control=non_members, n_attacks=n)
        ev._rng = _OrderedShuffle(np.random.default_rng(derive_seed(seed, "so")))
        ev.evaluate(mode="univariate")
        # its random-query attacker draws from polars' unordered `unique`, so its rate is not
        # reproducible; it changes no risk and is left out
        return _risk_row("singling_out_risk", ev.results(confidence_level=LEVEL), math.nan, n)

    def linkability():
        k = min(int(params["linkability_neighbors"]), len(synthetic))
        halves = (columns[0::2], columns[1::2])
        ev = LinkabilityEvaluator(
            ori=members, syn=synthetic, control=non_members, aux_cols=halves, n_attacks=n, n_neighbors=k
        ).evaluate(n_jobs=n_jobs)
        naive = _random_link_rate(len(synthetic), k)
        return _risk_row("linkability_risk", ev.results(confidence_level=LEVEL), naive, n)

    def inference():
        aux = [c for c in columns if c != roles.outcome]
        regression = roles.outcome_type == "continuous"
        ev = InferenceEvaluator(
            ori=members,
            syn=synthetic,
            control=non_members,
            aux_cols=aux,
            secret=roles.outcome,
            regression=regression,
            n_attacks=n,
        ).evaluate(n_jobs=n_jobs)
        results, naive = _scored_inference(
            ev,
            members,
            non_members,
            synthetic,
            roles.outcome,
            regression,
            float(params["inference_tolerance"]),
        )
        return _risk_row("inference_risk", results, naive, n)

    for metric, run in zip(PRIVACY_ATTACKS, (singling_out, linkability, inference), strict=True):
        attack(metric, run)
    return rows


# ----------------------------------------------------------------------------- one set


def attack_set(
    roles: Roles,
    synthetic: pd.DataFrame,
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    params: dict[str, Any],
    categorical_weight: float,
    seed: int,
    n_jobs: int = 1,
) -> list[dict[str, Any]]:
    """Every metric of one synthetic set (role columns, canonical dtypes): one dict per metric.

    ``params``: the ``privacy`` config block; ``categorical_weight``: the DCR's, so the distance
    metrics live in the filter's space. ``seed`` is the set's; every draw derives from it.
    """
    n = min(len(train), len(holdout))
    rng = np.random.default_rng(derive_seed(seed, "members"))
    members = train.iloc[np.sort(rng.choice(len(train), n, replace=False))].reset_index(drop=True)
    non_members = holdout.iloc[np.sort(rng.choice(len(holdout), n, replace=False))].reset_index(drop=True)
    synthetic = synthetic.reset_index(drop=True)
    base = {"n_synthetic": len(synthetic)}
    if len(synthetic) == 0:
        reason = "no synthetic rows (the set is empty)"
        return [base | {"metric": m, "status": reason} for m in PRIVACY_METRICS]

    rows: list[dict[str, Any]] = []
    min_control = int(params["min_control_rows"])
    if len(holdout) < min_control:
        reason = (
            f"holdout too small: {len(holdout)} rows, the attacks need at least {min_control} "
            "(privacy.min_control_rows) as their control set"
        )
        rows += [{"metric": m, "status": reason} for m in PRIVACY_ATTACKS]
    else:
        rows += _anonymeter_attacks(roles, synthetic, members, non_members, params, seed, n_jobs)

    enc = record_encoder(roles, train, categorical_weight)
    x_syn, x_train = enc.transform(synthetic), enc.transform(train)
    share = dcr_share(x_syn, x_train, enc.transform(holdout))
    rows.append(
        {"metric": "dcr_share", "value": share.estimate, "ci_low": share.low, "ci_high": share.high}
        | {"baseline": len(train) / (len(train) + len(holdout)), "status": OK}
    )
    if len(train) < 2:
        rows.append({"metric": "nndr", "status": "needs at least two training rows"})
    else:
        ratio = median_interval(nndr(x_syn, x_train))
        holdout_ratio = float(np.median(nndr(enc.transform(holdout), x_train)))
        rows.append(
            {"metric": "nndr", "value": ratio.estimate, "ci_low": ratio.low, "ci_high": ratio.high}
            | {"baseline": holdout_ratio, "status": OK}
        )
    for r in rows:
        r.setdefault("baseline", 0.0 if r["metric"] in PRIVACY_ATTACKS else math.nan)
        r["higher_is_riskier"] = HIGHER_IS_RISKIER[r["metric"]]
        r.update(base)
    return rows
