"""The paper grid's cost projected from a measured slice: Snakemake's dry-run and rule-graph
output read back, benchmark records matched to the grid's jobs, and the projection's sums."""

from __future__ import annotations

import pandas as pd
import pytest

from causalsynth.report.cost import (
    Job,
    benchmark_patterns,
    parse_dry_run,
    parse_rulegraph,
    project,
    read_records,
    with_replicates,
    work_units,
)

DRY_RUN = """
Building DAG of jobs...
[Sun Dec  6 17:59:46 2026]
rule generate:
    input: results/data/sim_paper/rep1/train.parquet
    output: results/synthetic/sim_paper/great/rep1/synthetic.parquet
    jobid: 7
    wildcards: dataset=sim_paper, generator=great, rep=1
    priority: 1.24
    resources: tmpdir=/tmp, runtime=240, gpu=1, mem_mb=8000, mem=8 GB, mem_mib=7630
Shell command: None

[Sun Dec  6 17:59:46 2026]
rule engine:
    output: results/engine/sim_paper/truth/n1000.parquet
    jobid: 9
    wildcards: dataset=sim_paper, engine=truth, n=1000
    threads: 2
    resources: tmpdir=/tmp, runtime=60, mem_mb=4000
Shell command: None

[Sun Dec  6 17:59:47 2026]
localrule collect_tables:
    input: results/estimates/sim_paper/real/rep1.parquet
    jobid: 1
    resources: tmpdir=/tmp, runtime=10
Shell command: None
Job stats:
job      count
"""

RULEGRAPH = """digraph snakemake_dag {
	0[label = "all", color = "0.00 0.6 0.85", style="rounded"];
	1[label = "evaluate_synthetic", color = "0.1 0.6 0.85", style="rounded"];
	2[label = "generate", color = "0.2 0.6 0.85", style="rounded"];
	3[label = "prepare_dataset", color = "0.3 0.6 0.85", style="rounded"];
	4[label = "engine", color = "0.4 0.6 0.85", style="rounded"];
	5[label = "pairing", color = "0.5 0.6 0.85", style="rounded"];
	1 -> 0
	4 -> 0
	5 -> 0
	2 -> 1
	3 -> 2
	3 -> 4
	3 -> 5
}"""


def test_dry_run_jobs_keep_wildcards_threads_and_gpus():
    jobs = parse_dry_run(DRY_RUN)
    assert [j.rule for j in jobs] == ["generate", "engine", "collect_tables"]
    assert (
        jobs[0].wildcards == {"dataset": "sim_paper", "generator": "great", "rep": "1"} and jobs[0].gpu == 1
    )
    assert (
        jobs[1].threads == 2
        and jobs[1].gpu == 0
        and jobs[1].key == ("engine", (("engine", "truth"), ("n", "1000")))
    )
    assert jobs[2].wildcards == {} and jobs[2].threads == 1


def test_the_rule_graph_reads_back():
    graph = parse_rulegraph(RULEGRAPH)
    assert graph["all"] == {"evaluate_synthetic", "engine", "pairing"}
    assert graph["generate"] == {"prepare_dataset"} and graph["prepare_dataset"] == set()


def test_benchmark_paths_name_their_job(tmp_path):
    smk = tmp_path / "rules.smk"
    smk.write_text(
        'rule generate:\n    log:\n        "x.log"\n    benchmark:\n'
        '        "results/benchmarks/generate/{dataset}/{generator}/rep{rep}.tsv"\n    threads: 1\n\n\n'
        "rule prepare_llm:\n    benchmark:\n        f\"results/benchmarks/prepare_llm/{config['llm']['name']}.tsv\"\n"
    )
    patterns = benchmark_patterns([smk])
    assert set(patterns) == {"generate", "prepare_llm"}
    bench = tmp_path / "results" / "benchmarks" / "generate" / "sim_paper" / "ctgan"
    bench.mkdir(parents=True)
    (bench / "rep1.tsv").write_text(
        "s\th:m:s\tmax_rss\tcpu_time\n10.0\t0:00:10\t500\t8.0\n12.0\t0:00:12\t-\t9.0\n"
    )
    llm = tmp_path / "results" / "benchmarks" / "prepare_llm"
    llm.mkdir(parents=True)
    (llm / "smollm2.tsv").write_text("s\th:m:s\tmax_rss\tcpu_time\n3.0\t0:00:03\t100\t2.0\n")
    records = read_records(tmp_path, patterns)
    row = records[records["rule"] == "generate"].iloc[0]
    assert row["wildcards"] == {"dataset": "sim_paper", "generator": "ctgan", "rep": "1"}
    assert row["s"] == pytest.approx(11.0) and row["cpu_time"] == pytest.approx(8.5) and row["max_rss"] == 500
    (tmp_path / "results" / "benchmarks" / "unknown.tsv").write_text("s\tcpu_time\tmax_rss\n1\t1\t1\n")
    with pytest.raises(ValueError, match="unknown.tsv: no rule's benchmark pattern"):
        read_records(tmp_path, patterns)


def _jobs(datasets, reps, with_great):
    jobs = []
    for d in datasets:
        gens = ["ctgan", "great"] if with_great else ["ctgan"]
        # one generate job holds every replicate of its generator
        jobs += [
            Job("generate", {"dataset": d, "generator": g}, gpu=int(g == "great"), sets=reps) for g in gens
        ]
        for r in range(1, reps + 1):
            jobs.append(Job("prepare_dataset", {"dataset": d, "rep": str(r)}))
            jobs.append(Job("pairing", {"dataset": d, "hybrid": "hybrid_ctgan", "rep": str(r)}))
        jobs.append(Job("evaluate_synthetic", {"dataset": d}))
        jobs += [
            Job("engine", {"dataset": d, "engine": e, "n": n}, threads=2)
            for e in ["truth"] + (["hybrid_great"] if with_great else [])
            for n in ("500", "1000")
        ]
    return jobs


def _records():
    def rec(rule, wildcards, s, cpu, rss):
        return {"rule": rule, "wildcards": wildcards, "s": s, "cpu_time": cpu, "max_rss": rss}

    return pd.DataFrame(
        [
            rec("generate", {"dataset": "sim_paper", "generator": "ctgan"}, 100.0, 90.0, 800.0),
            rec("evaluate_synthetic", {"dataset": "sim_paper"}, 50.0, 45.0, 1500.0),
            rec("engine", {"dataset": "sim_paper", "engine": "truth", "n": "1000"}, 200.0, 380.0, 900.0),
            rec("engine", {"dataset": "sim_paper", "engine": "truth", "n": "500"}, 80.0, 150.0, 700.0),
        ]
    )


def test_the_projection_scales_the_measured_slice_to_the_grid():
    measured = _jobs(["sim_paper"], 1, with_great=False)
    grid = _jobs(["sim_paper", "acic16"], 3, with_great=True)
    # a job per dataset reads every base set of it
    assert work_units(Job("evaluate_synthetic", {"dataset": "acic16"}), grid) == 6
    p = project(grid, measured, _records(), parse_rulegraph(RULEGRAPH), gpu_seconds=lambda job: 396.0)
    rules = p.by_rule().set_index("rule")
    # two CTGAN jobs of three fits each at the measured 100 s (90 CPU s) a fit; two GReaT jobs
    # of three fits on the GPU model
    assert work_units(Job("generate", {"dataset": "acic16", "generator": "ctgan"}, sets=3), grid) == 3
    # the dry run does not print a job's replicates: they come from the config's plan
    filled = with_replicates(
        [Job("generate", {"generator": "ctgan"}), Job("pairing", {})], lambda g: [1, 2, 3]
    )
    assert [j.sets for j in filled] == [3, 1]
    assert rules.loc["generate", "jobs"] == 4 and rules.loc["generate", "gpu_model"] == 2
    assert rules.loc["generate", "core_hours"] == pytest.approx(6 * 90 / 3600)
    assert rules.loc["generate", "gpu_hours"] == pytest.approx(6 * 396 / 3600)
    # evaluate_synthetic reads every set of its dataset (3 replicates of 2 generators): 300 s each
    assert rules.loc["evaluate_synthetic", "stand_in"] == 0
    assert rules.loc["evaluate_synthetic", "reserved_core_hours"] == pytest.approx(2 * 300 / 3600)
    # the engine: 2 threads reserved per job, both datasets costing what the measured one did;
    # hybrid GReaT's engine, never measured, stands in with the measured engine at the same n
    assert rules.loc["engine", "jobs"] == 8 and rules.loc["engine", "stand_in"] == 4
    assert rules.loc["engine", "reserved_core_hours"] == pytest.approx(2 * 2 * 2 * (200 + 80) / 3600)
    assert rules.loc["engine", "peak_rss_gib"] == pytest.approx(900 / 1024)
    # a rule without benchmark records is counted, not guessed
    assert rules.loc["pairing", "no_record"] == 6 and rules.loc["pairing", "core_hours"] == 0
    assert p.measured_datasets == ["sim_paper"]
    assert p.gpu_hours == pytest.approx(6 * 396 / 3600)
    # the critical path: prepare_dataset (no record) -> generate (3 x 396 s on the GPU) -> evaluate_synthetic (300 s)
    assert p.critical_path_hours() == pytest.approx((3 * 396 + 300) / 3600)
    cpu_work = (6 * 100 + 2 * 300 + 8 * (200 + 80)) / 3600
    lower, upper = p.wall_hours(cores=4, gpus=1)
    assert lower == pytest.approx(max(cpu_work / 4, 6 * 396 / 3600, 3 * 396 / 3600))
    assert upper == pytest.approx(max(cpu_work / 4, 6 * 396 / 3600) + (3 * 396 + 300) / 3600)
    assert p.wall_hours(cores=4, gpus=0)[0] == float("inf")
