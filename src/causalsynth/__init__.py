"""causalsynth: does synthetic tabular data keep the average treatment effect?

The package holds all logic of the benchmark; the Snakemake workflow only wires its
functions together. Subpackages are imported lazily so that a rule that only prepares
data does not pay for importing torch.
"""

__version__ = "0.1.0"
