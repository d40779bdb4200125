"""GReaT samplers side by side on one fitted model: be-great's ``GReaT.sample``, free, constrained.

    python benchmarks/great_sampler.py --dataset sim_paper --out results/great_sampler

Fits GReaT once (the default config's CPU settings unless told otherwise), then samples with
each sampler and prints, per sampler, valid rows per second, the valid share (rows that pass
:func:`~causalsynth.generate.checks.validate_rows`) and tokens sampled per valid row, and the
ratios constrained / free and constrained / be-great. Also prints the fit's seconds per epoch
and the fidelity of the constrained rows against the training table (mean over columns of the
two-sample KS statistic for continuous columns and the total variation distance of level
shares for the others; 0 is a perfect match), which is what ``--lora`` is compared on.
Writes the numbers as JSON to ``--out``.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _harness import save_result, side_by_side

from causalsynth.data import get_dataset
from causalsynth.generate import GReaTGenerator
from causalsynth.generate.checks import validate_rows

SAMPLERS = ("be_great", "free", "constrained")


def fidelity(synthetic: pd.DataFrame, real: pd.DataFrame, types: dict[str, str]) -> float:
    from scipy import stats

    distances = []
    for column, kind in types.items():
        if kind == "continuous":
            distances.append(stats.ks_2samp(synthetic[column], real[column]).statistic)
        else:
            p = real[column].astype(str).value_counts(normalize=True)
            q = synthetic[column].astype(str).value_counts(normalize=True)
            distances.append(0.5 * p.sub(q, fill_value=0).abs().sum())
    return float(np.mean(distances))


class _OutOfTime(Exception):
    pass


def be_great_sample(
    gen: GReaTGenerator, train: pd.DataFrame, n: int, seed: int, max_seconds: float
) -> tuple[pd.DataFrame, int, int]:
    """be-great's own sampler on our fitted model: its rows, the tokens and texts it sampled.

    be-great retries until it has ``n`` rows; after ``max_seconds`` the next generation call
    raises, and be-great returns what it has (its loop catches the exception).
    """
    import contextlib

    import torch
    from be_great import GReaT

    great = GReaT.__new__(GReaT)
    great.model, great.tokenizer = gen.model_, gen.tokenizer_
    great.float_precision = gen.float_precision
    great.efficient_finetuning = ""
    great.device = None
    great._update_column_information(train)
    great._update_conditional_information(train, gen.start_column_)
    tokens = texts = 0
    generate = gen.model_.generate

    deadline = time.monotonic() + max_seconds

    def counting(*args, **kwargs):
        nonlocal tokens, texts
        if time.monotonic() > deadline:
            raise _OutOfTime(f"be-great sampling stopped after {max_seconds} s")
        out = generate(*args, **kwargs)
        tokens += int(out.shape[0] * (out.shape[1] - kwargs["input_ids"].shape[1]))
        texts += int(out.shape[0])
        return out

    gen.model_.generate = counting
    torch.manual_seed(seed)  # be-great samples from torch's global generator; a script owns it
    try:
        with contextlib.redirect_stdout(sys.stderr):
            rows = great.sample(
                n,
                temperature=gen.temperature,
                k=gen.sample_batch_size_,
                max_length=gen.max_new_tokens_ + 8,
                device="cpu",
            )
    finally:
        del gen.model_.generate
    return rows, tokens, texts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="sim_paper")
    ap.add_argument("--llm", default="smollm2")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--learning-rate", type=float, default=5e-4)
    ap.add_argument("--train-rows", type=int, default=300)
    ap.add_argument("--rows", type=int, default=200, help="rows each sampler is asked for")
    ap.add_argument("--lora-rank", type=int, default=0, help="0: full fine-tuning")
    ap.add_argument("--samplers", default=",".join(SAMPLERS))
    ap.add_argument("--be-great-seconds", type=float, default=300, help="time bound of be-great's sampler")
    ap.add_argument(
        "--fixed-order", action="store_true", help="no feature shuffling (a tiny model learns faster)"
    )
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("results/great_sampler"))
    args = ap.parse_args()
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")

    ds = get_dataset(args.dataset)
    train = ds.prepare(seed=20251101).train
    gen = GReaTGenerator(
        llm=args.llm,
        epochs=args.epochs,
        learning_rate=args.learning_rate,
        batch_size=32,
        temperature=0.7,
        float_precision=3,
        max_train_rows=args.train_rows,
        random_feature_order=not args.fixed_order,
        n_jobs=args.threads,
        random_state=0,
        device="cpu",
        lora={"rank": args.lora_rank, "alpha": 2 * args.lora_rank} if args.lora_rank else None,
        max_sampling_seconds=1800,
    )
    gen.fit(train, ds.roles, dataset=args.dataset)
    result: dict = {
        "dataset": args.dataset,
        "train_rows": gen.fit_info_["train_rows"],
        "epochs": args.epochs,
        "llm": args.llm,
        "lora_rank": args.lora_rank,
        "fit_seconds": gen.fit_seconds_,
        "seconds_per_epoch": float(np.mean(gen.fit_info_["epoch_seconds"])),
        "trainable_parameters": gen.fit_info_["trainable_parameters"],
        "final_loss": gen.fit_info_["epoch_loss"][-1],
        "samplers": {},
    }
    types = gen.spec_.types

    def draw(sampler: str) -> tuple[pd.DataFrame, int, int, dict]:
        """The valid rows of one sampler, the tokens and rows it sampled, and why rows were invalid."""
        if sampler == "be_great":
            raw, tokens, generated = be_great_sample(
                gen, train[list(gen.spec_.columns)], args.rows, seed=1, max_seconds=args.be_great_seconds
            )
            clean, reasons = validate_rows(raw, gen.spec_, gen.range_multiple)
            # be-great drops the texts it cannot parse; they count as invalid here
            reasons["dropped_by_be_great"] = generated - len(raw)
            return clean, tokens, generated, reasons
        gen.set_params(sampler=sampler)
        if sampler == "constrained" and gen.plan_ is None:
            raise SystemExit("the model was fitted without a constrained plan")
        clean = gen.sample(args.rows, seed=1)
        report = gen.sample_report_
        return clean, gen.sampling_stats_["sampled_tokens"], report["n_generated"], report["invalid_reasons"]

    runs = side_by_side({s: functools.partial(draw, s) for s in args.samplers.split(",")})
    for sampler, run in runs.items():
        clean, tokens, generated, reasons = run["result"]
        seconds = run["wall"]
        result["samplers"][sampler] = {
            "seconds": seconds,
            "cpu_seconds": run["cpu"],
            "generated": generated,
            "valid": len(clean),
            "valid_share": len(clean) / max(generated, 1),
            "valid_rows_per_second": len(clean) / seconds,
            "tokens_per_valid_row": tokens / max(len(clean), 1),
            "invalid_reasons": reasons,
            "fidelity": fidelity(clean, train, types) if len(clean) else None,
        }
    print(json.dumps(result, indent=2))
    s = result["samplers"]

    def ratio(a: float, b: float) -> str:
        return f"x{a / b:.2f}" if b else "x inf (none valid)"

    for a, b in (("constrained", "free"), ("constrained", "be_great")):
        if a in s and b in s:
            print(
                f"{a} / {b}: valid rows per second "
                f"{ratio(s[a]['valid_rows_per_second'], s[b]['valid_rows_per_second'])}, "
                f"valid share {s[a]['valid_share']:.1%} vs {s[b]['valid_share']:.1%}, tokens sampled per "
                f"valid row {s[a]['tokens_per_valid_row']:.1f} vs {s[b]['tokens_per_valid_row']:.1f} "
                f"({ratio(s[a]['tokens_per_valid_row'], s[b]['tokens_per_valid_row'])})"
            )
    name = f"{args.dataset}-{Path(args.llm).name}-{'lora' + str(args.lora_rank) if args.lora_rank else 'full'}.json"
    save_result(args.out, name, result)


if __name__ == "__main__":
    main()
