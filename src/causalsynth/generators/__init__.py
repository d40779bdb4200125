"""Tabular generators that learn a whole causal table (W, A, Y) and sample synthetic rows.

Registry ``GENERATORS`` (ids ``ctgan``, ``tvae``, ``gaussian_copula``, ``great``); each entry
is a :class:`~causalsynth.generators.base.Generator` class. Importing this package is cheap:
torch, sdv, ctgan, be-great and transformers are imported when a generator is fitted.

Training progress goes to the ``logging`` logger ``causalsynth.generators``.
"""

from causalsynth.generators import great, sdv_generators  # noqa: F401  (registration)
from causalsynth.generators.base import Generator, SamplingBudget
from causalsynth.generators.checks import INVALID_REASONS, TableSpec, check_table, validate_rows
from causalsynth.generators.great import GReaTGenerator
from causalsynth.generators.registry import GENERATORS
from causalsynth.generators.run import make_generator, run_generate
from causalsynth.generators.sdv_generators import CTGANGenerator, GaussianCopulaGenerator, TVAEGenerator

__all__ = [
    "GENERATORS",
    "INVALID_REASONS",
    "CTGANGenerator",
    "GReaTGenerator",
    "GaussianCopulaGenerator",
    "Generator",
    "SamplingBudget",
    "TVAEGenerator",
    "TableSpec",
    "check_table",
    "make_generator",
    "run_generate",
    "validate_rows",
]
