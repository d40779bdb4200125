"""GReaT's fine-tuning loss, computed only at the positions that carry a label and a chunk at a time.

A causal language model's own loss applies the output head to every position, padding
included, holds the logits of the whole batch over the whole vocabulary (32 rows x 80 tokens x
49,152 tokens for SmolLM2: 500 MB in fp32), then runs log-softmax, its backward and the zeroing
of a gradient that large. Here the head is applied only to the positions that have a label, a
chunk of them at a time, and the gradient of each chunk's logits (softmax minus one-hot) is
formed in the same pass, so the batch's logits never exist whole. The loss and the gradients
are the model's own up to float rounding: the same sums in another order
(``tests/unit/test_great_loss.py``). ``benchmarks/great_logits.py``, on an AMD EPYC without bf16
in fp32: 144.2 s of fine-tuning with the model's loss against 109.7 s with this one (0.76); on a
CPU with bf16 it is not measured.

It applies where the model's logits are its output head applied to its decoder's last hidden
state; :func:`loss_path` checks that on one batch before training and otherwise keeps the
model's own loss (a model that scales or caps its logits, a head with a bias).
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch

# Positions per chunk: a chunk's logits (256 x 49,152 floats, 50 MB for SmolLM2) are a tenth of
# the whole batch's, and a chunk is still wide enough for the matrix products to run at speed.
CHUNK_POSITIONS = 256


class LinearCrossEntropy(torch.autograd.Function):
    """Summed cross-entropy of ``hidden @ weight.T`` against ``targets``, chunked.

    Forward computes the gradients too (they need the same softmax), keeps them, and backward
    scales them: the logits are never stored for the backward pass. Matrix products run in
    ``compute_dtype`` (bf16 under mixed precision, as autocast would run the head), softmax,
    the loss and the weight's gradient in fp32 at least.
    """

    @staticmethod
    def forward(ctx, hidden, weight, targets, chunk: int, compute_dtype: torch.dtype):
        with torch.autocast(device_type=hidden.device.type, enabled=False):
            exact = torch.promote_types(compute_dtype, torch.float32)  # softmax, loss and sums
            w = weight.detach().to(compute_dtype)
            grad_hidden = torch.empty_like(hidden)
            grad_weight = torch.zeros_like(weight, dtype=exact) if weight.requires_grad else None
            total = torch.zeros((), dtype=torch.float64, device=hidden.device)
            for start in range(0, hidden.shape[0], chunk):
                h = hidden[start : start + chunk].detach().to(compute_dtype)
                t = targets[start : start + chunk]
                rows = torch.arange(t.shape[0], device=t.device)
                logits = (h @ w.T).to(exact)
                lse = torch.logsumexp(logits, dim=1)
                total += (lse - logits[rows, t]).sum(dtype=torch.float64)
                probs = logits.sub_(lse[:, None]).exp_()  # softmax, in the logits' memory
                probs[rows, t] -= 1.0
                grad = probs.to(compute_dtype)
                grad_hidden[start : start + chunk] = grad @ w
                if grad_weight is not None and compute_dtype == exact:
                    grad_weight.addmm_(grad.T, h)
                elif grad_weight is not None:
                    grad_weight += (grad.T @ h).to(exact)
        ctx.save_for_backward(grad_hidden, grad_weight if grad_weight is not None else hidden.new_empty(0))
        ctx.has_weight_grad = grad_weight is not None
        ctx.weight_dtype = weight.dtype
        return total.to(torch.promote_types(hidden.dtype, exact))

    @staticmethod
    def backward(ctx, grad_output):
        grad_hidden, grad_weight = ctx.saved_tensors
        weight_grad = (grad_weight * grad_output).to(ctx.weight_dtype) if ctx.has_weight_grad else None
        return grad_hidden * grad_output, weight_grad, None, None, None


def summed_token_loss(hidden, weight, targets, compute_dtype: torch.dtype | None = None) -> torch.Tensor:
    """Summed cross-entropy of ``hidden @ weight.T`` (positions x vocabulary) against ``targets``."""
    return LinearCrossEntropy.apply(hidden, weight, targets, CHUNK_POSITIONS, compute_dtype or hidden.dtype)


def decoder_and_head(model: Any) -> tuple[Any, Any] | None:
    """The decoder (ids to last hidden state) and the bias-free linear output head, or None."""
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model  # LoRA's wrapper
    head = inner.get_output_embeddings()
    get_decoder = getattr(inner, "get_decoder", None)
    decoder = get_decoder() if get_decoder is not None else None
    if decoder is None or decoder is inner or not isinstance(head, torch.nn.Linear) or head.bias is not None:
        return None
    return decoder, head


def loss_path(model: Any, batch: dict[str, torch.Tensor]) -> tuple[Any, Any] | None:
    """(decoder, head) when the model's logits on ``batch`` are the head applied to the decoder's
    output, so the chunked loss is the model's own; None keeps the model's loss."""
    parts = decoder_and_head(model)
    if parts is None:
        return None
    decoder, head = parts
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            own = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
            ours = head(decoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])[0])
    except TypeError:  # a decoder that takes other arguments than ids and a mask
        return None
    finally:
        model.train(was_training)
    if own.shape != ours.shape or not torch.allclose(own.float(), ours.float(), rtol=1e-4, atol=1e-4):
        return None
    return parts


def chunked_loss_trainer(base: type) -> type:
    """``base`` (a transformers Trainer) with the chunked loss where :func:`loss_path` allows it.

    The loss is divided as the model divides its own: by the Trainer's count of label tokens in
    the batch when it passes one to a model that takes it (the Trainer then does not divide by
    the accumulation steps), by the positions with a label otherwise.
    """

    class ChunkedLossTrainer(base):
        def __init__(self, *args, loss_parts: tuple[Any, Any] | None = None, **kwargs):
            super().__init__(*args, **kwargs)
            self._loss_parts = loss_parts

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            single = self.args.n_gpu <= 1 and self.accelerator.num_processes == 1
            if self._loss_parts is None or return_outputs or not single or "labels" not in inputs:
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            decoder, head = self._loss_parts
            autocast = self.accelerator.autocast() if self.args.bf16 else contextlib.nullcontext()
            with autocast:
                hidden = decoder(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"])[0]
                dtype = torch.get_autocast_dtype(hidden.device.type) if self.args.bf16 else hidden.dtype
            labels = inputs["labels"][:, 1:]
            keep = labels != -100
            total = summed_token_loss(hidden[:, :-1][keep], head.weight, labels[keep], dtype)
            scaled = num_items_in_batch is not None and self.model_accepts_loss_kwargs
            count = num_items_in_batch if scaled else keep.sum()
            return total / count

    return ChunkedLossTrainer
