"""Fidelity of a synthetic set (evaluate.fidelity) and inferential utility (evaluate.inference):
seeded properties that hold exactly, on small tables drawn from a known process."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from causalsynth.core.errors import UnknownComponentError
from causalsynth.core.io import write_json, write_parquet
from causalsynth.core.roles import Roles
from causalsynth.core.vocabulary import FIDELITY, INFERENTIAL_UTILITY, TABLES
from causalsynth.evaluate import fidelity as F
from causalsynth.evaluate.inference import run_inferential_utility, summarize_coverage

ROLES = Roles("a", "y", "continuous", {"w1": "continuous", "w2": "continuous", "w3": "binary"})
PARAMS = {"c2st_learner": "linear", "c2st_folds": 3}


def draw(n: int, seed: int, shift: float = 0.0, effect: float = 1.0) -> pd.DataFrame:
    """The process: W1, W2 normal (W1 shifted by ``shift``), A ~ logit(0.5 W1), Y = W1 + effect A (1 + W2) + noise."""
    rng = np.random.default_rng(seed)
    w1, w2, w3 = rng.normal(size=n) + shift, rng.normal(size=n), rng.binomial(1, 0.4, n)
    a = rng.binomial(1, expit(0.5 * w1 - 0.2 * w3))
    y = w1 + 0.5 * w3 + effect * a * (1.0 + w2) + rng.normal(size=n)
    return pd.DataFrame({"w1": w1, "w2": w2, "w3": w3, "a": a, "y": y})


@pytest.fixture(scope="module")
def real():
    return draw(1200, 1), draw(600, 2)


def scores(synthetic, real, seed=5) -> dict[str, dict]:
    train, holdout = real
    rows = F.fidelity_rows(synthetic, train, holdout, ROLES, PARAMS, seed, real_seed=9)
    return {r["metric"]: r for r in rows}


def test_a_fresh_draw_of_the_process_scores_like_real_data(real):
    s = scores(draw(600, 3), real)
    assert set(s) == set(F.METRICS)
    assert abs(s["c2st_auc"]["value"] - 0.5) < 0.06 and abs(s["c2st_auc"]["real_value"] - 0.5) < 0.06
    for metric in ("shape", "trend", "alpha_precision", "beta_recall", "jsd_pi"):
        assert abs(s[metric]["value"] - s[metric]["real_value"]) < 0.06, metric
    assert s["shape"]["value"] > 0.9 and s["jsd_pi"]["value"] > 0.9
    assert s["degenerate"]["value"] == 0.0 and s["degenerate"]["status"] == "ok"
    assert all(r["status"] == "ok" for r in s.values())


def test_a_shifted_set_is_told_apart(real):
    s = scores(draw(600, 3, shift=4.0), real)
    assert s["c2st_auc"]["value"] > 0.95
    assert s["shape_ks"]["value"] < s["shape_ks"]["real_value"] - 0.2
    assert s["alpha_precision"]["value"] < s["alpha_precision"]["real_value"] - 0.2
    # the propensity depends on W1, whose support moved: the mechanisms disagree on real covariates
    assert s["jsd_pi"]["value"] < s["jsd_pi"]["real_value"]


def test_a_copy_of_the_outcome_model_has_no_pehe():
    # a T-learner fitted on two tables with the same noiseless outcome model predicts the same CATE
    ref, cand = draw(800, 4), draw(800, 5)
    for df in (ref, cand):
        df["y"] = df["w1"] + df["a"] * (1.0 + df["w2"])
    out, _ = F.mechanism_scores(ref, cand, draw(300, 6), ROLES, "linear", seed=1)
    assert out["u_pehe"][0] < 1e-8 and out["u_pehe"][1] == "ok"
    # and a set without the effect misses it by its size, E[(1 + W2)^2]^(1/2) = sqrt(2)
    cand["y"] = cand["w1"]
    out, _ = F.mechanism_scores(ref, cand, draw(3000, 7), ROLES, "linear", seed=1)
    assert out["u_pehe"][0] == pytest.approx(math.sqrt(2.0), rel=0.05)


def test_jsd_similarity_is_one_for_equal_models_and_zero_for_opposite_certainty():
    p = np.array([0.1, 0.5, 0.9])
    assert F.jsd_similarity(p, p) == pytest.approx(1.0)
    assert F.jsd_similarity(np.zeros(3), np.ones(3)) == pytest.approx(0.0)


def test_an_empty_arm_is_named_degenerate_and_the_rest_still_scored(real):
    synthetic = draw(600, 3).assign(a=0)
    s = scores(synthetic, real)
    share = real[0]["a"].mean()
    assert s["degenerate"]["value"] == 1.0
    assert s["treatment_share"]["status"].startswith(f"degenerate: treatment share 0.000 vs {share:.3f} real")
    assert "treatment arm A=1 has 0 unit(s)" in s["degenerate"]["status"]
    assert math.isnan(s["jsd_pi"]["value"]) and "single value" in s["jsd_pi"]["status"]
    assert math.isnan(s["u_pehe"]["value"]) and "arm a=1 has 0 unit(s)" in s["u_pehe"]["status"]
    assert s["shape"]["status"] == "ok" and np.isfinite(s["c2st_auc"]["value"])


def test_a_flag_in_meta_json_is_read(real):
    train, holdout = real
    rows = F.fidelity_rows(draw(300, 3), train, holdout, ROLES, PARAMS, 5, 9, meta={"degenerate": True})
    d = {r["metric"]: r for r in rows}["degenerate"]
    assert d["value"] == 1.0 and "flagged degenerate in meta.json" in d["status"]


def test_real_values_do_not_depend_on_the_set(real):
    a, b = scores(draw(600, 3), real), scores(draw(600, 4, shift=1.0), real, seed=6)
    assert all(a[m]["real_value"] == b[m]["real_value"] or np.isnan(a[m]["real_value"]) for m in a)


def test_run_fidelity_sets_writes_the_table(tmp_path, real):
    train, holdout = real
    paths = {}
    for name, df in {"train": train, "holdout": holdout, "s1": draw(300, 3), "s2": draw(300, 4)}.items():
        paths[name] = tmp_path / f"{name}.parquet"
        write_parquet(df, paths[name])
    card = tmp_path / "card.json"
    write_json({"dataset": "toy", **ROLES.to_dict()}, card)
    meta = tmp_path / "meta.json"
    write_json({}, meta)
    out = F.run_fidelity_sets(
        [str(paths["s1"]), str(paths["s2"])], [str(meta)] * 2, [("g", 1), ("hybrid_g", 1)], [1, 2],
        str(paths["train"]), str(paths["holdout"]), str(card), PARAMS, 9, str(tmp_path / "f.parquet"), "toy",
    )  # fmt: skip
    assert list(out.columns) == list(FIDELITY.columns) and TABLES["fidelity"] is FIDELITY
    assert len(out) == 2 * len(F.METRICS) and set(out["generator"]) == {"g", "hybrid_g"}
    with pytest.raises(UnknownComponentError, match="unknown learner .nope."):
        F.fidelity_params({"c2st_learner": "nope"})


# --------------------------------------------------------------------------- inferential utility


def test_coverage_summary_counts_hits_and_clusters_by_fit():
    sets = pd.DataFrame(
        {
            "n_rows": 100,
            "fit": [0, 0, 1, 1],
            "estimator": "aipw",
            "learner": "linear",
            "ate": [1.0, 1.1, 2.0, 2.1],
            "ci_low": [0.5, 0.6, 1.9, 2.0],
            "ci_high": [1.5, 1.6, 2.1, 2.2],
            "status": "ok",
        }
    )
    row = summarize_coverage(sets, {"aipw": 1.0}).iloc[0]
    assert row["coverage"] == 0.5 and row["reps"] == 4 and row["n_fits"] == 2
    # per-fit coverages 1 and 0: the between-fit SE (0.5) exceeds the binomial one (0.25)
    assert row["coverage_mcse"] == pytest.approx(0.5)
    assert row["ci_width"] == pytest.approx(0.6) and row["bias"] == pytest.approx(0.55)


def _write_pool(df: pd.DataFrame, roles: Roles, path, effect: float = 1.0) -> None:
    pool = df.copy()
    pool["mu0"] = pool["w1"] + 0.5 * pool["w3"]
    pool["mu1"] = pool["mu0"] + effect * (1.0 + pool["w2"])
    pool["propensity"] = expit(0.5 * pool["w1"] - 0.2 * pool["w3"])
    write_parquet(pool, path)
    write_json({"engine_truth": float((pool["mu1"] - pool["mu0"]).mean())}, path.parent / "meta.json")


def test_honest_sets_cover_and_a_wrong_mechanism_does_not(tmp_path):
    # Sets drawn from a process whose effect is the truth: coverage near 0.95. 80 sets give a
    # binomial MCSE of 0.024, so 0.95 +- 0.06 holds for this seed (and for most seeds).
    big = draw(4000, 11)
    truth = float(1.0 + 0.0)  # E[1 + W2] with W2 standard normal, up to the pool's own mean
    good, bad = tmp_path / "good" / "pool.parquet", tmp_path / "bad" / "pool.parquet"
    for p in (good, bad):
        p.parent.mkdir()
    _write_pool(big, ROLES, good)
    _write_pool(big, ROLES, bad, effect=2.0)
    train = tmp_path / "train.parquet"
    write_parquet(draw(500, 12), train)
    card = tmp_path / "card.json"
    pool_truth = float((1.0 + big["w2"]).mean())
    write_json({"dataset": "toy", **ROLES.to_dict(), "truth": {"ate": pool_truth, "kind": "exact"}}, card)
    est = {"folds": 2, "cross_fit": True}
    params = {"sizes": [200], "reps": 80, "estimators": ["aipw"], "learner": "linear"}
    out = run_inferential_utility(
        [str(good)], str(train), str(card), params, est, 3, str(tmp_path / "g.parquet"), "toy", "hybrid_x"
    )
    assert list(out.columns) == list(INFERENTIAL_UTILITY.columns)
    row = out.iloc[0]
    assert row["design"] == "hybrid_process" and row["reps"] == 80 and row["truth"] == pool_truth
    assert abs(row["coverage"] - 0.95) < 0.06, row["coverage"]
    assert abs(truth - pool_truth) < 0.1
    wrong = run_inferential_utility(
        [str(bad)],
        str(train),
        str(card),
        {**params, "reps": 20},
        est,
        3,
        str(tmp_path / "b.parquet"),
        "toy",
        "hybrid_x",
    ).iloc[0]
    assert wrong["coverage"] < 0.1 and wrong["bias"] == pytest.approx(1.0, abs=0.15)


def test_subsamples_stop_at_the_released_rows(tmp_path):
    released = tmp_path / "synthetic.parquet"
    write_parquet(draw(300, 21), released)
    train = tmp_path / "train.parquet"
    write_parquet(draw(400, 22), train)
    card = tmp_path / "card.json"
    write_json({"dataset": "toy", **ROLES.to_dict(), "truth": {"ate": 1.0, "kind": "reference"}}, card)
    params = {"sizes": [100, 300, 600], "reps": 6, "estimators": ["aipw"], "learner": "linear"}
    out = run_inferential_utility(
        [str(released)],
        str(train),
        str(card),
        params,
        {"folds": 2},
        3,
        str(tmp_path / "o.parquet"),
        "toy",
        "g",
    ).set_index("n_rows")
    assert list(out["reps"]) == [6, 1, 0]  # n = released rows: the set itself is the only one
    assert "exceed the 300 released rows" in out.loc[600, "status"] and math.isnan(out.loc[600, "coverage"])
    # a reference truth is another study's estimate: the real-data estimate is the target instead
    assert (out["truth_kind"] == "real_estimate").all() and out["truth_se"].gt(0).all()
    assert (out["design"] == "subsample").all()


def test_a_pool_without_an_arm_is_a_status_not_a_crash(tmp_path):
    pool = tmp_path / "p" / "pool.parquet"
    pool.parent.mkdir()
    _write_pool(draw(300, 31).assign(a=0), ROLES, pool)
    train = tmp_path / "train.parquet"
    write_parquet(draw(300, 32), train)
    card = tmp_path / "card.json"
    write_json({"dataset": "toy", **ROLES.to_dict(), "truth": {"ate": 1.0, "kind": "exact"}}, card)
    params = {"sizes": [100], "reps": 2, "estimators": ["aipw"], "learner": "linear"}
    out = run_inferential_utility(
        [str(pool)],
        str(train),
        str(card),
        params,
        {"folds": 2},
        3,
        str(tmp_path / "o.parquet"),
        "toy",
        "hybrid_g",
    ).iloc[0]
    assert out["reps"] == 0 and "the pool cannot be simulated" in out["status"] and "a=1" in out["status"]
