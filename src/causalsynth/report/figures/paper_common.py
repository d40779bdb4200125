"""What the three paper figures share: the papers' values a figure draws, whether the run's
settings are the papers' for it, what the run lacks, and how the papers' values and these
notes are drawn. The decisions come from `report.paper` (settings, comparison); this module
only places them on the figure."""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass

import matplotlib.pyplot as plt
import pandas as pd

from causalsynth.report.figures.style import display_name
from causalsynth.report.paper.comparison import number_scopes
from causalsynth.report.paper.measure import NOT_KEPT, RunTables
from causalsynth.report.paper.settings import SettingsMatch, settings_match

PAPER_DATASET = "sim_paper"  # the papers' figures are of their simulation
# the papers' values: an open black diamond beside the run's coloured marks
PAPER_STYLE = {
    "marker": "D",
    "mfc": "white",
    "mec": "black",
    "mew": 1.0,
    "ms": 4.5,
    "ls": "none",
    "zorder": 6,
}
FOOTER_CHARS = 135  # characters per footer line at page width and 6.5 pt
MAX_LISTED = 6  # settings differences named on a figure; the table names them all


@dataclass
class PaperContext:
    """One paper figure's numbers, comparison rows and settings verdict."""

    figure: str
    numbers: pd.DataFrame
    comparison: pd.DataFrame
    match: SettingsMatch

    @classmethod
    def of(cls, figure: str, run: RunTables, numbers: pd.DataFrame, comparison: pd.DataFrame) -> PaperContext:
        mine = numbers[numbers["figure_id"] == figure].reset_index(drop=True)
        scopes = sorted({s for _, n in mine.iterrows() for s in number_scopes(n)})
        rows = comparison[comparison["figure"] == figure].reset_index(drop=True)
        return cls(figure, mine, rows, settings_match(run.settings, scopes))

    @property
    def paper_label(self) -> str:
        return "papers' value" if self.match.matches else "papers' value (their settings, not this run's)"

    def missing(self) -> list[str]:
        """One line per reason the run lacks one of the figure's sets, naming the sets."""
        reason = self.comparison["missing"].astype(str)
        # a quantity no table keeps (the DCR's mean) is not drawn: the table names it
        rows = self.comparison[(reason != "") & ~reason.str.startswith(NOT_KEPT)]
        lines = []
        for reason, grp in rows.groupby("missing", sort=False):
            sets = ", ".join(dict.fromkeys(grp["set"].astype(str)))
            lines.append(f"{sets}: {reason}")
        return lines

    def footer(self, first: list[str] | None = None) -> str:
        """`first` (notes on how the figure is drawn), the settings verdict, the caveats and
        what the run lacks, wrapped to the figure's width."""
        parts = list(first or [])
        if self.match.matches:
            parts.append("Settings: the papers' (method.md); the papers' values are the reproduction target.")
        else:
            shown = [str(d) for d in self.match.differences[:MAX_LISTED]]
            more = len(self.match.differences) - len(shown)
            parts.append(
                "Settings differ from the papers', so the papers' values are shown for reference only: "
                + "; ".join(shown)
                + (f"; and {more} more (paper_comparison.csv, column settings)" if more > 0 else "")
                + "."
            )
        parts += [f"Caveat: {c}." for c in self.match.caveats]
        missing = self.missing()
        if missing:
            parts.append("Not in this run (drawn from the papers only): " + "; ".join(missing) + ".")
        return "\n".join(textwrap.fill(p, FOOTER_CHARS) for p in parts)


LINE_IN = 0.115  # height of a footer line at 6.5 pt
LEGEND_ROW_IN = 0.19


def paper_layout(width: float, height: float, footer: str, n_handles: int, ncol: int):
    """A figure of `height` inches of panels over a strip for the legend and the notes; returns
    (figure, panels' subfigure, notes' subfigure). The strip is sized from the legend's rows and
    the notes' lines, so that neither overlaps the other at any length."""
    rows = math.ceil(n_handles / max(ncol, 1))
    notes_in = LEGEND_ROW_IN * rows + LINE_IN * (footer.count("\n") + 1) + 0.15
    fig = plt.figure(figsize=(width, height + notes_in))
    top, bottom = fig.subfigures(2, 1, height_ratios=[height, notes_in])
    bottom.legend_rows_in = LEGEND_ROW_IN * rows
    bottom.notes_in = notes_in
    return fig, top, bottom


def add_notes(bottom, handles: list, ncol: int, footer: str) -> None:
    """The legend at the top of the notes' strip (from `paper_layout`), the footer under it."""
    bottom.legend(handles=handles, loc="upper center", ncol=ncol, bbox_to_anchor=(0.5, 1.0))
    y = 1.0 - (bottom.legend_rows_in + 0.06) / bottom.notes_in
    bottom.text(
        0.0, y, footer, ha="left", va="top", fontsize=6.5, color="#333333", transform=bottom.transSubfigure
    )


def paper_values(ctx: PaperContext, **where) -> pd.DataFrame:
    sel = ctx.numbers
    for k, v in where.items():
        sel = sel[sel[k] == v]
    return sel


# the papers' names of causalsynth's generators, shown under the run's names
PAPER_NAMES = {"ctgan": "GAN", "great": "LLM"}


def set_label(generator: str) -> str:
    """A generator's name, with the papers' name of it where they have one."""
    name = display_name(generator)
    base = generator.removeprefix("hybrid_")
    return f"{name} (papers' {PAPER_NAMES[base]})" if base in PAPER_NAMES else name


def include_values(ax, values: list[float], axis: str = "y", pad: float = 0.05) -> None:
    """Widen an axis fitted to the run's bulk (`robust_ylim`) so that the papers' values, which
    are known and few, are always on it."""
    vals = [v for v in values if v is not None and math.isfinite(v)]
    if not vals:
        return
    get, set_ = (ax.get_xlim, ax.set_xlim) if axis == "x" else (ax.get_ylim, ax.set_ylim)
    lo, hi = get()
    span = (max(hi, *vals) - min(lo, *vals)) or 1.0
    new_lo = min(lo, min(vals) - pad * span)
    new_hi = max(hi, max(vals) + pad * span)
    set_(new_lo, new_hi)
