"""Fine-tuning pieces of GReaT: LoRA settings and adapters, the loss mask of padding, and the
per-epoch log.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from causalsynth.core.errors import ConfigError

logger = logging.getLogger(__name__)


LORA_KEYS = {"rank": 8, "alpha": 16, "target_modules": None, "dropout": 0.0}


def lora_settings(lora: Any, who: str) -> dict[str, Any] | None:
    """``lora`` with defaults filled in; None when off."""
    if lora is None or lora is False:
        return None
    if not isinstance(lora, dict):
        raise ConfigError(
            f"{who}: lora must be a mapping (rank, alpha, target_modules, dropout) or null, got {lora!r}"
        )
    unknown = sorted(set(lora) - set(LORA_KEYS))
    if unknown:
        raise ConfigError(f"{who}: lora has no key(s) {', '.join(unknown)}; valid: {', '.join(LORA_KEYS)}")
    out = {**LORA_KEYS, **lora}
    for key in ("rank", "alpha"):
        if isinstance(out[key], bool) or not isinstance(out[key], int) or out[key] < 1:
            raise ConfigError(f"{who}: lora.{key} must be a positive integer, got {out[key]!r}")
    if out["target_modules"] is not None and (
        not isinstance(out["target_modules"], list)
        or not all(isinstance(m, str) for m in out["target_modules"])
    ):
        raise ConfigError(f"{who}: lora.target_modules must be a list of module names or null")
    if not 0 <= out["dropout"] < 1:
        raise ConfigError(f"{who}: lora.dropout must be in [0, 1), got {out['dropout']!r}")
    return out


def with_lora(model: Any, lora: dict[str, Any]) -> Any:
    """``model`` with LoRA adapters; only the adapters train."""
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=lora["rank"],
        lora_alpha=lora["alpha"],
        target_modules=lora["target_modules"],
        lora_dropout=lora["dropout"],
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)


def masked_collator(tokenizer: Any):
    """be-great's collator, with padding left out of the loss."""
    from be_great.great_dataset import GReaTDataCollator

    class MaskedCollator(GReaTDataCollator):
        def __call__(self, features):
            batch = super().__call__(features)
            batch["labels"][batch["attention_mask"] == 0] = -100
            return batch

    return MaskedCollator(tokenizer)


def epoch_logger(total_epochs: int):
    """A Trainer callback that logs loss and seconds per epoch to ``causalsynth.generate``."""
    from transformers import TrainerCallback

    class EpochLogger(TrainerCallback):
        def __init__(self) -> None:
            self.epoch_seconds: list[float] = []
            self.losses: list[float] = []
            self._start = time.perf_counter()

        def on_epoch_begin(self, args, state, control, **kwargs):
            self._start = time.perf_counter()

        def on_epoch_end(self, args, state, control, **kwargs):
            self.epoch_seconds.append(time.perf_counter() - self._start)

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                self.losses.append(float(logs["loss"]))
                seconds = self.epoch_seconds[-1] if self.epoch_seconds else float("nan")
                logger.info(
                    "great: epoch %d/%d loss %.4f (%.1f s, step %d)",
                    round(state.epoch or 0),
                    total_epochs,
                    logs["loss"],
                    seconds,
                    state.global_step,
                )

    return EpochLogger()
