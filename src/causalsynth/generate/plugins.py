"""Generators from outside the package: by import path, or registered by an installed package.

A generator entry's ``type`` names the class its jobs run, in one of three forms, tried in
this order:

* a registered id (``ctgan``, ``file``, ...: the registry ``GENERATORS``);
* an import path ``package.module:ClassName``, imported when the config is read;
* the name of an entry point in the group ``causalsynth.generators`` (``importlib.metadata``),
  through which an installed package registers its generator by name, for example in its
  ``pyproject.toml``::

      [project.entry-points."causalsynth.generators"]
      my_gan = "my_package.gan:MyGAN"

Every class is held to the generator contract (:func:`check_contract`: a subclass of
:class:`~causalsynth.generate.base.Generator` with ``_fit`` and ``_sample`` whose constructor
takes ``n_jobs`` and ``random_state``) before any job runs; a class that breaks it, or a
module that does not import, is a one-line :class:`~causalsynth.core.errors.ConfigError`.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from importlib import metadata

from causalsynth.core.errors import ConfigError, UnknownComponentError
from causalsynth.generate.base import Generator
from causalsynth.generate.registry import GENERATORS

ENTRY_POINT_GROUP = "causalsynth.generators"
# The constructor arguments the workflow passes to every generator, never a user's params.
RUN_PARAMS = ("n_jobs", "random_state")
# What Generator.fit and Generator.sample call; a class that is no Generator is told which it lacks.
_CONTRACT = ("fit", "sample", "_fit", "_sample")


def is_import_path(kind: str) -> bool:
    """``package.module:ClassName`` (rather than a registered or entry-point name)."""
    return ":" in kind


def entry_points() -> dict[str, metadata.EntryPoint]:
    """The installed generators: entry-point name -> entry point, in the group ``causalsynth.generators``."""
    return {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def generator_names() -> list[str]:
    """Every generator a ``type`` may name: the registered ones, then the installed ones."""
    installed = [n for n in entry_points() if n not in GENERATORS]
    return [*GENERATORS.names(), *sorted(installed)]


def _import_class(spec: str, what: str) -> object:
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"{what}: {spec!r} is not an import path; write it as 'package.module:ClassName'")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # any error of the user's module, reported as one line
        raise ConfigError(
            f"{what}: cannot import module '{module_name}' ({type(exc).__name__}: {exc}). Fix: install "
            "the package that holds it, or add its folder to PYTHONPATH"
        ) from None
    obj: object = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ConfigError(
                f"{what}: module '{module_name}' has no class '{attr}'. Fix: correct the name after ':'"
            ) from None
    return obj


def check_contract(cls: object, what: str) -> type[Generator]:
    """``cls`` if it follows the generator contract, else a ConfigError naming what it lacks."""
    if not isinstance(cls, type):
        raise ConfigError(f"{what} is not a class but {type(cls).__name__}; name a Generator subclass")
    if not issubclass(cls, Generator):
        lacks = [m for m in _CONTRACT if not callable(getattr(cls, m, None))]
        has = f"it has no method(s) {', '.join(lacks)}" if lacks else "its fit and sample are its own"
        raise ConfigError(
            f"{what}: class {cls.__name__} does not subclass causalsynth.generate.Generator ({has}). "
            "Fix: subclass Generator and implement _fit and _sample (ARCHITECTURE.md, 'A new generator')"
        )
    abstract = sorted(getattr(cls, "__abstractmethods__", ()))
    if abstract:
        raise ConfigError(
            f"{what}: class {cls.__name__} does not implement the method(s) {', '.join(abstract)} of "
            "the generator contract (_fit(data, roles) learns the table; _sample(n, seed, budget) "
            "returns about n raw rows)"
        )
    params = inspect.signature(cls.__init__).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        lacking = [p for p in RUN_PARAMS if p not in params]
        if lacking:
            raise ConfigError(
                f"{what}: the constructor of class {cls.__name__} takes no parameter(s) "
                f"{', '.join(lacking)}; the workflow passes n_jobs and random_state to every generator. "
                "Fix: add them to __init__ and store them as self.n_jobs and self.random_state"
            )
    return cls


@functools.cache
def resolve_generator(kind: str) -> type[Generator]:
    """The class a generator ``type`` names: a registered id, an import path or an entry point.

    Unknown names raise :class:`UnknownComponentError` listing the valid ones; an import path
    or entry point that does not load, or a class that breaks the contract, a ConfigError.
    """
    if kind in GENERATORS:
        return GENERATORS.get(kind)
    if is_import_path(kind):
        return check_contract(_import_class(kind, f"generator class '{kind}'"), f"generator class '{kind}'")
    installed = entry_points()
    if kind in installed:
        ep = installed[kind]
        what = f"generator '{kind}' (entry point {ep.value} in group {ENTRY_POINT_GROUP})"
        try:
            cls = ep.load()
        except Exception as exc:  # the installed package's own error, as one line
            raise ConfigError(f"{what}: cannot load it ({type(exc).__name__}: {exc})") from None
        return check_contract(cls, what)
    raise UnknownComponentError(
        f"unknown generator '{kind}'; valid generators: {', '.join(generator_names())} "
        "(or a class by import path, 'package.module:ClassName')"
    )


def is_plugin(cls: type) -> bool:
    """Whether a generator class comes from outside causalsynth (its errors are not our bugs)."""
    return not cls.__module__.startswith("causalsynth.")
