"""The bad-input corpus and the csv dataset's other refusals: exact messages, nothing written."""

from pathlib import Path

import pandas as pd
import pytest
import yaml

from causalsynth.config import load_config
from causalsynth.core.errors import ConfigError, DataError
from causalsynth.core.runner import one_line
from causalsynth.core.schema import default, section_defaults
from causalsynth.data import get_dataset, prepare_dataset

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"
GOOD = BAD.parent / "good.csv"
CASES = yaml.safe_load((BAD / "cases.yaml").read_text())
FILES = sorted(n for n in CASES if n.endswith(".csv"))
CONFIGS = sorted(n for n in CASES if n.endswith(".yaml"))
BASE = {
    "treatment": "treated",
    "outcome": "outcome",
    "covariates": {"age": "continuous", "female": "binary", "region": "categorical"},
}


def options_for(name: str) -> dict:
    return {**BASE, **CASES[name].get("options", {}), "path": str(BAD / name)}


def checks_for(name: str) -> dict:
    """The default checks, with the case's `checks` over them (as a dataset's own `checks:`)."""
    return {
        **section_defaults("checks"),
        "propensity_threshold": default("pairing", "threshold"),
        **CASES[name].get("checks", {}),
    }


def test_corpus_covers_every_file():
    files = {p.name for p in BAD.glob("*.csv")} | {p.name for p in BAD.glob("*.yaml")} - {"cases.yaml"}
    assert files <= set(CASES), files - set(CASES)
    assert set(CASES) == set(FILES) | set(CONFIGS)
    assert "does_not_exist.csv" in CASES and not (BAD / "does_not_exist.csv").exists()


@pytest.mark.parametrize("name", CONFIGS)
def test_bad_config_fails_with_its_one_line_message(name):
    with pytest.raises(ConfigError) as err:
        load_config(yaml.safe_load((BAD / name).read_text()))
    assert one_line(err.value) == f"causalsynth error: {CASES[name]['error']}"


@pytest.mark.parametrize("name", FILES)
def test_bad_file_fails_with_exact_message_and_writes_nothing(name, tmp_path):
    outs = {k: tmp_path / "out" / f"{k}.parquet" for k in ("train", "holdout", "positivity")}
    with pytest.raises(DataError) as err:
        prepare_dataset(
            "mydata",
            {"loader": "csv", **options_for(name)},
            seed=1,
            out_train=outs["train"],
            out_holdout=outs["holdout"],
            out_card=tmp_path / "out" / "card.json",
            out_positivity=outs["positivity"],
            checks=checks_for(name),
        )
    assert str(err.value) == CASES[name]["error"].format(path=BAD / name, dataset="mydata")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_good_file_passes_and_infers_types():
    p = get_dataset("mine", loader="csv", path=str(GOOD), treatment="treated", outcome="outcome").prepare(1)
    assert p.roles.covariates == {"age": "continuous", "female": "binary", "region": "categorical"}
    assert p.roles.outcome_type == "continuous"
    assert p.truth.ate is None and p.truth.kind is None


def test_absent_column_is_named():
    with pytest.raises(
        DataError, match=r"column 'treatment_x': column not found .*Fix: correct the column name"
    ):
        get_dataset("mine", loader="csv", path=str(GOOD), treatment="treatment_x", outcome="outcome").prepare(
            1
        )


def test_missing_policy_drop_counts_rows(tmp_path):
    card = prepare_dataset(
        "mine",
        {"loader": "csv", **BASE, "path": str(BAD / "missing_covariate.csv"), "missing": "drop"},
        seed=1,
        out_train=tmp_path / "t.parquet",
        out_holdout=tmp_path / "h.parquet",
        out_card=tmp_path / "c.json",
        # a 40-row file: below the default arm minimum, which is not what this test is about
        checks={**section_defaults("checks"), "min_rows_per_arm": 5, "propensity_threshold": 0.001},
    )
    assert card["n_dropped"] == 1
    assert card["n_train"] + card["n_holdout"] == 39


def test_parquet_input_and_reference(tmp_path):
    path = tmp_path / "d.parquet"
    pd.read_csv(GOOD).to_parquet(path)
    p = get_dataset(
        "mine", loader="csv", path=str(path), treatment="treated", outcome="outcome", reference_ate=0.5,
        reference_source="a trial report",
    ).prepare(1)  # fmt: skip
    assert p.truth.ate == 0.5 and p.truth.kind == "reference" and p.truth.source == "a trial report"
