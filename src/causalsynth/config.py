"""Configuration: JSON-schema validation with defaults, name checks, and the job plan.

The workflow's ``common.smk`` calls :func:`load_config` before anything runs and asks the
:class:`Plan` which jobs exist, so the rules never re-derive the grid themselves.
"""

from __future__ import annotations

import copy
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from causalsynth.core.errors import ConfigError, UnknownComponentError
from causalsynth.core.schema import SCHEMA_PATH, load_schema
from causalsynth.core.vocabulary import (
    HYBRID_PREFIX,
    ORACLE,
    PERFECT,
    PRIVACY_SETS,
    REAL,
    TRUTH_ENGINE,
    generator_base,
    hybrid_name,
    is_hybrid,
)


def _with_defaults(validator_class):
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


_Validator = _with_defaults(jsonschema.Draft202012Validator)


def _where(error: jsonschema.ValidationError) -> str:
    return "/".join(str(p) for p in error.absolute_path) or "(top level)"


def _explain(error: jsonschema.ValidationError) -> str:
    """One schema error; an unknown key lists the keys its block has."""
    text = f"- at '{_where(error)}': {error.message}"
    known = error.schema.get("properties") if isinstance(error.schema, dict) else None
    if error.validator == "additionalProperties" and known:
        text += f"; valid keys: {', '.join(known)}"
    return text


def validate_schema(config: dict[str, Any], schema_path: str | Path = SCHEMA_PATH) -> dict[str, Any]:
    """Validate against the schema and fill in defaults (in a copy)."""
    # the shipped schema is read once per process (core.schema); another path is read as given
    schema = (
        load_schema() if Path(schema_path) == SCHEMA_PATH else yaml.safe_load(Path(schema_path).read_text())
    )
    config = copy.deepcopy(config)
    errors = sorted(_Validator(schema).iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [_explain(e) for e in errors]
        raise ConfigError("invalid configuration:\n" + "\n".join(lines))
    # additionalProperties schemas hold defaults too (dataset and generator entries)
    for section in ("datasets", "generators"):
        for key, value in list(config[section].items()):
            if value is None:
                config[section][key] = {}
    return config


def _check_names(kind: str, names: list[str], valid: list[str], where: str) -> None:
    unknown = [n for n in names if n not in valid]
    if unknown:
        raise ConfigError(f"{where}: unknown {kind} {unknown}; valid {kind}s: {', '.join(valid)}")


def check_names(config: dict[str, Any]) -> None:
    """Every id in the config must name a registered component (lists the valid ones)."""
    from causalsynth.core.learners import LEARNERS
    from causalsynth.data import DATASETS
    from causalsynth.estimate.estimators import ESTIMATORS
    from causalsynth.generate import make_generator
    from causalsynth.generate.plugins import generator_names, resolve_generator

    for ds, opts in config["datasets"].items():
        _check_names("dataset loader", [opts.get("loader", ds)], DATASETS.names(), f"datasets/{ds}")
    gens = list(config["generators"])
    for g, opts in config["generators"].items():
        # an instance id (ctgan_paper) names its type: a registered id, an import path
        # (package.module:ClassName) or an installed entry point; a plain id is its own type
        where = f"generators/{g}/type" if "type" in opts else f"generators/{g}"
        try:
            cls = resolve_generator(generator_type(config, g))
            # an optional library that is not installed stops the run here, saying what to install
            cls.check_installed()
        except UnknownComponentError:
            hint = "" if "type" in opts else f" (or give '{g}' a `type`: one of them)"
            raise ConfigError(
                f"{where}: unknown generator {generator_type(config, g)!r}; valid generators: "
                f"{', '.join(generator_names())}{hint}, or a class by import path "
                "'package.module:ClassName'"
            ) from None
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        if g in (REAL, PERFECT) or is_hybrid(g):
            raise ConfigError(
                f"generators/{g}: '{REAL}', '{PERFECT}' and ids starting with '{HYBRID_PREFIX}' name "
                f"the references and the hybrid generators. Fix: rename the entry (for example "
                f"{generator_type(config, g)}_1)"
            )
        # a misspelt hyperparameter fails here, before any job runs
        params = Plan(config).generator_params(g)
        make_generator(generator_type(config, g), params, instance=g)
        # and so does a file pattern the generator cannot fill in (the file generator's path)
        for ds in opts.get("datasets", config["datasets"]):
            try:
                cls.input_files(params, ds, 1)
            except ConfigError as exc:
                raise ConfigError(f"generators/{g}: {exc}") from None
    for g, opts in config["generators"].items():
        _check_names(
            "dataset", opts.get("datasets", []), list(config["datasets"]), f"generators/{g}/datasets"
        )
    _check_names("hybrid base", config["hybrid"]["bases"], [*gens, REAL], "hybrid/bases")
    est = config["estimation"]
    _check_names("estimator", est["estimators"], ESTIMATORS.names(), "estimation/estimators")
    _check_names("learner", est["learners"], LEARNERS.names(), "estimation/learners")
    for where, name in (
        ("hybrid/learner", config["hybrid"]["learner"]),
        ("pairing/learner", config["pairing"]["learner"]),
        ("tstr/learner", config["tstr"]["learner"]),
        ("engine/learner", config["engine"]["learner"]),
        ("estimation/reference_learner", est["reference_learner"]),
    ):
        if name is not None:
            _check_names("learner", [name], LEARNERS.names(), where)
    hybrids = [hybrid_name(b) for b in config["hybrid"]["bases"]]
    if config["pairing"]["pool"] is not None:
        _check_names("hybrid pool", [config["pairing"]["pool"]], hybrids, "pairing/pool")
    _check_names("hybrid pool", config["engine"]["engines"], hybrids, "engine/engines")
    if config["engine"]["estimators"] is not None:
        _check_names("estimator", config["engine"]["estimators"], ESTIMATORS.names(), "engine/estimators")
    if config["engine"]["pool_rep"] > config["replicates"]:
        raise ConfigError(
            f"engine/pool_rep: {config['engine']['pool_rep']} names a replicate beyond "
            f"replicates: {config['replicates']}; choose 1 to {config['replicates']}"
        )
    if config["engine"]["datasets"] is not None:
        _check_names("dataset", config["engine"]["datasets"], list(config["datasets"]), "engine/datasets")
    for where, name in (
        ("fidelity/learner", config["fidelity"]["learner"]),
        ("fidelity/c2st_learner", config["fidelity"]["c2st_learner"]),
        ("inferential_utility/learner", config["inferential_utility"]["learner"]),
    ):
        _check_names("learner", [name], LEARNERS.names(), where)
    iu = config["inferential_utility"]
    _check_names("estimator", iu["estimators"], ESTIMATORS.names(), "inferential_utility/estimators")
    if iu["datasets"] is not None:
        _check_names("dataset", iu["datasets"], list(config["datasets"]), "inferential_utility/datasets")
    if iu["generators"] is not None:
        _check_names(
            "generator", iu["generators"], [*gens, *hybrids, REAL, PERFECT], "inferential_utility/generators"
        )


def resolve_defaults(config: dict[str, Any]) -> dict[str, Any]:
    """Defaults that depend on other keys: the hybrid bases, the pairing pool, the engines."""
    hybrid = config["hybrid"]
    if hybrid["bases"] is None:
        hybrid["bases"] = [*config["generators"], REAL]
    hybrids = [hybrid_name(b) for b in hybrid["bases"]]
    if config["pairing"]["pool"] is None and hybrids:
        config["pairing"]["pool"] = hybrids[0]
    if config["engine"]["engines"] is None:
        config["engine"]["engines"] = hybrids
    return config


def check_dataset_overrides(config: dict[str, Any]) -> None:
    """A dataset's own ``checks`` keys obey the top-level section's schema (without its defaults,
    which would mask the run's settings)."""
    section = load_schema()["properties"]["checks"]
    for ds, opts in config["datasets"].items():
        override = opts.get("checks")
        if override is None:
            continue
        errors = list(jsonschema.Draft202012Validator(section).iter_errors(override))
        if errors:
            where = f"datasets/{ds}/checks"
            lines = [f"- at '{where}/{_where(e)}': {e.message}".replace("/(top level)", "") for e in errors]
            raise ConfigError("invalid configuration:\n" + "\n".join(lines))


def load_config(config: dict[str, Any], check_components: bool = True) -> dict[str, Any]:
    """Schema validation with defaults, then the name checks."""
    config = resolve_defaults(validate_schema(config))
    check_dataset_overrides(config)
    if check_components:
        check_names(config)
    return config


def read_config(path: str | Path, check_components: bool = True) -> dict[str, Any]:
    return load_config(yaml.safe_load(Path(path).read_text()) or {}, check_components)


# Options that the workflow reads from a generator entry; the rest go to the generator.
WORKFLOW_GENERATOR_KEYS = ("type", "n_rows", "datasets", "replicates")


def generator_type(config: dict[str, Any], generator: str) -> str:
    """The registered generator an entry runs: its ``type``, else the entry's own id."""
    return str((config["generators"].get(generator) or {}).get("type", generator))


@dataclass(frozen=True)
class Plan:
    """The jobs a validated configuration asks for."""

    config: dict[str, Any]

    @property
    def datasets(self) -> list[str]:
        return list(self.config["datasets"])

    @property
    def reps(self) -> list[int]:
        return list(range(1, self.config["replicates"] + 1))

    def reps_for(self, generator: str) -> list[int]:
        """Replicates of a generator (base or hybrid; ``hybrid_real`` has the run's)."""
        base = generator_base(generator)
        opts = self.config["generators"].get(base) or {}
        return list(range(1, int(opts.get("replicates", self.config["replicates"])) + 1))

    def data_reps(self, dataset: str) -> list[int]:
        """Replicates of a dataset's data: replicate r is its own draw (a fresh sample of a
        simulated dataset, a fresh train/holdout split of a real one), shared by every generator,
        hybrid and real-data estimate of replicate r; as many as its most replicated generator."""
        return list(range(1, max(len(self.reps_for(g)) for g in self.all_generators_for(dataset)) + 1))

    def is_simulated(self, dataset: str) -> bool:
        from causalsynth.data import DATASETS, SimulatedDataset

        loader = self.config["datasets"][dataset].get("loader", dataset)
        return issubclass(DATASETS.get(loader), SimulatedDataset)

    def loader_options(self, dataset: str) -> tuple[str | None, dict[str, Any]]:
        """The dataset's loader id (None: the dataset id) and the options its loader takes."""
        opts = dict(self.config["datasets"][dataset])
        loader = opts.pop("loader", None)
        opts.pop("checks", None)
        return loader, opts

    def dataset_checks(self, dataset: str) -> dict[str, Any]:
        """The ``checks`` settings of one dataset, with the pairing threshold and the folds."""
        est = self.config["estimation"]
        return {
            **self.config["checks"],
            **(self.config["datasets"][dataset].get("checks") or {}),
            "propensity_threshold": self.config["pairing"]["threshold"],
            "folds": est["folds"] if est["cross_fit"] else 1,
        }

    def has_positivity(self, dataset: str) -> bool:
        from causalsynth.data import get_dataset

        loader, opts = self.loader_options(dataset)
        return bool(get_dataset(dataset, loader, **opts).has_positivity_study)

    def generators_for(self, dataset: str) -> list[str]:
        gens = self.config["generators"]
        return [g for g, o in gens.items() if "datasets" not in o or dataset in o["datasets"]]

    def generator_params(self, generator: str) -> dict[str, Any]:
        opts = self.config["generators"][generator]
        return {k: v for k, v in opts.items() if k not in WORKFLOW_GENERATOR_KEYS}

    def generator_type(self, generator: str) -> str:
        """The registry id of a configured generator (instance) id."""
        return generator_type(self.config, generator)

    def generator_class(self, generator: str) -> type:
        """The class of a configured generator (registered, by import path or installed): what
        its jobs need comes from it."""
        from causalsynth.generate.plugins import resolve_generator

        return resolve_generator(self.generator_type(generator))

    def generator_rows(self, generator: str) -> int:
        return int(self.config["generators"][generator].get("n_rows", self.config["synthetic_rows"]))

    def hybrids_for(self, dataset: str) -> list[str]:
        bases = self.generators_for(dataset) + [REAL]
        return [hybrid_name(b) for b in self.config["hybrid"]["bases"] if b in bases]

    def all_generators_for(self, dataset: str) -> list[str]:
        return self.generators_for(dataset) + self.hybrids_for(dataset)

    # ---- the cells of the jobs that read or write every set of a dataset, in their order

    def released_sets(self, dataset: str) -> list[tuple[str, int]]:
        """(generator, rep) of every set of the dataset, base or hybrid: what evaluate_synthetic
        and fidelity read, in this order."""
        return [(g, r) for g in self.all_generators_for(dataset) for r in self.reps_for(g)]

    def hybrid_cells(self, dataset: str) -> list[tuple[str, int]]:
        """(hybrid, rep) of every pool the dataset's hybrid job writes, in this order."""
        return [(h, r) for h in self.hybrids_for(dataset) for r in self.reps_for(h)]

    def mechanism_reps(self, dataset: str) -> list[int]:
        """The replicates with a base hybrid: each gets one fit of g and h, shared by its bases."""
        bases = [generator_base(h) for h in self.hybrids_for(dataset) if h != ORACLE]
        return sorted({r for b in bases for r in self.reps_for(b)})

    def releasable_generators(self, dataset: str) -> list[str]:
        """Every generator whose set may be shared: the base generators and their hybrids (the
        oracle reuses the real covariates and is never released)."""
        return self.generators_for(dataset) + [h for h in self.hybrids_for(dataset) if h != ORACLE]

    def privacy_sets(self, dataset: str) -> list[tuple[str, int, str]]:
        """(generator, rep, set) of every releasable set of the dataset, in the attack job's
        order: a base generator's set before and after the DCR filter, a hybrid's pool (built on
        its base's filtered covariates, so there is no unfiltered hybrid set)."""
        return [
            (g, r, s)
            for g in self.releasable_generators(dataset)
            for r in self.reps_for(g)
            for s in (("filtered",) if is_hybrid(g) else PRIVACY_SETS)
        ]

    def inferential_reps(self, dataset: str, generator: str) -> list[int]:
        """The replicates whose training tables a generator's coverage study reads: its own (one
        per released table), every data replicate for ``perfect``, the first for ``real`` (which
        draws from the true process and reads only the card)."""
        if generator == PERFECT:
            return self.data_reps(dataset)
        return self.data_reps(dataset)[:1] if generator == REAL else self.reps_for(generator)

    def positivity_datasets(self) -> list[str]:
        pool = self.config["pairing"]["pool"]
        return [d for d in self.datasets if self.has_positivity(d) and pool in self.hybrids_for(d)]

    def engine_datasets(self) -> list[str]:
        chosen = self.config["engine"]["datasets"]
        return self.datasets if chosen is None else list(chosen)

    def engines_for(self, dataset: str) -> list[str]:
        engines = [e for e in self.config["engine"]["engines"] if e in self.hybrids_for(dataset)]
        return ([TRUTH_ENGINE] if self.is_simulated(dataset) else []) + engines

    @property
    def engine_estimators(self) -> list[str]:
        return self.config["engine"]["estimators"] or self.config["estimation"]["estimators"]

    def inferential_datasets(self) -> list[str]:
        chosen = self.config["inferential_utility"]["datasets"]
        return self.datasets if chosen is None else list(chosen)

    def inferential_generators_for(self, dataset: str) -> list[str]:
        """The coverage study's generators of a dataset; ``real`` (the true process) for simulated ones."""
        chosen = self.config["inferential_utility"]["generators"]
        refs = [PERFECT] + ([REAL] if self.is_simulated(dataset) else [])
        every = self.all_generators_for(dataset) + refs
        return [g for g in every if chosen is None or g in chosen or g in refs]

    @property
    def engine_learner(self) -> str:
        return self.config["engine"]["learner"] or self.config["estimation"]["learners"][0]

    def resolved_generator_params(self, generator: str) -> dict[str, Any]:
        """A generator's hyperparameters with its class's defaults filled in (what it runs with)."""
        from causalsynth.generate.plugins import RUN_PARAMS

        signature = inspect.signature(self.generator_class(generator).__init__)
        defaults = {
            name: p.default
            for name, p in signature.parameters.items()
            if p.default is not inspect.Parameter.empty and name not in RUN_PARAMS
        }
        return {**defaults, **self.generator_params(generator)}

    def resolved_settings(self) -> dict[str, Any]:
        """The validated config with every generator's and dataset's defaults filled in, and each
        generator's registry type and rows: the settings a run actually uses, so that they can be
        compared with another's (the papers', report/paper/settings.py) without the registries."""
        from causalsynth.data import get_dataset

        generators = {
            g: {
                **self.resolved_generator_params(g),
                "type": self.generator_type(g),
                "n_rows": self.generator_rows(g),
            }
            for g in self.config["generators"]
        }
        datasets = {}
        for d in self.datasets:
            loader, opts = self.loader_options(d)
            datasets[d] = {"loader": loader or d, **get_dataset(d, loader, **opts).params}
        return {**copy.deepcopy(self.config), "generators": generators, "datasets": datasets}
