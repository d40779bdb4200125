"""GReaT: a causal language model fine-tuned on rows written as text, and its base models.

``generator`` holds :class:`GReaTGenerator` (registered as ``great``); ``text`` the row-as-text
encoding; ``training`` the fine-tuning pieces (LoRA, loss mask, epoch log); ``loss`` the
fine-tuning loss, computed only at labelled positions and a chunk at a time; ``constrained``
and ``sampling`` the two samplers' token draws; ``llm`` resolves, loads and prepares the base
model (the rule ``prepare_llm``).
"""

from causalsynth.generate.great.generator import SAMPLERS, GReaTGenerator
from causalsynth.generate.great.llm import (
    PROVENANCE_FILE,
    LLMSource,
    load_causal_lm,
    load_tokenizer,
    prepare_llm,
    resolve_source,
    run_prepare_llm,
    shipped_gguf_path,
)
from causalsynth.generate.great.text import format_value

__all__ = [
    "PROVENANCE_FILE",
    "SAMPLERS",
    "GReaTGenerator",
    "LLMSource",
    "format_value",
    "load_causal_lm",
    "load_tokenizer",
    "prepare_llm",
    "resolve_source",
    "run_prepare_llm",
    "shipped_gguf_path",
]
