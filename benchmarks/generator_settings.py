"""Settings of one generator side by side: train-on-synthetic R^2 and outcome correlations.

    python benchmarks/generator_settings.py tabularargn \\
        --settings '{"numeric_bins": null, "flexible_generation": true}' '{}' \\
        --datasets sim_continuous ihdp --seeds 1 2
    python benchmarks/generator_settings.py ctgan \\
        --settings '{}' '{"pac": 2, "generator_lr": 1e-3, "discriminator_lr": 1e-3}'

Fits the generator once per (dataset, setting, seed) at one thread on a prepared dataset
(``results/data/<dataset>/rep1/train.parquet``, ``holdout.parquet`` and ``card.json``, written by
the workflow: ``snakemake --cores 2 results/data/<dataset>/rep1/card.json``), samples ``--rows``
rows and prints, per fit, the TSTR score of the workflow's ``tstr`` learner (or ``--learner``)
against the same learner trained on the real rows, the outcome's mean, the treated share, the
outcome's correlation with the treatment and with each continuous covariate (synthetic vs
real), and the fit seconds.
These are the numbers config/README.md quotes for TabularARGN's and CTGAN's settings.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pandas as pd
from _harness import save_result

from causalsynth.core.io import read_parquet
from causalsynth.core.roles import read_card
from causalsynth.core.schema import default
from causalsynth.core.seeds import derive_seed
from causalsynth.evaluate.tstr import outcome_score
from causalsynth.generate.run import make_generator


def outcome_correlations(table: pd.DataFrame, roles) -> dict[str, float]:
    numeric = [roles.treatment] + [c for c, kind in roles.column_types().items() if kind == "continuous"]
    numeric = [c for c in numeric if c != roles.outcome]
    frame = table[[*numeric, roles.outcome]].astype(float)
    return frame.corr()[roles.outcome].drop(roles.outcome).round(3).to_dict()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("generator")
    ap.add_argument("--settings", nargs="+", default=["{}"], help="JSON hyperparameters, one per setting")
    ap.add_argument("--datasets", nargs="+", default=["sim_continuous", "ihdp"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[1])
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument(
        "--learner", default=default("tstr", "learner"), help="the TSTR judge (default: the workflow's)"
    )
    ap.add_argument("--data", type=Path, default=Path("results/data"))
    ap.add_argument("--out", type=Path, default=Path("results/generator_settings"))
    args = ap.parse_args()
    settings = [json.loads(s) for s in args.settings]
    results = []
    for dataset in args.datasets:
        d = args.data / dataset / "rep1"
        if not (d / "card.json").exists():
            sys.exit(f"{d / 'card.json'} is missing. Fix: snakemake --cores 2 {d / 'card.json'}")
        _, roles = read_card(d / "card.json")
        train, holdout = read_parquet(d / "train.parquet"), read_parquet(d / "holdout.parquet")
        real_corr = outcome_correlations(train, roles)
        # the ceiling: the judge trained on the real rows, once per dataset (seed 11 for all)
        ceiling, _ = outcome_score(train, holdout, roles, args.learner, 11, 1)
        for params in settings:
            for seed in args.seeds:
                model = make_generator(args.generator, params, n_jobs=1, random_state=seed)
                start = time.perf_counter()
                model.fit(train, roles, dataset=dataset)
                fit_seconds = time.perf_counter() - start
                synthetic = model.sample(args.rows, seed=derive_seed(seed, "sample"))
                value, _ = outcome_score(
                    synthetic, holdout, roles, args.learner, derive_seed(seed, "tstr"), 1
                )
                result = {
                    "dataset": dataset,
                    "params": params,
                    "seed": seed,
                    "tstr": value,
                    "train_on_real": ceiling,
                    "outcome_mean": float(synthetic[roles.outcome].mean()),
                    "real_outcome_mean": float(train[roles.outcome].mean()),
                    "treated_share": float(synthetic[roles.treatment].mean()),
                    "real_treated_share": float(train[roles.treatment].mean()),
                    "outcome_corr": outcome_correlations(synthetic, roles),
                    "real_outcome_corr": real_corr,
                    "fit_seconds": fit_seconds,
                }
                results.append(result)
                print(
                    f"{dataset} {json.dumps(params)} seed {seed}: TSTR {value:.3f} "
                    f"(real {ceiling:.3f}), outcome mean {result['outcome_mean']:.4g} "
                    f"(real {result['real_outcome_mean']:.4g}), treated {result['treated_share']:.3f} "
                    f"(real {result['real_treated_share']:.3f}), corr with outcome "
                    f"{result['outcome_corr']} (real {real_corr}), fit {fit_seconds:.0f} s",
                    flush=True,
                )
    save_result(
        args.out,
        f"{args.generator}.json",
        {"generator": args.generator, "learner": args.learner, "fits": results},
    )


if __name__ == "__main__":
    main()
