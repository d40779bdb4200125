"""Evaluation C: the simulation engine draws fresh samples of a known process, reports every
metric with its Monte Carlo error, and ranks estimators with a bootstrap interval."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from causalsynth.core.errors import ConfigError, DataError
from causalsynth.core.io import write_json, write_parquet
from causalsynth.core.roles import Roles
from causalsynth.core.vocabulary import ENGINE, ENGINE_REPLICATE_COLUMNS, RANKING
from causalsynth.evaluate import engine as engine_module
from causalsynth.evaluate.engine import (
    AGREES,
    DISAGREES,
    UNDECIDED,
    PoolProcess,
    engine_ranking,
    run_engine,
    summarize_replicates,
)

ROLES = Roles("a", "y", "continuous", {"w1": "continuous", "w2": "binary"})
BINARY = Roles("a", "y", "binary", {"w1": "continuous", "w2": "binary"})


def known_pool(n: int, seed: int, roles: Roles = ROLES) -> pd.DataFrame:
    """A hybrid pool whose propensity and outcome model are the true ones, with A and Y drawn once."""
    rng = np.random.default_rng(seed)
    w1, w2 = rng.normal(size=n), rng.binomial(1, 0.5, n)
    e = expit(0.6 * w1 + 0.4 * w2 - 0.2)
    if roles.outcome_type == "binary":
        mu0, mu1 = expit(0.5 * w1 - 0.3 * w2), expit(0.5 * w1 - 0.3 * w2 + 0.8 + 0.4 * w1)
    else:
        mu0 = w1 + 0.5 * w2
        mu1 = mu0 + 1.0 + 0.5 * w1
    a = rng.binomial(1, e)
    mu = np.where(a == 1, mu1, mu0)
    y = rng.binomial(1, mu) if roles.outcome_type == "binary" else mu + rng.normal(size=n)
    return pd.DataFrame({"w1": w1, "w2": w2, "a": a, "y": y, "mu0": mu0, "mu1": mu1, "propensity": e})


def write_pool(tmp_path, pool: pd.DataFrame, roles: Roles = ROLES):
    write_parquet(pool, tmp_path / "pool.parquet")
    write_json({"engine_truth": float((pool["mu1"] - pool["mu0"]).mean())}, tmp_path / "meta.json")
    write_json({"dataset": "toy", **roles.to_dict(), "truth": None}, tmp_path / "card.json")
    return str(tmp_path / "pool.parquet"), str(tmp_path / "card.json")


@pytest.mark.slow
def test_engine_on_a_known_pool_is_unbiased_and_covers_at_the_nominal_rate(tmp_path):
    """The review's failure: resampling the pool's own A and Y shifted every estimator by the one
    draw's noise (+0.0185 +- 0.0047). Redrawn A and Y leave AIPW unbiased and its intervals at 95%."""
    pool, card = write_pool(tmp_path, known_pool(4000, 11))
    params = {"n": 500, "reps": 300, "estimators": ["aipw"], "learner": "linear", "folds": 2}
    row = run_engine(pool, params, 5, 2, str(tmp_path / "e.parquet"), "toy", "hybrid_x", card_path=card).iloc[
        0
    ]
    assert row["reps"] == 300 and row["n_failed"] == 0
    assert abs(row["bias"]) <= 3 * row["bias_mcse"]
    assert abs(row["coverage"] - 0.95) <= 3 * row["coverage_mcse"]
    assert row["rmse_mcse"] > 0 and row["bias_mcse"] == pytest.approx(math.sqrt(row["variance"] / 300))


def test_pool_process_draws_fresh_treatments_and_outcomes():
    pool = known_pool(2000, 3)
    process = PoolProcess(pool, ROLES, "pool.parquet")
    assert process.truth == pytest.approx(float((pool["mu1"] - pool["mu0"]).mean()))
    a, b = process.sample(5000, 1), process.sample(5000, 2)
    assert list(a.columns) == ROLES.columns
    assert not a["a"].equals(b["a"])
    # A follows the stored propensity: its mean matches the mean propensity of the drawn rows
    assert a["a"].mean() == pytest.approx(pool["propensity"].mean(), abs=0.03)
    # continuous Y: the stored mean plus a residual of the pool's own arm
    binary = PoolProcess(known_pool(2000, 3, BINARY), BINARY, "pool.parquet").sample(3000, 4)
    assert set(binary["y"].unique()) <= {0, 1}
    att = PoolProcess(pool, Roles("a", "y", "continuous", ROLES.covariates, estimand="ATT"), "p")
    e, effect = pool["propensity"], pool["mu1"] - pool["mu0"]
    assert att.truth == pytest.approx(float((e * effect).sum() / e.sum()))


def test_pool_without_model_columns_or_with_a_wrong_truth_is_refused(tmp_path):
    pool = known_pool(300, 1)
    with pytest.raises(DataError, match="column 'mu0'"):
        PoolProcess(pool.drop(columns="mu0"), ROLES, "pool.parquet")
    path, card = write_pool(tmp_path, pool)
    write_json({"engine_truth": 9.0}, tmp_path / "meta.json")
    with pytest.raises(DataError, match="engine_truth"):
        run_engine(
            path, {"n": 50, "reps": 2, "estimators": ["aipw"]}, 1, 1, "x.parquet", "toy", "h", card_path=card
        )


class FakeProcess:
    """A known data-generating process with the interface of the simulated datasets."""

    roles = ROLES
    true_ate = 1.0

    def sample(self, n: int, seed: int, design: str = "rct") -> pd.DataFrame:
        return PoolProcess(known_pool(5000, 0), ROLES, "fake").sample(n, seed)


@pytest.mark.slow
def test_engine_tables_replicates_parallel_and_truth(tmp_path, monkeypatch):
    pool, card = write_pool(tmp_path, known_pool(1000, 7))
    params = {"n_grid": [60, 400], "reps": 3, "estimators": ["substitution", "aipw"], "learner": "linear"}
    reps_out = tmp_path / "replicates.parquet"
    pooled = run_engine(
        pool, params, 4, 2, str(tmp_path / "e.parquet"), "toy", "hybrid_x", card_path=card,
        replicates_path=str(reps_out),
    )  # fmt: skip
    assert list(pooled.columns) == list(ENGINE.columns)
    assert len(pooled) == 4 and (pooled["reps"] == 3).all() and (pooled["n_failed"] == 0).all()
    replicates = pd.read_parquet(reps_out)
    assert list(replicates.columns) == ENGINE_REPLICATE_COLUMNS and len(replicates) == 12
    check = replicates[(replicates["n"] == 60) & (replicates["estimator"] == "aipw")]
    row = pooled[(pooled["n"] == 60) & (pooled["estimator"] == "aipw")].iloc[0]
    assert row["bias"] == pytest.approx(check["ate"].mean() - row["truth"])
    assert row["rmse"] == pytest.approx(math.sqrt(((check["ate"] - row["truth"]) ** 2).mean()))
    # parallel and serial runs give the same numbers (each replicate has its own seed)
    serial = run_engine(pool, params, 4, 1, str(tmp_path / "s.parquet"), "toy", "hybrid_x", card_path=card)
    pd.testing.assert_frame_equal(serial, pooled)

    monkeypatch.setattr(engine_module, "_get_dataset", lambda name, options=None: FakeProcess())
    truth = run_engine(
        None, {**params, "n_grid": None, "n": 200}, 4, 1, str(tmp_path / "t.parquet"), "toy", "truth"
    )
    assert (truth["truth"] == 1.0).all() and len(truth) == 2


def test_engine_on_the_simulated_paper_process(tmp_path):
    params = {"n": 150, "reps": 2, "estimators": ["aipw"], "learner": "linear", "cross_fit": False}
    frame = run_engine(None, params, 1, 1, str(tmp_path / "e.parquet"), "sim_paper", "truth")
    assert frame.iloc[0]["truth"] == pytest.approx(0.4185, abs=1e-3)
    assert frame.iloc[0]["n_failed"] == 0


def test_engine_params_fail_loudly(tmp_path):
    path, card = write_pool(tmp_path, known_pool(100, 1))
    with pytest.raises(ConfigError, match="exactly one of 'n_grid'"):
        run_engine(
            None, {"reps": 2, "estimators": ["aipw"]}, 1, 1, "x.parquet", "toy", "truth", card_path=card
        )
    (tmp_path / "meta.json").unlink()
    with pytest.raises(DataError, match="meta JSON is missing"):
        run_engine(
            path, {"n": 50, "reps": 2, "estimators": ["aipw"]}, 1, 1, "x.parquet", "toy", "h", card_path=card
        )


def test_summary_counts_failures_and_reports_monte_carlo_errors():
    reps = pd.DataFrame(
        {
            "n": [100] * 3,
            "estimator": ["iptw"] * 3,
            "learner": ["linear"] * 3,
            "ate": [1.0, 3.0, math.nan],
            "ci_low": [0.0, 2.5, math.nan],
            "ci_high": [2.0, 3.5, math.nan],
            "status": ["ok", "ok", "positivity violated: ..."],
        }
    )
    row = summarize_replicates(reps, truth=1.5).iloc[0]
    assert row["reps"] == 3 and row["n_failed"] == 1 and row["failure_example"].startswith("positivity")
    assert row["bias"] == pytest.approx(0.5) and row["variance"] == pytest.approx(2.0)
    assert row["bias_mcse"] == pytest.approx(1.0)  # sd 1.414 over sqrt(2)
    assert row["rmse"] == pytest.approx(math.sqrt((0.25 + 2.25) / 2)) and row["coverage"] == 0.5
    assert row["coverage_mcse"] == pytest.approx(math.sqrt(0.25 / 2))
    # delta method: SE(MSE) / (2 RMSE), MSE's SE from the squared errors 0.25 and 2.25
    assert row["rmse_mcse"] == pytest.approx(np.std([0.25, 2.25], ddof=1) / math.sqrt(2) / (2 * row["rmse"]))


def test_identical_estimators_are_reported_once_with_the_tie_named():
    base = {"n": [100] * 4, "learner": ["linear"] * 4, "status": ["ok"] * 4}
    ate = [0.1, 0.3, 0.2, 0.4]
    frames = [
        pd.DataFrame(
            {
                **base,
                "estimator": name,
                "ate": values,
                "ci_low": np.subtract(values, 1),
                "ci_high": np.add(values, 1),
            }
        )
        for name, values in (("iptw", ate), ("iptw_truncated", ate), ("aipw", [0.2] * 4))
    ]
    summary = summarize_replicates(pd.concat(frames, ignore_index=True), truth=0.25)
    assert summary["estimator"].tolist() == ["iptw", "aipw"]
    assert summary.set_index("estimator").loc["iptw", "ties"] == "iptw_truncated"
    assert summary.set_index("estimator").loc["aipw", "ties"] == ""


def _ranking_inputs(gap: float, reps: int = 200, seed: int = 0):
    """Summaries and replicates of a truth engine and two hybrids over four estimators whose
    RMSEs are 1, 1 + gap, 1 + 2 gap, 1 + 3 gap under the truth; 'good' keeps the order, 'bad'
    reverses it."""
    rng = np.random.default_rng(seed)
    order = {"truth": [0, 1, 2, 3], "good": [0, 1, 2, 3], "bad": [3, 2, 1, 0]}
    rows = []
    for engine, ranks in order.items():
        for est, rank in zip("abcd", ranks, strict=True):
            sd = 1.0 + gap * rank
            for r, err in enumerate(rng.normal(0.0, sd, reps)):
                rows.append({"dataset": "toy", "engine": engine, "n": 100, "replicate": r, "estimator": est,
                             "learner": "linear", "ate": err, "ci_low": err - 1, "ci_high": err + 1, "status": "ok"})  # fmt: skip
    replicates = pd.DataFrame(rows)
    summary = pd.concat(
        [
            summarize_replicates(g, truth=0.0).assign(dataset="toy", engine=e)
            for e, g in replicates.groupby("engine")
        ]
    )
    return summary, replicates


def test_ranking_verdicts_follow_the_bootstrap_interval():
    summary, replicates = _ranking_inputs(gap=0.5)
    ranking = engine_ranking(summary, replicates, seed=1).set_index("engine")
    assert set(ranking.reset_index().columns) == set(RANKING.columns)
    assert ranking.loc["good", "spearman_vs_truth"] == pytest.approx(1.0)
    assert ranking.loc["good", "verdict"] == AGREES and ranking.loc["good", "spearman_low"] >= 0.5
    assert ranking.loc["bad", "verdict"] == DISAGREES and ranking.loc["bad", "spearman_high"] < 0.5
    # RMSEs 1% apart at 200 replicates: their own noise cannot order them
    summary, replicates = _ranking_inputs(gap=0.01)
    noisy = engine_ranking(summary, replicates, seed=1).set_index("engine")
    assert (noisy["verdict"] == UNDECIDED).all()
    assert (noisy["spearman_low"] < 0.5).all() and (noisy["spearman_high"] >= 0.5).all()


def test_ranking_without_replicates_or_truth_is_undecided():
    summary, _ = _ranking_inputs(gap=0.5, reps=20)
    ranking = engine_ranking(summary).set_index("engine")
    assert ranking.loc["good", "spearman_vs_truth"] == pytest.approx(1.0)
    assert (ranking["verdict"] == UNDECIDED).all() and ranking["spearman_low"].isna().all()
    other = engine_ranking(summary[summary["engine"] != "truth"])
    assert other["spearman_vs_truth"].isna().all()
