"""ATE per generator with its interval against the truth, one panel per dataset."""

from __future__ import annotations

import pandas as pd
from matplotlib.lines import Line2D

from causalsynth.core.vocabulary import HYBRID_PREFIX, REAL, generator_base, is_hybrid
from causalsynth.report.common import generator_group, order_generators
from causalsynth.report.figures.style import (
    DISPLAY_NAMES,
    GROUP_SHADE,
    figure_legend,
    figure_style,
    panel_grid,
    robust_ylim,
    save_figure,
    series_panels,
    yerr,
)


def plot_ate_by_generator(table: pd.DataFrame, out_png, out_pdf) -> None:
    """ATE per generator with 95% intervals against the truth, one panel per dataset."""
    title = "ATE by generator"
    panels = series_panels(
        table, "ate_preservation", title, "no ok ATE estimates in ate_preservation", out_png, out_pdf
    )
    if panels is None:
        return
    df, series, colours, markers, datasets = panels
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
