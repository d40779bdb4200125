"""CPU of the Snakemake process itself, with Snakemake's default job rate limit and with ours.

    python benchmarks/scheduler_overhead.py [--replicates 2] [--dir /tmp/causalsynth-sched]

Runs the tiny config end to end twice in fresh directories, side by side on this machine: once
with ``--max-jobs-per-timespan 100/1s`` (Snakemake's default) and once with the value in
``profiles/default/config.yaml``. Prints the machine, each run's wall time, the CPU seconds of
the Snakemake process (its jobs not included), its thread count at the end (each scheduling
pass under the 1-second limit arms a timer thread that keeps waking the scheduler) and the
ratio of the two CPU figures. The harm grows with the number of jobs (each finished job adds a
timer chain that rescans every ready job each second), so the tiny run shows it small and the
default run (473 jobs) large: pass ``--replicates`` to grow the tiny run.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import psutil
import yaml
from _harness import ROOT, fresh_copy, run_measured

from causalsynth.core.provenance import machine

SNAKEMAKE_DEFAULT = "100/1s"


def _ours() -> str:
    return str(yaml.safe_load((ROOT / "profiles/default/config.yaml").read_text())["max-jobs-per-timespan"])


def _run(root: Path, limit: str, replicates: int) -> dict:
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
    args += ["--config", f"replicates={replicates}", "--max-jobs-per-timespan", limit]
    wall, _, rc = run_measured(args, root, root / "snakemake.log", own_cpu=own)
    done.set()
    if rc != 0:
        raise SystemExit(f"snakemake failed with {limit}; see {root / 'snakemake.log'}")
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
    for name, limit in (("snakemake default", SNAKEMAKE_DEFAULT), ("profiles/default", _ours())):
        r = _run(fresh_copy(base / name.replace("/", "_").replace(" ", "_")), limit, args.replicates)
        results[name] = r
        print(
            f"{name:18s} --max-jobs-per-timespan {limit:>12s}: wall {r['wall']:.0f} s, "
            f"Snakemake's own CPU {r['own_cpu']:.1f} s, most threads {r['threads']}",
            flush=True,
        )
    a, b = results["snakemake default"], results["profiles/default"]
    print(f"own CPU ratio default / ours: {a['own_cpu'] / b['own_cpu']:.2f}")


if __name__ == "__main__":
    main()
