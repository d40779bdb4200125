"""Inferential utility: coverage and interval width of intervals computed on synthetic data
as if it were real, against the synthetic size.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from causalsynth.core.uncertainty import LEVEL
from causalsynth.core.vocabulary import PERFECT, REAL, TABLES, check_columns, generator_base, is_hybrid
from causalsynth.report.common import order_generators
from causalsynth.report.figures.style import (
    PAGE_WIDTH_IN,
    base_colour,
    display_name,
    figure_legend,
    figure_style,
    log_scale,
    no_data_figure,
    save_figure,
)

TRUE_PROCESS_COLOUR = "#888888"


def plot_inferential_utility(table: pd.DataFrame, out_png, out_pdf) -> None:
    """Coverage of the truth (with 2 MCSE bars) and mean interval width against synthetic size."""
    title = "Inferential utility: intervals computed on synthetic data as if real"
    if not table.empty:
        check_columns(table, TABLES["inferential_utility"].required, "inferential_utility table")
    df = table[pd.to_numeric(table["reps"], errors="coerce") > 0] if not table.empty else table
    if df.empty:
        return no_data_figure(title, "no inferential-utility results in this run", out_png, out_pdf)
    df = df.assign(series=df["estimator"].astype(str))
    datasets = sorted(df["dataset"].unique())
    # the two references first: fresh samples of the true process, then the perfect generator
    references = {
        REAL: ("true process", TRUE_PROCESS_COLOUR, "*"),
        PERFECT: ("perfect generator", "#333333", "D"),
    }
    present = [str(g) for g in df["generator"].unique()]
    others = order_generators(g for g in present if g not in references)
    generators = [g for g in references if g in present] + others
    estimators = sorted(df["series"].unique())
    styles = dict(zip(estimators, ["-", "--", ":", "-."] * 4, strict=False))
    with figure_style():
        fig, axes = plt.subplots(
            2, len(datasets), figsize=(min(PAGE_WIDTH_IN, 2.6 * len(datasets) + 0.8), 4.2), squeeze=False
        )
        handles: list = []
        for c, dataset in enumerate(datasets):
            sub = df[df["dataset"] == dataset]
            for g in generators:
                for e in estimators:
                    grp = sub[(sub["generator"] == g) & (sub["series"] == e)].sort_values("n_rows")
                    if grp.empty:
                        continue
                    # a reference has its own colour, apart from hybrid_real's
                    base = generator_base(g)
                    own = (display_name(g), base_colour(base), "o" if g == base else "s")
                    name, colour, marker = references.get(g, own)
                    label = name + (f" ({e})" if len(estimators) > 1 else "")
                    # with one estimator the line style is free: a hybrid is dashed beside its base
                    ls = styles[e] if len(estimators) > 1 else ("--" if is_hybrid(g) else "-")
                    mcse = pd.to_numeric(grp["coverage_mcse"], errors="coerce").fillna(0.0)
                    handles.append(
                        axes[0, c].errorbar(
                            grp["n_rows"], grp["coverage"], yerr=2 * mcse, color=colour, ls=ls,
                            marker=marker, ms=3, lw=0.8, label=label,
                        )
                    )  # fmt: skip
                    axes[1, c].plot(grp["n_rows"], grp["ci_width"], color=colour, ls=ls, marker=marker, ms=3)
            axes[0, c].axhline(LEVEL, color="black", lw=0.7, ls="--", zorder=0)
            axes[0, c].set_ylim(-0.03, 1.03)
            axes[0, c].set_title(dataset)
            axes[1, c].set_xlabel("synthetic rows n")
            sizes = sorted(int(n) for n in sub["n_rows"].unique())
            for r in (0, 1):
                log_scale(axes[r, c], "x")
                # ticks where the points sit: a log locator's 500, 1,000, 2,000 hid 250 and 4,000
                axes[r, c].set_xticks(sizes, [f"{n:,}" for n in sizes])
                axes[r, c].set_xticks([], minor=True)
                axes[r, c].grid(True, axis="both")
            log_scale(axes[1, c], "y")
        axes[0, 0].set_ylabel(f"coverage of the truth\n(nominal {LEVEL:.0%}, bars 2 MCSE)")
        axes[1, 0].set_ylabel("mean interval width")
        figure_legend(fig, handles)
        save_figure(fig, out_png, out_pdf, title)
