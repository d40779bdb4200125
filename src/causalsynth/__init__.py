"""causalsynth: does synthetic tabular data keep the average treatment effect?

The package holds all logic of the benchmark; the Snakemake workflow only wires its
functions together. Subpackages are imported lazily so that a rule that only prepares
data does not pay for importing torch. ``causalsynth.judge`` and ``causalsynth.prepare``
(the notebook API, :mod:`causalsynth.api`) are imported on first use for the same reason.
"""

__version__ = "0.1.0"

_API = ("judge", "prepare", "Judgement")


def __getattr__(name: str):
    if name in _API:
        from causalsynth import api

        return getattr(api, name)
    raise AttributeError(f"module 'causalsynth' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_API])
