"""The cells of a batched job: one record per unit of work, with everything that unit needs.

A batched job does the work of many cells: a per-dataset job (evaluate_synthetic, fidelity,
privacy_attacks) reads many sets (`SetCell`), a per-generator or per-dataset job (generate,
dcr_filter, hybrid) makes many replicates (`RepCell`). The workflow hands it one list of
records, each naming who the cell is of, its replicate, its files and its seeds, rather than
parallel lists whose orders must agree; `config.Plan` decides which cells a job holds and
`workflow/rules/common.smk` fills in their paths and seeds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from causalsynth.core.errors import ConfigError


class _Record:
    def record(self) -> dict[str, Any]:
        """The cell as the mapping the workflow passes (a rule's params), unset fields left out."""
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class SetCell(_Record):
    """One released set: the generator (or hybrid) that made it, its replicate, its table and
    meta.json, and the seed of the work done on it.

    ``tstr_seed``: the TSTR judge's seed (evaluate_synthetic); ``version``: which of the set's
    versions the privacy job attacks (`vocabulary.PRIVACY_SETS`)."""

    generator: str
    rep: int
    data: str
    meta: str
    seed: int
    tstr_seed: int | None = None
    version: str | None = None


@dataclass(frozen=True)
class RepCell(_Record):
    """One replicate a batched job makes: the generator (or hybrid) it is of, the replicate,
    the seed of its work (none for a screen, which draws nothing) and the table it starts from,
    where it starts from one (the set dcr_filter screens, the base covariates of a hybrid pool;
    none for a generator's fit or the oracle's pool)."""

    generator: str
    rep: int
    seed: int | None = None
    data: str | None = None


def set_cells(records: Iterable[SetCell | Mapping[str, Any]], who: str) -> list[SetCell]:
    """The job's set cells from the workflow's records (:func:`_cells`)."""
    return _cells(SetCell, records, who, "set", ())


def rep_cells(
    records: Iterable[RepCell | Mapping[str, Any]], who: str, needs: tuple[str, ...] = ()
) -> list[RepCell]:
    """The job's replicate cells from the workflow's records, each with the fields in ``needs``
    (:func:`_cells`)."""
    return _cells(RepCell, records, who, "replicate", needs)


def _cells(cls, records, who: str, kind: str, needs: tuple[str, ...]) -> list:
    """``records`` as ``cls`` cells, replicate and seed as ints; a malformed record, one without
    a field of ``needs`` or no record at all is a `ConfigError` naming the job (``who``)."""
    cells = []
    for i, record in enumerate(records):
        try:
            cell = record if isinstance(record, cls) else cls(**dict(record))
        except TypeError as err:
            names = ", ".join(f.name for f in fields(cls))
            raise ConfigError(
                f"{who}: cell {i} {dict(record)!r} is not a {kind} record ({err}); its fields: {names}"
            ) from None
        lacking = [k for k in needs if getattr(cell, k) is None]
        if lacking:
            raise ConfigError(
                f"{who}: cell {i} ({cell.generator}, rep {cell.rep}) has no {', '.join(lacking)}"
            )
        seed = None if cell.seed is None else int(cell.seed)
        cells.append(replace(cell, rep=int(cell.rep), seed=seed))
    if not cells:
        raise ConfigError(f"{who}: no {kind} records (the workflow gives one per {kind})")
    return cells
