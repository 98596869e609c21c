"""Delivering ``SyncJob``s: one worker per connection at a time, in stream order.

Ownership. A worker first claims a lease on the connection in a short
transaction (``select_for_update(skip_locked=True)`` on the Connection row,
then ``lease_owner``/``lease_until``), so two workers never send the same
connection's jobs concurrently. The HTTP call itself runs outside any
transaction: holding a row lock (or SQLite's write lock) for a partner call
would stall bookings. The lease is short (``CHANNELS_LEASE_SECONDS``, 15 s)
and a keeper thread renews it every third of that while the worker delivers,
however long one call takes (``pema/http.py`` bounds a call at
``PEMA_HTTP_DEADLINE_SECONDS``). A killed worker stops renewing: its lease
runs out, and :func:`abandoned_connections` (polled by beat every 10 s) hands
the connection to another worker. A worker that finds its lease taken stops
after the job in hand.

Attempts. An attempt is counted, and the job's next try scheduled as if it
had failed, *before* the call: a message that kills the worker cannot come
back at once and for ever. ``attempt_started_at`` stays set while the call
runs; a job picked up with it still set was interrupted (its worker died), and
after ``CHANNELS_MAX_INTERRUPTED_ATTEMPTS`` such attempts it is not sent again.

Order. Jobs of one stream run in id order: a job waits while an earlier job
of its stream is pending. ARI documents carry absolute values, so a dead ARI
job does not hold back the ARI behind it (newer values supersede it, and the
periodic full sync repairs what it carried). A dead reservation job does
block the later jobs of *that reservation only*: a modify or cancel must not
overtake a create that never landed. Other reservations and ARI flow on.

Retries. A transient failure schedules the next try after
``base * 2**(attempt-1)`` seconds capped at ``CHANNELS_RETRY_MAX_SECONDS``,
with "equal jitter" (half fixed, half random); a partner's ``Retry-After`` is
honoured when longer. There is no count of tries: a job is retried until its
``retry_until`` (``CHANNELS_RETRY_MAX_AGE`` after it was made, 24 h), so a
partner may be down for hours and lose nothing. ``dead`` has three reasons
(``SyncJob.dead_reason``): a permanent error, the retry window ended, or the
message interrupted its worker too often.

Outages. A failure that says nothing about the message (no connection, a
timeout, HTTP 5xx or 429: ``TransientError.unreachable``) marks the whole
connection unreachable. While it is, a pass makes one attempt at most, and
only once ``CHANNELS_PROBE_SECONDS`` (30) have passed since the last one: the
waiting job due first is the probe, whether or not its own backoff is over.
So a partner that is down sees one call every 30 s, not one per job, and is
noticed to be back within 30 s. The first answer from it (any answer: even an
error proves it is reachable) clears the mark and makes every waiting job due
at once, so the backlog is sent straight away, in stream order, by the same
pass. Jobs whose retry window ended during the outage are marked ``dead``
(expired) as the passes meet them.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db import connection as db_connection
from django.db.models import DateTimeField, Exists, OuterRef, Q, Value
from django.db.models.functions import Coalesce, Concat
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
    # The exponent stops growing long before the cap matters (and before floats overflow).
    delay = min(base * (2 ** min(max(attempt - 1, 0), 40)), cap)
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


class LeaseKeeper(threading.Thread):
    """Renews a connection's lease every third of its length until stopped.

    ``lost`` turns true when another owner's name is found on the lease (ours ran
    out, say while the database was unreachable): the worker then stops.
    """

    def __init__(self, connection_id: int, owner: str) -> None:
        super().__init__(name=f"lease-{connection_id}", daemon=True)
        self.connection_id = connection_id
        self.owner = owner
        self.lost = False
        self._stopping = threading.Event()

    def run(self) -> None:
        interval = settings.CHANNELS_LEASE_SECONDS / 3
        try:
            while not self._stopping.wait(interval):
                if not self.renew():
                    self.lost = True
                    return
        finally:
            db_connection.close()  # this thread's own connection

    def renew(self) -> bool:
        """Extend the lease; False only if someone else holds it now."""
        until = timezone.now() + timedelta(seconds=settings.CHANNELS_LEASE_SECONDS)
        mine = Connection.objects.filter(pk=self.connection_id, lease_owner=self.owner)
        try:
            if mine.update(lease_until=until):
                return True
            taken = Connection.objects.filter(pk=self.connection_id).exclude(lease_owner=self.owner)
            return not taken.exists()
        except DatabaseError:
            logger.warning("Could not renew the lease of connection %s", self.connection_id)
            return True  # try again next time; the lease may still be ours

    def stop(self) -> None:
        self._stopping.set()
        if self.is_alive():
            self.join()


def abandoned_connections() -> list[int]:
    """Connections whose lease ran out without a release: their worker died mid-delivery."""
    return list(
        Connection.objects.filter(enabled=True, lease_until__lt=timezone.now())
        .exclude(lease_owner="")
        .values_list("pk", flat=True)
    )


def _blockers():
    earlier = SyncJob.objects.filter(
        connection_id=OuterRef("connection_id"), stream=OuterRef("stream"), id__lt=OuterRef("id")
    )
    return earlier.filter(
        Q(status=SyncJob.Status.PENDING)
        | (Q(status=SyncJob.Status.DEAD) & ~Q(stream=SyncJob.ARI_STREAM))
    )


def _unblocked(connection_id: int):
    """Pending jobs not waiting behind an earlier job of their stream."""
    return SyncJob.objects.filter(
        connection_id=connection_id, status=SyncJob.Status.PENDING
    ).exclude(Exists(_blockers()))


def runnable_jobs(connection_id: int):
    """Pending jobs that are due and not waiting behind an earlier job of their stream."""
    return _unblocked(connection_id).filter(next_attempt_at__lte=timezone.now()).order_by("id")


def _probe_due_at(conn: Connection):
    """When an unreachable connection may be tried again."""
    return conn.unreachable_checked_at + timedelta(seconds=settings.CHANNELS_PROBE_SECONDS)


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
    conn = Connection.objects.only("unreachable_since", "unreachable_checked_at").get(
        pk=connection_id
    )
    if conn.unreachable_since is not None:
        first = _probe_due_at(conn)  # jobs' own backoff does not matter until it answers
    return max((first - timezone.now()).total_seconds(), 0.0)


def _next_job(connection_id: int) -> SyncJob | None:
    """The job to send next, or None. An unreachable connection gets one probe at a time."""
    job = runnable_jobs(connection_id).select_related("connection__hotel").first()
    conn = job.connection if job is not None else Connection.objects.get(pk=connection_id)
    if conn.unreachable_since is None:
        return job
    now = timezone.now()
    _expire(connection_id, now)
    if now < _probe_due_at(conn):
        return None
    return (
        _unblocked(connection_id)
        .select_related("connection__hotel")
        .order_by("next_attempt_at", "id")
        .first()
    )


def _expire(connection_id: int, now) -> int:
    """Mark the pending jobs whose retry window has ended ``dead`` (expired)."""
    return SyncJob.objects.filter(
        connection_id=connection_id, status=SyncJob.Status.PENDING, retry_until__lte=now
    ).update(
        status=SyncJob.Status.DEAD,
        dead_reason=SyncJob.DeadReason.EXPIRED,
        last_error=Concat(
            Value("Expired: the partner could not be reached before the retry window ended. "),
            "last_error",
        ),
        finished_at=now,
        attempt_started_at=None,
    )


def _note_unreachable(conn: Connection, now) -> None:
    Connection.objects.filter(pk=conn.pk).update(
        unreachable_since=Coalesce("unreachable_since", Value(now, DateTimeField())),
        unreachable_checked_at=now,
    )


def _note_reachable(conn: Connection) -> None:
    """The partner answered: if it had been unreachable, everything waiting is due now."""
    if conn.unreachable_since is None:
        return
    if Connection.objects.filter(pk=conn.pk, unreachable_since__isnull=False).update(
        unreachable_since=None, unreachable_checked_at=None
    ):
        now = timezone.now()
        SyncJob.objects.filter(
            connection_id=conn.pk, status=SyncJob.Status.PENDING, next_attempt_at__gt=now
        ).update(next_attempt_at=now)


def _start_attempt(job: SyncJob) -> bool:
    """Count the attempt before the call; False if the job must not be sent again."""
    now = timezone.now()
    fields = ["attempts", "attempt_started_at", "next_attempt_at", "updated_at"]
    if job.attempt_started_at is not None:
        # The previous attempt never reported back: its worker died during the call.
        job.interrupted_attempts += 1
        fields.append("interrupted_attempts")
        if job.interrupted_attempts >= settings.CHANNELS_MAX_INTERRUPTED_ATTEMPTS:
            job.status = SyncJob.Status.DEAD
            job.dead_reason = SyncJob.DeadReason.INTERRUPTED
            fields.append("dead_reason")
            job.last_error = (
                f"Interrupted: the worker stopped during {job.interrupted_attempts} attempts "
                "in a row; this message may be what stops it."
            )
            job.attempt_started_at = None
            job.finished_at = now
            job.save(update_fields=[*fields, "status", "last_error", "finished_at"])
            return False
    job.attempts += 1
    job.attempt_started_at = now
    # Where a crash during the call leaves the job: due again only after its backoff.
    job.next_attempt_at = now + timedelta(seconds=backoff_seconds(job.attempts))
    job.save(update_fields=fields)
    return True


def run_job(job: SyncJob) -> SyncJob:
    """Send one job and record the outcome. The caller must hold the connection's lease."""
    provider = job.connection.get_provider()
    if not _start_attempt(job):
        return job
    try:
        provider.deliver(job)
    except PermanentError as exc:
        _note_reachable(job.connection)
        job.status = SyncJob.Status.DEAD
        job.dead_reason = SyncJob.DeadReason.PERMANENT
        job.last_error = f"Permanent: {exc.message}"
        job.finished_at = timezone.now()
    except Exception as exc:  # noqa: BLE001 - a bug must not kill the worker loop
        now = timezone.now()
        if isinstance(exc, SyncError):
            message = exc.message
            if isinstance(exc, TransientError) and exc.unreachable:
                _note_unreachable(job.connection, now)
            else:
                _note_reachable(job.connection)
        else:
            logger.exception("Delivering job %s failed unexpectedly", job.pk)
            message = f"{type(exc).__name__}: {exc}"
        job.last_error = message
        if now >= job.retry_until:
            job.status = SyncJob.Status.DEAD
            job.dead_reason = SyncJob.DeadReason.EXPIRED
            job.last_error = f"Expired: still failing when the retry window ended. {message}"
            job.finished_at = now
        else:
            delay = backoff_seconds(job.attempts)
            if isinstance(exc, TransientError) and exc.retry_after:
                delay = max(delay, min(exc.retry_after, settings.CHANNELS_RETRY_MAX_SECONDS))
            job.next_attempt_at = now + timedelta(seconds=delay)
    else:
        _note_reachable(job.connection)
        if job.status == SyncJob.Status.PENDING:
            job.status = SyncJob.Status.DONE
        job.finished_at = timezone.now()
    job.attempt_started_at = None
    job.save(
        update_fields=[
            "attempt_started_at",
            "status",
            "dead_reason",
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
    keeper = LeaseKeeper(connection_id, owner)
    keeper.start()
    try:
        while time.monotonic() < deadline and not keeper.lost:
            job = _next_job(connection_id)
            if job is None:
                break
            run_job(job)
            if job.status == SyncJob.Status.DONE or job.status == SyncJob.Status.SKIPPED:
                report.delivered += 1
            elif job.status == SyncJob.Status.DEAD:
                report.dead += 1
            else:
                report.failed += 1
    finally:
        keeper.stop()
        release(connection_id, owner)
    report.next_due_in = next_due_in(connection_id)
    return report


def retry_job(job: SyncJob) -> None:
    """Give a dead (or skipped) job a fresh retry window, starting now."""
    now = timezone.now()
    SyncJob.objects.filter(pk=job.pk).update(
        status=SyncJob.Status.PENDING,
        dead_reason="",
        attempts=0,
        interrupted_attempts=0,
        attempt_started_at=None,
        next_attempt_at=now,
        retry_until=now + timedelta(seconds=settings.CHANNELS_RETRY_MAX_AGE),
        finished_at=None,
    )
