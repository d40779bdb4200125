"""A user's own CSV or Parquet file, described in the config: no code needed."""

from __future__ import annotations

import csv as _csv
import logging
import re
from pathlib import Path
from typing import Any

import pandas as pd

from causalsynth.core.errors import ConfigError, DataError
from causalsynth.core.roles import Roles
from causalsynth.data.base import Truth
from causalsynth.data.real import RealDataset
from causalsynth.data.validate import (
    check_columns_present,
    check_no_missing,
    infer_type,
    missing_rows,
)

logger = logging.getLogger(__name__)

# Separators tried when the header reads as a single column under ',' (`sep` not set).
DETECTED_SEPARATORS = (";", "\t")
# Characters that, inside the header's column names, most likely are the file's separator.
LIKELY_SEPARATORS = (",", ";", "\t", "|")
DECIMALS = (".", ",")
# A number written with a decimal comma (1,5 or -0,25 or 3), as a whole field.
_DECIMAL_COMMA = re.compile(r"[+-]?(\d+(,\d*)?|,\d+)([eE][+-]?\d+)?")
# Value maps: option -> (the role whose column it maps, label -> code).
VALUE_MAPS = {
    "treatment_values": ("treatment", {"treated": 1, "control": 0}),
    "outcome_values": ("outcome", {"positive": 1, "negative": 0}),
}


def _shown(sep: str) -> str:
    """A separator in a message."""
    return "a tab" if sep == "\t" else f"'{sep}'"


def _option(sep: str) -> str:
    """A separator as the config spells it."""
    return '"\\t"' if sep == "\t" else f"'{sep}'"


class CSVDataset(RealDataset):
    """Options: ``path`` (CSV or Parquet), ``treatment``, ``outcome``, ``outcome_type``
    (binary / continuous; inferred when omitted), ``covariates`` (a list of names, or a
    mapping name -> binary / categorical / continuous; all other columns when omitted),
    ``estimand`` (ATE or ATT), ``kind`` (real-rct or real-observational), ``reference_ate``
    and ``reference_source`` (a known value of the estimand, if any), ``missing`` (``error``,
    the default, or ``drop``: rows with a missing role value are dropped and counted),
    ``positivity_study`` (true to run the positivity study on it), ``holdout_fraction`` and
    ``max_rows``.

    The CSV dialect: ``sep`` (the field separator) and ``decimal`` (the decimal mark, ``.`` or
    ``,``), detected when not set: a header that reads as one column holding ``;`` (or a tab)
    sets that separator, and numeric columns whose text all parses with a decimal comma
    (``1,5``) set ``decimal: ','``. The card (``notes.csv``) and the log say which were used and
    why. ``treatment_values`` (``{treated: ..., control: ...}``) and ``outcome_values``
    (``{positive: ..., negative: ...}``, a binary outcome) say which of the column's values mean
    1 and 0: values compare as text after stripping spaces, case-sensitively; a side may list
    several values. A value outside the map is refused; the card records the map
    (``notes.value_maps``).
    """

    options = {
        "path": None,
        "treatment": None,
        "outcome": None,
        "outcome_type": None,
        "covariates": None,
        "estimand": "ATE",
        "kind": "real-observational",
        "reference_ate": None,
        "reference_source": "",
        "missing": "error",
        "positivity_study": False,
        "holdout_fraction": 0.3,
        "max_rows": None,
        "sep": None,
        "decimal": None,
        "treatment_values": None,
        "outcome_values": None,
    }
    dialect: dict[str, Any] | None = None
    value_maps: dict[str, Any] | None = None

    @property
    def kind(self) -> str:  # type: ignore[override]
        return self.params["kind"]

    @property
    def has_positivity_study(self) -> bool:  # type: ignore[override]
        return bool(self.params["positivity_study"])

    def source(self) -> str:
        return f"dataset '{self.dataset_id}' (file {self.params['path']})"

    def read(self) -> pd.DataFrame:
        path = Path(self.params["path"])
        src = self.source()
        if not path.exists():
            raise DataError(
                src,
                None,
                "the file does not exist",
                "correct `path` in the config (relative to the working directory)",
            )
        if path.stat().st_size == 0:
            raise DataError(
                src, None, "the file is empty", "point `path` to a file with a header row and data rows"
            )
        self.dialect = None
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        sep, sep_from = self._separator(path)
        with path.open(newline="") as fh:
            rows = _csv.reader(fh, delimiter=sep)
            header = next(rows, [])
            seen: set[str] = set()
            for name in header:
                if name in seen:
                    raise DataError(
                        src,
                        name,
                        "column name appears more than once in the header",
                        "give every column a unique name",
                    )
                seen.add(name)
            if header:
                self._check_header(header, sep, sep_from)
                self._check_fields(rows, len(header), sep, sep_from)
        text = {
            self.params[role]: str
            for key, (role, _) in VALUE_MAPS.items()
            if self.params[key] is not None and self.params[role] in header
        }
        decimal, decimal_from = self.params["decimal"], "config"
        try:
            df = pd.read_csv(path, sep=sep, decimal=decimal or ".", dtype=text or None)
        except pd.errors.EmptyDataError:
            raise DataError(
                src, None, "the file has no header and no rows", "point `path` to a CSV with a header row"
            ) from None
        if decimal is None:
            commas = self._decimal_comma_columns(df, set(text))
            decimal, decimal_from = (",", f"detected in {commas}") if commas else (".", "default")
            if commas:
                df = pd.read_csv(path, sep=sep, decimal=",", dtype=text or None)
        self.dialect = {"sep": sep, "sep_from": sep_from, "decimal": decimal, "decimal_from": decimal_from}
        logger.info(
            "%s: read with sep %s (%s) and decimal '%s' (%s)",
            src,
            _shown(sep),
            sep_from,
            decimal,
            decimal_from,
        )
        return df

    def _separator(self, path: Path) -> tuple[str, str]:
        """The field separator and where it comes from (config, detected or default)."""
        sep, decimal = self.params["sep"], self.params["decimal"]
        if sep is not None and not (isinstance(sep, str) and len(sep) == 1):
            raise ConfigError(
                f"dataset '{self.dataset_id}': option `sep` must be a single character, got {sep!r} "
                "(for example ';', or \"\\t\" for a tab)"
            )
        if decimal is not None and decimal not in DECIMALS:
            raise ConfigError(
                f"dataset '{self.dataset_id}': option `decimal` must be '.' or ',', got {decimal!r}"
            )
        if sep is not None:
            return sep, "config"
        with path.open(newline="") as fh:
            header = next(_csv.reader(fh), [])
        if len(header) == 1:
            found = [c for c in DETECTED_SEPARATORS if c in header[0]]
            if found:
                return max(found, key=header[0].count), "detected in the header"
        return ",", "default"

    def _declared(self) -> list[str]:
        """The column names the config gives (roles and named covariates)."""
        p = self.params
        covs = p["covariates"]
        named = [] if covs is None else list(covs)
        return [c for c in (p["treatment"], p["outcome"], *named) if isinstance(c, str)]

    def _check_header(self, header: list[str], sep: str, sep_from: str) -> None:
        """A header that hides the declared columns behind another separator is refused, with it."""
        missing = [c for c in self._declared() if c not in header]
        for other in LIKELY_SEPARATORS:
            if other == sep or not missing:
                continue
            if any(c in name.split(other) for name in header for c in missing):
                raise DataError(
                    self.source(),
                    None,
                    f"the header holds {_shown(other)}, not the separator {_shown(sep)} ({sep_from}), so "
                    f"the column(s) {missing} are not found (the header reads as {header[:5]})",
                    f"set `sep: {_option(other)}` for this dataset",
                )

    def _check_fields(self, rows: Any, n_header: int, sep: str, sep_from: str) -> None:
        """Every line holds as many fields as the header (a blank line is skipped, as pandas does)."""
        for row in rows:
            if not row or len(row) == n_header:
                continue
            problem = (
                f"line {rows.line_num} has {len(row)} field(s) separated by {_shown(sep)} ({sep_from}) "
                f"where the header has {n_header}"
            )
            line = sep.join(row)
            mixed = [c for c in LIKELY_SEPARATORS if c != sep and len(line.split(c)) == n_header]
            if mixed:
                raise DataError(
                    self.source(),
                    None,
                    f"{problem}; that line splits into {n_header} fields at {_shown(mixed[0])}: the file "
                    "mixes separators",
                    "use one separator throughout the file (and set `sep:` to it if it is not ',')",
                )
            raise DataError(
                self.source(),
                None,
                problem,
                "give every line as many fields as the header (quote a value that holds the separator)",
            )

    def _decimal_comma_columns(self, df: pd.DataFrame, text: set[str]) -> list[str]:
        """Numeric (or undeclared) columns read as text whose every value has a decimal comma form."""
        p = self.params
        covs = p["covariates"]
        if isinstance(covs, dict):
            candidates = [c for c, kind in covs.items() if kind == "continuous"]
        else:
            candidates = [c for c in (df.columns if covs is None else covs) if c != p["treatment"]]
        if p["outcome_type"] != "binary":
            candidates.append(p["outcome"])
        found = []
        for col in dict.fromkeys(candidates):
            if col in text or col not in df.columns or pd.api.types.is_numeric_dtype(df[col]):
                continue
            values = df[col].dropna().astype(str).str.strip()
            if (
                values.str.contains(",").any()
                and values.map(lambda v: bool(_DECIMAL_COMMA.fullmatch(v))).all()
            ):
                found.append(col)
        return found

    def build_roles(self, df: pd.DataFrame) -> Roles:
        p = self.params
        src = self.source()
        for key in ("treatment", "outcome"):
            if not p[key]:
                raise DataError(
                    src,
                    None,
                    f"option `{key}` is not set",
                    f"name the {key} column with `{key}:` in the config",
                )
        check_columns_present(df, [p["treatment"], p["outcome"]], src)
        covs = p["covariates"]
        if covs is None:
            covs = [c for c in df.columns if c not in (p["treatment"], p["outcome"])]
        if isinstance(covs, list):
            check_columns_present(df, covs, src)
            covs = {c: infer_type(df[c]) for c in covs}
        else:
            check_columns_present(df, list(covs), src)
        if not covs:
            raise DataError(
                src, None, "no covariate columns", "list the covariates with `covariates:` in the config"
            )
        outcome_type = p["outcome_type"] or (
            "binary"
            if p["outcome_values"] is not None or infer_type(df[p["outcome"]]) == "binary"
            else "continuous"
        )
        return Roles(
            treatment=p["treatment"],
            outcome=p["outcome"],
            outcome_type=outcome_type,
            covariates=dict(covs),
            estimand=p["estimand"],
        )

    def load(self) -> pd.DataFrame:
        return self.read()

    def load_checked(self) -> tuple[pd.DataFrame, int]:
        from causalsynth.data.validate import validate_table

        df = self.read()
        if len(df) == 0:
            raise DataError(self.source(), None, "the file has a header but no data rows", "add data rows")
        df = self.apply_value_maps(df)
        self.roles = self.build_roles(df)
        n_dropped = 0
        if self.params["missing"] == "drop":
            bad = missing_rows(df, self.roles)
            n_dropped = int(bad.sum())
            df = df.loc[~bad].reset_index(drop=True)
        else:
            check_no_missing(df, self.roles, self.source())
        validate_table(df, self.roles, self.source())
        return df, n_dropped

    def value_map(self, key: str) -> dict[str, list[str]] | None:
        """``treatment_values`` or ``outcome_values`` checked: label -> the values (as text) it covers."""
        spec = self.params[key]
        if spec is None:
            return None
        labels = list(VALUE_MAPS[key][1])
        where = f"dataset '{self.dataset_id}': option `{key}`"
        example = f"{{{labels[0]}: 'yes', {labels[1]}: 'no'}}"
        if not isinstance(spec, dict) or set(spec) != set(labels):
            raise ConfigError(
                f"{where} must map exactly {labels} to the column's values, for example {example}"
            )
        out: dict[str, list[str]] = {}
        for label in labels:
            values = spec[label] if isinstance(spec[label], list) else [spec[label]]
            for v in values:
                if isinstance(v, bool):
                    raise ConfigError(
                        f"{where}: {label} is the boolean {v} (YAML reads an unquoted yes/no, true/false "
                        f"or on/off as a boolean); quote it as the file spells it, for example {example}"
                    )
                if not isinstance(v, (str, int, float)) or not str(v).strip():
                    raise ConfigError(f"{where}: {label} must be a value or a list of values, got {v!r}")
            if not values:
                raise ConfigError(f"{where}: {label} lists no value")
            out[label] = list(dict.fromkeys(str(v).strip() for v in values))
        both = sorted(set(out[labels[0]]) & set(out[labels[1]]))
        if both:
            raise ConfigError(f"{where}: {both} is given for both {labels[0]} and {labels[1]}")
        return out

    def apply_value_maps(self, df: pd.DataFrame) -> pd.DataFrame:
        """The treatment (and outcome) recoded to 1/0 by their value maps; missing values stay missing."""
        self.value_maps = None
        maps: dict[str, Any] = {}
        for key, (role, codes) in VALUE_MAPS.items():
            mapping = self.value_map(key)
            col = self.params[role]
            if mapping is None or col not in df.columns:
                continue  # an absent column is refused, naming it, with the roles
            if role == "outcome" and self.params["outcome_type"] == "continuous":
                raise ConfigError(
                    f"dataset '{self.dataset_id}': `outcome_values` maps a binary outcome, but "
                    "`outcome_type` is continuous; drop one of them"
                )
            present = df[col].notna()
            text = df[col].where(~present, df[col].astype(str).str.strip())
            lookup = {v: codes[label] for label, values in mapping.items() for v in values}
            outside = ~text.isin(list(lookup)) & present
            if outside.any():
                raise self._outside_map(key, col, mapping, text[outside])
            coded = text.map(lookup)
            df = df.assign(**{col: coded.astype("int64") if present.all() else coded})
            maps[role] = {
                "column": col,
                **mapping,
                "rows": {label: int((coded == code).sum()) for label, code in codes.items()},
            }
        self.value_maps = maps or None
        return df

    def _outside_map(
        self, key: str, col: str, mapping: dict[str, list[str]], outside: pd.Series
    ) -> DataError:
        values = sorted(outside.unique())
        shown = ", ".join(f"{lab}: {vals}" for lab, vals in mapping.items())
        problem = (
            f"{len(outside)} row(s) hold value(s) that `{key}` does not map: {values[:5]}"
            + (f" and {len(values) - 5} more" if len(values) > 5 else "")
            + f" (the map: {shown})"
        )
        known = {v.lower(): v for vals in mapping.values() for v in vals}
        variants = [v for v in values if v.lower() in known]
        first = next(iter(mapping))
        if variants:
            problem += (
                f"; values compare case-sensitively, and {variants[:5]} differ from "
                f"{[known[v.lower()] for v in variants[:5]]} only in case"
            )
            fix = (
                f"list every spelling under its side of `{key}` (for example {first}: "
                f"['{known[variants[0].lower()]}', '{variants[0]}']), or make the file's spelling consistent"
            )
        else:
            fix = (
                f"add each value to `{key}` under {' or '.join(mapping)} (a side may list several: "
                f"{first}: ['a', 'b']), or remove those rows from the file"
            )
        return DataError(self.source(), col, problem, fix)

    def prepare(self, seed: int):
        prepared = super().prepare(seed)
        if self.dialect is not None:
            prepared.notes["csv"] = self.dialect
        if self.value_maps is not None:
            prepared.notes["value_maps"] = self.value_maps
        return prepared

    def truth(self, full, train) -> Truth:
        p = self.params
        if p["reference_ate"] is None:
            return Truth(ate=None, kind=None, source="none: no reference value was configured")
        return Truth(
            ate=float(p["reference_ate"]),
            kind="reference",
            source=p["reference_source"] or "given in the config",
        )


class FrameDataset(CSVDataset):
    """A table already in memory (a notebook's DataFrame) under the ``csv`` loader's options and
    checks; ``name`` stands for the file in messages. Not in the registry: a config names files.
    The options of the file's dialect (``path``, ``sep``, ``decimal``) do not apply."""

    def __init__(self, dataset_id: str, frame: pd.DataFrame, name: str = "<real DataFrame>", **options: Any):
        if not isinstance(frame, pd.DataFrame):
            raise ConfigError(f"{name}: expected a pandas DataFrame, got {type(frame).__name__}")
        super().__init__(dataset_id, **options)
        self.frame = frame
        self.name = name

    def source(self) -> str:
        return self.name

    def read(self) -> pd.DataFrame:
        self.dialect = None
        # the caller's frame is never changed; a custom index would not survive the split anyway
        return self.frame.reset_index(drop=True)
