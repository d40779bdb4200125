"""The HTML report's front page: what the run is, what it ran on, each claim's headline, and
where to look next. Written by the findings rule beside findings.md, in reStructuredText (the
format of Snakemake's ``report:`` page), from the same tables and claims."""

from __future__ import annotations

import os

import pandas as pd

from causalsynth.core.io import write_text
from causalsynth.core.vocabulary import NOT_ASSESSED, NOT_RELEASABLE, REAL, RELEASABLE
from causalsynth.report.common import generator_group, order_generators, release_verdicts
from causalsynth.report.findings.format import fmt, fmt_p
from causalsynth.report.findings.verdicts import Claim

TITLE = "causalsynth: does synthetic tabular data keep the average treatment effect?"


def _rst_list(items: list[str]) -> str:
    return "\n".join(f"- {i}" for i in items) if items else "- none"


def _datasets(ate: pd.DataFrame) -> list[str]:
    if ate.empty:
        return []
    rows = []
    for d, sub in ate.groupby("dataset", sort=True):
        kind = sub["truth_kind"].dropna().astype(str)
        reps = pd.to_numeric(sub["rep"], errors="coerce")
        n_reps = int(reps[reps > 0].nunique())
        truth = f"truth {kind.iloc[0]}" if len(kind) else "no truth"
        rows.append(f"``{d}``: {truth}, {n_reps} replicate(s), each its own draw of the data")
    return rows


def _headline(c: Claim) -> str:
    t = c.primary
    if t is None or not t.testable:
        why = t.reason if t is not None and t.reason else c.headline
        return f"**({c.key}) {c.title}**: {c.verdict}. {why}".strip()
    iv = t.shown_interval
    return (
        f"**({c.key}) {c.title}**: {c.verdict}. {t.label[:1].upper()}{t.label[1:]} "
        f"{fmt(iv.estimate, 3)} [{fmt(iv.low, 3)}, {fmt(iv.high, 3)}], Holm p {fmt_p(t.p_holm)}."
    )


def _release(privacy: pd.DataFrame | None) -> list[str]:
    """The release gate's verdicts on the sets offered for release, by verdict and dataset."""
    verdicts = release_verdicts(privacy if privacy is not None else pd.DataFrame())
    offered = verdicts[verdicts["set"] == "filtered"]
    if offered.empty:
        return ["no set was gated in this run (the privacy table has no verdicts)"]
    n_ok = int((offered["releasable"].astype(str) == RELEASABLE).sum())
    rows = [
        f"{len(offered)} set(s) offered for release (each base's DCR-filtered set, each hybrid): {n_ok} releasable"
    ]
    for verdict, label in ((NOT_RELEASABLE, "not releasable"), (NOT_ASSESSED, "not assessed")):
        held = offered[offered["releasable"].astype(str) == verdict]
        named = [
            f"``{g}`` in ``{d}`` (replicate {', '.join(str(int(r)) for r in sorted(sub['rep']))})"
            for d, by_d in held.groupby("dataset", sort=True)
            for g in order_generators(by_d["generator"])
            for sub in [by_d[by_d["generator"] == g]]
        ]
        rows.append(f"{label}: {len(held)}" + (f": {'; '.join(named)}" if named else ""))
    return rows


def front_page(ate: pd.DataFrame, claims: list[Claim], privacy: pd.DataFrame | None = None) -> str:
    """The front page's reStructuredText for a run's ATE table, tested claims and, when given,
    the privacy table's release verdicts."""
    generators = order_generators(ate["generator"]) if not ate.empty else []
    generative = [f"``{g}``" for g in generators if generator_group(g) == "fully generative"]
    hybrids = [f"``{g}``" for g in generators if generator_group(g) == "hybrid"]
    estimators = sorted(ate["estimator"].dropna().astype(str).unique()) if not ate.empty else []
    parts = [
        f"{TITLE}\n{'=' * len(TITLE)}",
        "This run makes synthetic versions of each dataset below with every generator, estimates "
        "the average treatment effect (ATE) on each with the same estimators as on the real rows, "
        "and tests the papers' claims (Kim, Xu and Lin, arXiv 2511.00318; Xu, arXiv 2604.23904). "
        "Hybrid generators synthesize only the covariates and draw treatment and outcome from "
        "models learned on the real rows.",
        "Datasets\n--------",
        _rst_list(_datasets(ate)),
        "Generators\n----------",
        _rst_list(
            [
                f"fully generative: {', '.join(generative) or 'none'}",
                f"hybrid: {', '.join(hybrids) or 'none'}",
                f"estimators: {', '.join(f'``{e}``' for e in estimators) or 'none'}",
            ]
        ),
        "Release gate\n------------",
        "A set whose measured attack risk is over a threshold of ``privacy.release`` is written "
        "but not releasable (table ``privacy``, columns ``releasable`` and ``release_reason``; "
        "``findings.md`` says why for each).",
        _rst_list(_release(privacy)),
        "The claims\n----------",
        "Each claim's verdict comes from one pre-specified primary test over replicates, with "
        "Holm's correction over the claims at family-wise 0.05.",
        _rst_list([_headline(c) for c in claims]),
        "Where to look next\n------------------",
        _rst_list(
            [
                "**Findings** (``findings.md``): each claim's test, its power, the replicates that would "
                "decide it, and the per-pair tables.",
                "**Tables**: ``ate_preservation`` (every estimate beside the real rows' and the truth), "
                "``tstr``, ``fidelity``, ``dcr``, ``privacy``, ``positivity``, ``engine``, "
                "``engine_ranking``, ``inferential_utility``.",
                "**Figures**: the ATE by generator, fidelity against effect error, the engine's "
                "ranking, privacy risk, and the run's time per rule.",
                f"The real-data rows (generator ``{REAL}``) are the reference each synthetic set "
                "is compared with, replicate by replicate.",
            ]
        ),
    ]
    return "\n\n".join(parts) + "\n"


def write_front_page(
    ate: pd.DataFrame, claims: list[Claim], out_rst: str | os.PathLike, privacy: pd.DataFrame | None = None
) -> None:
    write_text(front_page(ate, claims, privacy), out_rst)
