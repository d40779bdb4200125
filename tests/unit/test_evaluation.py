"""The evaluation entry functions: A (ATE preservation), TSTR, B (positivity), C (engine)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from causalsynth.core.cells import SetCell
from causalsynth.core.errors import ConfigError, DataError
from causalsynth.core.io import write_json, write_parquet
from causalsynth.core.roles import Roles
from causalsynth.core.vocabulary import ATE, ENGINE, POSITIVITY, RANKING, TSTR
from causalsynth.estimate.grid import write_rows
from causalsynth.estimate.real import run_real_estimates, write_ate_rows
from causalsynth.evaluate.ate import ate_preservation_rows
from causalsynth.evaluate.positivity import run_positivity
from causalsynth.evaluate.tstr import tstr_row

ATE_COLUMNS, ENGINE_COLUMNS = list(ATE.columns), list(ENGINE.columns)
POSITIVITY_COLUMNS, RANKING_COLUMNS, TSTR_COLUMNS = (
    list(POSITIVITY.columns),
    list(RANKING.columns),
    list(TSTR.columns),
)

ROLES = Roles("a", "y", "binary", {"w1": "continuous", "w2": "binary", "c": "categorical"})
GRID = {"estimators": ["substitution", "iptw", "aipw"], "learner": "linear", "folds": 3}


def table(n: int, seed: int, strength: float = 0.5) -> pd.DataFrame:
    r = np.random.default_rng(seed)
    w1, w2 = r.normal(size=n), r.binomial(1, 0.5, n)
    c = r.choice(["u", "v"], size=n)
    a = r.binomial(1, expit(strength * w1 + 0.3 * w2 - 0.2))
    y = r.binomial(1, expit(-0.2 + 0.9 * a + 0.5 * w1 - 0.4 * w2 + 0.3 * (c == "v")))
    return pd.DataFrame({"w1": w1, "w2": w2, "c": c, "a": a, "y": y})


@pytest.fixture
def card(tmp_path):
    card = {
        "dataset": "toy",
        **ROLES.to_dict(),
        "truth": {"ate": 0.2, "kind": "exact", "source": "test"},
        "positivity": {"n_sets": 2, "truth": 0.19, "truth_kind": "exact"},
    }
    path = tmp_path / "card.json"
    write_json(card, path)
    return path


def _parquet(df, path):
    write_parquet(df, path)
    return str(path)


def _tstr(*args, out, **kwargs) -> pd.DataFrame:
    """One TSTR row (:func:`tstr_row`) written to ``out`` as the rule writes its table."""
    return write_rows([tstr_row(*args, **kwargs)], TSTR_COLUMNS, out)


# --------------------------------------------------------------------------- A


def test_ate_preservation_rows_for_a_hybrid_pool(tmp_path, card):
    real = _parquet(table(400, 1), tmp_path / "train.parquet")
    pool_dir = tmp_path / "hybrid"
    pool_dir.mkdir()
    pool = _parquet(table(600, 2).assign(mu0=0.1, mu1=0.3), pool_dir / "pool.parquet")
    write_json({"engine_truth": 0.21}, pool_dir / "meta.json")
    out = tmp_path / "ate.parquet"
    frame = write_ate_rows(
        ate_preservation_rows(pool, real, str(card), GRID, 5, 1, "toy", "hybrid_x", 2), out
    )
    stored = pd.read_parquet(out)
    assert list(stored.columns) == ATE_COLUMNS
    assert len(stored) == 6 and set(stored["generator"]) == {"real", "hybrid_x"}
    assert (stored["rep"] == 2).all() and (stored["status"] == "ok").all()
    synth = stored[stored["generator"] == "hybrid_x"].set_index("estimator")
    realrows = stored[stored["generator"] == "real"].set_index("estimator")
    assert (synth["truth"] == 0.2).all() and (synth["truth_kind"] == "exact").all()
    assert (synth["engine_truth"] == 0.21).all() and realrows["engine_truth"].isna().all()
    np.testing.assert_allclose(synth["bias"], synth["ate"] - 0.2)
    np.testing.assert_allclose(synth["real_ate"], realrows.loc[synth.index, "ate"])
    assert stored["covered"].dtype == "boolean"
    expected = (synth["ci_low"] <= 0.2) & (0.2 <= synth["ci_high"])
    assert synth["covered"].tolist() == expected.tolist()
    # hybrid rows: coverage of the pool's own exact effect; real rows have none
    assert stored["covered_engine"].dtype == "boolean"
    in_pool = (synth["ci_low"] <= 0.21) & (0.21 <= synth["ci_high"])
    assert synth["covered_engine"].tolist() == in_pool.tolist()
    assert realrows["covered_engine"].isna().all()
    # every row carries the overlap diagnostics of its weights
    assert (stored["ess_treated"] > 0).all() and (stored["ess_control"] > 0).all()
    assert stored["max_weight"].between(0, 1).all() and (stored["warning"] == "").all()
    pd.testing.assert_frame_equal(frame, stored)


def test_coverage_of_a_reference_truth_is_empty(tmp_path):
    card = tmp_path / "card.json"
    write_json({**ROLES.to_dict(), "truth": {"ate": 0.2, "kind": "reference", "source": "a study"}}, card)
    train = _parquet(table(300, 1), tmp_path / "train.parquet")
    real = run_real_estimates(train, str(card), GRID, 5, 1, str(tmp_path / "real.parquet"), "toy")
    assert (real["truth_kind"] == "reference").all() and (real["status"] == "ok").all()
    # a reference value is another estimate, not the truth: bias is reported, coverage is not
    assert real["covered"].isna().all() and real["covered_engine"].isna().all()
    np.testing.assert_allclose(real["bias"], real["ate"] - 0.2)


def test_real_estimates_are_computed_once_and_reused(tmp_path, card):
    train = _parquet(table(400, 1), tmp_path / "train.parquet")
    synth = _parquet(table(500, 3), tmp_path / "synthetic.parquet")
    params = {**GRID, "learners": ["linear"], "learner": None, "truncation": 10}
    real = run_real_estimates(train, str(card), params, 5, 1, str(tmp_path / "real.parquet"), "toy")
    assert list(real.columns) == ATE_COLUMNS and (real["generator"] == "real").all()
    np.testing.assert_allclose(real["real_ate"], real["ate"])
    cell = write_ate_rows(ate_preservation_rows(
        synth, None, str(card), params, 9, 1, "toy", "ctgan", 1,
        real_estimates_path=str(tmp_path / "real.parquet"),
    ), tmp_path / "a.csv")  # fmt: skip
    assert (tmp_path / "a.csv").exists()
    copied = cell[cell["generator"] == "real"].reset_index(drop=True)
    np.testing.assert_allclose(copied["ate"], real["ate"])
    # no meta.json beside a base generator's table: engine_truth is NaN
    assert cell["engine_truth"].isna().all()
    with pytest.raises(DataError, match="no real-data estimate"):
        ate_preservation_rows(
            synth, None, str(card), {**params, "estimators": ["tmle"]}, 9, 1,
            "toy", "ctgan", 1, real_estimates_path=str(tmp_path / "real.parquet"),
        )  # fmt: skip


def test_ate_preservation_reports_failing_cells_and_bad_input(tmp_path, card):
    real = _parquet(table(300, 1), tmp_path / "train.parquet")
    tiny = table(300, 4)
    tiny["a"] = 0
    tiny.loc[tiny.index[:2], "a"] = 1
    synth = _parquet(tiny, tmp_path / "synthetic.parquet")
    frame = write_ate_rows(
        ate_preservation_rows(synth, real, str(card), GRID, 5, 1, "toy", "g", 1), tmp_path / "o.parquet"
    )
    bad = frame[frame["generator"] == "g"]
    assert bad["status"].str.contains("treatment arm A=1 has 2 unit").all()
    assert bad["ate"].isna().all() and bad["covered"].isna().all()
    missing = _parquet(table(50, 1).drop(columns="w1"), tmp_path / "missing.parquet")
    with pytest.raises(DataError, match=r"missing\.parquet, column 'w1': column not found"):
        ate_preservation_rows(missing, real, str(card), GRID, 5, 1, "toy", "g", 1)
    with pytest.raises(ConfigError, match=r"unknown param\(s\) \['estimator'\]"):
        ate_preservation_rows(synth, real, str(card), {"estimator": ["aipw"]}, 5, 1, "toy", "g", 1)


# --------------------------------------------------------------------------- TSTR


def test_tstr_scores_against_the_train_on_real_ceiling(tmp_path, card):
    train = _parquet(table(500, 1), tmp_path / "train.parquet")
    holdout = _parquet(table(400, 2), tmp_path / "holdout.parquet")
    out = tmp_path / "tstr.parquet"
    # a synthetic table identical to the training table scores exactly the ceiling
    frame = _tstr(train, train, holdout, str(card), {"learner": "linear"}, 3, "toy", "copy", 1, out=out)
    assert list(pd.read_parquet(out).columns) == TSTR_COLUMNS
    row = frame.iloc[0]
    assert row["metric"] == "auc" and row["status"] == "ok"
    assert 0.6 < row["value"] < 1 and row["value"] == pytest.approx(row["train_on_real"])
    # outcome noise unrelated to W and A: chance-level AUC
    noise = table(500, 3)
    noise["y"] = np.random.default_rng(0).binomial(1, 0.5, len(noise))
    synth = _parquet(noise, tmp_path / "noise.parquet")
    worse = _tstr(synth, train, holdout, str(card), {"learner": "linear"}, 3, "toy", "noise", 1, out=out)
    assert worse.iloc[0]["value"] < row["value"] - 0.1


def test_tstr_continuous_outcome_uses_r2_and_single_class_is_a_status(tmp_path):
    roles = Roles("a", "y", "continuous", {"w1": "continuous", "w2": "binary", "c": "categorical"})
    card = tmp_path / "card.json"
    write_json({**roles.to_dict(), "truth": {"ate": None, "kind": None}}, card)
    df = table(400, 1).assign(y=lambda d: 2 * d["w1"] + d["a"] + np.random.default_rng(1).normal(size=len(d)))
    train = _parquet(df, tmp_path / "train.parquet")
    frame = _tstr(
        train, train, train, str(card), {"learner": "linear"}, 3, "toy", "g", 1, out=tmp_path / "t.csv"
    )
    assert frame.iloc[0]["metric"] == "r2" and frame.iloc[0]["value"] > 0.7
    const = table(100, 2).assign(y=1)
    binary_card = tmp_path / "binary.json"
    write_json(ROLES.to_dict(), binary_card)
    synth = _parquet(const, tmp_path / "const.parquet")
    real = _parquet(table(200, 3), tmp_path / "real.parquet")
    failed = _tstr(synth, real, real, str(binary_card), {}, 3, "toy", "g", 1, out=tmp_path / "f.parquet")
    assert "single class" in failed.iloc[0]["status"] and math.isnan(failed.iloc[0]["value"])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_tstr_judge_does_not_chase_noise_and_keeps_a_strong_signal(seed):
    # the default judge against the estimators' boosting, trained on 500 rows, scored on 500:
    # where the outcome is mostly noise (true R^2 0.06) the unregularized one falls below the
    # mean (-0.12 to -0.18); where the signal is strong and nonlinear both find it (0.57-0.64)
    from sklearn.metrics import r2_score

    from causalsynth.core.learners import make_learner
    from causalsynth.core.schema import default

    judge = default("tstr", "learner")
    assert judge == "gradient_boosting_regularized"
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(1000, 8))
    noisy = 0.5 * x[:, 0] + rng.normal(scale=2, size=1000)
    strong = 2 * np.sin(2 * x[:, 0]) + x[:, 1] ** 2 + rng.normal(size=1000)

    def r2(name, y):
        model = make_learner(name, "regression", 0).fit(x[:500], y[:500])
        return r2_score(y[500:], model.predict(x[500:]))

    assert r2(judge, noisy) > r2("gradient_boosting", noisy) + 0.05
    assert r2(judge, noisy) > -0.06
    assert r2(judge, strong) > max(0.5, r2("gradient_boosting", strong) - 0.08)
    assert r2(judge, strong) > r2("linear", strong) + 0.5


# --------------------------------------------------------------------------- B


def test_positivity_methods_and_counts(tmp_path, card):
    sets = [table(200, 10 + s, strength=6.0).assign(set=s) for s in (1, 2)]
    positivity = _parquet(pd.concat(sets, ignore_index=True), tmp_path / "positivity.parquet")
    added = [table(15, 20 + s).assign(set=s, synthetic=1) for s in (1, 2)]
    paired = pd.concat([sets[0].assign(synthetic=0), added[0], sets[1].assign(synthetic=0), added[1]])
    paired = _parquet(paired.assign(propensity=0.5), tmp_path / "paired.parquet")
    params = {
        "estimators": ["substitution", "iptw", "iptw_truncated", "aipw"],
        "learner": "linear",
        "folds": 3,
    }
    out = tmp_path / "pos.parquet"
    frame = run_positivity(positivity, paired, str(card), params, 1, 1, str(out), "toy", 1)
    assert list(pd.read_parquet(out).columns) == POSITIVITY_COLUMNS
    assert set(frame["set"]) == {1, 2} and (frame["truth"] == 0.19).all()
    one = frame[frame["set"] == 1]
    methods = one.groupby("method")["estimator"].apply(list).to_dict()
    assert methods["raw"] == methods["paired"] == params["estimators"]
    # truncation and clipping only change estimators that weight by g
    assert methods["truncated"] == methods["clipped"] == ["iptw", "aipw"]
    assert (one.loc[one["method"] == "paired", "n_added"] == 15).all()
    assert (one.loc[one["method"].isin(["raw", "truncated", "clipped"]), "n_added"] == 0).all()
    assert one["n_extreme"].nunique() == 1 and one["n_extreme"].iloc[0] > 0
    raw = one[one["method"] == "raw"].set_index("estimator")
    truncated = one[one["method"] == "truncated"].set_index("estimator")
    assert truncated.loc["iptw", "ate"] == pytest.approx(raw.loc["iptw_truncated", "ate"])
    assert (frame["status"] == "ok").all()


def test_positivity_without_study_writes_no_rows(tmp_path, card):
    empty = _parquet(table(5, 1).iloc[:0].assign(set=0), tmp_path / "positivity.parquet")
    paired = _parquet(table(5, 1).iloc[:0].assign(set=0, synthetic=0), tmp_path / "paired.parquet")
    frame = run_positivity(empty, paired, str(card), GRID, 1, 1, str(tmp_path / "p.parquet"), "toy", 1)
    assert frame.empty and list(frame.columns) == POSITIVITY_COLUMNS


def test_one_job_for_all_replicates_writes_the_rows_of_one_job_per_replicate(tmp_path, card):
    from causalsynth.evaluate.synthetic import run_synthetic_evaluation

    train = _parquet(table(400, 1), tmp_path / "train.parquet")
    holdout = _parquet(table(300, 2), tmp_path / "holdout.parquet")
    real = tmp_path / "real.parquet"
    run_real_estimates(train, str(card), GRID, 4, 1, str(real), "toy")
    sets, metas = [], []
    for rep in (1, 2):
        folder = tmp_path / f"rep{rep}"
        folder.mkdir()
        sets.append(_parquet(table(500, 10 + rep), folder / "synthetic.parquet"))
        metas.append(str(folder / "meta.json"))
        write_json({}, folder / "meta.json")
    cells = [SetCell("gen", rep, sets[k], metas[k], 7 + k, tstr_seed=17 + k) for k, rep in enumerate((1, 2))]
    estimates, tstr = run_synthetic_evaluation(
        cells, 99, str(real), train, holdout, str(card),
        GRID, {"learner": "linear"}, "toy", str(tmp_path / "e.parquet"), str(tmp_path / "t.parquet"),
    )  # fmt: skip
    for k, rep in enumerate((1, 2)):
        alone = write_ate_rows(ate_preservation_rows(
            sets[k], None, str(card), GRID, 7 + k, 1, "toy", "gen", rep,
            meta_path=metas[k], real_estimates_path=str(real),
        ), tmp_path / "a.parquet")  # fmt: skip
        grouped = estimates[estimates["rep"] == rep].reset_index(drop=True)
        keep = [c for c in ATE_COLUMNS if c != "seconds"]
        pd.testing.assert_frame_equal(grouped[keep], alone[keep])
        one = _tstr(sets[k], train, holdout, str(card), {"learner": "linear"}, 17 + k,
                    "toy", "gen", rep, real_seed=99, out=tmp_path / "b.parquet")  # fmt: skip
        pd.testing.assert_frame_equal(tstr[tstr["rep"] == rep].reset_index(drop=True), one)
    assert list(pd.read_parquet(tmp_path / "t.parquet").columns) == TSTR_COLUMNS
    with pytest.raises(ConfigError, match="have no tstr_seed"):
        run_synthetic_evaluation(
            [replace(cells[0], tstr_seed=None)], 99, str(real), train, holdout,
            str(card), GRID, {}, "toy", str(tmp_path / "e.parquet"), str(tmp_path / "t.parquet"),
        )  # fmt: skip


def test_the_train_on_real_ceiling_is_fitted_once_per_split_for_every_generator(tmp_path, card, monkeypatch):
    import causalsynth.evaluate.synthetic as synthetic_module
    import causalsynth.evaluate.tstr as tstr_module

    fits = []
    real_score = tstr_module.outcome_score
    monkeypatch.setattr(
        tstr_module, "outcome_score", lambda *a, **k: fits.append(a[0]) or real_score(*a, **k)
    )
    train = _parquet(table(300, 1), tmp_path / "train.parquet")
    holdout = _parquet(table(200, 2), tmp_path / "holdout.parquet")
    real = tmp_path / "real.parquet"
    run_real_estimates(train, str(card), GRID, 4, 1, str(real), "toy")
    sets, metas = [], []
    for rep in (1, 2, 3):
        folder = tmp_path / f"rep{rep}"
        folder.mkdir()
        sets.append(_parquet(table(300, 10 + rep), folder / "synthetic.parquet"))
        metas.append(str(folder / "meta.json"))
        write_json({}, folder / "meta.json")
    # two generators' sets on one split: the ceiling is the split's, fitted once for both
    cells = [
        SetCell(g, rep, data, meta, seed, tstr_seed=seed + 10)
        for data, meta, (g, rep), seed in zip(sets, metas, [("gen", 1), ("gen", 2), ("other", 1)], [7, 8, 7], strict=True)
    ]  # fmt: skip
    _, tstr = synthetic_module.run_synthetic_evaluation(
        cells, 99, str(real), train,
        holdout, str(card), GRID, {"learner": "linear"}, "toy", str(tmp_path / "e.parquet"),
        str(tmp_path / "t.parquet"),
    )  # fmt: skip
    assert len(fits) == 4  # one ceiling and three synthetic cells
    assert tstr["train_on_real"].nunique() == 1
    assert tstr["generator"].tolist() == ["gen", "gen", "other"]
