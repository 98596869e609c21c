"""Sending Celery tasks without ever failing, or holding up, the caller.

The broker only wakes workers up: the work itself is a row in the database
(a job, a delivery, a backup record) that a beat sweep finds again. So a
broker that is down is logged and otherwise ignored.

Ignoring it must also be quick, because enqueues run on a request's path
(after every booking, change and cancel). Two things keep them quick:

- the broker's connect timeout is short and a failed connect is not retried
  (``CELERY_BROKER_TRANSPORT_OPTIONS`` in the settings), so one attempt
  costs at most ``PEMA_BROKER_CONNECT_TIMEOUT``;
- a circuit breaker: after a failure the process skips the broker for
  ``PEMA_BROKER_BREAKER_SECONDS``, then lets one caller try again. Until a
  try succeeds, every other caller returns at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from celery.signals import task_prerun
from django.conf import settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BreakerState:
    """What the breaker knows, for the readiness check and the logs."""

    state: str  # "closed" (broker used), "open" (skipped) or "half-open" (one try running)
    failures: int
    opened_at: datetime | None
    retry_in: float | None  # seconds until the next try is allowed, while open
    skipped: int  # enqueues that did not touch the broker since it opened


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

    def allow(self) -> bool:
        """May the caller use the dependency now? (At most one caller while half-open.)"""
        with self._lock:
            if self._open_until is None:
                return True
            if self.clock() >= self._open_until and not self._trial_running:
                self._trial_running = True
                return True
            self._skipped += 1
            return False

    def succeeded(self) -> None:
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


broker_breaker = CircuitBreaker(
    "The Celery broker", open_seconds=lambda: settings.PEMA_BROKER_BREAKER_SECONDS
)


def enqueue(task, *args, countdown: float | None = None, queue: str | None = None) -> bool:
    """Send ``task``; False when the broker is unreachable or was a moment ago.

    False never means lost: the beat sweeps find the work in the database.
    """
    if not broker_breaker.allow():
        logger.debug("Broker skipped for %s%r (circuit open).", task.name, args)
        return False
    options: dict = {"args": args, "countdown": countdown, "retry": False}
    if queue:
        options["queue"] = queue
    try:
        task.apply_async(**options)
    except Exception as exc:  # noqa: BLE001 - whatever the broker raises, the caller goes on
        if broker_breaker.failed():
            logger.warning(
                "Could not reach the broker for %s%r (%s); skipping it for %.0f s, "
                "the beat sweeps deliver the work meanwhile.",
                task.name,
                args,
                exc,
                settings.PEMA_BROKER_BREAKER_SECONDS,
            )
        else:
            logger.info("The broker is still unreachable (%s).", exc)
        return False
    broker_breaker.succeeded()
    return True


@task_prerun.connect(dispatch_uid="pema-broker-breaker-task-received")
def _a_received_task_proves_the_broker(**kwargs) -> None:
    """A worker that received a task has a working broker: stop skipping it at once,
    so its own follow-up enqueues (retries, deliveries after a sweep) go out."""
    if broker_breaker.state().state != "closed":
        broker_breaker.succeeded()


def enqueue_on_commit(task, *args, queue: str | None = None) -> None:
    """Send ``task`` once the current transaction commits (ids only exist then)."""
    from django.db import transaction

    transaction.on_commit(lambda: enqueue(task, *args, queue=queue))
