"""Progress of a long job in its log: done, rate and time left, about every tenth of the work."""

from __future__ import annotations

import logging
import time

log = logging.getLogger("causalsynth")


class Progress:
    """Call :meth:`step` once per unit of work; lines go to the job's log (core.runner.logged)."""

    def __init__(self, what: str, total: int, every_seconds: float = 30.0):
        self.what, self.total, self.every = what, max(1, int(total)), every_seconds
        self.done, self.start = 0, time.perf_counter()
        self._last_share, self._last_time = 0.0, self.start
        log.info("%s: %d to do", what, self.total)

    def step(self, k: int = 1) -> None:
        self.done += k
        now = time.perf_counter()
        share = self.done / self.total
        if self.done < self.total and share - self._last_share < 0.1 and now - self._last_time < self.every:
            return
        elapsed = now - self.start
        rate = self.done / elapsed if elapsed > 0 else float("inf")
        left = (self.total - self.done) / rate if rate > 0 else float("nan")
        log.info(
            "%s: %d of %d done (%.0f%%), %.2f per s, %.0f s left",
            self.what,
            self.done,
            self.total,
            100 * share,
            rate,
            left,
        )
        self._last_share, self._last_time = share, now
