"""The files inside the folder of a job that writes every replicate (or every set) at once.

A batched job (generate and dcr_filter per generator, hybrid per dataset) declares its folder as
its output; the files in it are named here once, for the job that writes them and for the
workflow's input functions that hand their paths to the jobs that read them.
"""

from __future__ import annotations

import os
from pathlib import Path

PathLike = str | os.PathLike


def _rep_files(folder: PathLike, rep: int, *names: str) -> tuple[str, ...]:
    base = Path(folder) / f"rep{int(rep)}"
    return tuple(str(base / name) for name in names)


def synthetic_files(folder: PathLike, rep: int) -> tuple[str, str]:
    """``synthetic.parquet`` and ``meta.json`` of replicate ``rep`` in a generator's folder."""
    return _rep_files(folder, rep, "synthetic.parquet", "meta.json")


def dcr_files(folder: PathLike, rep: int) -> tuple[str, str]:
    """``filtered.parquet`` and ``dcr.json`` of replicate ``rep`` in a generator's DCR folder."""
    return _rep_files(folder, rep, "filtered.parquet", "dcr.json")


def pool_files(folder: PathLike, hybrid: str, rep: int) -> tuple[str, str]:
    """``pool.parquet`` and ``meta.json`` of one hybrid's replicate in a dataset's hybrid folder."""
    return _rep_files(Path(folder) / hybrid, rep, "pool.parquet", "meta.json")


def mechanism_files(folder: PathLike, rep: int) -> tuple[str, str]:
    """The shared g and h of one replicate (``model.joblib``) and their ``meta.json``, in a
    dataset's hybrid folder."""
    return _rep_files(Path(folder) / "mechanisms", rep, "model.joblib", "meta.json")
