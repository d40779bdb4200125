"""GReaT's logits computed only where they are needed, side by side with the full computation.

    python benchmarks/great_logits.py [--dataset lalonde_nsw] [--train-rows 128] [--rows 100]

Two places where GReaT computed logits over the whole vocabulary that it then mostly threw away,
each timed both ways in one process, turn by turn, at the default config's settings
(SmolLM2-135M, batch 32, learning rate, float precision; fp32 unless --precision says otherwise):

* fine-tuning: the model's own loss (its head on every position, padding included, and
  log-softmax over the batch's whole logits) against ``causalsynth.generate.great.loss`` (the
  generator's way: the head on the labelled positions only, a chunk at a time). Prints the
  training seconds (epochs only, model loading excluded), their ratio chunked / own, and the
  per-epoch losses of both, which must agree to float rounding;
* constrained sampling: the head over the whole vocabulary, then the allowed tokens picked out,
  against ``constrained.allowed_logits`` (the sampler's way: the allowed tokens' rows of the
  head only), on the chunked fit. Prints the seconds for ``--rows`` rows, their ratio, and
  whether the two samples are equal to the last bit.

``lalonde_nsw`` is the default because its rows differ in length (61 to 84 tokens), so
batches carry padding; ``sim_paper``'s rows are all 57 tokens long.
"""

from __future__ import annotations

import argparse
from contextlib import nullcontext
from pathlib import Path
from unittest import mock

from _harness import save_result, side_by_side, side_by_side_setup

from causalsynth.core.seeds import derive_seed
from causalsynth.data import get_dataset
from causalsynth.generate.great import constrained
from causalsynth.generate.great import loss as great_loss
from causalsynth.generate.run import make_generator

GENERATOR = "great"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="lalonde_nsw")
    ap.add_argument("--train-rows", type=int, default=128, help="rows fine-tuned on (4 steps of 32)")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--rows", type=int, default=100, help="rows sampled per variant")
    ap.add_argument("--precision", default="fp32", help="fp32 or bf16 (the default config says auto)")
    ap.add_argument("--llm", default=None, help="model id or folder; default: the config's")
    args, plan, seed, cpu = side_by_side_setup(ap)
    prepared = get_dataset(args.dataset).prepare(seed=derive_seed(seed, args.dataset))
    params = {
        **plan.generator_params(GENERATOR),
        "epochs": args.epochs,
        "max_train_rows": args.train_rows,
        "precision": args.precision,
        "device": "cpu",
    }
    if args.llm:
        params["llm"] = args.llm

    def fit(chunked: bool):
        model = make_generator(plan.generator_type(GENERATOR), params, n_jobs=1, random_state=seed)
        own_loss = mock.patch.object(great_loss, "loss_path", lambda model, batch: None)
        with nullcontext() if chunked else own_loss:
            model.fit(prepared.train, prepared.roles, dataset=args.dataset)
        return model

    fits = side_by_side({"own": lambda: fit(False), "chunked": lambda: fit(True)}, repeat=args.repeat)
    own, chunked = fits["own"]["result"].fit_info_, fits["chunked"]["result"].fit_info_
    assert own["loss"] == "model" and chunked["loss"] == "chunked", (own["loss"], chunked["loss"])
    seconds = {name: sum(t["result"].fit_info_["epoch_seconds"]) for name, t in fits.items()}
    fit_ratio = seconds["chunked"] / seconds["own"]
    print(
        f"{args.dataset}: {own['train_rows']} rows, {own['steps']} steps of batch {params['batch_size']} "
        f"({own['tokens_per_row_mean']:.1f} tokens per row, max {own['tokens_per_row_max']}), "
        f"{args.precision}"
    )
    print(
        f"fine-tuning seconds: own loss {seconds['own']:.1f}, chunked {seconds['chunked']:.1f}: "
        f"ratio {fit_ratio:.2f} (whole fit, loading included: "
        f"{fits['own']['wall']:.1f} and {fits['chunked']['wall']:.1f} s)"
    )
    print(f"epoch losses: own {own['epoch_loss']}, chunked {chunked['epoch_loss']}")

    model = fits["chunked"]["result"]

    def sample(allowed_only: bool):
        full_head = mock.patch.object(
            constrained, "allowed_logits", lambda states, head, index: head(states).gather(1, index)
        )
        with nullcontext() if allowed_only else full_head:
            return model.sample(args.rows, seed=derive_seed(seed, "sample"))

    draws = side_by_side({"full": lambda: sample(False), "allowed": lambda: sample(True)}, repeat=args.repeat)
    equal = draws["full"]["result"].equals(draws["allowed"]["result"])
    print(
        f"constrained sampling, {args.rows} rows: whole-vocabulary head {draws['full']['wall']:.1f} s, "
        f"allowed tokens only {draws['allowed']['wall']:.1f} s: ratio {draws['allowed']['ratio']:.2f}; "
        f"samples bitwise equal: {equal}"
    )
    out = save_result(
        Path("results/benchmark_results"),
        "great_logits.json",
        {
            "machine": cpu,
            "dataset": args.dataset,
            "precision": args.precision,
            "steps": own["steps"],
            "fine_tuning_seconds": seconds,
            "fine_tuning_ratio": fit_ratio,
            "epoch_loss": {"own": own["epoch_loss"], "chunked": chunked["epoch_loss"]},
            "sampling_seconds": {k: v["wall"] for k, v in draws.items()},
            "sampling_ratio": draws["allowed"]["ratio"],
            "samples_bitwise_equal": equal,
        },
    )
    print(f"written: {out}")


if __name__ == "__main__":
    main()
