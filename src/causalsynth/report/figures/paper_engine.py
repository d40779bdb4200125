"""The papers' simulation-engine table as a figure: bias, variance and MSE of each estimator in
each pool (and the true process) at n = 1,000, this run's beside the papers'."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from causalsynth.core.uncertainty import normal_interval
from causalsynth.core.vocabulary import ENGINE_REFERENCE, TRUTH_ENGINE, generator_base
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
    PAGE_WIDTH_IN,
    base_colour,
    figure_style,
    log_scale,
    no_data_figure,
    robust_ylim,
    save_figure,
)
from causalsynth.report.paper.measure import RunTables, Summary, engine_summary
from causalsynth.report.paper.settings import PAPER_ENGINE_N

TITLE = "The papers' simulation engine: bias, variance and MSE by estimator and pool (sim_paper)"
QUANTITIES = (("bias", "bias"), ("variance", "variance (log scale)"), ("mse", "MSE (log scale)"))
NCOL = 4
TRUE_PROCESS_COLOUR = "#777777"  # apart from hybrid_real's black


def plot_paper_engine(run: RunTables, ctx: PaperContext, out_png, out_pdf) -> None:
    """Per estimator, one mark per pool: this run's value with its 95% Monte Carlo interval and
    the papers' value beside it, at the papers' n = 1,000 (else the run's largest n, said so)."""
    eng = run.engine[run.engine["dataset"] == PAPER_DATASET] if not run.engine.empty else run.engine
    if eng.empty and ctx.numbers.empty:
        return no_data_figure(TITLE, f"no simulation-engine results of {PAPER_DATASET}", out_png, out_pdf)
    sizes = (
        sorted(pd.to_numeric(eng["n"], errors="coerce").dropna().astype(int).unique())
        if not eng.empty
        else []
    )
    n = PAPER_ENGINE_N if PAPER_ENGINE_N in sizes or not sizes else sizes[-1]
    papers = ctx.numbers[ctx.numbers["quantity"].isin([q for q, _ in QUANTITIES])]
    estimators = list(dict.fromkeys(papers["estimator"]))
    # the engine's reference (AIPW with the true nuisances) is no candidate the papers rank
    estimators += (
        sorted(set(eng["estimator"]) - set(estimators) - {ENGINE_REFERENCE}) if not eng.empty else []
    )
    pools = _pools(eng, papers)
    width = 0.8 / max(len(pools), 1)
    footer = ctx.footer()
    n_handles = len(pools) + 2
    with figure_style():
        fig, top, bottom = paper_layout(PAGE_WIDTH_IN, 2.9, footer, n_handles, NCOL)
        axes = top.subplots(1, 3, squeeze=False)
        for ax, (q, label) in zip(axes[0], QUANTITIES, strict=True):
            core, bounds, known = [], [], []
            for i, est in enumerate(estimators):
                for j, pool in enumerate(pools):
                    x = i - 0.4 + width * (j + 0.5)
                    colour, marker = _style(pool)
                    got = engine_summary(run, PAPER_DATASET, pool, est, q, n)
                    if isinstance(got, Summary) and np.isfinite(got.estimate):
                        iv = normal_interval(got.estimate, got.se)
                        err = [[iv.estimate - iv.low], [iv.high - iv.estimate]] if iv.defined else None
                        ax.errorbar(x - width * 0.2, got.estimate, yerr=err, color=colour, marker=marker,
                                    ms=4, lw=0.9, ls="none")  # fmt: skip
                        core.append(got.estimate)
                        bounds += [iv.low, iv.high]
                    pv = paper_values(ctx, generator=pool, estimator=est, quantity=q)["value"]
                    if len(pv):
                        ax.plot([x + width * 0.2], [float(pv.iloc[0])], **{**PAPER_STYLE, "mec": colour})
                        known.append(float(pv.iloc[0]))
            if q == "bias":
                ax.axhline(0.0, color="black", lw=0.7, ls="--", zorder=0)
                # the run's values set the axis (a wild one runs off it, counted); the papers' stay on it
                robust_ylim(ax, [*core, 0.0], bounds)
                include_values(ax, known)
            elif any(v > 0 for v in core + known):
                log_scale(ax, "y")
            ax.set_xticks(range(len(estimators)), estimators, rotation=30, ha="right")
            for i in range(1, len(estimators)):
                ax.axvline(i - 0.5, color="#DDDDDD", lw=0.6, zorder=0)
            ax.set_title(label)
            ax.grid(False, axis="x")
        top.suptitle(
            f"{TITLE}\nn = {n:,}" + ("" if n == PAPER_ENGINE_N else f" (the papers': {PAPER_ENGINE_N:,})")
        )
        handles = [
            Line2D([], [], color=_style(p)[0], marker=_style(p)[1], ls="none", label=_pool_label(p))
            for p in pools
        ]
        handles += [
            Line2D([], [], color="#555555", lw=0.9, label="this run: 95% Monte Carlo interval"),
            Line2D([], [], **{**PAPER_STYLE, "label": ctx.paper_label}),
        ]
        add_notes(bottom, handles, NCOL, footer)
        save_figure(fig, out_png, out_pdf, TITLE)


def _pools(eng: pd.DataFrame, papers: pd.DataFrame) -> list[str]:
    have = set(eng["engine"].astype(str)) if not eng.empty else set()
    have |= set(papers["generator"].astype(str))
    hybrids = order_generators(have - {TRUTH_ENGINE})
    return ([TRUTH_ENGINE] if TRUTH_ENGINE in have else []) + hybrids


def _style(pool: str) -> tuple[str, str]:
    if pool == TRUTH_ENGINE:
        return TRUE_PROCESS_COLOUR, "*"
    return base_colour(generator_base(pool)), "s"


def _pool_label(pool: str) -> str:
    return "true process" if pool == TRUTH_ENGINE else f"{set_label(pool)} pool"
