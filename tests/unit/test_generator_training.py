"""Training sized by steps, generator instances, TabularARGN's contract and degenerate samples."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp

from causalsynth.config import Plan, load_config
from causalsynth.core.errors import ConfigError, DataError
from causalsynth.core.io import read_json, write_json, write_parquet
from causalsynth.core.roles import MIN_ARM_UNITS
from causalsynth.generate import CTGANGenerator, TabularARGNGenerator, make_generator, run_generate
from causalsynth.generate.argn import bin_members, draw_within_bins
from causalsynth.generate.run import degenerate_arms
from causalsynth.generate.sizing import schedule
from tests.unit.conftest import GENERATOR_ROLES as ROLES
from tests.unit.conftest import assert_schema
from tests.unit.conftest import generator_table as make_table

CTGAN = {"multiple": 10, "drop_last": True, "who": "generator 'ctgan'", "dataset": "toy"}
TVAE = {"multiple": 1, "drop_last": False, "who": "generator 'tvae'", "dataset": "toy"}


# ------------------------------------------------------------------- the batch/steps rule
@pytest.mark.parametrize(
    ("n", "kw", "batch", "per_epoch", "epochs"),
    [
        (4200, CTGAN, 500, 8, 125),  # big data: the cap; 1,000 steps = 125 epochs of 8
        (311, CTGAN, 310, 1, 1000),  # small data: all rows, rounded down to a multiple of pac
        (1000, CTGAN, 500, 2, 500),
        (311, TVAE, 311, 1, 1000),
        (1096, TVAE, 500, 3, 334),  # the loader keeps the short last batch: ceil(1096 / 500)
    ],
)
def test_auto_batch_fits_the_data_and_epochs_follow_from_steps(n, kw, batch, per_epoch, epochs):
    plan = schedule(n, batch_size=None, max_batch_size=500, epochs=None, steps=1000, **kw)
    assert (plan.batch_size, plan.steps_per_epoch, plan.epochs) == (batch, per_epoch, epochs)
    assert plan.steps >= 1000 and plan.batch_size <= n and plan.batch_size % kw["multiple"] == 0


def test_explicit_epochs_and_batch_are_kept():
    plan = schedule(1000, batch_size=200, max_batch_size=500, epochs=50, steps=1000, **CTGAN)
    assert (plan.batch_size, plan.epochs, plan.steps) == (200, 50, 250)


@pytest.mark.parametrize(
    ("n", "batch", "message"),
    [
        (
            311,
            500,
            r"generator 'ctgan' on dataset 'toy' \(311 training rows\): batch_size 500 is larger "
            r"than the data\. Fix: set batch_size to at most 310, or null",
        ),
        (1000, 205, r"batch_size 205 is not a multiple of 10 \(pac and 2\)\. Fix: set batch_size to 200"),
        (7, None, r"needs at least 10 training rows"),
    ],
)
def test_a_batch_that_cannot_work_names_generator_dataset_and_fix(n, batch, message):
    with pytest.raises(ConfigError, match=message):
        schedule(n, batch_size=batch, max_batch_size=500, epochs=None, steps=10, **CTGAN)


def test_ctgan_refuses_a_batch_larger_than_the_data_at_fit():
    table = make_table(60)
    with pytest.raises(ConfigError, match=r"ctgan_big' on dataset 'tiny'.*larger than the data.*Fix"):
        make_generator("ctgan", {"batch_size": 100}, instance="ctgan_big").fit(table, ROLES, dataset="tiny")
    with pytest.raises(ConfigError, match=r"multiple of 6 \(pac and 2\)"):
        make_generator("ctgan", {"batch_size": 20, "pac": 3}).fit(table, ROLES, dataset="tiny")


@pytest.mark.parametrize("name", ["ctgan", "tvae"])
def test_fit_logs_losses_per_epoch_and_keeps_them(name, caplog):
    params = {"steps": 6, "max_batch_size": 20, "device": "cpu"}
    with caplog.at_level(logging.INFO):
        gen = make_generator(name, params, random_state=1).fit(make_table(60), ROLES, dataset="tiny")
    info = gen.fit_info_
    assert (info["batch_size"], info["steps_per_epoch"], info["epochs"], info["steps"]) == (20, 3, 2, 6)
    losses = info["generator_loss"] if name == "ctgan" else info["loss"]
    assert len(losses) == 2 and all(np.isfinite(losses))
    text = caplog.text
    assert f"{name}: epoch 2/2" in text and "loss" in text
    assert f"{name}: epochs: 2 of 2 done (100%)" in text  # core.progress: done, rate, time left


def test_ctgan_generator_average_is_the_moving_average_of_each_epochs_weights(monkeypatch):
    # 3 epochs of 3 steps; the kept generator is the average of the end-of-epoch weights
    # w1, w2, w3 with the per-epoch weight 0.5**3: ((w1 d + w2 (1-d)) d + w3 (1-d))
    snapshots = []
    original = CTGANGenerator._after_epoch

    def record(self, model):
        snapshots.append({k: v.detach().clone() for k, v in model._generator.named_parameters()})
        original(self, model)

    monkeypatch.setattr(CTGANGenerator, "_after_epoch", record)
    params = {"steps": 9, "max_batch_size": 20, "pac": 2, "generator_average": 0.5, "device": "cpu"}
    gen = make_generator("ctgan", params, random_state=1).fit(make_table(60), ROLES, dataset="tiny")
    assert gen.fit_info_["epochs"] == 3 and len(snapshots) == 3
    d = 0.5**3
    for name, value in gen.model_._generator.named_parameters():
        w1, w2, w3 = (s[name] for s in snapshots)
        expected = (w1 * d + w2 * (1 - d)) * d + w3 * (1 - d)
        np.testing.assert_allclose(value.detach().numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)
        assert not np.allclose(value.detach().numpy(), w3.numpy())  # not the last iterate
    assert_schema(gen.sample(30, seed=2), make_table(60), 30)
    with pytest.raises(ConfigError, match=r"generator_average must be a decay in \(0, 1\)"):
        make_generator("ctgan", {"generator_average": 1.0}).fit(make_table(60), ROLES, dataset="tiny")


def test_tvae_draws_discrete_values_from_its_softmax_or_by_argmax():
    table = make_table(60)
    params = {"steps": 4, "max_batch_size": 20, "device": "cpu"}
    for mode in ("sample", "argmax"):
        gen = make_generator("tvae", {**params, "discrete_sampling": mode}, random_state=2)
        out = gen.fit(table, ROLES, dataset="tiny").sample(80, seed=4)
        assert_schema(out, table, 80)
        pd.testing.assert_frame_equal(gen.sample(80, seed=4), out)
    with pytest.raises(ConfigError, match="discrete_sampling must be one of sample, argmax"):
        make_generator("tvae", {"discrete_sampling": "mode"}).fit(table, ROLES)


# ------------------------------------------------------------------------ instances
def _config(generators, bases=None):
    return {
        "datasets": {"sim_paper": {}},
        "generators": generators,
        "hybrid": {"bases": bases if bases is not None else [*generators, "real"]},
        "pairing": {"pool": "hybrid_real"},
        "engine": {"engines": ["hybrid_real"]},
    }


def test_an_instance_names_its_type_and_keeps_its_own_id():
    config = load_config(_config({"ctgan": {"steps": 500}, "ctgan_paper": {"type": "ctgan", "epochs": 50}}))
    plan = Plan(config)
    assert plan.generator_type("ctgan_paper") == "ctgan" and plan.generator_type("ctgan") == "ctgan"
    assert plan.generator_class("ctgan_paper") is CTGANGenerator
    assert plan.generator_params("ctgan_paper") == {"epochs": 50}
    assert plan.hybrids_for("sim_paper") == ["hybrid_ctgan", "hybrid_ctgan_paper", "hybrid_real"]
    assert plan.reps_for("hybrid_ctgan_paper") == plan.reps


def test_an_unknown_type_or_untyped_id_lists_the_valid_generators():
    with pytest.raises(
        ConfigError,
        match=r"generators/fast/type: unknown generator 'gan9000'; valid generators: arf, ctgan, .*tvae",
    ):
        load_config(_config({"fast": {"type": "gan9000"}}))
    with pytest.raises(
        ConfigError, match=r"generators/ctgan2: unknown generator 'ctgan2'.*give 'ctgan2' a `type`"
    ):
        load_config(_config({"ctgan2": {"epochs": 5}}))
    with pytest.raises(
        ConfigError, match=r"generator 'ctgan_x' \(type 'ctgan'\) has no parameter\(s\) epoch"
    ):
        load_config(_config({"ctgan_x": {"type": "ctgan", "epoch": 5}}))
    with pytest.raises(ConfigError, match="name the references and the hybrid generators"):
        load_config(_config({"hybrid_x": {"type": "ctgan"}}, bases=["real"]))


def test_run_generate_records_the_instance_its_type_and_the_arms(tmp_path):
    table = make_table(60)
    write_parquet(table, tmp_path / "train.parquet")
    write_json({"dataset": "tiny", **ROLES.to_dict()}, tmp_path / "card.json")
    out = {"out_data": tmp_path / "s.parquet", "out_meta": tmp_path / "m.json"}
    run_generate(
        tmp_path / "train.parquet",
        tmp_path / "card.json",
        "copula_norm",
        {"default_distribution": "norm"},
        n_rows=40,
        seed=3,
        n_jobs=1,
        dataset="tiny",
        generator_type="gaussian_copula",
        **out,
    )
    meta = read_json(tmp_path / "m.json")
    assert (meta["generator"], meta["type"]) == ("copula_norm", "gaussian_copula")
    assert meta["degenerate"] is None and meta["epsilon"] is None
    assert_schema(pd.read_parquet(tmp_path / "s.parquet"), table, 40)


# -------------------------------------------------------------------- degenerate samples
def test_an_arm_below_the_estimators_minimum_is_named():
    real = make_table(100)
    synthetic = real.assign(A=0)
    share = real["A"].mean()
    assert degenerate_arms(synthetic, real, ROLES) == (
        f"treatment share 0.000 vs {share:.3f} real: arm A=1 has 0 unit(s), below the estimators' "
        f"minimum of {MIN_ARM_UNITS}"
    )
    few = synthetic.copy()
    few.loc[: MIN_ARM_UNITS - 1, "A"] = 1
    assert degenerate_arms(few, real, ROLES) is None
    few.loc[0, "A"] = 0
    assert "arm A=1 has 4 unit(s)" in degenerate_arms(few, real, ROLES)


# ------------------------------------------------------------------------ TabularARGN
FAST_ARGN = {"max_epochs": 2, "device": "cpu"}


@pytest.fixture(scope="module")
def argn():
    return make_generator("tabularargn", FAST_ARGN, random_state=3).fit(make_table(60), ROLES, dataset="tiny")


@pytest.mark.slow  # importing mostlyai-engine (transformers) takes a few seconds
def test_tabularargn_samples_the_training_schema_reproducibly(argn):
    table = make_table(60)
    a = argn.sample(50, seed=7)
    assert_schema(a, table, 50)
    pd.testing.assert_frame_equal(argn.sample(50, seed=7), a)
    assert not a.equals(argn.sample(50, seed=8))
    refit = make_generator("tabularargn", FAST_ARGN, random_state=3).fit(table, ROLES, dataset="tiny")
    pd.testing.assert_frame_equal(refit.sample(50, seed=7), a)
    info = argn.fit_info_
    assert len(info["validation_loss"]) == 2 and all(np.isfinite(info["train_loss"]))
    assert argn.epsilon_ is None


@pytest.mark.slow
def test_tabularargn_leaves_subnormal_floats_working(argn):
    # the engine's training turns on flush-to-zero process-wide; left on, scipy's k-d tree
    # build segfaulted later in the same process (the pairing tests)
    from scipy.spatial import cKDTree

    argn.sample(20, seed=1)
    tiny = np.array([5e-324])
    assert (tiny * 2)[0] > 0
    points = np.round(np.random.default_rng(7).normal(size=(37, 3)))
    assert cKDTree(points).query(points[:3], k=1)[0].tolist() == [0.0, 0.0, 0.0]


@pytest.mark.slow
def test_tabularargn_encodes_continuous_columns_in_the_configured_bins(argn):
    from pathlib import Path

    stats = read_json(Path(argn._workspace.name) / "ModelStore" / "tgt-stats" / "stats.json")["columns"]
    kinds = ROLES.column_types()
    for column, kind in kinds.items():
        if kind == "continuous":
            assert stats[column]["encoding_type"] == "TABULAR_NUMERIC_BINNED", column
            # the bins, plus the engine's unknown, minimum and maximum codes
            assert stats[column]["cardinalities"]["bin"] <= argn.numeric_bins + 3, column
        else:
            assert stats[column]["encoding_type"] == "TABULAR_CATEGORICAL", column


@pytest.mark.slow
def test_tabularargn_learns_the_outcome_from_a_continuous_covariate():
    # Y = 1 + 2A + w_cont + noise: corr(w_cont, Y) and corr(A, Y) are about 0.58 in the real
    # rows. With the engine's own encoding (numeric_bins: null) this fit gave -0.03 for w_cont
    # (0.44 with the default bins).
    table = make_table(1000, seed=5)
    model = make_generator("tabularargn", {"max_epochs": 30, "device": "cpu"}, random_state=4)
    synthetic = model.fit(table, ROLES, dataset="dependent").sample(1000, seed=9)
    corr = synthetic[["w_cont", "A", "Y"]].astype(float).corr()["Y"]
    assert corr["w_cont"] > 0.3 and corr["A"] > 0.3, corr.to_dict()


def test_within_bin_draws_keep_the_bin_and_the_training_values_shape():
    # a skewed column (lognormal, like earnings) in decile bins: the engine's uniform draw puts
    # the top bin's tenth of the rows anywhere between its lower edge and the maximum
    rng = np.random.default_rng(0)
    x = rng.lognormal(8, 1, 5000)
    edges = np.quantile(x, np.linspace(0, 1, 11))
    members = bin_members(x, edges)
    assert sum(m.size for m in members) == x.size - 2  # the minimum and maximum are tokens
    which = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, edges.size - 2)
    uniform = rng.uniform(edges[which], edges[which + 1])  # the engine's decoding of these bins
    empirical = draw_within_bins(uniform, edges, members, np.random.default_rng(1))
    side = "right"
    assert np.array_equal(np.searchsorted(edges, empirical, side), np.searchsorted(edges, uniform, side))
    assert (uniform.mean() - x.mean()) / x.std() > 0.4  # 7,393 against 4,853
    assert abs(empirical.mean() - x.mean()) / x.std() < 0.02
    assert ks_2samp(x, empirical).statistic < 0.01 < 0.06 < ks_2samp(x, uniform).statistic
    # the outer edges (the engine's tokens) and missing values are kept
    kept = np.array([edges[0], edges[-1], np.nan])
    np.testing.assert_array_equal(draw_within_bins(kept, edges, members, rng), kept)


@pytest.mark.slow
def test_tabularargn_draws_inside_each_bin_from_the_training_values(argn):
    assert argn.within_bin_ == "empirical" == argn.fit_info_["within_bin"]
    sample = argn.sample(200, seed=5)
    uniform = make_generator("tabularargn", {**FAST_ARGN, "within_bin": "uniform"}, random_state=3)
    uniform_sample = uniform.fit(make_table(60), ROLES, dataset="tiny").sample(200, seed=5)
    assert uniform.bin_values_ == {} and argn.bin_values_
    outside = {}
    for column, (edges, members, _) in argn.bin_values_.items():
        for name, frame in (("empirical", sample), ("uniform", uniform_sample)):
            v = frame[column].to_numpy(dtype=float)
            which = np.searchsorted(edges, v, side="right") - 1
            lo = np.array([m[0] if m.size else np.inf for m in members] + [np.inf])[which]
            hi = np.array([m[-1] if m.size else -np.inf for m in members] + [-np.inf])[which]
            inner = (v > edges[0]) & (v < edges[-1]) & np.isfinite(lo)
            outside[name] = outside.get(name, 0) + int(((v < lo - 1e-9) | (v > hi + 1e-9))[inner].sum())
    # every empirical value lies within the training values of its bin; uniform ones need not
    assert outside["empirical"] == 0 < outside["uniform"], outside


def test_tabularargn_bad_params_name_the_fix():
    with pytest.raises(ConfigError, match="epsilon must be a positive number"):
        make_generator("tabularargn", {"epsilon": 0}).fit(make_table(60), ROLES)
    with pytest.raises(ConfigError, match="model must be one of MOSTLY_AI/Small"):
        make_generator("tabularargn", {"model": "big"}).fit(make_table(60), ROLES)
    with pytest.raises(ConfigError, match="numeric_bins must be an integer >= 2, or null"):
        make_generator("tabularargn", {"numeric_bins": 1}).fit(make_table(60), ROLES)
    with pytest.raises(ConfigError, match="flexible_generation must be true or false"):
        make_generator("tabularargn", {"flexible_generation": "no"}).fit(make_table(60), ROLES)
    with pytest.raises(ConfigError, match="within_bin must be one of empirical, uniform or null"):
        make_generator("tabularargn", {"within_bin": "normal"}).fit(make_table(60), ROLES)
    with pytest.raises(
        ConfigError, match="outside what epsilon or value_protection protect. Fix: set within_bin"
    ):
        make_generator("tabularargn", {"within_bin": "empirical", "epsilon": 2.0}).fit(make_table(60), ROLES)
    assert TabularARGNGenerator().get_params()["epsilon"] is None
    # under differential privacy the default keeps the engine's uniform draw
    assert TabularARGNGenerator(epsilon=2.0)._resolved_within_bin() == "uniform"
    assert TabularARGNGenerator()._resolved_within_bin() == "empirical"


def test_tabularargn_refuses_fewer_than_ten_rows_naming_dataset_and_generator():
    with pytest.raises(
        DataError, match=r"dataset 'toy', generator 'tabularargn': TabularARGN .* got 8\. Fix: use a larger"
    ):
        TabularARGNGenerator().fit(make_table(n=8, seed=3), ROLES, dataset="toy")
