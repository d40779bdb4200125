"""The estimators' gradient boosting against its former settings, side by side in one run.

    python benchmarks/gradient_boosting.py [--rows 800] [--columns 25] [--fits 5]

``core.learners.GRADIENT_BOOSTING_PARAMS`` (100 rounds at rate 0.1) against 200 rounds at 0.05,
on a nonlinear regression of the default datasets' size, one thread each: seconds per fit, the
5-fold cross-validated R^2 of each, and the ratio of the seconds.
"""

from __future__ import annotations

import argparse

import numpy as np
from _harness import side_by_side
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.model_selection import cross_val_score

from causalsynth.core.learners import GRADIENT_BOOSTING_PARAMS
from causalsynth.core.threads import limit_threads

FORMER = dict(GRADIENT_BOOSTING_PARAMS, max_iter=200, learning_rate=0.05)


def fit_many(params: dict, x: np.ndarray, y: np.ndarray, fits: int) -> None:
    for _ in range(fits):
        HistGradientBoostingRegressor(**params, random_state=0).fit(x, y)


def cross_validated_r2(params: dict, x: np.ndarray, y: np.ndarray) -> float:
    return float(cross_val_score(HistGradientBoostingRegressor(**params, random_state=0), x, y, cv=5).mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=800)
    ap.add_argument("--columns", type=int, default=25)
    ap.add_argument("--fits", type=int, default=5)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.rows, args.columns))
    y = x[:, 0] + np.sin(2 * x[:, 1]) + x[:, 2] * x[:, 3] + rng.normal(size=args.rows)
    settings = {"current": GRADIENT_BOOSTING_PARAMS, "former": FORMER}
    with limit_threads(1):
        timings = side_by_side({k: lambda p=p: fit_many(p, x, y, args.fits) for k, p in settings.items()})
        r2 = {k: cross_validated_r2(p, x, y) for k, p in settings.items()}
    for name, label in (("current", "100 rounds, rate 0.1"), ("former", "200 rounds, rate 0.05")):
        print(
            f"{name:<7} ({label}): {timings[name]['wall'] / args.fits:.3f} s per fit, "
            f"cross-validated R^2 {r2[name]:.3f}"
        )
    print(f"speed-up (former / current seconds): {timings['former']['ratio']:.2f}x")


if __name__ == "__main__":
    main()
