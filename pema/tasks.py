"""Sending Celery tasks without ever failing the caller.

The broker only wakes workers up: the work itself is a row in the database
(a job, a delivery, a backup record) that a beat sweep finds again. So a
broker that is down is logged and otherwise ignored.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def enqueue(task, *args, countdown: float | None = None, queue: str | None = None) -> bool:
    """Send ``task``; False (and a warning) when the broker is unreachable."""
    options: dict = {"args": args, "countdown": countdown, "retry": False}
    if queue:
        options["queue"] = queue
    try:
        task.apply_async(**options)
        return True
    except Exception:  # noqa: BLE001 - whatever the broker raises, the caller goes on
        logger.warning(
            "Could not reach the broker for %s%r; the next sweep picks it up.",
            task.name,
            args,
            exc_info=True,
        )
        return False


def enqueue_on_commit(task, *args, queue: str | None = None) -> None:
    """Send ``task`` once the current transaction commits (ids only exist then)."""
    from django.db import transaction

    transaction.on_commit(lambda: enqueue(task, *args, queue=queue))
