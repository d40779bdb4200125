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
from causalsynth.core.uncertainty import UNDECIDED
from causalsynth.core.vocabulary import (
    AGREES,
    DISAGREES,
    ENGINE,
    ENGINE_REFERENCE,
    ENGINE_REPLICATE_COLUMNS,
    RANKING,
)
from causalsynth.data import get_dataset
from causalsynth.evaluate import engine as engine_module
from causalsynth.evaluate.engine import (
    PoolProcess,
    SimulatedProcess,
    process_overlap,
    repeated_share,
    run_engine,
    summarize_replicates,
)
from causalsynth.evaluate.ranking import engine_ranking

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
    pool, card = write_pool(tmp_path, known_pool(5000, 11))
    params = {"n": 500, "reps": 300, "estimators": ["aipw"], "learner": "linear", "folds": 2}
    row = run_engine(pool, params, 5, 2, str(tmp_path / "e.parquet"), "toy", "hybrid_x", card_path=card).iloc[
        0
    ]
    assert row["reps"] == 300 and row["n_failed"] == 0
    assert abs(row["bias"]) <= 3 * row["bias_mcse"]
    assert abs(row["coverage"] - 0.95) <= 3 * row["coverage_mcse"]
    assert row["rmse_mcse"] > 0 and row["bias_mcse"] == pytest.approx(math.sqrt(row["variance"] / 300))
    # paired with the oracle, AIPW's bias is measured far more precisely than marginally
    assert abs(row["bias_vs_ref"]) <= 3 * row["bias_vs_ref_mcse"] < row["bias_mcse"]


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


def test_the_pool_propensity_is_bounded_before_a_is_drawn():
    """A pool with propensities of exactly 0 and 1 (a forest's assignment): the engine draws A
    from e bounded to [b, 1 - b], so units with e = 0 are sometimes treated; the ATE is unchanged."""
    pool = known_pool(2000, 5)
    e = pool["propensity"].to_numpy().copy()
    e[:600], e[600:700] = 0.0, 1.0
    pool["propensity"] = e
    raw = PoolProcess(pool, ROLES, "pool.parquet")
    process = PoolProcess(pool, ROLES, "pool.parquet", propensity_bound=0.05)
    assert process.truth == raw.truth
    draw = process.draw(40_000, 3)
    assert draw.propensity.min() == 0.05 and draw.propensity.max() == 0.95
    np.testing.assert_array_equal(draw.propensity, np.clip(draw.raw_propensity, 0.05, 0.95))
    a = draw.table["a"].to_numpy()
    zero, one = draw.raw_propensity == 0.0, draw.raw_propensity == 1.0
    assert a[zero].mean() == pytest.approx(0.05, abs=0.01) and a[one].mean() == pytest.approx(0.95, abs=0.02)
    assert raw.draw(40_000, 3).table["a"].to_numpy()[zero].sum() == 0  # unbounded: never treated
    # the bound is b in the engine's own overlap record
    overlap = process_overlap(process.raw_e, 0.05, "ATE", "pool.parquet")
    assert overlap["share_bounded"] == pytest.approx(float(((e < 0.05) | (e > 0.95)).mean()))
    assert (overlap["propensity_min"], overlap["propensity_max"]) == (0.0, 1.0)


def test_the_truth_engine_of_sim_paper_draws_its_bounded_confounded_design():
    process = SimulatedProcess(get_dataset("sim_paper", None), 0.01)
    assert process.design == "confounded" and process.truth == pytest.approx(0.4185, abs=1e-4)
    draw = process.draw(20_000, 1)
    assert draw.propensity.min() == 0.01 and draw.propensity.max() == 0.99
    np.testing.assert_array_equal(draw.propensity, np.clip(draw.raw_propensity, 0.01, 0.99))
    below = draw.raw_propensity < 1e-6  # never treated without the bound
    assert below.mean() > 0.5
    assert draw.table["A"].to_numpy()[below].mean() == pytest.approx(0.01, abs=0.003)
    # the true outcome means: their mean effect is the exact truth up to sampling noise
    assert float(np.mean(draw.mu1 - draw.mu0)) == pytest.approx(process.truth, abs=0.01)
    # the same seed draws the same sample
    pd.testing.assert_frame_equal(process.draw(500, 7).table, process.draw(500, 7).table)
    # sim_continuous keeps its observational training design; its true means give its 1.44
    cont = SimulatedProcess(get_dataset("sim_continuous", None), 0.01)
    draw = cont.draw(20_000, 2)
    assert cont.design == "observational" and float(np.mean(draw.mu1 - draw.mu0)) == pytest.approx(
        1.44, abs=0.02
    )
    assert draw.table["A"].mean() == pytest.approx(draw.propensity.mean(), abs=0.01)


def test_a_pool_without_overlap_is_refused_and_one_with_little_is_warned_about(tmp_path):
    e = np.r_[np.zeros(500), np.ones(500)]
    with pytest.raises(DataError, match=r"pool.parquet, column 'propensity'.*Fix: .*hybrid.assignment"):
        process_overlap(e, 0.01, "ATE", "pool.parquet")
    # half the rows treated with e 0.95, half never: the treated arm's ESS is 4% of its units
    little = process_overlap(np.r_[np.full(500, 0.95), np.zeros(500)], 0.01, "ATE", "pool.parquet")
    assert little["warning"].startswith("pool.parquet: treated expected ESS 4.1% of its units")
    assert little["share_bounded"] == 0.5
    assert process_overlap(np.full(1000, 0.5), 0.01, "ATE", "p")["warning"] == ""
    # through the engine: the refusal comes before any fit
    pool = known_pool(300, 1).assign(propensity=np.r_[np.zeros(150), np.ones(150)])
    path, card = write_pool(tmp_path, pool)
    with pytest.raises(DataError, match="strictly inside"):
        run_engine(
            path, {"n": 50, "reps": 2, "estimators": ["aipw"]}, 1, 1, "x.parquet", "toy", "h", card_path=card
        )


def test_a_small_pool_is_recorded_and_warned_about_and_the_oracle_is_unbiased(tmp_path):
    """A pool under 10 times n warns, naming it, and the table records its rows and ratio; the
    oracle AIPW of every replicate (true e and mu) is unbiased and has the smallest paired error."""
    path, card = write_pool(tmp_path, known_pool(1500, 2))
    params = {"n": 300, "reps": 40, "estimators": ["substitution"], "learner": "linear", "cross_fit": False}
    out = str(tmp_path / "e.parquet")
    with pytest.warns(
        UserWarning, match=r"pool.parquet: the pool's 1500 rows are 5.0 times the largest n 300"
    ):
        table = run_engine(path, params, 3, 1, out, "toy", "hybrid_x", card_path=card)
    assert list(table.columns) == list(ENGINE.columns)
    assert table["estimator"].tolist() == ["substitution", ENGINE_REFERENCE]
    assert (table["pool_rows"] == 1500).all() and (table["pool_ratio"] == 5.0).all()
    assert table["warning"].str.contains("about 9% of a draw's rows repeat").all()
    assert repeated_share(500, 1000) == pytest.approx(0.2128, abs=1e-4)  # the 21%
    oracle = table.set_index("estimator").loc[ENGINE_REFERENCE]
    assert oracle["learner"] == "true" and oracle["n_failed"] == 0
    assert abs(oracle["bias"]) <= 3 * oracle["bias_mcse"] and oracle["bias_mcse"] < 0.02
    assert (oracle["bias_vs_ref"], oracle["rmse_vs_ref_mcse"]) == (0.0, 0.0)
    assert (table["reference"] == ENGINE_REFERENCE).all() and (table["propensity_bound"] == 0.01).all()
    # bitwise the same under the same seed
    few = {**params, "reps": 3}
    with pytest.warns(UserWarning, match="hybrid.n_rows to at least 3000"):
        once, again = (
            run_engine(path, few, 3, 1, str(tmp_path / f"{k}.parquet"), "toy", "hybrid_x", card_path=card)
            for k in "fg"
        )
    pd.testing.assert_frame_equal(once, again)


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
    train_design = "observational"

    def sample(self, n: int, seed: int, design: str, assignment=None) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        w = pd.DataFrame({"w1": rng.normal(size=n), "w2": rng.binomial(1, 0.5, n)})
        e, mu0, mu1 = self.nuisances(w, design)
        a = rng.binomial(1, assignment(e))
        return w.assign(a=a, y=np.where(a == 1, mu1, mu0) + rng.normal(size=n))

    def nuisances(self, frame: pd.DataFrame, design: str):
        w1, w2 = frame["w1"].to_numpy(), frame["w2"].to_numpy()
        return expit(0.6 * w1 + 0.4 * w2 - 0.2), w1 + 0.5 * w2, w1 + 0.5 * w2 + 1.0


@pytest.mark.slow
def test_engine_tables_replicates_parallel_and_truth(tmp_path, monkeypatch):
    pool, card = write_pool(tmp_path, known_pool(4000, 7))
    params = {"n_grid": [60, 400], "reps": 3, "estimators": ["substitution", "aipw"], "learner": "linear"}
    reps_out = tmp_path / "replicates.parquet"
    pooled = run_engine(
        pool, params, 4, 2, str(tmp_path / "e.parquet"), "toy", "hybrid_x", card_path=card,
        replicates_path=str(reps_out),
    )  # fmt: skip
    assert list(pooled.columns) == list(ENGINE.columns)
    assert len(pooled) == 6 and (pooled["reps"] == 3).all() and (pooled["n_failed"] == 0).all()
    replicates = pd.read_parquet(reps_out)
    assert list(replicates.columns) == ENGINE_REPLICATE_COLUMNS and len(replicates) == 18
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
    assert (truth["truth"] == 1.0).all() and len(truth) == 3 and truth["pool_rows"].isna().all()


def test_engine_on_the_simulated_paper_process(tmp_path):
    params = {"n": 150, "reps": 2, "estimators": ["aipw"], "learner": "linear", "cross_fit": False}
    frame = run_engine(None, params, 1, 1, str(tmp_path / "e.parquet"), "sim_paper", "truth")
    assert frame.iloc[0]["truth"] == pytest.approx(0.4185, abs=1e-3)
    assert (frame["n_failed"] == 0).all() and frame["estimator"].tolist() == ["aipw", ENGINE_REFERENCE]
    # the confounded design: most propensities are beyond the bound, which moved them
    assert frame.iloc[0]["propensity_min"] < 1e-6 and frame.iloc[0]["share_bounded"] > 0.8


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
            "se": [0.5, 0.25, math.nan],
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
    # Wilson at 1 of 2: centre 0.5, half-width z sqrt(1/8 + z^2/16) / (1 + z^2/2)
    z = 1.959963984540054
    half = z * math.sqrt(0.25 / 2 + z**2 / 16) / (1 + z**2 / 2)
    assert row["coverage_mcse"] == pytest.approx(half / z)
    assert (row["coverage_low"], row["coverage_high"]) == pytest.approx((0.5 - half, 0.5 + half))
    # delta method: SE(MSE) / (2 RMSE), MSE's SE from the squared errors 0.25 and 2.25
    assert row["rmse_mcse"] == pytest.approx(np.std([0.25, 2.25], ddof=1) / math.sqrt(2) / (2 * row["rmse"]))
    assert math.isnan(row["bias_vs_ref"]) and row["reference"] == ""  # no reference rows given


def test_coverage_mcse_is_not_zero_at_coverage_one():
    reps = pd.DataFrame({"n": 100, "estimator": "aipw", "learner": "linear", "ate": np.zeros(200), "se": 0.5,
                         "ci_low": -1.0, "ci_high": 1.0, "status": "ok"})  # fmt: skip
    row = summarize_replicates(reps, truth=0.0).iloc[0]
    z = 1.959963984540054
    assert row["coverage"] == 1.0 and row["coverage_high"] == 1.0
    assert row["coverage_low"] == pytest.approx(200 / (200 + z**2))  # Wilson's bound at k = n
    assert row["coverage_mcse"] == pytest.approx((1 - 200 / (200 + z**2)) / (2 * z))
    assert row["coverage_mcse"] > 0.004


def test_bias_and_rmse_relative_to_the_reference_use_within_replicate_differences():
    """Errors that share each replicate's offset: marginally noisy, paired nearly exact."""
    offset = np.array([0.5, -0.4, 0.3, -0.6, 0.2])
    rows = []
    for name, shift in (("aipw", 0.1), (ENGINE_REFERENCE, 0.0)):
        for r, o in enumerate(offset):
            ate = o + shift + (0.01 * (r % 2) if name == "aipw" else 0.0)
            rows.append({"n": 100, "replicate": r, "estimator": name, "learner": "x", "ate": ate,
                         "se": 0.1, "ci_low": ate - 1, "ci_high": ate + 1, "status": "ok"})  # fmt: skip
    rows[1]["status"] = "failed"  # aipw's replicate 1 is left out of the pairs
    summary = summarize_replicates(pd.DataFrame(rows), truth=0.0).set_index("estimator")
    row = summary.loc["aipw"]
    d = np.array([0.1, 0.1, 0.11, 0.1])  # replicates 0, 2, 3, 4
    assert row["reference"] == ENGINE_REFERENCE and row["bias_vs_ref"] == pytest.approx(d.mean())
    assert row["bias_vs_ref_mcse"] == pytest.approx(np.std(d, ddof=1) / 2)
    assert row["bias_vs_ref_mcse"] < row["bias_mcse"] / 20
    err = np.array([0.6, 0.4, -0.49, 0.3])
    ref = np.array([0.5, 0.3, -0.6, 0.2])
    r_e, r_r = math.sqrt(np.mean(err**2)), math.sqrt(np.mean(ref**2))
    assert row["rmse_vs_ref"] == pytest.approx(r_e - r_r)
    lin = err**2 / (2 * r_e) - ref**2 / (2 * r_r)
    assert row["rmse_vs_ref_mcse"] == pytest.approx(np.std(lin, ddof=1) / 2)
    assert summary.loc[ENGINE_REFERENCE, "bias_vs_ref"] == 0.0


def _replicates_of(values: dict[str, dict[int, list[float]]], se: dict[str, float] | None = None):
    rows = []
    for name, by_n in values.items():
        for n, ates in by_n.items():
            for r, ate in enumerate(ates):
                s = (se or {}).get(name, 0.1)
                rows.append({"n": n, "replicate": r, "estimator": name, "learner": "linear", "ate": ate,
                             "se": s, "ci_low": ate - 2 * s, "ci_high": ate + 2 * s, "status": "ok"})  # fmt: skip
    return pd.DataFrame(rows)


def test_ties_are_judged_on_estimate_se_and_interval_over_every_n_and_kept():
    ate = [0.1, 0.3, 0.2, 0.4]
    reps = _replicates_of(
        {
            "iptw": {100: ate, 200: ate},
            "iptw_truncated": {100: ate, 200: ate},  # identical everywhere: tied
            "capped": {100: ate, 200: [0.1, 0.3, 0.2, 0.5]},  # the same at n = 100 only
            "dml": {100: ate, 200: ate},  # the same estimates, its own SE
        },
        se={"dml": 0.2},
    )
    summary = summarize_replicates(reps, truth=0.25)
    assert len(summary) == 8  # every estimator keeps its rows, at every n
    ties = summary.drop_duplicates("estimator").set_index("estimator")["ties"]
    assert ties.to_dict() == {"iptw": "iptw_truncated", "iptw_truncated": "iptw", "capped": "", "dml": ""}
    dml = summary[(summary["estimator"] == "dml") & (summary["n"] == 100)].iloc[0]
    assert dml["coverage"] == 1.0 and dml["ci_width"] == pytest.approx(0.8)  # DML's own SE is kept


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
                             "learner": "linear", "ate": err, "se": 0.5, "ci_low": err - 1, "ci_high": err + 1, "status": "ok"})  # fmt: skip
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


def test_a_tie_in_one_engine_only_gives_an_interval_that_contains_the_point():
    """The review's case: iptw_truncated ties iptw under the truth only. Point and bootstrap run
    over the same four estimators (tied ones at their average rank), so the interval holds the
    point; dropping the tie from the point alone gave 1.0 against an interval of [0.2, 0.2]."""
    rng = np.random.default_rng(3)
    noise = {name: rng.normal(0.0, 1.0, 200) for name in ("a", "c", "d", "b")}
    sd = {"truth": {"a": 1, "b": 1, "c": 2, "d": 3}, "hybrid_x": {"a": 1, "b": 10, "c": 2, "d": 3}}
    frames = []
    for engine, sds in sd.items():
        values = {name: {100: list(sds[name] * noise["a" if (engine, name) == ("truth", "b") else name])}
                  for name in "abcd"}  # fmt: skip
        frames.append(_replicates_of(values).assign(dataset="toy", engine=engine))
    replicates = pd.concat(frames, ignore_index=True)
    summary = pd.concat(
        [
            summarize_replicates(g, truth=0.0).assign(dataset="toy", engine=e)
            for e, g in replicates.groupby("engine")
        ]
    )
    assert summary.set_index(["engine", "estimator"]).loc[("truth", "a"), "ties"] == "b"
    row = engine_ranking(summary, replicates, seed=2).iloc[0]
    assert row["n_estimators"] == 4
    # truth ranks a = b (1.5, 1.5), c, d; the hybrid a, c, d, b
    assert row["spearman_vs_truth"] == pytest.approx(np.corrcoef([1.5, 1.5, 3, 4], [1, 4, 2, 3])[0, 1])
    assert row["spearman_low"] <= row["spearman_vs_truth"] <= row["spearman_high"]


def test_the_reference_is_no_candidate_of_the_ranking():
    summary, replicates = _ranking_inputs(gap=0.5)
    oracle = replicates[replicates["estimator"] == "a"].assign(estimator=ENGINE_REFERENCE, learner="true")
    replicates = pd.concat([replicates, oracle], ignore_index=True)
    with_reference = pd.concat(
        [
            summarize_replicates(g, truth=0.0).assign(dataset="toy", engine=e)
            for e, g in replicates.groupby("engine")
        ]
    )
    pd.testing.assert_frame_equal(
        engine_ranking(with_reference, replicates, seed=1), engine_ranking(summary, replicates, seed=1)
    )


def test_ranking_without_replicates_or_truth_is_undecided():
    summary, _ = _ranking_inputs(gap=0.5, reps=20)
    ranking = engine_ranking(summary).set_index("engine")
    assert ranking.loc["good", "spearman_vs_truth"] == pytest.approx(1.0)
    assert (ranking["verdict"] == UNDECIDED).all() and ranking["spearman_low"].isna().all()
    other = engine_ranking(summary[summary["engine"] != "truth"])
    assert other["spearman_vs_truth"].isna().all()
