"""Exceptions with messages that tell a user what to fix."""

from __future__ import annotations


class CausalSynthError(Exception):
    """Base class of every error causalsynth raises on purpose."""


class UnknownComponentError(CausalSynthError, KeyError):
    """A name that no registry knows."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class DataError(CausalSynthError, ValueError):
    """Input data that cannot be used; the message names file, column and fix."""

    def __init__(self, source: str, column: str | None, problem: str, fix: str):
        self.source = source
        self.column = column
        self.problem = problem
        self.fix = fix
        where = f"{source}" + (f", column '{column}'" if column is not None else "")
        super().__init__(f"{where}: {problem}. Fix: {fix}")


class ConfigError(CausalSynthError, ValueError):
    """A configuration that does not validate."""


class ComponentFailure(CausalSynthError, RuntimeError):
    """A component could not produce a usable result (for example too few valid rows)."""
