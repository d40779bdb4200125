"""ACTG 175, shipped with the package, in Xu (2026)'s design (actg175) and STEAM's (actg175_steam).

The unknown-id message listing both ids is checked in test_datasets.py.
"""

import hashlib
import importlib.resources

import numpy as np
import pandas as pd
import pytest

from causalsynth.core.io import read_json
from causalsynth.data import get_dataset, prepare_dataset
from causalsynth.data.real import ACTG175_CONSTANT, ACTG175_PAPER_COVARIATES, read_actg175

SHIPPED = importlib.resources.files("causalsynth.data") / "files"
SHA256 = "44bb0216630998c1545c6621278babe95a41dbfd3cbf65426260568f27e5e200"
PAPER2_COVARIATES = [
    "age", "wtkg", "hemo", "homo", "drugs", "karnof", "oprior", "z30", "zprior", "preanti",
    "race", "gender", "str2", "strat", "symptom", "cd40", "cd80",
]  # fmt: skip
STEAM_COVARIATES = [  # harrya32/STEAM, Datasets/load_aids.ipynb: cov_cont then cov_bin
    "age", "wtkg", "cd40", "karnof", "cd80", "gender", "homo", "race", "drugs", "symptom", "str2", "hemo",
]  # fmt: skip
POST_TREATMENT = {"treat", "offtrt", "r", "cens", "days", "cd496", "cd820"}


def dim(y: pd.Series, a: pd.Series) -> tuple[float, float]:
    """Difference in means and SE = sqrt(var1/n1 + var0/n0), computed here, not by the loader."""
    y1, y0 = y[a == 1], y[a == 0]
    return y1.mean() - y0.mean(), np.sqrt(y1.var() / len(y1) + y0.var() / len(y0))


@pytest.fixture(scope="module")
def csv():
    return pd.read_csv(SHIPPED / "actg175.csv", index_col=0)


@pytest.fixture(scope="module")
def prepared():
    return {d: get_dataset(d).prepare(seed=1) for d in ("actg175", "actg175_steam")}


def whole(p) -> pd.DataFrame:
    return pd.concat([p.train, p.holdout], ignore_index=True)


def test_shipped_file_is_the_published_one(csv):
    assert hashlib.sha256((SHIPPED / "actg175.csv").read_bytes()).hexdigest() == SHA256
    assert (SHIPPED / "ACTG175.md").is_file()
    assert (
        "CC BY 4.0" in (SHIPPED / "ACTG175.md").read_text() and SHA256 in (SHIPPED / "ACTG175.md").read_text()
    )
    assert csv.shape == (2139, 27)  # data rows also start with an R row name (the index)
    missing = csv.isna().sum()
    assert missing[missing > 0].to_dict() == {"cd496": 797}
    pd.testing.assert_frame_equal(read_actg175(), csv)


def test_paper2_design_size_and_arms(prepared):
    p = prepared["actg175"]
    full = whole(p)
    assert len(full) == 1046 and p.n_dropped == 0
    assert (full["A"] == 1).sum() == 524 and (full["A"] == 0).sum() == 522
    assert p.kind == "real-rct" and p.roles.treatment == "A" and p.roles.outcome == "cd420"
    assert p.roles.outcome_type == "continuous"


def test_paper2_covariates_are_the_papers_17_less_the_constant_zprior(prepared, csv):
    roles = prepared["actg175"].roles
    assert list(ACTG175_PAPER_COVARIATES) == PAPER2_COVARIATES and len(PAPER2_COVARIATES) == 17
    # zprior is 1 for every patient: no information, and the table check refuses constant covariates
    assert ACTG175_CONSTANT == ("zprior",) and set(csv["zprior"]) == {1}
    assert roles.covariate_names == [c for c in PAPER2_COVARIATES if c != "zprior"]
    assert not POST_TREATMENT & set(roles.columns) and "arms" not in roles.columns
    assert roles.of_type("categorical") == ["strat"]
    assert set(roles.of_type("binary")) == {"hemo", "homo", "drugs", "oprior", "z30", "race", "gender",
                                            "str2", "symptom"}  # fmt: skip
    assert set(roles.of_type("continuous")) == {"age", "wtkg", "karnof", "preanti", "cd40", "cd80"}


def test_paper2_reference_difference_in_means(prepared, csv):
    rows = csv[csv["arms"].isin([1, 2])].dropna(subset=[*PAPER2_COVARIATES, "arms", "cd420"])
    ate, se = dim(rows["cd420"], (rows["arms"] == 2).astype(int))
    assert len(rows) == 1046
    assert round(ate, 2) == -31.13 and round(se, 2) == 9.03
    truth = prepared["actg175"].truth
    assert truth.ate == -31.13 and truth.kind == "reference"
    assert "ACTG 175" in truth.source and "2604.23904" in truth.source and "SE 9.03" in truth.source
    full = whole(prepared["actg175"])  # the prepared table carries the same effect
    assert dim(full["cd420"], full["A"])[0] == pytest.approx(ate)


def test_steam_design(prepared, csv):
    p = prepared["actg175_steam"]
    assert p.roles.covariate_names == STEAM_COVARIATES
    assert not POST_TREATMENT & set(p.roles.columns)
    assert set(p.roles.of_type("continuous")) == {"age", "wtkg", "cd40", "karnof", "cd80"}
    full = whole(p)
    assert len(full) == 1056 and (full["A"] == 1).sum() == 524 and (full["A"] == 0).sum() == 532
    rows = csv[csv["arms"].isin([0, 2])]
    ate, se = dim(rows["cd420"] - rows["cd40"], (rows["arms"] == 2).astype(int))
    assert round(ate, 2) == 36.33 and round(se, 2) == 6.69
    assert dim(full["cd4_change"], full["A"])[0] == pytest.approx(ate)
    assert p.truth.ate == 36.33 and p.truth.kind == "reference"
    assert "STEAM" in p.truth.source and "SE 6.69" in p.truth.source


@pytest.mark.parametrize("dataset", ["actg175", "actg175_steam"])
def test_seeds_split_the_same_rows_differently(dataset):
    a, b, c = (get_dataset(dataset).prepare(seed) for seed in (1, 1, 2))
    pd.testing.assert_frame_equal(a.train, b.train)
    assert not a.train.equals(c.train)
    cols = list(a.train.columns)
    rows_a = whole(a).sort_values(cols, ignore_index=True)
    rows_c = whole(c).sort_values(cols, ignore_index=True)
    pd.testing.assert_frame_equal(rows_a, rows_c)
    assert len(a.holdout) == len(c.holdout) and 0.25 < len(a.holdout) / len(rows_a) < 0.35


def test_max_rows_keeps_the_full_trial_reference():
    p = get_dataset("actg175", max_rows=500).prepare(3)
    assert len(p.train) + len(p.holdout) == 500
    assert p.truth.ate == -31.13


def test_prepare_dataset_card_passes_the_checks(tmp_path):
    out = {k: tmp_path / f"{k}.x" for k in ("train", "holdout", "card")}
    prepare_dataset("actg175", {}, seed=1, out_train=out["train"], out_holdout=out["holdout"],
                    out_card=out["card"])  # fmt: skip
    card = read_json(out["card"])
    assert card["truth"] == {"ate": -31.13, "kind": "reference", "source": card["truth"]["source"]}
    assert card["n_train"] + card["n_holdout"] == 1046 and card["kind"] == "real-rct"
    assert {"name": "strat", "type": "categorical"} in card["covariates"]


def test_the_default_run_has_paper_2s_design_and_every_base_generator_on_it():
    from causalsynth.config import Plan, read_config

    plan = Plan(read_config("config/config.yaml"))
    assert "actg175" in plan.datasets and "actg175_steam" not in plan.datasets
    assert plan.loader_options("actg175")[1] == {}  # all 1,046 rows, the reference truth unchanged
    assert set(plan.generators_for("actg175")) >= {"gaussian_copula", "ctgan", "tvae", "tabularargn"}
