"""The findings state the right comparisons, intervals, verdicts and numbers for crafted tables."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from causalsynth.core import uncertainty as u
from causalsynth.core.errors import DataError
from causalsynth.core.vocabulary import generator_base
from causalsynth.report import findings
from causalsynth.report.common import generator_group, order_generators

# Four datasets: a unanimous verdict over datasets needs four decided ones before its Wilson
# interval excludes one half, so fewer could never be supported.
TRUTH = {"sim_paper": 0.4, "lalonde": 1800.0, "ihdp": 4.0, "nhefs": 3.5}
ESTIMATORS = ("iptw", "aipw")
REPS = 5


def squash(markdown: str) -> str:
    """Markdown tables with the padding of their columns folded, to compare rows as text."""
    return re.sub(r" {2,}", " ", markdown)


def _abs_errors(rel: float, reps, noise: float, spread: float, rng) -> dict:
    """|relative error| per (rep, estimator): `rel` scaled by `spread` around the middle replicate
    (exact, for hand-checked intervals) plus seeded noise (for realistic ones)."""
    mid = (min(reps) + max(reps)) / 2
    return {
        (rep, est): abs(rel * (1 + spread * (rep - mid)) + noise * rng.standard_normal())
        for rep in reps
        for est in ESTIMATORS
    }


def ate_table(
    errors: dict[str, float],
    datasets=tuple(TRUTH),
    reps: int = REPS,
    noise: float = 0.005,
    spread: float = 0.0,
    seed: int = 0,
    failed: int = 0,
    real_per_rep: bool = False,
) -> pd.DataFrame:
    """ATE rows whose |error| is `errors[generator]` of the truth, per replicate 1..reps.

    The sign alternates over estimators, so the mean bias is about zero while |error| is as set.
    The real data are without noise (real_ate = truth): replicate 0, once (a legacy table), or
    with `real_per_rep` once per replicate 1..reps (the redrawn replicates' tables).
    """
    rng = np.random.default_rng(seed)
    rows = []
    for d in datasets:
        truth = TRUTH[d]
        for g, rel in errors.items():
            real = g == "real"
            real_reps = range(1, reps + 1) if real_per_rep else (0,)
            errs = _abs_errors(
                rel, real_reps if real else range(1, reps + 1), 0.0 if real else noise, spread, rng
            )
            for (rep, est), e in errs.items():
                ate = truth * (1 + e * (1 if est == ESTIMATORS[0] else -1))
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
        df.loc[len(df)] = {**first, "rep": 90 + i, "ate": np.nan, "bias": np.nan, "status": "timeout"}
    return df


def tstr_table(
    scores: dict[str, float], baseline: float = 0.80, datasets=tuple(TRUTH), reps=REPS, noise=0.005, seed=1
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [
        {
            "dataset": d,
            "generator": g,
            "rep": rep,
            "metric": "auc",
            "value": v + noise * rng.standard_normal(),
            "train_on_real": baseline,
            "status": "ok",
        }
        for d in datasets
        for g, v in scores.items()
        for rep in range(1, reps + 1)
    ]
    return pd.DataFrame(rows)


def positivity_table(
    errors: dict[str, float], datasets=tuple(TRUTH), reps=3, sets=5, noise=0.02, seed=2
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for d in datasets:
        truth = TRUTH[d]
        for rep in range(1, reps + 1):
            for s in range(1, sets + 1):
                for method, rel in errors.items():
                    for est in ESTIMATORS:
                        e = abs(rel + noise * rng.standard_normal())
                        ate = truth * (1 + e * (1 if est == ESTIMATORS[0] else -1))
                        rows.append(
                            {
                                "dataset": d,
                                "rep": rep,
                                "set": s,
                                "method": method,
                                "estimator": est,
                                "learner": "random_forest",
                                "ate": ate,
                                "se": 0.05,
                                "ci_low": ate - 0.1,
                                "ci_high": ate + 0.1,
                                "truth": truth,
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


def ranking_table(rho: float, half: float, datasets=("sim_paper", "sim_continuous", "nhefs")) -> pd.DataFrame:
    """The engine stage's ranking table: Spearman `rho` +- `half`, and its verdict as the stage calls it."""
    low, high = rho - half, rho + half
    verdict = "agrees" if low >= 0.5 else ("disagrees" if high < 0.5 else "undecided")
    return pd.DataFrame(
        [
            {
                "dataset": d,
                "engine": e,
                "spearman_vs_truth": rho,
                "spearman_low": low,
                "spearman_high": high,
                "verdict": verdict,
                "n_estimators": 6,
            }
            for d in datasets
            for e in ("hybrid_ctgan", "hybrid_real")
        ]
    )


def dcr_table(
    exact: dict[str, float], near: dict[str, float], datasets=tuple(TRUTH), reps=REPS, noise=0.005, seed=3
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)

    def draw(v: float) -> float:
        return float(np.clip(v + noise * rng.standard_normal(), 0.0, 1.0)) if 0 < v < 1 else v

    return pd.DataFrame(
        [
            {
                "dataset": d,
                "generator": g,
                "rep": rep,
                "n_filtered_low": 10,
                "n_filtered_high": 0,
                findings.DCR_EXACT_COPY_COLUMN: draw(exact[g]),
                findings.DCR_HOLDOUT_EXACT_COLUMN: 0.0,
                findings.DCR_NEAR_COPY_COLUMN: draw(near[g]),
            }
            for d in datasets
            for g in exact
            for rep in range(1, reps + 1)
        ]
    )


def privacy_table(
    risk: dict[str, float], datasets=tuple(TRUTH), reps=REPS, noise=0.005, seed=5, filter_gain=0.05
) -> pd.DataFrame:
    """Attack rows: `risk[g]` is the worst attack risk of g's released set (a base's filtered set,
    its unfiltered set `filter_gain` higher), per replicate; the other attacks sit below it."""
    rng = np.random.default_rng(seed)
    rows = []
    for d in datasets:
        for g, r in risk.items():
            sets = (
                {"filtered": r} if g.startswith("hybrid_") else {"unfiltered": r + filter_gain, "filtered": r}
            )
            for rep in range(1, reps + 1):
                for s, v in sets.items():
                    worst = float(np.clip(v + noise * rng.standard_normal(), 0.0, 1.0))
                    for metric, value in (
                        ("singling_out_risk", worst),
                        ("linkability_risk", worst / 2),
                        ("inference_risk", 0.0),
                        ("dcr_share", 0.9),  # a distance metric: never the attack risk
                    ):
                        rows.append(
                            {
                                "dataset": d,
                                "generator": g,
                                "rep": rep,
                                "set": s,
                                "metric": metric,
                                "value": value,
                                "baseline": 0.0,
                                "higher_is_riskier": True,
                                "status": "ok",
                            }
                        )
    return pd.DataFrame(rows)


GOOD_PRIVACY = {"ctgan": 0.10, "great": 0.08, "hybrid_ctgan": 0.10, "hybrid_great": 0.07}
BAD_PRIVACY = {"ctgan": 0.05, "great": 0.05, "hybrid_ctgan": 0.40, "hybrid_great": 0.30}


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


def claim(claims, key: str):
    (c,) = [c for c in claims if c.key == key]
    return c


GOOD_ATE = {"real": 0.0, "ctgan": 0.5, "great": 0.3, "hybrid_ctgan": 0.05, "hybrid_great": 0.02}
BAD_ATE = {"real": 0.0, "ctgan": 0.05, "great": 0.02, "hybrid_ctgan": 0.5, "hybrid_great": 0.6}
GOOD_TSTR = {"ctgan": 0.78, "great": 0.79, "hybrid_ctgan": 0.77, "hybrid_great": 0.78}
GOOD_POSITIVITY = {"raw": 0.5, "truncated": 0.3, "clipped": 0.2, "paired": 0.05}


def paper_like_tables(**overrides) -> dict[str, pd.DataFrame]:
    """Every claim of the paper holds, clearly beyond the replicates' noise, on several datasets."""
    tables = {
        "ate_preservation": ate_table(GOOD_ATE, failed=3),
        "tstr": tstr_table(GOOD_TSTR),
        "positivity": positivity_table(GOOD_POSITIVITY),
        "engine": engine_table(swap=False),
        "engine_ranking": ranking_table(0.9, 0.1),
        "dcr": dcr_table(
            {"ctgan": 0.0, "great": 0.0, "hybrid_real": 1.0},
            {"ctgan": 0.04, "great": 0.05, "hybrid_real": 1.0},
        ),
        "privacy": privacy_table(GOOD_PRIVACY),
    }
    return {**tables, **overrides}


@pytest.fixture
def paper_like(tmp_path):
    write_tables(tmp_path / "tables", **paper_like_tables())
    return tmp_path


@pytest.fixture
def paper_contradicted(tmp_path):
    """Every claim of the paper fails, clearly beyond the replicates' noise, on several datasets.
    Claim (a) keeps good TSTR: only generators that meet its premise can contradict it."""
    write_tables(
        tmp_path / "tables",
        ate_preservation=ate_table(BAD_ATE),
        tstr=tstr_table(GOOD_TSTR),
        positivity=positivity_table({"raw": 0.1, "truncated": 0.2, "clipped": 0.05, "paired": 0.4}),
        engine=engine_table(swap=True),
        engine_ranking=ranking_table(-0.2, 0.3),
        dcr=dcr_table({"ctgan": 0.2, "great": 0.1}, {"ctgan": 0.3, "great": 0.25}),
        privacy=privacy_table(BAD_PRIVACY, filter_gain=-0.05),
    )
    return tmp_path


# --------------------------------------------------------------------------- intervals


def test_intervals_match_hand_computation():
    # [1, 2, 3]: mean 2, SE 1/sqrt(3), t(0.975, 2) = 4.3027
    iv = u.mean_interval([1.0, 2.0, 3.0])
    assert (iv.estimate, iv.n) == (2.0, 3)
    assert iv.high - 2.0 == pytest.approx(4.302653 / math.sqrt(3), rel=1e-6)
    assert not u.mean_interval([5.0]).defined  # one replicate has no interval
    # Wilson: 4 of 4 is the least unanimous count whose interval excludes one half
    assert u.wilson_interval(4, 4).low == pytest.approx(0.5101, abs=1e-4)
    assert u.wilson_interval(3, 3).low < 0.5
    assert u.wilson_interval(0, 5).high < 0.5
    # Welch: equal variances and sizes give the pooled t interval's centre and a symmetric half
    w = u.welch_interval([2.0, 3.0, 4.0], [1.0, 2.0, 3.0])
    assert w.estimate == 1.0 and w.high - 1.0 == pytest.approx(1.0 - w.low)
    # ratios are averaged on the log scale: 2 and 8 have geometric mean 4
    assert u.ratio_interval([2.0, 8.0], [1.0, 1.0]).estimate == pytest.approx(4.0)


def test_decisions_need_the_whole_interval_on_one_side():
    assert u.decide(u.Interval(0.3, 0.1, 0.5), 0.0) == u.HOLDS
    assert u.decide(u.Interval(-0.3, -0.5, -0.1), 0.0) == u.FAILS
    assert u.decide(u.Interval(0.3, -0.1, 0.7), 0.0) == u.UNDECIDED
    assert u.decide(u.Interval(0.3, 0.0, 0.7), 0.0) == u.UNDECIDED  # touching is containing
    assert u.decide(u.Interval(0.02, 0.01, 0.03), 0.05, holds_above=False) == u.HOLDS
    assert u.decide(u.Interval(0.3), 0.0) == u.UNDECIDED  # no interval, no decision
    assert u.combine_all([u.HOLDS, u.UNDECIDED]) == u.UNDECIDED
    assert u.combine_all([u.UNDECIDED, u.FAILS]) == u.FAILS


# --------------------------------------------------------------------------- verdicts


def test_paper_like_tables_support_every_claim(paper_like):
    out = paper_like / "results" / "findings.md"
    claims = findings.write_findings(paper_like / "tables", out)
    assert verdicts(claims) == dict.fromkeys("abcdefg", findings.SUPPORTED)
    # the verdicts rest on the primary tests, Holm-adjusted over the seven
    for c in claims:
        assert c.primary.testable and c.primary.family == 7, c.key
        assert c.primary.p <= c.primary.p_holm < findings.ALPHA, c.key
    text = out.read_text()
    assert "This run contradicts none of the claims it tests." in text
    assert text.index("## How the claims are tested") < text.index("## Summary")
    assert "Holm's step-down over the 7 testable primary tests ((a), (b), (c), (d), (e), (f), (g)" in text
    assert "**Verdict: supported.** This run reproduces the paper's finding." in section(text, "b")
    for key in "abcdefg":
        s = section(text, key)
        # the pre-specified test, then its result, then the secondary table
        assert (
            s.index("**Primary test (pre-specified).**")
            < s.index("**Verdict:")
            < s.index("**Secondary: per-pair table**")
        ), key
    # the secondary vote is still shown: every pair is decided
    assert {c.key: c.evidence.counts() for c in claims} == {
        "a": "8 / 0 / 0",
        "b": "8 / 0 / 0",
        "c": "4 / 0 / 0",
        "d": "4 / 0 / 0",
        "e": "6 / 0 / 0",
        "f": "8 / 0 / 0",
        "g": "8 / 0 / 0",
    }
    assert "decidedly lowers the attack risk on 8 and raises it on 0 of 8" in section(text, "g")
    # four datasets: the across-dataset reading is printed beside the stratified test
    assert "Secondary, across datasets (random-effects reading" in section(text, "b")


def test_contradicting_tables_are_called_contradicted(paper_contradicted):
    out = paper_contradicted / "findings.md"
    claims = findings.write_findings(paper_contradicted / "tables", out)
    assert verdicts(claims) == dict.fromkeys("abcdefg", findings.CONTRADICTED)
    text = out.read_text()
    assert "**This run contradicts the paper on claim(s) (a), (b), (c), (d), (e), (f), (g).**" in text
    assert "decidedly lowers the attack risk on 0 and raises it on 8 of 8" in section(text, "g")
    assert "**Verdict: contradicted.** This run does not reproduce the paper's finding." in section(text, "b")
    assert "0 of 8 decided (base, dataset) pairs hold" in section(text, "b")
    assert "decidedly worse on some dataset with: ctgan, great." in section(text, "b")
    assert "over a limit on some dataset: ctgan, great." in section(text, "f")
    assert "| sim_paper | hybrid_ctgan | -0.2 [-0.5, 0.1] | disagrees | fails |" in squash(section(text, "e"))
    # (a): the premise holds and the error is decidedly near its hybrid's: that is a failure
    a = squash(section(text, "a"))
    assert "| ctgan | sim_paper | auc | 5 |" in a and "| far | pair (TSTR-only) | pair (strict) |" in a
    assert a.count("| fails | fails | fails |") == 8


def test_one_dataset_is_not_testable_however_clear(tmp_path):
    one = ("sim_paper",)
    tables = paper_like_tables(
        ate_preservation=ate_table(GOOD_ATE, datasets=one),
        tstr=tstr_table(GOOD_TSTR, datasets=one),
        positivity=positivity_table(GOOD_POSITIVITY, datasets=one),
        engine_ranking=ranking_table(0.9, 0.1, datasets=one),
        dcr=dcr_table({"ctgan": 0.0, "great": 0.0}, {"ctgan": 0.04, "great": 0.05}, datasets=one),
        privacy=privacy_table(GOOD_PRIVACY, datasets=one),
    )
    write_tables(tmp_path / "t", **tables)
    claims = findings.write_findings(tmp_path / "t", tmp_path / "f.md")
    assert verdicts(claims) == dict.fromkeys("abcdefg", findings.NOT_TESTABLE)
    # decided, and all holding, yet one dataset: what is missing is said
    assert claim(claims, "b").evidence.counts() == "2 / 0 / 0"
    assert "1 dataset(s) have 2 or more replicates" in claim(claims, "b").primary.reason
    text = (tmp_path / "f.md").read_text()
    assert "Not testable at this configuration: (a), (b), (c), (d), (e), (f), (g)." in text
    assert "Holm's step-down over the 0 testable primary tests (none;" in text
    assert text.count("**Verdict: not testable at this configuration.**") == 7


def test_one_replicate_is_not_testable(tmp_path):
    # the clearest point differences, one replicate: no variance, so no test
    tables = paper_like_tables(
        ate_preservation=ate_table(GOOD_ATE, reps=1, noise=0.0),
        tstr=tstr_table(GOOD_TSTR, reps=1),
        dcr=dcr_table({"ctgan": 0.0, "great": 0.0}, {"ctgan": 0.04, "great": 0.05}, reps=1),
        positivity=positivity_table(GOOD_POSITIVITY, reps=1),
        privacy=privacy_table(GOOD_PRIVACY, reps=1),
    )
    write_tables(tmp_path / "t", **tables)
    claims = {c.key: c for c in findings.write_findings(tmp_path / "t", tmp_path / "f.md")}
    for key in "abcdfg":
        assert claims[key].verdict == findings.NOT_TESTABLE, key
    # (a): with one TSTR replicate no premise is decidedly met; (c): GReaT's one replicate
    assert "premise is met nowhere" in claims["a"].primary.reason
    assert (
        claims["c"].primary.reason
        == "GReaT has 1 replicate; 2 or more paired with hybrid_ctgan would test it."
    )
    assert (
        "0 dataset(s) have 2 or more replicates (most replicates on a dataset: 1)"
        in claims["b"].primary.reason
    )
    # the engine stage's ranking has its own replicates: still tested, alone in the family
    assert claims["e"].verdict == findings.SUPPORTED and claims["e"].primary.family == 1
    assert "| ctgan | sim_paper | 1 | 2 | 0.2 [–] | 0.02 [–] | 0.18 [–] | undecided |" in squash(
        claims["b"].body[3]
    )


def _noisy(key: str) -> findings.Claim:
    """Claim `key` on four datasets where the paper's effect sits at the null of its test."""
    if key == "a":
        # TSTR good, error ratio 2 = the null, give or take the noise
        ate = ate_table({"ctgan": 0.2, "hybrid_ctgan": 0.1}, noise=0.08, reps=3, seed=11)
        return findings.claim_fidelity_vs_effect(ate, tstr_table({"ctgan": 0.78}, noise=0.005, reps=3))
    if key == "b":
        return findings.claim_hybrid_beats_generative(
            ate_table({"ctgan": 0.3, "hybrid_ctgan": 0.3}, noise=0.1, reps=3, seed=12)
        )
    if key == "c":
        return findings.claim_llm_vs_ctgan(
            ate_table({"hybrid_great": 0.3, "hybrid_ctgan": 0.3}, noise=0.1, reps=3, seed=13)
        )
    if key == "d":
        return findings.claim_pairing(positivity_table({"raw": 0.3, "paired": 0.3}, noise=0.1, sets=3))
    if key == "e":
        return findings.claim_engine(engine_table(swap=False), ranking_table(0.5, 0.3))
    if key == "g":
        # the hybrid 0.05 riskier than its base, the margin itself, give or take the noise
        risk = {"ctgan": 0.10, "hybrid_ctgan": 0.15}
        return findings.claim_privacy(privacy_table(risk, noise=0.03, reps=3, seed=14))
    return findings.claim_dcr(dcr_table({"ctgan": 0.005}, {"ctgan": 0.1}, noise=0.01, reps=3))


@pytest.mark.parametrize("key", list("abcdefg"))
def test_tables_at_the_null_are_inconclusive(key):
    c = _noisy(key)
    assert c.primary.testable
    assert c.primary.p > findings.ALPHA
    assert c.verdict == findings.INCONCLUSIVE


def test_split_datasets_are_inconclusive():
    # hybrid clearly better on two datasets, clearly worse on two: the mean log ratio is about 0
    good = ate_table({"ctgan": 0.5, "hybrid_ctgan": 0.05}, datasets=("sim_paper", "lalonde"))
    bad = ate_table({"ctgan": 0.05, "hybrid_ctgan": 0.5}, datasets=("ihdp", "nhefs"))
    c = findings.claim_hybrid_beats_generative(pd.concat([good, bad], ignore_index=True))
    assert c.evidence.counts() == "2 / 2 / 0"
    assert c.primary.estimate == pytest.approx(0.0, abs=0.05)
    assert c.verdict == findings.INCONCLUSIVE
    # across datasets the spread is huge: the random-effects interval is wide
    assert c.primary.across.high - c.primary.across.low > 5


# --------------------------------------------------------------------------- numbers


def test_right_numbers_appear(tmp_path):
    # no noise; |error| is rel x (0.9, 1.0, 1.1) over 3 replicates: mean rel, SD 0.1 rel, and a
    # t interval of half-width 4.3027 x 0.1 rel / sqrt(3) = 0.2484 rel
    ate = ate_table(GOOD_ATE, reps=3, noise=0.0, spread=0.1)
    write_tables(
        tmp_path / "t",
        ate_preservation=ate,
        tstr=tstr_table(GOOD_TSTR, noise=0.0),
        positivity=positivity_table(GOOD_POSITIVITY, noise=0.0, reps=2),
        engine_ranking=ranking_table(0.9, 0.1),
    )
    claims = {c.key: c for c in findings.write_findings(tmp_path / "t", tmp_path / "f.md")}
    text = (tmp_path / "f.md").read_text()
    b = squash(section(text, "b"))
    # primary (b): in every replicate, AIPW's errors are (0.05 + 0.02) / (0.5 + 0.3) of each other
    # times the same factor, so y = log(0.0875) with no spread at all
    assert claims["b"].primary.shown_interval.estimate == pytest.approx(0.0875)
    assert "Geometric-mean error ratio hybrid / base 0.0875 [0.0875, 0.0875]" in b
    # sim_paper ctgan 0.5 x 0.4 = 0.2 +- 0.04968; hybrid 0.02 +- 0.004968; difference 0.18 +- 0.04471
    assert (
        "| ctgan | sim_paper | 3 | 2 | 0.2 [0.1503, 0.2497] | 0.02 [0.01503, 0.02497] | "
        "0.18 [0.1353, 0.2247] | holds |" in b
    )
    assert (
        "| ctgan | lalonde | 3 | 2 | 900 [676.4, 1124] | 90 [67.64, 112.4] | 810 [608.8, 1011] | holds |" in b
    )
    # per base, scale-free: hybrid / base is 0.1 for ctgan on every dataset, 0.02 / 0.3 for great
    assert "| ctgan | 4 | 4 / 0 / 0 | 0.1 [0.1, 0.1] |" in b
    assert "| great | 4 | 4 / 0 / 0 | 0.06667 [0.06667, 0.06667] |" in b
    # (a) TSTR 0.78 vs 0.8: gap 0.02 in every replicate; error ratio 10 in every replicate
    a = squash(section(text, "a"))
    assert (
        "| ctgan | sim_paper | auc | 5 | 0.78 | 0.8 | 0.02 [0.02, 0.02] | holds | not measured | not measured | holds | 3 |"
        in a
    )
    assert "| 10 [10, 10] | holds | holds | holds |" in a
    # (c) hybrid_great 0.008 +- 0.001987 against hybrid_ctgan 0.02 +- 0.004968; paired difference
    # 0.012 x (0.9, 1, 1.1): 0.012 +- 4.3027 x 0.0012 / sqrt(3) = 0.012 +- 0.002981
    c = squash(section(text, "c"))
    assert (
        "| sim_paper | 3 / 3 / 3 | 2 | 0.008 [0.006013, 0.009987] | 0.02 [0.01503, 0.02497] | "
        "0.012 [0.009019, 0.01498] | holds |" in c
    )
    assert "Geometric-mean error ratio hybrid_great / hybrid_ctgan 0.4 [0.4, 0.4]" in c
    # (d) mean |error| per method, 5 sets x 2 replicates: raw 0.2, truncated 0.12, clipped 0.08, paired 0.02
    d = squash(section(text, "d"))
    assert (
        "| sim_paper | 5 | 2 | 0.2 [0.2, 0.2] | 0.12 [0.12, 0.12] | 0.08 [0.08, 0.08] | 0.02 [0.02, 0.02] | 20 |"
        in d
    )
    assert "| sim_paper | 5 | 2 | 0.18 [0.18, 0.18] | 0.1 [0.1, 0.1] | 0.06 [0.06, 0.06] | holds |" in d
    # paired / the best other (clipped): 0.02 / 0.08
    assert "Geometric-mean error ratio paired / best other method 0.25 [0.25, 0.25]" in d
    # (e) the stage's own interval, shown with its verdict
    assert "| sim_paper | hybrid_ctgan | 0.9 [0.8, 1] | agrees | holds |" in squash(section(text, "e"))
    # the secondary vote: 8 of 8 decided pairs, Wilson 67.6%-100%
    assert "8 of 8 decided (base, dataset) pairs hold (100% [67.6%, 100%]), on 4 dataset(s); 0 undecided" in b


def test_dcr_rows_and_the_oracle(paper_like):
    findings.write_findings(paper_like / "tables", paper_like / "f.md")
    f = squash(section((paper_like / "f.md").read_text(), "f"))
    # hybrid_real copies by design: shown, not counted; exact shares of 0 have the interval [0, 0]
    assert "| hybrid_real | sim_paper | 5 | 100% | 0% | 100% [100%, 100%] | 100% [100%, 100%] | no | – |" in f
    assert "| ctgan | sim_paper | 5 | 0% | 0% | 0% [0%, 0%] |" in f
    assert "8 of 8 decided (generator, dataset) pairs hold" in f


def test_missing_tables_are_not_tested(tmp_path):
    out = tmp_path / "findings.md"
    claims = findings.write_findings(tmp_path / "no_tables", out)
    assert verdicts(claims) == dict.fromkeys("abcdefg", findings.NOT_TESTED)
    text = out.read_text()
    assert text.count("**Verdict: not tested in this run.**") == 7
    assert (
        "Absent: `ate_preservation`, `tstr`, `dcr`, `positivity`, `engine`, `engine_ranking`, `privacy`, `fidelity`, `inferential_utility`."
        in text
    )
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
        "g": findings.NOT_TESTED,
    }
    assert claim(claims, "b").primary.family == 1  # a family of one: Holm changes nothing
    assert "present: hybrid_ctgan" in section((tmp_path / "f.md").read_text(), "c")


def test_failed_cells_are_counted_once(tmp_path):
    ate = ate_table(GOOD_ATE, failed=3)
    # the gathered table may repeat the real rows with every cell: they must count once
    ate = pd.concat([ate, ate[ate["generator"] == "real"]], ignore_index=True)
    pos = positivity_table({"raw": 0.5, "paired": 0.05}, datasets=("sim_paper",), reps=1)
    pos.loc[pos.index[:2], ["ate", "status"]] = [np.nan, "no synthetic unit left to pair"]
    write_tables(tmp_path / "t", ate_preservation=ate, positivity=pos)
    findings.write_findings(tmp_path / "t", tmp_path / "f.md")
    text = (tmp_path / "f.md").read_text()
    # 168 ok = 4 datasets x (4 synthetic generators x 5 reps + the real data once) x 2 estimators
    assert "- `ate_preservation`: 3 of 171 cells failed (1.8%)." in text
    assert "| ctgan | timeout | 3 |" in squash(text)
    assert "- `positivity`: 2 of 20 cells failed (10%)." in text
    assert "| raw | no synthetic unit left to pair | 2 |" in squash(text)
    # real rows per replicate are distinct estimates: repeated, each counts once per replicate
    per_rep = ate_table(GOOD_ATE, real_per_rep=True)
    per_rep = pd.concat([per_rep, per_rep[per_rep["generator"] == "real"]], ignore_index=True)
    write_tables(tmp_path / "r", ate_preservation=per_rep)
    findings.write_findings(tmp_path / "r", tmp_path / "r.md")
    # 4 datasets x (4 synthetic generators + real) x 5 reps x 2 estimators
    assert "- `ate_preservation`: 0 of 200 cells failed (0%)." in (tmp_path / "r.md").read_text()


def test_engine_test_reads_the_ranking_intervals(tmp_path):
    ranking = ranking_table(0.9, 0.1)
    ranking.loc[0, ["spearman_vs_truth", "spearman_low", "spearman_high", "verdict"]] = [
        0.2,
        -0.1,
        0.45,
        "disagrees",
    ]
    write_tables(tmp_path / "t", engine=engine_table(swap=False), engine_ranking=ranking)
    c = claim(findings.write_findings(tmp_path / "t", tmp_path / "f.md"), "e")
    # the table's own verdicts win over what the engine table would give (Spearman 1)
    assert c.evidence.counts() == "5 / 1 / 0"
    assert "| sim_paper | hybrid_ctgan | 0.2 [-0.1, 0.45] | disagrees | fails |" in squash(c.body[0])
    # primary: mean (0.2 + 5 x 0.9) / 6 = 0.78333; SEs 0.55 / 3.92 and 0.2 / 3.92 (five times);
    # SE = sqrt(0.14031^2 + 5 x 0.05102^2) / 6 = 0.030139; z = (0.78333 - 0.5) / 0.030139 = 9.401
    assert c.primary.estimate == pytest.approx(0.783333, rel=1e-5)
    assert c.primary.se == pytest.approx(0.0301385, rel=1e-4)
    assert c.primary.p == pytest.approx(2 * stats.norm.sf(9.4010), rel=1e-2)
    assert c.verdict == findings.SUPPORTED
    # the engine table says 20 replicates: the decision needed (k = ((2.807 + 0.8416) x SE / 0.28333)^2
    # = 0.1506 of them) is below the 2 a test needs
    assert c.primary.reps_needed == 2


def test_engine_without_intervals_is_not_testable(tmp_path):
    # an old ranking table (no interval columns): the point rule only
    old = ranking_table(0.9, 0.1)[["dataset", "engine", "spearman_vs_truth", "n_estimators"]]
    old.loc[old.index[0], "spearman_vs_truth"] = 0.2  # below the rule's 0.5
    write_tables(tmp_path / "old", engine=engine_table(swap=False), engine_ranking=old)
    c = claim(findings.write_findings(tmp_path / "old", tmp_path / "old.md"), "e")
    assert c.verdict == findings.NOT_TESTABLE
    assert "no bootstrap interval" in c.primary.reason
    assert c.evidence.n_decided == 0
    assert "| agrees | undecided |" in squash(c.body[0])
    assert "| disagrees | undecided |" in squash(c.body[0])  # one vocabulary, even for the point rule


def test_engine_without_a_ranking_table_says_which_rule_writes_it(tmp_path):
    # the report never ranks by itself (that is evaluation): it names the rule to rerun
    write_tables(tmp_path / "none", engine=engine_table(swap=False))
    c = claim(findings.write_findings(tmp_path / "none", tmp_path / "none.md"), "e")
    assert c.verdict == findings.NOT_TESTABLE
    assert "engine_ranking rule" in c.primary.reason


def test_summary_table_is_well_formed(paper_like):
    findings.write_findings(paper_like / "tables", paper_like / "f.md")
    text = (paper_like / "f.md").read_text()
    summary = section_between(text, "## Summary", "## Failed cells")
    rows = [line for line in summary.splitlines() if line.startswith("|")]
    assert len(rows) == 2 + 7
    # "|" inside a cell is escaped, so every row has exactly the seven columns
    assert all(len(re.split(r"(?<!\\)\|", row)) == 9 for row in rows)
    assert (
        "| claim | verdict | primary estimate [95% CI] | raw p | Holm p | detectable difference | replicates to decide |"
        in squash(summary)
    )
    assert (
        "| (b) Hybrid beats fully generative | supported | geometric-mean error ratio hybrid / base"
        in squash(summary)
    )


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

    paths = []
    for d in TRUTH:
        for rep in (1, 2):
            # every replicate a fresh draw of the data, and a copier of 60 of its training rows
            train, holdout = frame(200), frame(100)
            filt = DCRFilter(roles).fit(train, holdout)
            copier = pd.concat([train.iloc[:60], frame(140)], ignore_index=True)[roles.covariate_names]
            _, report = filt.filter(copier)
            path = tmp_path / "results" / "privacy" / d / "great" / f"rep{rep}" / "dcr.json"
            write_json({"dataset": d, "generator": "great", "rep": rep, **report}, path)
            paths.append(str(path))
    c = findings.claim_dcr(gather_dcr(paths))
    assert c.verdict == findings.CONTRADICTED
    assert c.primary.estimate > findings.NEAR_COPY_MAX + 0.2  # 30% copies, and some near ones
    assert c.evidence.counts() == "0 / 4 / 0"
    assert c.headline.endswith("over a limit on some dataset: great.")
    assert "| great | sim_paper | 2 | 30% |" in squash(c.body[0])  # 60 of 200 rows copied


def test_cells_without_a_learner_still_count(tmp_path):
    pos = positivity_table({"raw": 0.5, "clipped": 0.2, "paired": 0.05}).assign(learner=np.nan)
    ate = ate_table({"ctgan": 0.5, "hybrid_ctgan": 0.05}).assign(learner=np.nan)
    write_tables(tmp_path / "t", positivity=pos, ate_preservation=ate)
    claims = {c.key: c for c in findings.write_findings(tmp_path / "t", tmp_path / "f.md")}
    assert claims["d"].verdict == findings.SUPPORTED and claims["d"].evidence.counts() == "4 / 0 / 0"
    assert claims["b"].verdict == findings.SUPPORTED and claims["b"].evidence.counts() == "4 / 0 / 0"


def test_measured_fidelity_only_narrows_the_premise_of_claim_a():
    # TSTR alone is good and the error ratio far above 2; a classifier that tells every set from
    # real rows (AUC 0.95) takes the pairs out of the stricter reading's premise, and never
    # counts them against the paper
    ate = ate_table(GOOD_ATE)
    tstr = tstr_table(GOOD_TSTR)
    keys = ate.loc[
        ate["generator"].isin(["ctgan", "great"]), ["dataset", "generator", "rep"]
    ].drop_duplicates()
    rows = []
    for k in keys.to_dict("records"):
        rows += [
            {
                **k,
                "metric": "c2st_auc",
                "value": 0.95 + 0.01 * (k["rep"] % 2),
                "real_value": 0.5,
                "status": "ok",
            },
            {**k, "metric": "shape", "value": 0.93, "real_value": 0.95, "status": "ok"},
        ]
    fid = pd.DataFrame(rows)
    without = findings.claim_fidelity_vs_effect(ate, tstr)
    with_fid = findings.claim_fidelity_vs_effect(ate, tstr, fid)
    assert without.verdict == with_fid.verdict == findings.SUPPORTED  # the TSTR-only reading decides
    (name, strict), *_ = with_fid.readings
    assert name.startswith("Stricter reading") and not strict.in_family
    assert not strict.testable and "premise is met nowhere" in strict.reason
    assert without.readings[0][1].testable  # nothing measured: the stricter reading is TSTR's
    body = squash(with_fid.body[0])
    # strict fidelity fails, far holds: the pair holds in the TSTR-only reading and is outside
    # the stricter reading's premise
    assert body.count("| fails | 5 |") == 8 and body.count("| holds | holds | premise not met |") == 8
    assert "not measured" not in with_fid.body[0] and "not measured" in without.body[0]


def test_findings_name_every_set_the_release_gate_holds_back(tmp_path):
    privacy = privacy_table(GOOD_PRIVACY)
    first = sorted(TRUTH)[0]
    cell = privacy["dataset"] == first
    over = "over: linkability_risk upper 95% bound 0.300 > 0.2"
    unscored = "inference_risk not scored (holdout too small: 30 rows)"
    privacy["releasable"], privacy["release_reason"] = "yes", "within every threshold"
    rules = [
        (privacy["set"] == "unfiltered", "no", "not screened by the DCR filter (the release is its filtered set)"),
        (cell & (privacy["generator"] == "hybrid_great") & (privacy["rep"] == 2), "no", over),
        (cell & (privacy["generator"] == "ctgan") & (privacy["set"] == "filtered") & (privacy["rep"] == 1),
         "not assessed", unscored),
    ]  # fmt: skip
    for mask, verdict, reason in rules:
        privacy.loc[mask, ["releasable", "release_reason"]] = [verdict, reason]
    write_tables(tmp_path / "t", privacy=privacy)
    findings.write_findings(tmp_path / "t", tmp_path / "f.md")
    text = (tmp_path / "f.md").read_text()
    gate = text[text.index("## Release gate") :]
    n_offered = privacy.loc[privacy["set"] == "filtered", ["dataset", "generator", "rep"]].drop_duplicates()
    n_unfiltered = privacy.loc[
        privacy["set"] == "unfiltered", ["dataset", "generator", "rep"]
    ].drop_duplicates()
    assert (
        f"Sets offered for release: {len(n_offered)}; releasable {len(n_offered) - 2}, not releasable 1, "
        f"not assessed 1. Unfiltered sets, never released: {len(n_unfiltered)}"
    ) in gate
    held = [line for line in gate.splitlines() if line.startswith("| ") and first in line]
    assert len(held) == 2  # the unfiltered sets are not listed: they are never offered
    assert "ctgan" in held[0] and "not assessed" in held[0] and unscored in held[0]
    assert "hybrid_great" in held[1] and over in held[1]

    # a table from before the gate, and no table at all, say so rather than pass every set
    write_tables(tmp_path / "old", privacy=privacy.drop(columns=["releasable", "release_reason"]))
    findings.write_findings(tmp_path / "old", tmp_path / "old.md")
    assert "without a `releasable` column (written before the gate)" in (tmp_path / "old.md").read_text()
    findings.write_findings(tmp_path / "none", tmp_path / "none.md")
    assert "The privacy table is absent or empty: no set was gated" in (tmp_path / "none.md").read_text()
