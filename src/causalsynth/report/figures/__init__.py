"""Figures of the benchmark: PNG and PDF, one consistent style, colour-blind-safe.

One module per figure, named after its id in `core.vocabulary.FIGURES`; `data` builds the
tables the figures draw, `style` holds the palette, sizes and saving. Every
`plot_<name>(table, out_png, out_pdf)` draws from a result table, skips cells whose status is
not "ok", and writes a "no data" figure instead of failing when nothing is left to draw, so a
run with a stage switched off still produces its report. `make_all_figures` is the entry
point of the workflow's figure rule.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from causalsynth.core.vocabulary import (
    FIGURES,
    PAPER_FIGURES,
    deduplicate_real,
    read_table,
    without_reference_learners,
)
from causalsynth.report.figures.ate_by_generator import plot_ate_by_generator
from causalsynth.report.figures.data import (
    load_dcr_records,
    privacy_utility_table,
    read_benchmarks,
    tstr_vs_bias_table,
)
from causalsynth.report.figures.dcr import plot_dcr
from causalsynth.report.figures.engine import plot_engine
from causalsynth.report.figures.fidelity import plot_fidelity
from causalsynth.report.figures.inferential_utility import plot_inferential_utility
from causalsynth.report.figures.paper_ate_by_baseline import plot_paper_ate_by_baseline
from causalsynth.report.figures.paper_common import PaperContext
from causalsynth.report.figures.paper_dcr import plot_paper_dcr
from causalsynth.report.figures.paper_engine import plot_paper_engine
from causalsynth.report.figures.positivity import plot_positivity
from causalsynth.report.figures.privacy_utility import plot_privacy_utility
from causalsynth.report.figures.runtime import plot_runtime
from causalsynth.report.figures.style import OKABE_ITO, figure_style, no_data_figure
from causalsynth.report.figures.tstr_vs_bias import plot_tstr_vs_bias
from causalsynth.report.paper.comparison import compare_with_papers, write_comparison
from causalsynth.report.paper.measure import RunTables
from causalsynth.report.paper.numbers import read_paper_numbers

PAPER_PLOTS = {
    "paper_dcr": plot_paper_dcr,
    "paper_ate_by_baseline": plot_paper_ate_by_baseline,
    "paper_engine": plot_paper_engine,
}


def make_all_figures(
    tables_dir: str | os.PathLike,
    dcr_jsons: Sequence[str | os.PathLike],
    benchmark_files: Sequence[tuple[str | os.PathLike, str, str | None, str | None]],
    out_dir: str | os.PathLike,
) -> dict[str, tuple[Path, Path]]:
    """Draw every figure into `out_dir` as `<name>.png` and `<name>.pdf`; return name -> paths."""
    out_dir = Path(out_dir)
    paths = {name: (out_dir / f"{name}.png", out_dir / f"{name}.pdf") for name in FIGURES}
    ate = without_reference_learners(deduplicate_real(read_table(tables_dir, "ate_preservation")))
    plot_ate_by_generator(ate, *paths["ate_by_generator"])
    plot_tstr_vs_bias(tstr_vs_bias_table(read_table(tables_dir, "tstr"), ate), *paths["tstr_vs_bias"])
    plot_dcr(load_dcr_records(dcr_jsons), *paths["dcr"])
    plot_positivity(read_table(tables_dir, "positivity"), *paths["positivity"])
    plot_engine(read_table(tables_dir, "engine"), *paths["engine"])
    plot_runtime(read_benchmarks(benchmark_files), *paths["runtime"])
    plot_privacy_utility(
        privacy_utility_table(read_table(tables_dir, "privacy"), ate), *paths["privacy_utility"]
    )
    plot_fidelity(read_table(tables_dir, "fidelity"), *paths["fidelity"])
    plot_inferential_utility(read_table(tables_dir, "inferential_utility"), *paths["inferential_utility"])
    return paths


def make_paper_figures(
    tables_dir: str | os.PathLike,
    dcr_jsons: Sequence[str | os.PathLike],
    settings: dict,
    out_dir: str | os.PathLike,
    out_comparison: str | os.PathLike,
    out_comparison_md: str | os.PathLike | None = None,
) -> dict[str, tuple[Path, Path]]:
    """The papers' figures (PAPER_FIGURES) with the papers' values beside this run's, and the
    comparison table; `settings` is the run's resolved config (`config.Plan.resolved_settings`).
    A set the run lacks is drawn from the papers alone and named, never an error."""
    out_dir = Path(out_dir)
    run = RunTables.read(tables_dir, load_dcr_records(dcr_jsons), settings)
    numbers = read_paper_numbers()
    comparison = compare_with_papers(run, numbers)
    write_comparison(comparison, out_comparison, out_comparison_md)
    paths = {name: (out_dir / f"{name}.png", out_dir / f"{name}.pdf") for name in PAPER_FIGURES}
    for name in PAPER_FIGURES:
        PAPER_PLOTS[name](run, PaperContext.of(name, run, numbers, comparison), *paths[name])
    return paths


__all__ = [
    "FIGURES",
    "tstr_vs_bias_table",
    "OKABE_ITO",
    "figure_style",
    "load_dcr_records",
    "make_all_figures",
    "make_paper_figures",
    "no_data_figure",
    "plot_ate_by_generator",
    "plot_dcr",
    "plot_engine",
    "plot_fidelity",
    "plot_inferential_utility",
    "plot_tstr_vs_bias",
    "plot_positivity",
    "plot_privacy_utility",
    "plot_runtime",
    "privacy_utility_table",
    "read_benchmarks",
]
