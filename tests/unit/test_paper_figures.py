"""The papers' figures render from small tables, with and without GReaT, and say what is
missing; the inferential-utility figure's ticks sit at the plotted sizes."""

from __future__ import annotations

import pandas as pd
import pytest

from causalsynth.core.vocabulary import PAPER_FIGURES
from causalsynth.report import figures
from causalsynth.report.figures.paper_common import PaperContext
from causalsynth.report.paper.comparison import compare_with_papers, read_comparison
from causalsynth.report.paper.measure import RunTables
from causalsynth.report.paper.numbers import read_paper_numbers
from tests.unit.paper_run import paper_run, paper_settings
from tests.unit.test_figures import assert_figure_files, says_no_data, write_dcr_json


def _no_great_settings() -> dict:
    settings = paper_settings()
    settings["generators"].pop("great")
    settings["hybrid"]["bases"] = [b for b in settings["hybrid"]["bases"] if b != "great"]
    settings["pairing"]["pool"] = "hybrid_ctgan"
    return settings


def _draw(name: str, run: RunTables, tmp_path):
    numbers = read_paper_numbers()
    ctx = PaperContext.of(name, run, numbers, compare_with_papers(run, numbers))
    png, pdf = tmp_path / f"{name}.png", tmp_path / f"{name}.pdf"
    figures.PAPER_PLOTS[name](run, ctx, png, pdf)
    return png, pdf, ctx


@pytest.mark.parametrize("name", PAPER_FIGURES)
def test_each_paper_figure_renders_from_a_small_run(name, tmp_path):
    png, pdf, ctx = _draw(name, paper_run(), tmp_path)
    assert_figure_files(png, pdf)
    assert not says_no_data(png, pdf)
    assert ctx.match.matches
    assert ctx.footer().startswith("Settings: the papers'")
    # a run pairs from one pool (pairing.pool: the LLM's in config/paper.yaml), the papers from two
    expected = ["GAN pairing: this run pairs from hybrid_great (pairing.pool), not hybrid_ctgan"]
    assert ctx.missing() == (expected if name == "paper_ate_by_baseline" else [])


@pytest.mark.parametrize("name", PAPER_FIGURES)
def test_a_run_without_great_draws_what_it_has_and_names_the_rest(name, tmp_path):
    png, pdf, ctx = _draw(name, paper_run(settings=_no_great_settings(), with_great=False), tmp_path)
    assert_figure_files(png, pdf)
    assert not says_no_data(png, pdf)
    missing = " ".join(ctx.missing())
    assert "great" in missing and "LLM" in missing
    assert "Not in this run" in ctx.footer()


def test_a_run_without_sim_paper_draws_the_papers_values_alone(tmp_path):
    empty = RunTables(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), [], paper_settings())
    for name in PAPER_FIGURES:
        png, pdf, ctx = _draw(name, empty, tmp_path)
        assert_figure_files(png, pdf, min_png_kb=2.0)
        assert ctx.missing(), name


def test_settings_that_differ_are_said_on_the_figure(tmp_path):
    settings = paper_settings()
    settings["engine"]["reps"] = 20
    _, _, ctx = _draw("paper_engine", paper_run(settings=settings), tmp_path)
    assert "Settings differ from the papers'" in ctx.footer()
    assert "engine.reps 20 (the papers': 100)" in ctx.footer()
    assert ctx.paper_label == "papers' value (their settings, not this run's)"
    # the DCR figure does not depend on the engine
    assert PaperContext.of("paper_dcr", paper_run(settings=settings), read_paper_numbers(), pd.DataFrame(
        {"figure": [], "missing": [], "set": []})).match.matches  # fmt: skip


def test_make_paper_figures_reads_the_tables_and_writes_the_comparison(tmp_path):
    run = paper_run()
    tables = tmp_path / "tables"
    tables.mkdir()
    run.ate.to_csv(tables / "ate_preservation.csv", index=False)
    run.positivity.to_csv(tables / "positivity.csv", index=False)
    run.tstr.to_csv(tables / "tstr.csv", index=False)
    run.engine.to_csv(tables / "engine.csv", index=False)
    dcr = [write_dcr_json(tmp_path, "sim_paper", g, r, 0.1) for g in ("ctgan", "great") for r in (1, 2)]
    paths = figures.make_paper_figures(
        tables,
        dcr,
        run.settings,
        tmp_path / "figs",
        tables / "paper_comparison.csv",
        tables / "paper_comparison.md",
    )
    assert set(paths) == set(PAPER_FIGURES)
    for png, pdf in paths.values():
        assert_figure_files(png, pdf)
    comparison = read_comparison(tables)
    assert len(comparison) == len(read_paper_numbers())
    dcr_median = comparison[(comparison["generator"] == "holdout") & (comparison["quantity"] == "dcr_median")]
    assert dcr_median["run_draws"].item() == 2


def test_inferential_utility_ticks_sit_at_the_plotted_sizes(monkeypatch, tmp_path):
    from causalsynth.report.figures import inferential_utility as iu

    rows = [
        {"dataset": "sim_paper", "generator": g, "n_rows": n, "estimator": "aipw", "coverage": 0.9,
         "coverage_mcse": 0.02, "ci_width": 1.0 / n**0.5, "reps": 20}
        for g in ("ctgan", "hybrid_ctgan") for n in (250, 1000, 4000)
    ]  # fmt: skip
    drawn = {}
    monkeypatch.setattr(iu, "save_figure", lambda fig, *a, **k: drawn.setdefault("fig", fig))
    iu.plot_inferential_utility(pd.DataFrame(rows), tmp_path / "a.png", tmp_path / "a.pdf")
    fig = drawn["fig"]
    fig.canvas.draw()
    for ax in fig.axes:
        if ax.get_xlabel() or ax.get_ylabel():
            assert list(ax.get_xticks()) == [250, 1000, 4000]
            assert [t.get_text() for t in ax.get_xticklabels()] == ["250", "1,000", "4,000"]
    # a generator and its hybrid: the same colour, solid against dashed
    width = next(ax for ax in fig.axes if ax.get_ylabel() == "mean interval width")
    data_lines = [line for line in width.get_lines() if len(line.get_xdata()) == 3]
    assert len(data_lines) == 2
    assert {line.get_linestyle() for line in data_lines} == {"-", "--"}
    assert len({line.get_color() for line in data_lines}) == 1
