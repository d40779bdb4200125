"""Rule collect_tables: gather the per-job outputs into the result tables (CSV and Markdown)."""

from __future__ import annotations

import pandas as pd

from causalsynth.core.errors import DataError
from causalsynth.core.io import read_json, write_table
from causalsynth.core.provenance import PROVENANCE_KEYS
from causalsynth.core.vocabulary import TABLES, deduplicate_real, order_columns

# Provenance stays in the job's json (and results/provenance.json), out of the result tables.
_PROVENANCE_KEYS = set(PROVENANCE_KEYS)
_CELL_KEYS = ("dataset", "generator", "rep")


def concat_cells(paths: list[str]) -> pd.DataFrame:
    frames = [pd.read_parquet(p) for p in paths]
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def dcr_table(paths: list[str]) -> pd.DataFrame:
    """One row per synthetic set: the scalar fields of its dcr.json (distributions stay in the json)."""
    rows = []
    for p in paths:
        summary = {k: v for k, v in read_json(p).items() if k not in _PROVENANCE_KEYS}
        absent = [k for k in _CELL_KEYS if summary.get(k) is None]
        if absent:
            raise DataError(str(p), absent[0], "the DCR summary does not name its cell", "rerun dcr_filter")
        flat = {k: v for k, v in _flatten(summary).items() if not isinstance(v, list)}
        rows.append({k: flat.pop(k) for k in _CELL_KEYS} | flat)
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
    engine_ranking: list[str] | None = None,
    privacy: list[str] | None = None,
    fidelity: list[str] | None = None,
    inferential_utility: list[str] | None = None,
) -> dict[str, pd.DataFrame]:
    """Write every table to ``outputs[name]`` (CSV) and ``outputs[name + '_md']`` (Markdown).

    ``engine`` and ``engine_ranking``: the evaluate stage's engine summary (ties judged over
    every n) and ranking (causalsynth.evaluate.ranking). ``privacy``: every releasable set's attack rows
    (causalsynth.privacy.attacks).
    """
    tables = {
        "ate_preservation": deduplicate_real(concat_cells(estimates)),
        "tstr": concat_cells(tstr),
        "dcr": dcr_table(dcr),
        "positivity": concat_cells(positivity),
        "engine": concat_cells(engine),
        "engine_ranking": concat_cells(engine_ranking or []),
        "privacy": concat_cells(privacy or []),
        "fidelity": concat_cells(fidelity or []),
        "inferential_utility": concat_cells(inferential_utility or []),
    }
    assert set(tables) == set(TABLES)
    for name, df in tables.items():
        tables[name] = order_columns(df, name)
        write_table(tables[name], outputs[name], outputs[f"{name}_md"])
    return tables
