"""A user's own CSV or Parquet file, described in the config: no code needed."""

from __future__ import annotations

import csv as _csv
from pathlib import Path

import pandas as pd

from causalsynth.core.errors import DataError
from causalsynth.core.roles import Roles
from causalsynth.data.base import Truth
from causalsynth.data.real import RealDataset
from causalsynth.data.validate import (
    check_columns_present,
    check_no_missing,
    infer_type,
    missing_rows,
)


class CSVDataset(RealDataset):
    """Options: ``path`` (CSV or Parquet), ``treatment``, ``outcome``, ``outcome_type``
    (binary / continuous; inferred when omitted), ``covariates`` (a list of names, or a
    mapping name -> binary / categorical / continuous; all other columns when omitted),
    ``estimand`` (ATE or ATT), ``kind`` (real-rct or real-observational), ``reference_ate``
    and ``reference_source`` (a known value of the estimand, if any), ``missing`` (``error``,
    the default, or ``drop``: rows with a missing role value are dropped and counted),
    ``positivity_study`` (true to run the positivity study on it), ``holdout_fraction`` and
    ``max_rows``.
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
    }

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
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        with path.open(newline="") as fh:
            header = next(_csv.reader(fh), [])
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
        try:
            return pd.read_csv(path)
        except pd.errors.EmptyDataError:
            raise DataError(
                src, None, "the file has no header and no rows", "point `path` to a CSV with a header row"
            ) from None

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
            "binary" if infer_type(df[p["outcome"]]) == "binary" else "continuous"
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

    def truth(self, full, train) -> Truth:
        p = self.params
        if p["reference_ate"] is None:
            return Truth(ate=None, kind=None, source="none: no reference value was configured")
        return Truth(
            ate=float(p["reference_ate"]),
            kind="reference",
            source=p["reference_source"] or "given in the config",
        )
