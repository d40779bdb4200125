"""The release gate: whether a synthetic set may be handed out, decided on its measured risk.

The DCR filter (:mod:`causalsynth.privacy.dcr`) removes near-copies of training rows and the
attacks (:mod:`causalsynth.privacy.attacks`) measure what the filter leaves; the gate acts on
those measurements. Every attacked set is checked against the thresholds of ``privacy.release``
and gets one verdict (``vocabulary.RELEASE_VERDICTS``):

* ``yes``: every threshold that is on was measured, and none is exceeded;
* ``no``: a threshold is exceeded; or the set is a base generator's ``unfiltered`` set, which
  is never handed out (its DCR-screened ``filtered`` set is the release); or it is a hybrid
  whose base's filtered set of the same replicate is not releasable (the hybrid's covariates
  are that set's rows);
* ``not assessed``: nothing is exceeded, but the metric of a threshold has no value (a holdout
  too small for the attacks' control set, an empty set, a failed attack), or a hybrid's base was
  not assessed or not attacked: the gate cannot vouch for the set, so it does not call it
  releasable.

``release_reason`` says why: each threshold exceeded with its measured value and its limit
(and, for a releasable set, each measured value within its limit).

Each threshold (``THRESHOLDS``) reads the riskier end of its metric's 95% interval, so a set
passes only where the data place its risk below the limit; a wider interval (fewer attacks)
refuses more sets, never fewer:

* ``singling_out_risk``, ``linkability_risk``, ``inference_risk``: the interval's upper end;
* ``dcr_share_excess``: the DCR share's upper end minus its baseline (the training rows' share
  of the real rows: a set drawn afresh from the population sits at the baseline);
* ``nndr_shortfall``: the NNDR's baseline (the holdout rows' median ratio) minus the lower end
  of the median NNDR (lower is riskier).

A threshold set to null is off. The gate marks, it does not delete: a refused set stays on disk
and every later stage still measures it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from causalsynth.core.errors import ConfigError
from causalsynth.core.schema import resolve_section
from causalsynth.core.uncertainty import LEVEL
from causalsynth.core.vocabulary import (
    NOT_ASSESSED,
    NOT_RELEASABLE,
    OK,
    PRIVACY_METRICS,
    RELEASABLE,
    RELEASE_VERDICTS,
    generator_base,
    is_hybrid,
)

__all__ = [
    "THRESHOLDS",
    "Check",
    "Threshold",
    "Verdict",
    "check_set",
    "release_record",
    "release_thresholds",
    "release_verdicts",
    "set_verdict",
    "with_verdicts",
]

SECTION = "privacy.release"


@dataclass(frozen=True)
class Threshold:
    """A key of ``privacy.release``: which metric it reads and which end of its interval."""

    key: str
    metric: str
    end: str  # "upper": ci_high; "excess": ci_high - baseline; "shortfall": baseline - ci_low

    def measure(self, row: Mapping[str, Any]) -> float:
        high, low, base = (_number(row.get(k)) for k in ("ci_high", "ci_low", "baseline"))
        if self.end == "upper":
            return high
        return high - base if self.end == "excess" else base - low

    def describe(self, row: Mapping[str, Any], measured: float, limit: float, over: bool) -> str:
        sign = ">" if over else "<="
        if self.end == "upper":
            return f"{self.metric} upper {LEVEL:.0%} bound {measured:.3f} {sign} {limit:g}"
        if self.end == "excess":
            return (
                f"{self.metric} upper {LEVEL:.0%} bound {_number(row.get('ci_high')):.3f} minus its "
                f"baseline {_number(row.get('baseline')):.3f} = {measured:.3f} {sign} {limit:g}"
            )
        return (
            f"{self.metric} baseline {_number(row.get('baseline')):.3f} minus its lower {LEVEL:.0%} "
            f"bound {_number(row.get('ci_low')):.3f} = {measured:.3f} {sign} {limit:g}"
        )


THRESHOLDS = (
    Threshold("singling_out_risk", "singling_out_risk", "upper"),
    Threshold("linkability_risk", "linkability_risk", "upper"),
    Threshold("inference_risk", "inference_risk", "upper"),
    Threshold("dcr_share_excess", "dcr_share", "excess"),
    Threshold("nndr_shortfall", "nndr", "shortfall"),
)
assert {t.metric for t in THRESHOLDS} <= set(PRIVACY_METRICS)


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def release_thresholds(params: Mapping[str, Any] | None, where: str = SECTION) -> dict[str, float | None]:
    """``privacy.release`` over the schema's defaults; a limit that is not null or a number in
    [0, 1] fails with one line naming the key."""
    resolved = resolve_section(dict(params or {}), SECTION, where)
    for key, value in resolved.items():
        ok = value is None or (
            isinstance(value, int | float) and not isinstance(value, bool) and 0.0 <= value <= 1.0
        )
        if not ok:
            raise ConfigError(
                f"{where}: {SECTION}.{key} must be a number from 0 to 1, or null to turn it off; "
                f"got {value!r}"
            )
    return resolved


@dataclass(frozen=True)
class Check:
    """One threshold on one set: its limit, the measured value, and ``over``, ``within`` or
    ``not scored``."""

    threshold: str
    metric: str
    limit: float
    measured: float | None
    outcome: str
    text: str


def check_set(rows: Mapping[str, Mapping[str, Any]], thresholds: Mapping[str, float | None]) -> list[Check]:
    """Every threshold that is on, against a set's rows of the privacy table (metric -> row)."""
    checks = []
    for t in THRESHOLDS:
        limit = thresholds.get(t.key)
        if limit is None:
            continue
        row = rows.get(t.metric)
        measured = t.measure(row) if row is not None and row.get("status") == OK else math.nan
        if math.isfinite(measured):
            over = measured > limit
            text = t.describe(row, measured, float(limit), over)
            checks.append(Check(t.key, t.metric, float(limit), measured, "over" if over else "within", text))
            continue
        why = "no row" if row is None else row.get("status") if row.get("status") != OK else "no interval"
        checks.append(
            Check(t.key, t.metric, float(limit), None, "not scored", f"{t.metric} not scored ({why})")
        )
    return checks


@dataclass(frozen=True)
class Verdict:
    """A set's verdict, why, its checks, and (for a hybrid) its base's verdict."""

    releasable: str
    reason: str
    checks: tuple[Check, ...] = ()
    base: str | None = None
    base_releasable: str | None = None

    def __post_init__(self) -> None:
        assert self.releasable in RELEASE_VERDICTS, self.releasable


def set_verdict(
    checks: list[Check], set_name: str, base: tuple[str, Verdict | None] | None = None
) -> Verdict:
    """The verdict on one set from its checks; ``base`` = (base id, the verdict on its filtered
    set of the same replicate, None when it was not attacked) for a hybrid."""
    over = [c.text for c in checks if c.outcome == "over"]
    unscored = [c.text for c in checks if c.outcome == "not scored"]
    refused, unsure, parts = bool(over), bool(unscored), []
    if set_name != "filtered":
        refused = True
        parts.append("not screened by the DCR filter (the release is its filtered set)")
    if over:
        parts.append("over: " + "; ".join(over))
    base_id = base_verdict = None
    if base is not None:
        base_id, found = base
        base_verdict = found.releasable if found is not None else None
        if found is None:
            unsure = True
            parts.append(f"its base {base_id}'s filtered set of this replicate was not attacked")
        elif found.releasable == NOT_RELEASABLE:
            refused = True
            parts.append(f"its base {base_id} is not releasable ({found.reason})")
        elif found.releasable == NOT_ASSESSED:
            unsure = True
            parts.append(f"its base {base_id} is not assessed ({found.reason})")
        else:
            parts.append(f"its base {base_id} is releasable")
    if unscored:
        parts.append("; ".join(unscored))
    verdict = NOT_RELEASABLE if refused else NOT_ASSESSED if unsure else RELEASABLE
    if not checks:
        parts.append("every privacy.release threshold is off: only the DCR screen applies")
    elif not (over or unscored):
        # a releasable set shows each margin; a set held back for another reason says only that
        # its own measurements passed, after the reason that holds it back
        if verdict == RELEASABLE:
            parts.insert(0, "within every threshold: " + "; ".join(c.text for c in checks))
        else:
            parts.append("its own measurements are within every threshold")
    return Verdict(verdict, "; ".join(parts), tuple(checks), base_id, base_verdict)


def release_verdicts(
    table: pd.DataFrame, thresholds: Mapping[str, float | None]
) -> dict[tuple[str, int, str], Verdict]:
    """The verdict on every set of one dataset's privacy rows, keyed (generator, rep, set); a
    hybrid's after its base's, whose verdict it carries."""
    per_set: dict[tuple[str, int, str], dict[str, dict[str, Any]]] = {}
    for row in table.to_dict("records"):
        key = (str(row["generator"]), int(row["rep"]), str(row["set"]))
        per_set.setdefault(key, {})[str(row["metric"])] = row
    verdicts: dict[tuple[str, int, str], Verdict] = {}
    for key in sorted(per_set, key=lambda k: is_hybrid(k[0])):
        generator, rep, name = key
        base = None
        if is_hybrid(generator):
            base_id = generator_base(generator)
            base = (base_id, verdicts.get((base_id, rep, "filtered")))
        verdicts[key] = set_verdict(check_set(per_set[key], thresholds), name, base)
    return verdicts


def with_verdicts(table: pd.DataFrame, verdicts: Mapping[tuple[str, int, str], Verdict]) -> pd.DataFrame:
    """The privacy rows with their set's ``releasable`` and ``release_reason``."""
    keys = list(
        zip(table["generator"].astype(str), table["rep"].astype(int), table["set"].astype(str), strict=True)
    )
    return table.assign(
        releasable=[verdicts[k].releasable for k in keys],
        release_reason=[verdicts[k].reason for k in keys],
    )


def release_record(
    dataset: str,
    verdicts: Mapping[tuple[str, int, str], Verdict],
    thresholds: Mapping[str, float | None],
    files: Mapping[tuple[str, int, str], tuple[str, str]],
) -> dict[str, Any]:
    """release.json of a dataset: the thresholds, the count of sets per verdict and each set's
    verdict with its checks, its data file and the meta.json it belongs to (``files``)."""
    sets = []
    for (generator, rep, name), v in verdicts.items():
        data, meta = files[(generator, rep, name)]
        entry = {"generator": generator, "rep": rep, "set": name, "data": data, "meta": meta}
        entry |= {"releasable": v.releasable, "reason": v.reason, "checks": [asdict(c) for c in v.checks]}
        if v.base is not None:
            entry |= {"base": v.base, "base_releasable": v.base_releasable}
        sets.append(entry)
    counts = {
        verdict: sum(v.releasable == verdict for v in verdicts.values()) for verdict in RELEASE_VERDICTS
    }
    return {"dataset": dataset, "thresholds": dict(thresholds), "counts": counts, "sets": sets}
