"""What every workflow job shares: logging into the rule's log and a truthful thread count.

A user's mistake (bad config, bad data, a generator that cannot work on a dataset: every
:class:`~causalsynth.core.errors.CausalSynthError`) ends the job with its message as one line,
in the log and on the terminal, and exit status 1; Snakemake's error block then points to the
log (and prints it, with ``show-failed-logs`` of the default profile). Anything else is a bug
and keeps its traceback.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import traceback
import warnings
from collections.abc import Iterator
from pathlib import Path

from causalsynth.core.errors import CausalSynthError
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
            except CausalSynthError as exc:
                message = one_line(exc)
                fh.write(f"{message}\n")
                sys.__stderr__.write(f"{message}\n")
                sys.__stderr__.flush()
                raise SystemExit(1) from None
            except BaseException:
                fh.write(traceback.format_exc())
                raise
            finally:
                root.removeHandler(handler)
                logging.captureWarnings(False)


@contextlib.contextmanager
def user_errors_as_one_line() -> Iterator[None]:
    """Outside a job (the Snakefile validating its config): a user's mistake exits as one line."""
    try:
        yield
    except CausalSynthError as exc:
        raise SystemExit(one_line(exc)) from None


def one_line(exc: BaseException) -> str:
    """``causalsynth error: <message>`` with any line breaks of the message folded."""
    return "causalsynth error: " + " ".join(str(exc).split())
