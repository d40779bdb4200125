"""The generator registry; its own module so generator modules can register without cycles."""

from __future__ import annotations

from causalsynth.core.registry import Registry

GENERATORS: Registry[type] = Registry("generator")
