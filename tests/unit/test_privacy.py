"""DCR: exact nearest neighbours, the filter's counts and release safety, the entry function."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from causalsynth.core.errors import ConfigError, DataError
from causalsynth.privacy.dcr import (
    DCRFilter,
    dcr_summary,
    distribution_summary,
    nearest_neighbors,
    run_dcr_filter,
)
from tests.unit.conftest import MIXED_BINARY as ROLES
from tests.unit.conftest import mixed_binary_table as make_table


def brute_force(query: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The row-by-row form of the paper's public code."""
    rows = [np.sqrt(np.sum((reference - x) ** 2, axis=1)) for x in query]
    return np.array([r.min() for r in rows]), np.array([r.argmin() for r in rows])


@pytest.mark.parametrize("seed", range(6))
def test_nearest_neighbors_equals_brute_force_exactly(seed):
    rng = np.random.default_rng(seed)
    d = int(rng.integers(1, 25))
    reference = rng.normal(size=(int(rng.integers(1, 400)), d)) * 10.0 ** rng.integers(-3, 4)
    query = np.vstack(
        [
            rng.normal(size=(300, d)) * reference.std() + reference.mean(),
            # near-copies: differences far below float32 resolution must still be resolved
            reference[rng.integers(0, len(reference), 50)] * (1 + 1e-12 * rng.normal(size=(50, d))),
        ]
    )
    dist, idx = nearest_neighbors(query, reference, n_jobs=2)
    ref_dist, ref_idx = brute_force(query, reference)
    assert np.array_equal(dist, ref_dist)
    assert np.array_equal(idx, ref_idx)


def test_nearest_neighbors_ties_and_duplicates_pick_smallest_index():
    rng = np.random.default_rng(1)
    reference = rng.integers(0, 3, size=(300, 4)).astype(float)  # many exact duplicates
    query = rng.integers(0, 3, size=(500, 4)).astype(float)
    dist, idx = nearest_neighbors(query, reference)
    ref_dist, ref_idx = brute_force(query, reference)
    assert np.array_equal(dist, ref_dist)
    assert np.array_equal(idx, ref_idx)
    assert (dist == 0).mean() > 0.5


def test_nearest_neighbors_chunking_and_threads_do_not_change_results():
    rng = np.random.default_rng(2)
    reference, query = rng.normal(size=(700, 6)), rng.normal(size=(2000, 6))
    one = nearest_neighbors(query, reference, n_jobs=1)
    many = nearest_neighbors(query, reference, n_jobs=2, block_bytes=1)  # 32-row chunks
    assert np.array_equal(one[0], many[0]) and np.array_equal(one[1], many[1])


def test_nearest_neighbors_memory_stays_bounded():
    rng = np.random.default_rng(3)
    reference, query = rng.normal(size=(10_000, 5)), rng.normal(size=(20_000, 5))
    tracemalloc.start()
    nearest_neighbors(query, reference, n_jobs=2)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    full_matrix = 4 * len(query) * len(reference)  # 800 MB in float32
    assert peak < full_matrix / 25, peak


def test_nearest_neighbors_rejects_bad_input():
    with pytest.raises(ValueError, match="finite"):
        nearest_neighbors(np.array([[np.nan]]), np.zeros((2, 1)))
    with pytest.raises(ValueError, match="widths"):
        nearest_neighbors(np.zeros((2, 2)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="no rows"):
        nearest_neighbors(np.zeros((2, 2)), np.zeros((0, 2)))


def test_summary_shares_on_a_hand_example():
    synthetic = np.array([0.0, 0.0, 0.5, 2.0, 3.0])
    holdout = np.linspace(1.0, 2.0, 21)  # 5th percentile 1.05
    s = dcr_summary(synthetic, holdout)
    assert s["share_exact_copies"] == pytest.approx(0.4)
    assert s["share_closer_than_holdout_p05"] == pytest.approx(0.6)
    assert s["holdout_dcr_p05"] == pytest.approx(1.05)
    assert s["synthetic_dcr_median"] == pytest.approx(0.5)
    dist = distribution_summary(synthetic, holdout, bins=10)
    assert sum(dist["synthetic_counts"]) + dist["synthetic_overflow"] == synthetic.size
    assert sum(dist["holdout_counts"]) + dist["holdout_overflow"] == holdout.size


def fitted_filter(**kw) -> tuple[DCRFilter, pd.DataFrame]:
    train = make_table(400, 10)
    return DCRFilter(ROLES, **kw).fit(train, make_table(200, 11)), train


def test_exact_copy_has_dcr_zero_and_is_filtered_even_with_zero_quantile():
    filt, train = fitted_filter(lower_quantile=0.0)
    synthetic = pd.concat([train.iloc[[5]], make_table(50, 12)], ignore_index=True)
    cov, rec = filt.score(synthetic)
    assert cov[0] == 0.0 and rec[0] == 0.0 and (cov[1:] > 0).all()
    keep, report = filt.filter(synthetic)
    assert not keep[0]
    assert report["n_exact_copies_removed"] == 1
    assert report["n_exact_record_copies_removed"] == 1
    assert report["n_filtered_low"] >= 1


def test_planted_copies_are_removed_and_counted():
    filt, train = fitted_filter(lower_quantile=0.0)
    fresh = make_table(300, 13)
    covariate_copies = train.iloc[:20].copy()
    covariate_copies["A"] = 1 - covariate_copies["A"]  # same W, another record
    record_copies = train.iloc[100:130]
    synthetic = pd.concat([fresh, covariate_copies, record_copies], ignore_index=True)
    keep, report = filt.filter(synthetic)
    assert report["n_exact_copies_removed"] == 50
    assert report["n_exact_record_copies_removed"] == 30
    assert report["covariates"]["share_exact_copies"] == pytest.approx(50 / 350)
    kept = synthetic[keep]
    cov = ROLES.covariate_names
    assert kept[cov].merge(train[cov], how="inner").empty
    assert kept[ROLES.columns].merge(train[ROLES.columns], how="inner").empty
    assert report["n_output"] == keep.sum() == 350 - report["n_filtered_low"] - report["n_filtered_high"]


def test_thresholds_are_holdout_quantiles_and_high_rows_are_counted():
    filt, _ = fitted_filter(lower_quantile=0.05, upper_quantile=0.95)
    assert filt.lower_threshold_ == pytest.approx(np.quantile(filt.holdout_dcr_, 0.05))
    assert filt.upper_threshold_ == pytest.approx(np.quantile(filt.holdout_dcr_, 0.95))
    far = make_table(10, 14).assign(x1=50.0)
    keep, report = filt.filter(pd.concat([make_table(200, 15), far], ignore_index=True))
    assert not keep[-10:].any()
    assert report["n_filtered_high"] >= 10
    assert report["n_input"] == report["n_output"] + report["n_filtered_low"] + report["n_filtered_high"]


def test_bad_params_raise_config_error():
    with pytest.raises(ConfigError, match="upper_quantile"):
        fitted_filter(lower_quantile=0.5, upper_quantile=0.2)
    with pytest.raises(ConfigError, match="lower_quantile"):
        fitted_filter(lower_quantile=1.5)


def write_inputs(tmp_path, synthetic: pd.DataFrame) -> dict[str, str]:
    paths = {k: str(tmp_path / f"{k}.parquet") for k in ("train", "holdout", "synthetic")}
    make_table(400, 20).to_parquet(paths["train"])
    make_table(200, 21).to_parquet(paths["holdout"])
    synthetic.to_parquet(paths["synthetic"])
    card = {"dataset": "toy", **ROLES.to_dict()}
    paths["card"] = str(tmp_path / "card.json")
    (tmp_path / "card.json").write_text(json.dumps(card))
    return paths


def test_run_dcr_filter_writes_filtered_rows_and_summary(tmp_path):
    train = make_table(400, 20)
    synthetic = pd.concat([make_table(300, 22), train.iloc[:7]], ignore_index=True)
    synthetic["b"] = synthetic["b"].astype(float)  # generators may write binary columns as floats
    synthetic["extra"] = np.arange(len(synthetic))
    p = write_inputs(tmp_path, synthetic)
    out_parquet, out_json = tmp_path / "out" / "filtered.parquet", tmp_path / "out" / "dcr.json"
    params = {"lower_quantile": 0.05, "upper_quantile": 0.99, "categorical_weight": 1.0}
    run_dcr_filter(p["train"], p["holdout"], p["card"], p["synthetic"], params, out_parquet, out_json)
    filtered = pd.read_parquet(out_parquet)
    report = json.loads(out_json.read_text())
    assert list(filtered.columns) == list(synthetic.columns)
    assert filtered.dtypes.equals(synthetic.dtypes)
    assert len(filtered) == report["n_output"]
    assert report["n_exact_copies_removed"] == 7
    assert not set(filtered["extra"]) & set(range(300, 307))
    for key in ("n_input", "n_filtered_low", "n_filtered_high", "n_output", "thresholds"):
        assert key in report
    for space in ("covariates", "record"):
        s = report[space]
        assert {"synthetic_dcr_median", "synthetic_dcr_p05", "holdout_dcr_median", "holdout_dcr_p05"} <= set(
            s
        )
        assert (
            len(report["distributions"][space]["bin_edges"])
            == len(report["distributions"][space]["synthetic_counts"]) + 1
        )
    assert "c=red" in report["space"]["covariates"]


def test_one_job_screens_the_replicates_one_job_per_replicate_would(tmp_path):
    from causalsynth.core.cells import RepCell
    from causalsynth.core.layout import dcr_files
    from causalsynth.privacy.dcr import run_dcr_filter_reps

    draws = {}
    for rep in (1, 2):  # each replicate its own draw and set
        (tmp_path / f"rep{rep}").mkdir()
        draws[rep] = write_inputs(tmp_path / f"rep{rep}", make_table(150, 30 + rep))
    out = run_dcr_filter_reps(
        str(tmp_path / "job"), [RepCell("gen", r, data=draws[r]["synthetic"]) for r in (1, 2)],
        {r: d["train"] for r, d in draws.items()}, {r: d["holdout"] for r, d in draws.items()},
        {r: d["card"] for r, d in draws.items()}, {}, "gen",
    )  # fmt: skip
    assert [o["rep"] for o in out] == [1, 2] and {o["generator"] for o in out} == {"gen"}
    for rep in (1, 2):
        d = draws[rep]
        run_dcr_filter(d["train"], d["holdout"], d["card"], d["synthetic"], {}, tmp_path / "a.parquet",
                       tmp_path / "a.json")  # fmt: skip
        filtered, summary = dcr_files(tmp_path / "job", rep)
        pd.testing.assert_frame_equal(pd.read_parquet(filtered), pd.read_parquet(tmp_path / "a.parquet"))
        assert (
            json.loads(Path(summary).read_text())["thresholds"]
            == json.loads((tmp_path / "a.json").read_text())["thresholds"]
        )
    with pytest.raises(ConfigError, match=r"run_dcr_filter_reps \(gen\): cell 1 \(gen, rep 2\) has no data"):
        run_dcr_filter_reps(str(tmp_path / "x"), [RepCell("gen", 1, data=draws[1]["synthetic"]), {"generator": "gen", "rep": 2}],
                            draws[1]["train"], draws[1]["holdout"], draws[1]["card"], {}, "gen")  # fmt: skip


def test_run_dcr_filter_without_treatment_and_outcome_reports_covariates_only(tmp_path):
    synthetic = make_table(100, 23).drop(columns=["A", "Y"])
    p = write_inputs(tmp_path, synthetic)
    out = run_dcr_filter(
        p["train"], p["holdout"], p["card"], p["synthetic"], {}, tmp_path / "f.parquet", tmp_path / "d.json"
    )
    assert out["record"] is None and out["covariates"]["n_synthetic"] == 100


@pytest.mark.parametrize(
    ("column", "value", "match"),
    [("x1", np.nan, r"missing value\(s\)"), ("b", 2, "other than 0/1"), ("x2", np.inf, "infinite values")],
)
def test_run_dcr_filter_names_file_and_column_of_bad_values(tmp_path, column, value, match):
    synthetic = make_table(50, 24)
    synthetic[column] = synthetic[column].astype(float)
    synthetic.loc[3, column] = value
    p = write_inputs(tmp_path, synthetic)
    with pytest.raises(DataError, match=match) as err:
        run_dcr_filter(
            p["train"],
            p["holdout"],
            p["card"],
            p["synthetic"],
            {},
            tmp_path / "f.parquet",
            tmp_path / "d.json",
        )
    assert "synthetic.parquet" in str(err.value) and f"'{column}'" in str(err.value)


def test_run_dcr_filter_rejects_unknown_params(tmp_path):
    p = write_inputs(tmp_path, make_table(10, 25))
    with pytest.raises(ConfigError, match="lower_quantil"):
        run_dcr_filter(
            p["train"], p["holdout"], p["card"], p["synthetic"], {"lower_quantil": 0.1}, "f.parquet", "d.json"
        )
