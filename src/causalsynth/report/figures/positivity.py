"""ATE estimates under positivity violations: raw, truncated, clipped and paired."""

from __future__ import annotations

import numpy as np
import pandas as pd

from causalsynth.core.vocabulary import POSITIVITY_METHODS
from causalsynth.report.figures.style import (
    figure_legend,
    figure_style,
    panel_grid,
    robust_ylim,
    save_figure,
    series_panels,
    yerr,
)


def plot_positivity(table: pd.DataFrame, out_png, out_pdf) -> None:
    """Raw, truncated, clipped and paired estimates against the truth, one panel per dataset."""
    title = "ATE under positivity violations"
    panels = series_panels(
        table, "positivity", title, "no ok positivity estimates in this run", out_png, out_pdf
    )
    if panels is None:
        return
    df, estimators, colours, markers, datasets = panels
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
