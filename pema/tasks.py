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

from celery.signals import task_prerun
from django.conf import settings

from .breaker import CircuitBreaker

logger = logging.getLogger(__name__)


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
    broker_breaker.succeeded()


def enqueue_on_commit(task, *args, queue: str | None = None) -> None:
    """Send ``task`` once the current transaction commits (ids only exist then)."""
    from django.db import transaction

    transaction.on_commit(lambda: enqueue(task, *args, queue=queue))
