"""The primary tests of the findings: the stratified t test, Holm, power, the error that isolates
the generator, identical cells, and the designs of claims (a), (b) and (c), checked by hand."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from causalsynth.core import uncertainty as u
from causalsynth.report import findings
from causalsynth.report.findings.cells import AteCells, log_sum_ratio, preservation_errors
from causalsynth.report.findings.effect import hybrid_test
from causalsynth.report.findings.primary import PrimaryTest, apply_holm, holm, stratified_t

LEARNER = "gbr"


def ys(values: dict[str, list[float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"dataset": d, "rep": r + 1, "y": y} for d, vals in values.items() for r, y in enumerate(vals)]
    )


def ate_frame(rows: list[dict]) -> pd.DataFrame:
    """ATE rows with the columns the findings read; each row gives dataset, generator, rep, ate
    and real_ate, and may override the rest."""
    base = {"estimator": "aipw", "learner": LEARNER, "status": "ok", "truth": 1.0, "truth_kind": "exact"}
    return pd.DataFrame([{**base, **r} for r in rows])


# --------------------------------------------------------------------------- the test itself


def test_stratified_t_by_hand():
    # two datasets of three replicates: means 1 and 2, both variances 1
    t = stratified_t(ys({"d1": [0, 1, 2], "d2": [1, 2, 3]}), PrimaryTest("y", 0.0, "above"), "")
    # estimate (1 + 2) / 2; variance (1/4)(1/3 + 1/3) = 1/6; equal variances and sizes give
    # Welch-Satterthwaite df = (n1 - 1) + (n2 - 1) = 4
    assert t.estimate == 1.5
    assert t.se == pytest.approx(math.sqrt(1 / 6))
    assert t.df == pytest.approx(4.0)
    assert t.p == pytest.approx(2 * stats.t.sf(1.5 / math.sqrt(1 / 6), 4))  # 0.02131
    assert t.p == pytest.approx(0.021312, abs=1e-6)
    # t(0.975, 4) = 2.776445: the interval 1.5 -+ 2.776445 x 0.408248 = 1.5 -+ 1.133479
    assert (t.interval.low, t.interval.high) == pytest.approx((0.366521, 2.633479), abs=1e-6)
    # power, alone in its family: (t(0.975, 4) + t(0.8, 4)) x SE = (2.776445 + 0.940965) x 0.408248
    assert t.mde == pytest.approx(1.517626, abs=1e-6)
    # replicates: ceil(3 x (1.517626 / 1.5)^2) = ceil(3.0709) = 4
    assert t.reps_needed == 4
    # in a family of two, Holm's first step tests at 0.025: t(0.9875, 4) = 3.495406, so
    # MDE = (3.495406 + 0.940965) x 0.408248 = 1.811141 and ceil(3 x 1.45788) = 5 replicates
    other = stratified_t(ys({"d1": [5, 6, 7], "d2": [5, 6, 7]}), PrimaryTest("y", 0.0, "above"), "")
    apply_holm([t, other])
    assert t.family == 2 and t.alpha == 0.025
    assert t.mde == pytest.approx(1.811141, abs=1e-6)
    assert t.reps_needed == 5
    assert t.detectable() == "1.81 (≥ 1.81)"


def test_welch_satterthwaite_and_datasets_without_variance():
    # variances 4 and 0.25: w = (4/3)/4 = 1/3 and (0.25/3)/4 = 1/48;
    # df = (17/48)^2 / ((1/3)^2 / 2 + (1/48)^2 / 2) = 2.249027
    values = ys({"d1": [0, 2, 4], "d2": [1, 1.5, 2], "d3": [100.0]})
    t = stratified_t(values, PrimaryTest("y", 0.0, "above"), "")
    assert t.df == pytest.approx(2.249027, abs=1e-6)
    assert t.se == pytest.approx(math.sqrt(17 / 48))
    # d3 has one replicate: no variance, so it is left out of the estimate too
    assert t.left_out == ["d3"] and t.estimate == pytest.approx(1.75)
    # no dataset with two replicates, or only one: not testable, saying what would make it so
    one = stratified_t(ys({"d1": [1, 2, 3], "d2": [4.0]}), PrimaryTest("y", 0.0, "above"), "More data.")
    assert not one.testable and findings.NOT_TESTABLE == "not testable at this configuration"
    assert one.reason == (
        "1 dataset(s) have 2 or more replicates (most replicates on a dataset: 3); "
        "the test needs 2 or more such datasets. More data."
    )


def test_holm_by_hand():
    # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1: 0.02, 0.03, 0.06, 0.04 -> running max 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])  # capped at 1
    assert holm([0.2]) == [0.2]
    # untestable tests are not in the family; a reading outside the family keeps its raw p
    a = stratified_t(ys({"d1": [0, 1, 2], "d2": [1, 2, 3]}), PrimaryTest("y", 0.0, "above"), "")
    b = stratified_t(ys({"d1": [1.0]}), PrimaryTest("y", 0.0, "above"), "")
    c = stratified_t(ys({"d1": [0, 1, 2], "d2": [1, 2, 3]}), PrimaryTest("y", 0.0, "above"), "")
    c.in_family = False
    apply_holm([a, b, c])
    assert a.family == 1 and a.p_holm == a.p and math.isnan(b.p_holm) and c.p_holm == c.p


def test_verdicts_follow_the_adjusted_p_and_the_side():
    t = stratified_t(ys({"d1": [0, 1, 2], "d2": [1, 2, 3]}), PrimaryTest("y", 0.0, "above"), "")
    assert findings.verdicts.verdict_of(t) == findings.SUPPORTED  # p 0.0213, above the null
    t.side = "below"
    assert findings.verdicts.verdict_of(t) == findings.CONTRADICTED
    t.p_holm = 0.06  # e.g. Holm over three such tests
    assert findings.verdicts.verdict_of(t) == findings.INCONCLUSIVE


# --------------------------------------------------------------------------- errors and cells


def test_preservation_error_uses_the_real_estimate_of_the_same_replicate():
    # the real sample's own estimate wanders from the truth (1.2, 0.8, 1.1); the generator is 0.1
    # from it in every replicate, while |ate - truth| mixes in the real sample's error
    real = {1: 1.2, 2: 0.8, 3: 1.1}
    rows = [
        {"dataset": "sim", "generator": "ctgan", "rep": r, "ate": v + 0.1, "real_ate": v}
        for r, v in real.items()
    ]
    errs = preservation_errors(ate_frame(rows)).sort_values("rep")
    assert errs["error"].to_numpy() == pytest.approx([0.1, 0.1, 0.1])
    assert errs["exact_error"].to_numpy() == pytest.approx([0.3, 0.1, 0.2])
    # without real_ate on the row, the real row of the same replicate gives it
    real_rows = [
        {"dataset": "sim", "generator": "real", "rep": r, "ate": v, "real_ate": np.nan}
        for r, v in real.items()
    ]
    bare = [{**r, "real_ate": np.nan} for r in rows]
    errs = preservation_errors(ate_frame(bare + real_rows)).sort_values("rep")
    assert errs["error"].to_numpy() == pytest.approx([0.1, 0.1, 0.1])
    # a legacy table's one real estimate (rep 0) stands for every replicate; a reference truth
    # (a real dataset) is no exact truth
    legacy = [{"dataset": "sim", "generator": "real", "rep": 0, "ate": 1.0, "real_ate": np.nan}]
    errs = preservation_errors(ate_frame(bare + legacy).assign(truth_kind="reference")).sort_values("rep")
    assert errs["error"].to_numpy() == pytest.approx([0.3, 0.1, 0.2])
    assert errs["exact_error"].isna().all()


def _cells_table() -> pd.DataFrame:
    """aipw 0.3 from real, dml its exact copy, iptw 0.1, iptw_truncated iptw's copy except in
    replicate 3 (where a weight hit the cap); 2 datasets x 3 replicates, ctgan and its hybrid."""
    rows = []
    for d in ("sim", "ihdp"):
        for g, k in (("ctgan", 1.0), ("hybrid_ctgan", 0.1)):
            for r in (1, 2, 3):
                cells = {"aipw": 1 + 0.3 * k, "iptw": 1 + 0.1 * k}
                cells["dml"] = cells["aipw"] * (1 + 1e-12)  # floating point noise only
                cells["iptw_truncated"] = cells["iptw"] * (1 + (1e-6 if r == 3 else 0.0))
                rows += [
                    {"dataset": d, "generator": g, "rep": r, "estimator": e, "ate": a, "real_ate": 1.0}
                    for e, a in cells.items()
                ]
    return ate_frame(rows)


def test_identical_cells_are_counted_once(tmp_path):
    cells = AteCells.of(_cells_table())
    merged = {
        (m["dataset"], m["generator"], m["cell"], m["same_as"]) for m in cells.merges.to_dict("records")
    }
    assert merged == {
        (d, g, ("dml", LEARNER), ("aipw", LEARNER))
        for d in ("sim", "ihdp")
        for g in ("ctgan", "hybrid_ctgan")
    }
    # iptw_truncated differs from iptw in one replicate: a cell of its own
    assert set(cells.counted["estimator"]) == {"aipw", "iptw", "iptw_truncated"}
    c = findings.claim_hybrid_beats_generative(_cells_table())
    # ctgan's mean over the counted cells is (0.3 + 0.1 + 0.1) / 3 = 0.1667 (with dml: 0.2)
    pairs = re.sub(r" {2,}", " ", c.body[3])
    assert "| ctgan | ihdp | 3 | 3 | 0.1667 [0.1667, 0.1667] | 0.01667 [0.01667, 0.01667] |" in pairs
    # the truth is exact here and the real estimate is the truth: |ate - truth| shows the same
    assert pairs.endswith("| holds | 0.1667 [0.1667, 0.1667] | 0.01667 [0.01667, 0.01667] |")
    (tmp_path / "t").mkdir()
    table = _cells_table().assign(ci_low=np.nan, ci_high=np.nan)  # columns the reader requires
    table.to_csv(tmp_path / "t" / "ate_preservation.csv", index=False)
    text, _ = findings.build_findings(tmp_path / "t")
    assert "Primary estimator cell: AIPW with learner `gbr`" in text
    assert "dml (gbr) = aipw (gbr) in 4 of 4 (dataset, generator) sets." in text


# --------------------------------------------------------------------------- claim (b)

BASES = ("ctgan", "tvae")


def effect_table(ratio: float, seed: int, n_datasets: int = 7, reps: int = 3) -> pd.DataFrame:
    """Datasets on scales 0.1 to 1000, a real estimate 20% noisy per replicate, and two bases
    whose |ate - real_ate| is lognormal (log SD 0.5) with a random sign; each hybrid's error is
    `ratio` times its base's in distribution. ratio 1 is the null, exactly: base and hybrid are
    exchangeable."""
    rng = np.random.default_rng(seed)
    gens = [g for b in BASES for g in (b, "hybrid_" + b)]
    k = np.array([ratio if g.startswith("hybrid_") else 1.0 for g in gens])
    scale = 10 ** rng.uniform(-1, 3, n_datasets)
    real = scale[:, None] * (1 + 0.2 * rng.standard_normal((n_datasets, reps)))
    err = 0.3 * scale[:, None, None] * k * np.exp(0.5 * rng.standard_normal((n_datasets, reps, len(gens))))
    ate = real[..., None] + rng.choice([-1.0, 1.0], size=err.shape) * err
    d, r, g = np.meshgrid(np.arange(n_datasets), np.arange(reps), np.arange(len(gens)), indexing="ij")
    synth = pd.DataFrame(
        {
            "dataset": [f"d{i}" for i in d.ravel()],
            "generator": np.array(gens)[g.ravel()],
            "rep": r.ravel() + 1,
            "ate": ate.ravel(),
            "real_ate": real[d.ravel(), r.ravel()],
        }
    )
    dd, rr = np.meshgrid(np.arange(n_datasets), np.arange(reps), indexing="ij")
    reals = pd.DataFrame(
        {
            "dataset": [f"d{i}" for i in dd.ravel()],
            "generator": "real",
            "rep": rr.ravel() + 1,
            "ate": real.ravel(),
            "real_ate": real.ravel(),
        }
    )
    return pd.concat([reals, synth], ignore_index=True).assign(
        estimator="aipw", learner=LEARNER, status="ok", truth=np.nan, truth_kind="reference"
    )


def test_claim_b_finds_a_halved_error_and_not_an_equal_one():
    c = findings.claim_hybrid_beats_generative(effect_table(0.5, seed=0))
    assert c.verdict == findings.SUPPORTED
    # 7 datasets x 3 replicates; the geometric-mean ratio of this seed's draw
    assert c.primary.reps == dict.fromkeys([f"d{i}" for i in range(7)], 3)
    assert c.primary.shown_interval.estimate == pytest.approx(0.544711, rel=1e-5)
    assert c.primary.p == pytest.approx(4.2487e-04, rel=1e-3)
    equal = findings.claim_hybrid_beats_generative(effect_table(1.0, seed=0))
    assert equal.verdict == findings.INCONCLUSIVE and equal.primary.p == pytest.approx(0.49203, rel=1e-4)


def test_claim_b_keeps_its_size_over_many_null_tables():
    """Over 400 seeded null tables, the share called supported stays within the nominal
    one-sided rate 0.025 plus three binomial SDs: 0.025 + 3 sqrt(0.025 x 0.975 / 400) = 0.0484
    (19 of 400). The seeds give 6 of 400 (14 rejections either way). A rule without
    multiplicity control, supported when any dataset's own interval lies below 0, calls 69 of
    400 supported on the same tables and would fail the bound."""
    n = 400
    # one table of all seeds, its datasets named by seed, through the claim's own functions
    tables = [
        effect_table(1.0, seed).assign(dataset=lambda t, s=seed: f"{s}:" + t["dataset"]) for seed in range(n)
    ]
    cells = AteCells.of(pd.concat(tables, ignore_index=True), merge=False)
    datasets = sorted(set(cells.primary["dataset"]))
    pairs = pd.DataFrame(
        [(d, "hybrid_" + b, b) for b in BASES for d in datasets], columns=["dataset", "num", "den"]
    )
    y = log_sum_ratio(cells.primary, pairs)
    y["seed"] = y["dataset"].str.split(":").str[0].astype(int)
    supported = rejected = uncorrected = 0
    for _, ys_seed in y.groupby("seed"):
        t = stratified_t(ys_seed, PrimaryTest("ratio", 0.0, "below", log_scale=True), "")
        rejected += t.p < findings.ALPHA
        supported += findings.verdicts.verdict_of(t) == findings.SUPPORTED
        uncorrected += any(u.mean_interval(g["y"]).high < 0 for _, g in ys_seed.groupby("dataset"))
    bound = 0.025 + 3 * math.sqrt(0.025 * 0.975 / n)
    assert (supported, rejected, uncorrected) == (6, 14, 69)
    assert supported / n <= bound < uncorrected / n
    # hybrid_test is the same computation, table by table
    one = hybrid_test(AteCells.of(tables[0], merge=False), list(BASES))
    first = stratified_t(y[y["seed"] == 0], PrimaryTest("ratio", 0.0, "below", log_scale=True), "")
    assert one.p == pytest.approx(first.p)


# --------------------------------------------------------------------------- claim (a)


def _fidelity_tables() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Three datasets x 3 replicates. ctgan: good TSTR, a classifier tells it apart (C2ST 0.95),
    10x its hybrid's error. tvae: bad TSTR (gap 0.2), 10x its hybrid's error. gaussian_copula:
    good TSTR and C2ST, the same error as its hybrid."""
    rng = np.random.default_rng(7)
    spec = {"ctgan": (0.78, 0.95, 0.5), "tvae": (0.60, 0.55, 0.5), "gaussian_copula": (0.79, 0.55, 0.05)}
    ate, tstr, fid = [], [], []
    for d in ("d1", "d2", "d3"):
        for g, (score, c2st, err) in spec.items():
            for r in (1, 2, 3):
                jitter = 1 + 0.05 * rng.standard_normal(2)
                ate += [
                    {"dataset": d, "generator": g, "rep": r, "ate": 1 + err * jitter[0], "real_ate": 1.0},
                    {
                        "dataset": d,
                        "generator": "hybrid_" + g,
                        "rep": r,
                        "ate": 1 + 0.05 * jitter[1],
                        "real_ate": 1.0,
                    },
                ]
                tstr.append(
                    {
                        "dataset": d,
                        "generator": g,
                        "rep": r,
                        "metric": "auc",
                        "value": score + 0.003 * rng.standard_normal(),
                        "train_on_real": 0.80,
                        "status": "ok",
                    }
                )
                fid.append(
                    {
                        "dataset": d,
                        "generator": g,
                        "rep": r,
                        "metric": "c2st_auc",
                        "value": c2st + 0.005 * rng.standard_normal(),
                        "real_value": 0.5,
                        "status": "ok",
                    }
                )
    return ate_frame(ate), pd.DataFrame(tstr), pd.DataFrame(fid)


def test_claim_a_counts_only_pairs_that_meet_its_premise():
    ate, tstr, fid = _fidelity_tables()
    c = findings.claim_fidelity_vs_effect(ate, tstr, fid)
    body = c.body[0]
    rows = {
        (r.split("|")[1].strip(), r.split("|")[2].strip()): [x.strip() for x in r.split("|")[-4:-1]]
        for r in body.splitlines()[2:]
    }
    for d in ("d1", "d2", "d3"):
        # far, pair (TSTR-only), pair (strict)
        assert rows[("ctgan", d)] == ["holds", "holds", findings.PREMISE_NOT_MET]  # bad C2ST: never "fails"
        assert rows[("tvae", d)] == ["holds", findings.PREMISE_NOT_MET, findings.PREMISE_NOT_MET]  # bad TSTR
        assert rows[("gaussian_copula", d)] == ["fails", "fails", "fails"]  # premise met, error near
    # TSTR-only: y = log((e(ctgan) + e(gc)) / (e(hybrid_ctgan) + e(hybrid_gc))), about 0.55 / 0.1
    assert c.primary.shown_interval.estimate == pytest.approx(5.5, rel=0.05)
    assert c.verdict == findings.SUPPORTED
    # strict: gaussian_copula alone, error ratio about 1, decidedly below the null 2
    (_, strict), *_ = c.readings
    assert strict.shown_interval.estimate == pytest.approx(1.0, rel=0.05)
    assert strict.p < 0.05 and not strict.on_paper_side and not strict.in_family
    # tvae never enters: without the others, the premise is met nowhere
    only_tvae = ate[ate["generator"].isin(["tvae", "hybrid_tvae"])]
    c = findings.claim_fidelity_vs_effect(only_tvae, tstr[tstr["generator"] == "tvae"])
    assert c.verdict == findings.NOT_TESTABLE and "premise is met nowhere" in c.primary.reason
    assert c.evidence.n_decided == 0 and c.evidence.n_undecided == 0


# --------------------------------------------------------------------------- claim (c)


def _llm_table(great_reps: int) -> pd.DataFrame:
    """3 datasets x 3 replicates. A replicate's draw scales both hybrids' errors alike (0.2, 1,
    5: they share its data and mechanisms); GReaT's is 0.6 of CTGAN's, give or take 5%."""
    rng = np.random.default_rng(3)
    rows = []
    for d, s in (("d1", 1.0), ("d2", 10.0), ("d3", 100.0)):
        for r, f in zip((1, 2, 3), (0.2, 1.0, 5.0), strict=True):
            e = 0.1 * s * f
            rows.append({"dataset": d, "generator": "hybrid_ctgan", "rep": r, "ate": s + e, "real_ate": s})
            if r <= great_reps:
                g = 0.6 * e * math.exp(0.05 * rng.standard_normal())
                rows.append(
                    {"dataset": d, "generator": "hybrid_great", "rep": r, "ate": s + g, "real_ate": s}
                )
    return ate_frame(rows)


def test_claim_c_is_paired_by_replicate():
    table = _llm_table(great_reps=3)
    c = findings.claim_llm_vs_ctgan(table)
    assert c.verdict == findings.SUPPORTED
    assert c.primary.shown_interval.estimate == pytest.approx(0.6, rel=0.05)
    # as independent samples, each dataset's replicates spread over a factor 25 and Welch's
    # interval of the log errors contains 0: undecided, where the pairs decide
    errs = preservation_errors(table)
    for d, e in errs.groupby("dataset"):
        great = np.log(e.loc[e["generator"] == "hybrid_great", "error"])
        ctgan = np.log(e.loc[e["generator"] == "hybrid_ctgan", "error"])
        assert u.decide(u.welch_interval(great, ctgan), 0.0) == u.UNDECIDED, d


def test_claim_c_with_one_great_replicate_is_not_testable(tmp_path):
    c = findings.claim_llm_vs_ctgan(_llm_table(great_reps=1))
    assert c.verdict == findings.NOT_TESTABLE
    assert c.primary.reason == "GReaT has 1 replicate; 2 or more paired with hybrid_ctgan would test it."
    assert (
        "**Verdict: not testable at this configuration.** GReaT has 1 replicate; 2 or more paired "
        "with hybrid_ctgan would test it." in c.to_markdown()
    )
