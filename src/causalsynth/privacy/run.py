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
from typing import Any

import pandas as pd

from causalsynth.core.errors import ConfigError, DataError
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
    data_paths: list[str],
    meta_paths: list[str],
    cells: list[tuple[str, int, str]],
    seeds: list[int],
    train_path: SplitPaths,
    holdout_path: SplitPaths,
    card_path: SplitPaths,
    params: dict[str, Any],
    dcr_params: dict[str, Any],
    out_table: str,
    threads: int = 1,
    out_release: str | None = None,
) -> pd.DataFrame:
    """Attack every releasable set of one dataset; gate each; write its rows of the privacy table
    and, with ``out_release``, its release.json.

    ``data_paths``, ``meta_paths``, ``cells`` ((generator, rep, set), set one of
    ``PRIVACY_SETS``) and ``seeds`` (the (generator, rep) cell's seed) name one set each; extra
    columns (a hybrid pool's mu0, mu1, propensity) are not released and not attacked.
    ``params``: the ``privacy`` block (its ``release`` thresholds drive the gate), ``dcr_params``:
    the ``dcr`` block (defaults from the schema). ``train_path``, ``holdout_path``,
    ``card_path``: each replicate's draw of the real data ({rep: path}; one path: a split every
    replicate shares), a set attacked against its own replicate's training and holdout rows.
    One job per dataset, as for fidelity: the imports of a job cost more than the attacks on one
    set. Progress (sets done, rate, time left) goes to the log.
    """
    if not (len(data_paths) == len(meta_paths) == len(cells) == len(seeds)):
        raise ConfigError("run_privacy_attacks: give one meta path, cell and seed per synthetic set")
    params = resolve_section(params, "privacy", "run_privacy_attacks")
    dcr_params = resolve_section(dcr_params, "dcr", "run_privacy_attacks")
    # checked before the attacks: a bad threshold should not cost the job its minutes
    thresholds = release_thresholds(params["release"], "run_privacy_attacks")
    first_rep = cells[0][1] if cells else 0
    card, roles = read_card(for_rep(card_path, first_rep))
    dataset = card.get("dataset", str(card_path))
    splits: dict[str, pd.DataFrame] = {}

    def split(paths: SplitPaths, rep: int) -> pd.DataFrame:
        path = for_rep(paths, rep)
        if path not in splits:
            splits[path] = roles.validate(read_parquet(path), path)
        return splits[path]

    progress = Progress(f"privacy attacks {dataset}", len(data_paths))
    rows = []
    for path, meta_path, (generator, rep, name), seed in zip(
        data_paths, meta_paths, cells, seeds, strict=True
    ):
        if name not in PRIVACY_SETS:
            raise DataError(
                str(meta_path), "set", f"unknown set {name!r}", f"use one of {list(PRIVACY_SETS)}"
            )
        t0 = time.perf_counter()
        synthetic = roles.validate(read_parquet(path), str(path))
        found = attack_set(
            roles,
            synthetic,
            split(train_path, rep),
            split(holdout_path, rep),
            params,
            dcr_params["categorical_weight"],
            derive_seed(seed, name),
            threads,
        )
        seconds = time.perf_counter() - t0
        cell = {"generator": generator, "rep": int(rep), "set": name, "seconds": seconds}
        rows += [r | cell | {"epsilon": epsilon_of(read_json(meta_path))} for r in found]
        progress.step()
    df = pd.DataFrame(rows, columns=list(PRIVACY.columns)).assign(dataset=dataset)
    df["rep"] = df["rep"].astype("int64")
    df["epsilon"] = df["epsilon"].astype(float)
    verdicts = release_verdicts(df, thresholds)
    df = with_verdicts(df, verdicts)
    write_parquet(df, out_table)
    if out_release is not None:
        files = {
            (str(g), int(r), str(s)): (str(p), str(m))
            for p, m, (g, r, s) in zip(data_paths, meta_paths, cells, strict=True)
        }
        write_json(release_record(dataset, verdicts, thresholds, files), out_release)
    return df
