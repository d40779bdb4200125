"""The papers' DCR boxplot: the distance to closest record of the real test set and of each
fully generative set, this run's boxes beside the papers'."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from causalsynth.core.uncertainty import mean_interval
from causalsynth.core.vocabulary import is_hybrid
from causalsynth.report.common import order_generators
from causalsynth.report.figures.dcr import mean_quantiles
from causalsynth.report.figures.paper_common import (
    PAPER_DATASET,
    PAPER_STYLE,
    PaperContext,
    add_notes,
    paper_layout,
    paper_values,
    set_label,
)
from causalsynth.report.figures.style import (
    COLUMN_WIDTH_IN,
    PAGE_WIDTH_IN,
    base_colour,
    figure_style,
    no_data_figure,
    save_figure,
)
from causalsynth.report.paper.measure import HOLDOUT, RunTables

TITLE = "The papers' DCR boxplot: real test set and fully generative sets (sim_paper)"
NCOL = 2
WHISKERS = (0.01, 0.99)  # the run's whiskers: quantiles a dcr.json keeps (the papers' boxes have none)


def plot_paper_dcr(run: RunTables, ctx: PaperContext, out_png, out_pdf) -> None:
    """Boxes of the covariate DCR (quartiles, whiskers at the 1st and 99th percentiles, the
    largest as a triangle; quantiles averaged over replicates) with the interval over
    replicates of the median, beside the papers' quartiles and largest DCR."""
    recs = [r for r in run.dcr if r["dataset"] == PAPER_DATASET]
    papers = ctx.numbers
    if not recs and papers.empty:
        return no_data_figure(TITLE, f"no DCR summaries of {PAPER_DATASET} in this run", out_png, out_pdf)
    run_sets = [HOLDOUT] if recs else []
    run_sets += [g for g in order_generators(r["generator"] for r in recs) if not is_hybrid(g)]
    sets = run_sets + [g for g in dict.fromkeys(papers["generator"]) if g not in run_sets]
    runs = {g: _run_stats(recs, g) for g in run_sets}
    boxes = {g: _paper_box(ctx, g) for g in sets}
    tops = [s["whishi"] for s in runs.values() if s] + [b["q3"] for b in boxes.values() if b]
    top = 1.2 * max(tops) if tops else 1.0
    maxima = [(i - 0.18, runs[g]["max"], _colour(g), "^") for i, g in enumerate(sets) if runs.get(g)]
    maxima += [(i + 0.18, boxes[g]["max"], "black", "D") for i, g in enumerate(sets) if boxes[g]]
    off = sum(np.isfinite(v) and v > top for _, v, _, _ in maxima)
    cut = sum(s["median_interval"].defined and (s["median_interval"].low < 0 or s["median_interval"].high > top)
              for s in runs.values() if s)  # fmt: skip
    notes = [f"{off} largest DCR(s) above the axis sit at its top, their value under them."] if off else []
    notes += [f"{cut} interval(s) of a median run beyond the axis and are cut at it."] if cut else []
    footer = ctx.footer(notes)
    with figure_style():
        width = max(COLUMN_WIDTH_IN * 1.4, min(PAGE_WIDTH_IN, 1.0 + 0.8 * len(sets)))
        fig, panels, strip = paper_layout(width, 3.0, footer, 5, NCOL)
        ax = panels.subplots()
        for i, g in enumerate(sets):
            stats, colour = runs.get(g), _colour(g)
            if stats is not None:
                ax.bxp([stats], positions=[i - 0.18], widths=0.3, showfliers=False, patch_artist=True,
                       boxprops={"facecolor": colour, "alpha": 0.55, "edgecolor": colour},
                       medianprops={"color": "black"}, whiskerprops={"color": colour},
                       capprops={"color": colour})  # fmt: skip
                med = stats["median_interval"]
                if med.defined:
                    ax.plot([i - 0.18] * 2, [med.low, med.high], color="black", lw=1.8, solid_capstyle="butt")
            if boxes[g]:
                ax.bxp([boxes[g]], positions=[i + 0.18], widths=0.3, showfliers=False, showcaps=False,
                       patch_artist=True, boxprops={"facecolor": "white", "edgecolor": "black", "hatch": "////"},
                       medianprops={"color": "black", "lw": 1.4})  # fmt: skip
            if g not in run_sets:
                ax.text(i - 0.18, 0.02, "not in\nthis run", ha="center", va="bottom", fontsize=6,
                        color="#777777", transform=ax.get_xaxis_transform())  # fmt: skip
        _draw_maxima(ax, maxima, top)
        ax.set_ylim(0, top)
        ax.set_xticks(range(len(sets)), [_label(g) for g in sets])
        ax.set_ylabel("DCR to the training rows\n(covariates, standardized)")
        ax.set_title(TITLE)
        handles = [
            Patch(facecolor="#999999", alpha=0.55, label="this run: quartiles, whiskers 1%-99%"),
            Line2D(
                [], [], color="black", lw=1.8, label="this run: 95% interval of the median over replicates"
            ),
            Line2D([], [], marker="^", color="#555555", ls="none", label="this run: largest DCR"),
            Patch(facecolor="white", edgecolor="black", hatch="////", label=f"{ctx.paper_label}: quartiles"),
            Line2D([], [], **{**PAPER_STYLE, "label": f"{ctx.paper_label}: largest DCR"}),
        ]
        add_notes(strip, handles, NCOL, footer)
        save_figure(fig, out_png, out_pdf, TITLE)


def _colour(generator: str) -> str:
    return "#555555" if generator == HOLDOUT else base_colour(generator)


def _paper_box(ctx: PaperContext, generator: str) -> dict | None:
    """The papers' quartiles as a box without whiskers, and their largest DCR."""
    pv = paper_values(ctx, generator=generator).set_index("quantity")["value"]
    if not {"dcr_q25", "dcr_median", "dcr_q75"} <= set(pv.index):
        return None
    q1, q3 = float(pv["dcr_q25"]), float(pv["dcr_q75"])
    return {"med": float(pv["dcr_median"]), "q1": q1, "q3": q3, "whislo": q1, "whishi": q3, "fliers": [],
            "max": float(pv.get("dcr_max", np.nan))}  # fmt: skip


def _run_stats(recs: list[dict], generator: str) -> dict | None:
    if generator == HOLDOUT:
        first = {}
        for r in recs:  # the holdout's DCR is the same for every generator of a replicate
            first.setdefault(r["rep"], r.get("holdout_quantiles"))
        dicts = list(first.values())
    else:
        dicts = [r.get("synthetic_quantiles") for r in recs if r["generator"] == generator]
    q = mean_quantiles(dicts)
    if q is None:
        return None
    medians = [_at(d, 0.5) for d in dicts if d]
    return {
        "med": _at(q, 0.5),
        "q1": _at(q, 0.25),
        "q3": _at(q, 0.75),
        "whislo": _at(q, WHISKERS[0]),
        "whishi": _at(q, WHISKERS[1]),
        "fliers": [],
        "max": _at(q, 1.0),
        "median_interval": mean_interval(medians),
    }


def _at(q, level: float) -> float:
    s = pd.Series({float(k): v for k, v in dict(q).items()}, dtype=float)
    hit = s[np.isclose(s.index.to_numpy(dtype=float), level)]
    return float(hit.iloc[0]) if len(hit) else float("nan")


def _draw_maxima(ax, maxima: list, top: float) -> None:
    """The largest DCRs; one above the axis sits at its top with its value under it."""
    for x, value, colour, marker in maxima:
        if not np.isfinite(value):
            continue
        style = PAPER_STYLE if marker == "D" else {"marker": "^", "color": colour, "ls": "none", "ms": 4.5}
        if value <= top:
            ax.plot([x], [value], **style)
            continue
        ax.plot([x], [0.96 * top], **style)
        ax.annotate(f"{value:.2f}", (x, 0.96 * top), xytext=(0, -5), textcoords="offset points", ha="center",
                    va="top", fontsize=5.5)  # fmt: skip


def _label(generator: str) -> str:
    return "real test set" if generator == HOLDOUT else set_label(generator).replace(" (", "\n(")
