"""Gather the per-job outputs of the workflow into the result tables (CSV and Markdown)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from causalsynth.core.io import read_json, write_table
from causalsynth.evaluate.evaluation import (
    ATE_COLUMNS,
    ENGINE_COLUMNS,
    POSITIVITY_COLUMNS,
    RANKING_COLUMNS,
    TSTR_COLUMNS,
    engine_ranking,
)

# Columns each table carries, in this order (the evaluations define them); extra columns follow.
TABLE_COLUMNS: dict[str, list[str]] = {
    "ate_preservation": ATE_COLUMNS,
    "tstr": TSTR_COLUMNS,
    "dcr": ["dataset", "generator", "rep", "n_filtered_low", "n_filtered_high"],
    "positivity": POSITIVITY_COLUMNS,
    "engine": ENGINE_COLUMNS,
    "engine_ranking": RANKING_COLUMNS,
}

# Provenance stays in the job's json (and results/provenance.json), out of the result tables.
_PROVENANCE_KEYS = {"versions", "git_commit", "platform"}
_CELL = re.compile(r"results/privacy/(?P<dataset>[^/]+)/(?P<generator>[^/]+)/rep(?P<rep>\d+)/dcr\.json$")


def _ordered(df: pd.DataFrame, name: str) -> pd.DataFrame:
    cols = TABLE_COLUMNS[name]
    for c in cols:
        if c not in df.columns:
            df[c] = pd.NA
    return df[cols + [c for c in df.columns if c not in cols]]


def concat_cells(paths: list[str]) -> pd.DataFrame:
    frames = [pd.read_parquet(p) for p in paths]
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _dedupe_real(df: pd.DataFrame) -> pd.DataFrame:
    """Every cell carries the real-data rows beside its own; keep one copy per dataset (rep 0)."""
    if df.empty:
        return df
    real = df["generator"] == "real"
    once = df[real].drop_duplicates(["dataset", "estimator", "learner"]).assign(rep=0)
    return pd.concat([once, df[~real]], ignore_index=True)


def dcr_table(paths: list[str]) -> pd.DataFrame:
    """One row per synthetic set: the scalar fields of its dcr.json (distributions stay in the json)."""
    rows = []
    for p in paths:
        m = _CELL.search(Path(p).as_posix())
        summary = {k: v for k, v in read_json(p).items() if k not in _PROVENANCE_KEYS}
        row = {k: v for k, v in _flatten(summary).items() if not isinstance(v, list)}
        if m:
            row = {"dataset": m["dataset"], "generator": m["generator"], "rep": int(m["rep"]), **row}
        rows.append(row)
    return pd.DataFrame(rows)


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            # quantile tables are keyed by level; they stay in the json for the figures
            if v and all(_is_number(x) for x in v):
                continue
            out.update(_flatten(v, key + "_"))
        else:
            out[key] = v
    return out


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except (TypeError, ValueError):
        return False


def collect_tables(
    estimates: list[str],
    tstr: list[str],
    dcr: list[str],
    positivity: list[str],
    engine: list[str],
    outputs: dict[str, str],
) -> dict[str, pd.DataFrame]:
    """Write every table to ``outputs[name]`` (CSV) and ``outputs[name + '_md']`` (Markdown)."""
    tables = {
        "ate_preservation": _dedupe_real(concat_cells(estimates)),
        "tstr": concat_cells(tstr),
        "dcr": dcr_table(dcr),
        "positivity": concat_cells(positivity),
        "engine": concat_cells(engine),
    }
    tables["engine_ranking"] = engine_ranking(tables["engine"]) if len(tables["engine"]) else pd.DataFrame()
    for name, df in tables.items():
        tables[name] = _ordered(df, name)
        write_table(tables[name], outputs[name], outputs[f"{name}_md"])
    return tables
