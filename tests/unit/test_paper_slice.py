"""config/paper_slice.yaml: the papers' settings on sim_paper and ACTG 175 with every CPU
generator; the GPU overlay adds GReaT at the papers' settings and nothing else."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml
from snakemake.utils import update_config

from causalsynth.config import Plan, load_config
from causalsynth.generate import GENERATORS
from causalsynth.report.paper.settings import settings_match

ROOT = Path(__file__).resolve().parents[2]
SLICE = ROOT / "config" / "paper_slice.yaml"
OVERLAY = ROOT / "config" / "overlays" / "great_gpu.yaml"
# generators that read files or need a GPU at the papers' settings, and the optional CPU
# generators the papers did not run (config/cpu_generators.yaml has them): not the slice's
NOT_ON_A_CPU = {"great", "file"}
NOT_THE_PAPERS = {"arf", "forest_diffusion"}


def _plan(*paths: Path) -> Plan:
    config: dict = {}
    for path in paths:  # as Snakemake merges several --configfile files, in order
        update_config(config, yaml.safe_load(path.read_text()))
    return Plan(load_config(copy.deepcopy(config)))


def test_the_slice_has_the_papers_settings_on_both_datasets_with_every_cpu_generator():
    plan = _plan(SLICE)
    assert plan.datasets == ["sim_paper", "actg175"]
    assert set(plan.config["generators"]) == set(GENERATORS) - NOT_ON_A_CPU - NOT_THE_PAPERS
    assert "ctgan" in plan.generators_for("actg175")
    match = settings_match(plan.resolved_settings())
    assert match.matches, match.describe()
    assert plan.config["replicates"] >= 2  # an interval over replicates needs two
    assert all(plan.generator_class(g).gpus(plan.generator_params(g)) == 0 for g in plan.config["generators"])


def test_the_gpu_overlay_adds_great_at_the_papers_settings():
    plan = _plan(SLICE, OVERLAY)
    params = plan.generator_params("great")
    assert params["device"] == "cuda" and plan.generator_class("great").gpus(params) == 1
    assert "hybrid_great" in plan.hybrids_for("sim_paper") and "hybrid_great" in plan.engines_for("sim_paper")
    match = settings_match(plan.resolved_settings())
    assert match.matches, match.describe()
    # the overlay changes nothing else of the slice
    base = _plan(SLICE)
    assert plan.config["estimation"] == base.config["estimation"]
    assert set(plan.config["generators"]) - {"great"} == set(base.config["generators"])
