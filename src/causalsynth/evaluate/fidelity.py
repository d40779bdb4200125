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
import warnings
from abc import ABC, abstractmethod
from itertools import combinations
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from scipy.spatial.distance import jensenshannon
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.neighbors import NearestNeighbors

from causalsynth.core.encoding import CovariateEncoder
from causalsynth.core.errors import ConfigError
from causalsynth.core.io import read_json, read_parquet
from causalsynth.core.learners import LEARNERS, make_learner
from causalsynth.core.progress import Progress
from causalsynth.core.roles import Roles, read_card
from causalsynth.core.schema import resolve_section, section_defaults
from causalsynth.core.seeds import derive_seed
from causalsynth.core.splits import SplitPaths, for_rep
from causalsynth.core.vocabulary import FIDELITY
from causalsynth.estimate.grid import write_rows
from causalsynth.estimate.nuisance import NuisanceFailure, arm_problem, fit_nuisances
from causalsynth.estimate.weights import bound_propensity
from causalsynth.evaluate.extremes import extreme_rows

OK = "ok"

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


# ----------------------------------------------------------------------------- distribution metrics


def _sdmetrics():
    # imported here: sdmetrics pulls in plotly and more, which no other stage needs
    from sdmetrics.column_pairs import ContingencySimilarity, CorrelationSimilarity
    from sdmetrics.single_column import KSComplement, TVComplement

    return KSComplement, TVComplement, CorrelationSimilarity, ContingencySimilarity


def _as_frame(df: pd.DataFrame, roles: Roles) -> pd.DataFrame:
    """Role columns as SDMetrics reads them: continuous as float, the others as strings."""
    out = {}
    for c, kind in roles.column_types().items():
        out[c] = df[c].to_numpy(dtype=float) if kind == "continuous" else df[c].astype(str).to_numpy()
    return pd.DataFrame(out)


def shape_scores(real: pd.DataFrame, synthetic: pd.DataFrame, roles: Roles) -> dict[str, float]:
    """Mean KSComplement / TVComplement over the role columns; NaN where a kind has no column."""
    ks, tv, _, _ = _sdmetrics()
    r, s = _as_frame(real, roles), _as_frame(synthetic, roles)
    scores: dict[str, list[float]] = {"continuous": [], "discrete": []}
    for c, kind in roles.column_types().items():
        if kind == "continuous":
            scores["continuous"].append(float(ks.compute(r[c], s[c])))
        else:
            scores["discrete"].append(float(tv.compute(r[c], s[c])))
    every = scores["continuous"] + scores["discrete"]
    return {
        "shape": float(np.mean(every)),
        "shape_ks": float(np.mean(scores["continuous"])) if scores["continuous"] else math.nan,
        "shape_tv": float(np.mean(scores["discrete"])) if scores["discrete"] else math.nan,
    }


def column_pairs(roles: Roles, max_pairs: int, seed: int) -> tuple[list[tuple[str, str]], int]:
    """The pairs scored by :func:`trend_score` (a seeded subset above ``max_pairs``), and how many exist."""
    pairs = list(combinations(roles.columns, 2))
    if len(pairs) <= max_pairs:
        return pairs, len(pairs)
    keep = np.sort(np.random.default_rng(seed).choice(len(pairs), max_pairs, replace=False))
    return [pairs[i] for i in keep], len(pairs)


def trend_score(
    real: pd.DataFrame, synthetic: pd.DataFrame, roles: Roles, pairs: list[tuple[str, str]]
) -> float:
    """Mean pairwise trend similarity; a pair whose real correlation is undefined is left out."""
    _, _, corr, contingency = _sdmetrics()
    types = roles.column_types()
    r, s = _as_frame(real, roles), _as_frame(synthetic, roles)
    scores = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant columns: SDMetrics warns and returns NaN
        for a, b in pairs:
            continuous = [c for c in (a, b) if types[c] == "continuous"]
            if len(continuous) == 2:
                if r[a].nunique() < 2 or r[b].nunique() < 2:
                    continue  # no real trend to keep
                if s[a].nunique() < 2 or s[b].nunique() < 2:
                    # SDMetrics refuses a constant column; it carries no linear trend, i.e. correlation 0
                    value = 1.0 - abs(float(np.corrcoef(r[a], r[b])[0, 1])) / 2.0
                else:
                    value = corr.compute(r[[a, b]], s[[a, b]])
            else:
                value = contingency.compute(r[[a, b]], s[[a, b]], continuous_column_names=continuous or None)
            if value is not None and np.isfinite(value):
                scores.append(float(value))
    return float(np.mean(scores)) if scores else math.nan


def c2st_auc(
    real: pd.DataFrame, synthetic: pd.DataFrame, roles: Roles, learner: str, folds: int, seed: int
) -> tuple[float, str]:
    """Out-of-fold AUC of ``learner`` telling ``synthetic`` from ``real`` (equal row counts)."""
    m = min(len(real), len(synthetic))
    if m < folds:
        return math.nan, f"fewer than {folds} rows on one side"
    rng = np.random.default_rng(derive_seed(seed, "c2st.rows"))
    r = real.iloc[np.sort(rng.choice(len(real), m, replace=False))]
    s = synthetic.iloc[np.sort(rng.choice(len(synthetic), m, replace=False))]
    both = pd.concat([r[roles.columns], s[roles.columns]], ignore_index=True)
    encoder = CovariateEncoder(roles, columns=roles.columns).fit(r)
    x = encoder.transform(both)
    label = np.r_[np.zeros(m, dtype=np.int64), np.ones(m, dtype=np.int64)]
    proba = np.empty(2 * m)
    split = StratifiedKFold(folds, shuffle=True, random_state=derive_seed(seed, "c2st.folds"))
    for k, (fit_idx, out_idx) in enumerate(split.split(x, label)):
        model = make_learner(learner, "classification", derive_seed(seed, "c2st", rep=k), 1)
        model.fit(x[fit_idx], label[fit_idx])
        proba[out_idx] = model.predict_proba(x[out_idx])[:, list(model.classes_).index(1)]
    return float(roc_auc_score(label, proba)), OK


def _standardized(real: pd.DataFrame, synthetic: pd.DataFrame, roles: Roles) -> tuple[np.ndarray, np.ndarray]:
    encoder = CovariateEncoder(roles).fit(real)
    return encoder.transform(real), encoder.transform(synthetic)


def curve_score(levels: np.ndarray, curve: np.ndarray) -> float:
    """``1 - 2 * integral |curve(a) - a| da`` over [0, 1], by the trapezoid rule on ``levels``."""
    return float(1.0 - 2.0 * np.trapezoid(np.abs(curve - levels), levels))


def alpha_beta(real: pd.DataFrame, synthetic: pd.DataFrame, roles: Roles, steps: int) -> tuple[float, float]:
    """Integrated naive alpha-precision and beta-recall of the covariates (module docstring)."""
    xr, xs = _standardized(real, synthetic, roles)
    levels = np.linspace(0.0, 1.0, steps)
    centre = xr.mean(axis=0)
    radii = np.quantile(np.linalg.norm(xr - centre, axis=1), levels)
    synth_to_centre = np.linalg.norm(xs - centre, axis=1)
    precision = np.array([(synth_to_centre <= rad).mean() for rad in radii])
    # each real row's nearest real neighbour (itself excluded) and nearest synthetic row
    real_nn = NearestNeighbors(n_neighbors=2).fit(xr).kneighbors(xr)[0][:, 1]
    to_synth, nearest = NearestNeighbors(n_neighbors=1).fit(xs).kneighbors(xr)
    to_synth, nearest = to_synth[:, 0], nearest[:, 0]
    synth_centre = xs.mean(axis=0)
    nearest_to_centre = np.linalg.norm(xs[nearest] - synth_centre, axis=1)
    beta_radii = np.quantile(nearest_to_centre, levels)
    close = to_synth <= real_nn
    recall = np.array([(close & (nearest_to_centre <= rad)).mean() for rad in beta_radii])
    return curve_score(levels, precision), curve_score(levels, recall)


# ----------------------------------------------------------------------------- mechanism metrics


def _classes_problem(values: np.ndarray, name: str) -> str | None:
    if np.unique(values).size < 2:
        return f"'{name}' takes a single value, so no model of it can be fitted"
    return None


def propensity(train: pd.DataFrame, roles: Roles, learner: str, seed: int, encoder: CovariateEncoder):
    """A fitted propensity model pi(w) = P(A=1 | W=w) on ``train``, or the reason there is none."""
    a = train[roles.treatment].to_numpy(dtype=np.int64)
    problem = _classes_problem(a, roles.treatment)
    if problem:
        return None, problem
    model = make_learner(learner, "classification", seed, 1).fit(encoder.transform(train), a)
    return model, OK


def _predict_positive(model, x: np.ndarray) -> np.ndarray:
    return model.predict_proba(x)[:, list(model.classes_).index(1)].astype(float)


def jsd_similarity(p: np.ndarray, q: np.ndarray) -> float:
    """STEAM's JSD_pi: 1 - mean Jensen-Shannon distance (base 2) of Bernoulli(p_i) and Bernoulli(q_i)."""
    p, q = np.clip(p, 0.0, 1.0), np.clip(q, 0.0, 1.0)
    d = jensenshannon(np.stack([1 - p, p]), np.stack([1 - q, q]), base=2, axis=0)
    return float(1.0 - np.mean(np.nan_to_num(d, nan=0.0)))


class Score(NamedTuple):
    """A metric's value, its status (``ok`` or why it is NaN) and what it was computed from."""

    value: float
    status: str
    detail: str = ""


# 2 folds: the DR-learner's nuisances are cross-fitted as in Kennedy's sample-splitting
# version, at the lowest cost (the fidelity job fits them for every set)
DR_FOLDS = 2


class CateLearner(ABC):
    """A CATE learner on ``learner``'s models: ``fit`` returns ``ok`` or the reason it cannot be
    fitted; ``cate`` predicts tau(w) on a table's covariates. ``encoder`` is fixed by the caller
    (H's), so the reference and the candidate see one covariate space."""

    name = ""

    def __init__(self, roles: Roles, learner: str, seed: int, encoder: CovariateEncoder, bound: float):
        self.roles, self.learner, self.seed, self.encoder, self.bound = roles, learner, seed, encoder, bound

    @property
    def binary(self) -> bool:
        return self.roles.outcome_type == "binary"

    def _outcome_model(self, x: np.ndarray, y: np.ndarray, seed: int):
        task = "classification" if self.binary else "regression"
        model = make_learner(self.learner, task, seed, 1)
        return model.fit(x, y.astype(np.int64 if self.binary else float))

    def _mean(self, model, x: np.ndarray) -> np.ndarray:
        return _predict_positive(model, x) if self.binary else np.asarray(model.predict(x), dtype=float)

    @abstractmethod
    def fit(self, train: pd.DataFrame) -> str: ...

    @abstractmethod
    def cate(self, covariates: pd.DataFrame) -> np.ndarray: ...


class TLearner(CateLearner):
    """CATE(w) = mu_1(w) - mu_0(w), each arm's outcome model fitted by ``learner`` on its units."""

    name = "T"

    def fit(self, train: pd.DataFrame) -> str:
        roles = self.roles
        a = train[roles.treatment].to_numpy(dtype=np.int64)
        y = train[roles.outcome].to_numpy()
        x = self.encoder.transform(train)
        self.models_ = {}
        for arm in (0, 1):
            rows = a == arm
            if rows.sum() < 2:
                return f"arm {roles.treatment}={arm} has {int(rows.sum())} unit(s); a T-learner needs 2"
            if self.binary and (problem := _classes_problem(y[rows], f"{roles.outcome} in arm {arm}")):
                return problem
            self.models_[arm] = self._outcome_model(x[rows], y[rows], derive_seed(self.seed, "arm", rep=arm))
        return OK

    def cate(self, covariates: pd.DataFrame) -> np.ndarray:
        x = self.encoder.transform(covariates)
        return self._mean(self.models_[1], x) - self._mean(self.models_[0], x)


class SLearner(CateLearner):
    """CATE(w) = mu(w, 1) - mu(w, 0) from one outcome model of Y on (W, A)."""

    name = "S"

    def fit(self, train: pd.DataFrame) -> str:
        roles = self.roles
        a = train[roles.treatment].to_numpy(dtype=np.int64)
        y = train[roles.outcome].to_numpy()
        # both arms are needed, else mu(w, a) of the missing arm is pure extrapolation
        if problem := _classes_problem(a, roles.treatment):
            return problem
        if self.binary and (problem := _classes_problem(y, roles.outcome)):
            return problem
        x = np.column_stack([self.encoder.transform(train), a])
        self.model_ = self._outcome_model(x, y, derive_seed(self.seed, "s"))
        return OK

    def cate(self, covariates: pd.DataFrame) -> np.ndarray:
        x = self.encoder.transform(covariates)
        ones, zeros = np.ones(len(x)), np.zeros(len(x))
        return self._mean(self.model_, np.column_stack([x, ones])) - self._mean(
            self.model_, np.column_stack([x, zeros])
        )


class DRLearner(CateLearner):
    """Kennedy's DR-learner: the AIPW pseudo-outcome
    ``Q1 - Q0 + A (Y - Q1) / g - (1 - A) (Y - Q0) / (1 - g)`` from ``DR_FOLDS``-fold cross-fitted
    nuisances (:func:`~causalsynth.estimate.nuisance.fit_nuisances`, per-arm outcome models; g
    bounded by ``bound``, the grid's propensity bound), regressed on W."""

    name = "DR"

    def fit(self, train: pd.DataFrame) -> str:
        try:
            nu = fit_nuisances(
                train, self.roles, self.learner, DR_FOLDS, True, derive_seed(self.seed, "nuisances")
            )
        except NuisanceFailure as exc:
            return str(exc)
        g = bound_propensity(nu.g, self.bound)
        with np.errstate(divide="ignore", invalid="ignore"):
            pseudo = nu.q1 - nu.q0 + nu.a * (nu.y - nu.q1) / g - (1 - nu.a) * (nu.y - nu.q0) / (1 - g)
        if not np.isfinite(pseudo).all():
            return "a fitted propensity is 0 or 1 and no bound is set (estimation.propensity_bound: 0)"
        model = make_learner(self.learner, "regression", derive_seed(self.seed, "final"), 1)
        self.model_ = model.fit(self.encoder.transform(train), pseudo)
        return OK

    def cate(self, covariates: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.model_.predict(self.encoder.transform(covariates)), dtype=float)


# the learners whose RMSEs u_pehe averages, by name
CATE_LEARNERS: dict[str, type[CateLearner]] = {"t": TLearner, "s": SLearner, "dr": DRLearner}


def _fit_cate_learners(
    train: pd.DataFrame, roles: Roles, learner: str, seed: int, encoder: CovariateEncoder, bound: float
) -> dict[str, tuple[CateLearner, str]]:
    fitted = {}
    for key, cls in CATE_LEARNERS.items():
        model = cls(roles, learner, derive_seed(seed, key), encoder, bound)
        fitted[key] = (model, model.fit(train))
    return fitted


def u_pehe(
    reference: dict[str, tuple[CateLearner, str]],
    candidate: dict[str, tuple[CateLearner, str]],
    holdout: pd.DataFrame,
) -> Score:
    """The mean over ``CATE_LEARNERS`` of the RMSE on ``holdout`` between the reference's and the
    candidate's CATE; NaN with the first learner's reason when any learner cannot be fitted."""
    rmse = {}
    for key in CATE_LEARNERS:
        (ref, ref_status), (cand, cand_status) = reference[key], candidate[key]
        if ref_status != OK:
            return Score(math.nan, f"reference: {ref.name}-learner: {ref_status}")
        if cand_status != OK:
            return Score(math.nan, f"{cand.name}-learner: {cand_status}")
        rmse[cand.name] = float(np.sqrt(np.mean((ref.cate(holdout) - cand.cate(holdout)) ** 2)))
    detail = "RMSE per learner: " + ", ".join(f"{name} {v:.4g}" for name, v in rmse.items())
    return Score(float(np.mean(list(rmse.values()))), OK, detail)


def default_propensity_bound() -> float:
    """The grid's propensity bound (schema ``estimation.propensity_bound``), the DR-learner's default."""
    return float(section_defaults("estimation")["propensity_bound"])


def mechanism_scores(
    reference: pd.DataFrame,
    candidate: pd.DataFrame,
    holdout: pd.DataFrame,
    roles: Roles,
    learner: str,
    seed: int,
    reference_models: dict[str, Any] | None = None,
    propensity_bound: float | None = None,
) -> tuple[dict[str, Score], dict[str, Any]]:
    """JSD_pi and U_PEHE of ``candidate`` against ``reference``, both evaluated on ``holdout``.

    ``reference_models`` (the second return value of an earlier call with the same reference)
    skips refitting the reference side. ``propensity_bound`` bounds the DR-learner's g (None: the
    grid's default bound).
    """
    bound = default_propensity_bound() if propensity_bound is None else float(propensity_bound)
    encoder = CovariateEncoder(roles).fit(holdout)
    if reference_models is None:
        pi_ref, pi_status = propensity(reference, roles, learner, derive_seed(seed, "pi.reference"), encoder)
        cate_ref = _fit_cate_learners(
            reference, roles, learner, derive_seed(seed, "cate.reference"), encoder, bound
        )
        reference_models = {"pi": (pi_ref, pi_status), "cate": cate_ref}
    pi_ref, pi_status = reference_models["pi"]
    x_h = encoder.transform(holdout)
    out: dict[str, Score] = {}
    pi_c, status = propensity(candidate, roles, learner, derive_seed(seed, "pi.candidate"), encoder)
    if pi_status != OK:
        out["jsd_pi"] = Score(math.nan, f"reference: {pi_status}")
    elif status != OK:
        out["jsd_pi"] = Score(math.nan, status)
    else:
        out["jsd_pi"] = Score(
            jsd_similarity(_predict_positive(pi_ref, x_h), _predict_positive(pi_c, x_h)), OK
        )
    cate_c = _fit_cate_learners(
        candidate, roles, learner, derive_seed(seed, "cate.candidate"), encoder, bound
    )
    out["u_pehe"] = u_pehe(reference_models["cate"], cate_c, holdout)
    return out, reference_models


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
    data_paths: list[str],
    meta_paths: list[str],
    cells: list[tuple[str, int]],
    seeds: list[int],
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

    ``data_paths``, ``meta_paths``, ``cells`` ((generator, rep)) and ``seeds`` name one set each
    (base or hybrid). ``params``: the ``fidelity`` config block; ``estimation``: the
    ``estimation`` block, whose ``folds``/``cross_fit`` set the arm size below which a set is
    degenerate. ``train_path``, ``holdout_path``, ``card_path``: each replicate's draw of the
    real data ({rep: path}; one path: a split every replicate shares); a set is scored against
    its own replicate's rows, with that split's real baseline. Progress (sets done, rate, time
    left) goes to the log.
    """
    if not (len(data_paths) == len(meta_paths) == len(cells) == len(seeds)):
        raise ConfigError("run_fidelity_sets: give one meta path, cell and seed per synthetic set")
    p = fidelity_params(params)
    _, roles = read_card(for_rep(card_path, cells[0][1] if cells else 0))
    est = {**section_defaults("estimation"), **(estimation or {})}
    splits: dict[tuple[str, str, str], tuple[pd.DataFrame, pd.DataFrame, RealBaseline, dict]] = {}
    progress = Progress(f"fidelity {dataset}", len(data_paths))
    out = []
    for path, meta_path, (generator, rep), seed in zip(data_paths, meta_paths, cells, seeds, strict=True):
        key = (for_rep(train_path, rep), for_rep(holdout_path, rep), for_rep(card_path, rep))
        if key not in splits:
            train = roles.validate(read_parquet(key[0]), key[0])
            holdout = roles.validate(read_parquet(key[1]), key[1])
            bound = float(est["propensity_bound"])
            baseline = RealBaseline(train, holdout, roles, p, real_seed, bound)
            splits[key] = (train, holdout, baseline, read_json(key[2]))
        train, holdout, baseline, card = splits[key]
        # a hybrid pool carries its model columns (mu0, mu1, propensity): only role columns are data
        synthetic = roles.validate(read_parquet(path), str(path))[roles.columns]
        rows = fidelity_rows(
            synthetic, train, holdout, roles, p, seed, real_seed, read_json(meta_path),
            int(est["folds"]), bool(est["cross_fit"]), baseline,
        )  # fmt: skip
        # the set's extremes by its replicate's fences (card.json), beside the training rows'
        seconds = rows[0]["seconds"]
        rows += [r | {"seconds": seconds} for r in extreme_rows(synthetic, train, roles, card)]
        out += [{"dataset": dataset, "generator": generator, "rep": int(rep), **r} for r in rows]
        progress.step()
    return write_rows(out, list(FIDELITY.columns), out_path)
