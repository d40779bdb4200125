"""The paper's claims, tested against this run's result tables and written as Markdown.

`write_findings(tables_dir, out_md)` is the entry point. Each claim has one pre-specified
primary test (`primary`), Holm-adjusted over the claims a run can test, and its verdict comes
from that test alone; the per-pair tables below it are secondary descriptions. A claim whose
data this run did not produce is "not tested in this run"; one whose design cannot run its test
(one replicate, one dataset) is "not testable at this configuration", with what would make it so.
"""

from __future__ import annotations

import os

import pandas as pd

from causalsynth.core.io import write_text
from causalsynth.core.uncertainty import LEVEL
from causalsynth.core.vocabulary import (
    TABLES,
    deduplicate_real,
    find_table,
    read_table,
    without_reference_learners,
)
from causalsynth.report.findings.cells import (
    CELL_ORDER,
    PRIMARY_ESTIMATOR,
    AteCells,
    merges_text,
    preservation_errors,
)
from causalsynth.report.findings.effect import claim_hybrid_beats_generative, claim_llm_vs_ctgan
from causalsynth.report.findings.fidelity import (
    C2ST_AUC_MAX,
    FAR_ERROR_RATIO,
    PREMISE_NOT_MET,
    SHAPE_GAP_MAX,
    TSTR_GAP_MAX,
    claim_fidelity_vs_effect,
)
from causalsynth.report.findings.format import fmt, fmt_p, md_table, pct
from causalsynth.report.findings.methods import SPEARMAN_AGREES, claim_engine, claim_pairing
from causalsynth.report.findings.paper import paper_section
from causalsynth.report.findings.primary import (
    ALPHA,
    POWER,
    PrimaryTest,
    apply_holm,
    holm,
    stratified_t,
    z_test,
)
from causalsynth.report.findings.privacy import (
    DCR_EXACT_COPY_COLUMN,
    DCR_HOLDOUT_EXACT_COLUMN,
    DCR_NEAR_COPY_COLUMN,
    DCR_RECORD_EXACT_COLUMN,
    EXACT_COPY_EXCESS_MAX,
    NEAR_COPY_MAX,
    PRIVACY_RISK_MARGIN,
    claim_dcr,
    claim_privacy,
    release_section,
)
from causalsynth.report.findings.verdicts import (
    CONTRADICTED,
    INCONCLUSIVE,
    NOT_TESTABLE,
    NOT_TESTED,
    SUPPORTED,
    Claim,
    Evidence,
)
from causalsynth.report.paper.comparison import read_comparison

__all__ = [
    "ALPHA",
    "CELL_ORDER",
    "C2ST_AUC_MAX",
    "CONTRADICTED",
    "DCR_EXACT_COPY_COLUMN",
    "DCR_HOLDOUT_EXACT_COLUMN",
    "DCR_NEAR_COPY_COLUMN",
    "DCR_RECORD_EXACT_COLUMN",
    "EXACT_COPY_EXCESS_MAX",
    "FAR_ERROR_RATIO",
    "INCONCLUSIVE",
    "NEAR_COPY_MAX",
    "NOT_TESTABLE",
    "NOT_TESTED",
    "PREMISE_NOT_MET",
    "PRIVACY_RISK_MARGIN",
    "SHAPE_GAP_MAX",
    "SPEARMAN_AGREES",
    "SUPPORTED",
    "TSTR_GAP_MAX",
    "Claim",
    "Evidence",
    "PrimaryTest",
    "apply_holm",
    "build_findings",
    "claim_dcr",
    "claim_engine",
    "claim_fidelity_vs_effect",
    "claim_hybrid_beats_generative",
    "claim_llm_vs_ctgan",
    "claim_pairing",
    "claim_privacy",
    "failed_cells",
    "holm",
    "preservation_errors",
    "release_section",
    "stratified_t",
    "write_findings",
    "z_test",
]


def failed_cells(ate: pd.DataFrame, positivity: pd.DataFrame) -> str:
    """Counts of cells whose status is not "ok", by table, generator or method, and reason."""
    lines = ["## Failed cells", ""]
    for name, df, by in (("ate_preservation", ate, "generator"), ("positivity", positivity, "method")):
        if df.empty:
            lines.append(f"- `{name}`: no rows in this run.")
            continue
        status = df["status"].astype(str)
        n_fail = int((status != "ok").sum())
        lines.append(f"- `{name}`: {n_fail} of {len(df)} cells failed ({pct(n_fail / len(df))}).")
        if n_fail:
            counts = (
                df.loc[status != "ok"]
                .assign(reason=status[status != "ok"])
                .groupby([by, "reason"])
                .size()
                .rename("cells")
                .reset_index()
            )
            lines += ["", md_table(counts), ""]
    return "\n".join(lines).rstrip()


def _how(claims: list[Claim], cells: AteCells) -> str:
    family = [f"({c.key})" for c in claims if c.primary is not None and c.primary.testable]
    learner = (
        f"{PRIMARY_ESTIMATOR.upper()} with learner `{cells.learner}` (the grid's learner with the most "
        f"ok AIPW rows, ties by name)"
        if cells.learner is not None
        else f"{PRIMARY_ESTIMATOR.upper()} with the grid's learner; this run has none"
    )
    n_sets = int(cells.errors[["dataset", "generator"]].drop_duplicates().shape[0])
    return "\n\n".join(
        [
            "## How the claims are tested",
            "Replicates are independent draws: replicate r of a simulated dataset is a fresh sample, of a "
            "real dataset a fresh train/holdout split, and every generator and its hybrid in replicate r "
            "share its real training rows and estimation seed. Each claim has one pre-specified primary "
            "test, and it alone gives the verdict; the tables under 'Secondary' describe and do not decide.",
            "A primary test reduces replicate r of dataset d to one value y[d, r] and runs a stratified t "
            "test: the estimate is the mean over datasets of each dataset's mean over its replicates, its "
            "variance (1/D²) sum_d s_d²/n_d, its degrees of freedom Welch-Satterthwaite's. A dataset with "
            "fewer than 2 replicates has no variance and is left out; with fewer than 2 datasets left the "
            "claim is not testable at this configuration. The test is conditional on this run's datasets: "
            "it generalises to new samples of them, not to new datasets; with 3 or more datasets the "
            "across-dataset t test on the per-dataset means (the random-effects reading) is printed as a "
            "secondary line. p-values are two-sided against the claim's null value.",
            f"Multiplicity: Holm's step-down over the {len(family)} testable primary tests "
            f"({', '.join(family) or 'none'}; claim (a) in its TSTR-only reading), family-wise error "
            f"{ALPHA:g}; each test shows its raw and its Holm-adjusted p. Verdict: supported when the "
            f"Holm-adjusted p is below {ALPHA:g} and the estimate lies on the paper's side of the null, "
            f"contradicted when it is below {ALPHA:g} on the other side, inconclusive otherwise.",
            f"Power: the detectable difference is (t(1 - alpha_k/2, df) + t({POWER:g}, df)) x SE with "
            f"alpha_k = {ALPHA:g}/m, Holm's first and strictest step (the worst case), shown on the claim's "
            f"scale (a ratio for log-scale tests). Replicates to decide: ceil(R x ((t + t) x SE / "
            f"|estimate - null|)²), the replicates per dataset that would detect the observed distance from "
            f"the null with {POWER:.0%} power (the SE scales as 1/sqrt(R); df held at this run's); '–' "
            f"when the estimate equals the null.",
            f"Errors: the preservation error of a synthetic ATE cell is |ate - real_ate|, real_ate being the "
            f"same estimator and learner on the real training rows of the same replicate, so it isolates "
            f"the generator from the estimator's and the real sample's own error; |ate - truth| is shown "
            f"beside it in the secondary tables where the truth is exact (simulated datasets). Primary "
            f"estimator cell: {learner}. {merges_text(cells.merges, n_sets)} Only cells with status `ok` "
            f"enter the numbers; every interval is {LEVEL:.0%}.",
        ]
    )


def _summary(claims: list[Claim]) -> pd.DataFrame:
    def cell(c: Claim, f) -> str:
        return f(c.primary) if c.primary is not None and c.primary.testable else "–"

    def estimate(t: PrimaryTest) -> str:
        iv = t.shown_interval
        if not t.testable:
            return f"not testable: {t.reason}"
        return f"{t.label} {fmt(iv.estimate, 3)} [{fmt(iv.low, 3)}, {fmt(iv.high, 3)}]"

    return pd.DataFrame(
        {
            "claim": [f"({c.key}) {c.title}" for c in claims],
            "verdict": [c.verdict for c in claims],
            f"primary estimate [{LEVEL:.0%} CI]": [
                estimate(c.primary) if c.primary is not None else "–" for c in claims
            ],
            "raw p": [cell(c, lambda t: fmt_p(t.p)) for c in claims],
            "Holm p": [cell(c, lambda t: fmt_p(t.p_holm)) for c in claims],
            "detectable difference": [cell(c, lambda t: t.detectable()) for c in claims],
            "replicates to decide": [cell(c, lambda t: t.to_decide()) for c in claims],
        }
    )


def build_findings(tables_dir: str | os.PathLike) -> tuple[str, list[Claim]]:
    """The findings document as Markdown, and the claims with their verdicts."""
    tables = {name: read_table(tables_dir, name) for name in TABLES}
    ate = without_reference_learners(deduplicate_real(tables["ate_preservation"]))
    absent = [name for name in TABLES if find_table(tables_dir, name) is None]
    claims = [
        claim_fidelity_vs_effect(ate, tables["tstr"], tables["fidelity"]),
        claim_hybrid_beats_generative(ate),
        claim_llm_vs_ctgan(ate),
        claim_pairing(tables["positivity"]),
        claim_engine(tables["engine"], tables["engine_ranking"]),
        claim_dcr(tables["dcr"]),
        claim_privacy(tables["privacy"]),
    ]
    apply_holm(
        [c.primary for c in claims if c.primary is not None] + [t for c in claims for _, t in c.readings]
    )
    for c in claims:
        c.settle()
    by_verdict = {v: [f"({c.key})" for c in claims if c.verdict == v] for v in (CONTRADICTED, INCONCLUSIVE)}
    untestable = [f"({c.key})" for c in claims if c.verdict == NOT_TESTABLE]
    parts = [
        "# Findings of this run",
        "Generated by `causalsynth.report.findings.write_findings` from the result tables; do not edit by "
        "hand. Each claim of the papers (Kim, Xu and Lin, arXiv 2511.00318; Xu, arXiv 2604.23904) "
        "is tested by the pre-specified primary test stated with it.",
        "Tables read: "
        + ", ".join(f"`{n}` ({len(tables[n])} rows)" for n in TABLES if n not in absent)
        + (f". Absent: {', '.join(f'`{n}`' for n in absent)}." if absent else "."),
        (
            f"**This run contradicts the paper on claim(s) {', '.join(by_verdict[CONTRADICTED])}.**"
            if by_verdict[CONTRADICTED]
            else "This run contradicts none of the claims it tests."
        )
        + (
            f" Inconclusive (the primary test does not reject at the family-wise level): "
            f"{', '.join(by_verdict[INCONCLUSIVE])}."
            if by_verdict[INCONCLUSIVE]
            else ""
        )
        + (f" Not testable at this configuration: {', '.join(untestable)}." if untestable else ""),
        _how(claims, AteCells.of(ate)),
        "## Summary",
        md_table(_summary(claims)),
        failed_cells(ate, tables["positivity"]),
        *(c.to_markdown() for c in claims),
        release_section(tables["privacy"]),
        paper_section(read_comparison(tables_dir)),
    ]
    return "\n\n".join(parts) + "\n", claims


def write_findings(
    tables_dir: str | os.PathLike, out_md: str | os.PathLike, out_front_page: str | os.PathLike | None = None
) -> list[Claim]:
    """Write `out_md` (e.g. results/findings.md) from the tables in `tables_dir` and, when given,
    the report's front page `out_front_page` with each claim's headline; return the claims."""
    from causalsynth.report.front_page import write_front_page

    text, claims = build_findings(tables_dir)
    write_text(text, out_md)
    if out_front_page is not None:
        ate = without_reference_learners(deduplicate_real(read_table(tables_dir, "ate_preservation")))
        write_front_page(ate, claims, out_front_page, read_table(tables_dir, "privacy"))
    return claims
