"""Replicates redraw the data: every job of replicate r reads replicate r's draw, and a
generator, its hybrid and the real-data estimates of one replicate read the same one."""

import re

import pytest

from .conftest import TINY, snakemake

pytestmark = pytest.mark.workflow

DATA = re.compile(r"results/data/(?P<dataset>[^/]+)/rep(?P<rep>\d+)/(?P<file>[a-z]+)\.")


def _dry_run_jobs(workdir):
    """(rule, wildcards, inputs) of every job of the tiny config with three replicates."""
    out = snakemake("-n", "--configfile", TINY, "--config", "replicates=3", cwd=workdir).stdout
    jobs = []
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", out):
        head = re.match(r"(?:local)?rule (\w+):", block)
        if not head:
            continue
        inputs = re.search(r"\n\s+input: (.*)", block)
        wildcards = re.search(r"\n\s+wildcards: (.*)", block)
        jobs.append(
            (
                head.group(1),
                dict(kv.split("=", 1) for kv in wildcards.group(1).split(", ")) if wildcards else {},
                inputs.group(1).split(", ") if inputs else [],
            )
        )
    return jobs


def test_each_replicate_reads_its_own_draw(workdir):
    jobs = _dry_run_jobs(workdir)
    per_rep = [j for j in jobs if "rep" in j[1] and j[0] != "engine"]
    assert {j[0] for j in per_rep} >= {"prepare_dataset", "estimate_real", "pairing", "positivity"}
    for rule, wc, inputs in per_rep:
        for path in inputs:
            m = DATA.search(path)
            if m:
                assert (m["dataset"], m["rep"]) == (wc["dataset"], wc["rep"]), (rule, wc, path)
    # one job per dataset scores a base's and its hybrid's replicates beside every replicate's
    # own real rows (the job pairs each set with its replicate's draw by the rule's cells; the
    # unit tests of run_synthetic_evaluation, run_hybrid_sets, run_generate_reps and
    # run_dcr_filter_reps check the pairing)
    evaluated = {}
    for rule, wc, inputs in jobs:
        if rule == "evaluate_synthetic":
            d = wc["dataset"]
            # the base is evaluated on its DCR-screened rows, the rows its hybrid starts from (in the
            # base's dcr_filter folder); the hybrids' pools lie in the dataset's hybrid folder
            assert f"results/privacy/{d}/tvae" in inputs and f"results/hybrid/{d}" in inputs
            assert not any(p.startswith("results/synthetic/") and p.endswith(".parquet") for p in inputs)
            evaluated[d] = [p for p in inputs if DATA.search(p) and DATA.search(p)["file"] == "train"]
    assert evaluated
    for dataset, trains in evaluated.items():
        assert trains == [f"results/data/{dataset}/rep{r}/train.parquet" for r in (1, 2, 3)]
