"""The generator registry; its own module so generator modules can register without cycles."""

from __future__ import annotations

from causalsynth.registry import Registry

GENERATORS: Registry[type] = Registry("generator")
