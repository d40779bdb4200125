"""The csv loader's dialects (``sep``, ``decimal``) and value maps (``treatment_values``,
``outcome_values``): what is accepted, what the card and the log say, and the exact refusals."""

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from causalsynth.core.errors import ConfigError, DataError
from causalsynth.core.schema import default, section_defaults
from causalsynth.data import get_dataset, prepare_dataset

DATA = Path(__file__).resolve().parents[1] / "data"
GOOD = DATA / "good.csv"
BASE = {
    "treatment": "treated",
    "outcome": "outcome",
    "covariates": {"age": "continuous", "female": "binary", "region": "categorical"},
}
# good.csv has 40 rows: below the default arm minimum, which is not what these tests are about
CHECKS = {
    **section_defaults("checks"),
    "min_rows_per_arm": 5,
    "propensity_threshold": default("pairing", "threshold"),
}


def prepare(tmp_path: Path, name: str, **options) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """Prepare a csv dataset (seed 1); its card, train and holdout tables."""
    out = tmp_path / name
    card = prepare_dataset(
        name,
        {"loader": "csv", **BASE, **options},
        seed=1,
        out_train=out / "train.parquet",
        out_holdout=out / "holdout.parquet",
        out_card=out / "card.json",
        checks=CHECKS,
    )
    return card, pd.read_parquet(out / "train.parquet"), pd.read_parquet(out / "holdout.parquet")


@pytest.fixture
def reference(tmp_path):
    """good.csv (',' and '.') prepared the same way: what every dialect must read back."""
    return prepare(tmp_path, "ref", path=str(GOOD))


def test_semicolon_and_decimal_comma_are_detected_said_and_read_as_the_plain_file(
    tmp_path, reference, caplog
):
    path = tmp_path / "european.csv"
    pd.read_csv(GOOD).to_csv(path, sep=";", decimal=",", index=False)
    assert path.read_text().splitlines()[:2] == ["age;female;region;treated;outcome", "41,3;1;south;0;0,049"]
    with caplog.at_level(logging.INFO, logger="causalsynth.data.csv"):
        card, train, holdout = prepare(tmp_path, "eu", path=str(path))
    used = {
        "sep": ";",
        "sep_from": "detected in the header",
        "decimal": ",",
        "decimal_from": "detected in ['age', 'outcome']",
    }
    assert card["notes"]["csv"] == used
    assert [r.getMessage() for r in caplog.records if r.name == "causalsynth.data.csv"] == [
        f"dataset 'eu' (file {path}): read with sep ';' (detected in the header) and decimal ',' "
        "(detected in ['age', 'outcome'])"
    ]
    pd.testing.assert_frame_equal(train, reference[1])
    pd.testing.assert_frame_equal(holdout, reference[2])
    assert reference[0]["notes"]["csv"] == {
        "sep": ",",
        "sep_from": "default",
        "decimal": ".",
        "decimal_from": "default",
    }


def test_a_tab_is_detected_and_set_options_are_taken_as_given(tmp_path, reference):
    tabs = tmp_path / "tabs.tsv"
    pd.read_csv(GOOD).to_csv(tabs, sep="\t", index=False)
    card, train, _ = prepare(tmp_path, "tabs", path=str(tabs))
    assert card["notes"]["csv"] == {
        "sep": "\t",
        "sep_from": "detected in the header",
        "decimal": ".",
        "decimal_from": "default",
    }
    pd.testing.assert_frame_equal(train, reference[1])
    given = tmp_path / "given.csv"
    pd.read_csv(GOOD).to_csv(given, sep="|", decimal=",", index=False)
    card, train, _ = prepare(tmp_path, "given", path=str(given), sep="|", decimal=",")
    assert card["notes"]["csv"] == {
        "sep": "|",
        "sep_from": "config",
        "decimal": ",",
        "decimal_from": "config",
    }
    pd.testing.assert_frame_equal(train, reference[1])


def test_a_wrong_separator_is_refused_with_the_one_in_the_header(tmp_path):
    path = tmp_path / "semi.csv"
    pd.read_csv(GOOD).to_csv(path, sep=";", index=False)
    with pytest.raises(DataError) as err:
        get_dataset("mine", loader="csv", path=str(path), sep=",", **BASE).prepare(1)
    assert str(err.value) == (
        f"dataset 'mine' (file {path}): the header holds ';', not the separator ',' (config), so the "
        "column(s) ['treated', 'outcome', 'age', 'female', 'region'] are not found (the header reads as "
        "['age;female;region;treated;outcome']). Fix: set `sep: ';'` for this dataset"
    )


def test_a_line_with_too_many_fields_is_refused_naming_the_line(tmp_path):
    lines = GOOD.read_text().splitlines()
    lines[7] += ",extra"
    path = tmp_path / "ragged.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError) as err:
        get_dataset("mine", loader="csv", path=str(path), **BASE).prepare(1)
    assert str(err.value) == (
        f"dataset 'mine' (file {path}): line 8 has 6 field(s) separated by ',' (default) where the header "
        "has 5. Fix: give every line as many fields as the header (quote a value that holds the separator)"
    )


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ({"sep": ";;"}, r"option `sep` must be a single character, got ';;'"),
        ({"decimal": ";"}, r"option `decimal` must be '\.' or ',', got ';'"),
    ],
)
def test_invalid_dialect_options_are_config_errors(option, message):
    with pytest.raises(ConfigError, match=rf"^dataset 'mine': {message}"):
        get_dataset("mine", loader="csv", path=str(GOOD), **BASE, **option).prepare(1)


def yes_no(path: Path, treated=("yes",), control=("no",)) -> Path:
    """good.csv with its treatment written as text: the k-th unit of an arm gets its k-th spelling (cycling)."""
    df = pd.read_csv(GOOD)
    a = df["treated"].to_numpy()
    text = np.empty(len(df), dtype=object)
    for arm, spellings in ((1, treated), (0, control)):
        idx = np.flatnonzero(a == arm)
        text[idx] = [spellings[k % len(spellings)] for k in range(len(idx))]
    df.assign(treated=text).to_csv(path, index=False)
    return path


def test_treatment_values_recode_yes_no_and_the_card_records_the_map(tmp_path, reference):
    path = yes_no(tmp_path / "yes_no.csv")
    card, train, holdout = prepare(
        tmp_path, "yn", path=str(path), treatment_values={"treated": "yes", "control": "no"}
    )
    assert card["notes"]["value_maps"] == {
        "treatment": {
            "column": "treated",
            "treated": ["yes"],
            "control": ["no"],
            "rows": {"treated": 20, "control": 20},
        }
    }
    assert card["options"]["treatment_values"] == {"treated": "yes", "control": "no"}
    pd.testing.assert_frame_equal(train, reference[1])
    pd.testing.assert_frame_equal(holdout, reference[2])


def test_a_side_may_list_spellings_and_spaces_are_stripped(tmp_path, reference):
    path = yes_no(tmp_path / "spellings.csv", treated=("TRUE", " Treated "), control=("FALSE",))
    assert "TRUE" in path.read_text() and " Treated " in path.read_text()  # pandas would read TRUE as a bool
    card, train, _ = prepare(
        tmp_path, "sp", path=str(path), treatment_values={"treated": ["TRUE", "Treated"], "control": "FALSE"}
    )
    assert card["notes"]["value_maps"]["treatment"]["rows"] == {"treated": 20, "control": 20}
    pd.testing.assert_frame_equal(train, reference[1])


def test_the_bad_corpus_yes_no_file_runs_with_a_map():
    p = get_dataset(
        "mine", loader="csv", path=str(DATA / "bad" / "treatment_strings.csv"), **BASE,
        treatment_values={"treated": "yes", "control": "no"},
    ).prepare(1)  # fmt: skip
    raw = pd.read_csv(DATA / "bad" / "treatment_strings.csv")
    assert (raw["treated"] == "yes").sum() == (p.train["treated"] == 1).sum() + (
        p.holdout["treated"] == 1
    ).sum()
    assert p.notes["value_maps"]["treatment"]["rows"] == {
        "treated": int((raw["treated"] == "yes").sum()),
        "control": int((raw["treated"] == "no").sum()),
    }


def test_outcome_values_recode_a_binary_outcome(tmp_path):
    df = pd.read_csv(GOOD)
    coded = (df["outcome"] > 0).astype(int)
    df.assign(outcome=coded).to_csv(tmp_path / "coded.csv", index=False)
    df.assign(outcome=np.where(coded == 1, "event", "none")).to_csv(tmp_path / "words.csv", index=False)
    ref = get_dataset("a", loader="csv", path=str(tmp_path / "coded.csv"), **BASE).prepare(1)
    p = get_dataset(
        "b", loader="csv", path=str(tmp_path / "words.csv"), **BASE,
        outcome_values={"positive": "event", "negative": "none"},
    ).prepare(1)  # fmt: skip
    assert p.roles.outcome_type == "binary"
    pd.testing.assert_frame_equal(p.train, ref.train)
    assert p.notes["value_maps"] == {
        "outcome": {
            "column": "outcome",
            "positive": ["event"],
            "negative": ["none"],
            "rows": {"positive": int(coded.sum()), "negative": int((coded == 0).sum())},
        }
    }


def test_missing_treatment_values_stay_missing_for_the_missing_policy(tmp_path):
    path = yes_no(tmp_path / "gap.csv")
    lines = path.read_text().splitlines()
    lines[3] = lines[3].replace(",no,", ",,")
    path.write_text("\n".join(lines) + "\n")
    opts = dict(path=str(path), **BASE, treatment_values={"treated": "yes", "control": "no"})
    with pytest.raises(DataError, match=r"column 'treated': 1 missing value\(s\)"):
        get_dataset("mine", loader="csv", **opts).prepare(1)
    p = get_dataset("mine", loader="csv", missing="drop", **opts).prepare(1)
    assert p.n_dropped == 1 and p.train["treated"].dtype == np.int64


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"treated": True, "control": False},
            r"`treatment_values`: treated is the boolean True \(YAML reads an unquoted yes/no, true/false or "
            r"on/off as a boolean\); quote it as the file spells it, for example \{treated: 'yes', control: 'no'\}",
        ),
        ({"treated": "yes"}, r"`treatment_values` must map exactly \['treated', 'control'\]"),
        (
            {"treated": "yes", "control": ["no", "yes"]},
            r"`treatment_values`: \['yes'\] is given for both treated and control",
        ),
        ({"treated": [], "control": "no"}, r"`treatment_values`: treated lists no value"),
    ],
)
def test_invalid_value_maps_are_config_errors(values, message):
    with pytest.raises(ConfigError, match=rf"^dataset 'mine': option {message}"):
        get_dataset(
            "mine",
            loader="csv",
            path=str(DATA / "bad" / "treatment_strings.csv"),
            **BASE,
            treatment_values=values,
        ).prepare(1)


def test_outcome_values_with_a_continuous_outcome_is_a_config_error():
    with pytest.raises(
        ConfigError, match=r"`outcome_values` maps a binary outcome, but `outcome_type` is continuous"
    ):
        get_dataset(
            "mine", loader="csv", path=str(GOOD), **BASE, outcome_type="continuous",
            outcome_values={"positive": "1", "negative": "0"},
        ).prepare(1)  # fmt: skip
