"""Threads, devices and random state for the libraries the generators wrap.

torch, sdv, ctgan and transformers draw from process-global random generators (Python's
``random``, NumPy's legacy global state, torch's default generators) and read process-global
thread settings. The generators seed those only inside :func:`isolated_global_rng`, which puts
every global state back on exit, so fitting or sampling never leaves the process seeded or
changes the numbers another component draws afterwards.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from causalsynth.core.errors import ConfigError

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(device: str, component: str) -> str:
    """``auto`` -> ``cuda`` when torch sees a GPU, else ``cpu``; an unusable request fails."""
    if device not in DEVICES:
        raise ConfigError(f"{component}: device must be one of {DEVICES}, got {device!r}")
    if device == "cpu":
        return "cpu"
    import torch

    available = torch.cuda.is_available()
    if device == "cuda" and not available:
        raise ConfigError(
            f"{component}: device 'cuda' was requested but torch sees no CUDA device "
            f"(torch {torch.__version__}); use device: auto or device: cpu"
        )
    return "cuda" if available else "cpu"


def check_threads(threads: int, component: str) -> int:
    if isinstance(threads, bool) or not isinstance(threads, int | np.integer) or threads < 1:
        raise ConfigError(f"{component}: threads must be a positive integer, got {threads!r}")
    return int(threads)


@contextmanager
def isolated_global_rng(seed: int) -> Iterator[None]:
    """Seed Python, NumPy and torch globals with ``seed`` inside the block only.

    For libraries that accept no generator object (be-great's feature shuffling, the Hugging
    Face Trainer and ``generate``, ctgan's transformer): the block is reproducible, and the
    caller's global states are exactly as before when it exits, exceptions included.
    """
    import torch

    py_state = random.getstate()
    np_state = np.random.get_state()  # noqa: NPY002 -- saved to be restored
    # CUDA states are forked too, so a GPU seeded inside the block is also restored after it
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        random.seed(seed)
        np.random.seed(seed % 2**32)  # noqa: NPY002 -- restored below; libraries read the global
        torch.manual_seed(seed)
        try:
            yield
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)  # noqa: NPY002
