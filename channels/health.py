"""Connection health for the admin: reachability, whether the partner refuses our
credentials (unauthorised), last success, last error, pending jobs, dead jobs by why they
were given up, inbound reservations held for staff, for feed partners (iCalendar) the
age of each feed: when it was last read whole (its ``feed:<name>`` sync log), and, for
partners with a deadline to acknowledge (Expedia), the pulled messages still
unacknowledged past its alert age."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Count, Max, Min, Q, QuerySet
from django.db.models.functions import TruncHour
from django.utils import timezone

from pema.outbox import DeadJobs, LaneCounts, lane_counts

from .delivery import OUTBOX
from .models import Connection, InboundMessage, SyncJob, SyncLog
from .providers import registry

__all__ = ["ConnectionActivity", "ConnectionHealth", "DeadJobs", "activity", "connection_health"]


#: Sync log operations named so are reads of a feed (``feed:<listing>``).
FEED_PREFIX = "feed:"


#: A feed not read whole for this many pull intervals is stale (the connection needs attention).
STALE_INTERVALS = 3


@dataclass(frozen=True)
class FeedAge:
    """One feed of a connection: when it was last read without an error (None: never)."""

    name: str
    read_at: datetime | None
    interval_seconds: int | None = None

    @property
    def age_seconds(self) -> float | None:
        return None if self.read_at is None else (timezone.now() - self.read_at).total_seconds()

    @property
    def stale(self) -> bool:
        """Not read whole for :data:`STALE_INTERVALS` pull intervals (or never)."""
        age = self.age_seconds
        if age is None:
            return True
        return bool(self.interval_seconds) and age > STALE_INTERVALS * self.interval_seconds


@dataclass
class ConnectionHealth:
    """One connection's sync health at a glance."""

    connection: Connection
    last_success: datetime | None
    last_error: SyncLog | None
    pending: int
    dead: int
    dead_by_reason: list[DeadJobs] = field(default_factory=list)
    held: int = 0
    # The partner's latest refusal of our credentials or access (401/403) that no later
    # success of the same call has cleared.
    refused: SyncLog | None = None
    feeds: list[FeedAge] = field(default_factory=list)
    # Pulled messages unacknowledged for longer than the provider's ack_alert_seconds
    # (Expedia: unconfirmed transactions older than 10 minutes), shown in red.
    unconfirmed: int = 0
    unconfirmed_after_seconds: int | None = None

    @property
    def unconfirmed_after_minutes(self) -> int:
        return (self.unconfirmed_after_seconds or 0) // 60

    # When the oldest job still waiting to go out was made (None: nothing waits).
    oldest_pending: datetime | None = None

    @property
    def lag(self) -> timedelta | None:
        """How far behind the partner is: the age of the oldest job waiting to go out."""
        if self.oldest_pending is None:
            return None
        return max(timezone.now() - self.oldest_pending, timedelta(0))

    @property
    def light(self) -> str:
        """The traffic light: ``grey`` disabled, ``red`` the partner refuses us, cannot be
        reached or the last call failed, ``amber`` dead jobs or held messages wait for
        staff, ``green`` otherwise."""
        if not self.connection.enabled:
            return "grey"
        if self.unauthorised or self.unreachable or self.failing:
            return "red"
        return "green" if self.ok else "amber"

    @property
    def unauthorised(self) -> bool:
        return self.refused is not None

    @property
    def probe_seconds(self) -> float:
        return settings.CHANNELS_PROBE_SECONDS

    @property
    def unreachable(self) -> bool:
        return self.connection.unreachable_since is not None

    @property
    def failing(self) -> bool:
        """The latest call failed (no success since the last error)."""
        return self.last_error is not None and (
            self.last_success is None or self.last_error.created_at > self.last_success
        )

    @property
    def status(self) -> str:
        """One word for the connection's state, the worst that applies: ``disabled``,
        ``unauthorised``, ``unreachable``, ``attention`` (dead jobs, held messages or a
        failing last call) or ``ok``."""
        if not self.connection.enabled:
            return "disabled"
        if self.unauthorised:
            return "unauthorised"
        if self.unreachable:
            return "unreachable"
        return "ok" if self.ok else "attention"

    @property
    def ok(self) -> bool:
        return (
            self.connection.enabled
            and not self.dead
            and not self.held
            and not self.unconfirmed
            and not self.failing
            and not self.unreachable
            and not self.unauthorised
            and not any(feed.stale for feed in self.feeds)
        )


def connection_health(connections: QuerySet[Connection] | None = None) -> list[ConnectionHealth]:
    """The health of ``connections`` (every connection when None), in their order."""
    if connections is None:
        connections = Connection.objects.all()
    counts = lane_counts(OUTBOX)
    stuck = [InboundMessage.Status.HELD, InboundMessage.Status.FAILED]
    held = dict(
        InboundMessage.objects.filter(
            status__in=stuck, connection_id__in=connections.order_by().values("pk")
        )
        .values("connection_id")
        .annotate(n=Count("id"))
        .values_list("connection_id", "n")
    )
    oldest = dict(
        SyncJob.objects.filter(
            status=SyncJob.Status.PENDING, connection_id__in=connections.order_by().values("pk")
        )
        .values("connection_id")
        .annotate(first=Min("created_at"))
        .order_by()
        .values_list("connection_id", "first")
    )
    out = []
    for conn in connections.select_related("hotel"):
        logs = SyncLog.objects.filter(connection=conn)
        success = (
            logs.exclude(status=SyncLog.Status.ERROR).values_list("created_at", flat=True).first()
        )
        error = logs.filter(status=SyncLog.Status.ERROR).first()
        jobs = counts.get(conn.pk, LaneCounts())
        refused = logs.filter(http_status__in=(401, 403)).first()
        if (
            refused is not None
            and logs.filter(operation=refused.operation, pk__gt=refused.pk)
            .exclude(status=SyncLog.Status.ERROR)
            .exists()
        ):
            refused = None
        read = list(
            logs.filter(operation__startswith=FEED_PREFIX)
            .values("operation")
            .annotate(read_at=Max("created_at", filter=~Q(status=SyncLog.Status.ERROR)))
            .order_by("operation")
            .values_list("operation", "read_at")
        )
        interval = None
        if read and conn.provider in registry():
            interval = conn.get_provider().capabilities().pull_interval_seconds
        feeds = [
            FeedAge(operation.removeprefix(FEED_PREFIX), read_at, interval)
            for operation, read_at in read
        ]
        alert = conn.get_provider().ack_alert_seconds if conn.provider in registry() else None
        out.append(
            ConnectionHealth(
                connection=conn,
                last_success=success,
                last_error=error,
                pending=jobs.pending,
                dead=jobs.dead,
                dead_by_reason=jobs.dead_by_reason,
                held=held.get(conn.pk, 0),
                refused=refused,
                feeds=feeds,
                unconfirmed=_unconfirmed(conn, alert) if alert else 0,
                unconfirmed_after_seconds=alert,
                oldest_pending=oldest.get(conn.pk),
            )
        )
    return out


#: Unacknowledged messages older than this are no longer counted: the partner's longest
#: deadline (Expedia's 24 h) has passed and it sent them by its fallback (email).
UNCONFIRMED_WINDOW = timedelta(days=1)


def _unconfirmed(conn: Connection, alert_seconds: int) -> int:
    """Pulled messages owed an acknowledgement and older than ``alert_seconds``."""
    now = timezone.now()
    return (
        InboundMessage.objects.filter(
            connection=conn,
            acked_at__isnull=True,
            revised_at__lt=now - timedelta(seconds=alert_seconds),
            received_at__gte=now - UNCONFIRMED_WINDOW,
        )
        .exclude(ack_token="")
        .count()
    )


@dataclass
class ConnectionActivity:
    """One connection's recent traffic, for its page: the log, error rate, messages per hour."""

    hours: int
    timeline: list[SyncLog]
    calls: int
    errors: int
    per_hour: list[tuple[datetime, int, int]]  # (hour, calls to the partner, messages in)

    @property
    def error_rate(self) -> float:
        return self.errors / self.calls if self.calls else 0.0

    @property
    def busiest_hour(self) -> int:
        return max((out + inbound for _, out, inbound in self.per_hour), default=0)


def activity(connection: Connection, *, hours: int = 24, timeline: int = 50) -> ConnectionActivity:
    """The connection's last ``timeline`` calls, and over the last ``hours`` hours its
    error rate and the calls and inbound messages of each hour (four queries)."""
    now = timezone.now()
    first_hour = (now - timedelta(hours=hours - 1)).replace(minute=0, second=0, microsecond=0)
    logs = SyncLog.objects.filter(connection=connection)
    recent = logs.filter(created_at__gte=first_hour)
    totals = recent.aggregate(
        calls=Count("id"), errors=Count("id", filter=Q(status=SyncLog.Status.ERROR))
    )
    out_per_hour = dict(
        recent.annotate(hour=TruncHour("created_at", tzinfo=UTC))
        .values("hour")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("hour", "n")
    )
    in_per_hour = dict(
        InboundMessage.objects.filter(connection=connection, received_at__gte=first_hour)
        .annotate(hour=TruncHour("received_at", tzinfo=UTC))
        .values("hour")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("hour", "n")
    )
    hours_list = [first_hour + timedelta(hours=i) for i in range(hours)]
    return ConnectionActivity(
        hours=hours,
        timeline=list(logs.order_by("-id")[:timeline]),
        calls=totals["calls"],
        errors=totals["errors"],
        per_hour=[(h, out_per_hour.get(h, 0), in_per_hour.get(h, 0)) for h in hours_list],
    )
