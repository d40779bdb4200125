"""CPU of the Snakemake process itself, with Snakemake's job rate limit and without it.

    python benchmarks/scheduler_overhead.py [--replicates 2] [--dir /tmp/causalsynth-sched]

Runs the tiny config end to end twice in fresh directories, side by side on this machine: the
workflow as shipped (a local run drops the rate limit: ``run_locally_without_job_rate_limit`` in
``workflow/rules/common.smk``) and a copy without that call (Snakemake's ``100/1s``). Prints the
machine, each run's wall time, the CPU seconds of the Snakemake process (its jobs not included),
its largest thread count (each scheduling pass under the limit arms a timer thread that keeps
waking the scheduler) and the ratio of the two CPU figures. The harm grows with the number of
jobs (each finished job adds a timer chain that rescans every ready job each second), so the
tiny run shows it small and the default run (473 jobs) large: pass ``--replicates`` to grow it.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import psutil
from _harness import ROOT, fresh_copy, run_measured

from causalsynth.core.provenance import machine

OVERRIDE = "\nonstart:\n    run_locally_without_job_rate_limit()\n"


def _with_snakemakes_limit(root: Path) -> Path:
    """The copy's common.smk without the onstart hook that drops the limit: Snakemake's 100/1s."""
    common = root / "workflow/rules/common.smk"
    text = common.read_text()
    if OVERRIDE not in text:
        raise SystemExit(
            f"{common} no longer calls run_locally_without_job_rate_limit(); update this benchmark"
        )
    common.write_text(text.replace(OVERRIDE, "\n"))
    return root


def _run(root: Path, replicates: int) -> dict:
    threads = {"max": 0}
    done = threading.Event()

    def watch() -> None:
        # the Snakemake process's thread count, sampled while it runs
        while not done.is_set():
            for p in psutil.process_iter(["cmdline", "cwd"]):
                try:
                    if p.info["cwd"] == str(root) and "snakemake" in " ".join(p.info["cmdline"] or []):
                        threads["max"] = max(threads["max"], p.num_threads())
                except psutil.Error:
                    pass
            time.sleep(1.0)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    own: dict = {}
    args = ["--cores", "2", "--configfile", str(ROOT / "tests/config/tiny.yaml")]
    args += ["--config", f"replicates={replicates}"]
    wall, _, rc = run_measured(args, root, root / "snakemake.log", own_cpu=own)
    done.set()
    if rc != 0:
        raise SystemExit(f"snakemake failed; see {root / 'snakemake.log'}")
    return {"wall": wall, "own_cpu": own.get("seconds", float("nan")), "threads": threads["max"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", type=Path, default=None)
    ap.add_argument("--replicates", type=int, default=2)
    args = ap.parse_args()
    base = args.dir or Path(tempfile.mkdtemp(prefix="causalsynth-sched-"))
    cpu = machine()
    print(f"machine: {cpu['cpu']}, {cpu['logical_cores']} logical cores", flush=True)
    results = {}
    for name in ("rate limit 100/1s", "as shipped"):
        root = fresh_copy(base / name.replace("/", "_").replace(" ", "_"))
        r = _run(_with_snakemakes_limit(root) if name != "as shipped" else root, args.replicates)
        results[name] = r
        print(
            f"{name:18s}: wall {r['wall']:.0f} s, Snakemake's own CPU {r['own_cpu']:.1f} s, "
            f"most threads {r['threads']}",
            flush=True,
        )
    a, b = results["rate limit 100/1s"], results["as shipped"]
    print(f"own CPU ratio with the limit / as shipped: {a['own_cpu'] / b['own_cpu']:.2f}")


if __name__ == "__main__":
    main()
