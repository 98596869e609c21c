"""The cron schedule of PMS syncs: one django-celery-beat crontab per connection and entity.

Made when a PMS connection is saved (``pms.signals``), then staff's to edit in
the Periodic tasks admin (the seed's example is ``0 */6 * * *``). Defaults:
bookings every 5 minutes where the PMS pushes no webhooks (switched off where
it does), rooms every 15 minutes, guests nightly.
"""

from __future__ import annotations

from channels.interface import SyncEntity
from channels.models import Connection
from pema.schedules import ensure_crontab_task

DEFAULT_CRON = {
    SyncEntity.BOOKINGS: "*/5 * * * *",
    SyncEntity.ROOMS: "*/15 * * * *",
    SyncEntity.GUESTS: "30 2 * * *",
}
TASK = "pms.tasks.scheduled_sync"


def schedule_name(connection: Connection, entity: SyncEntity | str) -> str:
    return f"pms-{connection.pk}-{SyncEntity(entity)}"


def ensure_pms_schedules(
    connection: Connection, *, cron: dict[str, str] | None = None, update: bool = False
) -> list:
    """The beat entries of every entity the connection's PMS syncs (created once)."""
    provider = connection.get_provider()
    entries = []
    for entity in SyncEntity:
        if str(entity) not in provider.pms_entities:
            continue
        enabled = connection.enabled and not (
            entity == SyncEntity.BOOKINGS and provider.pushes_bookings
        )
        entries.append(
            ensure_crontab_task(
                name=schedule_name(connection, entity),
                task=TASK,
                cron=(cron or {}).get(str(entity), DEFAULT_CRON[entity]),
                enabled=enabled,
                args=[connection.pk, str(entity)],
                timezone=connection.hotel.timezone,
                update=update,
            )
        )
    return entries
