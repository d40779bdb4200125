"""Schema-constrained sampling for GReaT: every generated row parses by construction.

The sampler, not the model, writes each row's column names and separators ("W4 is", then
", A is", ...), in a random column order per row as in training; the model samples only the
value tokens, and at each step only among the tokens that keep the value inside what its column
allows:

* a continuous column: a number as :func:`~causalsynth.generate.great.text.format_value` writes
  it (optional ``-``, digits without leading zeros, at most ``float_precision`` decimals and no
  trailing zero) inside the bounds of :meth:`TableSpec.limits` (the ``range_multiple`` rule);
* a categorical column: one of the training levels (a trie over the level texts);
* a binary column: ``0`` or ``1``.

A value ends when the model samples the separator token ``,`` (allowed only once the value is
complete); temperature and top-k apply to the allowed tokens, renormalized. The forced tokens of
the next column go through the model together with that ``,`` in one forward step on the KV
cache, batched over rows, so a row costs one step per value token plus one per column.

Why our own automaton instead of ``outlines``, ``lm-format-enforcer``, ``transformers-cfg`` or
``xgrammar``: those constrain ``model.generate`` one token per step, so the forced column names
would still cost a step each, and a numeric range is not a regular-expression property they
check (they would bound the digit count only); the automaton here is a few dozen lines on top
of ``transformers`` and pins nothing.

Tokenizers that split digits into multi-character tokens are handled: a token is allowed when
the value text so far plus the token's text is still a prefix of an allowed value, so every
tokenization of a value stays possible and the model's own probabilities choose among them.
"""

from __future__ import annotations

import inspect
import math
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

import numpy as np

from causalsynth.core.errors import DataError
from causalsynth.generate.base import SamplingBudget
from causalsynth.generate.checks import TableSpec

_NUMBER_CHARS = frozenset(" -.0123456789")
# Decimals when float_precision is None (full precision): what a float64 can hold.
_FULL_PRECISION = 17
# Integer digits when range_multiple is None (no bound on continuous values).
_UNBOUNDED_DIGITS = 15


class TokenTable:
    """The text of every vocabulary token as it reads inside a text (leading spaces kept)."""

    def __init__(self, tokenizer: Any):
        # decoding after an anchor keeps the leading space that SentencePiece decoders drop
        anchor = tokenizer("a", add_special_tokens=False)["input_ids"]
        base = tokenizer.decode(anchor)
        size = len(tokenizer)
        texts = tokenizer.batch_decode([[*anchor, i] for i in range(size)])
        special = set(tokenizer.all_special_ids)
        self.strings = [
            "" if i in special or not t.startswith(base) else t[len(base) :] for i, t in enumerate(texts)
        ]
        self.ids_of: dict[str, list[int]] = {}
        for i, s in enumerate(self.strings):
            if s:
                self.ids_of.setdefault(s, []).append(i)
        self.number_tokens = [(i, s) for i, s in enumerate(self.strings) if s and set(s) <= _NUMBER_CHARS]
        comma = self.ids_of.get(",")
        if not comma:
            raise ValueError("the tokenizer has no token ',' (the GReaT separator)")
        self.comma = comma[0]


class LevelAutomaton:
    """Values that are one of a fixed set of texts (categorical levels, or 0/1)."""

    def __init__(self, levels: list[str], table: TokenTable):
        self.values = frozenset(" " + v for v in levels)
        self._table = table
        self._cache: dict[str, tuple[tuple[int, ...], bool]] = {}

    def allowed(self, prefix: str) -> tuple[tuple[int, ...], bool]:
        """Token ids that extend ``prefix`` towards a level, and whether ``prefix`` is one."""
        if prefix in self._cache:
            return self._cache[prefix]
        ids: set[int] = set()
        for value in self.values:
            if value.startswith(prefix) and len(value) > len(prefix):
                rest = value[len(prefix) :]
                for j in range(1, len(rest) + 1):
                    ids.update(self._table.ids_of.get(rest[:j], ()))
        out = self._cache[prefix] = (tuple(sorted(ids)), prefix in self.values)
        return out


class NumberAutomaton:
    """Decimal numbers in ``format_value``'s format within ``[lo, hi]``.

    Feasibility is exact on the grid of ``10**-precision``: values are held as integers in
    units of that grid, and a prefix is allowed when some completion of it lies in the bounds.
    """

    def __init__(self, lo: float, hi: float, precision: int | None, table: TokenTable):
        self.precision = _FULL_PRECISION if precision is None else precision
        self._unit = 10**self.precision
        if math.isinf(lo) or math.isinf(hi):
            bound = 10**_UNBOUNDED_DIGITS * self._unit - 1
            self.lo, self.hi = -bound, bound
        else:
            scale = Decimal(self._unit)
            self.lo = int((Decimal(repr(lo)) * scale).to_integral_value(ROUND_CEILING))
            self.hi = int((Decimal(repr(hi)) * scale).to_integral_value(ROUND_FLOOR))
        self.max_digits = len(str(max(abs(self.lo), abs(self.hi)) // self._unit))
        self._tokens = table.number_tokens
        self._cache: dict[str, tuple[tuple[int, ...], bool]] = {}

    @staticmethod
    def _parse(text: str) -> tuple[int, str, bool, str] | None:
        """``(sign, integer digits, has point, decimals)`` of a value prefix; None: no prefix."""
        if not text.startswith(" "):
            return None
        body = text[1:]
        sign = 1
        if body.startswith("-"):
            sign, body = -1, body[1:]
        whole, point, frac = body.partition(".")
        if not whole.isdigit() and whole:
            return None
        if frac and not frac.isdigit():
            return None
        if point and not whole:
            return None
        if len(whole) > 1 and whole[0] == "0":
            return None
        return sign, whole, bool(point), frac

    def _feasible(self, state: tuple[int, str, bool, str]) -> bool:
        sign, whole, point, frac = state
        p, unit = self.precision, self._unit
        if point or frac:
            if not point:
                return False
            f = len(frac)
            if f > p or (p == 0):
                return False
            base = int(whole) * unit + (int(frac) * 10 ** (p - f) if frac else 0)
            if f == p:
                if not frac or frac[-1] == "0":
                    return False
                spans = [(base, base)]
            else:
                needs_digit = not frac or frac[-1] == "0"
                spans = [(base + (1 if needs_digit else 0), base + 10 ** (p - f) - 1)]
        else:
            if len(whole) > self.max_digits:
                return False
            if whole == "0":
                ints = [(0, 0)]
            elif not whole:
                ints = [(0, 9)] + [(10 ** (k - 1), 10**k - 1) for k in range(2, self.max_digits + 1)]
            else:
                d = int(whole)
                ints = [(d * 10**k, (d + 1) * 10**k - 1) for k in range(self.max_digits - len(whole) + 1)]
            spans = [(a * unit, b * unit + unit - 1) for a, b in ints]
        for a, b in spans:
            lo, hi = (a, b) if sign > 0 else (-b, -a)
            if max(lo, self.lo) <= min(hi, self.hi):
                return True
        return False

    def complete(self, text: str) -> bool:
        state = self._parse(text)
        if state is None:
            return False
        sign, whole, point, frac = state
        if not whole or (point and (not frac or frac[-1] == "0")) or len(frac) > self.precision:
            return False
        value = sign * (
            int(whole) * self._unit + (int(frac) * 10 ** (self.precision - len(frac)) if frac else 0)
        )
        return self.lo <= value <= self.hi

    def prefix_ok(self, text: str) -> bool:
        if text == " ":
            return self._feasible((1, "", False, "")) or self._feasible((-1, "", False, ""))
        state = self._parse(text)
        return state is not None and self._feasible(state)

    def allowed(self, prefix: str) -> tuple[tuple[int, ...], bool]:
        """Token ids that keep ``prefix`` a prefix of an allowed number, and whether it is one."""
        if prefix not in self._cache:
            ids = tuple(i for i, s in self._tokens if self.prefix_ok(prefix + s))
            self._cache[prefix] = (ids, self.complete(prefix))
        return self._cache[prefix]


def check_expressible(spec: TableSpec, source: str, table: TokenTable) -> None:
    """Refuse a table whose values the constrained sampler could not write.

    Categorical levels must be non-empty texts without the separator ``,`` (the sampler ends a
    value there) or a line break, and must be spelled by whole tokens of the tokenizer (a
    byte-level tokenizer splits some characters into byte tokens no text can be matched to).
    """
    for column in spec.columns:
        if spec.types[column] != "categorical":
            continue
        for level in spec.levels[column]:
            if "," in level or "\n" in level or not level.strip():
                why = "it is empty or holds ',' or a line break, where a generated value ends"
            elif not _spelled_by_tokens(" " + level, table):
                why = "the tokenizer cannot spell it with whole tokens"
            else:
                continue
            raise DataError(
                source,
                column,
                f"the level {level!r} cannot be sampled under sampler 'constrained' ({why})",
                "recode the column's levels (plain ASCII, no ',') when the dataset is prepared, "
                "or use sampler: free",
            )


def _spelled_by_tokens(text: str, table: TokenTable) -> bool:
    reach = [True] + [False] * len(text)
    for i in range(len(text)):
        if reach[i]:
            for j in range(i + 1, len(text) + 1):
                if text[i:j] in table.ids_of:
                    reach[j] = True
    return reach[-1]


class ConstrainedPlan:
    """Per column: the forced tokens that introduce it and the automaton of its values."""

    def __init__(
        self,
        tokenizer: Any,
        spec: TableSpec,
        precision: int | None,
        range_multiple: float | None,
        table: TokenTable | None = None,
    ):
        self.table = table or TokenTable(tokenizer)
        self.columns = list(spec.columns)
        self.first: dict[str, list[int]] = {}
        self.after: dict[str, list[int]] = {}
        self.automata: dict[str, LevelAutomaton | NumberAutomaton] = {}
        for column in self.columns:
            self.first[column] = tokenizer(f"{column} is")["input_ids"]
            self.after[column] = tokenizer(f" {column} is", add_special_tokens=False)["input_ids"]
            kind = spec.types[column]
            if kind == "categorical":
                self.automata[column] = LevelAutomaton(list(spec.levels[column]), self.table)
            elif kind == "binary":
                self.automata[column] = LevelAutomaton(["0", "1"], self.table)
            else:
                lo, hi = spec.limits(column, range_multiple)
                self.automata[column] = NumberAutomaton(lo, hi, precision, self.table)

    def piecewise_ids(self, order: list[str], values: list[str]) -> list[int]:
        """Token ids of a row as this sampler writes it (to compare with the tokenizer's)."""
        ids: list[int] = []
        for k, (column, value) in enumerate(zip(order, values, strict=True)):
            ids += self.first[column] if k == 0 else [self.table.comma, *self.after[column]]
            ids += self._value_ids(" " + value)
        return ids

    def _value_ids(self, text: str) -> list[int]:
        # greedy longest match, used only by the tokenization check
        ids, i = [], 0
        while i < len(text):
            for j in range(len(text), i, -1):
                if text[i:j] in self.table.ids_of:
                    ids.append(self.table.ids_of[text[i:j]][0])
                    i = j
                    break
            else:
                return [-1]
        return ids


def sample_constrained(
    model: Any,
    plan: ConstrainedPlan,
    n: int,
    *,
    rng: np.random.Generator,
    generator: Any,
    temperature: float,
    top_k: int | None,
    batch_size: int,
    random_order: bool,
    budget: SamplingBudget,
    pad_id: int,
    progress: Any = None,
) -> tuple[list[dict[str, str | None]], dict[str, int]]:
    """``n`` rows as ``{column: value text}`` and counts of sampled/forced tokens and steps."""
    rows: list[dict[str, str | None]] = []
    stats = {"sampled_tokens": 0, "forced_tokens": 0, "forward_steps": 0, "dead_ends": 0}
    while len(rows) < n:
        budget.check()
        m = min(batch_size, n - len(rows))
        if random_order:
            orders = [list(rng.permutation(plan.columns)) for _ in range(m)]
        else:
            orders = [list(plan.columns) for _ in range(m)]
        rows.extend(_sample_batch(model, plan, orders, generator, temperature, top_k, pad_id, stats))
        if progress is not None:
            progress(len(rows))
    return rows, stats


def _sample_batch(model, plan, orders, generator, temperature, top_k, pad_id, stats):
    import torch
    from transformers import DynamicCache

    device = model.device
    m = len(orders)
    n_columns = len(plan.columns)
    backbone = model.base_model
    head = model.get_output_embeddings()
    # transformers 5 renamed past_key_values to cache in some models' forward
    cache_arg = "cache" if "cache" in inspect.signature(backbone.forward).parameters else "past_key_values"
    cache = DynamicCache()
    mask_history = torch.zeros((m, 0), dtype=torch.long, device=device)
    n_real = torch.zeros(m, dtype=torch.long, device=device)
    values: list[dict[str, str | None]] = [dict.fromkeys(plan.columns) for _ in range(m)]
    comma = plan.table.comma

    def forward(chunks: list[list[int]]):
        nonlocal mask_history, n_real
        width = max(len(c) for c in chunks)
        ids = torch.full((m, width), pad_id, dtype=torch.long)
        new_mask = torch.zeros((m, width), dtype=torch.long)
        for r, c in enumerate(chunks):
            if c:
                ids[r, : len(c)] = torch.tensor(c)
                new_mask[r, : len(c)] = 1
        ids, new_mask = ids.to(device), new_mask.to(device)
        positions = (n_real[:, None] + new_mask.cumsum(1) - 1).clamp(min=0)
        mask_history = torch.cat([mask_history, new_mask], dim=1)
        hidden = backbone(
            input_ids=ids,
            attention_mask=mask_history,
            position_ids=positions,
            use_cache=True,
            **{cache_arg: cache},
        ).last_hidden_state
        last = (new_mask.sum(1) - 1).clamp(min=0)
        n_real = n_real + new_mask.sum(1)
        stats["forward_steps"] += 1
        return hidden[torch.arange(m, device=device), last]

    def extend(r: int, k: int, prefix: str, chunk: list[int]) -> tuple[str, bool]:
        """Append the value tokens the automaton leaves no choice about (they have probability
        1 under the constraint, so they cost no draw); returns the prefix and whether the value
        is finished (complete, nothing may follow)."""
        automaton = plan.automata[orders[r][k]]
        while True:
            ids, done = automaton.allowed(prefix)
            if done and not ids:
                return prefix, True
            if done or len(ids) != 1:
                return prefix, False
            chunk.append(ids[0])
            stats["forced_tokens"] += 1
            prefix += plan.table.strings[ids[0]]

    def closing(k: int, r: int, forced_comma: bool) -> list[int]:
        """The separator and the next column's name, fed with the next column's first step."""
        if k + 1 == n_columns:
            return []
        after = plan.after[orders[r][k + 1]]
        stats["forced_tokens"] += len(after) + forced_comma
        return [comma, *after]

    # Rows move through the columns in step: a row that finishes its value early keeps its
    # unfed tokens (pending) until every row has finished that column, so its next logits are
    # always read at its last real token.
    pending = [list(plan.first[order[0]]) for order in orders]
    stats["forced_tokens"] += sum(len(c) for c in pending)
    for k in range(n_columns):
        feed, pending = pending, [[] for _ in range(m)]
        prefixes = [""] * m
        active = []
        for r in range(m):
            prefixes[r], finished = extend(r, k, "", feed[r])
            if finished:
                values[r][orders[r][k]] = prefixes[r][1:]
                pending[r], feed[r] = feed[r] + closing(k, r, True), []
            else:
                active.append(r)
        while active:
            states = forward(feed)
            feed = [[] for _ in range(m)]
            choices = []
            for r in active:
                ids, done = plan.automata[orders[r][k]].allowed(prefixes[r])
                choices.append((*ids, comma) if done else ids)
            drawn = _draw(states[active], head, choices, temperature, top_k, generator)
            still = []
            for r, token in zip(active, drawn, strict=True):
                column = orders[r][k]
                if token is None:  # no allowed token: cannot happen for an exact automaton
                    stats["dead_ends"] += 1
                    pending[r] = closing(k, r, True)
                    continue
                stats["sampled_tokens"] += 1
                if token == comma:
                    values[r][column] = prefixes[r][1:]
                    pending[r] = closing(k, r, False)
                    continue
                chunk = [token]
                prefixes[r], finished = extend(r, k, prefixes[r] + plan.table.strings[token], chunk)
                if finished:
                    values[r][column] = prefixes[r][1:]
                    pending[r] = chunk + closing(k, r, True)
                else:
                    feed[r] = chunk
                    still.append(r)
            active = still
    return values


def allowed_logits(states, head, index):
    """Each row's logits at the token ids in its row of ``index`` (rows x width), from its last
    hidden state and those rows of the output head."""
    logits = (head.weight[index] @ states[:, :, None])[:, :, 0]
    return logits if head.bias is None else logits + head.bias[index]


def _draw(states, head, choices, temperature, top_k, generator):
    """One token per row among its allowed ids: temperature, top-k, then Gumbel-max.

    Only the allowed tokens' logits are computed (each row's last hidden state against those
    rows of the head), not the whole vocabulary's: a value allows at most a dozen tokens of
    SmolLM2's 49,152, for the same rows to the last bit. On an AMD EPYC without bf16 the whole
    head cost 5% of sampling 100 ``lalonde_nsw`` rows (``benchmarks/great_logits.py``: 59.7
    against 56.6 s); not measured on a CPU with bf16.
    """
    import torch

    width = max(len(c) for c in choices)
    if width == 0:
        return [None] * len(choices)
    index = torch.zeros((len(choices), width), dtype=torch.long)
    valid = torch.zeros((len(choices), width), dtype=torch.bool)
    for r, c in enumerate(choices):
        if c:
            index[r, : len(c)] = torch.tensor(c)
            valid[r, : len(c)] = True
    index, valid = index.to(states.device), valid.to(states.device)
    scores = allowed_logits(states, head, index).float() / temperature
    scores = scores.masked_fill(~valid, -math.inf)
    if top_k is not None and top_k < width:
        scores, pick = scores.topk(top_k, dim=1)
        index = index.gather(1, pick)
    uniform = torch.rand(scores.shape, generator=generator, device=scores.device)
    gumbel = -torch.log(-torch.log(uniform.clamp(1e-12, 1 - 1e-7)))
    best = (scores + gumbel).argmax(dim=1)
    out = index.gather(1, best[:, None])[:, 0].tolist()
    return [tok if c else None for tok, c in zip(out, choices, strict=True)]
