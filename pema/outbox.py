"""The one outbox engine: leased, ordered, retried delivery of rows to a remote system.

Two outboxes use it: the channel manager's ``SyncJob``s (one lane per
``Connection``, see ``channels/delivery.py``) and the booking-engine webhooks
(one lane per ``WebhookEndpoint``, see ``bookings/webhooks.py``). Each is an
:class:`Outbox`: a *lane* model (the row a worker leases), a *job* model (the
rows it sends) and a ``send`` function for the transport. Everything else is
here, once.

Ownership. A worker first claims a lease on the lane in a short transaction
(``select_for_update(skip_locked=True)`` on the lane row, then
``lease_owner``/``lease_until``), so two workers never send one lane's jobs
concurrently. The call itself runs outside any transaction: holding a row lock
(or SQLite's write lock) for a remote call would stall bookings. The lease is
short (``CHANNELS_LEASE_SECONDS``, 15 s) and a :class:`LeaseKeeper` thread
renews it every third of that while the worker delivers, however long one call
takes (``pema/http.py`` bounds a call at ``PEMA_HTTP_DEADLINE_SECONDS``). A
killed worker stops renewing: its lease runs out, and :meth:`Outbox.abandoned`
(polled by beat) hands the lane to another worker. A worker that finds its
lease taken stops after the job in hand.

Attempts. An attempt is counted, and the job's next try scheduled as if it
had failed, *before* the call: a message that kills the worker cannot come
back at once and for ever. ``attempt_started_at`` stays set while the call
runs; a job picked up with it still set was interrupted (its worker died), and
after ``CHANNELS_MAX_INTERRUPTED_ATTEMPTS`` such attempts it is not sent again.

Order. Jobs of one ``stream`` run in ``order_field`` order: a job waits while
an earlier job of its stream is pending. Whether a *dead* earlier job holds
the stream back too is the outbox's choice (``dead_blocks``): a webhook
receiver or an ARI stream moves on past a dead message, a reservation stream
must not let a modify overtake a create that never landed.

Retries. A transient failure schedules the next try after
``base * 2**(attempt-1)`` seconds capped at ``CHANNELS_RETRY_MAX_SECONDS``,
with "equal jitter" (half fixed, half random); the remote's ``Retry-After`` is
honoured when longer. There is no count of tries: a job is retried until its
``retry_until`` (``CHANNELS_RETRY_MAX_AGE`` after it was made, 24 h), so the
remote may be down for hours and lose nothing. ``dead`` has three reasons
(``dead_reason``): a permanent error, the retry window ended, or the message
interrupted its worker too often. :meth:`Outbox.retry` gives dead jobs a fresh
window (the admin's retry button).

Outages. A failure that says nothing about the message (no connection, a
timeout, HTTP 5xx or 429: ``TransientError.unreachable``) marks the whole lane
unreachable. While it is, a pass makes one attempt at most, and only once
``CHANNELS_PROBE_SECONDS`` (30) have passed since the last one: the waiting job
due first is the probe, whether or not its own backoff is over. So a remote
that is down sees one call every 30 s, not one per job, and is noticed to be
back within 30 s. The first answer from it (any answer: even an error proves
it is reachable) clears the mark and makes every waiting job due at once, so
the backlog is sent straight away, in stream order, by the same pass. Jobs
whose retry window ended during the outage are marked ``dead`` (expired) as
the passes meet them.

Settings are the ``CHANNELS_*`` ones for every outbox: one policy, one place
to tune it.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, models, transaction
from django.db import connection as db_connection
from django.db.models import DateTimeField, Exists, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Coalesce, Concat
from django.utils import timezone

logger = logging.getLogger(__name__)

PENDING = "pending"
DEAD = "dead"


# --- What a send may raise ------------------------------------------------------------------


class SyncError(Exception):
    """A call to the remote failed."""

    def __init__(self, message: str, *, http_status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status


class TransientError(SyncError):
    """Worth retrying later; ``retry_after`` (seconds) when the remote said when.

    ``unreachable``: the failure says nothing about this message, only that the
    remote cannot be reached or is not serving (no connection, a timeout, HTTP
    5xx or 429); every other message to it would fail alike.
    """

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        retry_after: float | None = None,
        unreachable: bool = False,
    ) -> None:
        super().__init__(message, http_status=http_status)
        self.retry_after = retry_after
        self.unreachable = unreachable


class PermanentError(SyncError):
    """Retrying the same message cannot succeed."""


def retry_after_seconds(value: str | None) -> float | None:
    """A ``Retry-After`` header in seconds; None when absent or an HTTP date (our backoff
    is good enough then)."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None


# --- The rows --------------------------------------------------------------------------------


def default_retry_until() -> datetime:
    """The end of a new job's retry window (``CHANNELS_RETRY_MAX_AGE`` from now)."""
    return timezone.now() + timedelta(seconds=settings.CHANNELS_RETRY_MAX_AGE)


class OutboxLane(models.Model):
    """What a lane (a connection, a webhook endpoint) carries for the engine: its
    delivery lease and whether its remote is reachable."""

    lease_owner = models.CharField(max_length=64, blank=True, editable=False)
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    # Set by a failure that says the remote cannot be reached; cleared by its next answer.
    unreachable_since = models.DateTimeField(null=True, blank=True, editable=False)
    unreachable_checked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        abstract = True


class OutboxJob(models.Model):
    """What every outbox row carries for the engine: its stream, its tries and its end.

    The concrete model adds the foreign key to its lane, a ``status`` field
    whose choices include ``pending`` and ``dead``, and ``DONE``, the status a
    delivered row gets.
    """

    class DeadReason(models.TextChoices):
        PERMANENT = "permanent", "Permanent error"
        EXPIRED = "expired", "Retry window ended"
        INTERRUPTED = "interrupted", "Interrupted its worker"

    DONE = "done"

    stream = models.CharField(max_length=40)
    attempts = models.PositiveSmallIntegerField(default=0)
    retry_until = models.DateTimeField(default=default_retry_until)
    dead_reason = models.CharField(max_length=12, choices=DeadReason.choices, blank=True)
    # Set while a try is in flight; still set when the job is picked up again means its
    # worker died during the call.
    attempt_started_at = models.DateTimeField(null=True, blank=True)
    interrupted_attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


# --- The engine ------------------------------------------------------------------------------


def backoff_seconds(attempt: int, *, rand: random.Random | None = None) -> float:
    """Delay before try ``attempt + 1`` after ``attempt`` failed tries (equal jitter)."""
    base = settings.CHANNELS_RETRY_BASE_SECONDS
    cap = settings.CHANNELS_RETRY_MAX_SECONDS
    # The exponent stops growing long before the cap matters (and before floats overflow).
    delay = min(base * (2 ** min(max(attempt - 1, 0), 40)), cap)
    return delay / 2 + (rand or random).uniform(0, delay / 2)


@dataclass
class DeliveryReport:
    """What one delivery pass did."""

    claimed: bool = False
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    next_due_in: float | None = None  # seconds until the next pending job is due


@dataclass(frozen=True)
class Outbox:
    """One outbox: which rows, in which lanes, sent how.

    ``lane`` is the job's foreign key to its lane model; ``active`` filters the
    lanes that may deliver (a disabled connection's jobs wait); ``send`` makes
    the call and raises :class:`SyncError` on failure (any other exception
    counts as transient); it may change the fields named in ``sent_fields``
    and set a final status of its own. ``dead_blocks`` selects the earlier dead
    jobs that hold their stream back (None: a dead job never does).
    """

    lane_model: type[OutboxLane]
    job_model: type[OutboxJob]
    lane: str
    send: Callable[[OutboxJob], None]
    active: dict = field(default_factory=dict)
    order_field: str = "id"
    dead_blocks: Q | None = None
    select_related: tuple[str, ...] = ()
    sent_fields: tuple[str, ...] = ()

    # -- the lease --

    def claim(self, lane_id: int, owner: str) -> bool:
        """Take (or renew) the delivery lease on a lane; False if another worker has it."""
        now = timezone.now()
        with transaction.atomic():
            lane = (
                self.lane_model.objects.select_for_update(skip_locked=True)
                .filter(pk=lane_id, **self.active)
                .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now) | Q(lease_owner=owner))
                .first()
            )
            if lane is None:
                return False
            lane.lease_owner = owner
            lane.lease_until = now + timedelta(seconds=settings.CHANNELS_LEASE_SECONDS)
            lane.save(update_fields=["lease_owner", "lease_until"])
        return True

    def release(self, lane_id: int, owner: str) -> None:
        self.lane_model.objects.filter(pk=lane_id, lease_owner=owner).update(
            lease_owner="", lease_until=None
        )

    def keeper(self, lane_id: int, owner: str) -> LeaseKeeper:
        """A (not yet started) thread that keeps ``owner``'s lease on the lane alive."""
        return LeaseKeeper(self.lane_model, lane_id, owner)

    def abandoned(self) -> list[int]:
        """Lanes whose lease ran out without a release: their worker died mid-delivery."""
        return list(
            self.lane_model.objects.filter(lease_until__lt=timezone.now(), **self.active)
            .exclude(lease_owner="")
            .values_list("pk", flat=True)
        )

    def due_lanes(self) -> list[int]:
        """Lanes with work now: a due job (or, while unreachable, a due probe), or a lease
        abandoned by a dead worker."""
        now = timezone.now()
        lane = self.lane
        probed_before = now - timedelta(seconds=settings.CHANNELS_PROBE_SECONDS)
        due = (
            self.job_model.objects.filter(
                status=PENDING, **{f"{lane}__{key}": value for key, value in self.active.items()}
            )
            .filter(
                Q(next_attempt_at__lte=now, **{f"{lane}__unreachable_since__isnull": True})
                | Q(**{f"{lane}__unreachable_checked_at__lte": probed_before})
            )
            .order_by()
            .values_list(self._lane_id, flat=True)
            .distinct()
        )
        return sorted({*due, *self.abandoned()})

    # -- which job next --

    @property
    def _lane_id(self) -> str:
        return f"{self.lane}_id"

    def _jobs(self, lane_id: int) -> QuerySet:
        return self.job_model.objects.filter(**{self._lane_id: lane_id})

    def _blockers(self) -> QuerySet:
        earlier = self.job_model.objects.filter(
            **{
                self._lane_id: OuterRef(self._lane_id),
                "stream": OuterRef("stream"),
                f"{self.order_field}__lt": OuterRef(self.order_field),
            }
        )
        blocking = Q(status=PENDING)
        if self.dead_blocks is not None:
            blocking |= Q(status=DEAD) & self.dead_blocks
        return earlier.filter(blocking)

    def unblocked(self, lane_id: int) -> QuerySet:
        """Pending jobs not waiting behind an earlier job of their stream."""
        return self._jobs(lane_id).filter(status=PENDING).exclude(Exists(self._blockers()))

    def runnable(self, lane_id: int) -> QuerySet:
        """Pending jobs that are due and not waiting behind an earlier job of their stream."""
        return (
            self.unblocked(lane_id)
            .filter(next_attempt_at__lte=timezone.now())
            .order_by(self.order_field)
        )

    @staticmethod
    def _probe_due_at(lane: OutboxLane) -> datetime:
        """When an unreachable lane may be tried again."""
        return lane.unreachable_checked_at + timedelta(seconds=settings.CHANNELS_PROBE_SECONDS)

    def next_due_in(self, lane_id: int) -> float | None:
        """Seconds until the earliest pending job may run (0 if one is due now)."""
        first = (
            self._jobs(lane_id)
            .filter(status=PENDING)
            .order_by("next_attempt_at")
            .values_list("next_attempt_at", flat=True)
            .first()
        )
        if first is None:
            return None
        lane = self.lane_model.objects.only("unreachable_since", "unreachable_checked_at").get(
            pk=lane_id
        )
        if lane.unreachable_since is not None:
            first = self._probe_due_at(lane)  # jobs' own backoff does not matter until it answers
        return max((first - timezone.now()).total_seconds(), 0.0)

    def next_job(self, lane_id: int) -> OutboxJob | None:
        """The job to send next, or None. An unreachable lane gets one probe at a time."""
        job = self.runnable(lane_id).select_related(*self.select_related).first()
        if job is not None:
            lane = getattr(job, self.lane)
        else:
            lane = self.lane_model.objects.get(pk=lane_id)
        if lane.unreachable_since is None:
            return job
        now = timezone.now()
        self._expire(lane_id, now)
        if now < self._probe_due_at(lane):
            return None
        return (
            self.unblocked(lane_id)
            .select_related(*self.select_related)
            .order_by("next_attempt_at", self.order_field)
            .first()
        )

    # -- outcomes --

    def _expire(self, lane_id: int, now: datetime) -> int:
        """Mark the pending jobs whose retry window has ended ``dead`` (expired)."""
        return (
            self._jobs(lane_id)
            .filter(status=PENDING, retry_until__lte=now)
            .update(
                status=DEAD,
                dead_reason=OutboxJob.DeadReason.EXPIRED,
                last_error=Concat(
                    Value("Expired: no answer came before the retry window ended. "),
                    "last_error",
                ),
                finished_at=now,
                attempt_started_at=None,
            )
        )

    def _note_unreachable(self, lane: OutboxLane, now: datetime) -> None:
        self.lane_model.objects.filter(pk=lane.pk).update(
            unreachable_since=Coalesce("unreachable_since", Value(now, DateTimeField())),
            unreachable_checked_at=now,
        )

    def _note_reachable(self, lane: OutboxLane) -> None:
        """The remote answered: if it had been unreachable, everything waiting is due now."""
        if lane.unreachable_since is None:
            return
        if self.lane_model.objects.filter(pk=lane.pk, unreachable_since__isnull=False).update(
            unreachable_since=None, unreachable_checked_at=None
        ):
            now = timezone.now()
            self._jobs(lane.pk).filter(status=PENDING, next_attempt_at__gt=now).update(
                next_attempt_at=now
            )

    def _start_attempt(self, job: OutboxJob) -> bool:
        """Count the attempt before the call; False if the job must not be sent again."""
        now = timezone.now()
        fields = ["attempts", "attempt_started_at", "next_attempt_at", "updated_at"]
        if job.attempt_started_at is not None:
            # The previous attempt never reported back: its worker died during the call.
            job.interrupted_attempts += 1
            fields.append("interrupted_attempts")
            if job.interrupted_attempts >= settings.CHANNELS_MAX_INTERRUPTED_ATTEMPTS:
                job.status = DEAD
                job.dead_reason = OutboxJob.DeadReason.INTERRUPTED
                job.last_error = (
                    f"Interrupted: the worker stopped during {job.interrupted_attempts} "
                    "attempts in a row; this message may be what stops it."
                )
                job.attempt_started_at = None
                job.finished_at = now
                job.save(
                    update_fields=[*fields, "status", "dead_reason", "last_error", "finished_at"]
                )
                return False
        job.attempts += 1
        job.attempt_started_at = now
        # Where a crash during the call leaves the job: due again only after its backoff.
        job.next_attempt_at = now + timedelta(seconds=backoff_seconds(job.attempts))
        job.save(update_fields=fields)
        return True

    def run(self, job: OutboxJob) -> OutboxJob:
        """Send one job and record the outcome. The caller must hold the lane's lease."""
        if not self._start_attempt(job):
            return job
        lane = getattr(job, self.lane)
        try:
            self.send(job)
        except PermanentError as exc:
            self._note_reachable(lane)
            job.status = DEAD
            job.dead_reason = OutboxJob.DeadReason.PERMANENT
            job.last_error = f"Permanent: {exc.message}"
            job.finished_at = timezone.now()
        except Exception as exc:  # noqa: BLE001 - a bug must not kill the worker loop
            now = timezone.now()
            if isinstance(exc, SyncError):
                message = exc.message
                if isinstance(exc, TransientError) and exc.unreachable:
                    self._note_unreachable(lane, now)
                else:
                    self._note_reachable(lane)
            else:
                logger.exception("Delivering %s %s failed unexpectedly", job._meta.label, job.pk)
                message = f"{type(exc).__name__}: {exc}"
            job.last_error = message
            if now >= job.retry_until:
                job.status = DEAD
                job.dead_reason = OutboxJob.DeadReason.EXPIRED
                job.last_error = f"Expired: still failing when the retry window ended. {message}"
                job.finished_at = now
            else:
                delay = backoff_seconds(job.attempts)
                if isinstance(exc, TransientError) and exc.retry_after:
                    delay = max(delay, min(exc.retry_after, settings.CHANNELS_RETRY_MAX_SECONDS))
                job.next_attempt_at = now + timedelta(seconds=delay)
        else:
            self._note_reachable(lane)
            if job.status == PENDING:
                job.status = job.DONE
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
                "updated_at",
                *self.sent_fields,
            ]
        )
        return job

    def deliver(self, lane_id: int, *, budget_seconds: float = 50.0) -> DeliveryReport:
        """Deliver the lane's runnable jobs for up to ``budget_seconds``."""
        owner = uuid.uuid4().hex
        report = DeliveryReport()
        if not self.claim(lane_id, owner):
            return report
        report.claimed = True
        deadline = time.monotonic() + budget_seconds
        keeper = self.keeper(lane_id, owner)
        keeper.start()
        try:
            while time.monotonic() < deadline and not keeper.lost:
                job = self.next_job(lane_id)
                if job is None:
                    break
                self.run(job)
                if job.status == DEAD:
                    report.dead += 1
                elif job.status == PENDING:
                    report.failed += 1
                else:
                    report.delivered += 1
        finally:
            keeper.stop()
            self.release(lane_id, owner)
        report.next_due_in = self.next_due_in(lane_id)
        return report

    def retry(self, job_ids: Iterable[int]) -> int:
        """Give jobs (dead ones, say) a fresh retry window, starting now; how many."""
        now = timezone.now()
        return self.job_model.objects.filter(pk__in=list(job_ids)).update(
            status=PENDING,
            dead_reason="",
            attempts=0,
            interrupted_attempts=0,
            attempt_started_at=None,
            next_attempt_at=now,
            retry_until=now + timedelta(seconds=settings.CHANNELS_RETRY_MAX_AGE),
            finished_at=None,
        )


class LeaseKeeper(threading.Thread):
    """Renews a lane's lease every third of its length until stopped.

    ``lost`` turns true when another owner's name is found on the lease (ours ran
    out, say while the database was unreachable): the worker then stops.
    """

    def __init__(self, lane_model: type[OutboxLane], lane_id: int, owner: str) -> None:
        super().__init__(name=f"lease-{lane_model._meta.label_lower}-{lane_id}", daemon=True)
        self.lane_model = lane_model
        self.lane_id = lane_id
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
        lanes = self.lane_model.objects
        try:
            if lanes.filter(pk=self.lane_id, lease_owner=self.owner).update(lease_until=until):
                return True
            return not lanes.filter(pk=self.lane_id).exclude(lease_owner=self.owner).exists()
        except DatabaseError:
            logger.warning("Could not renew the lease of %s %s", self.lane_model, self.lane_id)
            return True  # try again next time; the lease may still be ours

    def stop(self) -> None:
        self._stopping.set()
        if self.is_alive():
            self.join()


# --- Health ----------------------------------------------------------------------------------


@dataclass
class DeadJobs:
    """How many of a lane's jobs are dead, for one reason."""

    reason: str
    label: str
    count: int


@dataclass
class LaneCounts:
    """A lane's pending and dead jobs, the dead ones by why they were given up."""

    pending: int = 0
    dead: int = 0
    dead_by_reason: list[DeadJobs] = field(default_factory=list)


def lane_counts(outbox: Outbox) -> dict[int, LaneCounts]:
    """Pending and dead jobs per lane id, in one query (lanes with no open job are absent)."""
    reasons = OutboxJob.DeadReason
    rows = (
        outbox.job_model.objects.filter(status__in=[PENDING, DEAD])
        .values(outbox._lane_id)
        .annotate(
            pending=models.Count("id", filter=Q(status=PENDING)),
            dead=models.Count("id", filter=Q(status=DEAD)),
            **{
                f"dead_{reason}": models.Count("id", filter=Q(status=DEAD, dead_reason=reason))
                for reason in reasons.values
            },
        )
        .order_by()
    )
    return {
        row[outbox._lane_id]: LaneCounts(
            pending=row["pending"],
            dead=row["dead"],
            dead_by_reason=[
                DeadJobs(reason, label, row[f"dead_{reason}"])
                for reason, label in reasons.choices
                if row[f"dead_{reason}"]
            ],
        )
        for row in rows
    }
