"""Rule provenance: the run's resolved config, dataset cards and every job's metadata in one file."""

from __future__ import annotations

from typing import Any

from causalsynth.core.io import read_json, write_json
from causalsynth.core.provenance import provenance_record


def write_provenance(config: dict[str, Any], cards: list[str], metas: list[str], out_path: str) -> None:
    """Gather the run's resolved config, dataset cards and every job's metadata in one file."""
    record = provenance_record()
    record["config"] = config
    record["datasets"] = {read_json(p)["dataset"]: read_json(p) for p in cards}
    record["jobs"] = {str(p): read_json(p) for p in metas}
    write_json(record, out_path)
