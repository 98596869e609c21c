"""Connection health for the admin: last success, last error, pending and dead jobs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q

from .models import Connection, SyncJob, SyncLog


@dataclass
class ConnectionHealth:
    """One connection's sync health at a glance."""

    connection: Connection
    last_success: datetime | None
    last_error: SyncLog | None
    pending: int
    dead: int

    @property
    def ok(self) -> bool:
        failing = self.last_error is not None and (
            self.last_success is None or self.last_error.created_at > self.last_success
        )
        return self.connection.enabled and not self.dead and not failing


def connection_health() -> list[ConnectionHealth]:
    counts = {
        row["id"]: row
        for row in Connection.objects.annotate(
            pending=Count("jobs", filter=Q(jobs__status=SyncJob.Status.PENDING)),
            dead=Count("jobs", filter=Q(jobs__status=SyncJob.Status.DEAD)),
        ).values("id", "pending", "dead")
    }
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
            )
        )
    return out
