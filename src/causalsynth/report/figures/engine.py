"""The simulation engine against the true process: bias, RMSE and coverage against n."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from causalsynth.core.vocabulary import TABLES, check_columns
from causalsynth.report.common import order_generators
from causalsynth.report.figures.style import (
    COLUMN_WIDTH_IN,
    PAGE_WIDTH_IN,
    display_name,
    figure_legend,
    figure_style,
    no_data_figure,
    save_figure,
    series_colours,
    series_markers,
    with_series,
)

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
