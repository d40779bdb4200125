"""Claims (f) and (g): synthetic rows are not copies of real rows, and the hybrid release
carries no more attack risk than its base's screened set; and the release gate's verdicts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from causalsynth.core.uncertainty import FAILS, HOLDS, combine_all, decide, mean_interval
from causalsynth.core.vocabulary import HYBRID_PREFIX, NOT_ASSESSED, NOT_RELEASABLE, REAL, RELEASABLE
from causalsynth.report.common import (
    attack_risk,
    generator_group,
    order_generators,
    refused,
    release_verdicts,
)
from causalsynth.report.findings.format import ci, md_table, n_unique, pct
from causalsynth.report.findings.primary import PrimaryTest, stratified_t
from causalsynth.report.findings.verdicts import Claim

# Fields of the `dcr` table (the flattened scalars of each dcr.json, see
# causalsynth.privacy.dcr_summary) used by claim (f), all fractions of rows before filtering.
DCR_EXACT_COPY_COLUMN = "covariates_share_exact_copies"
DCR_HOLDOUT_EXACT_COLUMN = "covariates_holdout_share_exact_copies"
DCR_NEAR_COPY_COLUMN = "covariates_share_closer_than_holdout_p05"
DCR_RECORD_EXACT_COLUMN = "record_share_exact_copies"  # whole rows (W, A, Y); absent for covariate-only sets
HOLDOUT_NEAR_SHARE = 0.05  # by construction: the holdout's own share below its 5th percentile
EXACT_COPY_EXCESS_MAX = 0.01  # exact copies beyond the holdout's own rate (discrete data repeats)
NEAR_COPY_MAX = 2 * HOLDOUT_NEAR_SHARE
# How much more attack risk a hybrid release may carry than its base's filtered set before the
# claim fails, in units of anonymeter's risk (0 none, 1 every record).
PRIVACY_RISK_MARGIN = 0.05


def claim_dcr(dcr: pd.DataFrame) -> Claim:
    claim = Claim(
        "f",
        "Synthetic rows are not copies of real rows",
        "Synthetic data can stand in for real data only if it does not copy real training rows; "
        "the distance to closest record (DCR) screen flags rows far closer to the training data "
        "than real holdout rows are (near-copies).",
        f"y[d, r] = the mean, over the counted generators (all but real and hybrid_real, which "
        f"reuses the real covariates by design) in replicate r of dataset d, of the share of "
        f"near-copies among the unfiltered synthetic covariates: rows closer to a training row than "
        f"the real holdout's 5th DCR percentile (a generator as close as unseen real rows has about "
        f"{pct(HOLDOUT_NEAR_SHARE)}). Null {pct(NEAR_COPY_MAX)}; the paper's side: below.",
        "(generator, dataset) pair",
        f"Per pair: the excess of exact copies over the real holdout's own share (rows repeat in "
        f"discrete data) below {EXACT_COPY_EXCESS_MAX * 100:g} percentage point and the near-copy "
        f"share below {pct(NEAR_COPY_MAX)}; holds when both intervals are below their limits, fails "
        f"when either lies above. hybrid_real is shown, not counted.",
    )
    needed = (DCR_EXACT_COPY_COLUMN, DCR_HOLDOUT_EXACT_COLUMN, DCR_NEAR_COPY_COLUMN)
    missing = [c for c in needed if c not in dcr.columns]
    if dcr.empty or missing:
        claim.headline = (
            "The dcr table is absent or empty." if dcr.empty else f"The dcr table lacks column(s) {missing}."
        )
        return claim
    cols = [*needed, *([DCR_RECORD_EXACT_COLUMN] if DCR_RECORD_EXACT_COLUMN in dcr.columns else [])]
    values = (
        dcr[cols]
        .apply(pd.to_numeric, errors="coerce")
        .assign(generator=dcr["generator"].astype(str), dataset=dcr["dataset"].astype(str), rep=dcr["rep"])
    )
    values["excess"] = values[DCR_EXACT_COPY_COLUMN] - values[DCR_HOLDOUT_EXACT_COLUMN].fillna(0.0)
    counted_sets = values[~values["generator"].isin([REAL, HYBRID_PREFIX + REAL])]
    if counted_sets.empty:
        claim.headline = "No generator with DCR results to count (hybrid_real reuses real rows by design)."
    else:
        y = counted_sets.groupby(["dataset", "rep"], as_index=False)[DCR_NEAR_COPY_COLUMN].mean()
        claim.primary = stratified_t(
            y.rename(columns={DCR_NEAR_COPY_COLUMN: "y"}),
            PrimaryTest("mean near-copy share", NEAR_COPY_MAX, "below"),
            "2 or more replicates of the DCR screen, on 2 or more datasets, would test it.",
        )
        claim.settle()
    rank = {g: i for i, g in enumerate(order_generators(values["generator"]))}
    rows = []
    for (g, d), v in sorted(
        values.groupby(["generator", "dataset"]), key=lambda kv: (rank[kv[0][0]], kv[0][1])
    ):
        excess = mean_interval(v["excess"]).clip(-1.0, 1.0)
        near = mean_interval(v[DCR_NEAR_COPY_COLUMN]).clip(0.0, 1.0)
        counted = g not in (REAL, HYBRID_PREFIX + REAL) and bool(
            np.isfinite(excess.estimate) and np.isfinite(near.estimate)
        )
        decision = combine_all(
            [
                decide(excess, EXACT_COPY_EXCESS_MAX, holds_above=False),
                decide(near, NEAR_COPY_MAX, holds_above=False),
            ]
        )
        row = {
            "generator": g,
            "dataset": d,
            "reps": n_unique(v["rep"]),
            "exact copies": pct(v[DCR_EXACT_COPY_COLUMN].mean()),
            "holdout exact copies": pct(v[DCR_HOLDOUT_EXACT_COLUMN].mean()),
            "excess [CI]": ci(excess, as_pct=True),
            "near-copies [CI]": ci(near, as_pct=True),
            "counted": counted,
            "within limits": decision if counted else "–",
        }
        if DCR_RECORD_EXACT_COLUMN in v.columns:
            row["whole-record copies"] = pct(v[DCR_RECORD_EXACT_COLUMN].mean())
        rows.append(row)
    table = pd.DataFrame(rows)
    if "whole-record copies" in table.columns:
        table.insert(4, "whole-record copies", table.pop("whole-record copies"))
    counted = table[table["counted"]]
    if len(counted):
        claim.judge(counted.rename(columns={"within limits": "decision"}))
        failing = order_generators(counted.loc[counted["within limits"] == FAILS, "generator"])
        claim.headline = f"Generators decidedly over a limit on some dataset: {', '.join(failing) or 'none'}."
    claim.body.append(md_table(table))
    return claim


def claim_privacy(privacy: pd.DataFrame) -> Claim:
    claim = Claim(
        "g",
        "The hybrid release carries no more attack risk than its base",
        "The papers release synthetic data once a DCR screen has passed it, and the hybrid keeps "
        "only the screened synthetic covariates of its base, drawing treatment and outcome from "
        "models; it should then reveal no more about the training rows than the base's screened "
        "set. DCR is a screen, not a guarantee, so the risk is measured by attacks.",
        f"Attack risk of a set: the worst of anonymeter's singling-out, linkability and inference "
        f"risks (each the success on training rows in excess of that on the real holdout). y[d, r] "
        f"= the mean, over the base generators b with both hybrid_b and b's DCR-filtered set "
        f"attacked in replicate r of dataset d, of (hybrid_b's risk - b's filtered set's risk). "
        f"Null {PRIVACY_RISK_MARGIN:g}; the paper's side: below (the hybrid adds less than "
        f"{PRIVACY_RISK_MARGIN:g} risk).",
        "(base, dataset) pair",
        f"Per pair: the paired difference over replicates, hybrid_b minus b's filtered set, holds "
        f"below {PRIVACY_RISK_MARGIN:g} and fails above it. The filter's own effect (b's filtered "
        f"minus unfiltered set) is shown beside it and not counted.",
    )
    risk = attack_risk(privacy)
    if risk.empty:
        claim.headline = "The privacy table is absent or has no ok attack risk."
        return claim
    risk = risk.assign(rep=pd.to_numeric(risk["rep"]))
    filtered = risk[risk["set"] == "filtered"]
    rows, diffs = [], []
    bases = order_generators(g for g in risk["generator"] if generator_group(g) == "fully generative")
    for b in bases:
        hybrid = HYBRID_PREFIX + b
        for d in sorted(risk.loc[risk["generator"] == b, "dataset"].unique()):
            base_f = filtered[(filtered["generator"] == b) & (filtered["dataset"] == d)]
            base_u = risk[(risk["generator"] == b) & (risk["dataset"] == d) & (risk["set"] == "unfiltered")]
            hyb = filtered[(filtered["generator"] == hybrid) & (filtered["dataset"] == d)]
            paired = hyb.merge(base_f, on="rep", suffixes=("_h", "_b"))
            filt = base_f.merge(base_u, on="rep", suffixes=("_f", "_u"))
            diffs.append(
                pd.DataFrame({"dataset": d, "rep": paired["rep"], "y": paired["risk_h"] - paired["risk_b"]})
            )
            diff = mean_interval(paired["risk_h"] - paired["risk_b"])
            buys = mean_interval(filt["risk_f"] - filt["risk_u"])
            eps = pd.concat([base_f["epsilon"], hyb["epsilon"]]).dropna()
            rows.append(
                {
                    "base": b,
                    "dataset": d,
                    "reps": n_unique(paired["rep"]),
                    "epsilon": eps.max() if len(eps) else None,
                    "unfiltered risk": ci(mean_interval(base_u["risk"]).clip(0.0, 1.0)),
                    "filtered risk": ci(mean_interval(base_f["risk"]).clip(0.0, 1.0)),
                    "hybrid risk": ci(mean_interval(hyb["risk"]).clip(0.0, 1.0)),
                    "hybrid - filtered [CI]": ci(diff),
                    "no more risk": decide(diff, PRIVACY_RISK_MARGIN, holds_above=False)
                    if len(paired)
                    else "not tested",
                    "filtered - unfiltered [CI]": ci(buys),
                    "filter lowers risk": decide(buys, 0.0, holds_above=False) if len(filt) else "–",
                }
            )
    table = pd.DataFrame(rows)
    tested = table[table["no more risk"] != "not tested"] if len(table) else table
    if tested.empty:
        claim.headline = "No base generator has both its filtered set and its hybrid attacked."
        if len(table):
            claim.body.append(md_table(table))
        return claim
    y = pd.concat(diffs, ignore_index=True).groupby(["dataset", "rep"], as_index=False)["y"].mean()
    claim.primary = stratified_t(
        y,
        PrimaryTest("mean attack-risk difference hybrid - filtered base", PRIVACY_RISK_MARGIN, "below"),
        "2 or more replicates of the attacks on a base and its hybrid, on 2 or more datasets, would test it.",
    )
    claim.settle()
    claim.judge(tested.rename(columns={"no more risk": "decision"}))
    lowers = int((table["filter lowers risk"] == HOLDS).sum())
    raises = int((table["filter lowers risk"] == FAILS).sum())
    claim.headline = (
        f"The DCR filter decidedly lowers the attack risk on {lowers} and raises it on {raises} "
        f"of {len(table)} (base, dataset) pairs."
    )
    claim.body.append(md_table(table))
    return claim


def release_section(privacy: pd.DataFrame) -> str:
    """findings.md's account of the release gate: how many sets each verdict holds, and every
    set offered for release (a base's filtered set, a hybrid) that is not releasable, with why."""
    lines = [
        "## Release gate",
        "After the attacks, every attacked set is checked against the thresholds of `privacy.release` "
        "(config/README.md): a set over one is written and measured like any other, but is not "
        "releasable; a hybrid whose base's filtered set is not releasable is not releasable either, "
        "and a set a threshold's metric could not score is not assessed. A base generator's "
        "unfiltered set is never released: its DCR-filtered set is the release.",
    ]
    verdicts = release_verdicts(privacy)
    if verdicts.empty:
        why = (
            "absent or empty" if privacy.empty else "without a `releasable` column (written before the gate)"
        )
        return "\n\n".join([*lines, f"The privacy table is {why}: no set was gated in this run."])
    offered = verdicts[verdicts["set"] == "filtered"]
    counts = offered["releasable"].astype(str).value_counts()
    lines.append(
        f"Sets offered for release: {len(offered)}; releasable {int(counts.get(RELEASABLE, 0))}, not "
        f"releasable {int(counts.get(NOT_RELEASABLE, 0))}, not assessed {int(counts.get(NOT_ASSESSED, 0))}. "
        f"Unfiltered sets, never released: {int((verdicts['set'] != 'filtered').sum())} (their verdicts "
        f"and reasons are in the privacy table)."
    )
    held = offered[refused(offered)]
    if held.empty:
        lines.append("Every set offered for release is releasable.")
        return "\n\n".join(lines)
    rank = {g: i for i, g in enumerate(order_generators(held["generator"]))}
    held = held.assign(order=held["generator"].map(rank)).sort_values(["dataset", "order", "rep"])
    table = held.rename(columns={"release_reason": "why"})[
        ["dataset", "generator", "rep", "releasable", "why"]
    ]
    lines.append("Sets held back:")
    lines.append(md_table(table))
    return "\n\n".join(lines)
