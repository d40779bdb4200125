"""GReaT's chunked fine-tuning loss is the model's own loss: same value, same gradients."""

from __future__ import annotations

import pytest
import torch

from causalsynth.generate.great import loss as great_loss
from causalsynth.generate.great.loss import chunked_loss_trainer, decoder_and_head, loss_path
from tests.unit import conftest

VOCAB = 97


def tiny_llama(dtype=torch.float64):
    return conftest.tiny_llama(VOCAB, pad_token_id=0).to(dtype)


def padded_batch(lengths=(9, 5, 12, 7), seed=1) -> dict[str, torch.Tensor]:
    """Right-padded rows with the padding's labels at -100, as GReaT's collator writes them."""
    gen = torch.Generator().manual_seed(seed)
    width = max(lengths)
    ids = torch.randint(1, VOCAB, (len(lengths), width), generator=gen)
    mask = (torch.arange(width)[None, :] < torch.tensor(lengths)[:, None]).long()
    ids = ids.masked_fill(mask == 0, 0)
    labels = ids.masked_fill(mask == 0, -100)
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def own_loss_and_grads(model, batch):
    """Mean next-token cross-entropy of the model's own logits, in the model's dtype (the
    model's loss upcasts to fp32 only, which would hide float64 agreement)."""
    model.zero_grad(set_to_none=True)
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    labels = batch["labels"][:, 1:]
    loss = torch.nn.functional.cross_entropy(logits[:, :-1].transpose(1, 2), labels, ignore_index=-100)
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def chunked_loss_and_grads(model, batch, divisor):
    decoder, head = decoder_and_head(model)
    model.zero_grad(set_to_none=True)
    hidden = decoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])[0]
    labels = batch["labels"][:, 1:]
    keep = labels != -100
    loss = great_loss.summed_token_loss(hidden[:, :-1][keep], head.weight, labels[keep]) / divisor
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("chunk", [5, 256])
def test_chunked_loss_and_gradients_equal_the_models_own(monkeypatch, chunk):
    # chunk 5 splits the 29 labelled positions into 6 chunks, the last one short
    monkeypatch.setattr(great_loss, "CHUNK_POSITIONS", chunk)
    model, batch = tiny_llama(), padded_batch()
    n_labelled = int((batch["labels"][:, 1:] != -100).sum())
    own, own_grads = own_loss_and_grads(model, batch)
    ours, our_grads = chunked_loss_and_grads(model, batch, n_labelled)
    assert torch.allclose(ours, own, rtol=1e-12, atol=0)
    assert own_grads.keys() == our_grads.keys()  # the tied embedding gets the head's gradient too
    for name, grad in own_grads.items():
        assert torch.allclose(our_grads[name], grad, rtol=1e-9, atol=1e-12), name


def test_a_frozen_head_gets_no_gradient_and_the_rest_the_models_own():
    model, batch = tiny_llama(), padded_batch(seed=2)
    model.get_output_embeddings().weight.requires_grad_(False)  # as under LoRA
    n_labelled = int((batch["labels"][:, 1:] != -100).sum())
    own, own_grads = own_loss_and_grads(model, batch)
    ours, our_grads = chunked_loss_and_grads(model, batch, n_labelled)
    assert torch.allclose(ours, own, rtol=1e-12, atol=0)
    assert "model.embed_tokens.weight" not in our_grads and own_grads.keys() == our_grads.keys()
    for name, grad in own_grads.items():
        assert torch.allclose(our_grads[name], grad, rtol=1e-9, atol=1e-12), name


def test_the_trainer_divides_as_the_model_does_with_the_trainers_token_count(tmp_path):
    from transformers import Trainer, TrainingArguments

    model, batch = tiny_llama(torch.float32), padded_batch(seed=3)
    args = TrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to="none")
    parts = loss_path(model, batch)
    assert parts is not None
    trainer = chunked_loss_trainer(Trainer)(model, args, loss_parts=parts)
    plain = Trainer(model, args)
    # the Trainer counts labels before the shift (33 here), the model sums over the 29 shifted
    num_items = int((batch["labels"] != -100).sum())
    for count in (num_items, None):
        ours = trainer.compute_loss(model, dict(batch), num_items_in_batch=count)
        own = plain.compute_loss(model, dict(batch), num_items_in_batch=count)
        assert torch.allclose(ours, own, rtol=1e-5, atol=0), count


def test_bf16_mixed_precision_runs_the_head_in_bf16_and_stays_near_fp32():
    model, batch = tiny_llama(torch.float32), padded_batch(seed=4)
    decoder, head = decoder_and_head(model)
    hidden = decoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])[0]
    labels = batch["labels"][:, 1:]
    keep = labels != -100
    args = (hidden[:, :-1][keep], head.weight, labels[keep])
    fp32 = great_loss.summed_token_loss(*args)
    bf16 = great_loss.summed_token_loss(*args, torch.bfloat16)
    assert bf16.dtype == torch.float32 and not torch.equal(bf16, fp32)
    assert torch.allclose(bf16, fp32, rtol=2e-2)
    bf16.backward()
    assert head.weight.grad.dtype == torch.float32


def test_a_model_whose_logits_are_not_its_head_on_its_decoder_keeps_its_own_loss():
    from transformers import LlamaForCausalLM

    class ScaledLogits(LlamaForCausalLM):
        def forward(self, *args, **kwargs):
            out = super().forward(*args, **kwargs)
            out.logits = out.logits * 0.5
            return out

    plain = tiny_llama()
    batch = padded_batch()
    assert loss_path(plain, batch) is not None
    scaled = ScaledLogits(plain.config).to(torch.float64)
    scaled.load_state_dict(plain.state_dict())
    assert decoder_and_head(scaled) is not None and loss_path(scaled, batch) is None
