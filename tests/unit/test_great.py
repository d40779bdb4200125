"""GReaT end to end on the CPU with a tiny Llama and the SmolLM2 tokenizer read from the GGUF file."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import torch

from causalsynth.core.errors import ComponentFailure, ConfigError, DataError
from causalsynth.core.roles import Roles
from causalsynth.generate import GReaTGenerator, make_generator
from causalsynth.generate.great.constrained import LevelAutomaton, NumberAutomaton, TokenTable
from causalsynth.generate.great.llm import load_tokenizer
from causalsynth.generate.great.text import format_value, row_text_dataset
from causalsynth.generate.runtime import isolated_global_rng
from tests.unit.conftest import tiny_llama

ROLES = Roles(
    treatment="A",
    outcome="Y",
    outcome_type="binary",
    covariates={"w_bin": "binary", "w_cat": "categorical", "w_cont": "continuous"},
)
LEVELS = ("a", "b", "c")


def make_table(n: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "w_bin": rng.integers(0, 2, n),
            "w_cat": rng.choice(LEVELS, n),
            "w_cont": rng.normal(size=n).round(1),
            "A": rng.integers(0, 2, n),
            "Y": rng.integers(0, 2, n),
        }
    )


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer("smollm2")  # the tokenizer transformers rebuilds from the GGUF file


@pytest.fixture(scope="module")
def tiny_llm(tmp_path_factory, tokenizer) -> str:
    """A two-layer Llama (hidden size 32) with SmolLM2's tokenizer, saved as a model folder."""
    model = tiny_llama(
        len(tokenizer),
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    folder = tmp_path_factory.mktemp("tiny-llm")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


def tiny_params(llm: str, **overrides) -> dict:
    # A fixed feature order and a high learning rate let a 2-layer model learn the row
    # format in 100 steps (about 10 s on one core); the default random order needs far more.
    params = {
        "llm": llm,
        "epochs": 10,
        "batch_size": 4,
        "learning_rate": 2e-2,
        "float_precision": 1,
        "random_feature_order": False,
        "sample_batch_size": 32,
        "device": "cpu",
        # fixed, not auto: the tests' numbers must not depend on which CPU kind runs them
        "precision": "fp32",
    }
    return {**params, **overrides}


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return make_table()


@pytest.fixture(scope="module")
def fitted(tiny_llm, table) -> GReaTGenerator:
    return make_generator("great", tiny_params(tiny_llm), n_jobs=1, random_state=0).fit(
        table, ROLES, dataset="tiny"
    )


# ------------------------------------------------------------------------ end to end
def test_great_fits_and_samples_the_training_schema(fitted, table):
    out = fitted.sample(24, seed=3)
    assert list(out.columns) == ROLES.columns and len(out) == 24
    for col in ("w_bin", "A", "Y"):
        assert out[col].dtype == np.int64 and set(out[col]) <= {0, 1}
    assert set(out["w_cat"]) <= set(LEVELS)
    assert out["w_cont"].dtype == np.float64 and np.isfinite(out["w_cont"]).all()
    report = fitted.sample_report_
    assert report["n_generated"] == report["n_valid"] + report["n_invalid"]
    assert sum(report["invalid_reasons"].values()) == report["n_invalid"]
    info = fitted.fit_info_
    assert info["steps"] == 100 and len(info["epoch_loss"]) == 10 and info["train_rows"] == 40
    assert info["epoch_loss"][-1] < info["epoch_loss"][0]  # it learned something
    assert info["start_column"] == "w_bin"  # fixed order: texts start at the first column
    assert fitted.device_ == "cpu"


def test_great_sampling_is_deterministic_for_a_seed(fitted):
    torch.manual_seed(99)  # global state a seeded sample must not depend on
    a = fitted.sample(12, seed=5)
    b = fitted.sample(12, seed=5)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(fitted.sample(12, seed=6))


def test_great_fit_is_deterministic_on_cpu(tiny_llm, table):
    def fit(seed):
        params = tiny_params(tiny_llm, epochs=1, random_feature_order=True, max_train_rows=24)
        return make_generator("great", params, n_jobs=1, random_state=seed).fit(table, ROLES, dataset="tiny")

    a, b, other = fit(0), fit(0), fit(1)
    assert a.fit_info_["train_rows"] == 24 and a.fit_info_["steps"] == 6
    assert a.fit_info_["epoch_loss"] == b.fit_info_["epoch_loss"] != other.fit_info_["epoch_loss"]
    for p, q in zip(a.model_.parameters(), b.model_.parameters(), strict=True):
        assert torch.equal(p, q)


# ---------------------------------------------------- bounded sampling and accounting
def plant(generator: GReaTGenerator, monkeypatch, texts: list[str]) -> list[int]:
    """Replace the model's completions with ``texts`` in a cycle; returns the batch sizes."""
    cycle = itertools.cycle(texts)
    batches: list[int] = []
    monkeypatch.setattr(generator, "sampler", "free")  # planted texts replace the free sampler's

    def fake(prompts, generator):
        batches.append(len(prompts))
        return [next(cycle) for _ in prompts]

    monkeypatch.setattr(generator, "_generate_texts", fake)
    return batches


def test_invalid_generated_texts_are_dropped_and_counted_by_reason(fitted, monkeypatch):
    ok = "w_bin is 1, w_cat is b, w_cont is 0.5, A is 0, Y is 1"
    texts = [
        ok,
        "w_bin is 1, w_cat is b, w_cont is 0.5, A is 0",  # no Y
        "w_bin is 1, w_cat is b, w_cont is 0.5, A is 2, Y is 1",
        "w_bin is 1, w_cat is zebra, w_cont is 0.5, A is 0, Y is 1",
        "w_bin is 1, w_cat is b, w_cont is nan, A is 0, Y is 1",
        "w_bin is 1, w_cat is b, w_cont is inf, A is 0, Y is 1",
        "w_bin is 1, w_cat is b, w_cont is 1e12, A is 0, Y is 1",
        "w_bin is 1, w_cat is b, w_cont is 0.5.5, A is 0, Y is 1",
        "Y is 0, A is 1, w_cont is -1.5, w_cat is c, w_bin is 0, Y is 1, w_bin is 1",  # first value counts
    ]
    batches = plant(fitted, monkeypatch, texts)
    out = fitted.sample(2, seed=0)
    # round 1 asks for 2 texts (1 valid); round 2 for 3 (none valid); round 3 for 4 (1 valid)
    assert batches == [2, 3, 4]
    assert fitted.sample_report_ == {
        **fitted.sample_report_,
        "n_requested": 2,
        "n_generated": 9,
        "n_valid": 2,
        "n_invalid": 7,
        "invalid_reasons": {
            "huge": 1,
            "inf": 1,
            "missing_column": 1,
            "nan": 1,
            "non_binary": 1,
            "unknown_category": 1,
            "unparseable": 1,
        },
        "rounds": 3,
    }
    assert out.to_dict("records") == [
        {"w_bin": 1, "w_cat": "b", "w_cont": 0.5, "A": 0, "Y": 1},
        {"w_bin": 0, "w_cat": "c", "w_cont": -1.5, "A": 1, "Y": 0},
    ]


def test_sampling_rounds_are_bounded(fitted, monkeypatch):
    plant(fitted, monkeypatch, ["w_bin is w_bin is w_bin is"])
    fitted.set_params(max_sampling_rounds=2)
    try:
        with pytest.raises(
            ComponentFailure, match=r"'great' on dataset 'tiny'.*max_sampling_rounds=2.*0 valid of 5"
        ) as info:
            fitted.sample(5, seed=0)
    finally:
        fitted.set_params(max_sampling_rounds=10)
    assert info.value.report["invalid_reasons"] == {"unparseable": info.value.report["n_generated"]}


def test_sampling_time_is_bounded(fitted):
    fitted.set_params(max_sampling_seconds=1e-6)
    try:
        with pytest.raises(
            ComponentFailure, match=r"'great' on dataset 'tiny'.*max_sampling_seconds=1e-06 was reached"
        ):
            fitted.sample(5, seed=0)
    finally:
        fitted.set_params(max_sampling_seconds=None)


# ------------------------------------------------------------------------ text encoding
def test_values_are_written_at_the_configured_precision():
    assert format_value(1.23456, 3) == "1.235"
    assert format_value(2.0, 3) == "2"
    assert format_value(-0.5, 0) == "-0"
    assert format_value(0.1234567, None) == "0.1234567"
    assert format_value(1, 3) == "1"  # binary columns stay integers
    assert format_value("b", 3) == "b"


def test_fewer_decimals_cost_fewer_tokens(tokenizer):
    rng = np.random.default_rng(1)
    table = pd.DataFrame({"x": rng.normal(size=20), "y": rng.normal(size=20), "A": rng.integers(0, 2, 20)})

    def mean_tokens(precision):
        data = row_text_dataset(table, tokenizer, precision, shuffle=False)
        return np.mean([len(data._getitem(i)["input_ids"]) for i in range(len(table))])

    assert mean_tokens(None) > mean_tokens(3) + 15 > mean_tokens(1) + 15


def test_training_texts_shuffle_features_unless_told_not_to(tokenizer, table):
    with isolated_global_rng(0):
        shuffled = row_text_dataset(table, tokenizer, 1, shuffle=True)
        firsts = {
            tokenizer.decode(shuffled._getitem(i)["input_ids"]).split(" is ")[0] for i in range(len(table))
        }
    assert len(firsts) > 2
    fixed = row_text_dataset(table, tokenizer, 1, shuffle=False)
    text = tokenizer.decode(fixed._getitem(0)["input_ids"])
    row = table.iloc[0]
    assert text == (
        f"w_bin is {row.w_bin}, w_cat is {row.w_cat}, w_cont is {format_value(row.w_cont, 1)}, "
        f"A is {row.A}, Y is {row.Y}"
    )


def test_texts_to_rows_reads_the_first_value_of_each_column(fitted):
    rows = fitted._texts_to_rows(["A is 1, w_bin is 0, A is 0, junk, Y is 1, w_cat is  c , w_cont is 2"])
    assert rows.to_dict("records") == [{"w_bin": "0", "w_cat": "c", "w_cont": "2", "A": "1", "Y": "1"}]
    assert fitted._texts_to_rows(["nothing here"]).isna().all(axis=None)


# ------------------------------------------------------------------ configuration errors
def test_tables_that_cannot_be_written_as_text_are_refused(table):
    bad = table.assign(w_cat=table["w_cat"].replace("a", "a, b"))
    with pytest.raises(DataError, match=r"dataset 'tiny', generator 'great', column 'w_cat'.*'a, b'"):
        make_generator("great").fit(bad, ROLES, dataset="tiny")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start_column": "Z"}, "start_column 'Z' is not a column"),
        ({"float_precision": -1}, "float_precision must be an integer"),
        ({"top_k": 0}, "top_k must be a positive integer"),
        ({"epochs": 0}, "epochs must be a positive integer"),
        ({"max_train_rows": 0}, "max_train_rows must be a positive integer or null"),
        ({"llm": "./no/such/folder"}, "does not exist; run the rule prepare_llm"),
    ],
)
def test_bad_great_settings_fail_clearly(table, params, message):
    with pytest.raises(ConfigError, match=message):
        make_generator("great", {"device": "cpu", **params}).fit(table, ROLES, dataset="tiny")


# ------------------------------------------------------------------ constrained sampler
def reachable_values(automaton, table, limit: int = 100_000) -> set[str]:
    """Every value the automaton lets a sampler write (depth-first over allowed tokens)."""
    done: set[str] = set()
    stack, seen = [""], {""}
    while stack:
        prefix = stack.pop()
        ids, complete = automaton.allowed(prefix)
        if complete:
            done.add(prefix[1:])
        for i in ids:
            nxt = prefix + table.strings[i]
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
        assert len(seen) < limit
    return done


class FakeTable:
    """A vocabulary with multi-character number tokens, as GPT-2's tokenizer has."""

    def __init__(self, strings):
        self.strings = list(strings)
        self.ids_of = {}
        for i, s in enumerate(self.strings):
            self.ids_of.setdefault(s, []).append(i)
        self.number_tokens = [(i, s) for i, s in enumerate(self.strings) if set(s) <= set(" -.0123456789")]
        self.comma = self.ids_of[","][0]


@pytest.fixture(scope="module")
def token_table(tokenizer) -> TokenTable:
    return TokenTable(tokenizer)


@pytest.mark.parametrize(("lo", "hi", "precision"), [(-1.5, 2.0, 1), (3.25, 104.0, 0), (-0.02, 0.013, 2)])
def test_number_automaton_writes_exactly_the_grid_values_in_range(token_table, lo, hi, precision):
    fake = FakeTable(
        [",", " ", " -", "-", ".", *"0123456789", "10", "00", "25", " 1", "0.", " 10", ".5", "1.0"]
    )
    step = 10.0**-precision
    grid = np.arange(np.ceil(lo / step - 1e-9), np.floor(hi / step + 1e-9) + 1) * step
    expected = {format_value(float(x), precision) for x in grid}
    expected |= (
        {"-" + v for v in expected if v == "0"} if lo < 0 else set()
    )  # "-0" as be-great writes -0.0004
    for table in (token_table, fake):
        got = reachable_values(NumberAutomaton(lo, hi, precision, table), table)
        assert got - {"-0"} == expected - {"-0"}
        assert all(len(v.split(".")[-1]) <= precision or "." not in v for v in got)


def test_level_automaton_writes_exactly_the_levels(token_table):
    levels = ["a", "ab", "b c", "0"]
    assert reachable_values(LevelAutomaton(levels, token_table), token_table) == set(levels)
    fake = FakeTable([",", " a", " ab", "b", " ", "a", " b", " c", "c", "0", " 0"])
    assert reachable_values(LevelAutomaton(levels, fake), fake) == set(levels)


def test_constrained_sampler_writes_only_valid_rows(fitted):
    out = fitted.sample(64, seed=11)
    report = fitted.sample_report_
    assert report["n_generated"] == 64 and report["n_invalid"] == 0 and report["rounds"] == 1
    assert set(out["w_cat"]) <= set(LEVELS)
    assert fitted.sampling_stats_["dead_ends"] == 0
    # one forward step per value token and one per column: the forced names cost no steps
    assert fitted.sampling_stats_["forward_steps"] < fitted.sampling_stats_["sampled_tokens"] / 10
    assert fitted.fit_info_["piecewise_tokenization_agreement"] == 1.0


def test_constrained_sampler_keeps_the_free_samplers_marginals(fitted):
    """The constraint only removes what the free sampler would have written invalidly.

    Tolerances: two-sample KS and chi-square p-values above 0.01 for every column, and level
    shares within 0.1 of each other, on 300 rows each (seeded, so the outcome is fixed). The
    start column is left out: the free sampler copies its values from the training table, the
    constrained one samples them, so there it would compare the model with the data.
    """
    from scipy import stats

    constrained = fitted.sample(300, seed=21)
    fitted.set_params(sampler="free")
    try:
        free = fitted.sample(300, seed=21)
    finally:
        fitted.set_params(sampler="constrained")
    assert fitted.start_column_ == "w_bin"  # the first column, as the feature order is fixed
    ks = stats.ks_2samp(constrained["w_cont"], free["w_cont"])
    assert ks.pvalue > 0.01, ks
    for column in ("w_cat", "A", "Y"):
        counts = pd.crosstab(
            np.r_[np.zeros(300), np.ones(300)], pd.concat([constrained[column], free[column]]).to_numpy()
        )
        assert stats.chi2_contingency(counts).pvalue > 0.01, (column, counts)
        shares = counts.div(counts.sum(axis=1), axis=0)
        assert (shares.iloc[0] - shares.iloc[1]).abs().max() < 0.1, (column, shares)


def test_constrained_sampler_is_deterministic_and_shuffles_columns(tiny_llm, table):
    params = tiny_params(tiny_llm, epochs=1, random_feature_order=True)
    gen = make_generator("great", params, n_jobs=1, random_state=0).fit(table, ROLES, dataset="tiny")
    a, b = gen.sample(16, seed=4), gen.sample(16, seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert gen.sample_report_["n_invalid"] == 0  # even after one epoch every row parses


def test_columns_the_constraint_cannot_express_are_refused(tiny_llm, table):
    free_text = table.assign(w_cat=[f"note {i}" for i in range(len(table))])
    free_text = pd.concat([free_text] * 2, ignore_index=True).assign(
        w_cat=[f"note {i}" for i in range(2 * len(table))]
    )
    with pytest.raises(DataError, match=r"column 'w_cat'.*looks like free text.*sampler: free"):
        make_generator("great", {"device": "cpu"}).fit(free_text, ROLES, dataset="tiny")
    unspellable = table.assign(w_cat=table["w_cat"].replace("a", "\U0001d4c1"))
    with pytest.raises(DataError, match=r"column 'w_cat'.*cannot spell it with whole tokens"):
        make_generator("great", tiny_params(tiny_llm)).fit(unspellable, ROLES, dataset="tiny")


@pytest.mark.parametrize(
    ("lora", "message"),
    [({"rank": 0}, "lora.rank must be a positive integer"), ({"rnak": 4}, "lora has no key")],
)
def test_bad_lora_settings_fail_clearly(table, lora, message):
    with pytest.raises(ConfigError, match=message):
        make_generator("great", {"device": "cpu", "lora": lora}).fit(table, ROLES, dataset="tiny")


def test_lora_trains_only_adapters_and_merges_them(tiny_llm, table):
    params = tiny_params(tiny_llm, epochs=2, lora={"rank": 4, "target_modules": ["q_proj", "v_proj"]})
    gen = make_generator("great", params, n_jobs=1, random_state=0).fit(table, ROLES, dataset="tiny")
    assert 0 < gen.fit_info_["trainable_parameters"] < 10_000
    assert gen.fit_info_["loss"] == "chunked"  # through LoRA's wrapper, the head frozen
    assert not any("lora" in name for name, _ in gen.model_.named_parameters())  # merged
    assert gen.sample(8, seed=0).shape == (8, 5)


# ------------------------------------------------------------------------- precision
def test_great_precision_is_auto_by_default_and_fp32_fits_in_fp32(fitted):
    assert GReaTGenerator().precision == "auto"
    assert fitted.fit_info_["precision"] == "fp32"
    assert fitted.fit_info_["precision_choice"]["reason"] == "requested"
    assert fitted.fit_info_["loss"] == "chunked"
    assert all(p.dtype == torch.float32 for p in fitted.model_.parameters())


@pytest.mark.parametrize(
    ("native", "isa", "chosen"),
    [
        (True, None, "bf16"),
        (False, None, "fp32"),
        (True, "AVX512_CORE_VNNI", "fp32"),
        (True, "AVX512_CORE_BF16", "bf16"),
    ],
)
def test_auto_precision_takes_bf16_only_where_the_cpu_computes_it(monkeypatch, native, isa, chosen):
    import torch as torch_module

    from causalsynth.generate.runtime import resolve_precision

    monkeypatch.setattr(torch_module.cpu, "_is_avx512_bf16_supported", lambda: native)
    monkeypatch.setattr(torch_module.cpu, "_is_amx_tile_supported", lambda: False)
    if isa is None:
        monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    else:
        monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", isa)
    choice = resolve_precision("auto", "cpu", "generator 'great'")
    assert choice["precision"] == chosen and choice["requested"] == "auto"
    assert choice["bf16_support"]["native_bf16"] is (chosen == "bf16")
    assert ("natively" in choice["reason"]) is (chosen == "bf16")
    # an explicit bf16 is kept where it is emulated, and says so
    assert ("emulates" in resolve_precision("bf16", "cpu", "g")["reason"]) is (chosen == "fp32")


@pytest.mark.parametrize("precision", ["bf16 ", "fp16", "BF16", None])
def test_unknown_precision_fails_naming_the_valid_ones(table, precision):
    with pytest.raises(
        ConfigError, match=r"generator 'great': precision must be one of auto, fp32, bf16, got"
    ):
        make_generator("great", {"device": "cpu", "precision": precision}).fit(table, ROLES, dataset="tiny")


def head_dtypes(gen: GReaTGenerator, n: int) -> tuple[pd.DataFrame, set]:
    """``gen.sample(n)`` and the dtypes of its model's last matrix product before the head (the
    constrained sampler computes the allowed tokens' logits itself, not through the head)."""
    seen = set()
    last = gen.model_.get_decoder().layers[-1].mlp.down_proj
    hook = last.register_forward_hook(lambda m, i, out: seen.add(out.dtype))
    try:
        return gen.sample(n, seed=3), seen
    finally:
        hook.remove()


def test_bf16_fits_and_samples_valid_rows_in_mixed_precision(tiny_llm, table, fitted):
    params = tiny_params(tiny_llm, precision="bf16")
    gen = make_generator("great", params, n_jobs=1, random_state=0).fit(table, ROLES, dataset="tiny")
    info = gen.fit_info_
    assert info["precision"] == "bf16" and info["steps"] == 100 and info["loss"] == "chunked"
    assert info["epoch_loss"][-1] < info["epoch_loss"][0]
    # mixed precision, not a cast model: fp32 weights, trained differently from fp32 ones
    assert all(p.dtype == torch.float32 for p in gen.model_.parameters())
    assert info["epoch_loss"] != fitted.fit_info_["epoch_loss"]
    assert "_original_forward" not in vars(gen.model_)  # accelerate's autocast wrapper is gone
    out, dtypes = head_dtypes(gen, 24)
    assert dtypes == {torch.bfloat16}
    assert gen.sample_report_["n_invalid"] == 0 and len(out) == 24
    assert set(out["w_cat"]) <= set(LEVELS) and np.isfinite(out["w_cont"]).all()
    gen.set_params(sampler="free")
    free, dtypes = head_dtypes(gen, 12)
    assert dtypes == {torch.bfloat16} and list(free.columns) == ROLES.columns
    assert head_dtypes(fitted, 4)[1] == {torch.float32}  # fp32 samples in fp32
