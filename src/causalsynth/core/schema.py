"""The configuration schema, shipped inside the package: the one source of every default.

``workflow/schemas/config.schema.yaml`` links to the file here, so the workflow, an installed
package and a library call all read the same defaults.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from causalsynth.core.errors import ConfigError

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "schemas" / "config.schema.yaml"


@functools.cache
def _schema() -> dict[str, Any]:
    return yaml.safe_load(SCHEMA_PATH.read_text())


def load_schema() -> dict[str, Any]:
    return copy.deepcopy(_schema())


def section_defaults(section: str) -> dict[str, Any]:
    """The default of every key of a config block (``dcr``, ``hybrid``, ``estimation``, ...); a
    block inside a block is named by its path (``privacy.release``)."""
    node = _schema()
    for part in section.split("."):
        node = node["properties"][part]
    return {key: copy.deepcopy(spec.get("default")) for key, spec in node["properties"].items()}


def default(section: str, key: str) -> Any:
    return section_defaults(section)[key]


def resolve_section(params: dict[str, Any] | None, section: str, where: str) -> dict[str, Any]:
    """``params`` over the schema's defaults of ``section``; an unknown key fails, naming the valid ones."""
    return resolve_params(params, section_defaults(section), where)


def resolve_params(
    params: dict[str, Any] | None, defaults: dict[str, Any], where: str, required: Iterable[str] = ()
) -> dict[str, Any]:
    """``params`` over ``defaults``: the one resolver of a component's parameters. An unknown key
    fails naming the valid ones, a missing ``required`` key naming itself."""
    params = dict(params or {})
    valid = set(defaults) | set(required)
    unknown = sorted(set(params) - valid)
    if unknown:
        raise ConfigError(f"{where}: unknown param(s) {unknown}; valid params: {sorted(valid)}")
    missing = sorted(k for k in required if k not in params)
    if missing:
        raise ConfigError(f"{where}: missing param(s) {missing}")
    return {**defaults, **params}
