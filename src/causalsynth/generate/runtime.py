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
from typing import Any

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


PRECISIONS = ("auto", "fp32", "bf16")
# oneDNN ISA caps (ONEDNN_MAX_CPU_ISA) below which bf16 runs emulated even on a CPU that has it:
# the way to measure the other CPU kind on one machine (benchmarks/great_precision.py)
_ISA_WITHOUT_BF16 = ("SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2", "AVX512_CORE", "AVX512_CORE_VNNI")


def bf16_support(device: str) -> dict[str, Any]:
    """Whether ``device`` (``cpu`` or ``cuda``) computes bfloat16 natively, with the evidence.

    A CPU does with AVX512-BF16 or AMX instructions (unless ``ONEDNN_MAX_CPU_ISA`` caps oneDNN
    below them); elsewhere torch emulates bf16, slower than fp32. A GPU does when torch says so.
    """
    import os

    import torch

    if device == "cuda":
        return {"device": "cuda", "native_bf16": bool(torch.cuda.is_bf16_supported())}
    flags = {
        "avx512_bf16": bool(torch.cpu._is_avx512_bf16_supported()),
        "amx_tile": bool(torch.cpu._is_amx_tile_supported()),
    }
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA", "").strip().upper() or None
    hidden = cap in _ISA_WITHOUT_BF16
    return {
        "device": "cpu",
        "native_bf16": any(flags.values()) and not hidden,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        **flags,
        "onednn_max_cpu_isa": cap,
    }


def resolve_precision(precision: str, device: str, component: str) -> dict[str, Any]:
    """``auto`` -> ``bf16`` where ``device`` computes it natively, ``fp32`` elsewhere.

    Returns ``{"precision", "requested", "reason", "bf16_support"}`` for the job's meta.json. An
    explicit ``bf16`` on a device that emulates it is kept (a user may want it) but says so.
    """
    if precision not in PRECISIONS:
        raise ConfigError(f"{component}: precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    support = bf16_support(device)
    if precision == "auto":
        chosen = "bf16" if support["native_bf16"] else "fp32"
        reason = (
            f"auto: {device} computes bf16 natively"
            if chosen == "bf16"
            else f"auto: {device} has no native bf16 (emulated bf16 ran about 3x slower than fp32)"
        )
    else:
        chosen = precision
        reason = "requested" + (
            "" if precision == "fp32" or support["native_bf16"] else f"; {device} emulates bf16"
        )
    return {"precision": chosen, "requested": precision, "reason": reason, "bf16_support": support}


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


@contextmanager
def foreach_adam() -> Iterator[None]:
    """Adam and AdamW built inside the block update their parameters with torch's foreach
    kernels, on a CPU too.

    torch defaults to foreach only where every parameter is on CUDA; on a CPU it steps each
    tensor in a Python loop, which costs as much as the arithmetic for the many small tensors of
    a library's network (TabularARGN's optimizer step was 23% of its fit on nhefs). The two
    implementations compute the same updates: TabularARGN's fit and sample on nhefs are
    bitwise equal with and without, in 41.9 s against 51.9 s on an AMD EPYC without bf16
    (``benchmarks/adam_foreach.py``). An optimizer that asks for its own
    implementation (``foreach``, ``fused`` or ``differentiable``) keeps it.
    """
    from unittest import mock

    import torch

    original = torch.optim.Adam.__init__

    def init(self, *args, foreach=None, fused=None, differentiable=False, **kwargs):
        if foreach is None and not fused and not differentiable:
            foreach = True
        original(self, *args, foreach=foreach, fused=fused, differentiable=differentiable, **kwargs)

    # AdamW is a subclass of Adam whose __init__ passes through Adam's
    with mock.patch.object(torch.optim.Adam, "__init__", init):
        yield
