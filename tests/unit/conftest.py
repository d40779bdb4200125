"""Toy schemas and tables that several unit-test modules share.

tests/unit is a package, so a module imports them: ``from tests.unit.conftest import ...``.
A schema or table only one module uses stays in that module; two that differ in a detail (the
outcome type, lower-case column names) have two names.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from causalsynth.core.roles import Roles
from causalsynth.core.schema import default, section_defaults
from causalsynth.data.checks import CheckSettings

# ------------------------------------------- A, Y with two continuous, a binary and a categorical
MIXED_COVARIATES = {"x1": "continuous", "x2": "continuous", "b": "binary", "c": "categorical"}
# the input checks (test_checks, test_outliers)
MIXED_CONTINUOUS = Roles(treatment="A", outcome="Y", outcome_type="continuous", covariates=MIXED_COVARIATES)
# DCR and the privacy attacks (test_privacy, test_privacy_attacks)
MIXED_BINARY = Roles(treatment="A", outcome="Y", outcome_type="binary", covariates=MIXED_COVARIATES)


def mixed_binary_table(n: int, seed: int) -> pd.DataFrame:
    """Rows of MIXED_BINARY: independent columns, three colours in c."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x1": rng.normal(size=n),
            "x2": rng.normal(3.0, 2.0, size=n),
            "b": rng.integers(0, 2, size=n),
            "c": rng.choice(["red", "green", "blue"], size=n).astype(object),
            "A": rng.integers(0, 2, size=n),
            "Y": rng.integers(0, 2, size=n),
        }
    )


def check_settings(**over) -> CheckSettings:
    """The input checks' settings at their defaults, with `over` changed."""
    return CheckSettings.from_config(
        {**section_defaults("checks"), "propensity_threshold": default("pairing", "threshold"), **over}
    )


# ------------------------------------------------ A, Y with one covariate of each type: generators
GENERATOR_ROLES = Roles(
    treatment="A",
    outcome="Y",
    outcome_type="continuous",
    covariates={"w_bin": "binary", "w_cat": "categorical", "w_cont": "continuous"},
)
GENERATOR_LEVELS = ("north", "south", "west")


def generator_table(n: int = 60, seed: int = 0) -> pd.DataFrame:
    """Rows of GENERATOR_ROLES: Y = 1 + 2 A + w_cont + noise."""
    rng = np.random.default_rng(seed)
    w_bin = rng.integers(0, 2, n)
    w_cont = rng.normal(size=n)
    a = rng.integers(0, 2, n)
    return pd.DataFrame(
        {
            "w_bin": w_bin,
            "w_cat": rng.choice(GENERATOR_LEVELS, n),
            "w_cont": w_cont,
            "A": a,
            "Y": 1.0 + 2.0 * a + w_cont + rng.normal(size=n),
        }
    )


def assert_schema(df: pd.DataFrame, train: pd.DataFrame, n: int) -> None:
    """`df` is n synthetic rows of GENERATOR_ROLES with the types and ranges of `train`."""
    assert list(df.columns) == GENERATOR_ROLES.columns
    assert len(df) == n
    assert isinstance(df.index, pd.RangeIndex)
    for col in ("w_bin", "A"):
        assert df[col].dtype == np.int64
        assert set(df[col].unique()) <= {0, 1}
    assert df["w_cat"].dtype == object
    assert all(isinstance(v, str) for v in df["w_cat"])
    assert set(df["w_cat"]) <= set(GENERATOR_LEVELS)
    for col in ("w_cont", "Y"):
        assert df[col].dtype == np.float64
        assert np.isfinite(df[col]).all()
        span = train[col].max() - train[col].min()
        # default range_multiple=10: nothing beyond 10 training ranges outside the range
        assert df[col].between(train[col].min() - 10 * span, train[col].max() + 10 * span).all()


# ------------------------------------- A, Y binary with w1 continuous, w2 binary, c categorical
PAIRING_COVARIATES = {"w1": "continuous", "w2": "binary", "c": "categorical"}
# pairing and the hybrid pools (test_pairing, test_hybrid)
PAIRING_BINARY = Roles(treatment="A", outcome="Y", outcome_type="binary", covariates=PAIRING_COVARIATES)

# ------------------------------- a, y continuous with w1, w2 continuous and w3 binary: estimators
LINEAR_COVARIATES = {"w1": "continuous", "w2": "continuous", "w3": "binary"}
# the estimators and the fidelity and inferential-utility tests (test_estimators, test_fidelity)
LINEAR_CONTINUOUS = Roles("a", "y", "continuous", LINEAR_COVARIATES)


# ------------------------------------------------------------------- a tiny causal language model
def tiny_llama(vocab_size: int, **config):
    """A two-layer Llama (hidden size 32, head tied to the embedding), seeded: the stand-in for
    SmolLM2 in GReaT's tests (test_great, test_great_loss)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    from causalsynth.generate.runtime import isolated_global_rng

    settings = {
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "num_key_value_heads": 1,
        "max_position_embeddings": 256,
        "tie_word_embeddings": True,
    }
    with isolated_global_rng(0):
        return LlamaForCausalLM(LlamaConfig(vocab_size=vocab_size, **settings, **config))
