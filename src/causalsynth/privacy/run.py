"""Rule privacy_attacks: attack every releasable set of a dataset, then gate its release.

The job writes two files, both its own: the dataset's rows of the privacy table
(``attacks.parquet``, with each set's ``releasable`` and ``release_reason``) and
``release.json``, the gate's record of every set (:func:`causalsynth.privacy.gate.release_record`:
the thresholds, the counts per verdict, and per set its verdict, reason, checks, data file and
the ``meta.json`` it belongs to). A set's ``meta.json`` belongs to the rule that made the set
(generate, hybrid) and is never rewritten here; the provenance rule puts each set's verdict
beside its meta.json's contents in ``results/provenance.json``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from causalsynth.core.cells import SetCell, set_cells
from causalsynth.core.errors import DataError
from causalsynth.core.io import read_json, read_parquet, write_json, write_parquet
from causalsynth.core.progress import Progress
from causalsynth.core.roles import read_card
from causalsynth.core.schema import resolve_section
from causalsynth.core.seeds import derive_seed
from causalsynth.core.splits import SplitPaths, for_rep
from causalsynth.core.vocabulary import PRIVACY, PRIVACY_SETS
from causalsynth.privacy.attacks import attack_set
from causalsynth.privacy.gate import release_record, release_thresholds, release_verdicts, with_verdicts

__all__ = ["epsilon_of", "run_privacy_attacks"]


def epsilon_of(meta: dict[str, Any]) -> float | None:
    """The differential-privacy budget a generator's meta.json records (``epsilon`` or
    ``params.epsilon``); None when it trained without one."""
    for value in (meta.get("epsilon"), (meta.get("params") or {}).get("epsilon")):
        if value is not None:
            return float(value)
    return None


def run_privacy_attacks(
    cells: Sequence[SetCell | Mapping[str, Any]],
    train_path: SplitPaths,
    holdout_path: SplitPaths,
    card_path: SplitPaths,
    params: dict[str, Any],
    dcr_params: dict[str, Any],
    out_table: str,
    n_jobs: int = 1,
    out_release: str | None = None,
) -> pd.DataFrame:
    """Attack every releasable set of one dataset; gate each; write its rows of the privacy table
    and, with ``out_release``, its release.json.

    ``cells``: one :class:`~causalsynth.core.cells.SetCell` per set, its ``version`` one of
    ``PRIVACY_SETS`` (the table's column ``set``) and its ``seed`` the (generator, rep) cell's;
    extra columns (a hybrid pool's mu0, mu1, propensity) are not released and not attacked.
    ``params``: the ``privacy`` block (its ``release`` thresholds drive the gate), ``dcr_params``:
    the ``dcr`` block (defaults from the schema). ``train_path``, ``holdout_path``,
    ``card_path``: each replicate's draw of the real data ({rep: path}; one path: a split every
    replicate shares), a set attacked against its own replicate's training and holdout rows.
    One job per dataset, as for fidelity: the imports of a job cost more than the attacks on one
    set. Progress (sets done, rate, time left) goes to the log.
    """
    cells = set_cells(cells, "run_privacy_attacks")
    params = resolve_section(params, "privacy", "run_privacy_attacks")
    dcr_params = resolve_section(dcr_params, "dcr", "run_privacy_attacks")
    # checked before the attacks: a bad threshold should not cost the job its minutes
    thresholds = release_thresholds(params["release"], "run_privacy_attacks")
    card, roles = read_card(for_rep(card_path, cells[0].rep))
    dataset = card.get("dataset", str(card_path))
    splits: dict[str, pd.DataFrame] = {}

    def split(paths: SplitPaths, rep: int) -> pd.DataFrame:
        path = for_rep(paths, rep)
        if path not in splits:
            splits[path] = roles.validate(read_parquet(path), path)
        return splits[path]

    progress = Progress(f"privacy attacks {dataset}", len(cells))
    rows = []
    for cell in cells:
        rep, name = cell.rep, cell.version
        if name not in PRIVACY_SETS:
            raise DataError(cell.meta, "set", f"unknown set {name!r}", f"use one of {list(PRIVACY_SETS)}")
        t0 = time.perf_counter()
        synthetic = roles.validate(read_parquet(cell.data), cell.data)
        found = attack_set(
            roles,
            synthetic,
            split(train_path, rep),
            split(holdout_path, rep),
            params,
            dcr_params["categorical_weight"],
            derive_seed(cell.seed, name),
            n_jobs,
        )
        seconds = time.perf_counter() - t0
        where = {"generator": cell.generator, "rep": rep, "set": name, "seconds": seconds}
        rows += [r | where | {"epsilon": epsilon_of(read_json(cell.meta))} for r in found]
        progress.step()
    df = pd.DataFrame(rows, columns=list(PRIVACY.columns)).assign(dataset=dataset)
    df["rep"] = df["rep"].astype("int64")
    df["epsilon"] = df["epsilon"].astype(float)
    verdicts = release_verdicts(df, thresholds)
    df = with_verdicts(df, verdicts)
    write_parquet(df, out_table)
    if out_release is not None:
        files = {(c.generator, c.rep, str(c.version)): (c.data, c.meta) for c in cells}
        write_json(release_record(dataset, verdicts, thresholds, files), out_release)
    return df
