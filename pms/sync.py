"""PMS sync: reservations, rooms and guest profiles read from a hotel's PMS into Pema.

One domain module for every way a sync starts (the schedule, the staff API,
the admin's buttons, a command): :func:`start_sync` writes the run's
``PmsSyncLog`` (running), :func:`run_sync` does it and records how it ended.
The provider reads its PMS a page at a time (``fetch_reservations``,
``fetch_rooms``, ``fetch_guests``) and hands back typed values; this module
writes them:

- **bookings** go through the inbound pipeline (``channels.inbound``): stored
  raw, applied idempotently (source PMS, the PMS's id kept as its
  reference), so they take inventory and every channel hears of them;
- **rooms** are matched to Pema's rooms by number; their housekeeping,
  occupancy and PMS id are kept; a room out of order blocks one room of its
  type for those nights (``bookings.blocks``), released when it is cleared;
- **guests** are merged with the hotel's guests by e-mail
  (``bookings.guests``), never duplicated.

A provider that cannot sync an entity says so (``pms_entities``); the run
fails with that message instead of a call that was never going to work.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from bookings.blocks import active_room_block, block_room, release_block
from bookings.guests import GuestProfile, merge_guest_profiles
from bookings.models import Room
from channels.inbound import (
    awaiting_details,
    mark_notices_read,
    record_and_apply,
    record_notices,
)
from channels.interface import FetchWindow, HousekeepingStatus, PmsGuest, PmsRoom, SyncEntity
from channels.models import Connection
from channels.providers.base import NotSupported, SyncError

from .models import PmsSyncLog
from .signals import pms_booking_synced, pms_sync_completed

logger = logging.getLogger(__name__)

ENTITY = {
    SyncEntity.BOOKINGS: PmsSyncLog.Entity.BOOKING,
    SyncEntity.ROOMS: PmsSyncLog.Entity.ROOM,
    SyncEntity.GUESTS: PmsSyncLog.Entity.GUEST,
}
ENTITY_NAME = {value: key for key, value in ENTITY.items()}
BLOCK_SOURCE = "pms"


class NotSyncable(ValueError):
    """The connection cannot sync this entity (the message says why)."""


def supported(connection: Connection, entity: SyncEntity) -> bool:
    return str(entity) in connection.get_provider().pms_entities


def start_sync(
    connection: Connection,
    entity: SyncEntity | str,
    *,
    operation: str = PmsSyncLog.Operation.MANUAL,
    since: datetime | None = None,
    limit: int | None = None,
    correlation_id: str = "",
) -> PmsSyncLog:
    """The run's log row, ``running``; ``NotSyncable`` when the provider cannot sync it."""
    entity = SyncEntity(entity)
    if not supported(connection, entity):
        raise NotSyncable(
            f"{connection.get_provider().label or connection.provider} does not support "
            f"syncing {entity}."
        )
    return PmsSyncLog.objects.create(
        connection=connection,
        entity=ENTITY[entity],
        operation=operation,
        since=since,
        limit=limit,
        correlation_id=correlation_id[:64],
    )


def run_sync(log_id: int) -> PmsSyncLog:
    """Do the run ``log_id`` describes and record its outcome (a finished run is left alone)."""
    log = PmsSyncLog.objects.select_related("connection__hotel").get(pk=log_id)
    if log.status != PmsSyncLog.Status.RUNNING or log.finished_at is not None:
        return log
    started = time.monotonic()
    connection = log.connection
    window = FetchWindow(since=log.since, limit=log.limit)
    summary: dict = {}
    try:
        entity = ENTITY_NAME[log.entity]
        provider = connection.get_provider()
        if entity == SyncEntity.BOOKINGS and provider.polls_changes and window.since:
            summary = import_changes(connection, provider, log)
        elif entity == SyncEntity.BOOKINGS:
            summary = import_reservations(connection, provider.fetch_reservations(window), log)
        elif entity == SyncEntity.ROOMS:
            summary = import_rooms(connection, provider.fetch_rooms(), log)
        else:
            summary = import_guests(connection, provider.fetch_guests(window), log)
        log.status = PmsSyncLog.Status.COMPLETED
    except (SyncError, NotSupported) as exc:
        log.status, log.error = PmsSyncLog.Status.FAILED, exc.message
    except Exception as exc:  # noqa: BLE001 - a bug must end the run visibly, not leave it running
        logger.exception("PMS sync %s failed", log.pk)
        log.status, log.error = PmsSyncLog.Status.FAILED, f"{type(exc).__name__}: {exc}"
    log.summary = summary
    log.duration_ms = int((time.monotonic() - started) * 1000)
    log.finished_at = timezone.now()
    log.save(
        update_fields=[
            "status", "error", "summary", "processed", "failed", "duration_ms", "finished_at",
        ]
    )  # fmt: skip
    pms_sync_completed.send(sender=PmsSyncLog, log=log)
    return log


def sync_now(connection: Connection, entity: SyncEntity | str, **kwargs) -> PmsSyncLog:
    """Start and run one sync here (a command, a test); the log row as it ended."""
    return run_sync(start_sync(connection, entity, **kwargs).pk)


def _limited(pages: Iterable[Sequence], limit: int | None) -> Iterable[Sequence]:
    taken = 0
    for page in pages:
        if limit is not None:
            page = list(page)[: max(limit - taken, 0)]
        if page:
            yield page
            taken += len(page)
        if limit is not None and taken >= limit:
            return


def _count(log: PmsSyncLog, processed: int, failed: int) -> None:
    log.processed += processed
    log.failed += failed
    # Seen from the admin while the run goes on.
    PmsSyncLog.objects.filter(pk=log.pk).update(processed=log.processed, failed=log.failed)


# ---------------------------------------------------------------------- bookings


def import_reservations(connection: Connection, pages, log: PmsSyncLog) -> dict:
    """Every page of reservations through the inbound pipeline, a page a batch."""
    outcome: dict[str, int] = {}
    for page in _limited(pages, log.limit):
        report = record_and_apply(connection, page, correlation_id=log.correlation_id)
        for status, count in report.outcome.items():
            outcome[status] = outcome.get(status, 0) + count
        done = report.outcome.get("applied", 0) + report.outcome.get("unchanged", 0)
        _count(log, done + report.outcome.get("superseded", 0), report.outcome.get("held", 0))
        if report.reservation_ids:
            pms_booking_synced.send(
                sender=PmsSyncLog, connection=connection, reservation_ids=report.reservation_ids
            )
    return outcome


#: Change batches one run reads at most (OPERA's are 20 events): the next run goes on.
MAX_CHANGE_BATCHES = 50


def import_changes(connection: Connection, provider, log: PmsSyncLog) -> dict:
    """An incremental read of a PMS with a change queue and no "changed since" (OPERA).

    Each batch taken off the queue is stored (``record_notices``) before
    anything else is done with it, since the PMS no longer holds it; then the
    reservations its notices name are read and go through the pipeline like a
    full read's. Notices stored by a run that failed before reading them are
    read first, so none is lost.
    """
    outcome: dict[str, int] = {"notices": 0}
    for _ in range(MAX_CHANGE_BATCHES):
        waiting = awaiting_details(connection)
        if waiting:
            ids = list(dict.fromkeys(m.partner_reservation_id for m in waiting))
            read = import_reservations(connection, provider.read_reservations(ids), log)
            for status, count in read.items():
                outcome[status] = outcome.get(status, 0) + count
            mark_notices_read(
                [m.pk for m in waiting], f"Its reservation was read by PMS sync #{log.pk}."
            )
        batch = provider.poll_changes()
        if not batch.notices:
            break
        record_notices(connection, batch.notices, correlation_id=log.correlation_id)
        outcome["notices"] += len(batch.notices)
    return outcome


# ---------------------------------------------------------------------- rooms


def import_rooms(connection: Connection, pages, log: PmsSyncLog) -> dict:
    summary = {"matched": 0, "unknown": [], "blocked": 0, "released": 0}
    for page in _limited(pages, log.limit):
        result = apply_rooms(connection, page)
        summary["matched"] += result["matched"]
        summary["unknown"] += result["unknown"]
        summary["blocked"] += result["blocked"]
        summary["released"] += result["released"]
        _count(log, result["matched"], len(result["unknown"]))
    summary["unknown"] = summary["unknown"][:100]
    return summary


def apply_rooms(connection: Connection, rooms: Sequence[PmsRoom]) -> dict:
    """Match ``rooms`` to the hotel's rooms by number and keep what the PMS says of them."""
    hotel = connection.hotel
    by_number = {
        room.number: room
        for room in Room.objects.filter(
            hotel=hotel, number__in=[r.number for r in rooms]
        ).select_related("room_type", "hotel")
    }
    now = timezone.now()
    changed, unknown, blocked, released = [], [], 0, 0
    for pms_room in rooms:
        room = by_number.get(pms_room.number)
        if room is None:
            unknown.append(pms_room.number)
            continue
        room.housekeeping_status = str(pms_room.housekeeping)
        room.occupancy = str(pms_room.occupancy)
        room.pms_id = pms_room.pms_id[:64]
        room.housekeeping_updated_at = now
        changed.append(room)
        if pms_room.out_of_order:
            start = pms_room.out_of_order_from or hotel.today()
            end = pms_room.out_of_order_to or start
            before = active_room_block(room)
            block = block_room(
                room, start, end, reason=pms_room.reason or "Out of order", source=BLOCK_SOURCE
            )
            blocked += before is None or before.pk != block.pk
        else:
            current = active_room_block(room)
            if current is not None and current.source == BLOCK_SOURCE:
                released += release_block(current, source=BLOCK_SOURCE)
    with transaction.atomic():
        Room.objects.bulk_update(
            changed, ["housekeeping_status", "occupancy", "pms_id", "housekeeping_updated_at"]
        )
    return {"matched": len(changed), "unknown": unknown, "blocked": blocked, "released": released}


def set_housekeeping(room: Room, status: HousekeepingStatus | str, connection: Connection) -> None:
    """Staff set a room's housekeeping state: in the PMS first (where it allows), then here.

    Raises ``NotSupported`` when the PMS takes no such change (nothing changes
    then) and ``SyncError`` when it refuses or cannot be reached.
    """
    status = HousekeepingStatus(status)
    if not room.pms_id:
        raise NotSupported(f"Room {room.number} is not matched to a PMS room yet: sync rooms.")
    connection.get_provider().set_housekeeping(room.pms_id, status)
    Room.objects.filter(pk=room.pk).update(
        housekeeping_status=str(status), housekeeping_updated_at=timezone.now()
    )


# ---------------------------------------------------------------------- guests


def _profile(guest: PmsGuest) -> GuestProfile:
    return GuestProfile(
        first_name=guest.given_name,
        last_name=guest.surname,
        email=guest.email,
        phone=guest.phone,
        country=guest.country,
        loyalty_tier=guest.loyalty_tier,
        total_stays=guest.total_stays,
        pms_id=guest.pms_id,
    )


def import_guests(connection: Connection, pages, log: PmsSyncLog) -> dict:
    summary = {"created": 0, "updated": 0, "unchanged": 0, "skipped": 0}
    for page in _limited(pages, log.limit):
        report = merge_guest_profiles(connection.hotel, [_profile(g) for g in page])
        for key in summary:
            summary[key] += getattr(report, key)
        _count(log, report.created + report.updated + report.unchanged, report.skipped)
    return summary
