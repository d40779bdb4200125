"""Dataset registry: every entry yields a causal table with declared roles and its truth.

``get_dataset(id, **options)`` builds a loader; ``prepare_dataset`` is the entry point of the
workflow rule of the same name.
"""

from __future__ import annotations

from typing import Any

from causalsynth.core.registry import Registry
from causalsynth.data.base import DatasetLoader, PreparedDataset, Truth
from causalsynth.data.csv import CSVDataset
from causalsynth.data.real import ACIC16, IHDP, NHEFS, LalondeCPS, LalondeNSW
from causalsynth.data.simulated import SimContinuous, SimPaper, SimulatedDataset

DATASETS: Registry[type[DatasetLoader]] = Registry("dataset loader")
for _name, _cls in {
    "sim_paper": SimPaper,
    "sim_continuous": SimContinuous,
    "lalonde_nsw": LalondeNSW,
    "lalonde_cps": LalondeCPS,
    "nhefs": NHEFS,
    "ihdp": IHDP,
    "acic16": ACIC16,
    "csv": CSVDataset,
}.items():
    DATASETS.add(_name, _cls)


def get_dataset(dataset_id: str, loader: str | None = None, **options: Any) -> DatasetLoader:
    """The loader for ``dataset_id`` (registered under ``loader``, by default the id itself)."""
    return DATASETS.get(loader or dataset_id)(dataset_id, **options)


def build_card(
    dataset_id: str, prepared: PreparedDataset, seed: int, options: dict[str, Any]
) -> dict[str, Any]:
    card: dict[str, Any] = {"dataset": dataset_id, "kind": prepared.kind}
    card.update(prepared.roles.to_dict())
    card.update(
        {
            "n_train": len(prepared.train),
            "n_holdout": len(prepared.holdout),
            "n_dropped": prepared.n_dropped,
            "seed": seed,
            "truth": prepared.truth.to_dict(),
            "positivity": None
            if prepared.positivity is None
            else {
                "n_sets": int(prepared.positivity["set"].nunique()),
                "n_rows": len(prepared.positivity),
                "truth": prepared.positivity_truth.ate if prepared.positivity_truth else None,
                "truth_kind": prepared.positivity_truth.kind if prepared.positivity_truth else None,
            },
            "options": options,
            "notes": prepared.notes,
        }
    )
    return card


def prepare_dataset(
    dataset_id: str,
    options: dict[str, Any],
    seed: int,
    out_train: str,
    out_holdout: str,
    out_card: str,
    out_positivity: str | None = None,
) -> dict[str, Any]:
    """Load, validate and split one dataset; write train, holdout, card (and positivity sets)."""
    from causalsynth.core.io import write_json, write_parquet

    opts = dict(options)
    loader = get_dataset(dataset_id, opts.pop("loader", None), **opts)
    prepared = loader.prepare(seed)
    card = build_card(dataset_id, prepared, seed, options)
    write_parquet(prepared.train, out_train)
    write_parquet(prepared.holdout, out_holdout)
    if out_positivity is not None:
        # always written so the rule has fixed outputs; no study = no rows
        positivity = prepared.positivity
        if positivity is None:
            positivity = prepared.train.iloc[:0].assign(set=0)
        write_parquet(positivity, out_positivity)
    write_json(card, out_card)
    return card


__all__ = [
    "DATASETS",
    "DatasetLoader",
    "PreparedDataset",
    "SimulatedDataset",
    "Truth",
    "build_card",
    "get_dataset",
    "prepare_dataset",
]
