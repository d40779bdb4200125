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
    treating each fit as a cluster. A size above the released rows of every fit cannot be drawn
    this way (resampling with replacement would repeat rows and fake information the generator did
    not produce): it gets no row, and every row of the generator names it and why in
    ``sizes_dropped``, so the table holds no size without a coverage. At ``n`` equal to the
    released rows the set itself is the only one of its fit.
``design = train_resample`` (generator ``perfect``, every dataset)
    A perfect generator: one that reproduces the real training rows' distribution exactly, i.e.
    whose sets are ``n`` rows drawn with replacement from the training table the generators were
    fitted on. It carries the one error no generator can avoid, the training sample's own, and so
    is the yardstick of every generator fitted on the same rows.
``design = true_process`` (generator ``real``, simulated datasets only)
    Fresh samples of the dataset's data-generating process: the reference an honest estimator
    reaches (coverage near 0.95).

Training splits. Each fit (replicate) may have its own training table (``train_path`` a list,
one per released table); with one table every fit saw the same rows, and every coverage but
``real``'s is conditional on that one split: the generator's sets and the perfect generator's all
inherit its sampling error, which at ``n`` synthetic rows from ``m`` training rows costs a perfect
generator coverage 2 Phi(1.96 / sqrt(1 + n / m)) - 1 on average over splits, and anything from
near 0 to near 0.95 given one split once ``n`` exceeds ``m`` (config/README.md).
``train_splits`` says how many training tables the row's fits saw.

The truth: the card's truth where it is the estimand's value (``exact`` or ``monte_carlo``);
otherwise (real datasets, whose card holds another study's estimate) the same estimator and
learner on each fit's real training table, ``truth_kind = real_estimate`` with its standard error
in ``truth_se`` (means over the row's fits). The real data's empirical distribution is then the
population, the stand-in the bootstrap uses: the perfect generator covers that estimate at about
95% at every size.

``coverage_mcse``: the larger of the binomial MCSE over all sets (the Wilson interval's half-width
over 1.96, as the engine's, so a coverage of 0 or 1 does not claim an error of 0) and the standard
error of the per-fit coverages over fits (sets of one fit share its error, so the fits are the
independent units); with a single fit only the binomial one exists, and it then measures the
Monte Carlo error of that fit's (that split's) coverage only.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from causalsynth.core.cells import RepCell, rep_cells
from causalsynth.core.errors import ConfigError, DataError
from causalsynth.core.io import read_parquet
from causalsynth.core.progress import Progress
from causalsynth.core.roles import Roles, read_card
from causalsynth.core.schema import resolve_section
from causalsynth.core.seeds import derive_seed
from causalsynth.core.splits import SplitPaths, for_rep
from causalsynth.core.uncertainty import wilson_interval
from causalsynth.core.vocabulary import INFERENTIAL_UTILITY, PERFECT, REAL, is_hybrid
from causalsynth.estimate.grid import check_params, grid_defaults, run_grid, write_rows
from causalsynth.estimate.real import COVERABLE_TRUTH_KINDS, truth_of
from causalsynth.evaluate.engine import Z_LEVEL, PoolProcess

HYBRID_PROCESS, SUBSAMPLE, TRAIN_RESAMPLE, TRUE_PROCESS = (
    "hybrid_process",
    "subsample",
    "train_resample",
    "true_process",
)
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
    if generator == PERFECT:
        return TRAIN_RESAMPLE
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

    def unreachable(self, n: int) -> str | None:
        """Why this fit's release cannot give sets of ``n`` rows (None: it can)."""
        if self.design == SUBSAMPLE and n > len(self.table):
            return (
                f"above the {len(self.table)} released rows (the fitted generator is not kept, "
                "and resampling with replacement would repeat rows)"
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


class TrainResampleSource:
    """The perfect generator of one training table: its empirical distribution, any size."""

    design = TRAIN_RESAMPLE
    problem = None

    def __init__(self, train: pd.DataFrame, roles: Roles):
        self.table = train[roles.columns].reset_index(drop=True)

    def unreachable(self, n: int) -> str | None:
        return None

    def n_sets(self, n: int, wanted: int) -> int:
        return wanted

    def draw(self, n: int, seed: int) -> pd.DataFrame:
        rows = np.random.default_rng(seed).integers(0, len(self.table), n)
        return self.table.iloc[rows].reset_index(drop=True)


class TrueProcessSource:
    """Fresh samples of a simulated dataset's process."""

    design = TRUE_PROCESS
    problem = None

    def __init__(self, process):
        self.process = process

    def unreachable(self, n: int) -> str | None:
        return None

    def n_sets(self, n: int, wanted: int) -> int:
        return wanted

    def draw(self, n: int, seed: int) -> pd.DataFrame:
        return self.process.sample(n, seed)


def _mean(values) -> float:
    """The mean, exactly the value where all are one (a summed constant drifts in its last bits)."""
    v = pd.Series(values, dtype=float)
    return float(v.iloc[0]) if v.nunique(dropna=False) == 1 else float(v.mean())


def summarize_coverage(sets: pd.DataFrame) -> pd.DataFrame:
    """Per (n_rows, estimator, learner): coverage of each set's own ``truth`` with its MCSE, mean
    width and bias over the ok sets; ``truth`` and ``truth_se`` are their means over the sets."""
    rows = []
    for (n, estimator, learner), g in sets.groupby(["n_rows", "estimator", "learner"], sort=True):
        ok = g[g["status"] == "ok"]
        hit = ((ok["ci_low"] <= ok["truth"]) & (ok["truth"] <= ok["ci_high"])).astype(float)
        r = len(ok)
        cov = float(hit.mean()) if r else math.nan
        wilson = wilson_interval(int(hit.sum()), r)
        mcse = (wilson.high - wilson.low) / (2 * Z_LEVEL) if r else math.nan
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
                "truth": _mean(g["truth"]),
                "truth_se": _mean(g["truth_se"]),
                "bias": float((ok["ate"] - ok["truth"]).mean()) if r else math.nan,
                "status": "ok" if r else (str(failures.iloc[0]) if len(failures) else "no set"),
            }
        )
    return pd.DataFrame(rows)


def _as_paths(paths: str | os.PathLike | Sequence[str | os.PathLike]) -> list[str]:
    return [str(paths)] if isinstance(paths, (str, os.PathLike)) else [str(p) for p in paths]


def _truths(
    cards: list[dict[str, Any]], trains: list[pd.DataFrame], roles: Roles, p: dict[str, Any], seed: int
) -> tuple[list[dict[str, float]], list[dict[str, float]], str]:
    """Per training table (each with its card: a semi-synthetic truth is its own rows' mean
    effect), the truth and its SE of every estimator, and the truth's kind."""
    if len(cards) not in (1, len(trains)):
        raise ConfigError(f"inferential_utility: {len(cards)} cards for {len(trains)} training tables")
    truths = [truth_of(c) for c in (cards if len(cards) == len(trains) else cards * len(trains))]
    kind = truths[0][1]
    estimators = p["estimators"]
    if kind in COVERABLE_TRUTH_KINDS and all(np.isfinite(t) for t, _ in truths):
        no_se = {e: math.nan for e in estimators}
        return [{e: t for e in estimators} for t, _ in truths], [no_se] * len(trains), kind
    values, ses = [], []
    for i, train in enumerate(trains):
        # the first table keeps the seed label of a single-split run, so its rows do not move
        label = "real" if i == 0 else f"real:split={i}"
        rows = run_grid(train, roles, p, derive_seed(seed, label), n_jobs=1)
        values.append({r["estimator"]: r["ate"] for r in rows})
        ses.append({r["estimator"]: r["se"] for r in rows})
    return values, ses, REAL_ESTIMATE


def run_inferential_sets(
    cells: Sequence[RepCell | Mapping[str, Any]],
    train_path: SplitPaths,
    card_path: SplitPaths,
    params: dict[str, Any],
    estimation: dict[str, Any],
    out_path: str,
    dataset: str,
    dataset_options: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """:func:`inferential_rows` of every generator of a dataset, in one table at ``out_path``.

    One job per dataset because a generator's study takes about as long as a fresh process
    spends importing scikit-learn and the package. ``cells`` holds one record
    (:class:`~causalsynth.core.cells.RepCell`) per replicate a generator's study reads: the
    generator, the replicate (whose training table and card ``train_path`` and ``card_path``
    map it to, :mod:`causalsynth.core.splits`), the study's seed (the generator's, the same in
    each of its records, so its rows are those of a job of its own) and the released table
    (none for ``real`` and ``perfect``, which release nothing).
    """
    rows: list[dict[str, Any]] = []
    for generator, study in _studies(cells).items():
        rows += inferential_rows(
            [c.data for c in study if c.data is not None],
            [for_rep(train_path, c.rep) for c in study],
            [for_rep(card_path, c.rep) for c in study],
            params, estimation, study[0].seed, dataset, generator, dataset_options,
        )  # fmt: skip
    return write_rows(rows, list(INFERENTIAL_UTILITY.columns), out_path)


def _studies(records: Sequence[RepCell | Mapping[str, Any]]) -> dict[str, list[RepCell]]:
    """The cells of each generator's study, generators in the order they first appear; a study
    whose cells disagree on its seed, or of which only some name a released table, is a
    `ConfigError` naming the generator."""
    who = "run_inferential_sets"
    studies: dict[str, list[RepCell]] = {}
    for cell in rep_cells(records, who, needs=("seed",)):
        studies.setdefault(cell.generator, []).append(cell)
    for generator, study in studies.items():
        if len({c.seed for c in study}) > 1:
            raise ConfigError(f"{who}: the cells of generator '{generator}' have different seeds")
        if len({c.data is None for c in study}) > 1:
            raise ConfigError(
                f"{who}: some cells of generator '{generator}' name a released table and some do not"
            )
    return studies


def inferential_rows(
    data_paths: list[str],
    train_path: str | os.PathLike | Sequence[str | os.PathLike],
    card_path: str | Sequence[str],
    params: dict[str, Any],
    estimation: dict[str, Any],
    seed: int,
    dataset: str,
    generator: str,
    dataset_options: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Coverage of as-if-real intervals on synthetic sets of each size; columns ``vocabulary.INFERENTIAL_UTILITY``.

    ``data_paths``: the released table of each replicate of ``generator`` (empty for ``real``,
    which samples the simulated dataset's process built from ``dataset_options``, and for
    ``perfect``, which resamples the training tables). ``train_path``: the real training table
    every replicate saw, or one per replicate in the order of ``data_paths`` (for ``perfect``:
    one fit per table). ``card_path``: the dataset's card, or one per training table (a
    semi-synthetic dataset's truth is its own rows' mean effect). ``params``: the ``inferential_utility`` block (``sizes``, ``reps``,
    ``estimators``, ``learner``); ``estimation``: the ``estimation`` block (folds, cross-fitting,
    bounds).
    """
    p_iu = inferential_params(params)
    grid_keys = {
        k: estimation[k]
        for k in ("folds", "cross_fit", "truncation", "propensity_bound", "influence_share")
        if k in estimation
    }
    p = check_params(
        {**grid_keys, "estimators": p_iu["estimators"], "learner": p_iu["learner"]},
        grid_defaults(),
        ["estimators"],
        "inferential_utility",
    )
    estimators = p["estimators"]
    cards = [read_card(path) for path in _as_paths(card_path)]
    card, roles = cards[0]
    train_paths = _as_paths(train_path)
    trains = [roles.validate(read_parquet(path), path) for path in train_paths]
    design = design_of(generator)
    if design == TRUE_PROCESS:
        from causalsynth.data import get_dataset  # lazily: only the reference rows need a loader

        opts = dict(dataset_options or {})
        process = get_dataset(dataset, opts.pop("loader", None), **opts)
        sources: list = [TrueProcessSource(process)]
        # the process's own effect (a card may hold the sample average of its training rows)
        truths = [{e: float(process.true_ate) for e in estimators}]
        truth_ses, kind = [{e: math.nan for e in estimators}], TRUE_PROCESS
        split_of = [None]  # fresh draws of the process: no training split at all
    else:
        if design == TRAIN_RESAMPLE:
            sources = [TrainResampleSource(t, roles) for t in trains]
            split_of = list(range(len(trains)))
        else:
            if not data_paths:
                raise ConfigError(f"inferential_utility: generator '{generator}' needs its released tables")
            if len(trains) not in (1, len(data_paths)):
                raise ConfigError(
                    f"inferential_utility: generator '{generator}' has {len(data_paths)} released tables "
                    f"but {len(trains)} training tables; give one training table, or one per replicate"
                )
            sources = [SetSource(read_parquet(path), roles, design, str(path)) for path in data_paths]
            split_of = [f if len(trains) > 1 else 0 for f in range(len(sources))]
        split_truths, split_ses, kind = _truths([c for c, _ in cards], trains, roles, p, seed)
        truths = [split_truths[s] for s in split_of]
        truth_ses = [split_ses[s] for s in split_of]
    per_fit = math.ceil(p_iu["reps"] / len(sources))
    usable = [f for f, src in enumerate(sources) if src.problem is None]
    reachable = [n for n in p_iu["sizes"] if any(sources[f].unreachable(n) is None for f in usable)]
    dropped = [n for n in p_iu["sizes"] if n not in reachable] if usable else []
    plan = [
        (n, f, k)
        for n in reachable
        for f in usable
        if sources[f].unreachable(n) is None
        for k in range(sources[f].n_sets(n, per_fit))
    ]
    progress = Progress(f"inferential_utility {dataset}/{generator}", len(plan))
    records = []
    for n, f, k in plan:
        set_seed = derive_seed(seed, "set", rep=f"n={n}:fit={f}:k={k}")
        sample = sources[f].draw(n, derive_seed(set_seed, "draw"))
        for row in run_grid(sample, roles, p, set_seed, n_jobs=1):
            e = row["estimator"]
            records.append({"n_rows": n, "fit": f, "truth": truths[f][e], "truth_se": truth_ses[f][e], **row})
        progress.step()
    grid = ["estimator", "learner", "ate", "ci_low", "ci_high", "status"]
    sets = pd.DataFrame(records, columns=["n_rows", "fit", "truth", "truth_se", *grid])
    rows = summarize_coverage(sets).to_dict("records") if len(sets) else []
    # a size no fit can reach is dropped, not written as an empty row; what was dropped and why
    # travels on every row of the generator
    sizes_dropped = "; ".join(
        f"{n}: " + " / ".join(sorted({str(sources[f].unreachable(n)) for f in usable})) for n in dropped
    )
    if not rows:  # no set at all (no usable fit, or no size reachable): say why per requested size
        for n in p_iu["sizes"]:
            why = [sources[f].problem or sources[f].unreachable(n) for f in range(len(sources))]
            for e in estimators:
                rows.append(
                    {"n_rows": n, "estimator": e, "learner": p["learners"][0], "coverage": math.nan,
                     "coverage_mcse": math.nan, "ci_width": math.nan, "reps": 0, "n_fits": 0,
                     "n_failed": 0, "truth": _mean([t[e] for t in truths]),
                     "truth_se": _mean([t[e] for t in truth_ses]), "bias": math.nan,
                     "status": str(why[0])}
                )  # fmt: skip
    splits = len({split_of[f] for f in usable} - {None}) if usable else 0
    for r in rows:
        r.update(dataset=dataset, generator=generator, truth_kind=kind, design=design)
        r.update(train_splits=splits, sizes_dropped=sizes_dropped)
    rows.sort(key=lambda r: (r["n_rows"], r["estimator"]))
    return rows
