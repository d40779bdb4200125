"""The distribution metrics of rule fidelity: shape, trend, C2ST, naive alpha-precision and
beta-recall (:mod:`causalsynth.evaluate.fidelity` says what each compares and with which real data)."""

from __future__ import annotations

import math
import warnings
from itertools import combinations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.neighbors import NearestNeighbors

from causalsynth.core.encoding import CovariateEncoder
from causalsynth.core.learners import make_learner
from causalsynth.core.roles import Roles
from causalsynth.core.seeds import derive_seed
from causalsynth.core.vocabulary import OK


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
