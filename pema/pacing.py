"""Client-side pacing: at most ``rate`` calls a second per key (a partner's rate limit).

A partner that suspends credentials sent too fast (Cloudbeds: 5 requests per
second per property key) is paced before each call rather than after a 429.
One :class:`Pacer` per partner, shared by the threads of a process; each
worker process paces itself, so N workers may together reach N times the rate
(the in-call 429 retries of :mod:`pema.http` catch what that lets through).
The waits go through :data:`sleep` and the clock through :data:`monotonic`,
which tests replace.
"""

from __future__ import annotations

import threading
import time

sleep = time.sleep
monotonic = time.monotonic


class Pacer:
    """Spaces calls of one key ``1 / rate`` seconds apart (a burst of one, no more)."""

    def __init__(self, rate: float) -> None:
        if rate <= 0:
            raise ValueError("A pacer's rate is a positive number of calls a second.")
        self.interval = 1.0 / rate
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, key: str) -> float:
        """Wait until ``key`` may call again; the seconds waited."""
        with self._lock:
            now = monotonic()
            at = max(now, self._next.get(key, now))
            self._next[key] = at + self.interval
        delay = at - now
        if delay > 0:
            sleep(delay)
        return delay

    def forget(self) -> None:
        with self._lock:
            self._next.clear()
