"""The PMS app's signals, and their record in the change-event log.

``pms_sync_completed`` (``log``: the ``PmsSyncLog``) is sent when a sync run
ends, completed or failed; ``pms_booking_synced`` (``connection``,
``reservation_ids``) when reservations from the PMS were applied. Both are
also written as ``ChangeEvent``s, so the booking-engine webhooks offer them
as the event types ``pms.sync.completed`` and ``pms.booking.synced``.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import Signal, receiver

from channels.models import Connection

pms_sync_completed = Signal()
pms_booking_synced = Signal()


@receiver(pms_sync_completed)
def record_sync_completed(sender, log, **kwargs) -> None:
    from bookings.events import record_event
    from bookings.models import ChangeEvent

    with transaction.atomic():
        record_event(
            log.connection.hotel,
            ChangeEvent.Kind.PMS_SYNC_COMPLETED,
            {
                "sync_log_id": log.pk,
                "provider": log.connection.provider,
                "entity": log.entity,
                "operation": log.operation,
                "status": log.status,
                "processed": log.processed,
                "failed": log.failed,
                "duration_ms": log.duration_ms,
                "correlation_id": log.correlation_id,
            },
            source="pms",
        )


@receiver(pms_booking_synced)
def record_booking_synced(sender, connection, reservation_ids, **kwargs) -> None:
    from bookings.events import record_event
    from bookings.models import ChangeEvent, Reservation

    numbers = list(
        Reservation.objects.filter(pk__in=reservation_ids).values_list(
            "confirmation_number", "external_id", "status"
        )
    )
    with transaction.atomic():
        record_event(
            connection.hotel,
            ChangeEvent.Kind.PMS_BOOKING_SYNCED,
            {
                "provider": connection.provider,
                "bookings": [
                    {"confirmation_number": c, "pms_id": e, "status": s} for c, e, s in numbers
                ],
            },
            source="pms",
        )


@receiver(post_save, sender=Connection)
def schedule_pms_syncs(sender, instance: Connection, created=False, raw=False, **kwargs) -> None:
    """A PMS connection gets its cron entries (bookings, rooms, guests) when first saved."""
    if raw:
        return
    try:
        entities = instance.get_provider().pms_entities
    except (ImportError, KeyError):
        return
    if entities:
        from .schedules import ensure_pms_schedules

        transaction.on_commit(lambda: ensure_pms_schedules(instance))
