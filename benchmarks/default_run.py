"""Time budget of the default run: config/config.yaml end to end in a fresh directory.

    python benchmarks/default_run.py [--dir /tmp/causalsynth-default] [--cores 2]

Prints the machine (CPU model, cores, bf16 support: it decides GReaT's precision under
``precision: auto``), wall time, peak memory of the whole process tree, the CPU seconds of the
Snakemake process itself, the five rules with the most core-seconds and the five slowest jobs
(from the rules' benchmark files), and the CPU of the whole run with the share of the cores'
time it used. The target on a 2-core machine is at most 45 minutes, on
either CPU kind (with or without bf16 instructions).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _harness import fresh_copy, rules_by_core_seconds, run_measured, slowest_jobs

from causalsynth.core.provenance import machine
from causalsynth.generate.runtime import bf16_support

BUDGET_MINUTES = 45


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", type=Path, default=None, help="fresh directory to run in (default: a temp dir)")
    ap.add_argument("--cores", type=int, default=2)
    args = ap.parse_args()
    root = fresh_copy(args.dir or Path(tempfile.mkdtemp(prefix="causalsynth-default-")))
    cpu = machine()
    bf16 = "native" if bf16_support("cpu")["native_bf16"] else "none (emulated)"
    print(f"machine: {cpu['cpu']}, {cpu['logical_cores']} logical cores, bf16: {bf16}", flush=True)
    own: dict = {}
    wall, peak, rc = run_measured(["--cores", str(args.cores)], root, root / "snakemake.log", own_cpu=own)
    print(f"directory: {root}")
    print(f"exit code: {rc}")
    print(
        f"wall time: {wall / 60:.1f} min (budget {BUDGET_MINUTES} min, ratio {wall / 60 / BUDGET_MINUTES:.2f})"
    )
    print(f"peak memory (process tree): {peak:.2f} GiB")
    print(f"snakemake's own CPU: {own.get('seconds', float('nan')):.0f} s")
    tree = own.get("tree_seconds", float("nan"))
    print(
        f"CPU of the whole run: {tree:.0f} s, {tree / (wall * args.cores):.0%} of {args.cores} cores' "
        f"wall time (packed perfectly onto {args.cores} cores: {tree / args.cores / 60:.1f} min)"
    )
    print("five rules with the most core-seconds (wall seconds x threads held):")
    print(rules_by_core_seconds(root).to_string(index=False))
    print("five slowest jobs:")
    print(slowest_jobs(root).to_string(index=False))
    if rc != 0:
        raise SystemExit(f"snakemake failed; see {root / 'snakemake.log'}")


if __name__ == "__main__":
    main()
