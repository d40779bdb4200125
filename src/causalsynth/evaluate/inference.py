"""Rule inferential_utility: do 95% intervals computed on synthetic data as if it were real
cover the real effect? (Decruyenaere et al., UAI 2024: they do not, and less so the larger the
synthetic set, because the interval narrows while the generator's error stays.)

For one (dataset, generator) the rule draws ``reps`` synthetic sets of each size ``n`` in
``sizes``, runs the estimators on each as on real data and reports, per (n, estimator), the share
of intervals that cover the truth (``coverage``), their mean width and mean error. The fitted
generators are not kept by the generate rule, so the sets come from what each replicate
released (the ``reps`` sets of a size are spread evenly over the generator's replicates, which
are independent fits):

``design = hybrid_process`` (hybrid generators)
    Each set is a fresh draw of the released pool's process (:class:`~causalsynth.evaluate.engine.PoolProcess`):
    covariates resampled from the pool's rows, A from its propensity, Y from its outcome model
    and residuals. Any size can be drawn; the population is the pool's.
``design = subsample`` (fully generative generators)
    Each set is ``n`` rows drawn without replacement from the released set. Its rows are
    exchangeable draws of the fitted generator, so each subsample is distributed as a fresh set of
    ``n`` rows of that fit, and the mean of the coverage indicators estimates the coverage of
    fresh sets without bias; subsamples of one set overlap, which the MCSE below accounts for by
    treating each fit as a cluster. Sizes above the released rows cannot be drawn this way
    (resampling with replacement would repeat rows and fake information the generator did not
    produce): they get a row with NaN coverage and the reason in ``status``. At ``n`` equal to the
    released rows the set itself is the only one of its fit.
``design = true_process`` (generator ``real``, simulated datasets only)
    Fresh samples of the dataset's data-generating process: the reference an honest estimator
    reaches (coverage near 0.95).

The truth: the card's truth where it is the estimand's value (``exact`` or ``monte_carlo``);
otherwise (real datasets, whose card holds another study's estimate) the same estimator and
learner on the real training table, ``truth_kind = real_estimate`` with its standard error in
``truth_se``. The real data's empirical distribution is then the population, the stand-in the
bootstrap uses: a generator that reproduced it exactly would cover that estimate at about 95%.

``coverage_mcse``: the larger of the binomial MCSE over all sets and the standard error of the
per-fit coverages over fits (sets of one fit share its error, so the fits are the independent
units); with a single fit only the binomial one exists, and it is then optimistic.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from causalsynth.core.errors import ConfigError, DataError
from causalsynth.core.io import read_parquet
from causalsynth.core.progress import Progress
from causalsynth.core.roles import Roles, read_card
from causalsynth.core.schema import resolve_section
from causalsynth.core.seeds import derive_seed
from causalsynth.core.vocabulary import INFERENTIAL_UTILITY, REAL, is_hybrid
from causalsynth.estimate.grid import check_params, grid_defaults, run_grid, write_rows
from causalsynth.estimate.real import COVERABLE_TRUTH_KINDS, truth_of
from causalsynth.evaluate.engine import PoolProcess

HYBRID_PROCESS, SUBSAMPLE, TRUE_PROCESS = "hybrid_process", "subsample", "true_process"
REAL_ESTIMATE = "real_estimate"


def inferential_params(params: dict[str, Any] | None) -> dict[str, Any]:
    p = resolve_section(params, "inferential_utility", "inferential_utility")
    sizes = p["sizes"]
    if not sizes or any(not isinstance(n, int) or n < 20 for n in sizes):
        raise ConfigError(f"inferential_utility: sizes must be integers >= 20, got {sizes!r}")
    return p


def design_of(generator: str) -> str:
    if generator == REAL:
        return TRUE_PROCESS
    return HYBRID_PROCESS if is_hybrid(generator) else SUBSAMPLE


class SetSource:
    """Synthetic sets of one released table (one generator fit)."""

    def __init__(self, table: pd.DataFrame, roles: Roles, design: str, source: str):
        self.design = design
        self.roles = roles
        self.problem: str | None = None
        if design == HYBRID_PROCESS:
            try:
                self.process = PoolProcess(table, roles, source)
            except DataError as err:  # a pool without an arm has no process to draw from
                self.problem = f"the pool cannot be simulated: {err}"
        else:
            self.table = roles.validate(table, source)[roles.columns].reset_index(drop=True)

    def available(self, n: int) -> str | None:
        """Why sets of ``n`` rows cannot be drawn, or None."""
        if self.problem:
            return self.problem
        if self.design == SUBSAMPLE and n > len(self.table):
            return (
                f"{n} rows exceed the {len(self.table)} released rows; the fitted generator is not kept, "
                "and resampling with replacement would repeat rows"
            )
        return None

    def n_sets(self, n: int, wanted: int) -> int:
        # n == released rows: every subsample is the set itself
        return 1 if self.design == SUBSAMPLE and n == len(self.table) else wanted

    def draw(self, n: int, seed: int) -> pd.DataFrame:
        if self.design == HYBRID_PROCESS:
            return self.process.sample(n, seed)
        keep = np.sort(np.random.default_rng(seed).choice(len(self.table), n, replace=False))
        return self.table.iloc[keep].reset_index(drop=True)


class TrueProcessSource:
    """Fresh samples of a simulated dataset's process."""

    design = TRUE_PROCESS

    def __init__(self, process):
        self.process = process

    def available(self, n: int) -> str | None:
        return None

    def n_sets(self, n: int, wanted: int) -> int:
        return wanted

    def draw(self, n: int, seed: int) -> pd.DataFrame:
        return self.process.sample(n, seed)


def summarize_coverage(sets: pd.DataFrame, truth: dict[str, float]) -> pd.DataFrame:
    """Per (n_rows, estimator, learner): coverage with its MCSE, mean width and bias over the ok sets."""
    rows = []
    for (n, estimator, learner), g in sets.groupby(["n_rows", "estimator", "learner"], sort=True):
        ok = g[g["status"] == "ok"]
        t = truth[estimator]
        hit = ((ok["ci_low"] <= t) & (t <= ok["ci_high"])).astype(float)
        r = len(ok)
        cov = float(hit.mean()) if r else math.nan
        mcse = math.sqrt(cov * (1 - cov) / r) if r else math.nan
        per_fit = hit.groupby(ok["fit"]).mean()
        if len(per_fit) >= 2:
            mcse = max(mcse, float(per_fit.std(ddof=1) / math.sqrt(len(per_fit))))
        failures = g.loc[g["status"] != "ok", "status"]
        rows.append(
            {
                "n_rows": int(n),
                "estimator": estimator,
                "learner": learner,
                "coverage": cov,
                "coverage_mcse": mcse,
                "ci_width": float((ok["ci_high"] - ok["ci_low"]).mean()) if r else math.nan,
                "reps": r,
                "n_fits": int(ok["fit"].nunique()),
                "n_failed": int(len(failures)),
                "bias": float((ok["ate"] - t).mean()) if r else math.nan,
                "status": "ok" if r else (str(failures.iloc[0]) if len(failures) else "no set"),
            }
        )
    return pd.DataFrame(rows)


def _truths(
    card: dict[str, Any], train: pd.DataFrame, roles: Roles, p: dict[str, Any], seed: int
) -> tuple[dict[str, float], dict[str, float], str]:
    truth, kind = truth_of(card)
    estimators = p["estimators"]
    if kind in COVERABLE_TRUTH_KINDS and np.isfinite(truth):
        return {e: truth for e in estimators}, {e: math.nan for e in estimators}, kind
    rows = run_grid(train, roles, p, derive_seed(seed, "real"), n_jobs=1)
    return {r["estimator"]: r["ate"] for r in rows}, {r["estimator"]: r["se"] for r in rows}, REAL_ESTIMATE


def run_inferential_utility(
    data_paths: list[str],
    train_path: str,
    card_path: str,
    params: dict[str, Any],
    estimation: dict[str, Any],
    seed: int,
    out_path: str,
    dataset: str,
    generator: str,
    dataset_options: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Coverage of as-if-real intervals on synthetic sets of each size; columns ``vocabulary.INFERENTIAL_UTILITY``.

    ``data_paths``: the released table of each replicate of ``generator`` (empty for ``real``,
    which samples the simulated dataset's process built from ``dataset_options``). ``params``:
    the ``inferential_utility`` block (``sizes``, ``reps``, ``estimators``, ``learner``);
    ``estimation``: the ``estimation`` block (folds, cross-fitting, bounds).
    """
    p_iu = inferential_params(params)
    grid_keys = {
        k: estimation[k] for k in ("folds", "cross_fit", "truncation", "propensity_bound") if k in estimation
    }
    p = check_params(
        {**grid_keys, "estimators": p_iu["estimators"], "learner": p_iu["learner"]},
        grid_defaults(),
        ["estimators"],
        "inferential_utility",
    )
    card, roles = read_card(card_path)
    train = roles.validate(read_parquet(train_path), str(train_path))
    design = design_of(generator)
    if design == TRUE_PROCESS:
        from causalsynth.data import get_dataset  # lazily: only the reference rows need a loader

        opts = dict(dataset_options or {})
        process = get_dataset(dataset, opts.pop("loader", None), **opts)
        sources: list = [TrueProcessSource(process)]
        # the process's own effect (a card may hold the sample average of its training rows)
        truth = {e: float(process.true_ate) for e in p["estimators"]}
        truth_se, kind = {e: math.nan for e in p["estimators"]}, TRUE_PROCESS
    else:
        if not data_paths:
            raise ConfigError(f"inferential_utility: generator '{generator}' needs its released tables")
        sources = [SetSource(read_parquet(path), roles, design, str(path)) for path in data_paths]
        truth, truth_se, kind = _truths(card, train, roles, p, seed)
    per_fit = math.ceil(p_iu["reps"] / len(sources))
    plan = [
        (n, f, k)
        for n in p_iu["sizes"]
        for f, src in enumerate(sources)
        if src.available(n) is None
        for k in range(src.n_sets(n, per_fit))
    ]
    progress = Progress(f"inferential_utility {dataset}/{generator}", len(plan))
    records = []
    for n, f, k in plan:
        set_seed = derive_seed(seed, "set", rep=f"n={n}:fit={f}:k={k}")
        sample = sources[f].draw(n, derive_seed(set_seed, "draw"))
        for row in run_grid(sample, roles, p, set_seed, n_jobs=1):
            records.append({"n_rows": n, "fit": f, **row})
        progress.step()
    columns = ["n_rows", "fit", "estimator", "learner", "ate", "ci_low", "ci_high", "status"]
    sets = pd.DataFrame(records, columns=columns)
    rows = summarize_coverage(sets, truth).to_dict("records") if len(sets) else []
    for n in p_iu["sizes"]:
        reasons = [src.available(n) for src in sources]
        if all(reasons):  # no fit can give sets of this size: say so instead of a silent gap
            for e in p["estimators"]:
                rows.append(
                    {"n_rows": n, "estimator": e, "learner": p["learners"][0], "coverage": math.nan,
                     "coverage_mcse": math.nan, "ci_width": math.nan, "reps": 0, "n_fits": 0,
                     "n_failed": 0, "bias": math.nan, "status": reasons[0]}
                )  # fmt: skip
    for r in rows:
        e = r["estimator"]
        r.update(dataset=dataset, generator=generator, truth=truth[e], truth_kind=kind, truth_se=truth_se[e])
        r["design"] = design
    rows.sort(key=lambda r: (r["n_rows"], r["estimator"]))
    return write_rows(rows, list(INFERENTIAL_UTILITY.columns), out_path)
