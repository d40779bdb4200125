"""Large input: a 200,000-row csv dataset with 30 covariates through prepare_dataset, one fast
generator (Gaussian copula), the DCR filter and the estimator grid, within 8 GiB.

    python benchmarks/large_input.py [--rows 200000] [--dir DIR]

Prints wall time and peak memory of the whole process tree (target: under 8 GiB).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from _harness import fresh_copy, run_measured, slowest_jobs

MEMORY_TARGET_GIB = 8


def make_table(n: int, seed: int = 0) -> pd.DataFrame:
    """20 continuous, 7 binary and 3 categorical covariates, confounded binary treatment."""
    rng = np.random.default_rng(seed)
    cols = {f"x{i}": rng.normal(size=n) for i in range(20)}
    cols.update({f"b{i}": rng.binomial(1, 0.3 + 0.05 * i, n) for i in range(7)})
    cols.update({f"c{i}": rng.choice(["a", "b", "c", "d"], n) for i in range(3)})
    df = pd.DataFrame(cols)
    logit = 0.5 * df.x0 - 0.4 * df.x1 + 0.3 * df.b0 + 0.4 * (df.c0 == "b")
    df["treated"] = rng.binomial(1, 1 / (1 + np.exp(-logit)))
    df["y"] = 1 + df.x0 + 0.5 * df.x2 - 0.3 * df.b1 + df.treated * (1 + 0.5 * df.x3) + rng.normal(size=n)
    return df


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--dir", type=Path, default=None)
    args = ap.parse_args()
    root = fresh_copy(args.dir or Path(tempfile.mkdtemp(prefix="causalsynth-large-")))
    make_table(args.rows).to_csv(root / "large.csv", index=False)
    config = {
        "seed": 1,
        "datasets": {
            "large": {
                "loader": "csv",
                "path": "large.csv",
                "treatment": "treated",
                "outcome": "y",
                "reference_ate": 1.0,
            }
        },
        "generators": {"gaussian_copula": {}},
        # one replicate: evaluate_synthetic scores every set of the dataset in one job
        "replicates": 1,
        "synthetic_rows": 50_000,
        "hybrid": {"bases": ["gaussian_copula"], "learner": "linear", "n_rows": 50_000},
        "estimation": {"learners": ["gradient_boosting"], "folds": 5},
        "engine": {"engines": [], "datasets": []},
    }
    (root / "large.yaml").write_text(yaml.safe_dump(config))
    targets = [
        "results/privacy/large/gaussian_copula",
        # every set of the dataset, the base's and its hybrid's, in one evaluate_synthetic job
        "results/estimates/large/synthetic.parquet",
    ]
    wall, peak, rc = run_measured(
        [*targets, "--cores", "2", "--configfile", "large.yaml"], root, root / "snakemake.log"
    )
    print(f"rows: {args.rows:,} x 30 covariates; directory: {root}; exit code: {rc}")
    print(f"wall time: {wall / 60:.1f} min")
    print(
        f"peak memory (process tree): {peak:.2f} GiB (target {MEMORY_TARGET_GIB} GiB, ratio {peak / MEMORY_TARGET_GIB:.2f})"
    )
    print(slowest_jobs(root).to_string(index=False))
    if rc != 0:
        raise SystemExit(f"snakemake failed; see {root / 'snakemake.log'}")


if __name__ == "__main__":
    main()
