"""Time budget of the default run: config/config.yaml end to end in a fresh directory.

    python benchmarks/default_run.py [--dir /tmp/causalsynth-default] [--cores 2]

Prints wall time, peak memory of the whole process tree, and the five slowest jobs (from the
rules' benchmark files). The target on a 2-core machine is at most 45 minutes.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _harness import fresh_copy, run_measured, slowest_jobs

BUDGET_MINUTES = 45


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", type=Path, default=None, help="fresh directory to run in (default: a temp dir)")
    ap.add_argument("--cores", type=int, default=2)
    args = ap.parse_args()
    root = fresh_copy(args.dir or Path(tempfile.mkdtemp(prefix="causalsynth-default-")))
    wall, peak, rc = run_measured(["--cores", str(args.cores)], root, root / "snakemake.log")
    print(f"directory: {root}")
    print(f"exit code: {rc}")
    print(
        f"wall time: {wall / 60:.1f} min (budget {BUDGET_MINUTES} min, ratio {wall / 60 / BUDGET_MINUTES:.2f})"
    )
    print(f"peak memory (process tree): {peak:.2f} GiB")
    print("five slowest jobs:")
    print(slowest_jobs(root).to_string(index=False))
    if rc != 0:
        raise SystemExit(f"snakemake failed; see {root / 'snakemake.log'}")


if __name__ == "__main__":
    main()
