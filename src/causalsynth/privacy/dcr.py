"""Distance to closest record (DCR): privacy screening of synthetic rows.

For every synthetic row, the DCR is the Euclidean distance to the closest row of the real
*training* table, in a space standardized by the training data (:class:`CovariateEncoder`):

* continuous columns are z-scored with the training mean and standard deviation, so one
  training standard deviation counts 1;
* binary columns are 0/1 times ``categorical_weight`` and categorical columns are one-hot
  indicators times ``categorical_weight / sqrt(2)``, so two rows that differ in one binary or
  one categorical column are ``categorical_weight`` apart (default 1.0: a discrete mismatch
  weighs as much as one standard deviation of a continuous column).

The baseline is the DCR of the real *holdout* rows to the training rows: a synthetic row much
closer to the training data than real unseen rows is a near-copy (privacy risk), one much
farther is implausible. DCR is computed on the covariates and on whole records (covariates +
treatment + outcome); both are reported, the filter acts on the covariate DCR (the hybrid
generator keeps only the covariates) and, for release safety, also drops every whole-record
copy.

Nearest neighbours are exact: a float32 matrix product finds, for each synthetic row, the
training rows that could be the closest one within a rigorous rounding-error bound, and the
distances of those candidates are then recomputed in float64 with the direct formula
``sqrt(sum((t - x) ** 2))``, the same arithmetic as a row-by-row loop, so the minima are equal
bit for bit. Work is chunked over synthetic rows, so memory stays bounded whatever their number.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from causalsynth.core.cells import RepCell, rep_cells
from causalsynth.core.encoding import CovariateEncoder
from causalsynth.core.errors import ConfigError
from causalsynth.core.io import read_parquet, write_json, write_parquet
from causalsynth.core.layout import dcr_files
from causalsynth.core.provenance import CORE_PACKAGES, provenance_record
from causalsynth.core.roles import Roles, read_card
from causalsynth.core.schema import default, resolve_section
from causalsynth.core.splits import SplitPaths, for_rep
from causalsynth.core.threads import limit_threads, resolve_threads

__all__ = [
    "DCRFilter",
    "dcr_summary",
    "distribution_summary",
    "nearest_neighbors",
    "record_encoder",
    "two_nearest_distances",
    "has_record_columns",
    "run_dcr_filter",
    "run_dcr_filter_reps",
]

# Rows of the float32 distance block one task handles at most / at least; 4 MiB blocks stay
# in the L2/L3 caches, where the argmin and min passes run several times faster than from RAM.
_BLOCK_BYTES = 4 << 20
_MIN_CHUNK, _MAX_CHUNK = 32, 1024
# The rounding-error bound below is already worst case; the factor covers the float64
# recomputation's own (2**-29 times smaller) error and leaves room for BLAS kernels.
_SAFETY = 2.0

QUANTILE_LEVELS = (0.0, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975, 0.99, 1.0)
HISTOGRAM_BINS = 40


# ----------------------------------------------------------------------------- nearest neighbours


def nearest_neighbors(
    query: np.ndarray,
    reference: np.ndarray,
    *,
    n_jobs: int = 1,
    block_bytes: int = _BLOCK_BYTES,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact Euclidean nearest neighbour in ``reference`` of every row of ``query``.

    Returns ``(distances, indices)``: float64 distances equal bit for bit to
    ``np.sqrt(np.sum((reference - x) ** 2, axis=1)).min()`` for each query row ``x``, and the
    index of that closest reference row (the smallest index among exact ties).

    Candidates come from a float32 matrix product of the centred data: with ``u`` the float32
    unit roundoff, each entry of ``||y||^2 - 2 x.y`` is off by at most ``(d + 5) u (||x|| +
    ||y||)^2``, so every reference row whose approximate value lies within twice that bound of
    the row's approximate minimum is recomputed exactly. Usually that is the argmin alone.
    Memory: ``n_jobs`` blocks of about ``block_bytes`` (at least 32 query rows each) plus the
    inputs; no n_query x n_reference matrix is ever held.
    """
    q = np.ascontiguousarray(query, dtype=np.float64)
    r = np.ascontiguousarray(reference, dtype=np.float64)
    if q.ndim != 2 or r.ndim != 2 or q.shape[1] != r.shape[1]:
        raise ValueError(f"query and reference must be 2-D with equal widths, got {q.shape} and {r.shape}")
    if len(r) == 0:
        raise ValueError("reference has no rows: a nearest neighbour needs at least one")
    if not (np.isfinite(q).all() and np.isfinite(r).all()):
        raise ValueError("query and reference must be finite (no NaN or inf)")
    n_q, d = q.shape
    distances = np.empty(n_q, dtype=np.float64)
    indices = np.empty(n_q, dtype=np.int64)
    if n_q == 0:
        return distances, indices
    if d == 0:
        distances[:] = 0.0
        indices[:] = 0
        return distances, indices

    # Centring on the reference mean shrinks the norms, hence the rounding bound.
    center = r.mean(axis=0)
    rc, qc = r - center, q - center
    r_sq = np.einsum("ij,ij->i", rc, rc)
    q_norm = np.sqrt(np.einsum("ij,ij->i", qc, qc))
    big = float(max(np.sqrt(r_sq.max()), q_norm.max()))
    # float32 is twice as fast, but squares above ~1e38 overflow it
    dtype = np.float32 if big < 1e15 else np.float64
    unit = np.finfo(dtype).eps / 2
    tol = 2.0 * _SAFETY * (d + 5) * unit * (q_norm + np.sqrt(r_sq.max())) ** 2
    # One product gives ||y||^2 - 2 x.y: the query gets a column of ones, the reference its norms.
    r_aug = np.vstack([-2.0 * rc.T, r_sq[None, :]]).astype(dtype)
    q_aug = np.hstack([qc, np.ones((n_q, 1))]).astype(dtype)

    itemsize = np.dtype(dtype).itemsize
    chunk = int(np.clip(block_bytes // (itemsize * len(r)), _MIN_CHUNK, _MAX_CHUNK))
    starts = range(0, n_q, chunk)

    def work(start: int) -> None:
        stop = min(start + chunk, n_q)
        rows = np.arange(stop - start)
        g = q_aug[start:stop] @ r_aug
        best = g.argmin(axis=1)
        best_val = g[rows, best]
        g[rows, best] = np.inf
        runner_up = g.min(axis=1)
        tol_c = tol[start:stop]
        qs = q[start:stop]
        dist = np.sqrt(np.sum((r[best] - qs) ** 2, axis=1))
        ambiguous = np.flatnonzero(runner_up <= best_val + tol_c)
        if ambiguous.size:
            g[ambiguous, best[ambiguous]] = best_val[ambiguous]
            mask = g[ambiguous] <= (best_val[ambiguous] + tol_c[ambiguous])[:, None]
            pos, cand = np.nonzero(mask)
            cand_dist = np.sqrt(np.sum((r[cand] - qs[ambiguous[pos]]) ** 2, axis=1))
            # smallest exact distance per row, then smallest reference index among ties
            order = np.lexsort((cand, cand_dist, pos))
            first = order[np.r_[True, pos[order][1:] != pos[order][:-1]]]
            dist[ambiguous[pos[first]]] = cand_dist[first]
            best[ambiguous[pos[first]]] = cand[first]
        distances[start:stop] = dist
        indices[start:stop] = best

    workers = resolve_threads(n_jobs)
    # BLAS threads inside worker threads would oversubscribe the cores
    with limit_threads(1):
        if workers == 1 or len(starts) == 1:
            for s in starts:
                work(s)
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(work, starts))
    return distances, indices


def two_nearest_distances(query: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Distances from every row of ``query`` to its closest and second-closest row of ``reference``.

    Returns an ``(n_query, 2)`` float64 array, computed with the direct formula of
    :func:`nearest_neighbors` (``sqrt(sum((t - x) ** 2))``), so the first column equals its
    distances bit for bit. For the nearest-neighbour distance ratio; needs two reference rows.
    """
    q = np.ascontiguousarray(query, dtype=np.float64)
    r = np.ascontiguousarray(reference, dtype=np.float64)
    if q.ndim != 2 or r.ndim != 2 or q.shape[1] != r.shape[1]:
        raise ValueError(f"query and reference must be 2-D with equal widths, got {q.shape} and {r.shape}")
    if len(r) < 2:
        raise ValueError(f"a second nearest neighbour needs at least two reference rows, got {len(r)}")
    out = np.empty((len(q), 2), dtype=np.float64)
    # the full distance block of a chunk is held once; its size is bounded like nearest_neighbors'
    chunk = int(np.clip(_BLOCK_BYTES // (8 * len(r) * max(r.shape[1], 1)), 1, _MAX_CHUNK))
    for start in range(0, len(q), chunk):
        block = q[start : start + chunk]
        d = np.sqrt(np.sum((r[None, :, :] - block[:, None, :]) ** 2, axis=2))
        out[start : start + len(block)] = np.partition(d, 1, axis=1)[:, :2]
    return out


def record_encoder(roles: Roles, train: pd.DataFrame, categorical_weight: float) -> CovariateEncoder:
    """The whole-record space (covariates, treatment, outcome) of the DCR, fitted on ``train``."""
    return CovariateEncoder(roles, columns=roles.columns, categorical_weight=categorical_weight).fit(train)


# ----------------------------------------------------------------------------- input checks


def has_record_columns(roles: Roles, df: pd.DataFrame) -> bool:
    """Whether ``df`` carries whole records (treatment and outcome columns)."""
    return roles.treatment in df.columns and roles.outcome in df.columns


# ----------------------------------------------------------------------------- summaries


def dcr_summary(synthetic: np.ndarray, holdout: np.ndarray) -> dict[str, float | int | None]:
    """Median and 5th percentile of synthetic and holdout DCR, and the shares that flag copies."""
    synthetic = np.asarray(synthetic, dtype=float)
    holdout = np.asarray(holdout, dtype=float)
    h05 = _quantile(holdout, 0.05)
    return {
        "n_synthetic": int(synthetic.size),
        "n_holdout": int(holdout.size),
        "synthetic_dcr_median": _quantile(synthetic, 0.5),
        "synthetic_dcr_p05": _quantile(synthetic, 0.05),
        "holdout_dcr_median": _quantile(holdout, 0.5),
        "holdout_dcr_p05": h05,
        "share_exact_copies": _share(synthetic == 0.0),
        "holdout_share_exact_copies": _share(holdout == 0.0),
        "share_closer_than_holdout_p05": None if h05 is None else _share(synthetic < h05),
    }


def distribution_summary(
    synthetic: np.ndarray, holdout: np.ndarray, bins: int = HISTOGRAM_BINS
) -> dict[str, Any]:
    """Quantiles and a shared-edge histogram of both DCR samples, enough to draw them later.

    The bins span ``[0, 1.05 * max(99th percentiles)]``; rows beyond fall in ``*_overflow``.
    """
    synthetic = np.asarray(synthetic, dtype=float)
    holdout = np.asarray(holdout, dtype=float)
    tops = [q for q in (_quantile(synthetic, 0.99), _quantile(holdout, 0.99)) if q is not None]
    hi = 1.05 * max(tops) if tops and max(tops) > 0 else 1.0
    edges = np.linspace(0.0, hi, bins + 1)
    return {
        "bin_edges": edges,
        "synthetic_counts": np.histogram(synthetic, bins=edges)[0],
        "holdout_counts": np.histogram(holdout, bins=edges)[0],
        "synthetic_overflow": int((synthetic > hi).sum()),
        "holdout_overflow": int((holdout > hi).sum()),
        "quantile_levels": list(QUANTILE_LEVELS),
        "synthetic_quantiles": [_quantile(synthetic, p) for p in QUANTILE_LEVELS],
        "holdout_quantiles": [_quantile(holdout, p) for p in QUANTILE_LEVELS],
    }


def _quantile(x: np.ndarray, p: float) -> float | None:
    return float(np.quantile(x, p)) if x.size else None


def _share(mask: np.ndarray) -> float | None:
    return float(mask.mean()) if mask.size else None


# ----------------------------------------------------------------------------- the filter


class DCRFilter:
    """Drop near-copies (and optionally implausible rows) of the training data.

    ``fit(train, holdout)`` fits the encoders on the training table and computes the holdout's
    DCR; the thresholds are its ``lower_quantile`` and, if set, ``upper_quantile``.
    ``filter(synthetic)`` keeps a synthetic row unless

    * its covariate DCR is below the lower threshold, or is 0 (an exact copy of a training
      row's covariates is a near-copy whatever the threshold), or its whole record (when the
      synthetic set has treatment and outcome columns) exactly copies a training record
      ("low": near-copies, a privacy risk);
    * its covariate DCR is above the upper threshold ("high": implausible rows).

    So a filtered set never holds an exact copy of a training row, in covariates or whole.
    """

    def __init__(
        self,
        roles: Roles,
        lower_quantile: float = default("dcr", "lower_quantile"),
        upper_quantile: float | None = default("dcr", "upper_quantile"),
        categorical_weight: float = default("dcr", "categorical_weight"),
        n_jobs: int = 1,
    ):
        self.roles = roles
        self.lower_quantile = lower_quantile
        self.upper_quantile = upper_quantile
        self.categorical_weight = categorical_weight
        self.n_jobs = n_jobs

    def _check_params(self) -> None:
        lo, hi = self.lower_quantile, self.upper_quantile
        if not (isinstance(lo, int | float) and 0.0 <= lo <= 1.0):
            raise ConfigError(f"DCR lower_quantile must be in [0, 1], got {lo!r}")
        if hi is not None and not (isinstance(hi, int | float) and lo < hi <= 1.0):
            raise ConfigError(f"DCR upper_quantile must be null or in (lower_quantile={lo}, 1], got {hi!r}")
        w = self.categorical_weight
        if not (isinstance(w, int | float) and w > 0 and np.isfinite(w)):
            raise ConfigError(f"DCR categorical_weight must be a positive number, got {w!r}")

    def fit(self, train: pd.DataFrame, holdout: pd.DataFrame) -> DCRFilter:
        self._check_params()
        if len(train) == 0 or len(holdout) == 0:
            raise ValueError(f"DCR needs training and holdout rows, got {len(train)} and {len(holdout)}")
        roles = self.roles
        self.covariate_encoder_ = CovariateEncoder(roles, categorical_weight=self.categorical_weight).fit(
            train
        )
        self.record_encoder_ = record_encoder(roles, train, self.categorical_weight)
        self.train_covariates_ = self.covariate_encoder_.transform(train)
        self.train_records_ = self.record_encoder_.transform(train)
        self.holdout_dcr_ = self._nn(self.covariate_encoder_.transform(holdout), self.train_covariates_)
        self.holdout_record_dcr_ = self._nn(self.record_encoder_.transform(holdout), self.train_records_)
        self.lower_threshold_ = float(np.quantile(self.holdout_dcr_, self.lower_quantile))
        self.upper_threshold_ = (
            None
            if self.upper_quantile is None
            else float(np.quantile(self.holdout_dcr_, self.upper_quantile))
        )
        return self

    def _nn(self, query: np.ndarray, reference: np.ndarray) -> np.ndarray:
        return nearest_neighbors(query, reference, n_jobs=self.n_jobs)[0]

    def score(self, synthetic: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
        """Covariate DCR and whole-record DCR (``None`` without treatment/outcome columns)."""
        cov = self._nn(self.covariate_encoder_.transform(synthetic), self.train_covariates_)
        if not has_record_columns(self.roles, synthetic):
            return cov, None
        return cov, self._nn(self.record_encoder_.transform(synthetic), self.train_records_)

    def filter(self, synthetic: pd.DataFrame) -> tuple[np.ndarray, dict[str, Any]]:
        """Boolean mask of rows to keep, and the counts and summaries for ``dcr.json``."""
        cov, rec = self.score(synthetic)
        exact = cov == 0.0
        exact_record = rec == 0.0 if rec is not None else np.zeros_like(exact)
        low = (cov < self.lower_threshold_) | exact | exact_record
        high = np.zeros_like(low)
        if self.upper_threshold_ is not None:
            high = (cov > self.upper_threshold_) & ~low
        keep = ~(low | high)
        report: dict[str, Any] = {
            "n_input": int(cov.size),
            "n_filtered_low": int(low.sum()),
            "n_filtered_high": int(high.sum()),
            "n_exact_copies_removed": int(exact.sum()),
            "n_exact_record_copies_removed": int(exact_record.sum()),
            "n_output": int(keep.sum()),
            "thresholds": {
                "lower_quantile": self.lower_quantile,
                "upper_quantile": self.upper_quantile,
                "lower_dcr": self.lower_threshold_,
                "upper_dcr": self.upper_threshold_,
                "rule": "drop if covariate DCR < lower_dcr or == 0, or whole record DCR == 0; "
                "drop if covariate DCR > upper_dcr",
            },
            "covariates": dcr_summary(cov, self.holdout_dcr_),
            "record": None if rec is None else dcr_summary(rec, self.holdout_record_dcr_),
            "filtered": {
                "covariates": dcr_summary(cov[keep], self.holdout_dcr_),
                "record": None if rec is None else dcr_summary(rec[keep], self.holdout_record_dcr_),
            },
            "distributions": {
                "covariates": distribution_summary(cov, self.holdout_dcr_),
                "record": None if rec is None else distribution_summary(rec, self.holdout_record_dcr_),
            },
        }
        return keep, report


# ----------------------------------------------------------------------------- entry function


def run_dcr_filter(
    train_path: str,
    holdout_path: str,
    card_path: str,
    synthetic_path: str,
    params: dict[str, Any],
    out_filtered: str,
    out_json: str,
    n_jobs: int = 1,
    generator: str | None = None,
    rep: int | None = None,
) -> dict[str, Any]:
    """Screen one synthetic set by DCR; write ``filtered.parquet`` and ``dcr.json``.

    The JSON names its cell (``dataset`` from the card, ``generator`` and ``rep`` as given), so
    readers never parse paths.

    ``params``: the ``dcr`` config block (defaults from the schema): ``lower_quantile``,
    ``upper_quantile`` (null: no upper cut), ``categorical_weight``. The filtered file has exactly the synthetic
    input's columns and dtypes (the kept rows, in input order). The JSON holds the counts
    (``n_input``, ``n_filtered_low``, ``n_filtered_high``, ``n_exact_copies_removed``,
    ``n_exact_record_copies_removed``, ``n_output``), ``thresholds``, the summaries of the
    input (``covariates``, ``record``) and of the output (``filtered``), and ``distributions``
    (quantiles and histograms of synthetic and holdout DCR). Returns that dict.
    """
    t0 = time.perf_counter()
    params = resolve_section(params, "dcr", "run_dcr_filter")
    card, roles = read_card(card_path)
    dataset = card.get("dataset", str(card_path))
    train = roles.validate(read_parquet(train_path), str(train_path), reset_index=False)
    holdout = roles.validate(read_parquet(holdout_path), str(holdout_path), reset_index=False)
    raw = read_parquet(synthetic_path)
    columns = roles.columns if has_record_columns(roles, raw) else roles.covariate_names
    synthetic = roles.validate(raw, str(synthetic_path), columns, reset_index=False)

    filt = DCRFilter(
        roles,
        **params,
        n_jobs=n_jobs,
    ).fit(train, holdout)
    keep, report = filt.filter(synthetic)
    write_parquet(raw.loc[keep].reset_index(drop=True), out_filtered)
    summary = {
        "dataset": dataset,
        "generator": generator,
        "rep": rep,
        "synthetic_path": str(synthetic_path),
        "params": {
            "lower_quantile": filt.lower_quantile,
            "upper_quantile": filt.upper_quantile,
            "categorical_weight": filt.categorical_weight,
        },
        "space": {
            "covariates": filt.covariate_encoder_.feature_names_,
            "record": filt.record_encoder_.feature_names_ if report["record"] is not None else None,
        },
        "n_train": len(train),
        "n_holdout": len(holdout),
        **report,
        "seconds": time.perf_counter() - t0,
        **provenance_record(CORE_PACKAGES),
    }
    write_json(summary, out_json)
    return summary


def run_dcr_filter_reps(
    folder: str,
    cells: Sequence[RepCell | Mapping[str, Any]],
    train_path: SplitPaths,
    holdout_path: SplitPaths,
    card_path: SplitPaths,
    params: dict[str, Any],
    generator: str,
    n_jobs: int = 1,
) -> list[dict[str, Any]]:
    """:func:`run_dcr_filter` for every replicate of one generator, in one job (a screen takes
    less time than a job's start-up), each against its replicate's draw; writes
    :func:`dcr_files` under ``folder``. ``cells``: one :class:`~causalsynth.core.cells.RepCell`
    per replicate, its ``data`` the set the generator sampled."""
    cells = rep_cells(cells, f"run_dcr_filter_reps ({generator})", needs=("data",))
    Path(folder).mkdir(parents=True, exist_ok=True)
    out = []
    for cell in cells:
        rep = cell.rep
        filtered, summary = dcr_files(folder, rep)
        out.append(
            run_dcr_filter(
                for_rep(train_path, rep), for_rep(holdout_path, rep), for_rep(card_path, rep), cell.data,
                params, filtered, summary, n_jobs=n_jobs, generator=generator, rep=rep,
            )
        )  # fmt: skip
    return out
