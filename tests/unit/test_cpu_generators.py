"""The optional CPU generators (generate/forests.py): ARF (arfpy) and ForestDiffusion.

The contract tests every generator gets (schema, row count, determinism, refused tables) run in
test_generators.py with these two among them; here: what is their own -- the library patches,
the parameters, the missing-package errors, meta.json and the hybrid on top of them.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from causalsynth.config import Plan, load_config
from causalsynth.core.errors import ConfigError, DataError
from causalsynth.core.io import read_json, write_json, write_parquet
from causalsynth.core.roles import Roles
from causalsynth.generate import ARFGenerator, ForestDiffusionGenerator, make_generator, run_generate
from tests.unit.conftest import GENERATOR_ROLES as ROLES
from tests.unit.conftest import assert_schema
from tests.unit.conftest import generator_table as make_table

FAST_FD = {"n_t": 5, "duplicate_K": 5, "n_estimators": 10}


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return make_table(n=200, seed=4)


def test_arf_learns_the_dependence_through_adversarial_rounds():
    # Y follows A and w_cont closely: the first forest tells the real rows from the product of
    # their marginals, so arfpy runs its adversarial loop and its pruning (np.in1d, removed in
    # numpy 2.4 and patched for arfpy only) before FORDE and FORGE
    rng = np.random.default_rng(2)
    n = 300
    w = rng.normal(size=n)
    a = (rng.random(n) < 1 / (1 + np.exp(-2 * w))).astype(int)
    data = pd.DataFrame(
        {
            "w_bin": rng.integers(0, 2, n),
            "w_cat": rng.choice(["north", "south", "west"], n),
            "w_cont": w,
            "A": a,
            "Y": 3 * a + 2 * w + rng.normal(scale=0.3, size=n),
        }
    )
    gen = make_generator("arf", random_state=1).fit(data, ROLES, dataset="dependent")
    accuracy = gen.fit_info_["discriminator_accuracy"]
    assert gen.fit_info_["adversarial_rounds"] >= 1 and accuracy[0] > 0.5 and accuracy[-1] < accuracy[0]
    out = gen.sample(1000, seed=2)
    assert_schema(out, data, 1000)
    real_corr = data[["A", "w_cont", "Y"]].corr()
    fake_corr = out[["A", "w_cont", "Y"]].corr()
    # real 0.71 and 0.65; a generator of independent columns gives about 0
    assert fake_corr.loc["w_cont", "Y"] > 0.5 * real_corr.loc["w_cont", "Y"]
    assert fake_corr.loc["A", "Y"] > 0.5 * real_corr.loc["A", "Y"]
    assert abs(out["A"].mean() - data["A"].mean()) < 0.06


def test_the_numpy_patch_is_arfpys_alone_and_undone(table):
    import arfpy.arf

    make_generator("arf").fit(table, ROLES)
    assert arfpy.arf.np is np and not hasattr(np, "in1d")


def test_forest_diffusion_keeps_the_levels_and_a_binary_treatment(table):
    gen = make_generator("forest_diffusion", FAST_FD, random_state=5).fit(table, ROLES, dataset="tiny")
    out = gen.sample(300, seed=1)
    assert_schema(out, table, 300)
    assert set(out["A"]) == {0, 1} and set(out["w_cat"]) == {"north", "south", "west"}
    assert gen.fit_info_ == {"noise_levels": 5, "rows_per_level": 5 * len(table), "outputs": 6}
    # ForestDiffusion clips continuous columns to their training range
    assert out["Y"].between(table["Y"].min(), table["Y"].max()).all()


def test_forest_diffusion_refuses_more_categorical_columns_than_it_decodes():
    rng = np.random.default_rng(0)
    covariates = {f"c{j}": "categorical" for j in range(11)}
    data = pd.DataFrame({c: rng.choice(["a", "b"], 40) for c in covariates})
    data["A"] = np.tile([0, 1], 20)
    data["Y"] = rng.normal(size=40)
    roles = Roles(treatment="A", outcome="Y", outcome_type="continuous", covariates=covariates)
    with pytest.raises(
        DataError, match=r"generator 'forest_diffusion'.*at most 10 categorical.*has 11.*Fix:"
    ):
        make_generator("forest_diffusion", FAST_FD).fit(data, roles, dataset="wide")


@pytest.mark.parametrize(
    ("generator", "params", "message"),
    [
        ("arf", {"delta": 0.7}, r"delta must be a number >= 0.0 and <= 0.5, got 0.7"),
        ("arf", {"num_trees": 0}, r"num_trees must be an integer >= 1"),
        ("arf", {"early_stop": "yes"}, r"early_stop must be true or false"),
        ("forest_diffusion", {"diffusion_type": "ddpm"}, r"diffusion_type must be one of flow, vp"),
        ("forest_diffusion", {"eta": 0}, r"eta must be a number > 0.0, got 0"),
        ("forest_diffusion", {"n_t": 1}, r"n_t must be an integer >= 2"),
    ],
)
def test_bad_hyperparameters_name_the_key(generator, params, message, table):
    with pytest.raises(ConfigError, match=message):
        make_generator(generator, params).fit(table, ROLES)


@pytest.mark.parametrize(
    ("cls", "module", "install"),
    [
        (ARFGenerator, "arfpy", r"pip install -e '\.\[cpu-generators\]' \(or pip install arfpy==0\.1\.1\)"),
        (ForestDiffusionGenerator, "catboost", r"pip install --no-deps forestdiffusion==1\.0\.6"),
    ],
)
def test_a_missing_library_is_one_line_saying_what_to_install(cls, module, install, monkeypatch, table):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == module else real_find_spec(name, *a)
    )
    config = {"datasets": {"sim_paper": {}}, "generators": {cls.name: {}}}
    with pytest.raises(
        ConfigError, match=rf"^generators/{cls.name}: .*'{cls.name}' needs .*{module}.*{install}"
    ) as e:
        load_config(config)
    assert "\n" not in str(e.value)
    # and a fit without it (a job on another machine) says the same, not a traceback
    monkeypatch.setitem(sys.modules, module, None)
    monkeypatch.delitem(sys.modules, "arfpy.arf", raising=False)
    monkeypatch.delitem(sys.modules, "ForestDiffusion.diffusion_with_trees_class", raising=False)
    params = FAST_FD if cls is ForestDiffusionGenerator else {}
    with pytest.raises(ConfigError, match=rf"needs the package '{module}'.*{install}"):
        make_generator(cls.name, params).fit(table, ROLES)


def test_run_generate_records_the_library_and_the_fit(tmp_path, table):
    write_parquet(table, tmp_path / "train.parquet")
    write_json({"dataset": "tiny", **ROLES.to_dict()}, tmp_path / "card.json")
    run_generate(
        tmp_path / "train.parquet",
        tmp_path / "card.json",
        "arf_short",
        {"max_iters": 3},
        n_rows=50,
        seed=3,
        n_jobs=1,
        out_data=tmp_path / "synthetic.parquet",
        out_meta=tmp_path / "meta.json",
        dataset="tiny",
        generator_type="arf",
    )
    assert_schema(pd.read_parquet(tmp_path / "synthetic.parquet"), table, 50)
    meta = read_json(tmp_path / "meta.json")
    assert meta["generator"] == "arf_short" and meta["type"] == "arf"
    assert meta["params"]["max_iters"] == 3 and meta["params"]["num_trees"] == 30
    assert meta["versions"]["arfpy"] == "0.1.1" and meta["device"] == "cpu"
    assert meta["n_valid"] == 50 and meta["fit_info"]["discriminator_accuracy"]
    assert meta["degenerate"] is None and meta["epsilon"] is None


def test_the_hybrid_takes_them_as_bases():
    config = load_config(
        {
            "datasets": {"sim_paper": {}, "lalonde_nsw": {}},
            "generators": {"arf": {}, "forest_diffusion": {"datasets": ["lalonde_nsw"]}},
            "hybrid": {"bases": ["arf", "forest_diffusion", "real"]},
        }
    )
    plan = Plan(config)
    assert plan.hybrids_for("lalonde_nsw") == ["hybrid_arf", "hybrid_forest_diffusion", "hybrid_real"]
    assert plan.hybrids_for("sim_paper") == ["hybrid_arf", "hybrid_real"]
    # a base that is not configured is refused, naming the valid ones
    with pytest.raises(ConfigError, match=r"hybrid/bases: unknown hybrid base \['arf'\]"):
        load_config({"datasets": {"sim_paper": {}}, "generators": {"tvae": {}}, "hybrid": {"bases": ["arf"]}})
