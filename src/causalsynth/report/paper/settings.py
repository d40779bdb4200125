"""Whether a run's settings are the papers': `settings_match`, the one place that decides it.

The papers' settings are those of docs/method.md (the project's reference method.md): CTGAN 50
epochs with ctgan's own defaults otherwise (the authors call `CTGAN(epochs=50)`), GReaT 50 epochs
of batch 32 at temperature 0.7 with random feature order, 50,000 synthetic rows, random forests
as nuisance learners fitted in sample, hybrid pools from a single forest on (W, A) with learned
assignment, pairing at a propensity threshold of 0.001, the simulation engine at n = 1,000 with
100 replicates, and the `sim_paper` design (an RCT seed set and test set of 1,000 rows, five
confounded sets of 200). `config/paper.yaml` holds them; `tests/unit/test_paper_comparison.py`
checks that it matches.

A setting has a scope: the numbers it can move. A comparison row of the LLM's sets is judged
on the settings of `great`, the hybrid pools and the estimation; a DCR row only on the
generator's and the data's. A *caveat* is a difference the run cannot remove here (GReaT's base
model: the papers fine-tune GPT-2, which needs a Hugging Face hub; causalsynth ships
SmolLM2-135M): it is stated beside every number it touches and does not stop the comparison.

`settings` is the resolved config of the run (`config.Plan.resolved_settings`: every generator
and dataset with its defaults filled in), so the report stage needs no registry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

PAPER_LEARNER = "random_forest"
PAPERS_SETTINGS_TEXT = (
    "the papers' (method.md: CTGAN and GReaT 50 epochs, GReaT batch 32 at temperature 0.7, 50,000 rows "
    "per set, random forests fitted in sample, one forest on (W, A) for the hybrid outcome, pairing at "
    "0.001, the engine at n = 1,000 with 100 replicates); GReaT's base model is a stated caveat where "
    "it is not GPT-2."
)
PAPER_ROWS = 50000
PAPER_ENGINE_N = 1000

# scopes: "data" (every number), a generator id ("ctgan", "great": their sets and hybrids),
# "hybrid" (hybrid pools, pairing and engine pools), "estimation" (every ATE estimate),
# "positivity", "engine", "tstr"; "steam" holds STEAM's numbers, never the two papers'
PAPERS_SCOPES = ("data", "ctgan", "great", "hybrid", "estimation", "positivity", "engine", "tstr")
ALL_SCOPES = (*PAPERS_SCOPES, "steam")


@dataclass(frozen=True)
class PaperSetting:
    """One setting of the papers: where it sits in a resolved config, the papers' value, what it
    moves and where it is stated. ``holds`` compares the run's value (default: equality)."""

    key: str
    paper: Any
    scope: str
    source: str
    holds: Callable[[Any], bool] | None = None
    caveat: bool = False

    def matches(self, value: Any) -> bool:
        return self.holds(value) if self.holds is not None else value == self.paper


def _contains(item: str) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, list | tuple) and item in value


METHOD = "method.md"
CTGAN_DEFAULTS = "the authors' CTGAN(epochs=50): ctgan's defaults otherwise"
PAPER_SETTINGS: tuple[PaperSetting, ...] = (
    PaperSetting("datasets.sim_paper.n_train", 1000, "data", f"{METHOD} §5: RCT seed set of 1,000"),
    PaperSetting("datasets.sim_paper.n_holdout", 1000, "data", f"{METHOD} §5: RCT test set of 1,000"),
    PaperSetting(
        "datasets.sim_paper.n_positivity", 200, "positivity", f"{METHOD} §5: confounded sets of 200"
    ),
    PaperSetting("datasets.sim_paper.n_positivity_sets", 5, "positivity", f"{METHOD} §5: seeds 1..5"),
    PaperSetting("generators.ctgan.type", "ctgan", "ctgan", "the papers' GAN is CTGAN"),
    PaperSetting("generators.ctgan.epochs", 50, "ctgan", f"{METHOD} §1: CTGAN 50 epochs"),
    PaperSetting("generators.ctgan.max_batch_size", 500, "ctgan", f"{CTGAN_DEFAULTS} (batch 500)"),
    PaperSetting("generators.ctgan.pac", 10, "ctgan", CTGAN_DEFAULTS),
    PaperSetting("generators.ctgan.generator_lr", 2e-4, "ctgan", CTGAN_DEFAULTS),
    PaperSetting("generators.ctgan.discriminator_lr", 2e-4, "ctgan", CTGAN_DEFAULTS),
    PaperSetting("generators.ctgan.generator_average", None, "ctgan", f"{CTGAN_DEFAULTS} (last iterate)"),
    PaperSetting("generators.ctgan.n_rows", PAPER_ROWS, "ctgan", f"{METHOD} §1: 50,000 synthetic rows"),
    PaperSetting("generators.great.type", "great", "great", "the papers' LLM generator is GReaT"),
    PaperSetting("generators.great.epochs", 50, "great", f"{METHOD} §1: GReaT 50 epochs"),
    PaperSetting("generators.great.batch_size", 32, "great", f"{METHOD} §1: batch 32"),
    PaperSetting("generators.great.temperature", 0.7, "great", f"{METHOD} §1: temperature 0.7"),
    PaperSetting(
        "generators.great.random_feature_order", True, "great", f"{METHOD} §1: random feature order"
    ),
    PaperSetting("generators.great.max_train_rows", None, "great", f"{METHOD} §1: the whole real table"),
    PaperSetting("generators.great.learning_rate", 5e-5, "great", "GReaT's default (the Trainer's)"),
    PaperSetting("generators.great.lora", None, "great", "full fine-tuning, as GReaT does"),
    PaperSetting("generators.great.n_rows", PAPER_ROWS, "great", f"{METHOD} §1: 50,000 synthetic rows"),
    PaperSetting(
        "llm.source",
        "gpt2 or distilgpt2",
        "great",
        f"{METHOD} §1: GReaT fine-tunes gpt2 or distilgpt2",
        holds=lambda v: v in ("gpt2", "distilgpt2"),
        caveat=True,
    ),
    PaperSetting("hybrid.learner", PAPER_LEARNER, "hybrid", f"{METHOD} §2.3: random forests"),
    PaperSetting("hybrid.assignment", "learned", "hybrid", f"{METHOD} §2.3: A ~ Bernoulli(g(W))"),
    PaperSetting("hybrid.outcome_model", "pooled", "hybrid", "the authors' single forest on (W, A)"),
    PaperSetting("hybrid.n_rows", PAPER_ROWS, "hybrid", f"{METHOD} §1: 50,000 rows"),
    PaperSetting(
        "estimation.learners",
        PAPER_LEARNER,
        "estimation",
        f"{METHOD} §2.3: random forests",
        holds=_contains(PAPER_LEARNER),
    ),
    PaperSetting("estimation.cross_fit", False, "estimation", "paper-numbers.md: nuisances fitted in sample"),
    PaperSetting("pairing.threshold", 0.001, "positivity", f"{METHOD} §3: threshold 0.001"),
    PaperSetting("pairing.learner", PAPER_LEARNER, "positivity", f"{METHOD} §3: g fitted on the real data"),
    PaperSetting("tstr.learner", PAPER_LEARNER, "tstr", "the authors' TSTR: a random forest"),
    PaperSetting(
        "engine.n_grid",
        PAPER_ENGINE_N,
        "engine",
        "paper-numbers.md: 100 replicates of n = 1,000",
        holds=lambda v: isinstance(v, list | tuple) and PAPER_ENGINE_N in v,
    ),
    PaperSetting("engine.reps", 100, "engine", "paper-numbers.md: 100 replicates"),
    PaperSetting("engine.learner", PAPER_LEARNER, "engine", f"{METHOD} §4: random forests"),
    # STEAM's ACTG 175 numbers (scope "steam"): its generic CTGAN is another implementation,
    # synthcity's ctgan plugin at its defaults (harrya32/STEAM, src/generation.py,
    # generate_standard), so no run of causalsynth's ctgan has STEAM's settings
    PaperSetting(
        "generators.ctgan.type",
        "synthcity's ctgan plugin",
        "steam",
        "harrya32/STEAM: generate_standard fits synthcity's ctgan at its defaults",
        holds=lambda value: False,
    ),
)


@dataclass(frozen=True)
class SettingDifference:
    key: str
    run: Any
    paper: Any
    scope: str
    source: str
    caveat: bool

    def __str__(self) -> str:
        return f"{self.key} {_show(self.run)} (the papers': {_show(self.paper)})"


@dataclass(frozen=True)
class SettingsMatch:
    """The verdict of `settings_match`: `matches` when no strict setting in scope differs."""

    differences: list[SettingDifference] = field(default_factory=list)
    caveats: list[SettingDifference] = field(default_factory=list)

    @property
    def matches(self) -> bool:
        return not self.differences

    def describe(self) -> str:
        """ "the papers'" or "differ: ..." (the strict differences), for tables and figure notes."""
        if self.matches:
            return "the papers'"
        return "differ: " + "; ".join(str(d) for d in self.differences)


def settings_match(settings: dict[str, Any], scopes: Iterable[str] | None = None) -> SettingsMatch:
    """Whether the run's resolved settings are the papers' in the given scopes (None: every
    scope of the two papers, `PAPERS_SCOPES`).

    A generator the run does not configure (no `great` entry) is not a difference here: its
    sets are missing, which the comparison names. `engine.learner` null means the grid's first
    learner, as the workflow reads it.
    """
    wanted = set(PAPERS_SCOPES if scopes is None else scopes)
    differences, caveats = [], []
    for s in PAPER_SETTINGS:
        if s.scope not in wanted:
            continue
        found, value = _lookup(settings, s.key)
        if not found:
            continue
        if s.matches(value):
            continue
        diff = SettingDifference(s.key, value, s.paper, s.scope, s.source, s.caveat)
        (caveats if s.caveat else differences).append(diff)
    return SettingsMatch(differences, caveats)


def _lookup(settings: dict[str, Any], key: str) -> tuple[bool, Any]:
    if key == "engine.learner":
        engine = settings.get("engine") or {}
        learners = (settings.get("estimation") or {}).get("learners") or [None]
        return True, engine.get("learner") or learners[0]
    node: Any = settings
    parts = key.split(".")
    for i, part in enumerate(parts):
        if not isinstance(node, dict) or part not in node:
            # a section of the run's config: absent means its default was not filled in; a
            # generator or dataset entry: absent means the run has no such set
            return False, None
        node = node[part]
        if node is None and i < len(parts) - 1:
            return False, None
    return True, node


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)
