"""Predictive fidelity (TSTR) against the relative |ATE error|."""

from __future__ import annotations

import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from causalsynth.core.vocabulary import REAL, check_columns, generator_base, is_hybrid
from causalsynth.report.figures.data import bases_in_order
from causalsynth.report.figures.style import (
    base_colour,
    display_name,
    figure_legend,
    figure_style,
    log_scale,
    no_data_figure,
    panel_grid,
    save_figure,
    series_markers,
)


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
            for b in bases_in_order(table["generator"])
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
