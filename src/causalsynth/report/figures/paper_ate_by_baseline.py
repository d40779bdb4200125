"""The papers' "IPTW / AIPW ATE estimates by baseline": each set's estimate beside the papers',
fully generative, hybrid, pairing, the unpaired observational set and the RCT seed set, with
the true ATE as a line."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from causalsynth.core.uncertainty import mean_interval
from causalsynth.core.vocabulary import REAL, generator_base, is_hybrid
from causalsynth.report.common import order_generators
from causalsynth.report.figures.paper_common import (
    PAPER_DATASET,
    PAPER_STYLE,
    PaperContext,
    add_notes,
    include_values,
    paper_layout,
    paper_values,
    set_label,
)
from causalsynth.report.figures.style import (
    GROUP_SHADE,
    PAGE_WIDTH_IN,
    base_colour,
    figure_style,
    no_data_figure,
    robust_ylim,
    save_figure,
)
from causalsynth.report.paper.measure import Draws, RunTables, ate_draws, grid_learner, positivity_draws

TITLE = "The papers' ATE estimates by baseline, IPTW and AIPW (sim_paper)"
ESTIMATORS = (("iptw", "IPTW"), ("aipw", "AIPW"))
# how a kind of set is marked: a generator and its hybrid differ in shape and fill at a glance
KIND_MARKS = {
    "fully_generative": ("o", "white"),
    "hybrid": ("s", None),
    "pairing": ("^", None),
    "observational": ("v", "white"),
    "rct_seed": ("P", None),
}
N_HANDLES, NCOL = len(KIND_MARKS) + 3, 4
KIND_NAMES = {
    "fully_generative": "fully generative",
    "hybrid": "hybrid",
    "pairing": "pairing",
    "observational": "no pairing",
    "rct_seed": "real",
}


def plot_paper_ate_by_baseline(run: RunTables, ctx: PaperContext, out_png, out_pdf) -> None:
    """Per set, this run's mean estimate over replicates (confounded sets, for pairing) with its
    95% t interval, and the papers' value; the true ATE as a vertical line."""
    has_run = not run.ate.empty and PAPER_DATASET in set(run.ate["dataset"])
    if not has_run and ctx.numbers.empty:
        return no_data_figure(TITLE, f"no ATE estimates of {PAPER_DATASET} in this run", out_png, out_pdf)
    rows = _rows(run, ctx)
    truth = _truth(run)
    footer = ctx.footer()
    with figure_style():
        fig, top, bottom = paper_layout(PAGE_WIDTH_IN, 1.0 + 0.24 * len(rows), footer, N_HANDLES, NCOL)
        axes = top.subplots(1, 2, sharey=True, squeeze=False)
        for ax, (est, name) in zip(axes[0], ESTIMATORS, strict=True):
            core, bounds, known = [], [], []
            for y, (kind, g, _) in enumerate(rows):
                if kind in ("fully_generative", "pairing") and (y == 0 or rows[y - 1][0] != kind):
                    ax.axhspan(y - 0.5, y + _group_len(rows, y) - 0.5, color=GROUP_SHADE, zorder=0, lw=0)
                iv = _run_interval(run, kind, g, est)
                marker, face = KIND_MARKS[kind]
                colour = "black" if generator_base(g) == REAL else base_colour(generator_base(g))
                if np.isfinite(iv.estimate):
                    err = [[iv.estimate - iv.low], [iv.high - iv.estimate]] if iv.defined else None
                    ax.errorbar(iv.estimate, y + 0.12, xerr=err, marker=marker, color=colour, mfc=face or colour,
                                ms=4.5, lw=1.0, ls="none", zorder=4)  # fmt: skip
                    core.append(iv.estimate)
                    bounds += [iv.low, iv.high]
                elif has_run:
                    ax.text(0.01, y, "not in this run", transform=ax.get_yaxis_transform(), va="center",
                            fontsize=6, color="#777777")  # fmt: skip
                pv = paper_values(ctx, kind=kind, generator=g, estimator=est, quantity="ate")["value"]
                if len(pv):
                    ax.plot([float(pv.iloc[0])], [y - 0.12], **PAPER_STYLE)
                    known.append(float(pv.iloc[0]))
            if np.isfinite(truth):
                ax.axvline(truth, color="black", lw=0.8, ls="--", zorder=1)
                known.append(truth)
            # the run's estimates set the axis (a wild one runs off it, counted); the papers' are always on it
            robust_ylim(ax, core or known, bounds, axis="x")
            include_values(ax, known, axis="x")
            ax.set_title(name)
            ax.set_xlabel(f"ATE estimate ({grid_learner(run.ate) or 'no estimates'})")
            ax.grid(True, axis="x")
            ax.grid(False, axis="y")
        axes[0, 0].set_yticks(range(len(rows)), [label for _, _, label in rows])
        axes[0, 0].set_ylim(len(rows) - 0.5, -0.5)
        handles = [
            Line2D([], [], marker=m, color="#555555", mfc=f or "#555555", ls="none", label=KIND_NAMES[k])
            for k, (m, f) in KIND_MARKS.items()
        ]
        handles += [
            Line2D([], [], color="#555555", lw=1.0, label="this run: mean, 95% interval over replicates"),
            Line2D([], [], **{**PAPER_STYLE, "label": ctx.paper_label}),
            Line2D(
                [],
                [],
                color="black",
                ls="--",
                lw=0.8,
                label=f"true ATE {truth:.4f}" if np.isfinite(truth) else "true ATE: not in this run",
            ),
        ]
        add_notes(bottom, handles, NCOL, footer)
        save_figure(fig, out_png, out_pdf, TITLE)


def _rows(run: RunTables, ctx: PaperContext) -> list[tuple[str, str, str]]:
    """(kind, generator, label) of every set the run or the papers have, grouped by kind."""
    ate = run.ate[run.ate["dataset"] == PAPER_DATASET] if not run.ate.empty else run.ate
    gens = [str(g) for g in ate["generator"].unique()] if not ate.empty else []
    papers = ctx.numbers

    def paper_gens(kind: str) -> list[str]:
        return list(dict.fromkeys(papers.loc[papers["kind"] == kind, "generator"].astype(str)))

    full = order_generators(
        {g for g in gens if g != REAL and not is_hybrid(g)} | set(paper_gens("fully_generative"))
    )
    hybrid = order_generators({g for g in gens if is_hybrid(g)} | set(paper_gens("hybrid")))
    has_positivity = not run.positivity.empty and PAPER_DATASET in set(run.positivity["dataset"])
    pools = order_generators(
        ({run.pairing_pool} if has_positivity and run.pairing_pool else set()) | set(paper_gens("pairing"))
    )
    rows = [("fully_generative", g, set_label(g)) for g in full]
    rows += [("hybrid", g, set_label(g)) for g in hybrid]
    rows += [("pairing", p, f"pairing from {set_label(p)}") for p in pools]
    rows += [("observational", REAL, "confounded set, no pairing"), ("rct_seed", REAL, "RCT seed set")]
    return rows


def _group_len(rows: list, start: int) -> int:
    kind = rows[start][0]
    n = 0
    while start + n < len(rows) and rows[start + n][0] == kind:
        n += 1
    return n


def _run_interval(run: RunTables, kind: str, generator: str, estimator: str):
    if kind in ("pairing", "observational"):
        got = positivity_draws(run, PAPER_DATASET, kind, generator, estimator, "ate")
    else:
        got = ate_draws(run, PAPER_DATASET, generator, estimator)
    return mean_interval(got.values) if isinstance(got, Draws) else mean_interval([])


def _truth(run: RunTables) -> float:
    if run.ate.empty:
        return float("nan")
    truth = pd.to_numeric(run.ate.loc[run.ate["dataset"] == PAPER_DATASET, "truth"], errors="coerce").dropna()
    return float(truth.median()) if len(truth) else float("nan")
