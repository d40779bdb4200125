"""Preservation errors of the ATE cells, the primary cell, and identical cells merged.

The preservation error of a synthetic cell is |ate - real_ate|: the same estimator and learner
on the real training rows of the same replicate. Against the truth, an error would mix the
generator's error with the estimator's and the real sample's own; against the real estimate of
the same rows it is the generator's alone. |ate - truth| is kept beside it where the truth is
exact (simulated datasets).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from causalsynth.core.vocabulary import REAL
from causalsynth.report.common import ok_rows

PRIMARY_ESTIMATOR = "aipw"
# The order in which identical cells keep their first: the primary estimator, then the grid's
# own order (config estimation.estimators), then any other by name. DML equals AIPW with the
# same learner and folds; truncated IPTW equals IPTW when no weight reaches the cap.
CELL_ORDER = (PRIMARY_ESTIMATOR, "substitution", "iptw", "iptw_truncated", "tmle", "dml")
SAME_RTOL = 1e-9
NO_LEARNER = "–"
KEYS = ["dataset", "generator", "rep", "estimator", "learner"]
CELL = ["estimator", "learner"]


def _normalise(df: pd.DataFrame) -> pd.DataFrame:
    # a missing learner (an estimator without one) is a cell too, and must merge with itself
    learner = df["learner"].astype(object).where(df["learner"].notna(), NO_LEARNER).astype(str)
    return df.assign(learner=learner, rep=pd.to_numeric(df["rep"]), estimator=df["estimator"].astype(str))


def preservation_errors(ate: pd.DataFrame) -> pd.DataFrame:
    """One row per ok synthetic cell (KEYS): ate, real_ate, error = |ate - real_ate| and
    exact_error = |ate - truth| where truth_kind is "exact" (NaN elsewhere).

    A row without real_ate takes the real row of the same (dataset, rep, estimator, learner),
    else the one at rep 0 (a table that kept one real estimate for every replicate).
    """
    cols = [*KEYS, "ate", "real_ate", "error", "exact_error"]
    ok = ok_rows(ate)
    if ok.empty:
        return pd.DataFrame(columns=cols)
    ok = _normalise(ok).assign(ate=lambda d: pd.to_numeric(d["ate"]))
    real = ok[ok["generator"] == REAL].groupby(["dataset", "rep", *CELL], as_index=False)["ate"].mean()
    synth = ok[ok["generator"] != REAL]
    own = pd.to_numeric(synth["real_ate"], errors="coerce") if "real_ate" in synth else np.nan
    synth = synth.assign(real_ate=own)
    for rep in ("same", 0):
        lookup = real if rep == "same" else real[real["rep"] == 0].drop(columns="rep")
        on = ["dataset", *(["rep"] if rep == "same" else []), *CELL]
        found = synth[on].merge(lookup.rename(columns={"ate": "_r"}), on=on, how="left")["_r"]
        synth = synth.assign(real_ate=synth["real_ate"].fillna(pd.Series(found.to_numpy(), synth.index)))
    exact = synth.get("truth_kind", pd.Series("", index=synth.index)).astype(str) == "exact"
    truth = pd.to_numeric(synth.get("truth", np.nan), errors="coerce")
    synth = synth.assign(
        error=(synth["ate"] - synth["real_ate"]).abs(),
        exact_error=(synth["ate"] - truth).abs().where(exact),
    ).dropna(subset=["error"])
    # a repeated row of one cell is one observation
    return synth.groupby(KEYS, as_index=False)[["ate", "real_ate", "error", "exact_error"]].mean()[cols]


def cell_rank(estimator: str, learner: str) -> tuple[int, str, str]:
    order = {e: i for i, e in enumerate(CELL_ORDER)}
    return (order.get(estimator, len(order)), estimator, learner)


def merge_identical_cells(errors: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`errors` less every cell whose ate equals (to SAME_RTOL) an earlier kept cell's in every
    ok replicate of its (dataset, generator), and the merges: dataset, generator, cell, same_as."""
    merged = []
    for (d, g), sub in errors.groupby(["dataset", "generator"], sort=True):
        wide = sub.pivot_table(index="rep", columns=CELL, values="ate", aggfunc="mean")
        kept: list[tuple[str, str]] = []
        for cell in sorted(wide.columns, key=lambda c: cell_rank(*c)):
            a = wide[cell]
            for k in kept:
                b = wide[k]
                same_reps = bool((a.isna() == b.isna()).all())
                both = a.notna() & b.notna()
                if same_reps and np.isclose(a[both], b[both], rtol=SAME_RTOL, atol=0.0).all():
                    merged.append({"dataset": d, "generator": g, "cell": cell, "same_as": k})
                    break
            else:
                kept.append(cell)
    merges = pd.DataFrame(merged, columns=["dataset", "generator", "cell", "same_as"])
    if merges.empty:
        return errors, merges
    drop = pd.MultiIndex.from_tuples(
        [(m["dataset"], m["generator"], *m["cell"]) for m in merged], names=["dataset", "generator", *CELL]
    )
    idx = pd.MultiIndex.from_frame(errors[["dataset", "generator", *CELL]])
    return errors[~idx.isin(drop)].reset_index(drop=True), merges


def merges_text(merges: pd.DataFrame, n_sets: int) -> str:
    if merges.empty:
        return "No two estimator cells were identical, so none is merged."
    counts = merges.groupby(["cell", "same_as"]).size()
    parts = [
        f"{c[0]} ({c[1]}) = {s[0]} ({s[1]}) in {n} of {n_sets} (dataset, generator) sets"
        for (c, s), n in sorted(counts.items(), key=lambda kv: (cell_rank(*kv[0][0]), cell_rank(*kv[0][1])))
    ]
    return (
        "Identical cells are counted once in every mean over cells (the later cell in the order "
        f"{', '.join(CELL_ORDER)}, then by name, is dropped): " + "; ".join(parts) + "."
    )


def primary_learner(ate: pd.DataFrame) -> str | None:
    """The grid's learner of the primary cell: the one with most ok AIPW rows of synthetic data,
    ties by name (the reference learner has no synthetic rows)."""
    ok = ok_rows(ate)
    if ok.empty:
        return None
    ok = _normalise(ok)
    aipw = ok[(ok["estimator"] == PRIMARY_ESTIMATOR) & (ok["generator"] != REAL)]
    if aipw.empty:
        return None
    counts = aipw.groupby("learner").size()
    return sorted(counts.index, key=lambda lrn: (-counts[lrn], lrn))[0]


def primary_errors(errors: pd.DataFrame, learner: str | None) -> pd.DataFrame:
    """The primary cell's errors: dataset, generator, rep, error."""
    keep = (errors["estimator"] == PRIMARY_ESTIMATOR) & (errors["learner"] == learner)
    return errors.loc[keep, ["dataset", "generator", "rep", "error"]].reset_index(drop=True)


def log_sum_ratio(primary: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    """y[d, r] = log( sum num / sum den ) over the rows of `pairs` (dataset, num, den) whose two
    generators both have the primary cell in replicate r of d; a sum of errors over generators
    rather than a mean of ratios, so a generator with a near-zero error cannot dominate."""
    num = pairs.merge(primary, left_on=["dataset", "num"], right_on=["dataset", "generator"])
    both = num.merge(
        primary.rename(columns={"error": "den_error", "generator": "_g"}),
        left_on=["dataset", "den", "rep"],
        right_on=["dataset", "_g", "rep"],
    )
    if both.empty:
        return pd.DataFrame(columns=["dataset", "rep", "y", "n_pairs"])
    agg = both.groupby(["dataset", "rep"]).agg(
        num=("error", "sum"), den=("den_error", "sum"), n_pairs=("error", "size")
    )
    ratio = (agg["num"] / agg["den"]).where((agg["num"] > 0) & (agg["den"] > 0))
    return agg.assign(y=np.log(ratio)).reset_index()[["dataset", "rep", "y", "n_pairs"]]


def paired_cell_means(errors: pd.DataFrame, gen_a: str, gen_b: str) -> pd.DataFrame:
    """Per (dataset, rep), the mean error of two generators over the cells both have in it, and
    the exact errors where known; replicate r of both shares its real rows, so the reps pair."""
    keys = ["dataset", "rep", *CELL]
    cols = ["error", "exact_error"]
    a = errors.loc[errors["generator"] == gen_a, [*keys, *cols]]
    b = errors.loc[errors["generator"] == gen_b, [*keys, *cols]]
    both = a.merge(b, on=keys, suffixes=("_a", "_b"))
    out = ["dataset", "rep", "err_a", "err_b", "exact_a", "exact_b", "n_cells"]
    if both.empty:
        return pd.DataFrame(columns=out)
    return (
        both.groupby(["dataset", "rep"])
        .agg(
            err_a=("error_a", "mean"),
            err_b=("error_b", "mean"),
            exact_a=("exact_error_a", "mean"),
            exact_b=("exact_error_b", "mean"),
            n_cells=("error_a", "size"),
        )
        .reset_index()
    )


@dataclass
class AteCells:
    """The ATE table as the effect claims read it."""

    errors: pd.DataFrame  # every ok synthetic cell, with its errors
    counted: pd.DataFrame  # identical cells merged: what a mean over cells counts
    merges: pd.DataFrame
    learner: str | None  # of the primary cell
    primary: pd.DataFrame  # the primary cell's errors: dataset, generator, rep, error

    @classmethod
    def of(cls, ate: pd.DataFrame, merge: bool = True) -> AteCells:
        """`merge=False` skips merging identical cells, which only the means over cells need."""
        errors = preservation_errors(ate)
        counted, merges = merge_identical_cells(errors) if merge else (errors, pd.DataFrame())
        learner = primary_learner(ate)
        return cls(errors, counted, merges, learner, primary_errors(errors, learner))

    @property
    def generators(self) -> set[str]:
        return set(self.errors["generator"])

    def no_primary(self) -> str:
        return (
            f"no ok {PRIMARY_ESTIMATOR.upper()} estimate of synthetic data: the primary cell is "
            f"{PRIMARY_ESTIMATOR.upper()} with the grid's learner; a grid with {PRIMARY_ESTIMATOR} "
            f"among its estimators would test it."
        )

    def reps_of(self, generator: str) -> int:
        """The most replicates the primary cell of `generator` has on a dataset."""
        sub = self.primary[self.primary["generator"] == generator]
        return int(sub.groupby("dataset")["rep"].nunique().max()) if len(sub) else 0
