"""Attack-based privacy risk: the metrics' seeded properties, the bad-input statuses, the entry."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from causalsynth.core.cells import SetCell
from causalsynth.core.errors import ConfigError, DataError
from causalsynth.core.roles import Roles
from causalsynth.core.schema import section_defaults
from causalsynth.core.uncertainty import LEVEL, median_interval
from causalsynth.core.vocabulary import (
    NOT_ASSESSED,
    NOT_RELEASABLE,
    PRIVACY,
    PRIVACY_ATTACKS,
    PRIVACY_METRICS,
    RELEASABLE,
)
from causalsynth.privacy.attacks import (
    HIGHER_IS_RISKIER,
    _random_link_rate,
    attack_set,
    inference_hits,
    random_guess_rate,
)
from causalsynth.privacy.dcr import nearest_neighbors, two_nearest_distances
from causalsynth.privacy.run import epsilon_of, run_privacy_attacks
from tests.unit.conftest import MIXED_BINARY as ROLES
from tests.unit.conftest import mixed_binary_table

PARAMS = section_defaults("privacy")


def make_table(n: int, seed: int) -> pd.DataFrame:
    return ROLES.validate(mixed_binary_table(n, seed), "test table")


def by_metric(rows: list[dict]) -> dict[str, dict]:
    return {r["metric"]: r for r in rows}


@pytest.fixture(scope="module")
def copy_and_fresh():
    """A set that copies the training rows and one drawn afresh from the same distribution,
    against one train / holdout split of equal sizes (so the DCR share's baseline is 0.5)."""
    train, holdout = make_table(600, 1), make_table(600, 2)
    copy = by_metric(attack_set(ROLES, train.copy(), train, holdout, PARAMS, 1.0, seed=11))
    fresh = by_metric(attack_set(ROLES, make_table(600, 3), train, holdout, PARAMS, 1.0, seed=11))
    return copy, fresh


def test_two_nearest_distances_first_column_is_the_dcr_bit_for_bit():
    rng = np.random.default_rng(4)
    q, r = rng.normal(size=(300, 5)), rng.normal(size=(200, 5))
    d = two_nearest_distances(q, r)
    assert np.array_equal(d[:, 0], nearest_neighbors(q, r)[0])
    brute = np.sort(np.sqrt(((q[:, None, :] - r[None, :, :]) ** 2).sum(axis=2)), axis=1)[:, :2]
    np.testing.assert_allclose(d, brute, rtol=1e-12)
    with pytest.raises(ValueError, match="two reference rows"):
        two_nearest_distances(q, r[:1])


def test_a_copy_of_the_training_rows_is_caught_by_every_metric(copy_and_fresh):
    copy, _ = copy_and_fresh
    assert all(r["status"] == "ok" for r in copy.values())
    assert copy["dcr_share"]["value"] == 1.0  # every row sits on a training row
    assert copy["dcr_share"]["baseline"] == 0.5
    assert copy["nndr"]["value"] == 0.0 and copy["nndr"]["baseline"] > 0.5
    for metric in PRIVACY_ATTACKS:
        assert copy[metric]["ci_low"] > 0.2, metric  # decidedly above no risk
        assert copy[metric]["attack_rate"] > copy[metric]["control_rate"]


def test_a_fresh_draw_from_the_population_shows_no_risk(copy_and_fresh):
    copy, fresh = copy_and_fresh
    share = fresh["dcr_share"]
    assert share["ci_low"] < 0.5 < share["ci_high"]
    # the holdout's median ratio is itself a sample median: equal within its own noise
    assert fresh["nndr"]["value"] == pytest.approx(fresh["nndr"]["baseline"], abs=0.05)
    for metric in PRIVACY_ATTACKS:
        assert fresh[metric]["ci_low"] == 0.0, metric  # no risk it can tell from none
        assert fresh[metric]["value"] < copy[metric]["ci_low"], metric


def test_every_metric_states_its_direction_and_baseline(copy_and_fresh):
    copy, _ = copy_and_fresh
    assert set(copy) == set(PRIVACY_METRICS)
    for metric, row in copy.items():
        assert row["higher_is_riskier"] is HIGHER_IS_RISKIER[metric]
        assert np.isfinite(row["baseline"])
    assert HIGHER_IS_RISKIER["nndr"] is False and HIGHER_IS_RISKIER["dcr_share"] is True


def test_the_same_seed_gives_the_same_rows_and_leaves_numpy_global_state_alone():
    train, holdout, synthetic = make_table(200, 5), make_table(200, 6), make_table(200, 7)
    # the legacy global state is what anonymeter reads, so it is what this test watches
    np.random.seed(123)  # noqa: NPY002
    expected_next = np.random.random()  # noqa: NPY002
    np.random.seed(123)  # noqa: NPY002
    a = attack_set(ROLES, synthetic, train, holdout, PARAMS, 1.0, seed=3)
    assert np.random.random() == expected_next  # noqa: NPY002 -- the seeding was undone
    b = attack_set(ROLES, synthetic, train, holdout, PARAMS, 1.0, seed=3)
    pd.testing.assert_frame_equal(pd.DataFrame(a), pd.DataFrame(b))


def test_a_holdout_too_small_for_a_control_set_is_a_status_naming_the_minimum():
    train, holdout, synthetic = make_table(200, 8), make_table(20, 9), make_table(200, 10)
    rows = by_metric(attack_set(ROLES, synthetic, train, holdout, PARAMS | {"min_control_rows": 50}, 1.0, 1))
    for metric in PRIVACY_ATTACKS:
        status = rows[metric]["status"]
        assert "holdout too small: 20 rows" in status and "at least 50" in status, status
        assert "value" not in rows[metric]
    # the distance metrics need no control set of that size
    assert rows["dcr_share"]["status"] == "ok" and rows["nndr"]["status"] == "ok"


def test_an_empty_set_is_a_status_for_every_metric():
    train, holdout = make_table(100, 11), make_table(100, 12)
    rows = attack_set(ROLES, train.iloc[:0], train, holdout, PARAMS, 1.0, 1)
    assert [r["metric"] for r in rows] == list(PRIVACY_METRICS)
    assert all(r["status"].startswith("no synthetic rows") for r in rows)


def test_random_link_rate_is_exact():
    assert _random_link_rate(100, 1) == pytest.approx(0.01)
    # two 2-subsets of 4 rows miss each other only as complements: 1 of 6
    assert _random_link_rate(4, 2) == pytest.approx(5 / 6)
    assert _random_link_rate(5, 5) == 1.0


def test_a_negative_guess_far_from_its_secret_is_not_a_hit():
    from anonymeter.evaluators.inference_evaluator import evaluate_inference_guesses

    guesses, secrets = pd.Series([-5.0, 3.0, 0.0, 10.0]), pd.Series([10.0, 3.1, 0.0, 10.4])
    # anonymeter 1.1.0 divides by the signed guess: -15 / -5 = -3 passes its 5% tolerance
    assert evaluate_inference_guesses(guesses, secrets, regression=True).tolist() == [True] * 4
    assert inference_hits(guesses, secrets, True, 0.05, scale=1.0).tolist() == [False, True, True, True]
    # a negative guess close to a negative secret is still a hit
    assert inference_hits(np.array([-5.0]), np.array([-5.2]), True, 0.05, scale=1.0).tolist() == [True]


def test_the_tolerance_is_relative_and_never_below_a_share_of_the_sd():
    secrets = np.array([0.0, 0.0, 100.0, 100.0, 1.0])
    guesses = np.array([0.49, 0.51, 104.9, 105.1, 1.4])
    # sd 10: at least 0.5 either side; relative (5 at 100) above it
    assert inference_hits(guesses, secrets, True, 0.05, scale=10.0).tolist() == [
        True,
        False,
        True,
        False,
        True,
    ]
    # categorical secrets hit by equality only; a missing guess never hits
    cats = np.array(["red", "blue", None], dtype=object)
    assert inference_hits(cats, np.array(["red", "red", None], dtype=object), False, 0.05, 0.0).tolist() == [
        True,
        False,
        False,
    ]


def test_random_guess_rate_is_the_exact_mean_hit_share():
    rng = np.random.default_rng(21)
    candidates, secrets = rng.normal(size=400), rng.normal(size=150)
    brute = np.mean([inference_hits(candidates, np.full(400, t), True, 0.05, 1.0).mean() for t in secrets])
    assert random_guess_rate(candidates, secrets, True, 0.05, 1.0) == pytest.approx(brute, abs=1e-12)
    assert random_guess_rate(np.array([1, 1, 0, 2]), np.array([1, 3]), False, 0.05, 0.0) == 0.25


CONTINUOUS = Roles("A", "Y", "continuous", {"x1": "continuous", "x2": "continuous", "b": "binary"})


def continuous_table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2, b, a = rng.normal(size=n), rng.normal(size=n), rng.integers(0, 2, n), rng.integers(0, 2, n)
    y = 5.0 + 2.0 * x1 + a + rng.normal(size=n)
    return CONTINUOUS.validate(pd.DataFrame({"x1": x1, "x2": x2, "b": b, "A": a, "Y": y}), "test table")


def test_an_outcome_guessed_negative_and_far_off_is_no_success():
    from anonymeter.stats.confidence import success_rate

    # every synthetic outcome is negative and far from any real one: anonymeter's rule would count
    # every guess on both sides; no guess is within tolerance
    train, holdout = continuous_table(300, 31), continuous_table(300, 32)
    far = continuous_table(300, 33).assign(Y=lambda d: -d["Y"] - 100.0)
    row = by_metric(attack_set(CONTINUOUS, far, train, holdout, PARAMS, 1.0, seed=5))["inference_risk"]
    n = PARAMS["n_attacks"]
    assert row["status"] == "ok" and row["n_attacks"] == n
    # anonymeter's rates are Wilson centres: 0 of n successes is (z^2 / 2) / (n + z^2)
    none = success_rate(n, 0, LEVEL).value
    assert (row["attack_rate"], row["control_rate"], row["naive_rate"]) == (none, none, 0.0)
    assert row["value"] == 0.0
    # a copy of the training rows gives each member its own outcome back: risk decidedly above 0
    copy = by_metric(attack_set(CONTINUOUS, train.copy(), train, holdout, PARAMS, 1.0, seed=5))[
        "inference_risk"
    ]
    assert copy["attack_rate"] == success_rate(n, n, LEVEL).value
    assert copy["control_rate"] < 0.3 and copy["ci_low"] > 0.5


def test_median_interval_brackets_the_median_with_order_statistics():
    values = np.arange(1.0, 101.0)
    iv = median_interval(values)
    assert iv.estimate == 50.5 and iv.low < 50.5 < iv.high
    assert iv.low in values and iv.high in values
    assert 50.5 - iv.low == pytest.approx(iv.high - 50.5)
    assert not median_interval([3.0]).defined


def test_epsilon_is_read_from_the_meta_where_recorded():
    assert epsilon_of({"epsilon": 2}) == 2.0
    assert epsilon_of({"params": {"epsilon": 0.5}}) == 0.5
    assert epsilon_of({"params": {"epochs": 3}}) is None


def write_cell(tmp_path, meta: dict) -> dict[str, str]:
    paths = {}
    for name, df in (("train", make_table(150, 13)), ("holdout", make_table(100, 14))):
        paths[name] = str(tmp_path / f"{name}.parquet")
        df.to_parquet(paths[name])
    raw = make_table(120, 15)
    paths["unfiltered"] = str(tmp_path / "synthetic.parquet")
    raw.to_parquet(paths["unfiltered"])
    # a pool's extra columns (mu0, mu1, propensity) are not released and not attacked
    paths["filtered"] = str(tmp_path / "pool.parquet")
    raw.iloc[:100].assign(mu0=0.1, mu1=0.2, propensity=0.5).to_parquet(paths["filtered"])
    paths["card"] = str(tmp_path / "card.json")
    (tmp_path / "card.json").write_text(json.dumps({"dataset": "toy", **ROLES.to_dict()}))
    paths["meta"] = str(tmp_path / "meta.json")
    (tmp_path / "meta.json").write_text(json.dumps(meta))
    return paths


def test_run_privacy_attacks_writes_every_set_of_the_dataset_with_its_epsilon(tmp_path):
    p = write_cell(tmp_path, {"params": {"epsilon": 4.0}})
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps({"params": {}}))
    out = tmp_path / "out" / "attacks.parquet"
    df = run_privacy_attacks(
        [
            SetCell("tabularargn", 2, p["unfiltered"], p["meta"], 9, version="unfiltered"),
            SetCell("tabularargn", 2, p["filtered"], p["meta"], 9, version="filtered"),
            # the records as the workflow passes them: mappings
            {
                "generator": "hybrid_ctgan",
                "rep": 1,
                "data": p["filtered"],
                "meta": str(plain),
                "seed": 11,
                "version": "filtered",
            },
        ],  # fmt: skip
        p["train"],
        p["holdout"],
        p["card"],
        {"n_attacks": 50},
        {},
        out_table=str(out),
        out_release=str(tmp_path / "out" / "release.json"),
    )
    written = pd.read_parquet(out)
    assert list(written.columns) == list(PRIVACY.columns)
    assert len(written) == 3 * len(PRIVACY_METRICS)
    assert (written["dataset"] == "toy").all() and (written["status"] == "ok").all()
    argn = written[written["generator"] == "tabularargn"]
    assert set(argn["set"]) == {"unfiltered", "filtered"} and (argn["rep"] == 2).all()
    assert (argn["epsilon"] == 4.0).all()
    hybrid = written[written["generator"] == "hybrid_ctgan"]
    assert hybrid["epsilon"].isna().all() and (hybrid["rep"] == 1).all()
    assert all(math.isfinite(v) for v in hybrid["value"])
    filtered = written[written["set"] == "filtered"]
    assert (filtered["n_synthetic"] == 100).all()
    assert (written.loc[written["metric"].isin(PRIVACY_ATTACKS), "n_attacks"] == 50).all()
    pd.testing.assert_frame_equal(df.reset_index(drop=True), written)
    # the gate's verdict on every set, in the table and in release.json: the unfiltered set is
    # never released, and the hybrid's base (ctgan) was not attacked in this job
    verdicts = written.groupby(["generator", "set"])["releasable"].agg(set).to_dict()
    assert verdicts[("tabularargn", "unfiltered")] == {NOT_RELEASABLE}
    assert verdicts[("tabularargn", "filtered")] <= {RELEASABLE, NOT_RELEASABLE}
    # (50 attacks: wide intervals, which may reach a limit on their own)
    assert len(verdicts[("hybrid_ctgan", "filtered")] & {NOT_ASSESSED, NOT_RELEASABLE}) == 1
    hybrid_reason = written.loc[written["generator"] == "hybrid_ctgan", "release_reason"].iloc[0]
    assert "its base ctgan's filtered set of this replicate was not attacked" in hybrid_reason
    assert written["release_reason"].str.len().gt(0).all()
    release = json.loads((tmp_path / "out" / "release.json").read_text())
    assert release["dataset"] == "toy" and sum(release["counts"].values()) == 3
    assert release["thresholds"] == section_defaults("privacy.release")
    by_set = {(e["generator"], e["set"]): e for e in release["sets"]}
    assert by_set[("hybrid_ctgan", "filtered")]["meta"] == str(plain)
    assert by_set[("tabularargn", "unfiltered")]["data"] == p["unfiltered"]
    for (g, name), e in by_set.items():
        assert {e["releasable"]} == verdicts[(g, name)]
    # a set's rows depend on its own seed and name only, not on the sets beside it
    alone = run_privacy_attacks(
        [SetCell("tabularargn", 2, p["filtered"], p["meta"], 9, version="filtered")],
        p["train"], p["holdout"], p["card"], {"n_attacks": 50}, {}, out_table=str(tmp_path / "b.parquet"),
    )  # fmt: skip
    cols = ["metric", "value", "ci_low", "ci_high"]
    pd.testing.assert_frame_equal(
        alone[cols].reset_index(drop=True),
        written.loc[written["set"] == "filtered"].iloc[:5][cols].reset_index(drop=True),
    )


def test_run_privacy_attacks_refuses_an_unknown_set_or_a_malformed_cell(tmp_path):
    p = write_cell(tmp_path, {"params": {}})
    common = (p["train"], p["holdout"], p["card"], {"n_attacks": 30}, {})
    cell = SetCell("ctgan", 1, p["filtered"], p["meta"], 1, version="filtered")
    with pytest.raises(DataError, match="unknown set 'raw'"):
        run_privacy_attacks([replace(cell, version="raw")], *common, out_table=str(tmp_path / "a"))
    with pytest.raises(ConfigError, match=r"privacy.release.inference_risk must be a number from 0 to 1"):
        run_privacy_attacks(
            [cell], p["train"], p["holdout"], p["card"], {"release": {"inference_risk": 2}}, {},
            out_table=str(tmp_path / "a"),
        )  # fmt: skip
    # a record without its meta.json, or no record at all, is named before any attack
    with pytest.raises(
        ConfigError, match=r"run_privacy_attacks: cell 0 .* is not a set record .*its fields: generator"
    ):
        run_privacy_attacks([{"generator": "ctgan", "rep": 1, "data": p["filtered"], "seed": 1}], *common,
                            out_table=str(tmp_path / "a"))  # fmt: skip
    with pytest.raises(ConfigError, match="run_privacy_attacks: no set records"):
        run_privacy_attacks([], *common, out_table=str(tmp_path / "a"))
