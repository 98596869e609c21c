"""Room blocks: one room held back from sale for some nights, and given back.

A PMS reports a room out of order; :func:`block_room` takes one room of its
type out of the calendar for those nights (``InventoryDay.blocked`` + 1 on
each), records why, and writes an ``ari.changed`` event in the same
transaction, so every channel hears that there is one room fewer to sell.
:func:`release_block` gives the nights back. A night already sold out is not
blocked (the CHECK keeps sold + blocked <= total); it is listed in the
block's ``short_nights`` so staff can see it.

A room has at most one active block: blocking it again with other dates moves
the block (release, then block), the same dates change nothing.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .events import record_event
from .inventory import ensure_calendar
from .models import ChangeEvent, InventoryDay, Room, RoomBlock


def _nights(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def _ari_event(block: RoomBlock, source: str) -> None:
    record_event(
        block.hotel,
        ChangeEvent.Kind.ARI_CHANGED,
        {
            "start": block.start.isoformat(),
            "end": block.end.isoformat(),
            "weekdays": None,
            "room_types": [block.room_type.code],
            "rate_plans": [],
            "inventory_fields": {"blocked": f"room {block.room.number}"},
            "rate_fields": {},
        },
        source=source,
    )


def active_block(room: Room) -> RoomBlock | None:
    return RoomBlock.objects.filter(room=room, released_at__isnull=True).first()


def block_room(
    room: Room, start: date, end: date, *, reason: str = "", source: str = "pms"
) -> RoomBlock:
    """Block ``room`` for the nights ``start``..``end`` (inclusive); the active block is returned.

    Idempotent: the room's active block for the same nights is returned as it is.
    """
    if end < start:
        raise ValueError(f"A block ends before it starts: {start} > {end}.")
    current = active_block(room)
    if current is not None and (current.start, current.end) == (start, end):
        if reason and current.reason != reason:
            RoomBlock.objects.filter(pk=current.pk).update(reason=reason[:200])
            current.reason = reason[:200]
        return current
    hotel = room.hotel
    ensure_calendar(hotel, start, end)
    with transaction.atomic():
        if current is not None:
            release_block(current, source=source)
        rows = list(
            InventoryDay.objects.select_for_update()
            .filter(room_type_id=room.room_type_id, date__gte=start, date__lte=end)
            .order_by("date")
        )
        free = [row.date for row in rows if row.total - row.sold - row.blocked >= 1]
        short = sorted(set(_nights(start, end)) - set(free))
        InventoryDay.objects.filter(room_type_id=room.room_type_id, date__in=free).update(
            blocked=F("blocked") + 1
        )
        block = RoomBlock.objects.create(
            hotel=hotel,
            room=room,
            room_type_id=room.room_type_id,
            start=start,
            end=end,
            reason=reason[:200],
            source=source[:32],
            nights=[d.isoformat() for d in free],
            short_nights=[d.isoformat() for d in short],
        )
        _ari_event(block, source)
    return block


def release_block(block: RoomBlock, *, source: str = "pms") -> bool:
    """Give the block's nights back; False when it was released already."""
    with transaction.atomic():
        locked = RoomBlock.objects.select_for_update().select_related("hotel", "room", "room_type")
        block = locked.get(pk=block.pk)
        if block.released_at is not None:
            return False
        nights = [date.fromisoformat(d) for d in block.nights]
        list(
            InventoryDay.objects.select_for_update()
            .filter(room_type_id=block.room_type_id, date__in=nights)
            .order_by("date")
            .values_list("id", flat=True)
        )
        InventoryDay.objects.filter(
            room_type_id=block.room_type_id, date__in=nights, blocked__gte=1
        ).update(blocked=F("blocked") - 1)
        block.released_at = timezone.now()
        block.save(update_fields=["released_at"])
        _ari_event(block, source)
    return True


def release_room(room: Room, *, source: str = "pms") -> bool:
    """Release the room's active block, if it has one."""
    current = active_block(room)
    return release_block(current, source=source) if current else False
