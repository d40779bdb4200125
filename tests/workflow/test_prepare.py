"""Rule prepare_dataset on every dataset of the default config, in a fresh directory."""

import json
import time

import pandas as pd

from causalsynth.config import read_config

from .conftest import ROOT, snakemake

CARD_KEYS = {
    "dataset", "kind", "treatment", "outcome", "outcome_type", "covariates", "estimand",
    "n_train", "n_holdout", "n_dropped", "seed", "truth",
}  # fmt: skip


def test_prepare_every_dataset(workdir):
    datasets = list(read_config(ROOT / "config" / "config.yaml")["datasets"])
    targets = [f"results/data/{d}/card.json" for d in datasets]
    start = time.perf_counter()
    snakemake("--cores", "2", *targets, cwd=workdir)
    elapsed = time.perf_counter() - start
    assert elapsed < 120, f"preparing all datasets took {elapsed:.0f} s"
    for d in datasets:
        card = json.loads((workdir / f"results/data/{d}/card.json").read_text())
        assert CARD_KEYS <= set(card), CARD_KEYS - set(card)
        assert card["truth"]["ate"] is not None and card["truth"]["source"], d
        train = pd.read_parquet(workdir / f"results/data/{d}/train.parquet")
        assert len(train) == card["n_train"]
        assert (workdir / f"logs/data/{d}.log").exists()
