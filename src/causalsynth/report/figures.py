"""Figures of the benchmark: PNG and PDF, one consistent style, colour-blind-safe.

Every `plot_<name>(table, out_png, out_pdf)` draws from a result table, skips cells whose
status is not "ok", and writes a "no data" figure instead of failing when nothing is left to
draw, so a run with a stage switched off still produces its report. `make_all_figures` is the
entry point of the workflow's figure rule.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from causalsynth.core.errors import DataError
from causalsynth.core.io import read_json
from causalsynth.core.uncertainty import mean_interval
from causalsynth.core.vocabulary import (
    FIGURES,
    HYBRID_PREFIX,
    POSITIVITY_METHODS,
    REAL,
    TABLES,
    check_columns,
    deduplicate_real,
    generator_base,
    is_hybrid,
    read_table,
    without_reference_learners,
)
from causalsynth.report.common import (
    absolute_error,
    attack_risk,
    generator_group,
    ok_rows,
    order_generators,
    reference_value,
    replicate_errors,
    tstr_with_baseline,
)
from causalsynth.report.fidelity_figures import plot_fidelity, plot_inferential_utility
from causalsynth.report.style import (
    COLUMN_WIDTH_IN,
    DISPLAY_NAMES,
    GROUP_SHADE,
    OKABE_ITO,
    PAGE_WIDTH_IN,
    base_colour,
    display_name,
    figure_legend,
    figure_style,
    log_scale,
    no_data_figure,
    panel_grid,
    robust_ylim,
    save_figure,
    series_colours,
    series_markers,
    with_series,
    yerr,
)

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- ATE by generator


def plot_ate_by_generator(table: pd.DataFrame, out_png, out_pdf) -> None:
    """ATE per generator with 95% intervals against the truth, one panel per dataset."""
    title = "ATE by generator"
    if not table.empty:
        check_columns(table, TABLES["ate_preservation"].required, "ate_preservation table")
    df = ok_rows(table) if not table.empty else table
    if df.empty:
        return no_data_figure(title, "no ok ATE estimates in ate_preservation", out_png, out_pdf)
    df = with_series(df)
    series = sorted(df["series"].unique())
    colours, markers = series_colours(series), series_markers(series)
    datasets = sorted(df["dataset"].unique())
    with figure_style():
        fig, axes = panel_grid(len(datasets), max_cols=2, panel_height=2.3)
        handles: list = []
        for ax, dataset in zip(axes, datasets, strict=True):
            handles += _ate_panel(ax, df[df["dataset"] == dataset], dataset, series, colours, markers)
        fig.supylabel("ATE estimate (outcome units)", fontsize=8)
        figure_legend(fig, handles)
        save_figure(fig, out_png, out_pdf, title)


def _ate_panel(ax, sub, dataset, series, colours, markers) -> list:
    generators = order_generators(sub["generator"])
    groups = [generator_group(g) for g in generators]
    # a gap between groups makes the real / fully generative / hybrid blocks readable without colour
    x_of, x, prev = {}, 0.0, None
    for g, grp in zip(generators, groups, strict=True):
        if prev is not None and grp != prev:
            x += 0.6
        x_of[g], prev, x = x, grp, x + 1.0
    width = 0.7 / max(len(series), 1)
    agg = sub.groupby(["generator", "series"]).agg(
        ate=("ate", "mean"), ci_low=("ci_low", "mean"), ci_high=("ci_high", "mean")
    )
    handles, core, ivals = [], [], []
    for (g, s), row in agg.iterrows():
        xi = x_of[g] + (series.index(s) - (len(series) - 1) / 2) * width
        hybrid = is_hybrid(g)
        h = ax.errorbar(
            xi,
            row.ate,
            yerr=yerr(row.ate, row.ci_low, row.ci_high),
            fmt=markers[s],
            color=colours[s],
            mfc="white" if hybrid else colours[s],
            elinewidth=0.9,
            label=s,
        )
        handles.append(h)
        core.append(row.ate)
        ivals += [row.ci_low, row.ci_high]
    # the truth (or the reference a real dataset is compared with) as one line per panel
    truth = pd.to_numeric(sub["truth"], errors="coerce").dropna()
    if len(truth):
        kinds = sub["truth_kind"].dropna().astype(str).unique() if "truth_kind" in sub.columns else []
        # a reference (e.g. the experimental estimate) is not a truth: draw it dashed
        is_ref = "reference" in kinds
        handles.append(
            ax.axhline(
                truth.mean(),
                color="black",
                lw=1.0,
                ls="--" if is_ref else "-",
                label="reference estimate" if is_ref else "truth",
                zorder=0,
            )
        )
        core.append(truth.mean())
    real = _real_estimates(sub)
    for s, value in real.items():
        ax.axhline(value, color=colours[s], lw=0.8, ls=":", zorder=0)
        core.append(value)
    if real:
        # one neutral legend entry: the dotted line takes the colour of its estimator
        handles.append(Line2D([], [], color="#555555", lw=0.8, ls=":", label="real-data estimate"))
    if "engine_truth" in sub.columns:
        hybrid_rows = sub[sub["generator"].map(is_hybrid)]
        et = (
            pd.to_numeric(hybrid_rows["engine_truth"], errors="coerce")
            .groupby(hybrid_rows["generator"])
            .mean()
            .dropna()
        )
        for g, value in et.items():
            if g in x_of:
                handles.append(
                    ax.plot(
                        [x_of[g] - 0.4, x_of[g] + 0.4],
                        [value] * 2,
                        color="#777777",
                        lw=1.6,
                        solid_capstyle="butt",
                        label="synthetic population truth",
                    )[0]
                )
                core.append(value)
    robust_ylim(ax, core, ivals)
    _shade_groups(ax, generators, groups, x_of)
    ax.set_xticks(
        [x_of[g] for g in generators],
        [_tick_name(g) for g in generators],
        rotation=40,
        ha="right",
        rotation_mode="anchor",
    )
    ax.set_title(str(dataset), pad=12)  # room for the group labels above the axes
    return handles


def _tick_name(generator: str) -> str:
    """Generator name under its group label; hybrid_real is hybrid data on the real covariates."""
    if generator == HYBRID_PREFIX + REAL:
        return "real covariates"
    base = generator_base(generator)
    return DISPLAY_NAMES.get(base, base)


def _real_estimates(sub: pd.DataFrame) -> dict[str, float]:
    """The real-data estimate per series: the `real` generator's rows, else the `real_ate` column."""
    real = sub[sub["generator"] == REAL]
    if len(real):
        return real.groupby("series")["ate"].mean().to_dict()
    if "real_ate" in sub.columns:
        return (
            pd.to_numeric(sub["real_ate"], errors="coerce").groupby(sub["series"]).mean().dropna().to_dict()
        )
    return {}


def _shade_groups(ax, generators, groups, x_of) -> None:
    blocks: dict[str, list[float]] = {}
    for g, grp in zip(generators, groups, strict=True):
        blocks.setdefault(grp, []).append(x_of[g])
    for grp, xs in blocks.items():
        if grp == "hybrid":
            ax.axvspan(min(xs) - 0.5, max(xs) + 0.5, color=GROUP_SHADE, zorder=-1, lw=0)
        if grp != "real":
            ax.text(
                (min(xs) + max(xs)) / 2,
                1.0,
                grp,
                transform=ax.get_xaxis_transform(),
                ha="center",
                va="bottom",
                fontsize=7,
                style="italic",
            )
    ax.set_xlim(min(x_of.values()) - 0.6, max(x_of.values()) + 0.6)


# --------------------------------------------------------------------------- fidelity vs error


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


def plot_tstr_vs_bias(table: pd.DataFrame, out_png, out_pdf) -> None:
    """TSTR score against relative |ATE error|, one point per generator and dataset.

    `table` is `tstr_vs_bias_table(tstr, ate)`.
    """
    title = "Predictive fidelity vs ATE error"
    if table.empty:
        reason = "needs TSTR scores and ok ATE estimates with a truth for the same generator and dataset"
        return no_data_figure(title, reason, out_png, out_pdf)
    check_columns(
        table, ("dataset", "generator", "metric", "value", "baseline", "rel_error"), "fidelity table"
    )
    metrics = sorted(table["metric"].astype(str).unique())
    datasets = sorted(table["dataset"].unique())
    dmarkers = series_markers(datasets)
    with figure_style():
        fig, axes = panel_grid(len(metrics), max_cols=2, panel_height=2.5)
        for ax, metric in zip(axes, metrics, strict=True):
            sub = table[table["metric"].astype(str) == metric]
            # relative to training on real data where every point has that baseline
            relative = sub["baseline"].notna().all()
            xs = sub["value"] - sub["baseline"] if relative else sub["value"]
            for x, row in zip(xs, sub.itertuples(index=False), strict=True):
                c = base_colour(generator_base(row.generator))
                mfc = "white" if is_hybrid(row.generator) else c
                ax.plot(x, 100 * row.rel_error, dmarkers[row.dataset], color=c, mfc=mfc, mew=1.0, ms=5)
            name = "AUC" if metric == "auc" else "R²" if metric == "r2" else metric
            if relative:
                ax.axvline(0, color="black", lw=0.8, ls="--", zorder=0)
                ax.set_xlabel(f"TSTR minus train-on-real ({name})")
            else:
                ax.set_xlabel(f"TSTR score ({name})")
            positive = sub["rel_error"][sub["rel_error"] > 0]
            if len(positive) > 1 and positive.max() / positive.min() > 20:
                log_scale(ax, "y")
            ax.set_ylabel("|ATE error| (% of truth)")
            ax.grid(True, axis="both")
        # colour = generator, fill = fully generative or hybrid, marker shape = dataset
        handles = [
            Patch(color=base_colour(b), label="real covariates" if b == REAL else display_name(b))
            for b in _bases(table["generator"])
        ]
        handles += [
            Patch(facecolor="#555555", edgecolor="#555555", label="fully generative (filled)"),
            Patch(facecolor="white", edgecolor="#555555", label="hybrid (hollow)"),
        ]
        handles += [
            Line2D([], [], ls="", marker=dmarkers[d], color="#555555", mfc="none", label=str(d))
            for d in datasets
        ]
        figure_legend(fig, handles, ncol=4)
        save_figure(fig, out_png, out_pdf, title)


def _bases(generators: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for g in order_generators(generators):
        if generator_base(g) not in seen:
            seen.append(generator_base(g))
    return seen


def _relative_errors(ate: pd.DataFrame) -> pd.DataFrame:
    """Mean |ATE error| / |truth or reference| per (dataset, generator), over ok cells."""
    ok = ok_rows(ate) if not ate.empty else ate
    if ok.empty:
        return pd.DataFrame(columns=["dataset", "generator", "rel_error"])
    ref = reference_value(ok).abs()
    rel = absolute_error(ok) / ref.where(ref > 1e-12)
    return ok.assign(rel_error=rel).groupby(["dataset", "generator"], as_index=False)["rel_error"].mean()


# --------------------------------------------------------------------------- DCR


def plot_dcr(records: list[dict], out_png, out_pdf) -> None:
    """ECDFs of the distance to closest record of the holdout and of each generator, per dataset."""
    title = "Distance to closest record"
    records = [r for r in records if r.get("synthetic_quantiles") or r.get("holdout_quantiles")]
    if not records:
        return no_data_figure(title, "no DCR summaries (dcr.json) in this run", out_png, out_pdf)
    datasets = sorted({r["dataset"] for r in records})
    with figure_style():
        fig, axes = panel_grid(len(datasets), max_cols=2, panel_height=2.3)
        handles: list = []
        for ax, dataset in zip(axes, datasets, strict=True):
            recs = [r for r in records if r["dataset"] == dataset]
            holdout = _mean_quantiles(r.get("holdout_quantiles") for r in recs)
            curves = [] if holdout is None else [holdout]
            if holdout is not None:
                handles += ax.plot(
                    holdout.to_numpy(),
                    holdout.index,
                    color="black",
                    lw=1.6,
                    label=DISPLAY_NAMES["holdout"],
                )
            for g in order_generators(r["generator"] for r in recs):
                q = _mean_quantiles(r.get("synthetic_quantiles") for r in recs if r["generator"] == g)
                if q is None:
                    continue
                curves.append(q)
                c = base_colour(generator_base(g))
                handles += ax.plot(
                    q.to_numpy(),
                    q.index,
                    color=c,
                    ls="--" if is_hybrid(g) else "-",
                    label=display_name(g),
                )
            for key, label in (
                ("threshold_low", "near-copy threshold"),
                ("threshold_high", "implausible threshold"),
            ):
                values = [r[key] for r in recs if r.get(key) is not None and np.isfinite(r[key])]
                if values:
                    ls = (0, (1, 1.5)) if key == "threshold_low" else (0, (4, 1.5, 1, 1.5))
                    handles.append(
                        ax.axvline(float(np.mean(values)), color="#555555", lw=0.9, ls=ls, label=label)
                    )
            # a few implausible rows far out would squeeze the body of every curve into a corner
            tops = [q.get(0.99) for q in curves if q.get(0.99) is not None]
            highs = [r["threshold_high"] for r in recs if r.get("threshold_high") is not None]
            ax.set_xlim(0, 1.1 * max(tops + highs) if tops else None)
            ax.set_ylim(0, 1.01)
            ax.set_xlabel("DCR to training rows (standardized units)")
            ax.set_ylabel("cumulative share of rows")
            ax.set_title(str(dataset))
            ax.grid(True, axis="both")
        figure_legend(fig, handles, ncol=4)
        save_figure(fig, out_png, out_pdf, title)


def _mean_quantiles(quantile_dicts: Iterable[dict | None]) -> pd.Series | None:
    """Quantile functions averaged over replicates (Vincentization): level -> distance."""
    series = []
    for q in quantile_dicts:
        if q:
            s = pd.Series({float(k): float(v) for k, v in q.items() if v is not None}).sort_index()
            series.append(s)
    if not series:
        return None
    return pd.concat(series, axis=1).mean(axis=1).dropna().sort_index()


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


# --------------------------------------------------------------------------- positivity


def plot_positivity(table: pd.DataFrame, out_png, out_pdf) -> None:
    """Raw, truncated, clipped and paired estimates against the truth, one panel per dataset."""
    title = "ATE under positivity violations"
    if not table.empty:
        check_columns(table, TABLES["positivity"].required, "positivity table")
    df = ok_rows(table) if not table.empty else table
    if df.empty:
        return no_data_figure(title, "no ok positivity estimates in this run", out_png, out_pdf)
    df = with_series(df)
    estimators = sorted(df["series"].unique())
    colours, markers = series_colours(estimators), series_markers(estimators)
    datasets = sorted(df["dataset"].unique())
    known = [m for m in POSITIVITY_METHODS if m in set(df["method"])]
    methods = known + sorted(set(df["method"]) - set(known))
    width = 0.7 / len(estimators)
    with figure_style():
        fig, axes = panel_grid(len(datasets), max_cols=2, panel_height=2.3)
        handles: list = []
        for ax, dataset in zip(axes, datasets, strict=True):
            sub = df[df["dataset"] == dataset]
            core, ivals = [], []
            for (method, est), grp in sub.groupby(["method", "series"]):
                xi = methods.index(method) + (estimators.index(str(est)) - (len(estimators) - 1) / 2) * width
                # each set as a faint dot, so the spread over sets is visible behind the mean
                jitter = np.linspace(-0.25, 0.25, len(grp)) * width if len(grp) > 1 else np.zeros(1)
                ax.plot(
                    xi + jitter,
                    grp["ate"],
                    markers[str(est)],
                    color=colours[str(est)],
                    alpha=0.35,
                    ms=3,
                    mew=0,
                )
                m, lo, hi = grp["ate"].mean(), grp["ci_low"].mean(), grp["ci_high"].mean()
                handles.append(
                    ax.errorbar(
                        xi,
                        m,
                        yerr=yerr(m, lo, hi),
                        fmt=markers[str(est)],
                        color=colours[str(est)],
                        label=str(est),
                        elinewidth=0.9,
                    )
                )
                core += grp["ate"].tolist()
                ivals += [lo, hi]
            truth = pd.to_numeric(table.loc[table["dataset"] == dataset, "truth"], errors="coerce").dropna()
            if len(truth):
                handles.append(ax.axhline(truth.mean(), color="black", lw=1.0, zorder=0, label="truth"))
                core.append(truth.mean())
            robust_ylim(ax, core, ivals)
            ax.set_xticks(range(len(methods)), methods)
            ax.set_xlim(-0.6, len(methods) - 0.4)
            ax.set_xlabel("adjustment for extreme propensities")
            ax.set_title(str(dataset))
        fig.supylabel("ATE estimate (outcome units)", fontsize=8)
        figure_legend(fig, handles)
        save_figure(fig, out_png, out_pdf, title)


# --------------------------------------------------------------------------- simulation engine

ENGINE_METRICS = (
    ("bias", "bias (outcome units)", 0.0),
    ("rmse", "RMSE (outcome units)", None),
    ("coverage", "95% CI coverage", 0.95),
)


def plot_engine(table: pd.DataFrame, out_png, out_pdf) -> None:
    """Bias, RMSE and coverage against n per estimator; the true process beside each hybrid engine."""
    title = "Simulation engine vs true process"
    if not table.empty:
        check_columns(table, TABLES["engine"].required, "engine table")
    df = table.dropna(subset=["n"]) if not table.empty else table
    if df.empty:
        return no_data_figure(title, "no simulation-engine results in this run", out_png, out_pdf)
    engines = (
        ["truth", *order_generators(e for e in df["engine"].unique() if e != "truth")]
        if "truth" in set(df["engine"])
        else order_generators(df["engine"].unique())
    )
    df = with_series(df)
    series = sorted(df["series"].unique())
    colours, markers = series_colours(series), series_markers(series)
    datasets = sorted(df["dataset"].unique())
    nrows, ncols = len(datasets) * len(ENGINE_METRICS), len(engines)
    with figure_style():
        fig, axes = plt.subplots(
            nrows,
            ncols,
            figsize=(
                COLUMN_WIDTH_IN if ncols == 1 else min(PAGE_WIDTH_IN, 1.9 * ncols + 0.6),
                1.35 * nrows + 0.6,
            ),
            squeeze=False,
            sharex=True,
            sharey="row",
        )
        handles: list = []
        for di, dataset in enumerate(datasets):
            for mi, (metric, label, ref) in enumerate(ENGINE_METRICS):
                r = di * len(ENGINE_METRICS) + mi
                for c, engine in enumerate(engines):
                    ax = axes[r, c]
                    sub = df[(df["dataset"] == dataset) & (df["engine"] == engine)]
                    for s, grp in sub.groupby("series"):
                        grp = grp.groupby("n", as_index=False)[metric].mean().sort_values("n")
                        handles += ax.plot(
                            grp["n"], grp[metric], marker=markers[s], color=colours[s], label=s, ms=3
                        )
                    if ref is not None:
                        ax.axhline(ref, color="black", lw=0.7, ls="--", zorder=0)
                    if sub.empty:
                        ax.text(
                            0.5,
                            0.5,
                            "no data",
                            ha="center",
                            va="center",
                            transform=ax.transAxes,
                            color="#777777",
                        )
                    if r == 0:
                        ax.set_title("true process" if engine == "truth" else display_name(engine))
                    if c == 0:
                        ax.set_ylabel(f"{dataset}\n{label}" if len(datasets) > 1 else label)
                    if r == nrows - 1:
                        ax.set_xlabel("sample size n (rows)")
                    ax.grid(True, axis="both")
        figure_legend(fig, handles)
        save_figure(fig, out_png, out_pdf, title)


# --------------------------------------------------------------------------- runtime

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


def plot_runtime(table: pd.DataFrame, out_png, out_pdf) -> None:
    """Seconds and peak memory per rule and generator (mean over datasets, range as a bar)."""
    title = "Runtime per rule"
    check_columns(table, RUNTIME_COLUMNS, "runtime table")
    df = table.dropna(subset=["seconds"]) if not table.empty else table
    n_missing = len(table) - len(df)
    if df.empty:
        reason = (
            f"none of {len(table)} benchmark files found" if n_missing else "no benchmark files in this run"
        )
        return no_data_figure(title, reason, out_png, out_pdf)
    df = df.assign(generator=df["generator"].fillna("—").astype(str))
    rules = sorted(df["rule"].unique(), key=lambda r: -df.loc[df["rule"] == r, "seconds"].mean())
    generators = [g for g in order_generators(df["generator"].unique()) if g != "—"]
    if (df["generator"] == "—").any():
        generators.append("—")
    height = 0.75 / df.groupby("rule")["generator"].nunique().max()
    with figure_style():
        fig, axes = plt.subplots(
            1,
            2,
            figsize=(PAGE_WIDTH_IN, 0.9 + 0.32 * len(rules) + 0.05 * len(rules) * len(generators)),
            sharey=True,
        )
        handles: list = []
        for ax, col, label in (
            (axes[0], "seconds", "wall-clock time (s)"),
            (axes[1], "max_rss_mb", "peak memory, max RSS (MB)"),
        ):
            stats = df.groupby(["rule", "generator"])[col].agg(["mean", "min", "max"]).dropna()
            # spread the generators of one rule around its row; a rule with one generator sits on it
            slot = {
                (rule, g): i - (len(gens) - 1) / 2
                for rule, gens in ((r, [g for g in generators if (r, g) in stats.index]) for r in rules)
                for i, g in enumerate(gens)
            }
            for g in generators:
                sub = stats[stats.index.get_level_values("generator") == g].droplevel("generator")
                if sub.empty:
                    continue
                y = np.array([rules.index(r) + slot[(r, g)] * height for r in sub.index])
                colour = "#555555" if g == "—" else base_colour(generator_base(g))
                mean = sub["mean"].to_numpy()
                h = ax.errorbar(
                    mean,
                    y,
                    xerr=np.vstack([mean - sub["min"].to_numpy(), sub["max"].to_numpy() - mean]),
                    fmt="s" if is_hybrid(g) else "o",
                    color=colour,
                    mfc="white" if is_hybrid(g) else colour,
                    label="no generator" if g == "—" else display_name(g),
                    elinewidth=0.8,
                )
                handles.append(h)
            positive = df[col][df[col] > 0]
            if len(positive) and positive.max() / positive.min() > 20:
                log_scale(ax, "x")
            ax.set_xlabel(label)
            ax.grid(True, axis="x")
            ax.grid(False, axis="y")
        axes[0].set_yticks(range(len(rules)), rules)
        axes[0].invert_yaxis()
        if n_missing:
            fig.suptitle(f"{n_missing} of {len(table)} benchmark files missing (jobs not run)", fontsize=7)
        figure_legend(fig, handles, ncol=5)
        save_figure(fig, out_png, out_pdf, title)


# --------------------------------------------------------------------------- privacy vs utility

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
)


def privacy_utility_table(privacy: pd.DataFrame, ate: pd.DataFrame) -> pd.DataFrame:
    """One row per (dataset, generator, set): the worst attack risk and the mean |ATE error|,
    each a mean over replicates with its t interval (no interval from one replicate).

    The ATE error of a replicate is its mean over the estimator and learner cells; a base
    generator's is that of its unfiltered set (the one the ATE stage estimates on), drawn at
    both of its sets' risks.
    """
    risk = attack_risk(privacy)
    errors = replicate_errors(ate)
    if risk.empty or errors.empty:
        return pd.DataFrame(columns=list(PRIVACY_UTILITY_COLUMNS))
    per_rep = errors.groupby(["dataset", "generator", "rep"], as_index=False)["abs_error"].mean()
    per_rep["rep"] = pd.to_numeric(per_rep["rep"])
    risk = risk.assign(rep=pd.to_numeric(risk["rep"]))
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
            }
        )
    return pd.DataFrame(rows, columns=list(PRIVACY_UTILITY_COLUMNS))


def plot_privacy_utility(table: pd.DataFrame, out_png, out_pdf) -> None:
    """Worst attack risk against mean |ATE error|, one panel per dataset, intervals over replicates.

    `table` is `privacy_utility_table(privacy, ate)`. A base generator's filtered set is the
    filled marker, its unfiltered set a small grey one joined to it (what the DCR filter buys);
    a hybrid is hollow; a generator trained with differential privacy carries its epsilon.
    """
    title = "Attack risk vs ATE error"
    if table.empty:
        reason = "needs attack risks (privacy) and ok ATE estimates for the same generator and dataset"
        return no_data_figure(title, reason, out_png, out_pdf)
    check_columns(table, PRIVACY_UTILITY_COLUMNS, "privacy-utility table")
    datasets = sorted(table["dataset"].unique())
    with figure_style():
        fig, axes = panel_grid(len(datasets), max_cols=2, panel_height=2.3)
        for ax, dataset in zip(axes, datasets, strict=True):
            sub = table[table["dataset"] == dataset]
            for g in order_generators(sub["generator"]):
                rows = sub[sub["generator"] == g].set_index("set")
                c = base_colour(generator_base(g))
                release = rows.loc["filtered"] if "filtered" in rows.index else rows.iloc[0]
                if "unfiltered" in rows.index and "filtered" in rows.index:
                    raw = rows.loc["unfiltered"]
                    ax.plot([raw.error, release.error], [raw.risk, release.risk], color=c, lw=0.7, alpha=0.6)
                    ax.plot(raw.error, raw.risk, "o", color=c, alpha=0.45, ms=3, mew=0)
                ax.errorbar(
                    release.error,
                    release.risk,
                    xerr=yerr(release.error, release.error_low, release.error_high),
                    yerr=yerr(release.risk, release.risk_low, release.risk_high),
                    fmt="s" if is_hybrid(g) else "o",
                    color=c,
                    mfc="white" if is_hybrid(g) else c,
                    elinewidth=0.8,
                )
                if np.isfinite(release.epsilon):
                    ax.annotate(
                        f"ε={release.epsilon:g}",
                        (release.error, release.risk),
                        textcoords="offset points",
                        xytext=(4, 4),
                        fontsize=6,
                    )
            ax.set_ylim(-0.02, max(0.2, 1.1 * float(np.nanmax(sub[["risk", "risk_high"]].to_numpy()))))
            ax.set_xlim(left=0)
            ax.set_xlabel("mean |ATE error| (outcome units)")
            ax.set_ylabel("worst attack risk")
            ax.set_title(str(dataset))
            ax.grid(True, axis="both")
        handles = [
            Patch(color=base_colour(b), label="real covariates" if b == REAL else display_name(b))
            for b in _bases(table["generator"])
        ]
        handles += [
            Line2D([], [], ls="", marker="o", color="#555555", label="fully generative, DCR-filtered"),
            Line2D([], [], ls="", marker="o", color="#555555", alpha=0.45, ms=3, label="same, unfiltered"),
            Line2D([], [], ls="", marker="s", color="#555555", mfc="white", label="hybrid"),
        ]
        figure_legend(fig, handles, ncol=4)
        save_figure(fig, out_png, out_pdf, title)


# --------------------------------------------------------------------------- entry point


def make_all_figures(
    tables_dir: str | os.PathLike,
    dcr_jsons: Sequence[str | os.PathLike],
    benchmark_files: Sequence[tuple[str | os.PathLike, str, str | None, str | None]],
    out_dir: str | os.PathLike,
) -> dict[str, tuple[Path, Path]]:
    """Draw every figure into `out_dir` as `<name>.png` and `<name>.pdf`; return name -> paths."""
    out_dir = Path(out_dir)
    paths = {name: (out_dir / f"{name}.png", out_dir / f"{name}.pdf") for name in FIGURES}
    ate = without_reference_learners(deduplicate_real(read_table(tables_dir, "ate_preservation")))
    plot_ate_by_generator(ate, *paths["ate_by_generator"])
    plot_tstr_vs_bias(tstr_vs_bias_table(read_table(tables_dir, "tstr"), ate), *paths["tstr_vs_bias"])
    plot_dcr(load_dcr_records(dcr_jsons), *paths["dcr"])
    plot_positivity(read_table(tables_dir, "positivity"), *paths["positivity"])
    plot_engine(read_table(tables_dir, "engine"), *paths["engine"])
    plot_runtime(read_benchmarks(benchmark_files), *paths["runtime"])
    plot_privacy_utility(
        privacy_utility_table(read_table(tables_dir, "privacy"), ate), *paths["privacy_utility"]
    )
    plot_fidelity(read_table(tables_dir, "fidelity"), *paths["fidelity"])
    plot_inferential_utility(read_table(tables_dir, "inferential_utility"), *paths["inferential_utility"])
    return paths


__all__ = [
    "FIGURES",
    "tstr_vs_bias_table",
    "OKABE_ITO",
    "figure_style",
    "load_dcr_records",
    "make_all_figures",
    "no_data_figure",
    "plot_ate_by_generator",
    "plot_dcr",
    "plot_engine",
    "plot_tstr_vs_bias",
    "plot_positivity",
    "plot_privacy_utility",
    "plot_runtime",
    "privacy_utility_table",
    "read_benchmarks",
]
