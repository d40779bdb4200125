"""Worst attack risk against the mean |ATE error|."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from causalsynth.core.vocabulary import REAL, check_columns, generator_base, is_hybrid
from causalsynth.report.common import order_generators
from causalsynth.report.figures.data import PRIVACY_UTILITY_COLUMNS, bases_in_order
from causalsynth.report.figures.style import (
    OKABE_ITO,
    base_colour,
    display_name,
    figure_legend,
    figure_style,
    no_data_figure,
    panel_grid,
    save_figure,
    yerr,
)

# the release gate's mark on a set it holds back: black, the one colour no base generator here has
HELD_COLOUR = OKABE_ITO["black"]


def plot_privacy_utility(table: pd.DataFrame, out_png, out_pdf) -> None:
    """Worst attack risk against mean |ATE error|, one panel per dataset, intervals over replicates.

    `table` is `privacy_utility_table(privacy, ate)`. A base generator's filtered set is the
    filled marker, its unfiltered set a small grey one joined to it (what the DCR filter buys);
    a hybrid is hollow; a generator trained with differential privacy carries its epsilon. A
    black cross marks a released set the release gate holds back in some replicate (not
    releasable or not assessed; the unfiltered set, never released, is not marked).
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
                if release.reps_held > 0 and release.name == "filtered":
                    ax.plot(release.error, release.risk, "x", color=HELD_COLOUR, ms=9, mew=1.4, zorder=5)
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
            for b in bases_in_order(table["generator"])
        ]
        handles += [
            Line2D([], [], ls="", marker="o", color="#555555", label="fully generative, DCR-filtered"),
            Line2D([], [], ls="", marker="o", color="#555555", alpha=0.45, ms=3, label="same, unfiltered"),
            Line2D([], [], ls="", marker="s", color="#555555", mfc="white", label="hybrid"),
        ]
        if (table.loc[table["set"] == "filtered", "reps_held"] > 0).any():
            handles.append(
                Line2D(
                    [],
                    [],
                    ls="",
                    marker="x",
                    color=HELD_COLOUR,
                    mew=1.4,
                    label="held back by the release gate",
                )
            )
        figure_legend(fig, handles, ncol=4)
        save_figure(fig, out_png, out_pdf, title)
