"""Connection health for the admin: last success, last error, pending and dead jobs, and
inbound reservations held for staff."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q

from .models import Connection, InboundMessage, SyncJob, SyncLog


@dataclass
class ConnectionHealth:
    """One connection's sync health at a glance."""

    connection: Connection
    last_success: datetime | None
    last_error: SyncLog | None
    pending: int
    dead: int
    held: int = 0

    @property
    def ok(self) -> bool:
        failing = self.last_error is not None and (
            self.last_success is None or self.last_error.created_at > self.last_success
        )
        return self.connection.enabled and not self.dead and not self.held and not failing


def connection_health() -> list[ConnectionHealth]:
    counts = {
        row["id"]: row
        for row in Connection.objects.annotate(
            pending=Count("jobs", filter=Q(jobs__status=SyncJob.Status.PENDING)),
            dead=Count("jobs", filter=Q(jobs__status=SyncJob.Status.DEAD)),
        ).values("id", "pending", "dead")
    }
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
        out.append(
            ConnectionHealth(
                connection=conn,
                last_success=success,
                last_error=error,
                pending=counts[conn.pk]["pending"],
                dead=counts[conn.pk]["dead"],
                held=held.get(conn.pk, 0),
            )
        )
    return out
