"""Dataset registry: every entry yields a causal table with declared roles and its truth.

``get_dataset(id, **options)`` builds a loader; ``prepare_dataset`` is the entry point of the
workflow rule of the same name.
"""

from __future__ import annotations

from typing import Any

from causalsynth.core.registry import Registry
from causalsynth.core.seeds import derive_seed
from causalsynth.data.base import DatasetLoader, PreparedDataset, Truth
from causalsynth.data.checks import CheckSettings, run_checks
from causalsynth.data.csv import CSVDataset
from causalsynth.data.real import ACIC16, ACTG175, IHDP, NHEFS, ACTG175Steam, LalondeCPS, LalondeNSW
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
    "actg175": ACTG175,
    "actg175_steam": ACTG175Steam,
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


def default_checks(overrides: dict[str, Any] | None = None, folds: int = 1) -> dict[str, Any]:
    """Check settings outside a config: the schema's ``checks`` with ``overrides``, the schema's
    pairing threshold and ``folds`` (the estimation's cross-fitting folds; 1 without)."""
    from causalsynth.core.schema import default, resolve_section

    return {
        **resolve_section(overrides, "checks", "checks"),
        "propensity_threshold": default("pairing", "threshold"),
        "folds": folds,
    }


def prepare_checked(
    loader: DatasetLoader, seed: int, checks: dict[str, Any] | None = None
) -> tuple[PreparedDataset, dict[str, Any]]:
    """One draw of a dataset (load, validate, split) after the checks of ``checks``, and their
    report (the card's ``checks``): what ``prepare_dataset`` writes, and what
    :func:`causalsynth.api.prepare` returns for a table in memory."""
    prepared = loader.prepare(seed)
    frames, report = run_checks(
        {"train": prepared.train, "holdout": prepared.holdout, "positivity": prepared.positivity},
        prepared.roles,
        CheckSettings.from_config(checks or default_checks()),
        derive_seed(seed, "checks"),
        loader.source(),
    )
    prepared.train, prepared.holdout, prepared.positivity = (
        frames["train"],
        frames["holdout"],
        frames["positivity"],
    )
    return prepared, report


def prepare_dataset(
    dataset_id: str,
    options: dict[str, Any],
    seed: int,
    out_train: str,
    out_holdout: str,
    out_card: str,
    out_positivity: str | None = None,
    checks: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Load, validate, split and check one dataset; write train, holdout, card (and positivity sets).

    ``checks`` are the dataset's check settings (``Plan.dataset_checks``; default: the schema's
    with no cross-fitting), see :mod:`causalsynth.data.checks`.
    """
    from causalsynth.core.io import write_json, write_parquet

    opts = dict(options)
    opts.pop("checks", None)  # the workflow hands them over resolved, as `checks`
    loader = get_dataset(dataset_id, opts.pop("loader", None), **opts)
    prepared, report = prepare_checked(loader, seed, checks)
    card = build_card(dataset_id, prepared, seed, options)
    card["checks"] = report
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
    "default_checks",
    "get_dataset",
    "prepare_checked",
    "prepare_dataset",
]
