"""The TSTR judge: each learner's score trained on the real rows, and optionally on a run's sets.

    python benchmarks/tstr_judges.py
    python benchmarks/tstr_judges.py --generators tabularargn ctgan

A train-on-synthetic score means something only if the learner that computes it generalizes
when trained on the real rows: a judge that chases noise scores below the outcome's mean on a
real holdout, and then no synthetic set can look useful. For every prepared dataset
(``results/data/<dataset>/rep1/``, written by ``snakemake --cores 2 results/data/<dataset>/rep1/card.json``)
this prints, per learner of ``core.learners``, the holdout score (R^2 for a continuous outcome,
AUC for a binary one) of the learner trained on the real training rows, and the seconds of a
fit. With ``--generators`` it also scores the synthetic sets of a finished run
(``<results>/synthetic/<dataset>/<generator>/rep*/synthetic.parquet``) with each learner:
the mean over replicates and the gap to the real ceiling. config/README.md (`tstr`) quotes
these numbers.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from _harness import save_result

from causalsynth.core.io import read_parquet
from causalsynth.core.learners import LEARNERS
from causalsynth.core.roles import read_card
from causalsynth.evaluate.tstr import outcome_score


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--learners",
        nargs="+",
        default=["linear", "random_forest", "gradient_boosting", "gradient_boosting_regularized"],
        help=f"of {', '.join(LEARNERS.names())}",
    )
    ap.add_argument("--results", type=Path, default=Path("results"))
    ap.add_argument("--generators", nargs="*", default=[], help="score these generators' sets too")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--out", type=Path, default=Path("results/benchmarks/tstr_judges"))
    args = ap.parse_args()
    for name in args.learners:
        LEARNERS.get(name)  # an unknown name fails here with the valid ones
    datasets = sorted(p.parent.parent.name for p in (args.results / "data").glob("*/rep1/card.json"))
    if not datasets:
        raise SystemExit(
            f"no prepared dataset under {args.results / 'data'}. "
            "Fix: snakemake --cores 2 results/data/<dataset>/rep1/card.json"
        )
    rows = []
    print("| dataset | metric | learner | real | seconds | " + " | ".join(args.generators) + " |")
    for dataset in datasets:
        d = args.results / "data" / dataset / "rep1"
        _, roles = read_card(d / "card.json")
        train, holdout = read_parquet(d / "train.parquet"), read_parquet(d / "holdout.parquet")
        metric = "auc" if roles.outcome_type == "binary" else "r2"
        sets = {
            generator: [
                read_parquet(p)
                for p in sorted(
                    (args.results / "synthetic" / dataset / generator).glob("rep*/synthetic.parquet")
                )
            ]
            for generator in args.generators
        }
        for learner in args.learners:
            start = time.perf_counter()
            real, status = outcome_score(train, holdout, roles, learner, args.seed, 1)
            seconds = time.perf_counter() - start
            row = {"dataset": dataset, "metric": metric, "learner": learner, "real": real}
            row.update(status=status, seconds=seconds)
            cells = []
            for generator, frames in sets.items():
                scores = [outcome_score(frame, holdout, roles, learner, args.seed, 1)[0] for frame in frames]
                mean = float(np.mean(scores)) if scores else float("nan")
                row[generator] = {"mean": mean, "reps": len(scores), "gap": real - mean}
                cells.append(f"{mean:.3f} (gap {real - mean:.3f}, {len(scores)} reps)" if scores else "-")
            rows.append(row)
            print(
                f"| {dataset} | {metric} | {learner} | {real:.3f} | {seconds:.2f} | "
                + " | ".join(cells)
                + " |"
            )
    print("\nmean R^2 trained on the real rows, continuous outcomes:")
    for learner in args.learners:
        values = [r["real"] for r in rows if r["learner"] == learner and r["metric"] == "r2"]
        print(f"  {learner}: {np.mean(values):.3f} over {len(values)} datasets")
    save_result(args.out, "tstr_judges.json", {"seed": args.seed, "rows": rows})


if __name__ == "__main__":
    main()
