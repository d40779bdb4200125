"""The causal table: a DataFrame plus the roles of its columns.

Conventions every component relies on:

* the treatment column holds integers 0/1;
* a binary outcome holds integers 0/1, a continuous outcome finite floats;
* covariates are typed ``binary`` (integers 0/1), ``categorical`` (strings with a few
  levels) or ``continuous`` (finite floats).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

COVARIATE_TYPES = ("binary", "categorical", "continuous")
OUTCOME_TYPES = ("binary", "continuous")
ESTIMANDS = ("ATE", "ATT")


@dataclass(frozen=True)
class Roles:
    treatment: str
    outcome: str
    outcome_type: str
    covariates: dict[str, str] = field(default_factory=dict)
    estimand: str = "ATE"

    def __post_init__(self) -> None:
        if self.outcome_type not in OUTCOME_TYPES:
            raise ValueError(f"outcome_type must be one of {OUTCOME_TYPES}, got {self.outcome_type!r}")
        if self.estimand not in ESTIMANDS:
            raise ValueError(f"estimand must be one of {ESTIMANDS}, got {self.estimand!r}")
        for name, kind in self.covariates.items():
            if kind not in COVARIATE_TYPES:
                raise ValueError(f"covariate '{name}' has type {kind!r}; valid: {COVARIATE_TYPES}")

    @property
    def covariate_names(self) -> list[str]:
        return list(self.covariates)

    @property
    def columns(self) -> list[str]:
        return [*self.covariates, self.treatment, self.outcome]

    def of_type(self, kind: str) -> list[str]:
        return [c for c, k in self.covariates.items() if k == kind]

    def column_types(self) -> dict[str, str]:
        """Type of every column, treatment ('binary') and outcome included."""
        return {**self.covariates, self.treatment: "binary", self.outcome: self.outcome_type}

    def to_dict(self) -> dict[str, Any]:
        return {
            "treatment": self.treatment,
            "outcome": self.outcome,
            "outcome_type": self.outcome_type,
            "covariates": [{"name": n, "type": t} for n, t in self.covariates.items()],
            "estimand": self.estimand,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Roles:
        """Read roles from a dataset card (``card.json``) or :meth:`to_dict` output."""
        covs = d["covariates"]
        if isinstance(covs, list):
            covs = {c["name"]: c["type"] for c in covs}
        return cls(
            treatment=d["treatment"],
            outcome=d["outcome"],
            outcome_type=d["outcome_type"],
            covariates=dict(covs),
            estimand=d.get("estimand", "ATE"),
        )


def coerce_types(df: pd.DataFrame, roles: Roles) -> pd.DataFrame:
    """Return the role columns in role order with the canonical dtypes."""
    out = {}
    for col, kind in roles.column_types().items():
        s = df[col]
        if kind == "binary":
            out[col] = s.astype(np.int64)
        elif kind == "categorical":
            out[col] = s.astype(str).astype(object)
        else:
            out[col] = s.astype(np.float64)
    return pd.DataFrame(out, index=df.index)[roles.columns]
