"""Celery tasks of PMS sync: thin wrappers over ``pms.sync`` and the inbound pipeline."""

from __future__ import annotations

import time

from celery import shared_task
from django.utils import timezone

from channels.inbound import apply_inbound
from channels.models import Connection, InboundMessage

from . import sync
from .models import PmsSyncLog
from .signals import pms_booking_synced, pms_sync_completed


@shared_task(acks_late=True, ignore_result=True)
def run_sync(log_id: int) -> None:
    """Run the sync the log row describes (started by the API, the admin or the schedule)."""
    sync.run_sync(log_id)


@shared_task(acks_late=True, ignore_result=True)
def scheduled_sync(connection_id: int, entity: str) -> None:
    """The cron entry of one connection and entity: a fetch of what changed since the last run."""
    connection = Connection.objects.select_related("hotel").filter(pk=connection_id).first()
    if connection is None or not connection.enabled or not sync.supported(connection, entity):
        return
    last = (
        PmsSyncLog.objects.filter(
            connection=connection,
            entity=sync.ENTITY[sync.SyncEntity(entity)],
            status=PmsSyncLog.Status.COMPLETED,
        )
        .order_by("-id")
        .values_list("started_at", flat=True)
        .first()
    )
    log = sync.start_sync(connection, entity, operation=PmsSyncLog.Operation.FETCH, since=last)
    sync.run_sync(log.pk)


@shared_task(acks_late=True, ignore_result=True)
def apply_webhook_booking(message_id: int, log_id: int) -> None:
    """Apply one booking a PMS posted, and close its sync log."""
    started = time.monotonic()
    message = apply_inbound(message_id)
    applied = message.status in (InboundMessage.Status.APPLIED, InboundMessage.Status.SUPERSEDED)
    PmsSyncLog.objects.filter(pk=log_id).update(
        status=PmsSyncLog.Status.COMPLETED if applied else PmsSyncLog.Status.FAILED,
        processed=1 if applied else 0,
        failed=0 if applied else 1,
        error="" if applied else message.error[:2000],
        duration_ms=int((time.monotonic() - started) * 1000),
        finished_at=timezone.now(),
    )
    log = PmsSyncLog.objects.select_related("connection__hotel").get(pk=log_id)
    if message.status == InboundMessage.Status.APPLIED and message.reservation_id:
        pms_booking_synced.send(
            sender=PmsSyncLog, connection=log.connection, reservation_ids=[message.reservation_id]
        )
    pms_sync_completed.send(sender=PmsSyncLog, log=log)
