"""The conda environment for clusters pins exactly what pyproject.toml pins."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _pins(lines):
    pins = {}
    for line in lines:
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s;]+)", line.strip())
        if m:
            pins[m[1].lower()] = m[2]
    return pins


def test_env_pins_match_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    expected = _pins(project["dependencies"])
    env = yaml.safe_load((ROOT / "envs" / "causalsynth.yaml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert _pins(pip_section) == expected
    assert "-e .." in pip_section  # the package itself: conda rules cannot see PYTHONPATH


def test_every_dependency_is_pinned_and_torch_is_the_cpu_build():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = project["dependencies"] + project["optional-dependencies"]["test"]
    assert all("==" in d for d in deps), [d for d in deps if "==" not in d]
    assert "torch==2.13.0" in project["dependencies"]


def test_the_tests_install_the_optional_generators():
    # CI installs .[test]; the unit tests fit ARF and ForestDiffusion (extra cpu-generators)
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert set(extras["cpu-generators"]) <= set(extras["test"])
