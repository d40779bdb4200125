"""Rule provenance: the run's resolved config, dataset cards and every job's metadata in one file."""

from __future__ import annotations

from typing import Any

from causalsynth.core.io import read_json, write_json
from causalsynth.core.provenance import provenance_record


def write_provenance(config: dict[str, Any], cards: list[str], metas: list[str], out_path: str) -> None:
    """Gather the run's resolved config, dataset cards and every job's metadata in one file."""
    record = provenance_record()
    record["config"] = config
    # one card per replicate's draw of the data, in the order of the replicates
    record["datasets"] = {}
    for p in cards:
        card = read_json(p)
        record["datasets"].setdefault(card["dataset"], []).append(card)
    record["jobs"] = {str(p): read_json(p) for p in metas}
    write_json(record, out_path)
