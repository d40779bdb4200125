"""The tables the figures draw, built from the result tables, the DCR summaries and the
Snakemake benchmark files, and the helpers more than one figure shares.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from causalsynth.core.errors import DataError
from causalsynth.core.io import read_json
from causalsynth.core.uncertainty import mean_interval
from causalsynth.core.vocabulary import REAL, check_columns, generator_base
from causalsynth.report.common import (
    absolute_error,
    attack_risk,
    ok_rows,
    order_generators,
    reference_value,
    refused,
    release_verdicts,
    replicate_errors,
    tstr_with_baseline,
)

log = logging.getLogger(__name__)


def tstr_vs_bias_table(tstr: pd.DataFrame, ate: pd.DataFrame) -> pd.DataFrame:
    """One row per (dataset, generator, metric): mean TSTR score, train-on-real score and
    mean relative |ATE error| (fraction of |truth|, or of the real-data estimate where the
    dataset has no truth). The real data itself is left out: it has no synthetic fidelity.
    """
    cols = ["dataset", "generator", "metric", "value", "baseline", "rel_error"]
    fidelity = tstr_with_baseline(tstr) if not tstr.empty else pd.DataFrame()
    errors = _relative_errors(ate)
    if fidelity.empty or errors.empty:
        return pd.DataFrame(columns=cols)
    merged = fidelity.merge(errors, on=["dataset", "generator"])
    merged = merged[merged["generator"] != REAL].dropna(subset=["value", "rel_error"])
    return merged[cols].reset_index(drop=True)


def _relative_errors(ate: pd.DataFrame) -> pd.DataFrame:
    """Mean |ATE error| / |truth or reference| per (dataset, generator), over ok cells."""
    ok = ok_rows(ate) if not ate.empty else ate
    if ok.empty:
        return pd.DataFrame(columns=["dataset", "generator", "rel_error"])
    ref = reference_value(ok).abs()
    rel = absolute_error(ok) / ref.where(ref > 1e-12)
    return ok.assign(rel_error=rel).groupby(["dataset", "generator"], as_index=False)["rel_error"].mean()


def load_dcr_records(paths: Iterable[str | os.PathLike]) -> list[dict]:
    """Figure records from the DCR rule's `results/privacy/<dataset>/<generator>/rep<k>/dcr.json`.

    The covariate DCR is drawn, the distance the filter acts on: quantiles of the synthetic and
    holdout DCR (`distributions.covariates`) and the filter thresholds (`thresholds.lower_dcr`,
    `thresholds.upper_dcr`). The json names its cell (dataset, generator, replicate).
    """
    records = []
    for path in paths:
        path = Path(path)
        summary = read_json(path)
        dist = (summary.get("distributions") or {}).get("covariates") or {}
        missing = [
            k for k in ("quantile_levels", "synthetic_quantiles", "holdout_quantiles") if k not in dist
        ]
        missing = [k for k in ("dataset", "generator", "rep") if summary.get(k) is None] + [
            f"distributions.covariates.{k}" for k in missing
        ]
        if missing:
            raise DataError(
                str(path),
                missing[0],
                "not a DCR summary written by causalsynth.privacy.dcr.run_dcr_filter",
                "rerun the dcr_filter rule that writes this file",
            )
        thresholds = summary.get("thresholds") or {}
        levels = [float(q) for q in dist["quantile_levels"]]
        records.append(
            {
                "dataset": summary["dataset"],
                "generator": summary["generator"],
                "rep": int(summary["rep"]),
                "synthetic_quantiles": dict(zip(levels, dist["synthetic_quantiles"], strict=True)),
                "holdout_quantiles": dict(zip(levels, dist["holdout_quantiles"], strict=True)),
                "threshold_low": thresholds.get("lower_dcr"),
                "threshold_high": thresholds.get("upper_dcr"),
            }
        )
    return records


RUNTIME_COLUMNS = ("rule", "dataset", "generator", "seconds", "max_rss_mb")
BENCHMARK_SECONDS = "s"
BENCHMARK_RSS = "max_rss"


def read_benchmarks(files: Iterable[tuple[str | os.PathLike, str, str | None, str | None]]) -> pd.DataFrame:
    """Runtime table from Snakemake `benchmark:` TSVs given as (path, rule, dataset, generator).

    A benchmark file holds one row per repeat; repeats are averaged. Snakemake writes "-" or
    "NA" where it could not measure memory, which becomes NaN. The files are not inputs of the
    figure rule (a failed optional job leaves none), so a missing file is a row with NaN
    seconds, counted on the figure, rather than an error that would cost the whole report.
    """
    rows = []
    for path, rule, dataset, generator in files:
        seconds = rss = np.nan
        if Path(path).exists():
            bench = pd.read_csv(path, sep="\t", na_values=["-", "NA", ""])
            check_columns(bench, (BENCHMARK_SECONDS, BENCHMARK_RSS), str(path))
            seconds = pd.to_numeric(bench[BENCHMARK_SECONDS], errors="coerce").mean()
            rss = pd.to_numeric(bench[BENCHMARK_RSS], errors="coerce").mean()
        else:
            log.warning("benchmark file %s not found; counted as missing on the runtime figure", path)
        rows.append(
            {"rule": rule, "dataset": dataset, "generator": generator, "seconds": seconds, "max_rss_mb": rss}
        )
    return pd.DataFrame(rows, columns=list(RUNTIME_COLUMNS))


PRIVACY_UTILITY_COLUMNS = (
    "dataset",
    "generator",
    "set",
    "risk",
    "risk_low",
    "risk_high",
    "error",
    "error_low",
    "error_high",
    "reps",
    "epsilon",
    "reps_held",
)


def privacy_utility_table(privacy: pd.DataFrame, ate: pd.DataFrame) -> pd.DataFrame:
    """One row per (dataset, generator, set): the worst attack risk and the mean |ATE error|,
    each a mean over replicates with its t interval (no interval from one replicate).

    The ATE error of a replicate is its mean over the estimator and learner cells; a base
    generator's is that of its unfiltered set (the one the ATE stage estimates on), drawn at
    both of its sets' risks. ``reps_held``: the replicates whose set the release gate holds back
    (not releasable or not assessed).
    """
    risk = attack_risk(privacy)
    errors = replicate_errors(ate)
    if risk.empty or errors.empty:
        return pd.DataFrame(columns=list(PRIVACY_UTILITY_COLUMNS))
    per_rep = errors.groupby(["dataset", "generator", "rep"], as_index=False)["abs_error"].mean()
    per_rep["rep"] = pd.to_numeric(per_rep["rep"])
    risk = risk.assign(rep=pd.to_numeric(risk["rep"]))
    verdicts = release_verdicts(privacy)
    held = verdicts[refused(verdicts)].groupby(["dataset", "generator", "set"])["rep"].nunique()
    rows = []
    for (d, g, s), r in risk.groupby(["dataset", "generator", "set"]):
        e = per_rep[(per_rep["dataset"] == d) & (per_rep["generator"] == g)]
        if e.empty:
            continue
        ri, ei = mean_interval(r["risk"]).clip(0.0, 1.0), mean_interval(e["abs_error"]).clip(0.0, np.inf)
        rows.append(
            {
                "dataset": d,
                "generator": g,
                "set": s,
                "risk": ri.estimate,
                "risk_low": ri.low,
                "risk_high": ri.high,
                "error": ei.estimate,
                "error_low": ei.low,
                "error_high": ei.high,
                "reps": int(r["rep"].nunique()),
                "epsilon": pd.to_numeric(r["epsilon"], errors="coerce").dropna().max(),
                "reps_held": int(held.get((d, g, s), 0)),
            }
        )
    return pd.DataFrame(rows, columns=list(PRIVACY_UTILITY_COLUMNS))


def bases_in_order(generators: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for g in order_generators(generators):
        if generator_base(g) not in seen:
            seen.append(generator_base(g))
    return seen
