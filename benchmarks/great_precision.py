"""GReaT in fp32 and in bf16 mixed precision side by side: fit time, sampling rate, final loss.

    python benchmarks/great_precision.py                      # 64 rows, 1 epoch, 40 sampled rows
    python benchmarks/great_precision.py --train-rows 300 --epochs 3 --rows 300 --repeats 2

Fits GReaT (``precision: fp32`` and ``precision: bf16``, otherwise the same settings and seeds:
the default config's learning rate, batch and float precision) on the same rows of a prepared
dataset (``results/data/<dataset>/rep1/train.parquet`` and ``card.json``, written by the workflow),
samples with the constrained sampler, and prints per precision the fit seconds per epoch, the
final training loss, valid rows per second and the valid share, then the ratios bf16 / fp32.
With ``--repeats`` above 1 the order of the two alternates, so load from other processes falls
on both; the medians are reported. Writes the numbers as JSON to ``--out``. The speed-up needs
a CPU with bf16 instructions (AVX512-BF16 or AMX) or a GPU: the CPU model and whether the device
computes bf16 natively are printed first, and where bf16 is emulated the ratio is reported as the
slowdown it is, never as a gain. ``ONEDNN_MAX_CPU_ISA=AVX512_CORE_VNNI`` hides bf16 instructions
from oneDNN on a CPU that has them, to measure the other CPU kind on one machine.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np
from _harness import save_result, timed

from causalsynth.core.io import read_json, read_parquet
from causalsynth.core.provenance import machine
from causalsynth.core.roles import Roles
from causalsynth.generate.run import make_generator
from causalsynth.generate.runtime import bf16_support

PRECISIONS = ("fp32", "bf16")


def run_once(precision: str, args: argparse.Namespace, table, roles: Roles) -> dict:
    params = {
        "llm": args.llm,
        "epochs": args.epochs,
        "learning_rate": args.learning_rate,
        "batch_size": 32,
        "temperature": 0.7,
        "float_precision": 3,
        "max_train_rows": args.train_rows,
        "sampler": "constrained",
        "device": args.device,
        "precision": precision,
        "max_sampling_seconds": 1800,
    }
    gen = make_generator("great", params, n_jobs=args.threads, random_state=1)
    gen.fit(table, roles, dataset=args.dataset)
    rows, _, seconds = timed(gen.sample, args.rows, seed=2)
    report = gen.sample_report_
    return {
        "fit_seconds": gen.fit_seconds_,
        "seconds_per_epoch": float(np.mean(gen.fit_info_["epoch_seconds"])),
        "epoch_loss": gen.fit_info_["epoch_loss"],
        "final_loss": gen.fit_info_["epoch_loss"][-1],
        "steps": gen.fit_info_["steps"],
        "sample_seconds": seconds,
        "valid": len(rows),
        "valid_share": report["n_valid"] / max(report["n_generated"], 1),
        "valid_rows_per_second": len(rows) / seconds,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="sim_paper")
    ap.add_argument("--data-dir", type=Path, default=Path("results/data"))
    ap.add_argument("--llm", default="resources/llm/smollm2")
    ap.add_argument("--train-rows", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--learning-rate", type=float, default=5e-4)
    ap.add_argument("--rows", type=int, default=40, help="rows sampled per precision")
    ap.add_argument("--repeats", type=int, default=1, help="fits per precision, in alternating order")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", type=Path, default=Path("results/great_precision"))
    args = ap.parse_args()
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")

    import torch

    support = bf16_support(args.device)
    cpu = machine()
    print(f"machine: {cpu['cpu']}, {cpu['logical_cores']} logical cores; {args.device} bf16: "
          + ("native" if support["native_bf16"] else "emulated"), flush=True)  # fmt: skip
    torch.set_num_threads(args.threads)  # the generator limits its threads too; this covers loading
    folder = args.data_dir / args.dataset / "rep1"
    table = read_parquet(folder / "train.parquet")
    roles = Roles.from_dict(read_json(folder / "card.json"))
    runs: dict[str, list[dict]] = {p: [] for p in PRECISIONS}
    for repeat in range(args.repeats):
        for precision in PRECISIONS if repeat % 2 == 0 else PRECISIONS[::-1]:
            runs[precision].append(run_once(precision, args, table, roles))
    keys = ("seconds_per_epoch", "final_loss", "valid_rows_per_second", "valid_share", "fit_seconds")
    medians = {p: {k: float(np.median([r[k] for r in runs[p]])) for k in keys} for p in PRECISIONS}
    result = {
        "dataset": args.dataset,
        "llm": args.llm,
        "train_rows": min(args.train_rows, len(table)),
        "epochs": args.epochs,
        "rows": args.rows,
        "threads": args.threads,
        "device": args.device,
        "machine": cpu,
        "bf16_support": support,
        "torch": torch.__version__,
        "median": medians,
        "runs": runs,
    }
    print(json.dumps(result, indent=2))
    fp32, bf16 = medians["fp32"], medians["bf16"]
    kind = "native" if support["native_bf16"] else "EMULATED: a slowdown, not a gain to quote"
    print(
        f"bf16 / fp32 ({args.train_rows} rows, {args.epochs} epoch(s), {args.rows} sampled, "
        f"{args.threads} thread(s), {cpu['cpu']}, bf16 {kind}): "
        f"fit {fp32['seconds_per_epoch']:.1f} -> {bf16['seconds_per_epoch']:.1f} s per epoch "
        f"(speed x{fp32['seconds_per_epoch'] / bf16['seconds_per_epoch']:.2f}), "
        f"sampling {fp32['valid_rows_per_second']:.2f} -> {bf16['valid_rows_per_second']:.2f} valid rows/s "
        f"(x{bf16['valid_rows_per_second'] / fp32['valid_rows_per_second']:.2f}), "
        f"valid share {fp32['valid_share']:.0%} vs {bf16['valid_share']:.0%}, "
        f"final loss {fp32['final_loss']:.4f} vs {bf16['final_loss']:.4f}"
    )
    save_result(
        args.out, f"{args.dataset}-{args.train_rows}rows-{args.epochs}ep-{args.threads}t.json", result
    )


if __name__ == "__main__":
    main()
