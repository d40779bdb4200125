"""What every workflow job shares: logging into the rule's log and a truthful thread count."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import traceback
import warnings
from collections.abc import Iterator
from pathlib import Path

from threadpoolctl import threadpool_limits


def set_threads(threads: int) -> None:
    """Pass the rule's ``threads:`` on to BLAS, OpenMP and torch (for libraries not yet loaded)."""
    threads = max(1, int(threads))
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


@contextlib.contextmanager
def logged(log_path: str | os.PathLike, threads: int = 1) -> Iterator[logging.Logger]:
    """Send logging, warnings, stdout and stderr of the job to its log file."""
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    set_threads(threads)
    with open(log_path, "w", buffering=1) as fh:
        handler = logging.StreamHandler(fh)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        logging.captureWarnings(True)
        log = logging.getLogger("causalsynth")
        # thread pools already loaded ignore the environment; cap them at run time as well
        with (
            threadpool_limits(limits=max(1, int(threads))),
            contextlib.redirect_stdout(fh),
            contextlib.redirect_stderr(fh),
        ):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("default")
                    yield log
            except BaseException:
                fh.write(traceback.format_exc())
                raise
            finally:
                root.removeHandler(handler)
                logging.captureWarnings(False)
