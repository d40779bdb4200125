"""Checks of a prepared dataset that catch what would break estimation downstream.

Run by ``prepare_dataset`` on every dataset (built-in or a user's file), after the split and
before anything is written, with the thresholds of the config's ``checks`` section:

- categorical levels: at most ``max_levels`` per column; with ``rare_levels: merge`` the levels
  whose share of the training rows is under ``rare_level_share`` become ``other`` first (the
  kept levels are decided on the training split only, so the holdout never informs them);
- rows per arm: every arm of the training split holds at least ``min_rows_per_arm`` units, and
  never fewer than the estimators' minimum or the cross-fitting folds;
- overlap: a covariate that alone separates the arms (every level or side of a threshold holds
  a single arm) makes the effect unidentifiable; a cross-validated propensity model that
  separates them (AUC at least ``propensity_auc``) is as bad; ``overlap: error`` refuses the
  dataset for either, ``warn`` logs a warning that names the column. A share of units with a
  propensity beyond ``propensity_threshold`` (the pairing threshold) above ``max_extreme_share``
  is always a warning: estimation still works, with unstable weights. The diagnostics go to
  ``card.json`` in every case;
- extreme values: the outcome (when continuous) and every continuous covariate, by Tukey's
  fences: beyond ``outlier_iqr`` (k) times the IQR below the first or above the third quartile
  of the training rows (k = 3, Tukey's "far out": 4.7 standard deviations from the mean of a
  normal column, where about 2 values in a million fall). The card counts them per column (and
  split) and, for the outcome, how much they move the difference in means; ``outliers`` says
  what else happens: ``keep`` nothing, ``warn`` one warning line, ``winsorize`` clip train,
  holdout and positivity sets to the training fences (counted), ``error`` refuse the dataset.
  A column whose middle half holds a single value (IQR 0) has no usable fences and is skipped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from causalsynth.core.encoding import CovariateEncoder
from causalsynth.core.errors import DataError
from causalsynth.core.roles import MIN_ARM_UNITS, Roles, min_arm_units

logger = logging.getLogger(__name__)

OTHER_LEVEL = "other"
_CV_FOLDS = 5


@dataclass(frozen=True)
class CheckSettings:
    """The ``checks`` section of the config (defaults in the schema), plus what it depends on."""

    min_rows_per_arm: int
    max_levels: int
    rare_levels: str
    rare_level_share: float
    overlap: str
    propensity_auc: float
    propensity_threshold: float
    max_extreme_share: float
    folds: int = 1
    outliers: str = "warn"
    outlier_iqr: float = 3.0

    @classmethod
    def from_config(cls, checks: dict[str, Any]) -> CheckSettings:
        """From ``Plan.dataset_checks`` (the section, the pairing threshold and the folds)."""
        return cls(**checks)

    @property
    def arm_minimum(self) -> tuple[int, str]:
        """Units each training arm needs, and why that many."""
        need = {
            "checks.min_rows_per_arm": self.min_rows_per_arm,
            "the estimators' minimum": MIN_ARM_UNITS,
            f"{self.folds}-fold cross-fitting": self.folds,
        }
        why = max(need, key=need.get)
        return need[why], why


def merge_rare_levels(
    frames: dict[str, pd.DataFrame], roles: Roles, settings: CheckSettings, source: str
) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Merge rare levels (if asked) and enforce ``max_levels``; return the frames and counts."""
    train = frames["train"]
    merged: dict[str, Any] = {}
    out = dict(frames)
    for col, kind in roles.covariates.items():
        if kind != "categorical":
            continue
        if settings.rare_levels == "merge":
            shares = train[col].astype(str).value_counts(normalize=True)
            rare = sorted(shares.index[shares < settings.rare_level_share])
            if rare:
                kept = set(shares.index) - set(rare)
                for name, df in out.items():
                    if df is None:
                        continue
                    values = df[col].astype(str)
                    out[name] = df.assign(**{col: values.where(values.isin(kept), OTHER_LEVEL)})
                merged[col] = {
                    "levels_merged": len(rare),
                    "rows_merged": int(train[col].astype(str).isin(rare).sum()),
                    "into": OTHER_LEVEL,
                }
        levels = out["train"][col].nunique()
        if levels > settings.max_levels:
            raise DataError(
                source,
                col,
                f"categorical covariate has {levels} levels (at most checks.max_levels = "
                f"{settings.max_levels})",
                "set checks.rare_levels to merge (levels under checks.rare_level_share become "
                "'other'), raise checks.max_levels, or declare the column `continuous` if it is a number",
            )
    return out, merged


def check_arm_sizes(
    train: pd.DataFrame, roles: Roles, settings: CheckSettings, source: str
) -> dict[str, int]:
    counts = {arm: int((train[roles.treatment] == arm).sum()) for arm in (1, 0)}
    need, why = settings.arm_minimum
    for arm, name in ((1, "treated"), (0, "control")):
        if counts[arm] < need:
            raise DataError(
                source,
                roles.treatment,
                f"the training split holds {counts[1]} treated and {counts[0]} control unit(s); "
                f"every arm needs at least {need} ({why}), and the {name} arm falls short",
                "use a file with more rows in each arm, or lower checks.min_rows_per_arm "
                f"(never below {min_arm_units(settings.folds)}) or estimation.folds",
            )
    return {"n_treated": counts[1], "n_control": counts[0], "min_per_arm": need, "min_per_arm_reason": why}


def separating_covariates(train: pd.DataFrame, roles: Roles) -> dict[str, str]:
    """Covariates that alone put every unit's arm beyond doubt, with how they do it."""
    a = train[roles.treatment].to_numpy()
    found: dict[str, str] = {}
    for col, kind in roles.covariates.items():
        x = train[col]
        if kind == "continuous":
            v = x.to_numpy(dtype=float)
            lo1, hi1, lo0, hi0 = v[a == 1].min(), v[a == 1].max(), v[a == 0].min(), v[a == 0].max()
            if hi0 < lo1:
                found[col] = f"every treated unit has {col} >= {lo1:.4g} and every control {col} <= {hi0:.4g}"
            elif hi1 < lo0:
                found[col] = f"every treated unit has {col} <= {hi1:.4g} and every control {col} >= {lo0:.4g}"
        else:
            arms = pd.Series(a).groupby(x.astype(str).to_numpy()).nunique()
            if (arms == 1).all():
                found[col] = f"each level of {col} holds a single arm"
    return found


def propensity_overlap(
    train: pd.DataFrame, roles: Roles, settings: CheckSettings, seed: int
) -> dict[str, float]:
    """Cross-validated AUC of a logistic propensity model and the share of extreme propensities."""
    x = CovariateEncoder(roles).fit_transform(train)
    a = train[roles.treatment].to_numpy(dtype=int)
    folds = min(_CV_FOLDS, int(np.bincount(a).min()))
    if folds < 2 or x.shape[1] == 0:
        return {"propensity_auc": float("nan"), "share_extreme": float("nan")}
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed % 2**32)
    # ridge-penalized (C=1): the registry's near-unpenalized "linear" learner overfits a few
    # hundred rows into spurious propensities of 0 or 1 (ihdp: 6% of units), which would raise
    # warnings about the model rather than the data
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
    g = cross_val_predict(model, x, a, cv=splitter, method="predict_proba")[:, 1]
    t = settings.propensity_threshold
    return {
        "propensity_auc": float(roc_auc_score(a, g)),
        "share_extreme": float(np.mean((g < t) | (g > 1.0 - t))),
    }


def check_overlap(
    train: pd.DataFrame, roles: Roles, settings: CheckSettings, seed: int, source: str
) -> dict[str, Any]:
    separating = separating_covariates(train, roles)
    diag: dict[str, Any] = {
        "separating_covariates": separating,
        **propensity_overlap(train, roles, settings, seed),
    }
    # (column, problem, fix, refused under `overlap: error`)
    problems: list[tuple[str | None, str, str, bool]] = [
        (
            col,
            f"the covariate alone separates the arms ({how}): no overlap, so no effect is identifiable",
            "remove it from the covariates if the treatment determines it, or set checks.overlap "
            "to warn to go on",
            True,
        )
        for col, how in separating.items()
    ]
    if diag["propensity_auc"] >= settings.propensity_auc:
        problems.append(
            (
                roles.treatment,
                f"a cross-validated propensity model separates the arms (AUC {diag['propensity_auc']:.3f} >= "
                f"checks.propensity_auc = {settings.propensity_auc})",
                "restrict the data to units with overlap, or set checks.overlap to warn to go on",
                True,
            )
        )
    if diag["share_extreme"] > settings.max_extreme_share:
        problems.append(
            (
                roles.treatment,
                f"{diag['share_extreme']:.1%} of units have a cross-validated propensity beyond "
                f"{settings.propensity_threshold} or 1 - {settings.propensity_threshold} (more than "
                f"checks.max_extreme_share = {settings.max_extreme_share:.0%})",
                "expect unstable weights (see the positivity study and pairing), or trim the data to overlap",
                False,
            )
        )
    diag["warnings"] = []
    for col, problem, fix, refusable in problems:
        error = DataError(source, col, problem, fix)
        if refusable and settings.overlap == "error":
            raise error
        logger.warning("%s", error)
        diag["warnings"].append(str(error))
    return diag


OUTLIER_ACTIONS = ("keep", "warn", "winsorize", "error")
_LISTED_COLUMNS = 8  # a warning names at most this many columns; card.json has them all


def tukey_fences(x: np.ndarray, k: float) -> tuple[float, float, float, float]:
    """First and third quartiles (numpy's linear interpolation) and the fences k IQR beyond them."""
    q1, q3 = (float(q) for q in np.percentile(x, [25, 75]))
    return q1, q3, q1 - k * (q3 - q1), q3 + k * (q3 - q1)


def beyond_fences(x: np.ndarray, lower: float, upper: float) -> np.ndarray:
    """Which values are extreme: strictly outside the fences (a value on a fence is not)."""
    x = np.asarray(x, dtype=float)
    return (x < lower) | (x > upper)


def _dim(y: np.ndarray, a: np.ndarray) -> tuple[float | None, float | None]:
    """Difference in means and its (Neyman) standard error; None where an arm has under 2 rows."""
    y1, y0 = y[a == 1], y[a == 0]
    if len(y1) < 2 or len(y0) < 2:
        return None, None
    se = float(np.sqrt(y1.var(ddof=1) / len(y1) + y0.var(ddof=1) / len(y0)))
    return float(y1.mean() - y0.mean()), se


def _ratio(num: float | None, den: float | None) -> float | None:
    return None if num is None or not den else num / den


def outcome_shift(train: pd.DataFrame, roles: Roles, extreme: np.ndarray) -> dict[str, float | None]:
    """How much the training rows with an extreme outcome move the difference in means."""
    y = train[roles.outcome].to_numpy(dtype=float)
    a = train[roles.treatment].to_numpy(dtype=int)
    dim_all, se_all = _dim(y, a)
    dim_without, se_without = _dim(y[~extreme], a[~extreme])
    shift = None if dim_all is None or dim_without is None else dim_all - dim_without
    return {
        "dim_all": dim_all,
        "se_all": se_all,
        "dim_without": dim_without,
        "se_without": se_without,
        "shift": shift,
        "shift_se": _ratio(shift, se_all),
        "shift_se_without": _ratio(shift, se_without),
    }


def _describe(entry: dict[str, Any], n_rows: int, rule: str = "") -> str:
    """One column's extreme values, in words."""
    n = entry["n_train"] + entry["n_holdout"]
    text = (
        f"{n} of {n_rows} rows lie beyond the fences [{entry['lower']:.4g}, {entry['upper']:.4g}]{rule}, "
        f"the most extreme at {entry['most_extreme']:.4g}"
    )
    shift = entry.get("dim_shift")
    if shift and shift["shift"] is not None:
        text += (
            f"; removing them from the training rows moves the difference in means from "
            f"{shift['dim_all']:.4g} to {shift['dim_without']:.4g}"
        )
        if shift["shift_se"] is not None and shift["shift_se_without"] is not None:
            text += (
                f" (by {shift['shift_se']:.3g} standard errors of the estimate with them, "
                f"{shift['shift_se_without']:.3g} without)"
            )
    return text


def check_outliers(
    frames: dict[str, pd.DataFrame | None], roles: Roles, settings: CheckSettings, source: str
) -> tuple[dict[str, pd.DataFrame | None], dict[str, Any]]:
    """Extreme values of the continuous columns by Tukey's fences on the training rows."""
    k = float(settings.outlier_iqr)
    action = settings.outliers
    if action not in OUTLIER_ACTIONS:
        raise ValueError(f"checks.outliers must be one of {OUTLIER_ACTIONS}, got {action!r}")
    train = frames["train"]
    n_rows = len(train) + (0 if frames.get("holdout") is None else len(frames["holdout"]))
    columns: dict[str, dict[str, Any]] = {}
    checked = [roles.outcome] if roles.outcome_type == "continuous" else []
    checked += [c for c in roles.of_type("continuous") if c not in checked]
    for col in checked:
        q1, q3, lower, upper = tukey_fences(train[col].to_numpy(dtype=float), k)
        entry: dict[str, Any] = {
            "role": "outcome" if col == roles.outcome else "covariate",
            "q1": q1,
            "q3": q3,
        }
        columns[col] = entry
        if q3 == q1:
            entry["skipped"] = (
                f"the IQR is 0 (the middle half of the training rows holds the single value {q1:.4g}): "
                "the fences would flag every other value"
            )
            continue
        entry.update(lower=lower, upper=upper)
        beyond: list[np.ndarray] = []
        for split in ("train", "holdout", "positivity"):
            df = frames.get(split)
            if df is None:
                entry[f"n_{split}"] = None if split == "positivity" else 0
                continue
            v = df[col].to_numpy(dtype=float)
            out = beyond_fences(v, lower, upper)
            entry[f"n_{split}"] = int(out.sum())
            if split != "positivity":
                beyond.append(v[out])
        values = np.concatenate(beyond)
        entry["most_extreme"] = (
            float(values[np.argmax(np.maximum(lower - values, values - upper))]) if values.size else None
        )
        if col == roles.outcome:
            v = train[col].to_numpy(dtype=float)
            entry["dim_shift"] = outcome_shift(train, roles, beyond_fences(v, lower, upper))
    flagged = [c for c, e in columns.items() if "skipped" not in e and e["n_train"] + e["n_holdout"]]
    report: dict[str, Any] = {
        "action": action,
        "outlier_iqr": k,
        "rule": f"beyond {k:g} x IQR below the first or above the third quartile of the training rows",
        "columns": columns,
        "flagged": flagged,
        "clipped": {},
        "warnings": [],
    }
    if action == "error" and flagged:
        col = flagged[0]
        e = columns[col]
        # the count and the extreme value only: the fences and the shift move with the replicate's
        # split, and a refusal must read the same in every replicate (card.json has the rest)
        raise DataError(
            source,
            col,
            f"{e['n_train'] + e['n_holdout']} of {n_rows} rows lie beyond {k:g} x IQR from the quartiles "
            f"of the training rows (checks.outlier_iqr), the most extreme at {e['most_extreme']:.4g}",
            "set checks.outliers: winsorize, or clean the column",
        )
    if action == "warn" and flagged:
        listed = "; ".join(f"'{c}': {_describe(columns[c], n_rows)}" for c in flagged[:_LISTED_COLUMNS])
        if len(flagged) > _LISTED_COLUMNS:
            listed += f"; and {len(flagged) - _LISTED_COLUMNS} more column(s) (card.json, checks.outliers)"
        line = (
            f"{source}: extreme values ({k:g} x IQR beyond the quartiles of the training rows, "
            f"checks.outlier_iqr) in {len(flagged)} column(s): {listed}. Options: set checks.outliers "
            "to winsorize (clip them to the fences), error (refuse the dataset) or keep (record them "
            "silently), or clean the column"
        )
        logger.warning("%s", line)
        report["warnings"].append(line)
    if action == "winsorize":
        out = dict(frames)
        for col, entry in columns.items():
            if "skipped" in entry:
                continue
            counts: dict[str, int] = {}
            for split, df in out.items():
                if df is None:
                    continue
                v = df[col].to_numpy(dtype=float)
                counts[split] = int(beyond_fences(v, entry["lower"], entry["upper"]).sum())
                if counts[split]:
                    out[split] = df.assign(**{col: np.clip(v, entry["lower"], entry["upper"])})
            if any(counts.values()):
                report["clipped"][col] = counts
        if report["clipped"]:
            logger.info(
                "%s: clipped to the outlier fences (checks.outliers: winsorize): %s",
                source,
                ", ".join(f"'{c}' {sum(n.values())} value(s)" for c, n in report["clipped"].items()),
            )
        frames = out
    return frames, report


def run_checks(
    frames: dict[str, pd.DataFrame | None], roles: Roles, settings: CheckSettings, seed: int, source: str
) -> tuple[dict[str, pd.DataFrame | None], dict[str, Any]]:
    """All checks; the (possibly level-merged) frames and the ``checks`` section of the card."""
    frames, merged = merge_rare_levels(frames, roles, settings, source)
    arms = check_arm_sizes(frames["train"], roles, settings, source)
    frames, outliers = check_outliers(frames, roles, settings, source)
    overlap = check_overlap(frames["train"], roles, settings, seed, source)
    return frames, {"arms": arms, "rare_levels_merged": merged, "outliers": outliers, "overlap": overlap}
