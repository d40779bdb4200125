"""Rule provenance: the run's resolved config, dataset cards and every job's metadata in one file."""

from __future__ import annotations

from typing import Any

from causalsynth.core.io import read_json, write_json
from causalsynth.core.provenance import provenance_record


def write_provenance(
    config: dict[str, Any],
    cards: list[str],
    metas: list[str],
    out_path: str,
    releases: list[str] | None = None,
) -> None:
    """Gather the run's resolved config, dataset cards and every job's metadata in one file.

    ``releases``: the release gate's records (``results/privacy/<dataset>/release.json``); each
    set's verdict goes under ``release`` of the job whose meta.json it names, keyed by the set
    (``unfiltered``, ``filtered``), so a set's metadata says whether it may be handed out; the
    records themselves are kept whole under ``release``, by dataset.
    """
    record = provenance_record()
    record["config"] = config
    # one card per replicate's draw of the data, in the order of the replicates
    record["datasets"] = {}
    for p in cards:
        card = read_json(p)
        record["datasets"].setdefault(card["dataset"], []).append(card)
    record["jobs"] = {str(p): read_json(p) for p in metas}
    # the gate's records whole (thresholds, counts, checks), and each verdict beside its job
    record["release"] = {}
    for p in releases or []:
        gate = read_json(p)
        record["release"][gate["dataset"]] = gate
        for entry in gate["sets"]:
            job = record["jobs"].get(str(entry["meta"]))
            if job is not None:
                verdict = {k: entry[k] for k in ("releasable", "reason", "data")}
                job.setdefault("release", {})[entry["set"]] = verdict
    write_json(record, out_path)
