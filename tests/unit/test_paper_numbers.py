"""The papers' numbers: one checked file, shipped with the package, every row with its source."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pandas as pd
import pytest

from causalsynth.core.errors import DataError
from causalsynth.core.vocabulary import PAPER_FIGURES
from causalsynth.report.paper.numbers import (
    COLUMNS,
    PAPER_NUMBERS_FILE,
    PAPERS,
    QUANTITIES,
    STEAM,
    paper_numbers_path,
    read_paper_numbers,
)

ROOT = Path(__file__).resolve().parents[2]


def test_the_file_reads_and_holds_both_papers_with_their_provenance():
    df = read_paper_numbers()
    assert list(df.columns) == list(COLUMNS)
    assert set(df["paper"]) == set(PAPERS)
    assert set(df["figure_id"]) - {""} == set(PAPER_FIGURES)
    steam = df["paper"] == STEAM
    assert df.loc[~steam, "source"].str.startswith("paper-numbers.md:").all()
    # STEAM's ACTG 175 numbers: its design's dataset, their line of the data's README
    assert df.loc[steam, "source"].str.startswith("actg175/README.md:").all()
    assert set(df.loc[steam, "dataset"]) == {"actg175_steam"}
    assert set(df.loc[steam, "quantity"]) == {"alpha_precision", "beta_recall", "jsd_pi", "u_pehe"}
    assert df["quantity"].isin(QUANTITIES).all()
    # no number twice: a (paper, figure, set, estimator, quantity) names one value
    keys = ["paper", "figure", "set", "estimator", "quantity"]
    assert not df.duplicated(keys).any(), df[df.duplicated(keys, keep=False)]


def test_known_values_are_where_the_figures_look_for_them():
    df = read_paper_numbers()

    def value(**where) -> float:
        sel = df
        for k, v in where.items():
            sel = sel[sel[k] == v]
        assert len(sel) == 1, (where, sel)
        return float(sel["value"].iloc[0])

    # paper 1, IPTW by baseline: the LLM hybrid and the GAN's fully generative set
    assert (
        value(figure_id="paper_ate_by_baseline", kind="hybrid", generator="hybrid_great", estimator="iptw")
        == 0.4295
    )
    assert (
        value(figure_id="paper_ate_by_baseline", kind="fully_generative", generator="ctgan", estimator="aipw")
        == -0.0318
    )
    assert value(figure_id="paper_ate_by_baseline", kind="rct_seed", estimator="aipw") == 0.3770
    assert value(figure_id="paper_dcr", generator="holdout", quantity="dcr_median") == 0.3841
    assert (
        value(figure_id="paper_engine", generator="truth", estimator="substitution", quantity="mse")
        == 0.001359
    )
    # paper 2: the single forest's plug-in effect (loses 0.046 of 0.4183)
    assert value(paper="arXiv 2604.23904", generator="hybrid_real", quantity="pool_effect") == 0.3728
    # every paper-figure row has the estimator or the DCR quantity its figure draws
    assert set(df.loc[df["figure_id"] == "paper_ate_by_baseline", "estimator"]) == {"iptw", "aipw"}
    assert df.loc[df["figure_id"] == "paper_dcr", "quantity"].str.startswith("dcr_").all()


def test_the_file_ships_with_the_package():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "report/paper/*.csv" in data["causalsynth"]
    assert Path(str(paper_numbers_path())).name == PAPER_NUMBERS_FILE
    assert (Path(str(paper_numbers_path())).parent / "PAPER_NUMBERS.md").exists()


@pytest.mark.parametrize(
    ("column", "bad", "says"),
    [
        ("quantity", "effect_size", "unknown quantity"),
        ("value", "n/a", "not a finite number"),
        ("source", "somewhere", "not a line of a reference"),
        ("figure_id", "paper_tstr", "unknown figure id"),
        ("kind", "vibes", "unknown kind"),
    ],
)
def test_a_bad_row_is_an_error_naming_the_column_and_line(tmp_path, column, bad, says):
    df = pd.read_csv(paper_numbers_path(), dtype=str, keep_default_na=False)
    df.loc[3, column] = bad
    path = tmp_path / "numbers.csv"
    df.to_csv(path, index=False)
    with pytest.raises(DataError, match=f"column '{column}': {says}.*line 5") as err:
        read_paper_numbers(path)
    assert str(path) in str(err.value)


def test_a_missing_column_is_an_error_naming_it(tmp_path):
    df = pd.read_csv(paper_numbers_path(), dtype=str, keep_default_na=False).drop(columns=["source"])
    path = tmp_path / "numbers.csv"
    df.to_csv(path, index=False)
    with pytest.raises(DataError, match="column 'source'"):
        read_paper_numbers(path)
