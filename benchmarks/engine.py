"""Speed of the simulation engine against a plain scikit-learn cross-fitted AIPW, side by side.

    python benchmarks/engine.py                 # 40 replicates at n = 500 per learner
    python benchmarks/engine.py --reps 100 --n 1000

Both sides draw the same samples from the same known pool (a :class:`PoolProcess` whose
propensity and outcome model are the true ones) and estimate the ATE by 5-fold cross-fitted
AIPW with the same kind of learner: the engine through :func:`run_engine` (one process, so the
comparison is per core), the baseline as the few lines of scikit-learn a statistician would
write (written below, sharing no code with causalsynth's estimators). The ratio engine / plain
is printed per learner (target: replicates per second within 1.5x of the plain loop), and the
rate of the engine's whole default estimator grid beside it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from _harness import side_by_side
from scipy.special import expit
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from causalsynth.core.io import write_json, write_parquet
from causalsynth.core.learners import GRADIENT_BOOSTING_PARAMS
from causalsynth.core.roles import Roles
from causalsynth.core.seeds import derive_seed
from causalsynth.core.threads import limit_threads
from causalsynth.evaluate.engine import PoolProcess, run_engine

ROLES = Roles("a", "y", "continuous", {f"w{j}": "continuous" for j in range(5)})
GRID = ["substitution", "iptw", "iptw_truncated", "aipw", "tmle", "dml"]


def known_pool(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(n, 5))
    e = expit(0.6 * w[:, 0] - 0.4 * w[:, 1] + 0.3 * w[:, 2])
    mu0 = w[:, 0] + 0.5 * w[:, 1] - 0.3 * w[:, 3]
    mu1 = mu0 + 1.0 + 0.5 * w[:, 0]
    a = rng.binomial(1, e)
    y = np.where(a == 1, mu1, mu0) + rng.normal(size=n)
    frame = pd.DataFrame(w, columns=list(ROLES.covariates))
    return frame.assign(a=a, y=y, mu0=mu0, mu1=mu1, propensity=e)


def plain_learners(name: str, seed: int):
    if name == "linear":
        return make_pipeline(StandardScaler(), LogisticRegression(C=1e4, max_iter=5000)), LinearRegression()
    if name == "random_forest":
        return RandomForestClassifier(random_state=seed), RandomForestRegressor(random_state=seed)
    opts = dict(GRADIENT_BOOSTING_PARAMS, random_state=seed)
    return HistGradientBoostingClassifier(**opts), HistGradientBoostingRegressor(**opts)


def plain_aipw(df: pd.DataFrame, learner: str, seed: int) -> float:
    """Cross-fitted AIPW in plain scikit-learn: g on W, one outcome model per arm."""
    x = df[list(ROLES.covariates)].to_numpy()
    a, y = df["a"].to_numpy(), df["y"].to_numpy()
    g, q0, q1 = (np.empty(len(df)) for _ in range(3))
    for train, test in StratifiedKFold(5, shuffle=True, random_state=seed).split(x, a):
        clf, _ = plain_learners(learner, seed)
        g[test] = clf.fit(x[train], a[train]).predict_proba(x[test])[:, 1]
        for arm, q in ((0, q0), (1, q1)):
            rows = train[a[train] == arm]
            _, reg = plain_learners(learner, seed)
            q[test] = reg.fit(x[rows], y[rows]).predict(x[test])
    g = np.clip(g, 0.01, 0.99)
    psi = q1 - q0 + a * (y - q1) / g - (1 - a) * (y - q0) / (1 - g)
    return float(psi.mean())


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reps", type=int, default=40)
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--learners", nargs="+", default=["linear", "random_forest", "gradient_boosting"])
    args = parser.parse_args()
    pool = known_pool(5000, 1)
    process = PoolProcess(pool, ROLES, "benchmark pool")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_parquet(pool, tmp / "pool.parquet")
        write_json({"engine_truth": process.truth}, tmp / "meta.json")
        write_json({"dataset": "bench", **ROLES.to_dict()}, tmp / "card.json")
        print(
            f"{args.reps} replicates at n = {args.n}, 5-fold cross-fitting, one core; replicates per second"
        )
        print(f"{'learner':<18}{'plain AIPW':>12}{'engine AIPW':>13}{'ratio':>8}{'engine grid':>13}")
        for learner in args.learners:

            def plain_loop(learner=learner):
                for r in range(args.reps):
                    rep_seed = derive_seed(7, "replicate", rep=f"n={args.n}:r={r}")
                    plain_aipw(process.sample(args.n, derive_seed(rep_seed, "sample")), learner, rep_seed)

            def engine_run(estimators, learner=learner):
                params = {
                    "n": args.n,
                    "reps": args.reps,
                    "estimators": estimators,
                    "learner": learner,
                    "folds": 5,
                }
                run_engine(str(tmp / "pool.parquet"), params, 7, 1, str(tmp / "e.parquet"), "bench", "hybrid_bench",
                           card_path=str(tmp / "card.json"))  # fmt: skip

            with limit_threads(1):
                timings = side_by_side(
                    {
                        "plain": plain_loop,
                        "aipw": lambda: engine_run(["aipw"]),
                        "grid": lambda: engine_run(GRID),
                    }
                )
            rates = {k: args.reps / v["wall"] for k, v in timings.items()}
            print(
                f"{learner:<18}{rates['plain']:>12.2f}{rates['aipw']:>13.2f}{timings['aipw']['ratio']:>7.2f}x"
                f"{rates['grid']:>13.2f}"
            )
    print("ratio = engine time / plain time per replicate (1.0: as fast as the plain loop; target <= 1.5)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
