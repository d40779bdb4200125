"""The config schema and the name checks: a bad config fails with the key or the valid names."""

from pathlib import Path

import pytest
import yaml

from causalsynth.config import Plan, load_config, read_config, validate_schema
from causalsynth.core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted((ROOT / "config").glob("*.yaml")) + [ROOT / "tests" / "config" / "tiny.yaml"]


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_shipped_configs_validate(path):
    config = read_config(path)
    assert config["datasets"]


def test_defaults_are_filled():
    config = validate_schema({"datasets": {"sim_paper": None}})
    assert config["seed"] == 20251101
    assert config["estimation"]["folds"] == 5
    assert config["datasets"]["sim_paper"] == {}
    assert config["hybrid"]["assignment"] == "learned"


@pytest.mark.parametrize(
    "patch, where",
    [
        ({"estimation": {"folds": 1}}, "estimation/folds"),
        ({"estimation": {"foldz": 3}}, "'foldz' was unexpected"),
        ({"unknown_key": 1}, "'unknown_key' was unexpected"),
        ({"hybrid": {"assignment": "sometimes"}}, "hybrid/assignment"),
        ({"dcr": {"lower_quantile": 2}}, "dcr/lower_quantile"),
    ],
)
def test_bad_config_names_the_key(patch, where):
    config = {"datasets": {"sim_paper": {}}, **patch}
    with pytest.raises(ConfigError, match=where):
        validate_schema(config)


@pytest.mark.parametrize(
    "patch, message",
    [
        ({"datasets": {"no_such_data": {}}}, r"unknown dataset loader \['no_such_data'\]; valid .*sim_paper"),
        (
            {"generators": {"gan9000": {}}},
            r"generators/gan9000: unknown generator 'gan9000'; valid generators: .*ctgan",
        ),
        (
            {"estimation": {"estimators": ["magic"]}},
            r"unknown estimator \['magic'\]; valid estimators: .*aipw",
        ),
        (
            {"estimation": {"learners": ["svm"]}},
            r"unknown learner \['svm'\]; valid learners: .*random_forest",
        ),
        ({"engine": {"engines": ["hybrid_tvae"]}}, r"engine/engines: unknown hybrid pool"),
    ],
)
def test_unknown_names_list_valid_ones(patch, message):
    config = {"datasets": {"sim_paper": {}}, "generators": {"gaussian_copula": {}}, **patch}
    with pytest.raises(ConfigError, match=message):
        load_config(config)


def test_plan_of_the_default_config():
    plan = Plan(read_config(ROOT / "config" / "config.yaml"))
    assert "great" in plan.generators_for("sim_paper")
    assert "great" not in plan.generators_for("nhefs")
    assert "hybrid_great" in plan.hybrids_for("sim_paper") and "hybrid_real" in plan.hybrids_for("nhefs")
    assert set(plan.positivity_datasets()) == {"sim_paper", "lalonde_cps"}
    assert plan.engines_for("sim_paper")[0] == "truth" and "truth" not in plan.engines_for("nhefs")


def test_schema_documents_every_key():
    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
    readme = (ROOT / "config" / "README.md").read_text()

    def walk(node, prefix=""):
        for key, sub in node.get("properties", {}).items():
            if key in ("loader", "n_rows", "datasets") and prefix.startswith(("datasets", "generators")):
                continue
            yield prefix + key, sub
            yield from walk(sub, prefix + key + ".")

    for key, sub in walk(schema):
        assert "description" in sub or "properties" in sub, f"{key} has no description"
        assert f"`{key}`" in readme, f"config/README.md does not document `{key}`"


def test_a_cheap_generator_may_have_more_replicates_than_the_run():
    config = read_config(Path(__file__).resolve().parents[2] / "config" / "config.yaml")
    config["generators"]["gaussian_copula"]["replicates"] = 5
    plan = Plan(load_config(config))
    assert plan.reps_for("gaussian_copula") == plan.reps_for("hybrid_gaussian_copula") == [1, 2, 3, 4, 5]
    assert plan.reps_for("great") == [1] and plan.reps_for("hybrid_real") == [1, 2, 3]
    # the dataset is drawn as often as its most replicated generator needs
    assert plan.data_reps("sim_paper") == [1, 2, 3, 4, 5]


def test_the_cells_of_the_per_dataset_jobs():
    config = read_config(ROOT / "config" / "config.yaml")
    config["generators"]["gaussian_copula"]["replicates"] = 4
    plan = Plan(load_config(config))
    sets = plan.released_sets("sim_paper")
    # every generator's own replicates, a hybrid's as its base's, the oracle's as the run's
    assert ("great", 1) in sets and ("great", 2) not in sets and ("hybrid_great", 1) in sets
    assert [r for g, r in sets if g == "hybrid_gaussian_copula"] == [1, 2, 3, 4]
    assert [r for g, r in sets if g == "hybrid_real"] == [1, 2, 3]
    assert (
        len(sets)
        == len(set(sets))
        == sum(len(plan.reps_for(g)) for g in plan.all_generators_for("sim_paper"))
    )
    assert plan.hybrid_cells("sim_paper") == [(g, r) for g, r in sets if g.startswith("hybrid_")]
    # g and h once per replicate with a base hybrid; the oracle alone needs no shared fit
    assert plan.mechanism_reps("sim_paper") == [1, 2, 3, 4]
    only_oracle = {
        "datasets": {"sim_paper": {}},
        "generators": {"gaussian_copula": {}},
        "hybrid": {"bases": ["real"]},
        "pairing": {"pool": "hybrid_real"},
        "engine": {"engines": ["hybrid_real"]},
    }
    assert Plan(load_config(only_oracle)).mechanism_reps("sim_paper") == []
    # the attacks: a base before and after its DCR filter, a hybrid's pool; never the oracle
    attacked = plan.privacy_sets("nhefs")
    assert ("ctgan", 2, "unfiltered") in attacked and ("ctgan", 2, "filtered") in attacked
    assert ("hybrid_ctgan", 2, "filtered") in attacked and ("hybrid_ctgan", 2, "unfiltered") not in attacked
    assert not any(g == "hybrid_real" for g, _, _ in attacked)
    # the coverage study: the generator's replicates, every draw for perfect, the first for real
    assert plan.inferential_reps("sim_paper", "perfect") == plan.data_reps("sim_paper") == [1, 2, 3, 4]
    assert plan.inferential_reps("sim_paper", "real") == [1]
    assert plan.inferential_reps("sim_paper", "great") == [1]
