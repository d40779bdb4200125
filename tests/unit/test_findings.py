"""The findings state the right comparisons, verdicts and numbers for crafted tables."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from causalsynth.core.errors import DataError
from causalsynth.core.vocabulary import generator_base
from causalsynth.report import findings
from causalsynth.report.common import generator_group, order_generators

TRUTH = {"sim_paper": 0.4, "lalonde": 1800.0}
ESTIMATORS = ("iptw", "aipw")


def squash(markdown: str) -> str:
    """Markdown tables with the padding of their columns folded, to compare rows as text."""
    return re.sub(r" {2,}", " ", markdown)


def ate_table(errors: dict[str, float], datasets=tuple(TRUTH), failed: int = 0) -> pd.DataFrame:
    """ATE rows whose relative error is exactly `errors[generator]` (a fraction of the truth).

    The sign alternates over replicates, so |error| is exact and the mean bias is zero.
    """
    rows = []
    for d in datasets:
        truth = TRUTH[d]
        for g, rel in errors.items():
            for rep in (0, 1):
                for est in ESTIMATORS:
                    ate = truth * (1 + rel * (1 if rep == 0 else -1))
                    rows.append(
                        {
                            "dataset": d,
                            "generator": g,
                            "rep": rep,
                            "estimator": est,
                            "learner": "random_forest",
                            "ate": ate,
                            "se": 0.01,
                            "ci_low": ate - 0.02,
                            "ci_high": ate + 0.02,
                            "truth": truth,
                            "truth_kind": "monte_carlo",
                            "bias": ate - truth,
                            "covered": False,
                            "real_ate": truth,
                            "status": "ok",
                            "engine_truth": np.nan,
                        }
                    )
    df = pd.DataFrame(rows)
    first = df[df["generator"] != "real"].iloc[0].to_dict()
    for i in range(failed):
        # failed cells carry NaN estimates and a reason; they must not shift any mean
        df.loc[len(df)] = {**first, "rep": 9 + i, "ate": np.nan, "bias": np.nan, "status": "timeout"}
    return df


def tstr_table(scores: dict[str, float], baseline: float = 0.80) -> pd.DataFrame:
    rows = [
        {
            "dataset": d,
            "generator": g,
            "rep": rep,
            "metric": "auc",
            "value": v,
            "train_on_real": baseline,
            "status": "ok",
        }
        for d in TRUTH
        for g, v in scores.items()
        for rep in (0, 1)
    ]
    return pd.DataFrame(rows)


def positivity_table(errors: dict[str, float]) -> pd.DataFrame:
    rows = []
    for s in (1, 2, 3):
        for method, rel in errors.items():
            for est in ESTIMATORS:
                ate = 0.4 * (1 + rel)
                rows.append(
                    {
                        "dataset": "sim_paper",
                        "rep": 0,
                        "set": s,
                        "method": method,
                        "estimator": est,
                        "learner": "random_forest",
                        "ate": ate,
                        "se": 0.05,
                        "ci_low": ate - 0.1,
                        "ci_high": ate + 0.1,
                        "truth": 0.4,
                        "n_extreme": 30,
                        "n_added": 30 if method == "paired" else 0,
                        "status": "ok",
                    }
                )
    return pd.DataFrame(rows)


def engine_table(swap: bool) -> pd.DataFrame:
    """RMSE order aipw < tmle < iptw < substitution under the truth; reversed by the engine if `swap`."""
    base = {"aipw": 0.10, "tmle": 0.12, "iptw": 0.20, "substitution": 0.25}
    rows = []
    for engine in ("truth", "hybrid_ctgan"):
        for est, rmse in base.items():
            if swap and engine != "truth":
                rmse = 0.35 - rmse
            for n in (100, 200):
                rows.append(
                    {
                        "dataset": "sim_paper",
                        "engine": engine,
                        "estimator": est,
                        "learner": "random_forest",
                        "n": n,
                        "reps": 20,
                        "truth": 0.4,
                        "bias": 0.0,
                        "variance": rmse**2,
                        "rmse": rmse,
                        "coverage": 0.95,
                        "ci_width": 0.4,
                    }
                )
    return pd.DataFrame(rows)


def dcr_table(exact: dict[str, float], near: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "dataset": d,
                "generator": g,
                "rep": 0,
                "n_filtered_low": 10,
                "n_filtered_high": 0,
                findings.DCR_EXACT_COPY_COLUMN: exact[g],
                findings.DCR_HOLDOUT_EXACT_COLUMN: 0.0,
                findings.DCR_NEAR_COPY_COLUMN: near[g],
            }
            for d in TRUTH
            for g in exact
        ]
    )


def write_tables(root, **tables) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        df.to_csv(root / f"{name}.csv", index=False)  # as the workflow's collect_tables writes them


def verdicts(claims) -> dict[str, str]:
    return {c.key: c.verdict for c in claims}


def section(text: str, key: str) -> str:
    m = re.search(rf"^## \({key}\).*?(?=^## |\Z)", text, re.S | re.M)
    assert m, f"no section ({key})"
    return m.group(0)


GOOD_ATE = {"real": 0.0, "ctgan": 0.5, "great": 0.3, "hybrid_ctgan": 0.05, "hybrid_great": 0.02}
BAD_ATE = {"real": 0.0, "ctgan": 0.05, "great": 0.02, "hybrid_ctgan": 0.5, "hybrid_great": 0.6}


@pytest.fixture
def paper_like(tmp_path):
    """Every claim of the paper holds in these tables."""
    write_tables(
        tmp_path / "tables",
        ate_preservation=ate_table(GOOD_ATE, failed=3),
        tstr=tstr_table({"ctgan": 0.78, "great": 0.79, "hybrid_ctgan": 0.77, "hybrid_great": 0.78}),
        positivity=positivity_table({"raw": 0.5, "truncated": 0.3, "clipped": 0.2, "paired": 0.05}),
        engine=engine_table(swap=False),
        dcr=dcr_table(
            {"ctgan": 0.0, "great": 0.005, "hybrid_real": 1.0},
            {"ctgan": 0.04, "great": 0.08, "hybrid_real": 1.0},
        ),
    )
    return tmp_path


@pytest.fixture
def paper_contradicted(tmp_path):
    """Every claim of the paper fails in these tables."""
    write_tables(
        tmp_path / "tables",
        ate_preservation=ate_table(BAD_ATE),
        tstr=tstr_table({"ctgan": 0.60, "great": 0.65}),
        positivity=positivity_table({"raw": 0.1, "truncated": 0.2, "clipped": 0.05, "paired": 0.4}),
        engine=engine_table(swap=True),
        dcr=dcr_table({"ctgan": 0.2, "great": 0.0}, {"ctgan": 0.3, "great": 0.02}),
    )
    return tmp_path


def test_paper_like_tables_support_every_claim(paper_like):
    out = paper_like / "results" / "findings.md"
    claims = findings.write_findings(paper_like / "tables", out)
    assert verdicts(claims) == dict.fromkeys("abcdef", findings.SUPPORTED)
    text = out.read_text()
    assert "This run contradicts none of the claims it tests." in text
    assert "**Verdict: supported.** This run reproduces the paper's finding." in section(text, "b")


def test_right_numbers_appear(paper_like):
    out = paper_like / "findings.md"
    findings.write_findings(paper_like / "tables", out)
    text = out.read_text()
    # (b) sim_paper: ctgan 0.5 * 0.4 = 0.2 vs hybrid 0.05 * 0.4 = 0.02; lalonde: 900 vs 90
    b = section(text, "b")
    assert "| ctgan | sim_paper | 0.2 | 0.02 | 2 | yes |" in squash(b)
    assert "| ctgan | lalonde | 900 | 90 | 2 | yes |" in squash(b)
    assert "in 4 of 4 (base, dataset) pairs" in b
    # per base, scale-free: hybrid / base error is 0.05 / 0.5 for ctgan and 0.02 / 0.3 for great
    assert "| ctgan | 2 | 0.1 | 100% |" in squash(b)
    assert "| great | 2 | 0.06667 | 100% |" in squash(b)
    # (a) TSTR 0.78 vs 0.8: gap 0.02; error ratio 0.5 / 0.05 = 10
    a = section(text, "a")
    assert "| ctgan | sim_paper | auc | 0.78 | 0.8 | 0.02 | 0.2 | 0.02 | 10 | yes |" in squash(a)
    # (c) hybrid_great 0.02 * 0.4 = 0.008 vs hybrid_ctgan 0.02
    assert "| sim_paper | 0.008 | 0.02 | 2 | yes |" in squash(section(text, "c"))
    # (d) mean |error| per method: raw 0.2, truncated 0.12, clipped 0.08, paired 0.02, 6 cells
    assert "| sim_paper | 0.2 | 0.12 | 0.08 | 0.02 | 6 | yes |" in squash(section(text, "d"))
    # (e) identical RMSE order: Spearman 1
    assert "| sim_paper | hybrid_ctgan | 1 | yes |" in squash(section(text, "e"))
    # (f) hybrid_real copies by design and is not counted
    f = section(text, "f")
    assert "| great | 0.5% | 0% | 8% | yes | yes |" in squash(f)
    assert "| hybrid_real | 100% | 0% | 100% | no | – |" in squash(f)
    assert "2 of 2 generators stay within both limits" in f


def test_contradicting_tables_are_called_contradicted(paper_contradicted):
    out = paper_contradicted / "findings.md"
    claims = findings.write_findings(paper_contradicted / "tables", out)
    assert verdicts(claims) == dict.fromkeys("abcdef", findings.CONTRADICTED)
    text = out.read_text()
    assert "**This run contradicts the paper on claim(s) (a), (b), (c), (d), (e), (f).**" in text
    assert "**Verdict: contradicted.** This run does not reproduce the paper's finding." in section(text, "b")
    assert "in 0 of 4 (base, dataset) pairs" in section(text, "b")
    assert "It never wins for: ctgan, great." in section(text, "b")
    assert "over a limit: ctgan." in section(text, "f")
    assert "| sim_paper | hybrid_ctgan | -1 | no |" in squash(section(text, "e"))


def test_missing_tables_are_not_tested(tmp_path):
    out = tmp_path / "findings.md"
    claims = findings.write_findings(tmp_path / "no_tables", out)
    assert verdicts(claims) == dict.fromkeys("abcdef", findings.NOT_TESTED)
    text = out.read_text()
    assert text.count("**Verdict: not tested in this run.**") == 6
    assert "Absent: `ate_preservation`, `tstr`, `dcr`, `positivity`, `engine`, `engine_ranking`." in text
    assert "- `ate_preservation`: no rows in this run." in text


def test_partial_tables_test_only_what_they_can(tmp_path):
    # only fully generative and hybrid ctgan, no TSTR, no great: (b) testable, (a) and (c) not
    write_tables(tmp_path / "t", ate_preservation=ate_table({"ctgan": 0.5, "hybrid_ctgan": 0.05}))
    claims = findings.write_findings(tmp_path / "t", tmp_path / "f.md")
    assert verdicts(claims) == {
        "a": findings.NOT_TESTED,
        "b": findings.SUPPORTED,
        "c": findings.NOT_TESTED,
        "d": findings.NOT_TESTED,
        "e": findings.NOT_TESTED,
        "f": findings.NOT_TESTED,
    }
    assert "present: hybrid_ctgan" in section((tmp_path / "f.md").read_text(), "c")


def test_failed_cells_are_counted_once(tmp_path):
    ate = ate_table(GOOD_ATE, failed=3)
    # the gathered table repeats the real rows of every cell: they must count once
    ate = pd.concat([ate, ate[ate["generator"] == "real"].assign(rep=5)], ignore_index=True)
    pos = positivity_table({"raw": 0.5, "paired": 0.05})
    pos.loc[pos.index[:2], ["ate", "status"]] = [np.nan, "no synthetic unit left to pair"]
    write_tables(tmp_path / "t", ate_preservation=ate, positivity=pos)
    findings.write_findings(tmp_path / "t", tmp_path / "f.md")
    text = (tmp_path / "f.md").read_text()
    # 36 ok = 2 datasets x (4 synthetic generators x 2 reps + the real data once) x 2 estimators
    assert "- `ate_preservation`: 3 of 39 cells failed (7.7%)." in text
    assert "| ctgan | timeout | 3 |" in squash(text)
    assert "- `positivity`: 2 of 12 cells failed (16.7%)." in text
    assert "| raw | no synthetic unit left to pair | 2 |" in squash(text)


def test_engine_ranking_table_is_used_when_present(tmp_path):
    ranking = pd.DataFrame(
        {
            "dataset": ["sim_paper", "sim_paper"],
            "engine": ["hybrid_ctgan", "hybrid_great"],
            "spearman_vs_truth": [0.2, np.nan],
        }
    )
    write_tables(tmp_path / "t", engine=engine_table(swap=False), engine_ranking=ranking)
    (claim,) = [c for c in findings.write_findings(tmp_path / "t", tmp_path / "f.md") if c.key == "e"]
    # the table's own 0.2 wins over what the engine table would give (1.0); NaN is not counted
    assert claim.verdict == findings.CONTRADICTED
    assert "0 of 1 (dataset, engine) pairs agree" in claim.headline


def test_boolean_train_on_real_flag(tmp_path):
    tstr = tstr_table({"ctgan": 0.78, "great": 0.79}).assign(train_on_real=False)
    base = tstr.drop_duplicates(["dataset", "rep"]).assign(generator="real", value=0.8, train_on_real=True)
    write_tables(tmp_path / "t", ate_preservation=ate_table(GOOD_ATE), tstr=pd.concat([tstr, base]))
    (claim,) = [c for c in findings.write_findings(tmp_path / "t", tmp_path / "f.md") if c.key == "a"]
    assert claim.verdict == findings.SUPPORTED
    assert "| ctgan | sim_paper | auc | 0.78 | 0.8 | 0.02 |" in squash(claim.body[0])


def test_summary_table_is_well_formed(paper_like):
    findings.write_findings(paper_like / "tables", paper_like / "f.md")
    text = (paper_like / "f.md").read_text()
    summary = section_between(text, "## Summary", "## Failed cells")
    rows = [line for line in summary.splitlines() if line.startswith("|")]
    assert len(rows) == 2 + 6
    # "|ATE error|" inside a cell is escaped, so every row has exactly the three columns
    assert all(len(re.split(r"(?<!\\)\|", row)) == 5 for row in rows)


def section_between(text: str, start: str, end: str) -> str:
    return text[text.index(start) : text.index(end)]


def test_table_without_required_column_is_an_error(tmp_path):
    write_tables(tmp_path / "t", positivity=positivity_table({"raw": 0.1}).drop(columns=["method"]))
    with pytest.raises(DataError, match="method"):
        findings.write_findings(tmp_path / "t", tmp_path / "f.md")


def test_generator_helpers():
    assert order_generators(["hybrid_great", "great", "real", "hybrid_ctgan", "ctgan", "my_gen"]) == [
        "real",
        "ctgan",
        "great",
        "my_gen",
        "hybrid_ctgan",
        "hybrid_great",
    ]
    assert generator_base("hybrid_gaussian_copula") == "gaussian_copula"
    assert generator_group("hybrid_real") == "hybrid"
    assert generator_group("real") == "real"


def test_dcr_claim_reads_the_gathered_dcr_table(tmp_path):
    """End to end through the real producers: DCRFilter report -> dcr.json -> dcr table -> claim (f)."""
    from causalsynth.core.io import write_json
    from causalsynth.core.roles import Roles
    from causalsynth.privacy.dcr import DCRFilter
    from causalsynth.report.tables import dcr_table as gather_dcr

    roles = Roles("a", "y", "continuous", {"w1": "continuous", "w2": "continuous"})
    rng = np.random.default_rng(0)

    def frame(n):
        return pd.DataFrame({"w1": rng.normal(size=n), "w2": rng.normal(size=n), "a": 0, "y": 0.0})

    train, holdout = frame(200), frame(100)
    filt = DCRFilter(roles).fit(train, holdout)
    copier = pd.concat([train.iloc[:60], frame(140)], ignore_index=True)[roles.covariate_names]
    sets = {"ctgan": frame(200)[roles.covariate_names], "great": copier}
    paths = []
    for gen, synthetic in sets.items():
        _, report = filt.filter(synthetic)
        path = tmp_path / "results" / "privacy" / "sim_paper" / gen / "rep0" / "dcr.json"
        write_json({"dataset": "sim_paper", "generator": gen, "rep": 0, **report}, path)
        paths.append(str(path))
    claim = findings.claim_dcr(gather_dcr(paths))
    assert claim.verdict == findings.CONTRADICTED
    assert claim.headline.endswith("over a limit: great.")
    assert "| great | 30% | 0% |" in squash(claim.body[0])  # 60 of 200 rows copied


def test_cells_without_a_learner_still_count(tmp_path):
    pos = positivity_table({"raw": 0.5, "clipped": 0.2, "paired": 0.05}).assign(learner=np.nan)
    ate = ate_table({"ctgan": 0.5, "hybrid_ctgan": 0.05}).assign(learner=np.nan)
    write_tables(tmp_path / "t", positivity=pos, ate_preservation=ate)
    claims = {c.key: c for c in findings.write_findings(tmp_path / "t", tmp_path / "f.md")}
    assert claims["d"].verdict == findings.SUPPORTED and "1 of 1 datasets" in claims["d"].headline
    assert claims["b"].verdict == findings.SUPPORTED
    assert "2 of 2 (base, dataset) pairs" in claims["b"].headline
