"""The estimators' gradient boosting against its former settings, side by side in one run.

    python benchmarks/gradient_boosting.py [--rows 800] [--columns 25] [--fits 5]

``core.learners.GRADIENT_BOOSTING_PARAMS`` (100 rounds at rate 0.1) against 200 rounds at 0.05,
on a nonlinear regression of the default datasets' size, one thread each: seconds per fit, the
5-fold cross-validated R^2 of each, and the ratio of the seconds.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.model_selection import cross_val_score

from causalsynth.core.learners import GRADIENT_BOOSTING_PARAMS
from causalsynth.core.threads import limit_threads

FORMER = dict(GRADIENT_BOOSTING_PARAMS, max_iter=200, learning_rate=0.05)


def measure(params: dict, x: np.ndarray, y: np.ndarray, fits: int) -> tuple[float, float]:
    t0 = time.perf_counter()
    for _ in range(fits):
        HistGradientBoostingRegressor(**params, random_state=0).fit(x, y)
    seconds = (time.perf_counter() - t0) / fits
    r2 = cross_val_score(HistGradientBoostingRegressor(**params, random_state=0), x, y, cv=5).mean()
    return seconds, float(r2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=800)
    ap.add_argument("--columns", type=int, default=25)
    ap.add_argument("--fits", type=int, default=5)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.rows, args.columns))
    y = x[:, 0] + np.sin(2 * x[:, 1]) + x[:, 2] * x[:, 3] + rng.normal(size=args.rows)
    with limit_threads(1):
        current = measure(GRADIENT_BOOSTING_PARAMS, x, y, args.fits)
        former = measure(FORMER, x, y, args.fits)
    print(f"current (100 rounds, rate 0.1): {current[0]:.3f} s per fit, cross-validated R^2 {current[1]:.3f}")
    print(f"former  (200 rounds, rate 0.05): {former[0]:.3f} s per fit, cross-validated R^2 {former[1]:.3f}")
    print(f"speed-up (former / current seconds): {former[0] / current[0]:.2f}x")


if __name__ == "__main__":
    main()
