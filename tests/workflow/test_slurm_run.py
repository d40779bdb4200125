"""The tiny config end to end on a real one-node SLURM cluster, through profiles/slurm.

tests/cluster/start_slurm.sh installs and starts the cluster (root and apt-get needed; skipped
with its reason where SLURM cannot run here). Two runs share the cluster: the tiny config, whose
jobs must all go through sbatch with the resources their rules declare and give the tables of a
local run, and tests/cluster/retry.smk, whose jobs fail on purpose to show how failures are
reported and retried. While they run, `scontrol show job` is read every two seconds, so every
job's own SLURM record is seen (a finished job stays listed for MinJobAge, 300 s).
"""

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from causalsynth.core.vocabulary import TABLES

from .conftest import ROOT, TINY, copy_workflow, read_tables

pytestmark = [pytest.mark.slurm, pytest.mark.workflow, pytest.mark.slow]

CLUSTER = ROOT / "tests" / "cluster"
PROFILE = ROOT / "profiles" / "slurm"
RETRIES = yaml.safe_load((PROFILE / "config.yaml").read_text())["retries"]
# What a one-node test cluster needs on top of profiles/slurm, each for a reason:
ONE_NODE = [
    # first status check after 5 s instead of 40: these jobs take seconds, a cluster's take hours
    "--slurm-init-seconds-before-status-checks",
    "5",
]
# A run whose log has not grown for this long hangs (the way a failing status command hangs
# silently); no job of the tiny config is silent for a minute, let alone five
STALL_SECONDS = 300
# Above anything a 2-core machine needs even when loaded; a hang is caught by the stall first
DEADLINE_SECONDS = 2400
LOCAL_RULES = {"all", "collect_tables", "figures", "paper_figures", "findings", "provenance"}


class Watch:
    """Snakemake runs on the cluster, with the SLURM record of every job they submit.

    Each run gets its own process group and log file; a background thread polls scontrol and
    kills a run (and cancels its jobs) once it stalls or passes the deadline."""

    def __init__(self):
        self.jobs: dict[str, dict[str, str]] = {}  # SLURM job id -> last `scontrol show job` fields
        self.runs: list[tuple[subprocess.Popen, Path]] = []
        self.killed: list[str] = []
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def start(self, cwd: Path, *args) -> int:
        log = cwd / "snakemake.out"
        cmd = [sys.executable, "-m", "snakemake", "--workflow-profile", str(PROFILE), *ONE_NODE, *args]
        with log.open("w") as out:
            proc = subprocess.Popen(
                cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, text=True
            )
        self.runs.append((proc, log))
        return len(self.runs) - 1

    def begin(self) -> None:
        self._thread.start()

    def wait(self) -> None:
        self._thread.join()

    def _snapshot(self) -> bool:
        """Record every job scontrol lists; True if a job appeared or changed state."""
        out = subprocess.run(["scontrol", "show", "job", "-o"], capture_output=True, text=True, timeout=30)
        changed = False
        for line in out.stdout.splitlines():
            fields = dict(re.findall(r"(\S+?)=(\S*)", line))
            if "JobId" in fields:
                old = self.jobs.get(fields["JobId"], {})
                changed |= old.get("JobState") != fields.get("JobState")
                self.jobs[fields["JobId"]] = fields
        return changed

    def _poll(self) -> None:
        # A run is stuck when neither its log nor any job on the cluster has changed for
        # STALL_SECONDS (a job waiting in the queue behind the other run's jobs is not stuck)
        start = last_change = time.monotonic()
        sizes = [-1] * len(self.runs)
        while True:
            now = time.monotonic()
            if self._snapshot():
                last_change = now
            running = [i for i, (proc, _) in enumerate(self.runs) if proc.poll() is None]
            if not running:
                return
            for i in running:
                proc, log = self.runs[i]
                if log.stat().st_size != sizes[i]:
                    sizes[i], last_change = log.stat().st_size, now
            for i in running:
                stalled = now - last_change > STALL_SECONDS
                if stalled or now - start > DEADLINE_SECONDS:
                    proc, log = self.runs[i]
                    why = (
                        f"nothing changed for {STALL_SECONDS} s" if stalled else f"past {DEADLINE_SECONDS} s"
                    )
                    self.killed.append(f"{log.parent.name}: {why}")
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    self._cancel(log)
            time.sleep(2)

    def _cancel(self, log: Path) -> None:
        """Cancel the unfinished SLURM jobs a killed run submitted (and only those)."""
        ours = {slurm_id for _, slurm_id in _submissions(log.read_text())}
        unfinished = [j for j in ours if self.jobs.get(j, {}).get("JobState") in ("PENDING", "RUNNING", None)]
        if unfinished:
            subprocess.run(["scancel", *unfinished], capture_output=True, timeout=30)


def _slurm_minutes(limit: str) -> float:
    """Minutes of a SLURM time limit written [D-]HH:MM:SS."""
    days, _, clock = limit.rpartition("-")
    h, m, s = (int(x) for x in clock.split(":"))
    return (int(days or 0) * 24 + h) * 60 + m + s / 60


def _slurm_mb(mem: str) -> int:
    """Megabytes of a SLURM memory size such as 4000M or 4G."""
    number, unit = float(mem[:-1]), mem[-1]
    return round(number * {"M": 1, "G": 1024, "T": 1024**2}[unit])


def _job_blocks(log: str) -> list[dict]:
    """The job blocks Snakemake prints as it starts each job: rule, job id, threads, resources."""
    blocks = []
    for m in re.finditer(r"^(local)?rule (\w+):\n((?:    .*\n)+)", log, re.M):
        body = m[3]
        resources = dict(re.findall(r"(\w+)=([^,\s]+)", re.search(r"resources: (.*)", body)[1]))
        threads = re.search(r"threads: (\d+)", body)
        blocks.append(
            {
                "local": bool(m[1]),
                "rule": m[2],
                "jobid": re.search(r"jobid: (\d+)", body)[1],
                "threads": int(threads[1]) if threads else 1,
                "mem_mb": resources.get("mem_mb"),
                "runtime": resources.get("runtime"),
            }
        )
    return blocks


def _submissions(log: str) -> list[tuple[str, str]]:
    """(Snakemake job id, SLURM job id) of every sbatch submission, in order."""
    return re.findall(r"Job (\d+) has been submitted with SLURM jobid (\d+)", log)


def cluster_wanted(markexpr: str) -> bool:
    """Whether this session may install and start SLURM: in CI (``CI=true``), or when the run
    asked for the cluster tests by marker (``-m slurm``). A user's plain ``python -m pytest``,
    as root, must not apt-install packages or start daemons on their machine."""
    return os.environ.get("CI", "").lower() in ("true", "1") or "slurm" in markexpr.replace("not slurm", "")


@pytest.fixture(scope="module")
def cluster(request):
    """The one-node cluster; stopped afterwards if this test started it."""
    if not cluster_wanted(request.config.getoption("markexpr") or ""):
        pytest.skip("SLURM tests install and start a cluster: run them with `-m slurm` (CI sets CI=true)")
    try:
        proc = subprocess.run([CLUSTER / "start_slurm.sh"], capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired:
        pytest.fail("tests/cluster/start_slurm.sh did not finish within 15 minutes")
    if proc.returncode == 2:
        pytest.skip((proc.stderr.strip().splitlines() or ["start_slurm.sh: SLURM cannot run here"])[-1])
    if proc.returncode != 0:
        pytest.fail(f"tests/cluster/start_slurm.sh failed:\n{proc.stdout}\n{proc.stderr}")
    yield
    if re.search(r"^start_slurm: started ", proc.stdout, re.M):
        subprocess.run([CLUSTER / "stop_slurm.sh"], capture_output=True, timeout=120, check=True)


@pytest.fixture(scope="module")
def slurm_runs(cluster, tmp_path_factory, request):
    tiny = copy_workflow(tmp_path_factory.mktemp("slurm_tiny"))
    retry = tmp_path_factory.mktemp("slurm_retry")
    watch = Watch()
    started = time.perf_counter()
    t = watch.start(tiny, "--configfile", TINY)
    r = watch.start(retry, "--snakefile", CLUSTER / "retry.smk")
    watch.begin()
    # The local run of the same config, while the cluster works (its jobs spend much of their
    # time waiting for the plugin's status checks); shared with test_tiny_run.py
    request.getfixturevalue("tiny_local_run")
    watch.wait()
    print(f"SLURM runs took {time.perf_counter() - started:.0f} s, local run included")
    assert not watch.killed, f"killed: {watch.killed}\n" + watch.runs[t][1].read_text()[-5000:]
    return watch, (tiny, watch.runs[t]), (retry, watch.runs[r])


def test_every_job_went_through_sbatch(slurm_runs):
    watch, (root, (proc, log)), _ = slurm_runs
    text = log.read_text()
    assert proc.returncode == 0, text[-8000:]
    assert re.search(r"^(\d+) of \1 steps \(100%\) done$", text, re.M)
    blocks = _job_blocks(text)
    remote = {b["jobid"]: b for b in blocks if not b["local"]}
    assert {b["rule"] for b in blocks if b["local"]} <= LOCAL_RULES
    assert {b["rule"] for b in remote.values()} == {
        "prepare_dataset", "generate", "dcr_filter", "hybrid",
        "estimate_real", "evaluate_synthetic", "engine", "engine_ranking", "pairing", "positivity",
        "privacy_attacks", "fidelity", "inferential_utility",
    }  # fmt: skip
    submitted = dict(_submissions(text))
    assert set(submitted) == set(remote)  # every remote job once, no retry needed
    assert len(set(submitted.values())) == len(submitted)
    for jobid, slurm_id in submitted.items():
        record = watch.jobs[slurm_id]
        assert record["JobState"] == "COMPLETED", record
        assert record["Comment"].startswith(f"rule_{remote[jobid]['rule']}"), record
        assert Path(record["WorkDir"]) == root


def test_requested_resources_reached_slurm(slurm_runs):
    watch, (_, (_, log)), _ = slurm_runs
    text = log.read_text()
    remote = {b["jobid"]: b for b in _job_blocks(text) if not b["local"]}
    seen = set()
    for jobid, slurm_id in _submissions(text):
        asked, record = remote[jobid], watch.jobs[slurm_id]
        got = (
            _slurm_mb(record["MinMemoryNode"]),
            _slurm_minutes(record["TimeLimit"]),
            int(record["CPUs/Task"]),
        )
        assert got == (int(asked["mem_mb"]), int(asked["runtime"]), asked["threads"]), (asked, record)
        seen.add(got)
    # the check covers more than one kind of job: two threads, 2 h, other memory requests
    assert len(seen) >= 3 and any(cpus == 2 for _, _, cpus in seen)


def test_tables_equal_the_local_run(slurm_runs, tiny_local_run):
    _, (root, _), _ = slurm_runs
    local, cluster = read_tables(tiny_local_run), read_tables(root)
    for t in TABLES:
        pd.testing.assert_frame_equal(local[t], cluster[t], check_exact=True, obj=t)


def test_failed_job_is_reported_and_retried_as_the_profile_says(slurm_runs):
    watch, _, (root, (proc, log)) = slurm_runs
    text = log.read_text()
    assert proc.returncode != 0  # `broken` never succeeds, so the run must not either
    attempts = {}
    for rule in ("flaky", "broken"):
        lines = (root / f"attempts_{rule}.txt").read_text().split()
        attempts[rule] = list(zip(lines[::2], map(int, lines[1::2]), strict=True))
    # flaky: failed once with 500 MB, then ran again with more memory, as the rules' requests grow
    assert [mb for _, mb in attempts["flaky"]] == [500, 1000]
    assert (root / "flaky.done").exists()
    # broken: the first submission and the profile's retries, then reported failed
    assert [mb for _, mb in attempts["broken"]] == [500 * (i + 1) for i in range(RETRIES + 1)]
    assert not (root / "broken.done").exists()
    failed = [slurm_id for slurm_id, _ in attempts["broken"]] + [attempts["flaky"][0][0]]
    for slurm_id in failed:
        assert watch.jobs[slurm_id]["JobState"] == "FAILED"
        assert f"SLURM-job '{slurm_id}' failed, SLURM status is: 'FAILED'" in text
    assert watch.jobs[attempts["flaky"][1][0]]["JobState"] == "COMPLETED"
    assert len(_submissions(text)) == 2 + RETRIES + 1
    assert "Error in rule broken" in text and "Exiting because a job execution failed" in text


@pytest.mark.parametrize(
    ("ci", "markexpr", "wanted"),
    [
        ("", "", False),
        ("true", "", True),
        ("", "slurm", True),
        ("", "not slurm", False),
        ("1", "not slow", True),
    ],
)
def test_the_cluster_starts_only_in_ci_or_when_asked_for(monkeypatch, ci, markexpr, wanted):
    monkeypatch.setenv("CI", ci)
    assert cluster_wanted(markexpr) is wanted
