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
    assert {j[0] for j in per_rep} >= {"prepare_dataset", "generate", "dcr_filter", "hybrid", "estimate_real"}
    for rule, wc, inputs in per_rep:
        for path in inputs:
            m = DATA.search(path)
            if m:
                assert (m["dataset"], m["rep"]) == (wc["dataset"], wc["rep"]), (rule, wc, path)
    # one job per dataset scores a base's and its hybrid's replicates beside every replicate's
    # own real rows (the job pairs each set with its replicate's draw by the rule's cells)
    evaluated = {}
    for rule, wc, inputs in jobs:
        if rule == "evaluate_synthetic":
            d = wc["dataset"]
            for r in (1, 2, 3):
                # the base is evaluated on its DCR-screened rows, the rows its hybrid starts from
                assert f"results/privacy/{d}/tvae/rep{r}/filtered.parquet" in inputs
                assert f"results/hybrid/{d}/hybrid_tvae/rep{r}/pool.parquet" in inputs
            assert not any(p.startswith("results/synthetic/") and p.endswith(".parquet") for p in inputs)
            evaluated[d] = [p for p in inputs if DATA.search(p) and DATA.search(p)["file"] == "train"]
    assert evaluated
    for dataset, trains in evaluated.items():
        assert trains == [f"results/data/{dataset}/rep{r}/train.parquet" for r in (1, 2, 3)]
