"""Synthetic pairing: right arm, no reuse, counted misses; truncation and clipping baselines; the
positivity study's fair baseline, target populations and synthetic shares."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from causalsynth.core.errors import ComponentFailure, ConfigError, DataError
from causalsynth.core.roles import Roles
from causalsynth.core.schema import default
from causalsynth.core.seeds import derive_seed
from causalsynth.core.vocabulary import POSITIVITY, POSITIVITY_METHODS
from causalsynth.estimate.nuisance import fit_nuisances
from causalsynth.estimate.weights import clip_propensity, clipping_bound, truncate_weights
from causalsynth.evaluate.positivity import run_positivity
from causalsynth.hybrid.pairing import (
    SyntheticPairing,
    greedy_nearest_matching,
    run_pairing,
)
from tests.unit.conftest import PAIRING_BINARY as ROLES


def confounded(n: int, seed: int, slope: float = 8.0) -> pd.DataFrame:
    """Strong confounding through w1: many units with propensity near 0 or 1."""
    rng = np.random.default_rng(seed)
    w1 = rng.normal(size=n)
    df = pd.DataFrame(
        {
            "w1": w1,
            "w2": rng.integers(0, 2, size=n),
            "c": rng.choice(["x", "y", "z"], size=n).astype(object),
            "A": (rng.random(n) < expit(slope * w1)).astype(np.int64),
        }
    )
    df["Y"] = (rng.random(n) < expit(0.5 * df["A"] + df["w1"])).astype(np.int64)
    return df


def pool_of(n: int, seed: int, share_treated: float = 0.5) -> pd.DataFrame:
    pool = confounded(n, seed)
    pool["A"] = (np.random.default_rng(seed + 1).random(n) < share_treated).astype(np.int64)
    pool["w1"] += np.arange(n) * 1e-9  # unique values identify pool rows
    return pool


# ----------------------------------------------------------------------------- baselines


def test_clipping_bound_and_clip():
    n = 200
    delta = 5 / (np.sqrt(n) * np.log(n))
    assert clipping_bound(n) == pytest.approx(delta)
    e = np.array([0.0, 0.01, 0.5, 0.99, 1.0])
    assert np.allclose(clip_propensity(e, n), [delta, delta, 0.5, 1 - delta, 1 - delta])
    with pytest.raises(ValueError, match="empty"):
        clip_propensity(e, 10)


def test_truncate_weights_caps_and_copies():
    w = np.array([0.5, 10.0, 10.5, 1e6])
    out = truncate_weights(w, cap=10)
    assert out.tolist() == [0.5, 10.0, 10.0, 10.0] and w[3] == 1e6
    with pytest.raises(ValueError):
        truncate_weights(w, cap=0)


# ----------------------------------------------------------------------------- matching


def reference_greedy(units: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Closest remaining pair first over the full distance matrix; ties by unit, then candidate."""
    d = np.sqrt(((units[:, None, :] - candidates[None, :, :]) ** 2).sum(-1))
    match = np.full(len(units), -1)
    for _ in range(min(len(units), len(candidates))):
        i, j = np.unravel_index(np.argmin(d), d.shape)  # row-major: smallest i, then j, among ties
        match[i] = j
        d[i, :] = np.inf
        d[:, j] = np.inf
    return match


@pytest.mark.parametrize("seed", range(8))
def test_greedy_matching_equals_reference_and_never_reuses(seed):
    rng = np.random.default_rng(seed)
    n_u, n_c = int(rng.integers(1, 60)), int(rng.integers(1, 60))
    units = rng.normal(size=(n_u, 3))
    candidates = np.vstack([rng.normal(size=(n_c, 3))])
    if seed % 2:  # discrete coordinates: many ties
        units, candidates = np.round(units), np.round(candidates)
    match, dist = greedy_nearest_matching(units, candidates)
    assert np.array_equal(match, reference_greedy(units, candidates))
    used = match[match >= 0]
    assert len(set(used)) == len(used)
    assert (match >= 0).sum() == min(n_u, n_c)
    hit = match >= 0
    assert np.allclose(dist[hit], np.linalg.norm(units[hit] - candidates[match[hit]], axis=1))
    assert np.isnan(dist[~hit]).all()


def test_greedy_matching_with_no_candidates_misses_everyone():
    match, dist = greedy_nearest_matching(np.zeros((3, 2)), np.zeros((0, 2)))
    assert (match == -1).all() and np.isnan(dist).all()


# ----------------------------------------------------------------------------- pairing


def test_each_extreme_unit_gets_one_unused_unit_of_the_other_arm():
    real = confounded(200, 1)
    pool = pool_of(3000, 2)
    pairing = SyntheticPairing(ROLES, threshold=0.001, learner="linear").fit(real)
    e = pairing.propensity_
    low, high = (e < 0.001).sum(), (e > 0.999).sum()
    assert low > 5 and high > 5  # the design must produce extreme units on both sides
    out, counts = pairing.pair(real, pool)
    added = out[out["synthetic"] == 1]
    assert counts["n_extreme_low"] == low and counts["n_extreme_high"] == high
    assert counts["n_matched_low"] == low and counts["n_missed"] == 0
    assert counts["estimand"] == "ATE" and counts["n_skipped"] == 0  # the ATE pairs both sides
    assert (added["A"] == 1).sum() == low and (added["A"] == 0).sum() == high
    assert added["w1"].is_unique and added["w1"].isin(pool["w1"]).all()
    pd.testing.assert_frame_equal(
        out[out["synthetic"] == 0][ROLES.columns].reset_index(drop=True), real[ROLES.columns]
    )
    assert np.allclose(out["propensity"][: len(real)], e)
    assert np.allclose(added["propensity"], pairing.predict_propensity(added))


def test_single_extreme_unit_gets_its_nearest_neighbour_of_the_needed_arm():
    real = confounded(200, 3)
    pairing = SyntheticPairing(ROLES, learner="linear").fit(real)
    i = int(np.argmin(pairing.propensity_))
    assert pairing.propensity_[i] < 0.001
    pool = pool_of(500, 4)
    only = real.iloc[[i]]
    out, counts = pairing.pair(only, pool)
    treated = pool[pool["A"] == 1]
    d = np.linalg.norm(pairing.encoder_.transform(treated) - pairing.encoder_.transform(only), axis=1)
    assert out.iloc[1]["w1"] == treated.iloc[int(np.argmin(d))]["w1"]
    assert counts["match_distance_mean"] == pytest.approx(d.min())


def test_misses_are_counted_when_the_needed_arm_runs_out():
    real = confounded(200, 5)
    pairing = SyntheticPairing(ROLES, learner="linear").fit(real)
    n_low = int((pairing.propensity_ < 0.001).sum())
    pool = pool_of(400, 6)
    treated = np.flatnonzero(pool["A"] == 1)
    pool = pool.drop(index=treated[3:]).reset_index(drop=True)  # 3 treated units left
    out, counts = pairing.pair(real, pool)
    assert counts["n_matched_low"] == 3 and counts["n_missed_low"] == n_low - 3
    assert ((out["synthetic"] == 1) & (out["A"] == 1)).sum() == 3
    no_treated = pool[pool["A"] == 0]
    _, counts = pairing.pair(real, no_treated)
    assert counts["n_matched_low"] == 0 and counts["n_missed_low"] == n_low


def test_single_arm_set_fails_clearly():
    with pytest.raises(ComponentFailure, match="both arms"):
        SyntheticPairing(ROLES, learner="linear").fit(confounded(50, 7).assign(A=1))


def test_run_pairing_pairs_each_set_separately(tmp_path):
    sets = pd.concat([confounded(200, 10 + s).assign(set=s) for s in (1, 2, 3)], ignore_index=True)
    pool = pool_of(2000, 20).assign(mu0=0.1, mu1=0.2, propensity=0.5)
    paths = {k: str(tmp_path / f"{k}.parquet") for k in ("positivity", "pool")}
    sets.to_parquet(paths["positivity"])
    pool.to_parquet(paths["pool"])
    (tmp_path / "card.json").write_text(json.dumps({"dataset": "toy", **ROLES.to_dict()}))
    params = {"threshold": 0.001, "learner": "linear", "pool": "hybrid_x"}
    out_paired, out_json = tmp_path / "paired.parquet", tmp_path / "pairing.json"
    run_pairing(
        paths["positivity"], str(tmp_path / "card.json"), paths["pool"], params, 5, out_paired, out_json
    )
    paired = pd.read_parquet(out_paired)
    summary = json.loads(out_json.read_text())
    assert list(paired.columns) == [*ROLES.columns, "set", "synthetic", "propensity"]
    assert paired["synthetic"].dtype == np.int64 and paired["set"].dtype == np.int64
    assert summary["n_sets"] == 3 and set(summary["sets"]) == {"1", "2", "3"}
    for s in (1, 2, 3):
        part, counts = paired[paired["set"] == s], summary["sets"][str(s)]
        assert (part["synthetic"] == 0).sum() == 200
        assert (part["synthetic"] == 1).sum() == counts["n_added"]
        assert counts["n_added"] == counts["n_extreme_low"] + counts["n_extreme_high"] - counts["n_missed"]
        assert part.loc[part["synthetic"] == 1, "w1"].is_unique
        assert counts["synthetic_share"] == counts["n_added"] / (200 + counts["n_added"])
    assert summary["totals"]["n_added"] == (paired["synthetic"] == 1).sum()
    assert summary["totals"]["synthetic_share"] == pytest.approx((paired["synthetic"] == 1).mean(), abs=1e-15)
    with pytest.raises(ConfigError, match="threshold"):
        run_pairing(
            paths["positivity"],
            str(tmp_path / "card.json"),
            paths["pool"],
            {"threshold": 0.7},
            5,
            out_paired,
            out_json,
        )


def test_set_without_extreme_units_is_returned_unchanged():
    real = confounded(200, 30, slope=0.5)  # mild confounding: no propensity near 0 or 1
    pairing = SyntheticPairing(ROLES, learner="linear").fit(real)
    out, counts = pairing.pair(real, pool_of(300, 31))
    assert counts["n_extreme_low"] == counts["n_extreme_high"] == counts["n_added"] == 0
    assert len(out) == len(real) and (out["synthetic"] == 0).all()


# ----------------------------------------------------------------------------- estimand


ATT_ROLES = Roles(**{**ROLES.__dict__, "estimand": "ATT"})


def test_att_pairing_adds_only_controls_for_extreme_treated_units():
    real = confounded(200, 1)
    pool = pool_of(3000, 2)
    pairing = SyntheticPairing(ATT_ROLES, threshold=0.001, learner="linear").fit(real)
    e = pairing.propensity_
    low, high = int((e < 0.001).sum()), int((e > 0.999).sum())
    assert low > 5 and high > 5
    assert real["A"].to_numpy()[e > 0.999].mean() > 0.9  # the high side is the treated that lack controls
    out, counts = pairing.pair(real, pool)
    added = out[out["synthetic"] == 1]
    assert (added["A"] == 1).sum() == 0  # the treated population the ATT is defined on is untouched
    assert (added["A"] == 0).sum() == high == counts["n_matched_high"] == counts["n_added"]
    assert counts["estimand"] == "ATT" and counts["skipped_sides"] == ["low"]
    assert counts["n_skipped_low"] == counts["n_extreme_low"] == low and counts["n_skipped_high"] == 0
    assert counts["n_matched_low"] == counts["n_missed_low"] == 0
    # the controls it adds are the ones the ATE pairing gives the same units
    ate_out, ate_counts = (
        SyntheticPairing(ROLES, threshold=0.001, learner="linear").fit(real).pair(real, pool)
    )
    ate_added = ate_out[ate_out["synthetic"] == 1]
    assert (
        ate_counts["estimand"] == "ATE" and ate_counts["skipped_sides"] == [] and ate_counts["n_skipped"] == 0
    )
    assert (ate_added["A"] == 1).sum() == low and (ate_added["A"] == 0).sum() == high
    assert sorted(ate_added.loc[ate_added["A"] == 0, "w1"]) == sorted(added["w1"])


def test_run_pairing_records_the_estimand_and_what_it_skipped(tmp_path):
    sets = pd.concat([confounded(200, 10 + s).assign(set=s) for s in (1, 2)], ignore_index=True)
    paths = {k: str(tmp_path / f"{k}.parquet") for k in ("positivity", "pool")}
    sets.to_parquet(paths["positivity"])
    pool_of(2000, 20).assign(mu0=0.1, mu1=0.2, propensity=0.5).to_parquet(paths["pool"])
    (tmp_path / "card.json").write_text(json.dumps({"dataset": "toy", **ATT_ROLES.to_dict()}))
    out_paired, out_json = tmp_path / "paired.parquet", tmp_path / "pairing.json"
    run_pairing(
        paths["positivity"], str(tmp_path / "card.json"), paths["pool"], {"learner": "linear"}, 5,
        out_paired, out_json,
    )  # fmt: skip
    paired = pd.read_parquet(out_paired)
    summary = json.loads(out_json.read_text())
    assert summary["estimand"] == "ATT" and summary["skipped_sides"] == ["low"]
    assert ((paired["synthetic"] == 1) & (paired["A"] == 1)).sum() == 0
    totals = summary["totals"]
    assert totals["n_skipped_low"] == totals["n_extreme_low"] > 0
    assert (
        totals["n_added"]
        == totals["n_extreme_low"] + totals["n_extreme_high"] - totals["n_missed"] - totals["n_skipped"]
    )
    assert totals["n_added"] == (paired["synthetic"] == 1).sum() > 0


# ----------------------------------------------------------------------------- positivity study


def twins(real: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """Added rows of the opposite arm near real rows, with outcomes far from the real ones'."""
    rows = real.sample(n, random_state=seed).reset_index(drop=True)
    rows["w1"] += 0.01
    rows["A"] = 1 - rows["A"]
    rows["Y"] = rows["A"]  # treated twins all Y = 1, control twins all Y = 0
    return rows


def study(tmp_path, roles: Roles, n_added: dict[int, int], estimators: list[str], corrupt: bool = False):
    """run_positivity on sets of 200 real rows with ``n_added[set]`` twins; the inputs and the table."""
    reals = {s: confounded(200, 40 + s, slope=3.0) for s in n_added}
    positivity = pd.concat([r.assign(set=s) for s, r in reals.items()], ignore_index=True)
    extra = {s: twins(reals[s], k, seed=s) for s, k in n_added.items()}
    paired = pd.concat(
        [
            part.assign(set=s, synthetic=flag)
            for s in n_added
            for flag, part in ((0, reals[s]), (1, extra[s]))
        ],
        ignore_index=True,
    ).assign(propensity=0.5)
    if corrupt:
        paired.loc[3, "w1"] += 1.0  # a real row that is not the positivity set's
    paths = {k: str(tmp_path / f"{k}.parquet") for k in ("positivity", "paired", "out")}
    positivity.to_parquet(paths["positivity"])
    paired.to_parquet(paths["paired"])
    card = {"dataset": "toy", **roles.to_dict(), "truth": {"ate": 0.1, "kind": "exact", "source": "test"}}
    (tmp_path / "card.json").write_text(json.dumps(card))
    params = {"estimators": estimators, "learner": "linear", "folds": 3}
    frame = run_positivity(
        paths["positivity"],
        paths["paired"],
        str(tmp_path / "card.json"),
        params,
        7,
        1,
        paths["out"],
        "toy",
        1,
    )
    return reals, extra, frame


def aipw_by_hand(a, y, g, q0, q1, estimand: str) -> float:
    bound = default("estimation", "propensity_bound")  # the grid's one bound of g
    g = np.clip(g, bound, 1 - bound)
    m = a.astype(float) if estimand == "ATT" else np.ones(len(a))
    w1, w0 = (np.ones(len(a)), g / (1 - g)) if estimand == "ATT" else (1 / g, 1 / (1 - g))
    num = m * (q1 - q0) + a * w1 * (y - q1) - (1 - a) * w0 * (y - q0)
    return float(num.sum() / m.sum())


@pytest.mark.parametrize("roles", [ROLES, ATT_ROLES], ids=["ATE", "ATT"])
def test_fair_baseline_borrows_the_added_rows_and_averages_over_the_real_rows(tmp_path, roles):
    reals, extra, frame = study(tmp_path, roles, {1: 20}, ["substitution", "iptw", "aipw"])
    real, union = reals[1], pd.concat([reals[1], extra[1]], ignore_index=True)
    seed = derive_seed(7, "set", rep=1)
    # the grid's own fits: g and h on the 200 real rows, and on the 220 rows of the union
    on_real = fit_nuisances(real, roles, "linear", folds=3, seed=seed)
    on_union = fit_nuisances(union, roles, "linear", folds=3, seed=seed)
    assert on_union.n == 220
    est = frame.set_index(["method", "estimator"])["ate"]
    a, y, n = real["A"].to_numpy(), real["Y"].to_numpy(float), 200
    m = a.astype(float) if roles.estimand == "ATT" else np.ones(n)
    q0, q1 = on_union.q0[:n], on_union.q1[:n]  # the union's outcome model at the real rows
    # substitution averages the borrowed outcome model over the real rows only
    assert est["borrowed", "substitution"] == pytest.approx(np.sum(m * (q1 - q0)) / m.sum(), rel=1e-12)
    assert est["paired", "substitution"] == est["borrowed", "substitution"]  # g is not in its estimate
    assert abs(est["borrowed", "substitution"] - est["raw", "substitution"]) > 0.05
    # borrowed keeps the real set's g; paired takes the union's
    assert est["borrowed", "aipw"] == pytest.approx(
        aipw_by_hand(a, y, on_real.g, q0, q1, roles.estimand), rel=1e-12
    )
    assert est["paired", "aipw"] == pytest.approx(
        aipw_by_hand(a, y, on_union.g[:n], q0, q1, roles.estimand), rel=1e-12
    )
    assert est["borrowed", "iptw"] == est["raw", "iptw"]  # IPTW cannot borrow outcome information
    # the papers' estimate averages over all 220 rows
    ua = union["A"].to_numpy()
    assert est["paired_union", "aipw"] == pytest.approx(
        aipw_by_hand(ua, union["Y"].to_numpy(float), on_union.g, on_union.q0, on_union.q1, roles.estimand),
        rel=1e-12,
    )
    assert abs(est["paired_union", "aipw"] - est["paired", "aipw"]) > 0.01
    methods = frame.groupby("method")["estimator"].apply(list).to_dict()
    assert (
        methods["borrowed"]
        == methods["paired"]
        == methods["paired_union"]
        == ["substitution", "iptw", "aipw"]
    )
    assert (frame["status"] == "ok").all()


def test_every_row_states_its_target_and_its_share_of_synthetic_rows(tmp_path):
    _, _, frame = study(tmp_path, ROLES, {1: 20, 2: 0}, ["substitution", "iptw", "aipw"])
    assert list(frame.columns) == list(POSITIVITY.columns)
    assert set(frame["method"]) == set(POSITIVITY_METHODS) and frame["target"].dtype == "string"
    by = frame.groupby(["set", "method"])[
        ["n_added", "target", "synthetic_share", "synthetic_share_fit"]
    ].first()
    expected = {
        "raw": (0, "real", 0.0, 0.0),
        "truncated": (0, "real", 0.0, 0.0),
        "clipped": (0, "real", 0.0, 0.0),
        "borrowed": (20, "real", 0.0, 20 / 220),
        "paired": (20, "real", 0.0, 20 / 220),
        "paired_union": (20, "union", 20 / 220, 20 / 220),
    }
    for method, row in expected.items():
        assert tuple(by.loc[(1, method)]) == row, method
        assert tuple(by.loc[(2, method)]) == (0, row[1], 0.0, 0.0), method
    # nothing added: the union is the real set, and every nuisance method is raw
    two = frame[frame["set"] == 2].set_index(["method", "estimator"])["ate"]
    for e in ("substitution", "iptw", "aipw"):
        assert two["borrowed", e] == two["paired", e] == two["paired_union", e] == two["raw", e]


def test_paired_set_whose_real_rows_differ_from_the_positivity_set_fails(tmp_path):
    with pytest.raises(DataError, match="synthetic = 0 of set 1"):
        study(tmp_path, ROLES, {1: 20}, ["substitution"], corrupt=True)
