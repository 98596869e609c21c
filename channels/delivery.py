"""Delivering ``SyncJob``s: one worker per connection at a time, in stream order.

Ownership. A worker first claims a lease on the connection in a short
transaction (``select_for_update(skip_locked=True)`` on the Connection row,
then ``lease_owner``/``lease_until``), so two workers never send the same
connection's jobs concurrently. The HTTP call itself runs outside any
transaction: holding a row lock (or SQLite's write lock) for a 30 s partner
timeout would stall bookings. A killed worker's lease simply expires.

Order. Jobs of one stream run in id order: a job waits while an earlier job
of its stream is pending. ARI documents carry absolute values, so a dead ARI
job does not hold back the ARI behind it (newer values supersede it, and the
periodic full sync repairs what it carried). A dead reservation job does
block the later jobs of *that reservation only*: a modify or cancel must not
overtake a create that never landed. Other reservations and ARI flow on.

Retries. A transient failure schedules the next try after
``base * 2**(attempt-1)`` seconds capped at ``CHANNELS_RETRY_MAX_SECONDS``,
with "equal jitter" (half fixed, half random) so a recovering partner is
not hit by every job at once; a partner's ``Retry-After`` is honoured when
longer. A permanent error, or the last try, ends the job ``dead``.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from .models import Connection, SyncJob
from .providers.base import PermanentError, SyncError, TransientError

logger = logging.getLogger(__name__)


@dataclass
class DeliveryReport:
    """What one delivery pass did."""

    claimed: bool = False
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    next_due_in: float | None = None  # seconds until the next pending job is due


def backoff_seconds(attempt: int, *, rand: random.Random | None = None) -> float:
    """Delay before try ``attempt + 1`` after ``attempt`` failed tries (equal jitter)."""
    base = settings.CHANNELS_RETRY_BASE_SECONDS
    cap = settings.CHANNELS_RETRY_MAX_SECONDS
    delay = min(base * (2 ** max(attempt - 1, 0)), cap)
    return delay / 2 + (rand or random).uniform(0, delay / 2)


def claim(connection_id: int, owner: str) -> bool:
    """Take (or renew) the delivery lease on a connection; False if another worker has it."""
    now = timezone.now()
    with transaction.atomic():
        conn = (
            Connection.objects.select_for_update(skip_locked=True)
            .filter(pk=connection_id, enabled=True)
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now) | Q(lease_owner=owner))
            .first()
        )
        if conn is None:
            return False
        conn.lease_owner = owner
        conn.lease_until = now + timedelta(seconds=settings.CHANNELS_LEASE_SECONDS)
        conn.save(update_fields=["lease_owner", "lease_until"])
    return True


def release(connection_id: int, owner: str) -> None:
    Connection.objects.filter(pk=connection_id, lease_owner=owner).update(
        lease_owner="", lease_until=None
    )


def _blockers():
    earlier = SyncJob.objects.filter(
        connection_id=OuterRef("connection_id"), stream=OuterRef("stream"), id__lt=OuterRef("id")
    )
    return earlier.filter(
        Q(status=SyncJob.Status.PENDING)
        | (Q(status=SyncJob.Status.DEAD) & ~Q(stream=SyncJob.ARI_STREAM))
    )


def runnable_jobs(connection_id: int):
    """Pending jobs that are due and not waiting behind an earlier job of their stream."""
    return (
        SyncJob.objects.filter(
            connection_id=connection_id,
            status=SyncJob.Status.PENDING,
            next_attempt_at__lte=timezone.now(),
        )
        .exclude(Exists(_blockers()))
        .order_by("id")
    )


def next_due_in(connection_id: int) -> float | None:
    """Seconds until the earliest pending job may run (0 if one is due now)."""
    first = (
        SyncJob.objects.filter(connection_id=connection_id, status=SyncJob.Status.PENDING)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    if first is None:
        return None
    return max((first - timezone.now()).total_seconds(), 0.0)


def run_job(job: SyncJob) -> SyncJob:
    """Send one job and record the outcome. The caller must hold the connection's lease."""
    provider = job.connection.get_provider()
    job.attempts += 1
    now = timezone.now()
    try:
        provider.deliver(job)
    except PermanentError as exc:
        job.status = SyncJob.Status.DEAD
        job.last_error = f"Permanent: {exc.message}"
        job.finished_at = now
    except Exception as exc:  # noqa: BLE001 - a bug must not kill the worker loop
        if isinstance(exc, SyncError):
            message = exc.message
        else:
            logger.exception("Delivering job %s failed unexpectedly", job.pk)
            message = f"{type(exc).__name__}: {exc}"
        job.last_error = message
        if job.attempts >= job.max_attempts:
            job.status = SyncJob.Status.DEAD
            job.finished_at = now
        else:
            delay = backoff_seconds(job.attempts)
            if isinstance(exc, TransientError) and exc.retry_after:
                delay = max(delay, min(exc.retry_after, settings.CHANNELS_RETRY_MAX_SECONDS))
            job.next_attempt_at = now + timedelta(seconds=delay)
    else:
        if job.status == SyncJob.Status.PENDING:
            job.status = SyncJob.Status.DONE
        job.finished_at = timezone.now()
    job.save(
        update_fields=[
            "attempts",
            "status",
            "last_error",
            "finished_at",
            "next_attempt_at",
            "payload",
            "updated_at",
        ]
    )
    return job


def deliver(connection_id: int, *, budget_seconds: float = 50.0) -> DeliveryReport:
    """Deliver the connection's runnable jobs for up to ``budget_seconds``."""
    owner = uuid.uuid4().hex
    report = DeliveryReport()
    if not claim(connection_id, owner):
        return report
    report.claimed = True
    deadline = time.monotonic() + budget_seconds
    try:
        while time.monotonic() < deadline:
            job = runnable_jobs(connection_id).select_related("connection__hotel").first()
            if job is None:
                break
            run_job(job)
            if job.status == SyncJob.Status.DONE or job.status == SyncJob.Status.SKIPPED:
                report.delivered += 1
            elif job.status == SyncJob.Status.DEAD:
                report.dead += 1
            else:
                report.failed += 1
            if not claim(connection_id, owner):
                break
    finally:
        release(connection_id, owner)
    report.next_due_in = next_due_in(connection_id)
    return report


def retry_job(job: SyncJob) -> None:
    """Give a dead (or skipped) job a fresh set of tries, now."""
    SyncJob.objects.filter(pk=job.pk).update(
        status=SyncJob.Status.PENDING,
        attempts=0,
        next_attempt_at=timezone.now(),
        finished_at=None,
    )
