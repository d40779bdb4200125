"""The one style of every causalsynth figure: palette, sizes, names, saving and panel helpers.

Okabe-Ito colours (colour-blind-safe), one column or one page wide, PNG and PDF written
atomically with their title in the metadata.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from typing import NamedTuple

import matplotlib

matplotlib.use("Agg")  # no display on a cluster node or in CI

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402

from causalsynth.core.io import atomic_path  # noqa: E402
from causalsynth.core.vocabulary import REAL, TABLES, check_columns, generator_base, is_hybrid  # noqa: E402
from causalsynth.report.common import ok_rows  # noqa: E402

# Okabe & Ito (2008), distinguishable under the common colour-vision deficiencies.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
# Yellow last: it is hard to see on white and is only reached with many series.
PALETTE = [
    OKABE_ITO[k]
    for k in ("orange", "sky_blue", "bluish_green", "vermillion", "blue", "reddish_purple", "yellow")
]
MARKERS = ["o", "s", "D", "^", "v", "P", "X", "h"]
BASE_COLOURS = {
    REAL: OKABE_ITO["black"],
    "ctgan": OKABE_ITO["orange"],
    "tvae": OKABE_ITO["sky_blue"],
    "gaussian_copula": OKABE_ITO["bluish_green"],
    "great": OKABE_ITO["vermillion"],
    "tabularargn": OKABE_ITO["blue"],
}
DISPLAY_NAMES = {
    REAL: "real",
    "ctgan": "CTGAN",
    "tvae": "TVAE",
    "gaussian_copula": "Gaussian copula",
    "great": "GReaT",
    "tabularargn": "TabularARGN",
    "holdout": "real holdout",
}
GROUP_SHADE = "#EEEEEE"

COLUMN_WIDTH_IN = 3.5  # one column of a two-column paper
PAGE_WIDTH_IN = 7.2

STYLE = {
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.color": "#DDDDDD",
    "grid.linewidth": 0.5,
    "axes.linewidth": 0.6,
    "lines.linewidth": 1.2,
    "lines.markersize": 4,
    "errorbar.capsize": 0,
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
    "figure.dpi": 100,
    "savefig.dpi": 300,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.03,
    "pdf.fonttype": 42,  # embed TrueType so text stays editable and searchable in the PDF
    "ps.fonttype": 42,
    "figure.constrained_layout.use": True,
}


@contextmanager
def figure_style():
    """The one style every figure of causalsynth is drawn in."""
    with plt.rc_context(STYLE):
        yield


def display_name(generator: str) -> str:
    base = generator_base(generator)
    name = DISPLAY_NAMES.get(base, base)
    return f"hybrid {name}" if is_hybrid(generator) else name


def base_colour(base: str) -> str:
    if base in BASE_COLOURS:
        return BASE_COLOURS[base]
    # an unknown generator gets a spare colour fixed by its name (not hash(): salted per process)
    spare = [c for c in PALETTE if c not in BASE_COLOURS.values()]
    return spare[sum(map(ord, base)) % len(spare)]


def series_colours(names: Sequence[str]) -> dict[str, str]:
    return {n: PALETTE[i % len(PALETTE)] for i, n in enumerate(names)}


def series_markers(names: Sequence[str]) -> dict[str, str]:
    return {n: MARKERS[i % len(MARKERS)] for i, n in enumerate(names)}


# --------------------------------------------------------------------------- output


def save_figure(
    fig, out_png: str | os.PathLike, out_pdf: str | os.PathLike, title: str, subject: str = ""
) -> None:
    """Write both files atomically: a killed job never leaves half a figure behind.

    The title (and, for a "no data" figure, the reason) go into the files' metadata, so a
    reader or a test can tell what a file holds without rendering it.
    """
    for path, fmt in ((out_png, "png"), (out_pdf, "pdf")):
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, metadata=_metadata(fmt, title, subject))
    plt.close(fig)


def _metadata(fmt: str, title: str, subject: str) -> dict[str, str | None]:
    if fmt == "pdf":
        # no creation date: the same tables give byte-identical PDFs, so reruns do not look like changes
        return {"Title": title, "Subject": subject or None, "Creator": "causalsynth", "CreationDate": None}
    meta = {"Title": title, "Software": "causalsynth"}
    if subject:
        meta["Description"] = subject
    return meta


def no_data_figure(title: str, reason: str, out_png: str | os.PathLike, out_pdf: str | os.PathLike) -> None:
    """A valid figure that says there was nothing to draw, and why."""
    with figure_style():
        fig, ax = plt.subplots(figsize=(COLUMN_WIDTH_IN, 1.6))
        ax.set_axis_off()
        ax.text(0.5, 0.62, "no data", ha="center", va="center", fontsize=12, transform=ax.transAxes)
        ax.text(0.5, 0.32, reason, ha="center", va="center", wrap=True, transform=ax.transAxes)
        ax.set_title(title)
        save_figure(fig, out_png, out_pdf, title, subject=f"no data: {reason}")


def panel_grid(n: int, max_cols: int, panel_height: float, width: float = PAGE_WIDTH_IN):
    ncols = max(1, min(n, max_cols))
    nrows = int(np.ceil(n / ncols))
    fig_width = COLUMN_WIDTH_IN if ncols == 1 else width
    fig, axes = plt.subplots(nrows, ncols, figsize=(fig_width, panel_height * nrows + 0.6), squeeze=False)
    flat = axes.ravel()
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def robust_ylim(
    ax, core: Iterable[float], intervals: Iterable[float], blowup: float = 3.0, axis: str = "y"
) -> None:
    """Fit the axis to the bulk of the points; show intervals only while they do not dwarf them.

    One IPTW interval under extreme weights can be a hundred times wider than the rest and
    would flatten every other estimate into a line; such bars run off the axis instead. The
    same holds for a point estimate far outside the others (an AIPW estimate of -7e6 next to
    estimates near 1,800): it runs off the axis, and a note in the panel counts it. ``axis="x"``
    fits a horizontal value axis instead.
    """
    core = np.asarray([v for v in core if np.isfinite(v)], dtype=float)
    if core.size == 0:
        return
    q_lo, q_hi = np.percentile(core, [10, 90])
    bulk = max(q_hi - q_lo, 1e-9 * max(1.0, abs(q_hi)), 1e-12)
    lo = max(core.min(), q_lo - blowup * bulk)
    hi = min(core.max(), q_hi + blowup * bulk)
    n_off = int(((core < lo) | (core > hi)).sum())
    span = max(hi - lo, 1e-9 * max(1.0, abs(hi)), 1e-12)
    ivals = np.asarray([v for v in intervals if np.isfinite(v)], dtype=float)
    if ivals.size:
        lo = max(min(lo, ivals.min()), lo - blowup * span)
        hi = min(max(hi, ivals.max()), hi + blowup * span)
    pad = 0.08 * (hi - lo if hi > lo else span)
    (ax.set_xlim if axis == "x" else ax.set_ylim)(lo - pad, hi + pad)
    if n_off:
        ax.text(
            0.99, 0.02, f"{n_off} estimate(s) off scale", transform=ax.transAxes, ha="right", va="bottom",
            fontsize="x-small", color="#555555",
        )  # fmt: skip


def log_scale(ax, which: str) -> None:
    """Log scale with plain tick labels (0.5, 10, 2000) instead of powers of ten."""
    (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    axis = ax.xaxis if which == "x" else ax.yaxis
    axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))  # labels even within one decade
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())  # minor labels collide at column width


def yerr(mid: float, lo: float, hi: float) -> list[list[float]]:
    """Error-bar lengths below and above; none where the estimator gave no interval."""
    below = mid - lo if np.isfinite(lo) else 0.0
    above = hi - mid if np.isfinite(hi) else 0.0
    return [[max(below, 0.0)], [max(above, 0.0)]]


def with_series(df: pd.DataFrame) -> pd.DataFrame:
    """A `series` column: the estimator, with its learner when the table has several learners."""
    if "learner" not in df.columns or df["learner"].nunique() <= 1:
        return df.assign(series=df["estimator"].astype(str))
    return df.assign(series=df["estimator"].astype(str) + " (" + df["learner"].astype(str) + ")")


class SeriesPanels(NamedTuple):
    """The ok rows of an estimate table, their estimator series with a colour and a marker
    each, and the datasets, one panel each."""

    rows: pd.DataFrame
    series: list[str]
    colours: dict[str, str]
    markers: dict[str, str]
    datasets: list[str]


def series_panels(
    table: pd.DataFrame, name: str, title: str, empty_reason: str, out_png, out_pdf
) -> SeriesPanels | None:
    """The table ``name``'s ok rows as :class:`SeriesPanels`; None, after drawing the no-data
    figure that gives ``empty_reason``, where no row is ok."""
    if not table.empty:
        check_columns(table, TABLES[name].required, f"{name} table")
    df = ok_rows(table) if not table.empty else table
    if df.empty:
        no_data_figure(title, empty_reason, out_png, out_pdf)
        return None
    df = with_series(df)
    series = sorted(df["series"].unique())
    return SeriesPanels(
        df, series, series_colours(series), series_markers(series), sorted(df["dataset"].unique())
    )


def figure_legend(fig, handles: list, ncol: int = 4) -> None:
    seen: dict[str, object] = {}
    for h in handles:
        seen.setdefault(h.get_label(), h)
    if seen:
        fig.legend(list(seen.values()), list(seen), loc="outside lower center", ncol=min(ncol, len(seen)))
