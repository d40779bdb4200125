"""TabularARGN's fit with torch's per-tensor AdamW loop against its foreach kernels, side by side.

    python benchmarks/argn_optimizer.py [--datasets nhefs actg175] [--repeat 1]

On each dataset (one train/holdout split, drawn here from the config's seed), fits
TabularARGN at the default config's settings and samples 1,000 rows, in one process, turn by
turn: once as torch builds AdamW on a CPU (``foreach`` off: a Python loop over the network's
parameter tensors at every step) and once inside ``causalsynth.generate.runtime.foreach_adam``
(the generator's way). Prints the machine, each fit's wall and CPU seconds, the ratio
foreach / loop, and whether the two samples are equal to the last bit (they must be: the two
implementations compute the same updates).
"""

from __future__ import annotations

import argparse
from contextlib import nullcontext
from pathlib import Path

from _harness import save_result, side_by_side

from causalsynth.config import Plan, read_config
from causalsynth.core.provenance import machine
from causalsynth.core.seeds import derive_seed
from causalsynth.data import get_dataset
from causalsynth.generate.run import make_generator

GENERATOR = "tabularargn"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", nargs="+", default=["nhefs", "actg175"])
    ap.add_argument("--repeat", type=int, default=1, help="turns per variant; the best is kept")
    ap.add_argument("--config", default="config/config.yaml")
    args = ap.parse_args()
    plan = Plan(read_config(args.config))
    seed = int(plan.config["seed"])
    cpu = machine()
    print(f"machine: {cpu['cpu']}, {cpu['logical_cores']} logical cores")
    results = {}
    for dataset in args.datasets:
        prepared = get_dataset(dataset).prepare(seed=derive_seed(seed, dataset))

        def fit_and_sample(foreach: bool, dataset=dataset, prepared=prepared):
            model = make_generator(
                plan.generator_type(GENERATOR), plan.generator_params(GENERATOR), random_state=seed
            )
            # the generator's fit turns foreach on (foreach_adam); _loop_adam, outside it, wins,
            # because foreach_adam's constructor calls the one it found on entry
            with nullcontext() if foreach else _loop_adam():
                model.fit(prepared.train, prepared.roles, dataset=dataset)
            return model.sample(1000, seed=derive_seed(seed, "sample"))

        timings = side_by_side(
            {"loop": lambda f=fit_and_sample: f(False), "foreach": lambda f=fit_and_sample: f(True)},
            repeat=args.repeat,
        )
        equal = timings["loop"]["result"].equals(timings["foreach"]["result"])
        print(
            f"{dataset}: fit and sample, loop {timings['loop']['wall']:.1f} s wall "
            f"({timings['loop']['cpu']:.1f} s CPU), foreach {timings['foreach']['wall']:.1f} s wall "
            f"({timings['foreach']['cpu']:.1f} s CPU): ratio {timings['foreach']['ratio']:.2f}; "
            f"samples bitwise equal: {equal}"
        )
        results[dataset] = {
            k: {"wall": v["wall"], "cpu": v["cpu"], "ratio": v["ratio"]} for k, v in timings.items()
        } | {"bitwise_equal": equal}
    out = save_result(
        Path("results/benchmark_results"), "argn_optimizer.json", {"machine": cpu, "results": results}
    )
    print(f"written: {out}")


def _loop_adam():
    """torch's own choice on a CPU (the per-tensor loop), whatever foreach_adam sets inside."""
    from unittest import mock

    import torch

    original = torch.optim.Adam.__init__

    def init(self, *a, foreach=None, **kw):
        original(self, *a, foreach=False, **kw)

    return mock.patch.object(torch.optim.Adam, "__init__", init)


if __name__ == "__main__":
    main()
