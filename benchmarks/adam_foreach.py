"""Generators' fits with torch's per-tensor Adam loop against its foreach kernels, side by side.

    python benchmarks/adam_foreach.py [--generators tabularargn ctgan tvae] [--datasets nhefs actg175]

On each dataset (one train/holdout split, drawn here from the config's seed), fits each
generator at the default config's settings and samples 1,000 rows, in one process, turn by
turn: once as torch builds Adam/AdamW on a CPU (``foreach`` off: a Python loop over the
network's parameter tensors at every step) and once inside
``causalsynth.generate.runtime.foreach_adam``. Prints the machine, each fit's wall and CPU
seconds, the ratio foreach / loop, and whether the two samples are equal to the last bit (they
must be: the two implementations compute the same updates). TabularARGN fits inside
``foreach_adam`` (the default here); CTGAN and TVAE, whose networks have a dozen parameter
tensors, gained nothing from it and keep torch's default.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from _harness import save_result, side_by_side, side_by_side_setup

from causalsynth.core.seeds import derive_seed
from causalsynth.data import get_dataset
from causalsynth.generate.run import make_generator
from causalsynth.generate.runtime import foreach_adam


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--generators", nargs="+", default=["tabularargn"])
    ap.add_argument("--datasets", nargs="+", default=["nhefs", "actg175"])
    args, plan, seed, cpu = side_by_side_setup(ap)
    results: dict[str, dict] = {}
    for dataset in args.datasets:
        prepared = get_dataset(dataset).prepare(seed=derive_seed(seed, dataset))
        for generator in args.generators:

            def fit_and_sample(foreach: bool, generator=generator, dataset=dataset, prepared=prepared):
                model = make_generator(
                    plan.generator_type(generator), plan.generator_params(generator), random_state=seed
                )
                # TabularARGN's fit turns foreach on itself (foreach_adam); _loop_adam, outside
                # it, wins, because foreach_adam's constructor calls the one it found on entry
                with foreach_adam() if foreach else _loop_adam():
                    model.fit(prepared.train, prepared.roles, dataset=dataset)
                return model.sample(1000, seed=derive_seed(seed, "sample"))

            timings = side_by_side(
                {"loop": lambda f=fit_and_sample: f(False), "foreach": lambda f=fit_and_sample: f(True)},
                repeat=args.repeat,
            )
            equal = timings["loop"]["result"].equals(timings["foreach"]["result"])
            print(
                f"{dataset}, {generator}: fit and sample, loop {timings['loop']['wall']:.1f} s wall "
                f"({timings['loop']['cpu']:.1f} s CPU), foreach {timings['foreach']['wall']:.1f} s wall "
                f"({timings['foreach']['cpu']:.1f} s CPU): ratio {timings['foreach']['ratio']:.2f}; "
                f"samples bitwise equal: {equal}",
                flush=True,
            )
            results.setdefault(dataset, {})[generator] = {
                k: {"wall": v["wall"], "cpu": v["cpu"], "ratio": v["ratio"]} for k, v in timings.items()
            } | {"bitwise_equal": equal}
    out = save_result(
        Path("results/benchmark_results"), "adam_foreach.json", {"machine": cpu, "results": results}
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
