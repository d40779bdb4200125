"""Sets causalsynth did not make, end to end: a vendor's files (``type: file``) and a generator of
one's own loaded by import path (tests/plugins/toy_generator.py) go through the tiny run like a
generated set: DCR filter, privacy attacks, fidelity, the estimator grid, and a hybrid on each."""

import hashlib
import json
import os
import re

import pytest
import yaml

from causalsynth.data import get_dataset

from .conftest import ROOT, TINY, copy_workflow, read_tables, snakemake

pytestmark = [pytest.mark.workflow, pytest.mark.slow]

TOY = "tests.plugins.toy_generator:ToyGenerator"
VENDOR_ROWS = 400  # more than the run's synthetic_rows (300): the job subsamples them
RATE = ("--max-jobs-per-timespan", "100/1s")  # see external_run


def vendor_set(rep: int):
    """The vendor's release for a replicate: fresh draws of sim_paper's RCT, its own column name."""
    rows = get_dataset("sim_paper").sample(VENDOR_ROWS, seed=1000 + rep, design="rct")
    return rows.rename(columns={"A": "treated"})


@pytest.fixture(scope="module")
def external_run(tmp_path_factory):
    root = copy_workflow(tmp_path_factory.mktemp("external"))
    config = yaml.safe_load((ROOT / TINY).read_text())
    config["datasets"] = {"sim_paper": config["datasets"]["sim_paper"]}
    config["generators"] = {
        "vendor": {
            "type": "file",
            "path": "synthetic/{dataset}_rep{rep}.csv",
            "columns": {"treated": "A"},
            "datasets": ["sim_paper"],
        },
        "toy": {"type": TOY, "noise": 1.0},
    }
    config["hybrid"]["bases"] = ["vendor", "toy", "real"]
    config["pairing"]["pool"] = "hybrid_vendor"
    config["inferential_utility"]["generators"] = ["vendor", "toy"]
    (root / "external.yaml").write_text(yaml.safe_dump(config))
    (root / "synthetic").mkdir()
    for rep in (1, 2):
        vendor_set(rep).to_csv(root / f"synthetic/sim_paper_rep{rep}.csv", index=False)
    # the plug-in is imported by the Snakemake process and by its jobs: on PYTHONPATH, as a user's is
    paths = [str(ROOT / "src"), str(root), os.environ.get("PYTHONPATH", "")]
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    try:
        # Snakemake's own rate (100/1s), not the profile's 100000/1d: each scheduling pass of a
        # real run arms a non-daemon threading.Timer of the timespan, and the process waits for
        # them at exit, so under the profile's day-long span a finished run does not exit
        snakemake("--cores", "2", "--configfile", "external.yaml", *RATE, cwd=root)
        edited = snakemake("-n", "--configfile", "external.yaml", cwd=root, check=False)
        (root / "synthetic/sim_paper_rep1.csv").write_text(
            vendor_set(3).to_csv(index=False)  # the vendor re-releases replicate 1
        )
        rerun = snakemake("-n", "--configfile", "external.yaml", cwd=root)
    finally:
        os.environ["PYTHONPATH"] = paths[2]
    return root, edited, rerun


GENERATED = ["vendor", "toy"]
HYBRIDS = ["hybrid_vendor", "hybrid_toy"]


def test_external_sets_reach_every_table_with_ok_statuses(external_run):
    root, _, _ = external_run
    tables = read_tables(root)
    ate = tables["ate_preservation"]
    for g in GENERATED + HYBRIDS:
        rows = ate[ate["generator"] == g]
        assert sorted(rows["rep"].unique()) == [1, 2], g
        assert (rows["status"] == "ok").all(), rows.loc[rows["status"] != "ok", "status"].tolist()
    dcr = tables["dcr"]
    assert set(zip(dcr["generator"], dcr["rep"], strict=True)) >= {(g, r) for g in GENERATED for r in (1, 2)}
    privacy = tables["privacy"]
    sets = set(zip(privacy["generator"], privacy["set"], strict=True))
    assert {(g, s) for g in GENERATED for s in ("unfiltered", "filtered")} | {
        (h, "filtered") for h in HYBRIDS
    } <= sets
    ours = privacy[privacy["generator"].isin(GENERATED + HYBRIDS)]
    assert (ours["status"] == "ok").all() and ours["value"].notna().all()
    fid = tables["fidelity"]
    for g in GENERATED + HYBRIDS:
        rows = fid[fid["generator"] == g]
        assert sorted(rows["rep"].unique()) == [1, 2], g
        assert (rows["status"] == "ok").mean() > 0.9, rows.loc[rows["status"] != "ok", ["metric", "status"]]
    assert (root / "results/findings.md").exists()


def test_the_vendors_file_is_recorded_and_is_an_input_of_its_job(external_run):
    root, unchanged, rerun = external_run
    meta = json.loads((root / "results/synthetic/sim_paper/vendor/rep2/meta.json").read_text())
    path = root / "synthetic/sim_paper_rep2.csv"
    assert meta["source"]["path"] == "synthetic/sim_paper_rep2.csv"
    assert meta["source"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (meta["source"]["rows"], meta["n_requested"], meta["n_valid"]) == (VENDOR_ROWS, 300, 300)
    assert meta["fit_seed"] is None and meta["type"] == "file"
    toy = json.loads((root / "results/synthetic/sim_paper/toy/rep1/meta.json").read_text())
    assert toy["type"] == TOY and toy["params"]["noise"] == 1.0
    assert "Nothing to be done" in unchanged.stdout + unchanged.stderr
    # editing the vendor's replicate-1 file reruns its generate job, which reads every replicate's
    # file (and what follows from it), and no other generator's
    out = rerun.stdout + rerun.stderr
    generate_jobs = re.findall(r"^rule generate:\n(?:.*\n)*?\s+wildcards: (.*)$", out, re.M)
    assert generate_jobs == ["dataset=sim_paper, generator=vendor"]
    assert re.search(r"updated input files:\n\s+generate$", out, re.M)
