"""A circuit breaker: skip a dependency that just failed instead of waiting on it each time.

Used in front of the Celery broker (``pema.tasks``) and the Redis cache
(``pema.cache``). When Redis is down, or frozen so that every call waits for
its timeout, the first caller pays the timeout and later callers of the same
process return at once until a retry is due.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BreakerState:
    """What the breaker knows, for the readiness check and the logs."""

    state: str  # "closed" (used), "open" (skipped) or "half-open" (one try running)
    failures: int
    opened_at: datetime | None
    retry_in: float | None  # seconds until the next try is allowed, while open
    skipped: int  # calls that did not touch the dependency since it opened


class CircuitBreaker:
    """Skip a failing dependency for a while instead of waiting on it every time.

    Closed: every call goes through. A failure opens it: for ``open_seconds``
    :meth:`allow` says no. After that one caller is let through (half-open);
    its success closes the breaker, its failure opens it again. Thread-safe;
    one per process.
    """

    def __init__(
        self,
        name: str,
        open_seconds: Callable[[], float],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self._open_seconds = open_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._open_until: float | None = None
            self._opened_at: datetime | None = None
            self._trial_running = False
            self._failures = 0
            self._skipped = 0

    @property
    def closed(self) -> bool:
        # Read without the lock: the hot path of every call while all is well.
        return self._open_until is None

    def allow(self) -> bool:
        """May the caller use the dependency now? (At most one caller while half-open.)"""
        if self._open_until is None:
            return True
        with self._lock:
            if self._open_until is None:
                return True
            if self.clock() >= self._open_until and not self._trial_running:
                self._trial_running = True
                return True
            self._skipped += 1
            return False

    def succeeded(self) -> None:
        if self._open_until is None:
            return
        with self._lock:
            was_open = self._open_until is not None
            skipped = self._skipped
            self._open_until = self._opened_at = None
            self._trial_running = False
            self._failures = self._skipped = 0
        if was_open:
            logger.warning("%s reachable again (%d calls skipped meanwhile).", self.name, skipped)

    def failed(self) -> bool:
        """Open (again) for the configured time; True when this failure opened it."""
        seconds = self._open_seconds()
        with self._lock:
            opening = self._open_until is None
            self._open_until = self.clock() + seconds
            self._trial_running = False
            self._failures += 1
            if opening:
                self._opened_at = datetime.now(UTC)
        return opening

    def state(self) -> BreakerState:
        with self._lock:
            if self._open_until is None:
                name, retry_in = "closed", None
            elif self._trial_running:
                name, retry_in = "half-open", 0.0
            else:
                name, retry_in = "open", max(self._open_until - self.clock(), 0.0)
            return BreakerState(name, self._failures, self._opened_at, retry_in, self._skipped)
