"""The tables a notebook hands to :func:`~causalsynth.api.judge`, held to the workflow's checks.

The real table goes through what ``prepare_dataset`` does to a ``csv`` dataset (the loader's
checks, the seeded train/holdout split, the checks of the ``checks`` section); each synthetic
table through what the ``file`` generator does to a released set. A DataFrame is named
``<real DataFrame>`` or ``<synthetic DataFrame 'name'>`` in messages, a file by its path.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from causalsynth.core.errors import ConfigError, DataError
from causalsynth.core.seeds import derive_seed
from causalsynth.core.vocabulary import REAL
from causalsynth.data import PreparedDataset, default_checks, prepare_checked
from causalsynth.data.csv import CSVDataset, FrameDataset
from causalsynth.generate.checks import TableSpec
from causalsynth.generate.external import check_release, read_set

# judge() is one replicate of the workflow: its seeds are those of replicate 1 of a run whose
# `seed` and dataset id are judge's `seed` and `name`.
REPLICATE = 1
CALL = "the call"
_TableLike = pd.DataFrame | str | os.PathLike


def data_seed(seed: int, name: str) -> int:
    """The seed of the data draw (split, checks): the workflow's ``prepare_dataset`` job's."""
    return derive_seed(seed, "data", name, rep=REPLICATE)


# keywords of the call itself; every other option of the csv loader goes in `options`
KEYWORDS = ("treatment", "outcome", "covariates", "columns")


def _python_option(key: str, value: str) -> str:
    # a map or a quoted value reads as Python already; a bare word is a string
    value = value if value[:1] in "{'\"" else repr(value)
    return f"{key}={value}" if key in KEYWORDS else f"options={{'{key}': {value}}}"


# a fix of the csv loader says how to change the config; a call changes its keywords instead
_YAML_OPTION = re.compile(r"`(\w+): ([^`]+)`")
_YAML_KEY = re.compile(r"`(\w+):`")


def in_call_terms(exc: DataError, table: bool) -> DataError:
    """``exc`` with its fix told as keywords of the call (``missing='drop'``, not
    ``missing: drop`` in the config); ``table``: the input is a DataFrame, not a file."""
    fix = _YAML_OPTION.sub(lambda m: _python_option(m.group(1), m.group(2)), exc.fix)
    fix = _YAML_KEY.sub(r"\1=", fix).replace("in the config", f"in {CALL}")
    fix = fix.replace(" for this dataset", "").replace(" (a csv dataset)", "")
    if table:
        fix = fix.replace("the file", "the table")
    return DataError(exc.source, exc.column, exc.problem, fix)


def prepare(
    real: _TableLike,
    *,
    treatment: str,
    outcome: str,
    covariates: list[str] | dict[str, str] | None = None,
    options: Mapping[str, Any] | None = None,
    checks: Mapping[str, Any] | None = None,
    folds: int = 1,
    seed: int,
    name: str = "data",
) -> PreparedDataset:
    """The real table validated and split as the workflow prepares a ``csv`` dataset.

    ``real``: a DataFrame, or a CSV / Parquet path. ``covariates``: a list of names (types
    inferred), a mapping name -> ``binary`` / ``categorical`` / ``continuous``, or None (every
    other column). ``options``: further options of the ``csv`` loader (config/README.md:
    ``outcome_type``, ``estimand``, ``missing``, ``treatment_values``, ``outcome_values``,
    ``holdout_fraction``, ``max_rows``, ``reference_ate``, ...); ``checks``: the ``checks``
    block; ``folds``: the estimation's cross-fitting folds (1 without cross-fitting).
    The split is seeded by ``seed`` and ``name`` as the workflow's replicate 1 of a dataset
    ``name`` under the config's ``seed``. Returns the training rows (``train``), the rows
    kept back (``holdout``), the ``roles``, ``truth`` and, in ``notes["checks"]``, the
    checks' report (the card's ``checks``). Bad input: a one-line :class:`DataError` naming
    the table, the column and the fix.
    """
    opts = {**dict(options or {}), "treatment": treatment, "outcome": outcome, "covariates": covariates}
    for key in ("path", "positivity_study"):
        if key in opts:
            raise ConfigError(f"prepare: option {key!r} does not apply to a table handed over in a call")
    table = isinstance(real, pd.DataFrame)
    try:
        if table:
            loader: CSVDataset = FrameDataset(name, real, **opts)
        elif isinstance(real, str | os.PathLike):
            loader = CSVDataset(name, path=str(real), **opts)
        else:
            raise ConfigError(f"real: expected a pandas DataFrame or a file path, got {type(real).__name__}")
    except ValueError as exc:  # the loader's unknown options
        if isinstance(exc, ConfigError | DataError):
            raise
        raise ConfigError(str(exc)) from None
    try:
        prepared, report = prepare_checked(loader, data_seed(seed, name), default_checks(checks, folds))
    except DataError as exc:
        raise in_call_terms(exc, table) from None
    prepared.notes["checks"] = report
    return prepared


def synthetic_tables(synthetic: Any) -> dict[str, tuple[pd.DataFrame, str]]:
    """{set name: (table, how messages name it)} from a DataFrame, a path or a mapping of them.

    A lone DataFrame is the set ``synthetic``, a lone path the set named by its file's stem.
    """
    if isinstance(synthetic, pd.DataFrame | str | os.PathLike):
        name = "synthetic" if isinstance(synthetic, pd.DataFrame) else Path(synthetic).name.split(".")[0]
        synthetic = {name: synthetic}
    if not isinstance(synthetic, Mapping) or not synthetic:
        raise ConfigError(
            "synthetic: expected a DataFrame, a file path, or a non-empty dict of them by set name, "
            f"got {type(synthetic).__name__}"
        )
    out = {}
    for name, value in synthetic.items():
        if not isinstance(name, str) or not name or name == REAL:
            raise ConfigError(
                f"synthetic: the set name {name!r} is not allowed; name each set with a non-empty string "
                f"other than '{REAL}' (the real table's rows)"
            )
        if isinstance(value, pd.DataFrame):
            out[name] = (value.reset_index(drop=True), f"<synthetic DataFrame '{name}'>")
        elif isinstance(value, str | os.PathLike):
            source = f"file '{value}' (synthetic set '{name}')"
            if not Path(value).is_file():
                raise DataError(source, None, "the file does not exist", "correct the path")
            out[name] = (read_set(str(value), source)[0], source)
        else:
            raise ConfigError(
                f"synthetic set '{name}': expected a DataFrame or a file path, got {type(value).__name__}"
            )
    return out


def released_rows(
    raw: pd.DataFrame,
    source: str,
    prepared: PreparedDataset,
    columns: Mapping[str, str] | None,
    missing: str,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """A synthetic table's usable rows under the ``file`` generator's checks, and the rows
    dropped by reason (``nan``: a missing value under ``missing='drop'``; a level the
    training rows lack: ``unknown_category``)."""
    spec = TableSpec.from_table(prepared.train, prepared.roles)
    rows, invalid, n_missing = check_release(
        raw, prepared.roles, spec, source, columns=dict(columns or {}), missing=missing,
        entry=CALL, option=_python_option, what="file" if source.startswith("file") else "table",
    )  # fmt: skip
    return rows, {**({"nan": n_missing} if n_missing else {}), **invalid}
