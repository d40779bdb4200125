"""The free sampler: the model writes whole texts after a start prompt, drawing each token
with temperature, top-k and a Gumbel-max draw from a local generator."""

from __future__ import annotations

import math
from typing import Any


def sampling_processor(temperature: float, top_k: int | None, generator: Any):
    """A logits processor that samples one token per row (Gumbel-max over the top k).

    Returns logits that are 0 at the drawn token and -inf elsewhere, for greedy decoding.
    Same order as transformers' warpers: temperature, then top-k.
    """
    import torch
    from transformers import LogitsProcessor

    class GumbelTopK(LogitsProcessor):
        def __call__(self, input_ids, scores):
            scores = scores.float() / temperature
            if top_k is not None and top_k < scores.shape[-1]:
                values, index = scores.topk(top_k, dim=-1)
            else:
                values = scores
                index = torch.arange(scores.shape[-1], device=scores.device).expand_as(scores)
            uniform = torch.rand(values.shape, generator=generator, device=values.device)
            gumbel = -torch.log(-torch.log(uniform.clamp(1e-12, 1 - 1e-7)))
            drawn = index.gather(-1, (values + gumbel).argmax(dim=-1, keepdim=True))
            out = torch.full_like(scores, -math.inf)
            return out.scatter_(-1, drawn, 0.0)

    return GumbelTopK()


def generate_texts(
    model: Any,
    tokenizer: Any,
    prompts: list[str],
    generator: Any,
    temperature: float,
    top_k: int | None,
    max_new_tokens: int,
    autocast: Any,
) -> tuple[list[str], int]:
    """Complete each prompt with the fine-tuned model: one text per prompt, and the tokens sampled.

    Sampling (temperature, then top-k) happens in :func:`sampling_processor`, which
    draws with ``generator`` and leaves a single finite logit per row, so ``generate``
    runs greedily: the draw is the same distribution as ``do_sample=True``, seeded by a
    local generator instead of torch's global one, and skips torch's multinomial over the
    whole vocabulary (most of the time of a small model on the CPU). ``autocast`` is the
    context the model runs in (bf16 autocast, or nothing).
    """
    import torch
    from transformers import LogitsProcessorList

    tokenizer.padding_side = "left"
    batch = tokenizer(prompts, return_tensors="pt", padding=True).to(model.device)
    sampler = sampling_processor(temperature, top_k, generator)
    with torch.inference_mode(), autocast:
        tokens = model.generate(
            **batch,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            logits_processor=LogitsProcessorList([sampler]),
            pad_token_id=tokenizer.pad_token_id,
        )
    sampled = int(tokens.shape[0] * (tokens.shape[1] - batch["input_ids"].shape[1]))
    return tokenizer.batch_decode(tokens, skip_special_tokens=True), sampled
