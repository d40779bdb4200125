"""Rule prepare_dataset on every dataset of the default config, two replicates, in a fresh directory."""

import json

import pandas as pd

from causalsynth.config import read_config

from .conftest import ROOT, snakemake

CARD_KEYS = {
    "dataset", "kind", "treatment", "outcome", "outcome_type", "covariates", "estimand",
    "n_train", "n_holdout", "n_dropped", "seed", "truth", "checks",
}  # fmt: skip


def test_prepare_every_dataset(workdir):
    datasets = list(read_config(ROOT / "config" / "config.yaml")["datasets"])
    targets = [f"results/data/{d}/rep{r}/card.json" for d in datasets for r in (1, 2)]
    # no timing here: a timed assertion fails on a loaded machine (benchmarks/ measure speed)
    snakemake("--cores", "2", *targets, cwd=workdir)
    for d in datasets:
        card = json.loads((workdir / f"results/data/{d}/rep1/card.json").read_text())
        assert CARD_KEYS <= set(card), CARD_KEYS - set(card)
        assert card["truth"]["ate"] is not None and card["truth"]["source"], d
        train = pd.read_parquet(workdir / f"results/data/{d}/rep1/train.parquet")
        assert len(train) == card["n_train"]
        assert card["checks"]["arms"]["n_treated"] + card["checks"]["arms"]["n_control"] == len(train)
        assert (workdir / f"logs/data/{d}/rep1.log").exists()
        # replicate 2 is its own draw: a fresh sample, or a fresh split of the real table
        other = pd.read_parquet(workdir / f"results/data/{d}/rep2/train.parquet")
        rows = set(pd.util.hash_pandas_object(train, index=False))
        assert rows != set(pd.util.hash_pandas_object(other, index=False)), d
