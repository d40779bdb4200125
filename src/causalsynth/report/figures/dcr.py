"""ECDFs of the distance to closest record, per dataset."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from causalsynth.core.vocabulary import generator_base, is_hybrid
from causalsynth.report.common import order_generators
from causalsynth.report.figures.style import (
    DISPLAY_NAMES,
    base_colour,
    display_name,
    figure_legend,
    figure_style,
    no_data_figure,
    panel_grid,
    save_figure,
)


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
            holdout = mean_quantiles(r.get("holdout_quantiles") for r in recs)
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
                q = mean_quantiles(r.get("synthetic_quantiles") for r in recs if r["generator"] == g)
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


def mean_quantiles(quantile_dicts: Iterable[dict | None]) -> pd.Series | None:
    """Quantile functions averaged over replicates (Vincentization): level -> distance."""
    series = []
    for q in quantile_dicts:
        if q:
            s = pd.Series({float(k): float(v) for k, v in q.items() if v is not None}).sort_index()
            series.append(s)
    if not series:
        return None
    return pd.concat(series, axis=1).mean(axis=1).dropna().sort_index()
