"""Rule fidelity: how close a synthetic set is to the real data, column by column, as a whole,
and mechanism by mechanism.

Every metric compares the synthetic set S with real data and is written beside ``real_value``,
the same metric for a real sample in S's place, so a reader sees what a perfect generator would
score at this sample size (a KS complement of 0.93 is good or bad only against the 0.95 of a real
sample). Which real data play which part:

* ``H``, the real **holdout** (never seen by a generator), is the reference distribution of the
  distribution metrics (shape, trend, C2ST, alpha-precision, beta-recall) and the evaluation
  points of the mechanism metrics (JSD_pi, U_PEHE). A generator that copies its training rows
  thus scores like a fresh real sample, never better.
* For the distribution metrics, S and the real sample in its place are compared at one size,
  ``m = min(|S|, |training table|)``: the real sample is a seeded subsample of m rows of the
  **training table** (all of it when it is the smaller), and S is subsampled to m rows (seeded
  by S's own seed) for shape, trend, alpha-precision and beta-recall. These metrics move with
  the sample size alone (beta-recall of fresh draws of one process against one 600-row
  holdout: 0.36, 0.65, 0.84 at 300, 1,000 and 3,000 rows), so a set larger than the training
  table (1,000 rows against ``lalonde_nsw``'s 311) would otherwise beat real data by its size.
  C2ST draws equal numbers of S and H rows itself. The mechanism metrics fit on all of S.
* For the mechanism metrics, the training table is split in two seeded halves: the reference
  models are fitted on half ``A``; S's models are compared with them, and so are the models of
  half ``B`` (subsampled to S's size), which give ``real_value``.

The metrics (``METRICS``; higher is closer to real unless said):

``shape``, ``shape_ks``, ``shape_tv``
    SDMetrics' KSComplement (continuous columns) and TVComplement (binary and categorical
    columns) of every role column, W, A and Y, averaged; ``shape`` averages all columns.
``trend``
    SDMetrics' CorrelationSimilarity (Pearson) for pairs of continuous columns and
    ContingencySimilarity (continuous columns binned) for the other pairs, averaged over the
    pairs; above ``max_pairs`` pairs a seeded subset is scored (``detail`` says how many).
``c2st_auc``
    A classifier two-sample test: ``learner`` is trained to tell S from H (equal numbers of rows,
    all role columns) and its out-of-fold AUC over ``c2st_folds`` stratified folds is reported;
    0.5 is indistinguishable, 1 is perfectly told apart (lower is better).
``alpha_precision_naive``, ``beta_recall_naive``
    Integrated alpha-precision and beta-recall of the covariates (Alaa et al., ICML 2022) in
    synthcity's *naive* variant, in the standardized covariate space of H: the share of S inside
    the real alpha-ball around H's centre should be alpha, and the share of H whose nearest
    synthetic row is closer than its nearest real neighbour and lies in the synthetic beta-ball
    should be beta. The balls are Euclidean balls around the mean; STEAM (NeurIPS 2025) uses the
    one-class variant (balls in a learned Deep-SVDD embedding), so these values are not STEAM's
    and the names say so. Each score is ``1 - 2 * integral over [0, 1] of |curve(a) - a|``, the
    integral by the trapezoid rule over ``alpha_steps`` equally spaced levels. synthcity weighs
    each level 1/steps instead (``1 - sum |gap| / sum(levels)``), which understates the gap by
    the factor (steps - 1) / steps: at 30 levels its score of a set shifted by one SD is 0.739
    where a 4,001-level integral gives 0.730 and the 30-level trapezoid 0.731.
``jsd_pi``
    STEAM's JSD_pi: 1 - the mean Jensen-Shannon distance (base 2) between Bernoulli(pi_A(w)) and
    Bernoulli(pi_S(w)) over H's covariates, with pi fitted by ``learner`` on half A and on S.
``u_pehe``
    STEAM's U_PEHE: the RMSE over H's covariates between the CATE estimated from half A and the
    one estimated from S, on the outcome's scale (lower is better), averaged over three CATE
    learners (``CATE_LEARNERS``), each built on ``learner``: a T-learner (one outcome model per
    arm), an S-learner (one model of Y on (W, A), CATE = mu(w, 1) - mu(w, 0); with a linear
    learner its CATE is one number, the coefficient of A) and a DR-learner (Kennedy 2023: the
    AIPW pseudo-outcome from 2-fold cross-fitted g and per-arm outcome models, g bounded by the
    grid's propensity bound, regressed on W). STEAM averages four learners; ``detail`` gives each
    learner's RMSE.
``treatment_share``, ``outcome_mean_treated``, ``outcome_mean_control``
    Statistics of S; ``real_value`` is the statistic of the training table the generator saw.
``extreme_share:<column>`` (``run_fidelity_sets``; :mod:`causalsynth.evaluate.extremes`)
    For the outcome (when continuous) and every continuous covariate: the share of S's rows
    beyond the fences ``prepare_dataset`` drew on the training rows (``checks.outlier_iqr``
    times the IQR beyond the quartiles, from card.json); ``real_value`` is the training rows'
    share. The count of each is in ``detail``.
``degenerate``
    1 when an arm of S has fewer units than the estimators need (``arm_problem`` with the
    estimation folds), or the set's meta.json flags it (``degenerate``, when the generator writes
    one); its status says e.g. "treatment share 0.000 vs 0.310 real".

A metric that cannot be computed (an empty arm, a single-class column) is NaN with its reason in
``status``; the other metrics of the set are still written.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from causalsynth.core.cells import SetCell, set_cells
from causalsynth.core.errors import ConfigError
from causalsynth.core.io import read_json, read_parquet
from causalsynth.core.learners import LEARNERS
from causalsynth.core.progress import Progress
from causalsynth.core.roles import Roles, read_card
from causalsynth.core.schema import resolve_section, section_defaults
from causalsynth.core.seeds import derive_seed
from causalsynth.core.splits import SplitPaths, for_rep
from causalsynth.core.vocabulary import FIDELITY, OK
from causalsynth.estimate.grid import write_rows
from causalsynth.estimate.nuisance import arm_problem
from causalsynth.evaluate.distribution import alpha_beta, c2st_auc, column_pairs, shape_scores, trend_score
from causalsynth.evaluate.extremes import extreme_rows
from causalsynth.evaluate.mechanism_metrics import default_propensity_bound, mechanism_scores

# name -> higher is closer to the real data (False: lower is)
METRICS: dict[str, bool] = {
    "shape": True,
    "shape_ks": True,
    "shape_tv": True,
    "trend": True,
    "c2st_auc": False,
    "alpha_precision_naive": True,
    "beta_recall_naive": True,
    "jsd_pi": True,
    "u_pehe": False,
    "treatment_share": True,
    "outcome_mean_treated": True,
    "outcome_mean_control": True,
    "degenerate": False,
}


def fidelity_params(params: dict[str, Any] | None, where: str = "fidelity") -> dict[str, Any]:
    p = resolve_section(params, "fidelity", where)
    for key in ("learner", "c2st_learner"):
        LEARNERS.get(p[key])  # unknown names list the valid ones
    if not (isinstance(p["c2st_folds"], int) and p["c2st_folds"] >= 2):
        raise ConfigError(f"{where}: c2st_folds must be an integer >= 2, got {p['c2st_folds']!r}")
    return p


# ----------------------------------------------------------------------------- one synthetic set


def _subsample(df: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    if len(df) <= n:
        return df.reset_index(drop=True)
    keep = np.sort(np.random.default_rng(seed).choice(len(df), n, replace=False))
    return df.iloc[keep].reset_index(drop=True)


def _halves(train: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    order = np.random.default_rng(seed).permutation(len(train))
    cut = len(train) // 2
    return train.iloc[np.sort(order[:cut])].reset_index(drop=True), train.iloc[
        np.sort(order[cut:])
    ].reset_index(drop=True)


def arm_statistics(df: pd.DataFrame, roles: Roles) -> dict[str, float]:
    a = df[roles.treatment].to_numpy(dtype=np.int64)
    y = df[roles.outcome].to_numpy(dtype=float)
    return {
        "treatment_share": float(a.mean()) if len(a) else math.nan,
        "outcome_mean_treated": float(y[a == 1].mean()) if (a == 1).any() else math.nan,
        "outcome_mean_control": float(y[a == 0].mean()) if (a == 0).any() else math.nan,
    }


def degenerate_status(
    synthetic: pd.DataFrame,
    train: pd.DataFrame,
    roles: Roles,
    folds: int,
    cross_fit: bool,
    meta: dict[str, Any],
) -> tuple[bool, str]:
    """Whether the set is degenerate (an arm below the estimators' minimum, or flagged by its
    generator in meta.json), and the sentence that says so."""
    a = synthetic[roles.treatment].to_numpy(dtype=np.int64)
    share = float(a.mean()) if len(a) else math.nan
    real = float(train[roles.treatment].to_numpy(dtype=np.int64).mean())
    problem = arm_problem(a, folds, cross_fit)
    flagged = meta.get("degenerate")
    if isinstance(flagged, dict):  # a generator may write {"flag": ..., "reason": ...}
        flagged_reason = str(flagged.get("reason") or "")
        flagged = flagged.get("flag", flagged.get("degenerate"))
    else:
        flagged_reason = ""
    if problem is None and not flagged:
        return False, OK
    reasons = [f"treatment share {share:.3f} vs {real:.3f} real"]
    if problem:
        reasons.append(problem)
    if flagged:
        reasons.append(f"flagged degenerate in meta.json{': ' + flagged_reason if flagged_reason else ''}")
    return True, "degenerate: " + "; ".join(reasons)


def comparison_size(n: int) -> int:
    """``n`` floored to two significant digits (957 -> 950, 1000 -> 1000, 285 -> 280).

    DCR screening leaves every released set a few rows short of its own size, all different;
    a real baseline per exact size would be refitted for every set. Floored, the sets of a
    replicate share two or three baselines, and each set is scored on a seeded subsample of
    that size: under 10% fewer rows at worst (1,099 -> 1,000), about 1% for a screened set of
    1,000 (957 -> 950). Below 100 rows every row counts."""
    if n < 100:
        return int(n)
    step = 10 ** (len(str(int(n))) - 2)
    return int(n) // step * step


class RealBaseline:
    """The real side of every comparison, computed once per synthetic-set size and reused by
    every set of the dataset (all of it is seeded by ``real_seed`` alone)."""

    def __init__(
        self,
        train: pd.DataFrame,
        holdout: pd.DataFrame,
        roles: Roles,
        p: dict[str, Any],
        real_seed: int,
        propensity_bound: float | None = None,
    ):
        self.train, self.holdout, self.roles, self.p, self.seed = train, holdout, roles, p, real_seed
        self.bound = default_propensity_bound() if propensity_bound is None else float(propensity_bound)
        self.pairs, self.n_pairs = column_pairs(
            roles, p["max_pairs"], derive_seed(real_seed, "fidelity.pairs")
        )
        self.half_a, self.half_b = _halves(train, derive_seed(real_seed, "fidelity.halves"))
        self.reference_models: dict[str, Any] | None = None
        self._by_size: dict[int, dict[str, Any]] = {}

    def at(self, n: int) -> dict[str, Any]:
        """The real side for a set of ``n`` rows, compared at :func:`comparison_size` (``n``)."""
        n = comparison_size(n)
        if n in self._by_size:
            return self._by_size[n]
        roles, p, h = self.roles, self.p, self.holdout
        sample = _subsample(self.train, n, derive_seed(self.seed, "fidelity.real_sample", rep=n))
        half_b = _subsample(self.half_b, n, derive_seed(self.seed, "fidelity.half_b", rep=n))
        values = dict(shape_scores(h, sample, roles))
        values["trend"] = trend_score(h, sample, roles, self.pairs)
        values["c2st_auc"] = c2st_auc(h, sample, roles, p["c2st_learner"], p["c2st_folds"], self.seed)[0]
        values["alpha_precision_naive"], values["beta_recall_naive"] = alpha_beta(
            h, sample, roles, p["alpha_steps"]
        )
        mech, self.reference_models = mechanism_scores(
            self.half_a, half_b, h, roles, p["learner"], self.seed, self.reference_models, self.bound
        )
        values.update({k: v.value for k, v in mech.items()})
        values.update(arm_statistics(self.train, roles))
        values["degenerate"] = 0.0
        self._by_size[n] = {"values": values, "n_sample": len(sample), "n_half_b": len(half_b)}
        return self._by_size[n]


def fidelity_rows(
    synthetic: pd.DataFrame,
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    roles: Roles,
    params: dict[str, Any],
    seed: int,
    real_seed: int,
    meta: dict[str, Any] | None = None,
    folds: int = 5,
    cross_fit: bool = True,
    baseline: RealBaseline | None = None,
    propensity_bound: float | None = None,
) -> list[dict[str, Any]]:
    """One row per metric (``metric, value, real_value, status, detail, seconds``) for one synthetic set;
    ``seconds`` is the wall time of the set (with the real baseline, when this set computed it).

    ``seed`` seeds the synthetic side, ``real_seed`` every real-only choice (the real comparison
    sample, the halves, the pairs), so that ``real_value`` is the same in every cell of a dataset
    whose sets have the same size; ``baseline`` (built with the same tables and ``real_seed``)
    reuses it across sets. ``folds``/``cross_fit`` are the estimation settings behind the
    degenerate flag, ``propensity_bound`` the DR-learner's bound of g (ignored when ``baseline``
    is given: the baseline's bound serves both sides).

    Shape, trend, alpha-precision and beta-recall score a seeded subsample of the set of the
    real sample's size (module docstring); ``detail`` says so.
    """
    p = fidelity_params(params)
    meta = dict(meta or {})
    if baseline is None:
        baseline = RealBaseline(train, holdout, roles, p, real_seed, propensity_bound)
    n = len(synthetic)
    t0 = time.perf_counter()
    real = baseline.at(n)
    real_seconds = time.perf_counter() - t0
    ref = real["values"]
    rows: list[dict[str, Any]] = []

    def add(metric, value, status=OK, detail=""):
        rows.append(
            {"metric": metric, "value": value, "real_value": ref[metric], "status": status, "detail": detail}
        )

    t0 = time.perf_counter()
    m = real["n_sample"]
    # equal footing: these metrics move with the sample size alone (module docstring)
    same_size = _subsample(synthetic, m, derive_seed(seed, "fidelity.synthetic_sample"))
    cut = f" (a seeded subsample of {m} scored)" if len(same_size) < n else ""
    size = f"{n} synthetic rows{cut}; real sample of {m} training rows; holdout {len(holdout)} rows"
    shape = shape_scores(holdout, same_size, roles)
    for metric in ("shape", "shape_ks", "shape_tv"):
        add(metric, shape[metric], OK if np.isfinite(shape[metric]) else "no column of this kind", size)
    pairs = baseline.pairs
    subset = " (seeded subset)" if len(pairs) < baseline.n_pairs else ""
    add(
        "trend",
        trend_score(holdout, same_size, roles, pairs),
        detail=f"{len(pairs)} of {baseline.n_pairs} column pairs{subset}; {size}",
    )
    value, status = c2st_auc(holdout, synthetic, roles, p["c2st_learner"], p["c2st_folds"], seed)
    c2st_rows = min(n, len(holdout))
    add(
        "c2st_auc",
        value,
        status,
        f"{p['c2st_learner']}, {p['c2st_folds']} folds; {c2st_rows} synthetic and {c2st_rows} holdout rows",
    )
    alpha, beta = alpha_beta(holdout, same_size, roles, p["alpha_steps"])
    add("alpha_precision_naive", alpha, detail=size)
    add("beta_recall_naive", beta, detail=size)
    mech, _ = mechanism_scores(
        baseline.half_a,
        synthetic,
        holdout,
        roles,
        p["learner"],
        real_seed,
        baseline.reference_models,
        baseline.bound,
    )
    detail = (
        f"{p['learner']}; reference models on {len(baseline.half_a)} training rows, "
        f"{n} synthetic rows, real sample {real['n_half_b']} rows"
    )
    for metric in ("jsd_pi", "u_pehe"):
        score = mech[metric]
        add(metric, score.value, score.status, "; ".join(filter(None, (detail, score.detail))))
    degenerate, why = degenerate_status(synthetic, train, roles, folds, cross_fit, meta)
    for metric, value in arm_statistics(synthetic, roles).items():
        status = OK if np.isfinite(value) else f"no unit in the {metric.rsplit('_', 1)[-1]} arm"
        if metric == "treatment_share" and degenerate:
            status = why
        add(metric, value, status, "real_value: the training table")
    add("degenerate", float(degenerate), why, "1: an arm below the estimators' minimum")
    # timings in their own column: a rerun must give the same table apart from them
    seconds = time.perf_counter() - t0 + real_seconds
    for r in rows:
        r["seconds"] = seconds
    return rows


def run_fidelity_sets(
    cells: Sequence[SetCell | Mapping[str, Any]],
    train_path: SplitPaths,
    holdout_path: SplitPaths,
    card_path: SplitPaths,
    params: dict[str, Any],
    real_seed: int,
    out_path: str,
    dataset: str,
    estimation: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Every fidelity metric of the synthetic sets of one dataset; columns ``vocabulary.FIDELITY``.

    ``cells``: one :class:`~causalsynth.core.cells.SetCell` per set (base or hybrid), its
    ``seed`` the seed of the set's metrics. ``params``: the ``fidelity`` config block; ``estimation``: the
    ``estimation`` block, whose ``folds``/``cross_fit`` set the arm size below which a set is
    degenerate. ``train_path``, ``holdout_path``, ``card_path``: each replicate's draw of the
    real data ({rep: path}; one path: a split every replicate shares); a set is scored against
    its own replicate's rows, with that split's real baseline. Progress (sets done, rate, time
    left) goes to the log.
    """
    cells = set_cells(cells, "run_fidelity_sets")
    p = fidelity_params(params)
    _, roles = read_card(for_rep(card_path, cells[0].rep))
    est = {**section_defaults("estimation"), **(estimation or {})}
    splits: dict[tuple[str, str, str], tuple[pd.DataFrame, pd.DataFrame, RealBaseline, dict]] = {}
    progress = Progress(f"fidelity {dataset}", len(cells))
    out = []
    for cell in cells:
        rep = cell.rep
        key = (for_rep(train_path, rep), for_rep(holdout_path, rep), for_rep(card_path, rep))
        if key not in splits:
            train = roles.validate(read_parquet(key[0]), key[0])
            holdout = roles.validate(read_parquet(key[1]), key[1])
            bound = float(est["propensity_bound"])
            baseline = RealBaseline(train, holdout, roles, p, real_seed, bound)
            splits[key] = (train, holdout, baseline, read_json(key[2]))
        train, holdout, baseline, card = splits[key]
        # a hybrid pool carries its model columns (mu0, mu1, propensity): only role columns are data
        synthetic = roles.validate(read_parquet(cell.data), cell.data)[roles.columns]
        rows = fidelity_rows(
            synthetic, train, holdout, roles, p, cell.seed, real_seed, read_json(cell.meta),
            int(est["folds"]), bool(est["cross_fit"]), baseline,
        )  # fmt: skip
        # the set's extremes by its replicate's fences (card.json), beside the training rows'
        seconds = rows[0]["seconds"]
        rows += [r | {"seconds": seconds} for r in extreme_rows(synthetic, train, roles, card)]
        out += [{"dataset": dataset, "generator": cell.generator, "rep": rep, **r} for r in rows]
        progress.step()
    return write_rows(out, list(FIDELITY.columns), out_path)
