"""Hybrid pools of several bases: g and h refitted per base against fitted once and shared.

    python benchmarks/hybrid_mechanisms.py [--dataset lalonde_cps] [--bases 5]

On one dataset and one replicate, builds ``--bases`` hybrid pools (each on its own draw of
covariates, standing in for the bases' DCR-filtered sets) both ways, side by side in one run:

* ``per base``: ``run_hybrid`` fits the default learner's g and h for every pool (the pipeline
  before the mechanisms were shared);
* ``shared``: ``run_fit_mechanisms`` once, then ``run_hybrid(..., mechanisms_path=...)`` per pool.

Prints the seconds of each (in one process, so without the jobs' start-up, which both pay once
per pool), the ratio, and the largest gap between the two ways' mean ``engine_truth`` (they
differ only by the learners' seeds).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
from _harness import side_by_side

from causalsynth.data import get_dataset
from causalsynth.hybrid.pool import run_fit_mechanisms, run_hybrid


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="lalonde_cps")
    ap.add_argument("--bases", type=int, default=5, help="hybrid pools per replicate (the default config: 5)")
    ap.add_argument("--rows", type=int, default=1000, help="covariate rows per base")
    args = ap.parse_args()

    prepared = get_dataset(args.dataset).prepare(seed=20251101)
    roles = prepared.roles
    tmp = Path(tempfile.mkdtemp(prefix="hybrid-mechanisms-"))
    train_path, card_path = tmp / "train.parquet", tmp / "card.json"
    prepared.train.to_parquet(train_path)
    card_path.write_text(json.dumps({"dataset": args.dataset, **roles.to_dict()}))
    rng = np.random.default_rng(0)
    bases = []
    for b in range(args.bases):
        path = tmp / f"base{b}.parquet"
        rows = rng.integers(0, len(prepared.holdout), size=args.rows)
        prepared.holdout[roles.covariate_names].iloc[rows].reset_index(drop=True).to_parquet(path)
        bases.append(path)
    params = {"n_rows": args.rows}

    def pools(shared: bool) -> list[float]:
        mechanisms = None
        if shared:
            mechanisms = tmp / "model.joblib"
            run_fit_mechanisms(
                train_path, card_path, params, 1, 1, mechanisms, tmp / "model.json", args.dataset
            )
        truths = []
        for b, path in enumerate(bases):
            out = tmp / ("shared" if shared else "per_base") / f"base{b}"
            meta = run_hybrid(
                train_path,
                card_path,
                path,
                params,
                100 + b,
                1,
                out / "pool.parquet",
                out / "meta.json",
                args.dataset,
                "hybrid_base",
                mechanisms_path=mechanisms,
            )
            truths.append(meta["engine_truth"])
        return truths

    timings = side_by_side({"per base": lambda: pools(shared=False), "shared": lambda: pools(shared=True)})
    per_base, truths_per_base = timings["per base"]["wall"], timings["per base"]["result"]
    shared, truths_shared = timings["shared"]["wall"], timings["shared"]["result"]
    print(
        f"dataset {args.dataset}: {len(prepared.train)} training rows, {args.bases} pools of {args.rows} rows"
    )
    print(f"per base: {per_base:.1f} s   shared: {shared:.1f} s   ratio {per_base / shared:.2f}x")
    print(
        f"mean engine_truth: per base {np.mean(truths_per_base):.4f} (sd over pools {np.std(truths_per_base):.4f}), "
        f"shared {np.mean(truths_shared):.4f} (sd {np.std(truths_shared):.4f})"
    )


if __name__ == "__main__":
    main()
