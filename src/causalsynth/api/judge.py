"""``judge``: one real table and the synthetic tables someone made of it, through the workflow's
stage functions, in one call."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from causalsynth.api.inputs import REPLICATE, _TableLike, prepare, released_rows, synthetic_tables
from causalsynth.api.result import ATE_COLUMNS, Judgement, risk_verdict
from causalsynth.core.errors import ComponentFailure, ConfigError
from causalsynth.core.schema import load_schema, resolve_section
from causalsynth.core.seeds import derive_seed
from causalsynth.core.threads import limit_threads
from causalsynth.core.vocabulary import PRIVACY_SETS, REAL
from causalsynth.estimate.grid import check_params, grid_defaults
from causalsynth.estimate.real import real_estimate_rows
from causalsynth.evaluate.ate import preservation_rows
from causalsynth.evaluate.fidelity import METRICS, RealBaseline, fidelity_params, fidelity_rows
from causalsynth.evaluate.tstr import outcome_score, tstr_scores
from causalsynth.generate.base import Generator
from causalsynth.privacy.attacks import attack_set
from causalsynth.privacy.dcr import DCRFilter

MIN_ROWS = Generator.min_rows  # the fewest rows a released set may have
# The config blocks judge reads (config/README.md), each over the schema's defaults.
SECTIONS = ("estimation", "tstr", "fidelity", "privacy", "dcr", "checks")


def resolve_settings(
    settings: Mapping[str, Mapping[str, Any]] | None,
    estimators: list[str] | None,
    learner: str | list[str] | None,
) -> dict[str, dict[str, Any]]:
    """Every block of ``settings`` over the schema's defaults, ``estimators`` and ``learner``
    over the estimation block's. The real-data reference rows (``reference_learner``, a costly
    stack in the workflow) are off unless the estimation block asks for them."""
    settings = dict(settings or {})
    unknown = sorted(set(settings) - set(SECTIONS))
    if unknown:
        raise ConfigError(f"judge: unknown settings block(s) {unknown}; valid blocks: {list(SECTIONS)}")
    out = {s: resolve_section(settings.get(s), s, f"judge: settings['{s}']") for s in SECTIONS}
    est = {**out["estimation"], "reference_learner": None, **dict(settings.get("estimation") or {})}
    if estimators is not None:
        est["estimators"] = [estimators] if isinstance(estimators, str) else list(estimators)
    if learner is not None:
        est["learners"] = [learner] if isinstance(learner, str) else list(learner)
    out["estimation"] = check_params(est, grid_defaults(), ["estimators"], "judge: estimation")
    out["fidelity"] = fidelity_params(out["fidelity"], "judge: settings['fidelity']")
    return out


def judge(
    real: _TableLike,
    synthetic: Any,
    *,
    treatment: str,
    outcome: str,
    covariates: list[str] | dict[str, str] | None = None,
    estimators: list[str] | None = None,
    learner: str | list[str] | None = None,
    seed: int | None = None,
    name: str = "data",
    attacks: bool = True,
    dcr_filter: bool = False,
    columns: Mapping[str, str] | None = None,
    options: Mapping[str, Any] | None = None,
    settings: Mapping[str, Mapping[str, Any]] | None = None,
    n_jobs: int = 1,
) -> Judgement:
    """Does each synthetic table keep the real table's treatment effect, how close is it to the
    real data, and what does it give away? The workflow's stages for one dataset, in memory.

    ``real``: the real table, a DataFrame or a CSV / Parquet path. ``synthetic``: a DataFrame
    or a path (one set), or a dict {set name: DataFrame or path}. ``treatment`` (0/1),
    ``outcome`` and ``covariates`` (a list, a dict name -> binary / categorical / continuous, or
    None: every other column) name the columns; ``options`` takes the ``csv`` dataset's other
    options (``outcome_type``, ``estimand``, ``missing``, ``treatment_values``,
    ``holdout_fraction``, ...; config/README.md). ``columns`` maps a synthetic table's column
    names to the real ones (``{their_name: our_name}``).

    **The split, and why attack risk needs it.** The real table is validated and split into
    training rows and a holdout exactly as ``prepare_dataset`` splits a ``csv`` dataset
    (stratified by treatment, ``holdout_fraction`` 0.3, seeded by ``seed`` and ``name``). The
    real effect is estimated on the training rows, and the DCR screen, the DCR share and the
    attacks compare what the synthetic rows reveal about the training rows with what they reveal
    about the holdout rows, the control. That control is only sound if the generator never saw
    the holdout: fit the generator on ``prepare(real, ...).train`` (same arguments, same seed),
    as the README's example does. A set made from the whole real table makes the holdout
    members too, and its attack risk and DCR share are understated.

    ``estimators`` and ``learner`` (one name or a list) set the estimator grid (default: the
    config's, all six with ``gradient_boosting_regularized``). ``settings`` takes the config's
    blocks ``estimation``, ``tstr``, ``fidelity``, ``privacy``, ``dcr`` and ``checks`` (keys
    and defaults as in config/README.md). ``attacks=False`` skips the privacy attacks and the
    distance metrics (the DCR screen is still reported). ``dcr_filter=True`` evaluates each set
    after the DCR filter drops its near-copies, as the workflow releases a generator's set;
    by default it is evaluated as given. ``seed`` (default: the config's) and ``name`` play the
    run's ``seed`` and the dataset id: every seed is derived from them as the workflow derives
    replicate 1's. ``n_jobs`` caps the threads.

    Each set is checked as the ``file`` generator checks a released set (the columns, 0/1
    treatment, no missing values unless ``options={'missing': 'drop'}``, levels of the training
    rows); bad input is a one-line :class:`~causalsynth.core.errors.DataError` naming the table,
    the column and the fix. Returns a :class:`~causalsynth.api.result.Judgement`.
    """
    cfg = resolve_settings(settings, estimators, learner)
    est = cfg["estimation"]
    seed = load_schema()["properties"]["seed"]["default"] if seed is None else int(seed)
    with limit_threads(n_jobs):
        prepared = prepare(
            real, treatment=treatment, outcome=outcome, covariates=covariates, options=options,
            checks=cfg["checks"], folds=est["folds"] if est["cross_fit"] else 1, seed=seed, name=name,
        )  # fmt: skip
        missing = dict(options or {}).get("missing", "error")
        sets = {
            set_name: (*released_rows(raw, source, prepared, columns, missing), source)
            for set_name, (raw, source) in synthetic_tables(synthetic).items()
        }
        return _evaluate(prepared, sets, cfg, seed, name, attacks, dcr_filter, n_jobs)


def _evaluate(prepared, sets, cfg, seed, name, attacks, dcr_filter, n_jobs) -> Judgement:
    roles, train, holdout, truth = prepared.roles, prepared.train, prepared.holdout, prepared.truth
    est = cfg["estimation"]
    truth_ate = math.nan if truth.ate is None else truth.ate

    def seed_of(stage: str, generator: str = "", rep: int | str = REPLICATE) -> int:
        return derive_seed(seed, stage, name, generator, rep=rep)

    # one seed for the real rows and every set (the workflow's common random numbers)
    estimate_seed = seed_of("estimate")
    real_rows = real_estimate_rows(
        train, roles, est, estimate_seed, n_jobs, name, REPLICATE, truth_ate, truth.kind, "the real training rows"
    )  # fmt: skip
    screen = DCRFilter(roles, **cfg["dcr"], n_jobs=n_jobs).fit(train, holdout)
    tstr_learner = cfg["tstr"]["learner"]
    ceiling = outcome_score(train, holdout, roles, tstr_learner, seed_of("tstr", REAL, ""), n_jobs)
    fidelity_real_seed = seed_of("fidelity", REAL, "")
    bound = est["propensity_bound"]
    baseline = RealBaseline(train, holdout, roles, cfg["fidelity"], fidelity_real_seed, bound)
    released = PRIVACY_SETS[1] if dcr_filter else PRIVACY_SETS[0]
    ate, tstr, fidelity, privacy, dcr, info = list(real_rows), [], [], [], [], []
    for set_name, (rows, dropped, source) in sets.items():
        keep, report = screen.filter(rows)
        table = rows.loc[keep].reset_index(drop=True) if dcr_filter else rows
        if len(table) < MIN_ROWS:
            raise ComponentFailure(
                f"synthetic set '{set_name}': the DCR filter leaves {len(table)} of its {len(rows)} rows (the "
                "others are near-copies of training rows), too few to judge. Fix: judge it as given "
                "(dcr_filter=False) to see how close it is"
            )
        ate += [
            r
            for r in preservation_rows(
                table, real_rows, roles, est, estimate_seed, n_jobs, name, set_name, REPLICATE, truth_ate, truth.kind
            )
            if r["generator"] != REAL  # the real rows come once, from real_rows
        ]  # fmt: skip
        scores = tstr_scores(table, holdout, roles, tstr_learner, seed_of("tstr"), ceiling, n_jobs)
        tstr.append({"set": set_name, **scores})
        fidelity += [
            {"set": set_name, **r, "higher_is_better": METRICS[r["metric"]]}
            for r in fidelity_rows(
                table, train, holdout, roles, cfg["fidelity"], seed_of("fidelity", set_name), fidelity_real_seed,
                None, int(est["folds"]), bool(est["cross_fit"]), baseline,
            )
        ]  # fmt: skip
        if attacks:
            privacy_seed = derive_seed(seed_of("privacy", set_name), released)
            weight = cfg["dcr"]["categorical_weight"]  # the DCR's space, as the workflow's attacks
            found = attack_set(roles, table, train, holdout, cfg["privacy"], weight, privacy_seed, n_jobs)
            privacy += [{"set": set_name, **r} for r in found]
        dcr.append(_screen_row(set_name, report))
        info.append(
            {
                "set": set_name,
                "source": source,
                "n_rows": len(rows) + sum(dropped.values()),
                "n_dropped": sum(dropped.values()),
                "dropped": dict(dropped),
                "n_evaluated": len(table),
                "evaluated": "DCR-filtered" if dcr_filter else "as given",
            }
        )
    ate_table = pd.DataFrame(ate).rename(columns={"generator": "set"})[ATE_COLUMNS]
    privacy_table = pd.DataFrame(privacy)
    if len(privacy_table):
        privacy_table["verdict"] = privacy_table.apply(risk_verdict, axis=1)
    run = {"seed": seed, "name": name, "replicate": REPLICATE, "attacks": attacks, "dcr_filter": dcr_filter}
    return Judgement(
        name=name,
        roles=roles,
        data=prepared,
        ate=ate_table,
        fidelity=pd.DataFrame(fidelity),
        tstr=pd.DataFrame(tstr),
        privacy=privacy_table,
        dcr=pd.DataFrame(dcr),
        sets=pd.DataFrame(info),
        checks=prepared.notes.get("checks", {}),
        settings={**cfg, **run},
    )


def _screen_row(set_name: str, report: dict[str, Any]) -> dict[str, Any]:
    """The DCR screen of one set (``DCRFilter.filter``'s report) as one row."""
    cov, rec = report["covariates"], report["record"] or {}
    n = report["n_input"]
    return {
        "set": set_name,
        "n_rows": n,
        "n_near_copies": report["n_filtered_low"],
        "share_near_copies": report["n_filtered_low"] / n if n else math.nan,
        "share_exact_copies": cov["share_exact_copies"],
        "share_exact_record_copies": rec.get("share_exact_copies", math.nan),
        "share_closer_than_holdout_p05": cov["share_closer_than_holdout_p05"],
        "holdout_share_exact_copies": cov["holdout_share_exact_copies"],
        "lower_dcr": report["thresholds"]["lower_dcr"],
    }
