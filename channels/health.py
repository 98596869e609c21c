"""Connection health for the admin: reachability, whether the partner refuses our
credentials (unauthorised), last success, last error, pending jobs, dead jobs by why they
were given up, and inbound reservations held for staff."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db.models import Count

from pema.outbox import DeadJobs, LaneCounts, lane_counts

from .delivery import OUTBOX
from .models import Connection, InboundMessage, SyncLog

__all__ = ["ConnectionHealth", "DeadJobs", "connection_health"]


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
    def ok(self) -> bool:
        failing = self.last_error is not None and (
            self.last_success is None or self.last_error.created_at > self.last_success
        )
        return (
            self.connection.enabled
            and not self.dead
            and not self.held
            and not failing
            and not self.unreachable
            and not self.unauthorised
        )


def connection_health() -> list[ConnectionHealth]:
    counts = lane_counts(OUTBOX)
    stuck = [InboundMessage.Status.HELD, InboundMessage.Status.FAILED]
    held = dict(
        InboundMessage.objects.filter(status__in=stuck)
        .values("connection_id")
        .annotate(n=Count("id"))
        .values_list("connection_id", "n")
    )
    out = []
    for conn in Connection.objects.select_related("hotel"):
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
            )
        )
    return out
