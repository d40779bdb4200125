"""The cost of a grid projected from a measured slice of it: Snakemake's per-job benchmark
records of the slice, mapped onto the jobs of the whole grid (`benchmarks/paper_scale.py`).

A grid job costs what the measured job of the same rule and the same cost-bearing wildcards
(the generator, the engine, the sample size n; not the dataset or the replicate) cost, per
unit of work: a job that makes every replicate of a generator (`generate`, `dcr_filter`) does
as many units as the replicates, one that reads every set of a dataset (`hybrid`,
`evaluate_synthetic`, `fidelity`, `privacy_attacks`, `inferential_utility`) as many as the
dataset has base sets. A grid job with no measured counterpart takes, in order: the GPU model
(`gpu_seconds`) if it asks for a GPU; the mean of its rule's measured jobs that share most of
its cost-bearing wildcards (a stand-in, counted: hybrid GReaT's engine at n = 1,000 costs what
the measured engines at n = 1,000 do); nothing, if its rule has no record at all (counted and named: such rules carry no
`benchmark:`). A dataset that was not measured costs what the measured ones do, job for job:
the output says which datasets were measured.

Wall time on a cluster of `cores` cores and `gpus` GPUs lies between the larger of the work
per core, the GPU work per GPU and the longest job, and Graham's bound for any greedy
scheduler: the work per core plus the critical path, here bounded by the longest chain of the
rule graph with each rule's longest job.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

# wildcards a job's cost depends on, besides its dataset and replicate
COST_WILDCARDS = ("generator", "hybrid", "engine", "n")
# rules whose jobs read every set of a dataset: their work grows with the sets they read, which
# a measured slice of one replicate lacks
PER_DATASET_RULES = ("hybrid", "evaluate_synthetic", "fidelity", "privacy_attacks", "inferential_utility")
# rules whose job holds every replicate of one generator: as many units as the replicates
REPLICATE_RULES = ("generate", "dcr_filter")
# the jobs that make the base sets: a dataset's sets are counted by them (the hybrid job makes a
# pool per base set, and one for the oracle, in one job per dataset)
SET_RULES = ("generate",)


@dataclass(frozen=True)
class Job:
    rule: str
    wildcards: dict[str, str] = field(default_factory=dict)
    threads: int = 1
    gpu: int = 0
    sets: int = 1  # the replicates a job of a REPLICATE_RULES rule holds (with_replicates)

    @property
    def dataset(self) -> str | None:
        return self.wildcards.get("dataset")

    @property
    def key(self) -> tuple[str, tuple[tuple[str, str], ...]]:
        return self.rule, tuple((k, self.wildcards[k]) for k in COST_WILDCARDS if k in self.wildcards)


# ----------------------------------------------------------------------------- Snakemake's output


def parse_dry_run(text: str) -> list[Job]:
    """The jobs of `snakemake -n` output: each block from `rule X:` (or `localrule X:`) with its
    `wildcards:`, `threads:` and `resources:` lines (threads 1 and no GPU where not printed)."""
    jobs, current = [], None
    for line in text.splitlines():
        head = re.match(r"^(?:local)?rule (\w+):\s*$", line)
        if head:
            if current is not None:
                jobs.append(Job(**current))
            current = {"rule": head.group(1), "wildcards": {}, "threads": 1, "gpu": 0}
            continue
        if current is None:
            continue
        item = re.match(r"^\s+(wildcards|threads|resources):\s*(.*)$", line)
        if item is None:
            if not line.strip() or not line.startswith((" ", "\t")):
                jobs.append(Job(**current))
                current = None
            continue
        name, value = item.groups()
        if name == "wildcards":
            current["wildcards"] = dict(p.split("=", 1) for p in value.split(", ") if "=" in p)
        elif name == "threads":
            current["threads"] = int(value)
        else:
            gpu = re.search(r"(?:^|, )gpu=(\d+)", value)
            current["gpu"] = int(gpu.group(1)) if gpu else 0
    if current is not None:
        jobs.append(Job(**current))
    return jobs


def parse_rulegraph(text: str) -> dict[str, set[str]]:
    """rule -> the rules it waits on, from `snakemake --rulegraph` (DOT)."""
    names = dict(re.findall(r'^\s*(\d+)\[label = "(\w+)"', text, flags=re.M))
    deps: dict[str, set[str]] = {n: set() for n in names.values()}
    for a, b in re.findall(r"^\s*(\d+) -> (\d+)", text, flags=re.M):
        deps[names[b]].add(names[a])
    return deps


def benchmark_patterns(rule_files: Iterable[str | Path]) -> dict[str, re.Pattern]:
    """rule -> a regex of its `benchmark:` path, wildcards as named groups, from the rule files
    (`{name}` a wildcard, any other `{...}` an f-string's value)."""
    patterns = {}
    for path in rule_files:
        text = Path(path).read_text()
        for rule, body in re.findall(r"^rule (\w+):\n((?:[ \t]+.*\n|\n)*)", text, flags=re.M):
            found = re.search(r"benchmark:\s*\n\s*f?\"([^\"]+)\"", body)
            if found:
                patterns[rule] = _path_regex(found.group(1))
    return patterns


def _path_regex(template: str) -> re.Pattern:
    out, pos = [], 0
    for m in re.finditer(r"\{([^{}]+)\}", template):
        out.append(re.escape(template[pos : m.start()]))
        inner = m.group(1)
        out.append(f"(?P<{inner}>[^/]+)" if re.fullmatch(r"\w+", inner) else "[^/]+")
        pos = m.end()
    out.append(re.escape(template[pos:]))
    return re.compile("^" + "".join(out) + "$")


def read_records(root: str | Path, patterns: dict[str, re.Pattern]) -> pd.DataFrame:
    """One row per benchmark file under `root` (a run's directory): the job (rule, wildcards)
    its path names, wall seconds `s`, CPU seconds `cpu_time` and peak resident MB `max_rss`;
    repeats are averaged. A file no rule's pattern matches is an error naming it."""
    rows = []
    root = Path(root)
    for tsv in sorted((root / "results" / "benchmarks").rglob("*.tsv")):
        rel = tsv.relative_to(root).as_posix()
        match = next(((r, p.match(rel)) for r, p in patterns.items() if p.match(rel)), None)
        if match is None:
            raise ValueError(f"{rel}: no rule's benchmark pattern matches this file")
        rule, m = match
        bench = pd.read_csv(tsv, sep="\t", na_values=["-", "NA", ""])
        rows.append(
            {
                "rule": rule,
                "wildcards": m.groupdict(),
                "s": float(pd.to_numeric(bench["s"], errors="coerce").mean()),
                "cpu_time": float(pd.to_numeric(bench["cpu_time"], errors="coerce").mean()),
                "max_rss": float(pd.to_numeric(bench["max_rss"], errors="coerce").mean()),
            }
        )
    return pd.DataFrame(rows, columns=["rule", "wildcards", "s", "cpu_time", "max_rss"])


# ----------------------------------------------------------------------------- the projection


def with_replicates(jobs: list[Job], reps_for: Callable[[str], list[int]]) -> list[Job]:
    """The jobs with ``sets`` filled for the REPLICATE_RULES rules, from the config's replicates
    of each generator (``Plan.reps_for``): Snakemake's dry run does not print them."""
    return [
        replace(j, sets=len(reps_for(j.wildcards["generator"]))) if j.rule in REPLICATE_RULES else j
        for j in jobs
    ]


def work_units(job: Job, jobs: list[Job]) -> int:
    """How many sets a job makes or reads: its generator's replicates (a job of a
    REPLICATE_RULES rule), or the base sets of its dataset (a job that reads them all)."""
    if job.rule in REPLICATE_RULES:
        return job.sets
    if job.rule in PER_DATASET_RULES:
        return max(1, sum(j.sets for j in jobs if j.rule in SET_RULES and j.dataset == job.dataset))
    return 1


@dataclass
class Projection:
    jobs: pd.DataFrame  # one row per grid job: rule, dataset, source, seconds, cpu, rss, threads, gpu
    measured_datasets: list[str]
    rule_graph: dict[str, set[str]]

    def by_rule(self) -> pd.DataFrame:
        j = self.jobs
        out = j.groupby("rule").agg(
            jobs=("rule", "size"),
            measured=("source", lambda s: int((s == "measured").sum())),
            stand_in=("source", lambda s: int((s == "stand-in").sum())),
            gpu_model=("source", lambda s: int((s == "gpu model").sum())),
            no_record=("source", lambda s: int((s == "no record").sum())),
            core_hours=("cpu", lambda s: s.sum() / 3600),
            reserved_core_hours=("reserved", lambda s: s.sum() / 3600),
            gpu_hours=("gpu_seconds", lambda s: s.sum() / 3600),
            longest_job_min=("seconds", lambda s: s.max() / 60),
            peak_rss_gib=("rss", lambda s: s.max() / 1024),
        )
        return out.sort_values("reserved_core_hours", ascending=False).reset_index()

    @property
    def core_hours(self) -> float:
        return float(self.jobs["cpu"].sum() / 3600)

    @property
    def reserved_core_hours(self) -> float:
        return float(self.jobs["reserved"].sum() / 3600)

    @property
    def gpu_hours(self) -> float:
        return float(self.jobs["gpu_seconds"].sum() / 3600)

    def critical_path_hours(self) -> float:
        """The longest chain of the rule graph, each rule weighted by its longest job."""
        longest = self.jobs.groupby("rule")["seconds"].max().to_dict()
        memo: dict[str, float] = {}

        def finish(rule: str) -> float:
            if rule not in memo:
                before = max((finish(d) for d in self.rule_graph.get(rule, ())), default=0.0)
                memo[rule] = before + float(np.nan_to_num(longest.get(rule, 0.0)))
            return memo[rule]

        return max((finish(r) for r in self.rule_graph), default=0.0) / 3600

    def wall_hours(self, cores: int, gpus: int) -> tuple[float, float]:
        """(lower, upper) wall hours on `cores` cores and `gpus` GPUs."""
        cpu = self.jobs.loc[self.jobs["gpu"] == 0, "reserved"].sum() / 3600 / cores
        gpu = self.gpu_hours / gpus if gpus else (math.inf if self.gpu_hours else 0.0)
        longest = float(np.nan_to_num(self.jobs["seconds"].max())) / 3600
        lower = max(cpu, gpu, longest)
        return lower, max(cpu, gpu) + self.critical_path_hours()


def project(
    grid: list[Job],
    measured: list[Job],
    records: pd.DataFrame,
    rule_graph: dict[str, set[str]],
    gpu_seconds: Callable[[Job], float] | None = None,
) -> Projection:
    """Each grid job's projected wall seconds, CPU seconds, peak memory and GPU seconds
    (``gpu_seconds``: a GPU job's seconds per unit of work, one replicate)."""
    by_key: dict[tuple, list[dict]] = {}
    for rec in records.to_dict("records"):
        job = Job(rec["rule"], {k: v for k, v in rec["wildcards"].items() if v is not None})
        twin = next((m for m in measured if m.rule == job.rule and _same(m.wildcards, job.wildcards)), job)
        units = work_units(twin, measured)
        rec = {**rec, "dataset": job.dataset, "units": units, "threads": twin.threads}
        by_key.setdefault(job.key, []).append(rec)
    by_rule: dict[str, list[dict]] = {}
    for recs in by_key.values():
        by_rule.setdefault(recs[0]["rule"], []).extend(recs)
    rows = []
    for job in grid:
        units = work_units(job, grid)
        recs, source = by_key.get(job.key), "measured"
        if job.gpu and gpu_seconds is not None and not recs:
            sec = float(gpu_seconds(job)) * units
            rows.append(_row(job, "gpu model", sec, 0.0, math.nan, gpu_seconds=sec))
            continue
        if not recs:
            recs, source = _closest(by_rule.get(job.rule) or [], job), "stand-in"
        if not recs:
            rows.append(_row(job, "no record", math.nan, math.nan, math.nan))
            continue
        own = [r for r in recs if r["dataset"] == job.dataset] or recs
        per_unit_s = np.mean([r["s"] / r["units"] for r in own])
        per_unit_cpu = np.mean([r["cpu_time"] / r["units"] for r in own])
        rss = max(r["max_rss"] for r in own)
        rows.append(_row(job, source, per_unit_s * units, per_unit_cpu * units, rss))
    df = pd.DataFrame(rows)
    df["reserved"] = df["seconds"].fillna(0.0) * df["threads"]
    df["cpu"] = df["cpu"].fillna(0.0)
    datasets = sorted({r["dataset"] for recs in by_key.values() for r in recs if r["dataset"]})
    return Projection(df, datasets, rule_graph)


def _closest(recs: list[dict], job: Job) -> list[dict]:
    """A stand-in's records: the rule's measured jobs that share most of the job's cost-bearing
    wildcards (the engine at the same n, say), all of them when none shares any."""
    if not recs:
        return []

    def shared(rec: dict) -> int:
        return sum(rec["wildcards"].get(k) == v for k, v in job.key[1])

    best = max(shared(r) for r in recs)
    return [r for r in recs if shared(r) == best]


def _same(a: dict, b: dict) -> bool:
    return all(a.get(k) == v for k, v in b.items())


def _row(job: Job, source: str, seconds: float, cpu: float, rss: float, gpu_seconds: float = 0.0) -> dict:
    return {
        "rule": job.rule,
        "dataset": job.dataset,
        "source": source,
        "seconds": seconds,
        "cpu": cpu,
        "rss": rss,
        "threads": job.threads,
        "gpu": job.gpu,
        "gpu_seconds": gpu_seconds,
    }
