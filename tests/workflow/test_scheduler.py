"""A local run schedules when jobs finish, never on a timer: Snakemake's job rate limit arms a
one-second timer at every scheduling pass (after k jobs, k scheduling passes a second), and the
workflow drops it when a local run starts (common.smk, run_locally_without_job_rate_limit)."""

import subprocess
import sys

import pytest

from .conftest import TINY, copy_workflow

pytestmark = pytest.mark.workflow

# Snakemake in this process with its scheduler's timer counted; the count goes to stderr at exit
COUNTING = """
import atexit, sys
from snakemake.scheduling import job_scheduler
armed = []
arm = job_scheduler.JobScheduler._schedule_reevalutation
def counted(self, delay):
    armed.append(delay)
    return arm(self, delay)
job_scheduler.JobScheduler._schedule_reevalutation = counted
atexit.register(lambda: print(f"timers armed: {len(armed)}", file=sys.stderr))
from snakemake.cli import main
sys.argv = ["snakemake", *sys.argv[1:]]
main()
"""


def _timers(root, drop_hook: bool) -> int:
    if drop_hook:
        common = root / "workflow/rules/common.smk"
        hook = "\nonstart:\n    run_locally_without_job_rate_limit()\n"
        assert hook in common.read_text()
        common.write_text(common.read_text().replace(hook, "\n"))
    targets = [f"results/data/{d}/rep{r}/card.json" for d in ("sim_paper", "sim_continuous") for r in (1, 2)]
    proc = subprocess.run(
        [sys.executable, "-c", COUNTING, *targets, "--cores", "2", "--configfile", TINY],
        cwd=root, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return int(proc.stderr.rsplit("timers armed: ", 1)[1].split()[0])


def test_a_local_run_arms_no_scheduling_timer(workdir, tmp_path_factory):
    assert _timers(workdir, drop_hook=False) == 0
    # the same run without the hook arms Snakemake's timers: the check above can fail
    assert _timers(copy_workflow(tmp_path_factory.mktemp("kept")), drop_hook=True) > 0
