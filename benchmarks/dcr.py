"""Speed of the DCR nearest-neighbour search against the paper's row-by-row forms.

    python benchmarks/dcr.py            # 50,000 synthetic x 5,000 training rows x 20 columns
    python benchmarks/dcr.py --large    # also 200,000 x 50,000 x 50: time and peak memory

Compared, on the same random standard-normal data:

* ``numpy loop``: the paper's public code, one synthetic row at a time,
  ``np.sqrt(np.sum((train - x) ** 2, axis=1)).min()``;
* ``pandas apply``: the same as a row-wise ``DataFrame.apply``;
* ``sklearn NearestNeighbors`` (default algorithm) and ``scipy cKDTree`` (``workers=-1``);
* ``matrix-product brute force``: float64 ``||x||^2 + ||y||^2 - 2 x.y`` in chunks (inexact);
* ``causalsynth``: :func:`causalsynth.privacy.dcr.nearest_neighbors` (exact).

The two row-by-row forms are timed on a slice of the synthetic rows and extrapolated
linearly (their cost is exactly proportional to the number of rows). Fast methods are timed
``--repeat`` times and the best time is shown (the machine is shared). Exactness is checked
on the loop's slice: the minima must be equal, bit for bit, to the loop's.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tracemalloc

import numpy as np
import pandas as pd
from _harness import side_by_side, timed
from scipy.spatial import cKDTree
from sklearn.neighbors import NearestNeighbors

from causalsynth.privacy.dcr import nearest_neighbors

TARGET_SECONDS = 1.0
TARGET_VS_LOOP = 15.0
TARGET_VS_APPLY = 100.0


def numpy_loop(synthetic: np.ndarray, train: np.ndarray) -> np.ndarray:
    out = np.empty(len(synthetic))
    for i, x in enumerate(synthetic):
        out[i] = np.sqrt(np.sum((train - x) ** 2, axis=1)).min()
    return out


def pandas_apply(synthetic: np.ndarray, train: np.ndarray) -> np.ndarray:
    train_df = pd.DataFrame(train)
    synth_df = pd.DataFrame(synthetic)
    return synth_df.apply(lambda row: np.sqrt(((train_df - row) ** 2).sum(axis=1)).min(), axis=1).to_numpy()


def sklearn_nn(synthetic: np.ndarray, train: np.ndarray) -> np.ndarray:
    return NearestNeighbors(n_neighbors=1, n_jobs=-1).fit(train).kneighbors(synthetic)[0][:, 0]


def ckdtree(synthetic: np.ndarray, train: np.ndarray) -> np.ndarray:
    return cKDTree(train).query(synthetic, k=1, workers=-1)[0]


def gemm_brute_force(synthetic: np.ndarray, train: np.ndarray, chunk: int = 2048) -> np.ndarray:
    ny = np.einsum("ij,ij->i", train, train)
    out = np.empty(len(synthetic))
    for s in range(0, len(synthetic), chunk):
        x = synthetic[s : s + chunk]
        d2 = np.einsum("ij,ij->i", x, x)[:, None] + ny[None, :] - 2.0 * (x @ train.T)
        out[s : s + chunk] = np.sqrt(np.maximum(d2.min(axis=1), 0.0))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n-synthetic", type=int, default=50_000)
    parser.add_argument("--n-train", type=int, default=5_000)
    parser.add_argument("--n-cols", type=int, default=20)
    parser.add_argument("--loop-rows", type=int, default=5_000, help="slice timed for the numpy loop")
    parser.add_argument("--apply-rows", type=int, default=500, help="slice timed for the pandas apply")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="threads for causalsynth")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--large", action="store_true", help="also time 200,000 x 50,000 x 50 with peak memory"
    )
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    synthetic = rng.standard_normal((args.n_synthetic, args.n_cols))
    train = rng.standard_normal((args.n_train, args.n_cols))
    n = args.n_synthetic
    print(
        f"DCR benchmark: {n:,} synthetic x {args.n_train:,} training rows x {args.n_cols} columns, "
        f"{os.cpu_count()} CPU cores, causalsynth with {args.jobs} threads, best of {args.repeat}"
    )

    k_loop = min(args.loop_rows, n)
    loop_min, _, t_loop = timed(numpy_loop, synthetic[:k_loop], train)
    t_loop *= n / k_loop
    k_apply = min(args.apply_rows, n)
    apply_min, _, t_apply = timed(pandas_apply, synthetic[:k_apply], train)
    t_apply *= n / k_apply

    rows: list[tuple[str, float, str, np.ndarray]] = [
        ("numpy loop (paper)", t_loop, f"extrapolated from {k_loop:,} rows", loop_min),
        ("pandas apply (paper)", t_apply, f"extrapolated from {k_apply:,} rows", apply_min),
    ]
    fast = {
        "sklearn NearestNeighbors": lambda: sklearn_nn(synthetic, train),
        "scipy cKDTree workers=-1": lambda: ckdtree(synthetic, train),
        "matrix-product brute force": lambda: gemm_brute_force(synthetic, train),
        "causalsynth nearest_neighbors": lambda: nearest_neighbors(synthetic, train, n_jobs=args.jobs)[0],
    }
    for name, best in side_by_side(fast, repeat=args.repeat).items():
        rows.append((name, best["wall"], "full size", best["result"][:k_loop]))

    ours = rows[-1][1]
    print(f"\n{'method':32s} {'seconds':>9s} {'x slower than ours':>19s}  {'minima vs loop':<24s} timing")
    for name, seconds, how, minima in rows:
        k = min(len(minima), k_loop)
        if name.startswith("numpy loop"):
            check = "(reference)"
        elif np.array_equal(minima[:k], loop_min[:k]):
            check = f"equal on {k:,} rows"
        else:
            check = f"max |diff| {np.max(np.abs(minima[:k] - loop_min[:k])):.1e}"
        print(f"{name:32s} {seconds:9.3f} {seconds / ours:19.1f}  {check:<24s} {how}")

    exact = np.array_equal(rows[-1][3], loop_min)
    checks = [
        (f"causalsynth at most {TARGET_SECONDS:g} s", ours <= TARGET_SECONDS, f"{ours:.3f} s"),
        (
            f"at least {TARGET_VS_LOOP:g}x the numpy loop",
            t_loop / ours >= TARGET_VS_LOOP,
            f"{t_loop / ours:.0f}x",
        ),
        (
            f"at least {TARGET_VS_APPLY:g}x the pandas apply",
            t_apply / ours >= TARGET_VS_APPLY,
            f"{t_apply / ours:.0f}x",
        ),
        ("minima equal to the loop's", exact, f"on {k_loop:,} rows"),
    ]
    print()
    for what, ok, value in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {what}: {value}")
    ok = all(c[1] for c in checks)

    if args.large:
        ok &= large(args.jobs, args.seed)
    return 0 if ok else 1


def large(jobs: int, seed: int, budget_gib: float = 4.0) -> bool:
    """200,000 x 50,000 rows x 50 columns: time and peak memory against a 4 GiB budget."""
    rng = np.random.default_rng(seed + 1)
    synthetic = rng.standard_normal((200_000, 50))
    train = rng.standard_normal((50_000, 50))
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB on Linux
    tracemalloc.start()
    (dist, _), _, seconds = timed(nearest_neighbors, synthetic, train, n_jobs=jobs)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    sample = rng.choice(len(synthetic), 200, replace=False)
    exact = np.array_equal(dist[sample], numpy_loop(synthetic[sample], train))
    inputs = (synthetic.nbytes + train.nbytes) / 2**30
    print(
        f"\nlarge: 200,000 x 50,000 x 50 in {seconds:.1f} s; peak allocations during the search "
        f"{peak / 2**30:.3f} GiB (inputs {inputs:.3f} GiB), process peak RSS {rss:.2f} GiB "
        f"(before {rss_before:.2f} GiB); minima equal to the loop's on 200 sampled rows: {exact}"
    )
    ok = rss <= budget_gib and exact
    print(f"{'PASS' if ok else 'FAIL'}  fits in {budget_gib:g} GiB with exact minima")
    return ok


if __name__ == "__main__":
    sys.exit(main())
