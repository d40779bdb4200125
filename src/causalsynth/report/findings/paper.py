"""The findings' section "Beside the papers": where this run agrees with the papers' numbers,
where it does not and why where known, read from `results/tables/paper_comparison.csv`
(report/paper/comparison.py decides each row; this module only reports)."""

from __future__ import annotations

import pandas as pd

from causalsynth.core.uncertainty import UNDECIDED
from causalsynth.core.vocabulary import PAPER_COMPARISON
from causalsynth.report.findings.format import fmt, md_table
from causalsynth.report.paper.comparison import AGREES, DISAGREES, comparison_summary
from causalsynth.report.paper.numbers import STEAM
from causalsynth.report.paper.settings import PAPERS_SETTINGS_TEXT

TITLE = "## Beside the papers"
STEAM_TITLE = "### STEAM's ACTG 175 numbers beside the fidelity table"
SHOWN = 8  # settings differences named here; the table names each row's


def paper_section(comparison: pd.DataFrame | None) -> str:
    if comparison is None:
        return f"{TITLE}\n\nNo `{PAPER_COMPARISON}` table in this run (rule `paper_figures`)."
    steam = comparison["paper"] == STEAM
    return _papers(comparison[~steam]) + "\n\n" + _steam(comparison[steam])


def _papers(comparison: pd.DataFrame) -> str:
    counts = comparison_summary(comparison)
    differ = list(
        dict.fromkeys(
            item
            for text in comparison["settings"].astype(str)
            if text.startswith("differ: ")
            for item in text.removeprefix("differ: ").split("; ")
        )
    )
    lines = [
        TITLE,
        f"`results/tables/{PAPER_COMPARISON}.csv` sets each of the papers' {counts['rows']} numbers "
        "(`report/paper/paper_numbers.csv`, recomputed from the authors' committed data) beside this run's: "
        "the mean over replicates with its interval, the difference with an interval that carries the noise "
        "of both sides (a paper number from one synthetic set is one draw from the run's spread), and a "
        f"verdict. **{AGREES}**: the difference lies within the quantity's tolerance; **{DISAGREES}**: "
        f"beyond it; **{UNDECIDED}**: neither, the run lacks the number, or its settings in the number's "
        "scope are not the papers'. The papers' figures are redrawn beside this run's "
        "(`paper_dcr`, `paper_ate_by_baseline`, `paper_engine`).",
        (
            f"Settings: {PAPERS_SETTINGS_TEXT}"
            if not differ
            else "Settings: **this run's are not the papers'** in some scopes, so the numbers there are shown "
            "but not judged: "
            + "; ".join(differ[:SHOWN])
            + (f"; and {len(differ) - SHOWN} more (column `settings`)" if len(differ) > SHOWN else "")
            + "."
        ),
        f"Verdicts: {counts[AGREES]} agree, {counts[DISAGREES]} disagree, {counts[UNDECIDED]} undecided "
        f"({counts['missing']} of them numbers this run does not have).",
        "### Where this run agrees with the papers",
        _rows(comparison[comparison["agrees"] == AGREES], with_note=False),
        "### Where it does not, and why where known",
        _rows(comparison[comparison["agrees"] == DISAGREES], with_note=True),
        "### Undecided",
        _undecided(comparison[comparison["agrees"] == UNDECIDED]),
    ]
    return "\n\n".join(lines)


def _steam(rows: pd.DataFrame) -> str:
    """STEAM's ACTG 175 numbers beside the fidelity table's, never judged (comparison.VARIANTS)."""
    lines = [STEAM_TITLE]
    if rows.empty:
        return "\n\n".join([*lines, "_(no STEAM numbers in the comparison table)_"])
    have = rows[rows["missing"].astype(str) == ""]
    if have.empty:
        lines.append(
            f"This run has none of STEAM's sets ({rows['missing'].iloc[0]}). Its design is the dataset "
            "`actg175_steam`: `snakemake --cores 2 --configfile config/steam_actg.yaml` runs CTGAN on it "
            "over ten replicates, as STEAM's ten runs."
        )
        return "\n\n".join(lines)
    lines.append(
        "STEAM (NeurIPS 2025) reports its generic CTGAN on ACTG 175 in its own design (`actg175_steam`: "
        "arm 2 vs arm 0, the change in CD4 count); the fidelity table's values of this run's CTGAN sets "
        "stand beside them. They are shown, not judged: the implementations differ (why, per row)."
    )
    lines.append(_rows(have, with_note=True))
    return "\n\n".join(lines)


def _rows(df: pd.DataFrame, with_note: bool) -> str:
    if df.empty:
        return "_(none)_"
    shown = pd.DataFrame(
        {
            "paper figure": df["paper_figure"],
            "set": df["set"],
            "estimator": df["estimator"].replace("", "–"),
            "quantity": df["quantity"],
            "paper": df["paper_value"].map(lambda v: fmt(v, 4)),
            "this run [95% CI]": [
                f"{fmt(m, 4)} [{fmt(lo, 4)}, {fmt(hi, 4)}]"
                for m, lo, hi in zip(df["this_run"], df["run_low"], df["run_high"], strict=True)
            ],
            "difference [interval]": [
                f"{fmt(d, 3)} [{fmt(lo, 3)}, {fmt(hi, 3)}]"
                for d, lo, hi in zip(df["difference"], df["diff_low"], df["diff_high"], strict=True)
            ],
        }
    )
    if with_note:
        shown["why (where known)"] = df["note"].replace("", "–").to_numpy()
    return md_table(shown)


def _undecided(df: pd.DataFrame) -> str:
    if df.empty:
        return "_(none)_"
    missing = df["missing"].astype(str)
    settings = df["settings"].astype(str).str.startswith("differ")
    lacking = df[missing != ""]
    out = [
        f"- {int((missing == '').sum() - (settings & (missing == '')).sum())} numbers whose interval straddles a "
        "tolerance bound (more replicates narrow it; one replicate gives none).",
        f"- {int((settings & (missing == '')).sum())} numbers measured under settings that are not the papers'.",
        f"- {len(lacking)} numbers this run does not have:",
    ]
    for reason, grp in lacking.groupby("missing", sort=False):
        out.append(f"  - {reason} ({len(grp)})")
    return "\n".join(out)
