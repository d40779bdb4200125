"""The generator contract: registry, table checks, sampling rounds and accounting, sdv/ctgan models."""

from __future__ import annotations

import math
import random

import numpy as np
import pandas as pd
import pytest
import torch

from causalsynth.core.errors import ComponentFailure, ConfigError, DataError, UnknownComponentError
from causalsynth.core.io import read_json, write_json, write_parquet
from causalsynth.core.provenance import CORE_PACKAGES, package_versions
from causalsynth.core.roles import Roles
from causalsynth.core.threads import limit_threads
from causalsynth.generate import (
    GENERATORS,
    INVALID_REASONS,
    Generator,
    TableSpec,
    make_generator,
    run_generate,
    validate_rows,
)
from causalsynth.generate.runtime import foreach_adam, isolated_global_rng
from tests.unit.conftest import GENERATOR_ROLES as ROLES
from tests.unit.conftest import assert_schema
from tests.unit.conftest import generator_table as make_table

# Few epochs and small batches: these tests check the contract, not the quality of the models.
FAST = {
    "ctgan": {"epochs": 2, "batch_size": 20, "pac": 10, "device": "cpu"},
    "tvae": {"epochs": 2, "batch_size": 20, "device": "cpu"},
    "gaussian_copula": {},
    # the optional CPU generators (extra cpu-generators; generate/forests.py, test_cpu_generators.py)
    "arf": {},
    "forest_diffusion": {"n_t": 5, "duplicate_K": 5, "n_estimators": 10},
}


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return make_table()


# ------------------------------------------------------------------------------ registry
# the parameters a generator cannot do without (the file generator's file; never read by these tests,
# which stop at the training table)
REQUIRED = {"file": {"path": "never_read.csv"}}


def test_registry_holds_the_generators():
    assert GENERATORS.names() == [
        "arf",
        "ctgan",
        "file",
        "forest_diffusion",
        "gaussian_copula",
        "great",
        "tabularargn",
        "tvae",
    ]
    for name in GENERATORS.names():
        assert GENERATORS.get(name).name == name


def test_unknown_generator_lists_the_valid_ids():
    with pytest.raises(
        UnknownComponentError,
        match=r"arf, ctgan, file, forest_diffusion, gaussian_copula, great, tabularargn, tvae \(or a class",
    ):
        make_generator("gan9000")


def test_unknown_hyperparameter_lists_the_valid_ones():
    with pytest.raises(
        ConfigError, match=r"'ctgan' has no parameter\(s\) epoch; valid: epochs, steps, batch_size"
    ):
        make_generator("ctgan", {"epoch": 5})


def test_constructor_only_stores_hyperparameters():
    gen = make_generator("ctgan", {"epochs": 7})
    assert gen.get_params()["epochs"] == 7
    assert not any(k.endswith("_") for k in vars(gen))


# --------------------------------------------------------------------- unlearnable tables
@pytest.mark.parametrize("generator", GENERATORS.names())
def test_a_single_row_is_refused_naming_dataset_and_generator(generator, table):
    with pytest.raises(DataError, match=rf"dataset 'tiny', generator '{generator}'.*1 row"):
        make_generator(generator, REQUIRED.get(generator)).fit(table.head(1), ROLES, dataset="tiny")


@pytest.mark.parametrize("generator", GENERATORS.names())
def test_a_constant_column_is_refused_naming_it(generator, table):
    flat = table.assign(w_cont=0.5)
    with pytest.raises(
        DataError, match=rf"dataset 'tiny', generator '{generator}', column 'w_cont'.*single value"
    ):
        make_generator(generator, REQUIRED.get(generator)).fit(flat, ROLES, dataset="tiny")


@pytest.mark.parametrize("generator", GENERATORS.names())
def test_an_empty_treatment_arm_is_refused(generator, table):
    treated_only = table.assign(A=1)
    with pytest.raises(DataError, match=r"column 'A'.*A=0 has no units"):
        make_generator(generator, REQUIRED.get(generator)).fit(treated_only, ROLES, dataset="tiny")


@pytest.mark.parametrize(
    ("change", "column", "problem"),
    [
        (lambda t: t.assign(w_bin=t["w_bin"] * 2), "w_bin", "values other than 0/1"),
        (lambda t: t.assign(w_cont=t["w_cont"].where(t.index > 0)), "w_cont", "missing value"),
        (lambda t: t.assign(Y=t["Y"].where(t.index > 0, np.inf)), "Y", "infinite"),
        (lambda t: t.drop(columns="w_cat"), "w_cat", "column not found"),
    ],
)
def test_other_bad_tables_name_column_and_problem(table, change, column, problem):
    with pytest.raises(DataError, match=rf"column '{column}'.*{problem}.*Fix:"):
        make_generator("gaussian_copula").fit(change(table), ROLES, dataset="tiny")


def test_bad_hyperparameters_fail_at_fit(table):
    with pytest.raises(ConfigError, match=r"batch_size 25 is not a multiple of 10 \(pac and 2\)"):
        make_generator("ctgan", {"batch_size": 25}).fit(table, ROLES)
    with pytest.raises(ConfigError, match="n_jobs must be a positive integer"):
        make_generator("tvae", n_jobs=0).fit(table, ROLES)
    with pytest.raises(ConfigError, match="device must be one of"):
        make_generator("tvae", {"device": "tpu"}).fit(table, ROLES)


# ------------------------------------------------------------------------ row validation
def test_validate_rows_casts_and_counts_every_reason(table):
    spec = TableSpec.from_table(table, ROLES)
    ok = {"w_bin": "1", "w_cat": "south", "w_cont": "0.25", "A": "0", "Y": "1.5"}
    planted = [
        ok,
        {**ok, "w_cat": None},
        {**ok, "w_cont": "abc"},
        {**ok, "w_cont": "nan"},
        {**ok, "Y": "-inf"},
        {**ok, "A": "2"},
        {**ok, "w_cat": "east"},
        {**ok, "Y": "1e9"},
        {**ok, "w_bin": "1.0", "w_cont": " -1 "},
    ]
    clean, reasons = validate_rows(pd.DataFrame(planted, dtype=object), spec, range_multiple=10.0)
    assert reasons == {r: 1 for r in INVALID_REASONS}
    assert clean.to_dict("records") == [
        {"w_bin": 1, "w_cat": "south", "w_cont": 0.25, "A": 0, "Y": 1.5},
        {"w_bin": 1, "w_cat": "south", "w_cont": -1.0, "A": 0, "Y": 1.5},
    ]
    assert clean.dtypes.astype(str).tolist() == ["int64", "object", "float64", "int64", "float64"]


def test_validate_rows_counts_numeric_nan_and_inf_and_first_failing_column(table):
    spec = TableSpec.from_table(table, ROLES)
    raw = pd.DataFrame(
        {
            "w_bin": [1, 0, 1],
            "w_cat": ["north"] * 3,
            "w_cont": [0.0, np.nan, np.inf],
            "A": [1, 1, 7],
            "Y": [0.0, 1.0, np.nan],
        }
    )
    clean, reasons = validate_rows(raw, spec)
    assert len(clean) == 1
    # the third row fails in w_cont (inf) before A (non-binary) and Y (nan): counted once
    assert reasons == {"nan": 1, "inf": 1}
    without_huge_check, _ = validate_rows(
        raw.assign(w_cont=[1e12, 0, 0], A=1, Y=0.0), spec, range_multiple=None
    )
    assert len(without_huge_check) == 3


# ------------------------------------------------------- sampling rounds, on planted rows
class PlantedGenerator(Generator):
    """Returns rows from a fixed cycle: exercises the template without a real model."""

    name = "planted"

    def __init__(
        self,
        rows=(),
        n_jobs=1,
        random_state=0,
        max_sampling_rounds=10,
        max_sampling_seconds=None,
        range_multiple=10.0,
    ):
        self.rows = rows
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.max_sampling_rounds = max_sampling_rounds
        self.max_sampling_seconds = max_sampling_seconds
        self.range_multiple = range_multiple

    def _fit(self, data, roles):
        self.calls_ = []

    def _sample(self, n, seed, budget):
        budget.check()
        self.calls_.append(n)
        start = sum(self.calls_[:-1])
        return pd.DataFrame([self.rows[(start + i) % len(self.rows)] for i in range(n)], dtype=object)


VALID = {"w_bin": 1, "w_cat": "west", "w_cont": 0.1, "A": 1, "Y": 2.0}


def test_sample_resamples_in_rounds_and_counts_invalid_rows(table):
    rows = [VALID, {**VALID, "A": 3}, {**VALID, "w_cont": None}]
    gen = PlantedGenerator(rows).fit(table, ROLES, dataset="tiny")
    out = gen.sample(4, seed=1)
    assert len(out) == 4 and (out["A"] == 1).all()
    report = gen.sample_report_
    assert gen.calls_[0] == 4  # a first round asks for exactly n rows
    assert len(gen.calls_) == report["rounds"] > 1
    assert report["n_generated"] == sum(gen.calls_) == report["n_valid"] + report["n_invalid"]
    assert report["n_valid"] >= 4
    assert sum(report["invalid_reasons"].values()) == report["n_invalid"]
    assert set(report["invalid_reasons"]) == {"non_binary", "missing_column"}


def test_sample_empties_the_sampling_statistics_a_generator_adds_to(table):
    # the template owns sampling_stats_: empty after fit, emptied by every sample, added to by _sample
    class Counting(PlantedGenerator):
        def _sample(self, n, seed, budget):
            self.sampling_stats_["rows"] += n
            return super()._sample(n, seed, budget)

    assert dict(PlantedGenerator([VALID]).fit(table, ROLES).sampling_stats_) == {}
    gen = Counting([VALID]).fit(table, ROLES)
    gen.sample(3, seed=0)
    gen.sample(2, seed=0)
    assert dict(gen.sampling_stats_) == {"rows": 2}
    plain = PlantedGenerator([VALID]).fit(table, ROLES)
    plain.sample(3, seed=0)
    assert dict(plain.sampling_stats_) == {}


def test_too_few_valid_rows_is_a_failure_not_a_short_table(table):
    gen = PlantedGenerator([{**VALID, "w_cat": "mars"}], max_sampling_rounds=3).fit(
        table, ROLES, dataset="tiny"
    )
    with pytest.raises(
        ComponentFailure, match=r"generator 'planted' on dataset 'tiny'.*max_sampling_rounds=3.*0 valid of 5"
    ) as info:
        gen.sample(5, seed=0)
    assert info.value.report["rounds"] == 3
    assert info.value.report["invalid_reasons"] == {"unknown_category": info.value.report["n_generated"]}
    assert gen.calls_[1] <= 10 * 5  # oversampling is capped


def test_the_time_limit_stops_sampling(table):
    gen = PlantedGenerator([VALID], max_sampling_seconds=1e-9).fit(table, ROLES, dataset="tiny")
    with pytest.raises(ComponentFailure, match=r"max_sampling_seconds=1e-09 was reached"):
        gen.sample(3, seed=0)


def test_sample_needs_fit_and_a_positive_n(table):
    with pytest.raises(ComponentFailure, match="call fit before sample"):
        PlantedGenerator([VALID]).sample(3, seed=0)
    with pytest.raises(ConfigError, match="n must be a positive integer"):
        PlantedGenerator([VALID]).fit(table, ROLES).sample(0, seed=0)


# ---------------------------------------------------------------- global state is restored
def test_rng_isolation_and_thread_limits_restore_global_state():
    random.seed(11)
    np.random.seed(11)  # noqa: NPY002 -- checking that the global state survives
    torch.manual_seed(11)
    threads = torch.get_num_threads()
    with isolated_global_rng(5), limit_threads(1, torch_and_joblib=True):
        inside = (random.random(), np.random.rand(), torch.rand(1).item())  # noqa: NPY002
        assert torch.get_num_threads() == 1
    with isolated_global_rng(5):
        assert (random.random(), np.random.rand(), torch.rand(1).item()) == inside  # noqa: NPY002
    assert torch.get_num_threads() == threads
    assert random.random() == random.Random(11).random()
    assert np.random.rand() == np.random.RandomState(11).rand()  # noqa: NPY002
    assert torch.rand(1).item() == torch.rand(1, generator=torch.Generator().manual_seed(11)).item()


def test_foreach_adam_steps_as_torch_default_does_with_foreach_kernels():
    """TabularARGN trains under foreach_adam for speed: the updates must be the same numbers."""
    import torch

    def train(context):
        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
        x, y = torch.randn(64, 6), torch.randn(64, 1)
        with context:
            optimizers = [
                torch.optim.AdamW(net.parameters(), lr=1e-2),
                torch.optim.Adam(torch.nn.Linear(2, 2).parameters()),
            ]
            mine = torch.optim.Adam(torch.nn.Linear(2, 2).parameters(), foreach=False)
        for _ in range(25):
            optimizers[0].zero_grad()
            torch.nn.functional.mse_loss(net(x), y).backward()
            optimizers[0].step()
        return [o.defaults["foreach"] for o in (*optimizers, mine)], torch.cat(
            [p.flatten() for p in net.parameters()]
        )

    from contextlib import nullcontext

    plain_flags, plain = train(nullcontext())
    flags, fast = train(foreach_adam())
    assert plain_flags == [None, None, False]
    assert flags == [True, True, False]  # an optimizer that chose its implementation keeps it
    assert torch.equal(plain, fast)
    assert torch.optim.AdamW(torch.nn.Linear(2, 2).parameters()).defaults["foreach"] is None  # restored


# -------------------------------------------------------------------- the library models
@pytest.fixture(scope="module", params=sorted(FAST))
def fitted(request, table):
    gen = make_generator(request.param, FAST[request.param], random_state=3)
    assert gen.fit(table, ROLES, dataset="tiny") is gen
    return gen


def test_library_generator_samples_the_training_schema(fitted, table):
    out = fitted.sample(150, seed=7)
    assert_schema(out, table, 150)
    assert fitted.sample_report_["n_requested"] == 150
    assert fitted.sample_report_["n_valid"] >= 150
    assert fitted.device_ == "cpu"


def test_library_generator_is_deterministic_for_a_seed_on_cpu(fitted, table):
    random.seed(1)  # state a seeded sample must not depend on
    a = fitted.sample(40, seed=7)
    np.random.seed(2)  # noqa: NPY002
    torch.manual_seed(3)
    b = fitted.sample(40, seed=7)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(fitted.sample(40, seed=8))
    refit = make_generator(fitted.name, FAST[fitted.name], random_state=3).fit(table, ROLES, dataset="tiny")
    pd.testing.assert_frame_equal(refit.sample(40, seed=7), a)


def test_library_generator_leaves_global_random_state_alone(table):
    torch.manual_seed(4)
    expected = torch.rand(1, generator=torch.Generator().manual_seed(4)).item()
    make_generator("ctgan", FAST["ctgan"]).fit(table, ROLES).sample(10, seed=0)
    assert torch.rand(1).item() == expected


# ------------------------------------------------------------------ the workflow entry
def test_run_generate_writes_data_and_meta(tmp_path, table):
    write_parquet(table, tmp_path / "train.parquet")
    write_json({"dataset": "tiny", **ROLES.to_dict()}, tmp_path / "card.json")
    run_generate(
        tmp_path / "train.parquet",
        tmp_path / "card.json",
        "gaussian_copula",
        {"default_distribution": "norm"},
        n_rows=30,
        seed=12,
        n_jobs=1,
        out_data=tmp_path / "out" / "synthetic.parquet",
        out_meta=tmp_path / "out" / "meta.json",
        dataset="tiny",
    )
    synthetic = pd.read_parquet(tmp_path / "out" / "synthetic.parquet")
    assert_schema(synthetic, table, 30)
    meta = read_json(tmp_path / "out" / "meta.json")
    for key in ("params", "seed", "versions", "device", "fit_seconds", "sample_seconds", "n_requested"):
        assert key in meta
    assert meta["generator"] == "gaussian_copula" and meta["dataset"] == "tiny"
    assert meta["params"]["default_distribution"] == "norm" and meta["params"]["n_jobs"] == 1
    assert meta["n_requested"] == 30 and meta["n_valid"] + meta["n_invalid"] == meta["n_generated"]
    assert meta["invalid_reasons"] == {} and meta["device"] == "cpu" and meta["seed"] == 12
    assert {"sdv", "numpy", "causalsynth"} <= set(meta["versions"])
    assert math.isfinite(meta["fit_seconds"]) and meta["fit_info"]["distributions"]["w_cont"] == "norm"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["meta.json", "synthetic.parquet"]


def test_one_job_writes_the_replicates_one_job_per_replicate_would(tmp_path, table):
    from causalsynth.core.cells import RepCell
    from causalsynth.core.layout import synthetic_files
    from causalsynth.generate import run_generate_reps

    draws = {}
    for rep in (1, 2):  # each replicate its own draw of the data
        folder = tmp_path / f"data{rep}"
        write_parquet(
            table.sample(frac=0.9, random_state=rep).reset_index(drop=True), folder / "train.parquet"
        )
        write_json({"dataset": "tiny", **ROLES.to_dict()}, folder / "card.json")
        draws[rep] = (str(folder / "train.parquet"), str(folder / "card.json"))
    params = {"default_distribution": "norm"}
    run_generate_reps(
        tmp_path / "job", [RepCell("gaussian_copula", 1, 31), {"generator": "gaussian_copula", "rep": 2, "seed": 32}],
        {r: d[0] for r, d in draws.items()}, {r: d[1] for r, d in draws.items()},
        "gaussian_copula", params, 30, 1, "tiny",
    )  # fmt: skip
    for rep, seed in ((1, 31), (2, 32)):
        alone = tmp_path / f"alone{rep}"
        run_generate(*draws[rep], "gaussian_copula", params, 30, seed, 1, alone / "s.parquet", alone / "m.json",
                     "tiny", rep=rep)  # fmt: skip
        data, meta = synthetic_files(tmp_path / "job", rep)
        pd.testing.assert_frame_equal(pd.read_parquet(data), pd.read_parquet(alone / "s.parquet"))
        assert (
            read_json(meta)["seed"] == seed
            and read_json(meta)["fit_info"] == read_json(alone / "m.json")["fit_info"]
        )
    with pytest.raises(ConfigError, match=r"cell 1 \(gaussian_copula, rep 2\) has no seed"):
        run_generate_reps(
            tmp_path / "x", [RepCell("gaussian_copula", 1, 31), RepCell("gaussian_copula", 2)], draws[1][0],
            draws[1][1], "gaussian_copula", {}, 30, 1, "t",
        )  # fmt: skip
    with pytest.raises(ConfigError, match="no replicate records"):
        run_generate_reps(tmp_path / "x", [], draws[1][0], draws[1][1], "gaussian_copula", {}, 30, 1, "t")


def test_run_generate_refuses_params_the_workflow_sets(tmp_path):
    with pytest.raises(ConfigError, match="n_jobs is set by the workflow"):
        run_generate("t", "c", "ctgan", {"n_jobs": 4}, 10, 0, 1, "o", "m", "d")


def test_package_versions_mark_missing_distributions():
    versions = package_versions((*CORE_PACKAGES, "sdv", "no-such-distribution"))
    assert versions["sdv"] and versions["numpy"] == np.__version__
    assert versions["no-such-distribution"] is None


def test_fits_with_two_threads_are_bitwise_identical_and_equal_one_thread():
    """The job's numbers must not follow the thread schedule (issue: a resumed run differed).

    ctgan's data transformer encodes one continuous column per joblib worker from 500 rows
    on, each drawing from one global random state: in two threads the rows changed from fit
    to fit.
    """
    rng = np.random.default_rng(1)
    n = 600
    wide = pd.DataFrame({f"w{j}": rng.normal(size=n) * (j + 1) for j in range(6)})
    wide["A"] = rng.integers(0, 2, n)
    wide["Y"] = wide["w0"] + wide["A"] + rng.normal(size=n)
    roles = Roles(
        treatment="A",
        outcome="Y",
        outcome_type="continuous",
        covariates={f"w{j}": "continuous" for j in range(6)},
    )
    params = {"epochs": 1, "batch_size": 100, "device": "cpu"}

    def draw(threads: int) -> pd.DataFrame:
        gen = make_generator("tvae", params, n_jobs=threads, random_state=5)
        return gen.fit(wide, roles, dataset="wide").sample(50, seed=9)

    first = draw(2)
    for _ in range(2):
        pd.testing.assert_frame_equal(draw(2), first, check_exact=True)
    pd.testing.assert_frame_equal(draw(1), first, check_exact=True)
