"""The configuration schema, shipped inside the package: the one source of every default.

``workflow/schemas/config.schema.yaml`` links to the file here, so the workflow, an installed
package and a library call all read the same defaults.
"""

from __future__ import annotations

import copy
import functools
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
    defaults = section_defaults(section)
    params = dict(params or {})
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise ConfigError(f"{where}: unknown param(s) {unknown}; valid params: {sorted(defaults)}")
    return {**defaults, **params}
