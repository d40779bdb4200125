"""A quality experiment: the effect a hybrid pool's mechanisms keep, per learner and outcome model.

    python benchmarks/hybrid_effect.py [--dataset sim_continuous] [--data-dir results/data]
        [--learners random_forest gradient_boosting_regularized linear] [--seed 1]

Fits the ``hybrid_real`` mechanisms (cross-fitted g and h) on a prepared dataset's training rows
(``results/data/<dataset>/rep1/``, written by the workflow) with each learner, ``per_arm`` and
``pooled`` side by side, and prints the pool's effect (``engine_truth`` over every training row
with its out-of-fold mu0, mu1) beside the dataset's truth and the training rows' difference in
means: how much of a hybrid's error its outcome model makes before any covariate is synthesized.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from causalsynth.core.io import read_parquet
from causalsynth.core.provenance import machine
from causalsynth.core.roles import card_truth, read_card
from causalsynth.hybrid.model import OUTCOME_MODELS, HybridGenerator, engine_truth


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="sim_continuous")
    ap.add_argument("--data-dir", type=Path, default=Path("results/data"))
    ap.add_argument(
        "--learners", nargs="+", default=["random_forest", "gradient_boosting_regularized", "linear"]
    )
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    card, roles = read_card(args.data_dir / args.dataset / "rep1" / "card.json")
    train = roles.validate(
        read_parquet(args.data_dir / args.dataset / "rep1" / "train.parquet"), args.dataset
    )
    a, y = train[roles.treatment].to_numpy(), train[roles.outcome].to_numpy(dtype=float)
    truth, kind = card_truth(card)
    print(f"machine: {machine()['cpu']}; {args.dataset}: {len(train)} training rows, truth {truth} ({kind}), "
          f"difference in means {y[a == 1].mean() - y[a == 0].mean():.3f}")  # fmt: skip
    for learner in args.learners:
        for outcome_model in OUTCOME_MODELS:
            start = time.perf_counter()
            model = HybridGenerator(
                roles, learner=learner, random_state=args.seed, outcome_model=outcome_model
            )
            pool = model.fit(train, out_of_fold=True).sample_training_rows(
                np.arange(len(train)), args.seed + 1
            )
            print(f"{learner:32s} {outcome_model:8s} pool effect {engine_truth(pool, roles):.3f} "
                  f"({time.perf_counter() - start:.1f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
