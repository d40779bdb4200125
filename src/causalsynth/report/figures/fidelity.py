"""Fidelity of every synthetic set against a real sample of its size, one panel per metric."""

from __future__ import annotations

import numpy as np
import pandas as pd

from causalsynth.core.uncertainty import mean_interval
from causalsynth.core.vocabulary import TABLES, check_columns
from causalsynth.report.common import ok_rows, order_generators
from causalsynth.report.figures.style import (
    PAGE_WIDTH_IN,
    display_name,
    figure_legend,
    figure_style,
    log_scale,
    no_data_figure,
    panel_grid,
    save_figure,
    series_colours,
    series_markers,
)

# (metric, axis label, how the synthetic value is set against a real sample's): "gap" plots
# value - real_value (0: as close as real data), "ratio" value / real_value on a log axis.
FIDELITY_PANELS = (
    ("shape", "column shapes\n(synthetic - real)", "gap"),
    ("trend", "column-pair trends\n(synthetic - real)", "gap"),
    ("c2st_auc", "C2ST AUC\n(synthetic - real)", "gap"),
    ("alpha_precision_naive", "alpha-precision, naive\n(synthetic - real)", "gap"),
    ("beta_recall_naive", "beta-recall, naive\n(synthetic - real)", "gap"),
    ("jsd_pi", "JSD_pi similarity\n(synthetic - real)", "gap"),
    ("u_pehe", "U_PEHE\n(synthetic / real)", "ratio"),
    ("treatment_share", "treatment share\n(synthetic - real)", "gap"),
)


def fidelity_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per (dataset, generator, metric): the mean over replicates of the synthetic-vs-real
    comparison of FIDELITY_PANELS, with its t interval over the replicates."""
    kinds = {m: k for m, _, k in FIDELITY_PANELS}
    ok = ok_rows(table[table["metric"].isin(kinds)], "value")
    if ok.empty:
        return pd.DataFrame(columns=["dataset", "generator", "metric", "mid", "low", "high"])
    value = pd.to_numeric(ok["value"], errors="coerce")
    real = pd.to_numeric(ok["real_value"], errors="coerce")
    ratio = ok["metric"].map(kinds) == "ratio"
    with np.errstate(divide="ignore", invalid="ignore"):
        compared = np.where(ratio, value / real.where(real > 0), value - real)
    ok = ok.assign(compared=compared)
    rows = []
    for (d, g, m), grp in ok.groupby(["dataset", "generator", "metric"]):
        iv = mean_interval(grp["compared"])
        rows.append(
            {"dataset": d, "generator": g, "metric": m, "mid": iv.estimate, "low": iv.low, "high": iv.high}
        )
    return pd.DataFrame(rows)


def plot_fidelity(table: pd.DataFrame, out_png, out_pdf) -> None:
    """One panel per metric: each generator's set against a real sample of its size, per dataset."""
    title = "Fidelity of synthetic sets against a real sample"
    if not table.empty:
        check_columns(table, TABLES["fidelity"].required, "fidelity table")
    summary = fidelity_summary(table) if not table.empty else pd.DataFrame()
    if summary.empty:
        return no_data_figure(title, "no fidelity results in this run", out_png, out_pdf)
    generators = order_generators(summary["generator"].unique())
    datasets = sorted(summary["dataset"].unique())
    colours, markers = series_colours(datasets), series_markers(datasets)
    x_of = {g: i for i, g in enumerate(generators)}
    offset = {d: (i - (len(datasets) - 1) / 2) * 0.6 / max(len(datasets), 1) for i, d in enumerate(datasets)}
    panels = [p for p in FIDELITY_PANELS if p[0] in set(summary["metric"])]
    with figure_style():
        fig, axes = panel_grid(len(panels), 2, 1.7, width=PAGE_WIDTH_IN)
        handles: list = []
        for ax, (metric, label, kind) in zip(axes, panels, strict=True):
            sub = summary[summary["metric"] == metric]
            for d, grp in sub.groupby("dataset"):
                x = np.array([x_of[g] + offset[d] for g in grp["generator"]])
                mid = grp["mid"].to_numpy(dtype=float)
                err = np.vstack(
                    [mid - grp["low"].to_numpy(dtype=float), grp["high"].to_numpy(dtype=float) - mid]
                )
                err = np.where(np.isfinite(err), np.abs(err), 0.0)
                handles.append(
                    ax.errorbar(x, mid, yerr=err, fmt=markers[d], color=colours[d], ms=3, lw=0.7, label=d)
                )
            ax.axhline(1.0 if kind == "ratio" else 0.0, color="black", lw=0.7, ls="--", zorder=0)
            if kind == "ratio":
                log_scale(ax, "y")
            ax.set_ylabel(label)
            ax.set_xticks(range(len(generators)))
            ax.set_xticklabels([display_name(g) for g in generators], rotation=60, ha="right", fontsize=6)
            ax.grid(True, axis="y")
        figure_legend(fig, handles)
        save_figure(fig, out_png, out_pdf, title)
