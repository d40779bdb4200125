"""Every figure writes a real PNG and PDF, from small tables and from empty ones."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from causalsynth.core.errors import DataError
from causalsynth.core.vocabulary import PAPER_FIGURES
from causalsynth.report import figures

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
GENERATORS = ["real", "ctgan", "great", "hybrid_ctgan", "hybrid_great", "hybrid_real"]
TRUTH = {"sim_paper": 0.418, "lalonde": 1794.0}


def ate_table(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for dataset, truth in TRUTH.items():
        # fully generative far off, hybrid close: the pattern the paper reports
        offset = {
            "real": 0.0,
            "ctgan": -0.6,
            "great": 0.4,
            "hybrid_ctgan": 0.05,
            "hybrid_great": 0.02,
            "hybrid_real": 0.0,
        }
        for gen in GENERATORS:
            for rep in range(2):
                for est in ("iptw", "aipw"):
                    ate = truth * (1 + offset[gen]) + rng.normal(0, 0.03 * abs(truth))
                    se = 0.05 * abs(truth)
                    rows.append(
                        {
                            "dataset": dataset,
                            "generator": gen,
                            "rep": rep,
                            "estimator": est,
                            "learner": "random_forest",
                            "ate": ate,
                            "se": se,
                            "ci_low": ate - 1.96 * se,
                            "ci_high": ate + 1.96 * se,
                            "truth": truth,
                            "truth_kind": "monte_carlo" if dataset == "sim_paper" else "reference",
                            "bias": ate - truth,
                            "covered": abs(ate - truth) < 1.96 * se,
                            "real_ate": truth * 1.01,
                            "status": "ok",
                            "engine_truth": truth * 1.02 if gen.startswith("hybrid_") else np.nan,
                        }
                    )
    df = pd.DataFrame(rows)
    # a failed cell has NaN estimates and must be skipped, not drawn
    df.loc[0, ["ate", "se", "ci_low", "ci_high", "bias"]] = np.nan
    df.loc[0, "status"] = "too_few_valid_rows"
    return df


def tstr_table() -> pd.DataFrame:
    rows = []
    for dataset, metric, base in (("sim_paper", "auc", 0.74), ("lalonde", "r2", 0.21)):
        for gen in GENERATORS[1:]:
            for rep in range(2):
                rows.append(
                    {
                        "dataset": dataset,
                        "generator": gen,
                        "rep": rep,
                        "metric": metric,
                        "value": base - 0.02 * (rep + 1) - (0.05 if gen == "ctgan" else 0.0),
                        "train_on_real": base,
                    }
                )
    return pd.DataFrame(rows)


def dcr_records() -> list[dict]:
    levels = [round(0.01 * i, 2) for i in range(101)]
    recs = []
    for dataset in TRUTH:
        holdout = {q: 0.3 + 2.0 * q for q in levels}
        for gen, shift in (("ctgan", 0.2), ("great", -0.2), ("hybrid_great", 0.0)):
            recs.append(
                {
                    "dataset": dataset,
                    "generator": gen,
                    "rep": 0,
                    "synthetic_quantiles": {str(q): max(0.0, shift + 0.3 + 2.0 * q**1.3) for q in levels},
                    "holdout_quantiles": {str(q): v for q, v in holdout.items()},
                    "threshold_low": 0.35,
                    "threshold_high": None if dataset == "lalonde" else 2.2,
                }
            )
    return recs


def positivity_table() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rows = []
    err = {"raw": 0.25, "truncated": 0.15, "clipped": 0.12, "paired": 0.03}
    for s in range(1, 4):
        for method, e in err.items():
            for est in ("iptw", "aipw"):
                ate = 0.418 + e + rng.normal(0, 0.02)
                rows.append(
                    {
                        "dataset": "sim_paper",
                        "rep": 0,
                        "set": s,
                        "method": method,
                        "estimator": est,
                        "ate": ate,
                        "se": 0.05,
                        "ci_low": ate - 0.1,
                        "ci_high": ate + (3.0 if method == "raw" else 0.1),  # one absurd interval
                        "truth": 0.418,
                        "n_extreme": 40,
                        "n_added": 40 if method == "paired" else 0,
                        "status": "ok",
                    }
                )
    return pd.DataFrame(rows)


def engine_table() -> pd.DataFrame:
    rows = []
    for engine in ("truth", "hybrid_ctgan", "hybrid_great"):
        for est in ("iptw", "aipw", "tmle"):
            for n in (100, 200, 300):
                rmse = 0.3 / np.sqrt(n / 100) * (1.2 if est == "iptw" else 1.0)
                rows.append(
                    {
                        "dataset": "sim_paper",
                        "engine": engine,
                        "estimator": est,
                        "learner": "random_forest",
                        "n": n,
                        "reps": 20,
                        "truth": 0.418,
                        "bias": 0.01 * (1 if engine == "truth" else 2),
                        "variance": rmse**2,
                        "rmse": rmse,
                        "coverage": 0.93 - 0.01 * len(est),
                        "ci_width": 4 * rmse,
                    }
                )
    return pd.DataFrame(rows)


def runtime_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rule": ["generate", "generate", "generate", "estimate", "estimate", "prepare_dataset"],
            "dataset": ["sim_paper", "lalonde", "sim_paper", "sim_paper", "sim_paper", "sim_paper"],
            "generator": ["ctgan", "ctgan", "great", "ctgan", "great", None],
            "seconds": [120.0, 150.0, 3600.0, 4.2, 3.9, 0.8],
            "max_rss_mb": [900.0, 950.0, 4200.0, 300.0, 310.0, 150.0],
        }
    )


def privacy_table(seed: int = 0) -> pd.DataFrame:
    """Attack rows of every releasable set: base generators before and after the filter, hybrids
    after; ctgan carries a differential-privacy epsilon. The release gate holds back every
    unfiltered set and hybrid_great's set of replicate 1."""
    rng = np.random.default_rng(seed)
    rows = []
    for dataset in TRUTH:
        for gen in ("ctgan", "great", "hybrid_ctgan", "hybrid_great"):
            sets = ("filtered",) if gen.startswith("hybrid_") else ("unfiltered", "filtered")
            for rep in range(2):
                for s in sets:
                    for metric in ("singling_out_risk", "linkability_risk", "inference_risk", "dcr_share"):
                        value = rng.uniform(0.0, 0.2) + (0.1 if s == "unfiltered" else 0.0)
                        rows.append(
                            {
                                "dataset": dataset,
                                "generator": gen,
                                "rep": rep,
                                "set": s,
                                "metric": metric,
                                "value": 0.5 + value if metric == "dcr_share" else value,
                                "baseline": 0.5 if metric == "dcr_share" else 0.0,
                                "higher_is_riskier": True,
                                "epsilon": 3.0 if gen == "ctgan" else np.nan,
                                "status": "ok",
                                "releasable": "no"
                                if s == "unfiltered" or (gen, rep) == ("hybrid_great", 1)
                                else "yes",
                            }
                        )
    return pd.DataFrame(rows)


def assert_figure_files(png, pdf, min_png_kb: float = 5.0) -> None:
    data = png.read_bytes()
    assert data[:8] == PNG_MAGIC
    assert len(data) > min_png_kb * 1024
    head = pdf.read_bytes()
    assert head[:5] == b"%PDF-"
    assert b"%%EOF" in head[-64:]


CASES = {
    "ate_by_generator": lambda: (figures.plot_ate_by_generator, ate_table()),
    "tstr_vs_bias": lambda: (
        figures.plot_tstr_vs_bias,
        figures.tstr_vs_bias_table(tstr_table(), ate_table()),
    ),
    "dcr": lambda: (figures.plot_dcr, dcr_records()),
    "positivity": lambda: (figures.plot_positivity, positivity_table()),
    "engine": lambda: (figures.plot_engine, engine_table()),
    "runtime": lambda: (figures.plot_runtime, runtime_table()),
    "privacy_utility": lambda: (
        figures.plot_privacy_utility,
        figures.privacy_utility_table(privacy_table(), ate_table()),
    ),
}

EMPTY = {
    "ate_by_generator": (figures.plot_ate_by_generator, ate_table().iloc[:0]),
    "tstr_vs_bias": (
        figures.plot_tstr_vs_bias,
        figures.tstr_vs_bias_table(pd.DataFrame(), ate_table()),
    ),
    "dcr": (figures.plot_dcr, []),
    "positivity": (figures.plot_positivity, positivity_table().iloc[:0]),
    "engine": (figures.plot_engine, engine_table().iloc[:0]),
    "runtime": (figures.plot_runtime, figures.read_benchmarks([])),
    "privacy_utility": (
        figures.plot_privacy_utility,
        figures.privacy_utility_table(privacy_table().iloc[:0], ate_table()),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_figure_writes_png_and_pdf(name, tmp_path):
    plot, table = CASES[name]()
    png, pdf = tmp_path / "out" / f"{name}.png", tmp_path / "out" / f"{name}.pdf"
    plot(table, png, pdf)
    assert_figure_files(png, pdf)
    assert not says_no_data(png, pdf)
    # nothing but the two outputs: atomic writes leave no temporary files behind
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted([png.name, pdf.name])


@pytest.mark.parametrize("name", list(EMPTY))
def test_empty_table_gives_no_data_figure(name, tmp_path):
    plot, table = EMPTY[name]
    png, pdf = tmp_path / f"{name}.png", tmp_path / f"{name}.pdf"
    plot(table, png, pdf)
    assert_figure_files(png, pdf, min_png_kb=2.0)
    assert says_no_data(png, pdf)


def says_no_data(png, pdf) -> bool:
    """Whether both files carry the "no data" subject the figure module writes into their metadata."""
    from PIL import Image

    with Image.open(png) as im:
        in_png = str(im.info.get("Description", "")).startswith("no data")
    in_pdf = b"(no data" in pdf.read_bytes()
    assert in_png == in_pdf
    return in_png


def test_only_failed_cells_gives_no_data(tmp_path):
    df = ate_table()
    df["status"] = "generator_failed"
    figures.plot_ate_by_generator(df, tmp_path / "a.png", tmp_path / "a.pdf")
    assert says_no_data(tmp_path / "a.png", tmp_path / "a.pdf")


def test_tstr_vs_bias_table_pairs_tstr_with_relative_error():
    tab = figures.tstr_vs_bias_table(tstr_table(), ate_table())
    assert "real" not in set(tab["generator"])
    row = tab[(tab["dataset"] == "sim_paper") & (tab["generator"] == "ctgan")].iloc[0]
    assert row["metric"] == "auc"
    assert row["baseline"] == pytest.approx(0.74)
    assert row["value"] == pytest.approx(0.74 - 0.03 - 0.05)
    # CTGAN was built 60% off the truth, give or take the noise of the estimates
    assert 0.45 < row["rel_error"] < 0.75


def test_read_benchmarks_averages_repeats_and_reads_missing_memory(tmp_path):
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    path = tmp_path / "benchmarks" / "generate" / "dataset=sim_paper" / "generator=ctgan.tsv"
    path.parent.mkdir(parents=True)
    path.write_text(
        header
        + "10.5\t0:00:10\t512.3\t900.1\t400.0\t410.0\t1.0\t2.0\t95.0\t9.8\n"
        + "12.5\t0:00:12\t-\t-\t-\t-\t-\t-\t-\t-\n"
    )
    other = tmp_path / "prep.tsv"
    other.write_text(header + "0.7\t0:00:00\t120.0\t200.0\t100.0\t100.0\t0.1\t0.2\t50.0\t0.6\n")
    df = figures.read_benchmarks(
        [(path, "generate", "sim_paper", "ctgan"), (other, "prepare_dataset", "sim_paper", None)]
    )
    assert list(df.columns) == ["rule", "dataset", "generator", "seconds", "max_rss_mb"]
    assert df.loc[0, "seconds"] == pytest.approx(11.5)
    assert df.loc[0, "max_rss_mb"] == pytest.approx(512.3)
    assert df.loc[1, "rule"] == "prepare_dataset" and pd.isna(df.loc[1, "generator"])


def test_missing_benchmark_file_is_counted_not_fatal(tmp_path):
    bench = tmp_path / "b.tsv"
    bench.write_text("s\th:m:s\tmax_rss\n3.0\t0:00:03\t100\n")
    df = figures.read_benchmarks(
        [(bench, "estimate", "sim_paper", "ctgan"), (tmp_path / "nope.tsv", "generate", "sim_paper", "great")]
    )
    assert df["seconds"].isna().tolist() == [False, True]
    figures.plot_runtime(df, tmp_path / "r.png", tmp_path / "r.pdf")
    assert not says_no_data(tmp_path / "r.png", tmp_path / "r.pdf")
    only_missing = figures.read_benchmarks([(tmp_path / "nope.tsv", "generate", "sim_paper", "great")])
    figures.plot_runtime(only_missing, tmp_path / "m.png", tmp_path / "m.pdf")
    assert says_no_data(tmp_path / "m.png", tmp_path / "m.pdf")


def write_dcr_json(root, dataset: str, generator: str, rep: int, shift: float):
    """A dcr.json as the DCR rule writes it, built with the DCR module's own summary."""
    from causalsynth.core.io import write_json
    from causalsynth.privacy.dcr import distribution_summary

    rng = np.random.default_rng(rep)
    holdout = np.abs(rng.normal(1.0, 0.4, 300))
    synthetic = np.abs(rng.normal(1.0 + shift, 0.5, 2000))
    path = root / "privacy" / dataset / generator / f"rep{rep}" / "dcr.json"
    summary = {
        "dataset": dataset,
        "generator": generator,
        "rep": rep,
        "thresholds": {
            "lower_quantile": 0.05,
            "lower_dcr": float(np.quantile(holdout, 0.05)),
            "upper_dcr": None,
        },
        "distributions": {"covariates": distribution_summary(synthetic, holdout), "record": None},
    }
    write_json(summary, path)
    return path


def test_load_dcr_records_reads_the_dcr_rule_output(tmp_path):
    path = write_dcr_json(tmp_path, "sim_paper", "hybrid_great", 3, shift=-0.2)
    (rec,) = figures.load_dcr_records([path])
    assert (rec["dataset"], rec["generator"], rec["rep"]) == ("sim_paper", "hybrid_great", 3)
    assert rec["threshold_low"] > 0 and rec["threshold_high"] is None
    levels = sorted(rec["synthetic_quantiles"])
    assert levels[0] == 0.0 and levels[-1] == 1.0 and 0.5 in levels
    values = [rec["synthetic_quantiles"][q] for q in levels]
    assert values == sorted(values)  # a quantile function never decreases


def test_load_dcr_records_rejects_other_json(tmp_path):
    path = tmp_path / "dcr.json"
    path.write_text(json.dumps({"dataset": "sim_paper", "generator": "ctgan", "rep": 1}))
    with pytest.raises(DataError, match="quantile_levels"):
        figures.load_dcr_records([path])


def test_privacy_utility_table_takes_the_worst_attack_and_replicate_intervals():
    privacy = privacy_table()
    table = figures.privacy_utility_table(privacy, ate_table())
    # base generators at both sets, hybrids at their one set; the real data is never attacked
    assert set(zip(table["generator"], table["set"], strict=True)) == {
        ("ctgan", "unfiltered"),
        ("ctgan", "filtered"),
        ("great", "unfiltered"),
        ("great", "filtered"),
        ("hybrid_ctgan", "filtered"),
        ("hybrid_great", "filtered"),
    }
    row = table[
        (table["dataset"] == "lalonde") & (table["generator"] == "great") & (table["set"] == "filtered")
    ]
    cell = privacy[
        (privacy["dataset"] == "lalonde")
        & (privacy["generator"] == "great")
        & (privacy["set"] == "filtered")
        & (privacy["metric"] != "dcr_share")  # a distance metric, not an attack risk
    ]
    worst = cell.groupby("rep")["value"].max()
    assert row["risk"].item() == pytest.approx(worst.mean())
    assert row["risk_low"].item() < worst.mean() < row["risk_high"].item()
    assert row["reps"].item() == 2
    assert (table.loc[table["generator"] == "ctgan", "epsilon"] == 3.0).all()
    assert table.loc[table["generator"] != "ctgan", "epsilon"].isna().all()
    held = table.set_index(["dataset", "generator", "set"])["reps_held"]
    assert (held.xs("unfiltered", level="set") == 2).all()
    assert (held.xs("hybrid_great", level="generator") == 1).all()
    assert (held.xs(("ctgan", "filtered"), level=("generator", "set")) == 0).all()
    # a table written before the gate holds nothing back
    assert (
        figures.privacy_utility_table(privacy.drop(columns="releasable"), ate_table())["reps_held"] == 0
    ).all()


def test_make_all_figures_from_disk(tmp_path):
    tables = tmp_path / "tables"
    tables.mkdir()
    # the gathered table repeats the real-data rows in every cell
    ate = ate_table()
    pd.concat([ate, ate[ate["generator"] == "real"].assign(rep=7)]).to_csv(
        tables / "ate_preservation.csv", index=False
    )
    tstr_table().to_csv(tables / "tstr.csv", index=False)
    engine_table().to_parquet(tables / "engine.parquet")  # parquet tables are read too
    # no positivity table: that figure must say "no data" rather than fail
    dcr_paths = [
        write_dcr_json(tmp_path, d, g, 0, shift)
        for d in TRUTH
        for g, shift in (("ctgan", 0.3), ("great", -0.3))
    ]
    bench = tmp_path / "b.tsv"
    bench.write_text("s\th:m:s\tmax_rss\n3.0\t0:00:03\t100\n")
    paths = figures.make_all_figures(
        tables, dcr_paths, [(bench, "estimate", "sim_paper", "ctgan")], tmp_path / "figs"
    )
    assert set(paths) == set(figures.FIGURES)
    for png, pdf in paths.values():
        assert_figure_files(png, pdf, min_png_kb=2.0)
    assert says_no_data(*paths["positivity"])
    for name in ("ate_by_generator", "tstr_vs_bias", "dcr", "engine", "runtime"):
        assert not says_no_data(*paths[name]), name


def test_table_missing_a_column_is_an_error(tmp_path):
    tables = tmp_path / "tables"
    tables.mkdir()
    ate_table().drop(columns=["ci_low"]).to_parquet(tables / "ate_preservation.parquet")
    with pytest.raises(DataError, match="ci_low"):
        figures.make_all_figures(tables, [], [], tmp_path / "figs")


def test_style_is_colour_blind_safe_and_shared():
    with figures.figure_style():
        import matplotlib.pyplot as plt

        cycle = [c.upper() for c in plt.rcParams["axes.prop_cycle"].by_key()["color"]]
    assert set(cycle) <= {c.upper() for c in figures.OKABE_ITO.values()}


def test_every_figure_has_a_valid_report_caption():
    import docutils.core
    import docutils.utils

    report = Path(__file__).resolve().parents[2] / "workflow" / "report"
    for name in (*figures.FIGURES, *PAPER_FIGURES, "findings", "table_paper_comparison"):
        assert (report / f"{name}.rst").exists(), f"no caption for {name}"
    for caption in report.glob("*.rst"):
        # a caption that docutils warns about renders badly in the Snakemake report
        docutils.core.publish_doctree(
            caption.read_text(), settings_overrides={"halt_level": docutils.utils.Reporter.WARNING_LEVEL}
        )


def test_a_wild_point_estimate_runs_off_the_axis_and_is_counted():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from causalsynth.report.figures.style import robust_ylim

    fig, ax = plt.subplots()
    core = [1790.0, 1810.0, 1700.0, 1900.0, 1850.0, 1760.0, 1820.0, 1795.0, 1805.0, 1815.0, -7.0e6]
    robust_ylim(ax, core, [])
    lo, hi = ax.get_ylim()
    assert lo > -1e4 and hi < 1e4  # the bulk stays readable
    assert any("1 estimate(s) off scale" in t.get_text() for t in ax.texts)
    plt.close(fig)
