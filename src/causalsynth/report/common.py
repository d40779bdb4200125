"""What the figures and the findings read from the result tables: cells that count, their
errors, and the order generators are shown in."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from causalsynth.core.vocabulary import (
    NOT_ASSESSED,
    NOT_RELEASABLE,
    PRIVACY_ATTACKS,
    REAL,
    generator_base,
    is_hybrid,
)

# The papers' fully generative baselines, shown first within their group; others follow by name.
PAPER_GENERATORS = ("ctgan", "tvae", "gaussian_copula", "great")


def generator_group(generator: str) -> str:
    """One of "real", "fully generative", "hybrid"."""
    if generator == REAL:
        return "real"
    return "hybrid" if is_hybrid(generator) else "fully generative"


def _base_rank(base: str) -> tuple[int, str]:
    order = (REAL, *PAPER_GENERATORS)
    return (order.index(base), base) if base in order else (len(order), base)


def order_generators(generators: Iterable[str]) -> list[str]:
    """Real first, then fully generative, then hybrid; the paper's generators first within a group."""
    group_rank = {"real": 0, "fully generative": 1, "hybrid": 2}
    return sorted(
        {str(g) for g in generators},
        key=lambda g: (group_rank[generator_group(g)], *_base_rank(generator_base(g))),
    )


def ok_rows(df: pd.DataFrame, value: str = "ate") -> pd.DataFrame:
    """Rows whose status is "ok" and whose `value` is finite."""
    if df.empty:
        return df
    mask = np.isfinite(pd.to_numeric(df[value], errors="coerce"))
    if "status" in df.columns:
        mask &= df["status"].astype(str) == "ok"
    return df.loc[mask]


def reference_value(df: pd.DataFrame) -> pd.Series:
    """The truth where known, else the real-data estimate (`real_ate`) where the table has one."""
    ref = (
        pd.to_numeric(df["truth"], errors="coerce") if "truth" in df.columns else pd.Series(np.nan, df.index)
    )
    if "real_ate" in df.columns:
        ref = ref.fillna(pd.to_numeric(df["real_ate"], errors="coerce"))
    return ref


def absolute_error(df: pd.DataFrame) -> pd.Series:
    """|bias| from the table, else |ate - truth|, else |ate - real-data estimate|."""
    ate = pd.to_numeric(df["ate"], errors="coerce")
    err = ate - reference_value(df)
    if "bias" in df.columns:
        err = pd.to_numeric(df["bias"], errors="coerce").fillna(err)
    return err.abs()


ERROR_KEYS = ["dataset", "generator", "rep", "estimator", "learner"]


def replicate_errors(ate: pd.DataFrame) -> pd.DataFrame:
    """|error| per (dataset, generator, rep, estimator, learner), replicates kept apart.

    Intervals are taken over generator replicates, so no mean over them may be taken here.
    """
    ok = ok_rows(ate)
    if ok.empty:
        return pd.DataFrame(columns=[*ERROR_KEYS, "abs_error"])
    ok = ok.assign(abs_error=absolute_error(ok)).dropna(subset=["abs_error"])
    # dropna=False: an estimator without a learner (NaN) is still a cell
    return ok.groupby(ERROR_KEYS, as_index=False, dropna=False)["abs_error"].mean()


def paired_replicate_errors(cells: pd.DataFrame, gen_a: str, gen_b: str) -> pd.DataFrame:
    """Per (dataset, rep), mean |error| of two generators over the estimator x learner cells both
    have in that replicate; for generators whose replicate r is built from the same draw (a base
    and its hybrid), so that the replicates pair."""
    keys = ["dataset", "rep", "estimator", "learner"]
    a = cells.loc[cells["generator"] == gen_a, [*keys, "abs_error"]]
    b = cells.loc[cells["generator"] == gen_b, [*keys, "abs_error"]]
    both = a.merge(b, on=keys, suffixes=("_a", "_b"))
    if both.empty:
        return pd.DataFrame(columns=["dataset", "rep", "err_a", "err_b", "n_cells"])
    return (
        both.groupby(["dataset", "rep"])
        .agg(err_a=("abs_error_a", "mean"), err_b=("abs_error_b", "mean"), n_cells=("abs_error_a", "size"))
        .reset_index()
    )


def common_cell_errors(cells: pd.DataFrame, gen_a: str, gen_b: str) -> pd.DataFrame:
    """Per (dataset, generator, rep), mean |error| over the estimator x learner cells both
    generators have in the dataset; for generators whose replicates are independent draws,
    compared replicate set against replicate set rather than pair by pair."""
    keys = ["dataset", "estimator", "learner"]
    sub = cells.loc[cells["generator"].isin([gen_a, gen_b])]
    shared = (
        sub[keys + ["generator"]]
        .drop_duplicates()
        .groupby(keys, dropna=False)["generator"]
        .nunique()
        .loc[lambda s: s == 2]
        .reset_index()[keys]
    )
    if shared.empty:
        return pd.DataFrame(columns=["dataset", "generator", "rep", "err", "n_cells"])
    kept = sub.merge(shared, on=keys)
    return (
        kept.groupby(["dataset", "generator", "rep"])
        .agg(err=("abs_error", "mean"), n_cells=("abs_error", "size"))
        .reset_index()
    )


def tstr_with_baseline(tstr: pd.DataFrame, by_rep: bool = False) -> pd.DataFrame:
    """Mean TSTR score per (dataset, generator, metric) beside the train-on-real score; with
    `by_rep`, per (dataset, generator, metric, rep), for intervals over replicates.

    `train_on_real` is the train-on-real score of the same test set, the column the TSTR rule
    writes beside each synthetic score.
    """
    group = ["dataset", "generator", "metric", *(["rep"] if by_rep else [])]
    cols = [*group, "value", "baseline"]
    ok = ok_rows(tstr, "value")
    if ok.empty:
        return pd.DataFrame(columns=cols)
    ok = ok.assign(baseline=pd.to_numeric(ok["train_on_real"], errors="coerce"))
    return ok.groupby(group, as_index=False)[["value", "baseline"]].mean()[cols]


def attack_risk(privacy: pd.DataFrame) -> pd.DataFrame:
    """The worst of anonymeter's attack risks per (dataset, generator, rep, set), over the
    attacks whose status is "ok" (an attacker uses the attack that works best), with the
    generator's differential-privacy epsilon where it has one."""
    cols = ["dataset", "generator", "rep", "set", "risk", "epsilon"]
    if privacy.empty:
        return pd.DataFrame(columns=cols)
    ok = ok_rows(privacy[privacy["metric"].isin(PRIVACY_ATTACKS)], "value")
    if ok.empty:
        return pd.DataFrame(columns=cols)
    eps = pd.to_numeric(ok["epsilon"], errors="coerce") if "epsilon" in ok.columns else np.nan
    ok = ok.assign(value=pd.to_numeric(ok["value"]), epsilon=eps)
    return (
        ok.groupby(["dataset", "generator", "rep", "set"], as_index=False)
        .agg(risk=("value", "max"), epsilon=("epsilon", "first"))
        .reindex(columns=cols)
    )


RELEASE_COLUMNS = ["dataset", "generator", "rep", "set", "releasable", "release_reason"]


def release_verdicts(privacy: pd.DataFrame) -> pd.DataFrame:
    """The release gate's verdict per (dataset, generator, rep, set) of the privacy table (the
    same on every metric row of a set); empty when the table has no `releasable` column."""
    if privacy.empty or "releasable" not in privacy.columns:
        return pd.DataFrame(columns=RELEASE_COLUMNS)
    cols = [c for c in RELEASE_COLUMNS if c in privacy.columns]
    out = (
        privacy[cols].drop_duplicates(["dataset", "generator", "rep", "set"]).reindex(columns=RELEASE_COLUMNS)
    )
    return out.assign(rep=pd.to_numeric(out["rep"]), release_reason=out["release_reason"].fillna(""))


def refused(verdicts: pd.DataFrame) -> pd.Series:
    """Which verdicts keep a set from release: not releasable, or not assessed."""
    return verdicts["releasable"].astype(str).isin([NOT_RELEASABLE, NOT_ASSESSED])
