"""Tabular generators that learn a whole causal table (W, A, Y) and sample synthetic rows.

Registry ``GENERATORS`` (ids ``ctgan``, ``tvae``, ``gaussian_copula``, ``great``,
``tabularargn``, ``arf``, ``forest_diffusion``, and ``file``, a set read from a file); each entry
is a :class:`~causalsynth.generate.base.Generator` class. Importing this package is cheap:
torch, sdv, ctgan, be-great, mostlyai-engine, transformers, arfpy and ForestDiffusion are imported
when a generator is fitted (arfpy and ForestDiffusion are optional: the extra ``cpu-generators``).
A generator ``type`` may also name a class outside the package (``package.module:ClassName``, or
an entry point of the group ``causalsynth.generators``): :mod:`causalsynth.generate.plugins`.

Training progress goes to the ``logging`` logger ``causalsynth.generate``.
"""

from causalsynth.generate import argn, copula, forests, great, sdv_generators  # noqa: F401  (registration)
from causalsynth.generate.argn import TabularARGNGenerator
from causalsynth.generate.base import Generator, SamplingBudget
from causalsynth.generate.checks import INVALID_REASONS, TableSpec, validate_rows
from causalsynth.generate.copula import GaussianCopulaGenerator
from causalsynth.generate.external import FileGenerator
from causalsynth.generate.forests import ARFGenerator, ForestDiffusionGenerator
from causalsynth.generate.great import GReaTGenerator
from causalsynth.generate.registry import GENERATORS
from causalsynth.generate.run import make_generator, run_generate, run_generate_reps
from causalsynth.generate.sdv_generators import CTGANGenerator, TVAEGenerator

__all__ = [
    "GENERATORS",
    "INVALID_REASONS",
    "ARFGenerator",
    "CTGANGenerator",
    "FileGenerator",
    "ForestDiffusionGenerator",
    "GReaTGenerator",
    "GaussianCopulaGenerator",
    "Generator",
    "SamplingBudget",
    "TVAEGenerator",
    "TabularARGNGenerator",
    "TableSpec",
    "make_generator",
    "run_generate",
    "run_generate_reps",
    "validate_rows",
]
