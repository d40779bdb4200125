"""What every workflow job shares: logging into the rule's log and a truthful thread count."""

from __future__ import annotations

import contextlib
import logging
import os
import traceback
import warnings
from collections.abc import Iterator
from pathlib import Path

from causalsynth.core.threads import limit_threads, set_thread_environment


@contextlib.contextmanager
def logged(log_path: str | os.PathLike, threads: int = 1) -> Iterator[logging.Logger]:
    """Send logging, warnings, stdout and stderr of the job to its log file."""
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    set_thread_environment(threads)
    with open(log_path, "w", buffering=1) as fh:
        handler = logging.StreamHandler(fh)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        logging.captureWarnings(True)
        log = logging.getLogger("causalsynth")
        with (
            limit_threads(threads),
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
