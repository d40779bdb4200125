"""What the optional CPU generators cost beside the default run's, side by side in one run.

    python benchmarks/cpu_generators.py [--config config/cpu_generators.yaml] \\
        [--generators gaussian_copula arf forest_diffusion] [--datasets sim_paper lalonde_nsw]
    python benchmarks/cpu_generators.py --config config/config.yaml --generators gaussian_copula ctgan tabularargn

One generate job as the rule runs it, in this process: the config's hyperparameters for each
generator, one thread, the job's own fit and sample seeds (``seed_for("generate", dataset,
generator, rep=1)``, as workflow/rules/common.smk derives them) and the config's rows, on
replicate 1's prepared split (``results/data/<dataset>/rep1/``; the workflow writes it:
``snakemake --cores 1 results/data/<dataset>/rep1/card.json``). A generator whose config entry
names datasets runs on those only, as in the workflow.

Prints the CPU model, then per (dataset, generator) the fit and sample CPU seconds (the
process's CPU time, so other load on the machine does not inflate them) and wall seconds, and
each generator's total CPU as a ratio to the first generator's on the same datasets: the cost
table of config/README.md ("ARF and ForestDiffusion") comes from this command.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
from _harness import ROOT, save_result, timed

from causalsynth.config import Plan, read_config
from causalsynth.core.io import read_parquet
from causalsynth.core.provenance import machine
from causalsynth.core.roles import read_card
from causalsynth.core.seeds import derive_seed
from causalsynth.generate.run import make_generator


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", type=Path, default=ROOT / "config" / "cpu_generators.yaml")
    ap.add_argument(
        "--generators",
        nargs="+",
        default=["gaussian_copula", "arf", "forest_diffusion"],
        help="configured generator ids; ratios are to the first",
    )
    ap.add_argument("--datasets", nargs="+", default=["sim_paper", "lalonde_nsw"])
    ap.add_argument("--data", type=Path, default=Path("results/data"))
    ap.add_argument("--out", type=Path, default=Path("results/cpu_generators"))
    args = ap.parse_args()
    config = read_config(args.config)
    plan = Plan(config)
    unknown = [g for g in args.generators if g not in config["generators"]]
    if unknown:
        sys.exit(
            f"{args.config}: no generator(s) {', '.join(unknown)}; it has {', '.join(config['generators'])}"
        )
    print(f"machine: {machine()['cpu']}; config {args.config}", flush=True)
    rows = []
    for dataset in args.datasets:
        d = args.data / dataset / "rep1"
        if not (d / "card.json").exists():
            sys.exit(f"{d / 'card.json'} is missing. Fix: snakemake --cores 1 {d / 'card.json'}")
        _, roles = read_card(d / "card.json")
        train = read_parquet(d / "train.parquet")
        for generator in args.generators:
            if generator not in plan.generators_for(dataset):
                print(f"{dataset} {generator}: not in its datasets in {args.config}", flush=True)
                continue
            seed = derive_seed(config["seed"], "generate", dataset, generator, "", 1)
            model = make_generator(
                plan.generator_type(generator),
                plan.generator_params(generator),
                instance=generator,
                replicate=1,
                n_jobs=1,
                random_state=derive_seed(seed, "fit"),
            )
            _, fit_cpu, fit_wall = timed(model.fit, train, roles, dataset=dataset)
            n_rows = plan.generator_rows(generator)
            synthetic, sample_cpu, sample_wall = timed(model.sample, n_rows, seed=derive_seed(seed, "sample"))
            row = {
                "dataset": dataset,
                "generator": generator,
                "train_rows": len(train),
                "columns": train.shape[1],
                "rows_sampled": len(synthetic),
                "fit_cpu_s": round(fit_cpu, 1),
                "sample_cpu_s": round(sample_cpu, 1),
                "cpu_s": round(fit_cpu + sample_cpu, 1),
                "wall_s": round(fit_wall + sample_wall, 1),
            }
            rows.append(row)
            print(" ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    table = pd.DataFrame(rows)
    if table.empty:
        sys.exit("nothing ran")
    totals = table.groupby("generator", sort=False)["cpu_s"].sum()
    first = args.generators[0]
    print(table.to_string(index=False))
    print(f"CPU seconds per generator over the datasets it ran on, and the ratio to {first}:")
    for generator, cpu in totals.items():
        shared = table[table.dataset.isin(table[table.generator == generator].dataset)]
        base = shared[shared.generator == first]["cpu_s"].sum()
        ratio = f"{cpu / base:.1f}x" if base > 0 else "n/a"
        print(f"  {generator}: {cpu:.1f} s ({ratio} {first} on the same datasets)")
    save_result(
        args.out, "cpu_generators.json", {"machine": machine(), "config": str(args.config), "jobs": rows}
    )


if __name__ == "__main__":
    main()
