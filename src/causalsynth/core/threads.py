"""The one thread limiter: a job's ``threads:`` reaches every pool the libraries start.

Snakemake's ``threads:`` is a promise to the scheduler, and the libraries would otherwise use
every core of the node: histogram gradient boosting starts one OpenMP thread per core whatever
its ``n_jobs`` (on a loaded machine their spin-waiting made a 1,000-row fit 50 times slower
here), torch sizes its intra-op pool by the core count, and ctgan's data transformer hard-codes
``n_jobs=-1``. Environment variables come too late once a library is imported, so the pools are
capped at run time as well.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import numpy as np
from threadpoolctl import threadpool_limits

from causalsynth.core.errors import ConfigError

_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def resolve_threads(threads: int | None) -> int:
    """``None`` or 0 -> 1; negative counts as joblib does (-1: every core); else the count."""
    if threads is None or threads == 0:
        return 1
    if threads < 0:
        return max(1, (os.cpu_count() or 1) + 1 + int(threads))
    return int(threads)


def check_n_jobs(n_jobs: int, component: str) -> int:
    """A component's ``n_jobs`` parameter: a positive integer, else a ConfigError naming it."""
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int | np.integer) or n_jobs < 1:
        raise ConfigError(f"{component}: n_jobs must be a positive integer, got {n_jobs!r}")
    return int(n_jobs)


def set_thread_environment(threads: int) -> None:
    """For libraries not yet loaded: the OpenMP / BLAS variables, and torch if it is loaded."""
    threads = resolve_threads(threads)
    for var in _THREAD_VARIABLES:
        os.environ[var] = str(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


@contextmanager
def limit_threads(threads: int | None, *, torch_and_joblib: bool = False) -> Iterator[None]:
    """Cap BLAS and OpenMP pools at ``threads`` for the block.

    ``torch_and_joblib`` also caps torch's intra-op threads (restored after the block) and
    makes joblib run sequentially: for the generators, whose libraries call joblib and torch
    themselves. Sequential, not threaded, because ctgan's data transformer fits one mixture
    per column in joblib workers that draw from the shared global random state, so with two
    workers the draws follow the thread schedule and the same job gave different rows run to
    run; torch's intra-op threads gave bitwise-identical rows at 1 and 2 threads.
    """
    threads = resolve_threads(threads)
    with ExitStack() as stack:
        stack.enter_context(threadpool_limits(limits=threads))
        if torch_and_joblib:
            import torch
            from joblib import parallel_config

            previous = torch.get_num_threads()
            torch.set_num_threads(threads)
            stack.callback(torch.set_num_threads, previous)
            stack.enter_context(parallel_config(backend="sequential", n_jobs=1))
        yield
