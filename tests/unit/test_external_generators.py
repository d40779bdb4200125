"""Sets made elsewhere: the ``file`` generator, and generator classes loaded by import path or entry point."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from causalsynth.config import Plan, load_config
from causalsynth.core.errors import ComponentFailure, ConfigError, DataError
from causalsynth.core.io import read_json, write_json, write_parquet
from causalsynth.core.runner import logged
from causalsynth.generate import FileGenerator, make_generator, run_generate
from causalsynth.generate.plugins import ENTRY_POINT_GROUP, generator_names, resolve_generator
from tests.plugins.toy_generator import ToyGenerator
from tests.unit.test_generators import ROLES, make_table

TOY = "tests.plugins.toy_generator"


@pytest.fixture
def job(tmp_path):
    """Run the generate job of dataset 'toy' on a 60-row training table; return (synthetic, meta)."""
    write_parquet(make_table(60), tmp_path / "train.parquet")
    write_json({"dataset": "toy", **ROLES.to_dict()}, tmp_path / "card.json")

    def run(params, n_rows=40, rep=1, generator="vendor", kind="file", seed=11):
        run_generate(
            tmp_path / "train.parquet",
            tmp_path / "card.json",
            generator,
            params,
            n_rows=n_rows,
            seed=seed,
            n_jobs=1,
            out_data=tmp_path / "out" / "synthetic.parquet",
            out_meta=tmp_path / "out" / "meta.json",
            dataset="toy",
            generator_type=kind,
            rep=rep,
        )
        return pd.read_parquet(tmp_path / "out" / "synthetic.parquet"), read_json(
            tmp_path / "out" / "meta.json"
        )

    return run


def released(n: int, seed: int) -> pd.DataFrame:
    """A vendor's set: rows of the training schema (levels among the training table's)."""
    return make_table(n, seed=seed)


# ------------------------------------------------------------------------- the file generator
@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_a_file_per_dataset_and_replicate_is_the_set_with_its_path_and_hash(tmp_path, job, suffix):
    for rep in (1, 2):
        table = released(40, seed=100 + rep)
        path = tmp_path / f"toy_rep{rep}.{suffix}"
        table.to_csv(path, index=False) if suffix == "csv" else table.to_parquet(path, index=False)
    synthetic, meta = job({"path": str(tmp_path / f"{{dataset}}_rep{{rep}}.{suffix}")}, rep=2)
    pd.testing.assert_frame_equal(synthetic, released(40, seed=102), check_exact=suffix == "parquet")
    assert synthetic.dtypes.astype(str).tolist() == ["int64", "object", "float64", "int64", "float64"]
    path = tmp_path / f"toy_rep2.{suffix}"
    assert meta["source"] == {
        "path": str(path),
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "format": suffix,
        "rows": 40,
        "columns": {},
        "rows_with_missing_dropped": 0,
    }
    assert (meta["generator"], meta["type"], meta["fit_seed"], meta["device"]) == (
        "vendor",
        "file",
        None,
        "cpu",
    )
    assert (meta["n_requested"], meta["n_generated"], meta["n_valid"], meta["n_invalid"]) == (40, 40, 40, 0)
    assert meta["params"]["path"].endswith(f"{{dataset}}_rep{{rep}}.{suffix}")
    assert meta["degenerate"] is None and meta["epsilon"] is None and meta["sample_seconds"] >= 0


def test_more_rows_than_asked_are_subsampled_with_the_jobs_seed_or_refused(tmp_path, job):
    released(100, seed=5).to_csv(tmp_path / "big.csv", index=False)
    synthetic, meta = job({"path": str(tmp_path / "big.csv")}, n_rows=40, seed=11)
    keep = np.sort(np.random.default_rng(meta["sample_seed"]).choice(100, size=40, replace=False))
    expected = pd.read_csv(tmp_path / "big.csv").iloc[keep].reset_index(drop=True)
    pd.testing.assert_frame_equal(synthetic, expected)
    assert (meta["n_requested"], meta["n_generated"], meta["n_valid"], meta["n_invalid"]) == (40, 100, 40, 0)
    again, _ = job({"path": str(tmp_path / "big.csv")}, n_rows=40, seed=11)
    pd.testing.assert_frame_equal(again, synthetic)
    other, _ = job({"path": str(tmp_path / "big.csv")}, n_rows=40, seed=12)
    assert not other.equals(synthetic)
    with pytest.raises(DataError, match=r"big.csv' \(generator 'vendor', dataset 'toy'\): has 100 usable rows, "
                       r"more than the 40 asked for \(n_rows\)\. Fix: set n_rows of generators/vendor to 100"):  # fmt: skip
        job({"path": str(tmp_path / "big.csv"), "extra_rows": "refuse"}, n_rows=40)


def test_fewer_rows_than_asked_are_all_used(tmp_path, job):
    released(30, seed=5).to_csv(tmp_path / "small.csv", index=False)
    synthetic, meta = job({"path": str(tmp_path / "small.csv")}, n_rows=40)
    pd.testing.assert_frame_equal(synthetic, pd.read_csv(tmp_path / "small.csv"))
    assert (meta["n_requested"], meta["n_valid"]) == (40, 30)


def test_a_column_map_renames_the_files_columns(tmp_path, job):
    table = released(40, seed=3)
    table.rename(columns={"A": "treated", "Y": "outcome"}).assign(vendor_id=range(40)).to_csv(
        tmp_path / "v.csv", index=False
    )
    columns = {"treated": "A", "outcome": "Y"}
    synthetic, meta = job({"path": str(tmp_path / "v.csv"), "columns": columns})
    pd.testing.assert_frame_equal(synthetic, table)
    assert meta["source"]["columns"] == columns
    with pytest.raises(
        DataError, match=r"column 'treatment': not in the file, but `columns` of generators/vendor maps it"
    ):
        job({"path": str(tmp_path / "v.csv"), "columns": {"treatment": "A"}})
    with pytest.raises(
        DataError, match=r"column 'vendor_id': `columns` maps it to 'id', which is not a column"
    ):
        job({"path": str(tmp_path / "v.csv"), "columns": {**columns, "vendor_id": "id"}})


def test_a_missing_replicate_file_is_named(tmp_path, job):
    released(40, seed=1).to_csv(tmp_path / "toy_rep1.csv", index=False)
    with pytest.raises(DataError) as err:
        job({"path": str(tmp_path / "{dataset}_rep{rep}.csv")}, rep=2)
    assert str(err.value) == (
        f"file '{tmp_path}/toy_rep2.csv' (generator 'vendor', dataset 'toy', replicate 2): the synthetic "
        "set is missing. Fix: write the file, or correct `path` of generators/vendor (a pattern may hold "
        "{dataset} and {rep})"
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda t: t.drop(columns="w_cont"),
            r"column 'w_cont': column not found .*Fix: add the column to the file, or map the file's name "
            r"for it with `columns: \{<its name>: <column>\}` in generators/vendor",
        ),
        (lambda t: t.assign(A=t["A"] + 1), r"column 'A': the treatment must be 0/1 but holds \['1', '2'\]"),
        (lambda t: t.assign(A=0), r"column 'A': all 40 rows have treatment 0: no treated \(1\) units"),
        (
            lambda t: t.assign(w_cont=t["w_cont"].where(t.index > 1)),
            r"column 'w_cont': 2 missing value\(s\)\. Fix: fill them in or drop those rows, or set "
            r"`missing: drop` in generators/vendor",
        ),
        (lambda t: t.assign(w_bin=t["w_bin"] * 2), r"column 'w_bin': declared binary but holds \['0', '2'\]"),
        (lambda t: t.assign(Y="high"), r"column 'Y': outcome column holds non-numeric text"),
    ],
    ids=["missing_column", "treatment_1_2", "one_arm", "missing_values", "binary_covariate", "text_outcome"],
)
def test_a_bad_file_gets_the_checks_of_real_data(tmp_path, job, change, message):
    change(released(40, seed=2)).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(
        DataError, match=rf"^file '.*bad.csv' \(generator 'vendor', dataset 'toy', replicate 1\), {message}"
    ):
        job({"path": str(tmp_path / "bad.csv")})


def test_missing_drop_and_unknown_levels_drop_and_count_rows(tmp_path, job):
    table = released(40, seed=4)
    table["w_cont"] = table["w_cont"].where(~table.index.isin([3, 7]))
    table.loc[[10, 11, 12], "w_cat"] = "east"
    table.to_csv(tmp_path / "holes.csv", index=False)
    synthetic, meta = job({"path": str(tmp_path / "holes.csv"), "missing": "drop"})
    kept = [i for i in range(40) if i not in (3, 7, 10, 11, 12)]
    expected = pd.read_csv(tmp_path / "holes.csv").iloc[kept].reset_index(drop=True)
    pd.testing.assert_frame_equal(synthetic, expected)
    assert meta["invalid_reasons"] == {"nan": 2, "unknown_category": 3}
    assert (meta["n_generated"], meta["n_invalid"], meta["n_valid"]) == (40, 5, 35)
    assert meta["source"]["rows_with_missing_dropped"] == 2


def test_a_file_that_is_neither_csv_nor_parquet_is_refused(tmp_path, job):
    (tmp_path / "set.xlsx").write_text("no")
    with pytest.raises(
        DataError, match=r"set.xlsx' .*: is neither CSV nor Parquet.*Fix: write the set as one of"
    ):
        job({"path": str(tmp_path / "set.xlsx")})
    (tmp_path / "broken.parquet").write_text("not parquet")
    with pytest.raises(DataError, match=r"broken.parquet' .*: cannot be read as parquet"):
        job({"path": str(tmp_path / "broken.parquet")})


def _config(generators, **extra):
    return {
        "datasets": {"sim_paper": {}},
        "generators": generators,
        "hybrid": {"bases": ["real"]},
        "pairing": {"pool": "hybrid_real"},
        "engine": {"engines": ["hybrid_real"]},
        **extra,
    }


def test_the_config_checks_a_file_entry_and_the_plan_gives_its_job_the_file():
    plan = Plan(
        load_config(_config({"vendor": {"type": "file", "path": "synthetic/{dataset}_rep{rep}.csv"}}))
    )
    cls = plan.generator_class("vendor")
    assert cls is FileGenerator and cls.mem_mb == 1000 and cls.gpus({}) == 0 and not cls.uses_llm
    params = plan.generator_params("vendor")
    assert params == {"path": "synthetic/{dataset}_rep{rep}.csv"}
    assert cls.input_files(params, "sim_paper", 2) == ["synthetic/sim_paper_rep2.csv"]
    with pytest.raises(ConfigError, match=r"generators/vendor': 'path' is a required property"):
        load_config(_config({"vendor": {"type": "file"}}))
    with pytest.raises(
        ConfigError, match=r"generators/vendor: path 'x_\{run\}.csv' has the placeholder\(s\) \['run'\]"
    ):
        load_config(_config({"vendor": {"type": "file", "path": "x_{run}.csv"}}))
    with pytest.raises(
        ConfigError, match=r"generators/vendor/missing': 'keep' is not one of \['error', 'drop'\]"
    ):
        load_config(_config({"vendor": {"type": "file", "path": "x.csv", "missing": "keep"}}))


# ------------------------------------------------------------------------------ plug-ins
def test_a_class_by_import_path_is_checked_and_runs_as_a_generator(job):
    kind = f"{TOY}:ToyGenerator"
    plan = Plan(load_config(_config({"toy": {"type": kind, "noise": 0.2}})))
    assert plan.generator_class("toy") is ToyGenerator and plan.generator_params("toy") == {"noise": 0.2}
    synthetic, meta = job({"noise": 0.2}, generator="toy", kind=kind)
    model = make_generator(kind, {"noise": 0.2}, n_jobs=1, random_state=meta["fit_seed"])
    model.fit(make_table(60), ROLES, dataset="toy")
    pd.testing.assert_frame_equal(synthetic, model.sample(40, seed=meta["sample_seed"]), check_exact=True)
    assert (meta["type"], meta["params"]) == (
        kind,
        {"noise": 0.2, "random_state": meta["fit_seed"], "n_jobs": 1},
    )
    assert meta["fit_info"] == {"rows_seen": 60} and meta["n_valid"] == 40
    train = make_table(60)
    assert set(map(tuple, synthetic[["w_bin", "w_cat", "A"]].to_numpy().tolist())) <= set(
        map(tuple, train[["w_bin", "w_cat", "A"]].to_numpy().tolist())
    )


@pytest.mark.parametrize(
    ("cls", "message"),
    [
        ("NoSampleGenerator", r"class NoSampleGenerator does not implement the method\(s\) _sample of the generator contract"),
        ("NoRunParamsGenerator", r"the constructor of class NoRunParamsGenerator takes no parameter\(s\) n_jobs, random_state"),
        ("NotAGenerator", r"class NotAGenerator does not subclass causalsynth.generate.Generator \(it has no method\(s\) _fit, _sample\)"),
        ("np", r"is not a class but module"),
        ("Missing", r"module 'tests.plugins.toy_generator' has no class 'Missing'. Fix: correct the name after ':'"),
        ("UnstoredGenerator", r"the constructor of UnstoredGenerator does not store its argument\(s\) noise"),
        ("RaisingInitGenerator", r"the constructor of RaisingInitGenerator raised ValueError: no GPU here"),
    ],
)  # fmt: skip
def test_a_class_that_breaks_the_contract_is_one_config_error(cls, message):
    with pytest.raises(
        ConfigError, match=rf"^generators/toy/type: .*{message}|^generator .*{message}"
    ) as err:
        load_config(_config({"toy": {"type": f"{TOY}:{cls}"}}))
    assert "\n" not in str(err.value)


def test_a_module_that_does_not_import_is_one_config_error():
    with pytest.raises(ConfigError) as err:
        load_config(_config({"toy": {"type": "no_such_package.gan:GAN"}}))
    assert str(err.value) == (
        "generators/toy/type: generator class 'no_such_package.gan:GAN': cannot import module "
        "'no_such_package.gan' (ModuleNotFoundError: No module named 'no_such_package'). Fix: install the "
        "package that holds it, or add its folder to PYTHONPATH"
    )


def test_an_installed_packages_entry_point_is_discovered_by_name(tmp_path, monkeypatch):
    dist = tmp_path / "toy_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\ntoy_installed = {TOY}:ToyGenerator\ntoy_broken = {TOY}:NoSampleGenerator\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert {"toy_installed", "toy_broken"} <= set(generator_names())
    plan = Plan(load_config(_config({"mine": {"type": "toy_installed", "noise": 0.3}})))
    assert plan.generator_class("mine") is ToyGenerator
    assert resolve_generator("toy_installed") is ToyGenerator
    with pytest.raises(ConfigError, match=r"generators/toy/type: generator 'toy_broken' \(entry point "
                       r"tests.plugins.toy_generator:NoSampleGenerator in group causalsynth.generators\): "
                       r"class NoSampleGenerator does not implement the method\(s\) _sample"):  # fmt: skip
        load_config(_config({"toy": {"type": "toy_broken"}}))


def test_a_plugin_that_raises_in_fit_is_that_generators_failure(tmp_path, job):
    kind = f"{TOY}:FailingGenerator"
    expected = (
        f"generator 'toy_bad' (plug-in {kind}) failed in fit on dataset 'toy': ValueError: the toy model "
        "diverged. Fix: the plug-in's code (its traceback is in this job's log)"
    )
    with pytest.raises(ComponentFailure) as err:
        job({}, generator="toy_bad", kind=kind)
    assert str(err.value) == expected
    # in a workflow job: the job's log and the terminal get that line, and the job exits 1
    log = tmp_path / "job.log"
    with pytest.raises(SystemExit) as stop, logged(log):
        job({}, generator="toy_bad", kind=kind)
    assert stop.value.code == 1
    text = log.read_text()
    assert text.splitlines()[-1] == f"causalsynth error: {expected}"
    assert "ValueError: the toy model diverged" in text  # the plug-in's traceback, for its author
