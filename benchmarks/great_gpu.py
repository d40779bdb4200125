"""GReaT on a GPU at the paper's settings: fit and sampling time per 1,000 rows, valid share.

    python benchmarks/great_gpu.py --llm resources/llm/smollm2 --out results/gpu

Fine-tunes GReaT (SmolLM2-135M by default) on the ``sim_paper`` RCT seed set (1,000 rows) for
50 epochs with batch 32, samples rows at temperature 0.7 with random feature order, and prints
(and writes as JSON) the device, fit seconds per epoch and per 1,000 training rows, sampling
seconds per 1,000 valid rows, and the share of valid rows with the reasons for invalid ones.

``--init-from-config DIR`` builds the model from the config and tokenizer in DIR with random
weights instead of loading trained ones: same architecture, tokens and so the same timings,
for machines to which the weights cannot be copied (its valid-row share then says nothing
about the pretrained model's).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from _harness import save_result, timed

from causalsynth.core.errors import ComponentFailure
from causalsynth.data import get_dataset
from causalsynth.generate import GReaTGenerator


def random_init_model(config_dir: Path, out_dir: Path, seed: int) -> Path:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(seed)  # a script, not a library: the global seed is this process's own
    config = AutoConfig.from_pretrained(config_dir)
    model = AutoModelForCausalLM.from_config(config)
    model.save_pretrained(out_dir)
    AutoTokenizer.from_pretrained(config_dir).save_pretrained(out_dir)
    return out_dir


def draw(gen: GReaTGenerator, rows: int) -> tuple[dict, str | None]:
    """The sampling report of ``rows`` rows, and the error that stopped it short (else None)."""
    try:
        gen.sample(rows, seed=1)
        return gen.sample_report_, None
    except ComponentFailure as exc:
        return getattr(exc, "report", {"error": str(exc)}), str(exc)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--llm", default="smollm2", help="model folder, .gguf file, hub id or 'smollm2'")
    ap.add_argument("--init-from-config", type=Path, default=None)
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--rows", type=int, default=2000, help="valid rows to sample")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--out", type=Path, default=Path("results/gpu"))
    args = ap.parse_args()
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")

    import torch

    llm = args.llm
    if args.init_from_config is not None:
        llm = str(random_init_model(args.init_from_config, args.out / "random-init-model", seed=0))
    ds = get_dataset("sim_paper")
    train = ds.prepare(seed=20251101).train
    gen = GReaTGenerator(
        llm=llm,
        epochs=args.epochs,
        batch_size=args.batch_size,
        temperature=0.7,
        random_feature_order=True,
        device=args.device,
        n_jobs=args.threads,
        random_state=0,
        max_sampling_seconds=240,
    )
    gen.fit(train, ds.roles, dataset="sim_paper")
    result = {
        "device": torch.cuda.get_device_name(0) if gen.device_ == "cuda" else "cpu",
        "llm": args.llm,
        "weights": "random init from config" if args.init_from_config else "pretrained",
        "train_rows": len(train),
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "fit_seconds": gen.fit_seconds_,
        "fit_seconds_per_epoch": gen.fit_seconds_ / args.epochs,
        "fit_seconds_per_epoch_per_1000_rows": gen.fit_seconds_ / args.epochs / len(train) * 1000,
        "fit_info": gen.fit_info_,
    }
    (report, error), _, seconds = timed(draw, gen, args.rows)
    if error is not None:
        result["sampling_error"] = error
    result["sampling"] = report
    if report.get("n_generated"):
        result["valid_share"] = report["n_valid"] / report["n_generated"]
        result["sample_seconds_per_1000_generated"] = seconds / report["n_generated"] * 1000
    if report.get("n_valid"):
        result["sample_seconds_per_1000_valid"] = seconds / report["n_valid"] * 1000
    save_result(args.out, "great_gpu.json", result)
    print(json.dumps({k: v for k, v in result.items() if k != "fit_info"}, indent=2, default=str))


if __name__ == "__main__":
    main()
