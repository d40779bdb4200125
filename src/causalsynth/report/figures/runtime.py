"""Seconds and peak memory per rule and generator, from Snakemake's benchmark files."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from causalsynth.core.vocabulary import check_columns, generator_base, is_hybrid
from causalsynth.report.common import order_generators
from causalsynth.report.figures.data import RUNTIME_COLUMNS
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
