"""The ``file`` generator: a synthetic set someone else made, read from a file instead of a fit.

A vendor, a colleague or a generator of one's own released the set; the entry names one file
per dataset and replicate::

    generators:
      vendor: {type: file, path: "synthetic/{dataset}_rep{rep}.csv"}

and the set then goes through everything a generated set does (DCR filter, privacy attacks,
fidelity, TSTR, the estimator grid, a hybrid on its covariates). The file (CSV, or Parquet by
its suffix) gets the checks real data gets (:func:`causalsynth.data.validate.validate_table`,
then :meth:`Roles.validate`), each failure a one-line :class:`DataError` naming the file, the
column and the fix. Decisions, documented in config/README.md:

* **Columns.** The dataset card's role columns are taken, other columns ignored; a file whose
  columns have other names maps them with ``columns: {their_name: our_name}``.
* **Missing values** are refused naming the column (``missing: error``), or with
  ``missing: drop`` the rows that have one are dropped and counted in meta.json.
* **More rows than n_rows** are subsampled without replacement with the job's sample seed, in
  file order (``extra_rows: subsample``), so every set of a run has the size its generators'
  sets have; ``extra_rows: refuse`` stops the job instead. A file with fewer rows is used whole
  (meta.json's ``n_valid`` says how many; the job's log warns).
* **Levels** of a categorical column that the replicate's training table lacks are dropped and
  counted like a generator's invalid rows (``invalid_reasons`` in meta.json; nothing downstream
  has a column for a level its training table lacks).
"""

from __future__ import annotations

import hashlib
import logging
import string
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from causalsynth.core.errors import ComponentFailure, ConfigError, DataError
from causalsynth.core.roles import Roles, require_columns
from causalsynth.generate.base import Generator, SamplingBudget
from causalsynth.generate.checks import TableSpec, validate_rows
from causalsynth.generate.registry import GENERATORS

logger = logging.getLogger("causalsynth.generate")

PLACEHOLDERS = ("dataset", "rep")
EXTRA_ROWS = ("subsample", "refuse")
MISSING = ("error", "drop")
_PARQUET = (".parquet", ".pq")
_CSV = (".csv", ".csv.gz", ".tsv", ".tsv.gz")


def source_path(pattern: str, dataset: str, rep: int | None, who: str | None = None) -> str:
    """``pattern`` with ``{dataset}`` and ``{rep}`` filled in; another placeholder is a ConfigError."""
    at = f"generator '{who}': " if who else ""
    if not isinstance(pattern, str) or not pattern:
        raise ConfigError(f"{at}path must be a file name or pattern, got {pattern!r}")
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(pattern) if f is not None]
    except ValueError as exc:
        raise ConfigError(f"{at}path {pattern!r} is not a valid pattern ({exc})") from None
    unknown = sorted({f for f in fields if f not in PLACEHOLDERS})
    if unknown:
        raise ConfigError(
            f"{at}path {pattern!r} has the placeholder(s) {unknown}; only {{dataset}} and {{rep}} are "
            "filled in"
        )
    if "rep" in fields and rep is None:
        raise ConfigError(f"{at}path {pattern!r} has {{rep}}, but no replicate was given")
    return pattern.format(dataset=dataset, rep=rep)


def sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_set(path: str, source: str) -> tuple[pd.DataFrame, str]:
    """The file as a DataFrame and its format; one DataError for a file that does not read."""
    name = path.lower()
    if name.endswith(_PARQUET):
        fmt = "parquet"
    elif name.endswith(_CSV):
        fmt = "csv"
    else:
        raise DataError(
            source,
            None,
            "is neither CSV nor Parquet (by its suffix)",
            f"write the set as one of {', '.join(_CSV + _PARQUET)}",
        )
    try:
        if fmt == "parquet":
            return pd.read_parquet(path), fmt
        return pd.read_csv(path, sep="\t" if ".tsv" in name else ","), fmt
    except Exception as exc:  # any reader's error is the file's problem, told in one line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise DataError(
            source,
            None,
            f"cannot be read as {fmt} ({type(exc).__name__}: {first})",
            f"check that it is a {fmt} file with a header row",
        ) from None


def _yaml_option(key: str, value: str) -> str:
    return f"`{key}: {value}`"


def check_release(
    raw: pd.DataFrame,
    roles: Roles,
    spec: TableSpec,
    source: str,
    *,
    columns: dict[str, str] | None = None,
    missing: str = "error",
    min_rows: int = 2,
    entry: str,
    option: Callable[[str, str], str] = _yaml_option,
    what: str = "file",
) -> tuple[pd.DataFrame, dict[str, int], int]:
    """A released set held to the checks real data gets (module docstring): its usable rows
    (role columns, canonical dtypes), the rows dropped by reason and the rows with a missing
    value dropped (``missing: drop``). ``spec``: the training table's schema, whose levels the
    rows must use. Messages name ``source``; a fix names the option ``option(key, value)`` of
    ``entry`` (the generator's entry, or the call) and calls the set a ``what``."""
    from causalsynth.data.validate import validate_table

    mapping = dict(columns or {})
    for theirs, ours in mapping.items():
        if theirs not in raw.columns:
            raise DataError(
                source,
                theirs,
                f"not in the {what}, but `columns` of {entry} maps it to '{ours}' (the {what} has: "
                f"{list(raw.columns)})",
                f"correct the key in `columns` of {entry}",
            )
        if ours not in roles.columns:
            raise DataError(
                source,
                theirs,
                f"`columns` maps it to '{ours}', which is not a column of the dataset ({roles.columns})",
                f"map it to one of the dataset's columns in `columns` of {entry}",
            )
    renamed = raw.rename(columns=mapping)
    require_columns(
        renamed,
        roles.columns,
        source,
        f"add the column to the {what}, or map the {what}'s name for it with "
        f"{option('columns', '{<its name>: <column>}')} in {entry}",
    )
    table = renamed[roles.columns]
    n_missing = 0
    if missing == "drop":
        has_missing = table.isna().any(axis=1)
        n_missing = int(has_missing.sum())
        table = table.loc[~has_missing]
    else:
        for col in roles.columns:
            n = int(table[col].isna().sum())
            if n:
                raise DataError(
                    source,
                    col,
                    f"{n} missing value(s)",
                    f"fill them in or drop those rows, or set {option('missing', 'drop')} in {entry} to drop "
                    "(and count) them",
                )
    validate_table(table, roles, source)
    typed = roles.validate(table, source, min_rows=min_rows, both_arms=True)
    # a level the training table lacks: dropped and counted, as a generator's invalid row
    rows, invalid = validate_rows(typed, spec, range_multiple=None)
    if rows.empty:
        raise DataError(
            source,
            None,
            f"no row is usable (invalid rows by reason: {invalid})",
            "use the levels of the dataset's categorical columns",
        )
    return rows, invalid, n_missing


@GENERATORS.register("file")
class FileGenerator(Generator):
    """A released synthetic set read from ``path`` (a pattern with ``{dataset}`` and ``{rep}``).

    ``columns`` maps the file's column names to the dataset's (``{their_name: our_name}``);
    ``extra_rows`` (``subsample`` or ``refuse``) says what a file with more than ``n_rows`` rows
    gets; ``missing`` (``error`` or ``drop``) what rows with a missing value get. There is no
    fit: ``fit`` checks the training table (for the schema the set is held to) and reads and
    checks the file, ``sample`` returns its rows. meta.json records the file under ``source``.
    """

    name = "file"
    packages = ("pyarrow",)
    # reading a file: no GPU, no language model, little memory and time
    mem_mb = 1000
    runtime_minutes = 10

    def __init__(
        self,
        path: str,
        columns: dict[str, str] | None = None,
        extra_rows: str = "subsample",
        missing: str = "error",
        n_jobs: int = 1,
        random_state: int = 0,
    ):
        self.path = path
        self.columns = columns
        self.extra_rows = extra_rows
        self.missing = missing
        self.n_jobs = n_jobs
        self.random_state = random_state

    @classmethod
    def input_files(cls, params: dict[str, Any], dataset: str, rep: int) -> list[str]:
        return [source_path(params.get("path"), dataset, rep)]

    def _check_own_params(self) -> None:
        who = f"generator '{self._who}'"
        source_path(self.path, "dataset", 1, self._who)
        if self.columns is not None and not (
            isinstance(self.columns, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in self.columns.items())
        ):
            raise ConfigError(
                f"{who}: columns must map the file's column names to the dataset's, "
                f"{{their_name: our_name}}, got {self.columns!r}"
            )
        if self.columns and len(set(self.columns.values())) < len(self.columns):
            twice = sorted(v for v in set(self.columns.values()) if list(self.columns.values()).count(v) > 1)
            raise ConfigError(f"{who}: columns maps two of the file's columns to {twice[0]!r}")
        if self.extra_rows not in EXTRA_ROWS:
            raise ConfigError(
                f"{who}: extra_rows must be one of {', '.join(EXTRA_ROWS)}, got {self.extra_rows!r}"
            )
        if self.missing not in MISSING:
            raise ConfigError(f"{who}: missing must be one of {', '.join(MISSING)}, got {self.missing!r}")

    # ----------------------------------------------------------------------- reading
    def _fit(self, data: pd.DataFrame, roles: Roles) -> None:

        path = source_path(self.path, self.dataset_, self.replicate_, self._who)
        entry = f"generators/{self._who}"
        rep = "" if self.replicate_ is None else f", replicate {self.replicate_}"
        source = f"file '{path}' (generator '{self._who}', dataset '{self.dataset_}'{rep})"
        if not Path(path).is_file():
            raise DataError(
                source,
                None,
                "the synthetic set is missing",
                f"write the file, or correct `path` of {entry} (a pattern may hold {{dataset}} and {{rep}})",
            )
        raw, fmt = read_set(path, source)
        rows, invalid, n_missing = check_release(
            raw, roles, self.spec_, source, columns=self.columns, missing=self.missing, min_rows=self.min_rows,
            entry=entry,
        )  # fmt: skip
        if invalid:
            logger.warning("%s: dropped %d row(s) of %s: %s", self._who, sum(invalid.values()), path, invalid)
        self.rows_ = rows
        self.invalid_ = {**({"nan": n_missing} if n_missing else {}), **invalid}
        self.source_ = {
            "path": path,
            "sha256": sha256(path),
            "format": fmt,
            "rows": len(raw),
            "columns": dict(self.columns or {}),
            "rows_with_missing_dropped": n_missing,
        }
        logger.info("%s: read %d rows of %s (sha256 %s)", self._who, len(raw), path, self.source_["sha256"])

    def _sample(self, n: int, seed: int, budget: SamplingBudget) -> pd.DataFrame:
        raise NotImplementedError("the file generator's sample returns the file's rows")

    # ----------------------------------------------------------------------- the set
    def sample(self, n: int, seed: int) -> pd.DataFrame:
        """The file's usable rows: ``n`` of them drawn with ``seed`` when there are more
        (``extra_rows: subsample``), all of them when there are ``n`` or fewer."""
        if not hasattr(self, "rows_"):
            raise ComponentFailure(f"generator '{self._who}': call fit before sample")
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ConfigError(f"generator '{self._who}': n must be a positive integer, got {n!r}")
        start = time.perf_counter()
        have = len(self.rows_)
        if have > n:
            if self.extra_rows == "refuse":
                raise DataError(
                    f"file '{self.source_['path']}' (generator '{self._who}', dataset '{self.dataset_}')",
                    None,
                    f"has {have} usable rows, more than the {n} asked for (n_rows)",
                    f"set n_rows of generators/{self._who} to {have}, or `extra_rows: subsample` to draw "
                    f"{n} of them with the job's seed",
                )
            keep = np.sort(np.random.default_rng(seed).choice(have, size=n, replace=False))
            out = self.rows_.iloc[keep].reset_index(drop=True)
        else:
            if have < n:
                logger.warning(
                    "%s: %s has %d usable rows, fewer than the %d asked for (n_rows): all are used",
                    self._who,
                    self.source_["path"],
                    have,
                    n,
                )
            out = self.rows_.copy()
        self.sample_report_ = {
            "n_requested": n,
            "n_generated": self.source_["rows"],
            "n_valid": len(out),
            "n_invalid": sum(self.invalid_.values()),
            "invalid_reasons": dict(sorted(self.invalid_.items())),
            "rounds": 0,
            "sample_seconds": time.perf_counter() - start,
        }
        return out

    def extra_meta(self) -> dict[str, Any]:
        # no fit: the file stands where a generator's fit parameters would
        return {"source": dict(self.source_), "fit_seed": None}
