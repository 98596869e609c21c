"""Blocks: rooms of one type held back from sale for some nights (``RoomBlock``).

A block takes one room a night through ``InventoryDay.blocked``, in one
transaction that locks the nights in date order (as a booking does) and
writes an ``ARI_CHANGED`` event, so every channel hears that fewer rooms are
left. A night with no room free is not refused: the block is kept, the night
is listed in ``short_nights`` and not counted, since the calendar never holds
more rooms sold and blocked than it has. Releasing a block gives back exactly
the nights it holds.

A partner's block (an iCalendar feed's "not available" range) is found again
by the partner's id (:func:`active_block`); placing, moving and releasing are
the same calls the inbound pipeline and staff make.

A PMS names the room it takes out of order: :func:`block_room` blocks one room
of its type for the PMS's dates (first to last night, as a PMS gives them) and
keeps the room on the block; a room has at most one active block, so blocking
it again for other dates moves the block, and the same dates change nothing.
:func:`release_room` gives it back when the PMS clears the room.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .errors import InvalidStay
from .events import record_event
from .inventory import ensure_calendar
from .models import ChangeEvent, Hotel, InventoryDay, Room, RoomBlock, RoomType


def _nights(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days)]


def _event(block: RoomBlock, start: date, end: date, source: str) -> None:
    record_event(
        block.hotel,
        ChangeEvent.Kind.ARI_CHANGED,
        {
            "start": start.isoformat(),
            "end": (end - timedelta(days=1)).isoformat(),
            "weekdays": None,
            "room_types": [block.room_type.code],
            "rate_plans": [],
            "inventory_fields": {"blocked": block.pk},
            "rate_fields": {},
        },
        source=source,
    )


def _hold(block: RoomBlock) -> None:
    """Count the block's nights into the calendar, as far as rooms are free (lock held)."""
    wanted = _nights(block.start, block.end)
    rows = (
        InventoryDay.objects.select_for_update()
        .filter(room_type_id=block.room_type_id, date__in=wanted)
        .order_by("date")
        .values_list("date", "total", "sold", "blocked")
    )
    free = {day for day, total, sold, blocked in rows if total - sold - blocked > 0}
    held = [night for night in wanted if night in free]
    if held:
        InventoryDay.objects.filter(room_type_id=block.room_type_id, date__in=held).update(
            blocked=F("blocked") + 1
        )
    block.nights = [night.isoformat() for night in held]
    block.short_nights = [night.isoformat() for night in wanted if night not in free]


def _give_back(block: RoomBlock) -> None:
    held = sorted(date.fromisoformat(night) for night in block.nights)
    if held:
        rows = InventoryDay.objects.select_for_update().filter(
            room_type_id=block.room_type_id, date__in=held, blocked__gt=0
        )
        list(rows.order_by("date").values_list("id", flat=True))
        rows.update(blocked=F("blocked") - 1)
    block.nights = []


def _check(hotel: Hotel, room_type: RoomType, start: date, end: date) -> None:
    if end <= start:
        raise InvalidStay("A block ends after it starts.", code="invalid_range")
    if room_type.hotel_id != hotel.id:
        raise InvalidStay("Block a room type of the hotel.", code="wrong_hotel")


def place_block(
    *,
    hotel: Hotel,
    room_type: RoomType,
    start: date,
    end: date,
    source: str,
    source_channel: str = "",
    external_id: str = "",
    reason: str = "",
    room: Room | None = None,
) -> RoomBlock:
    """Block one room of ``room_type`` for the nights ``start``..``end`` (end exclusive)."""
    _check(hotel, room_type, start, end)
    ensure_calendar(hotel, start, end - timedelta(days=1))
    with transaction.atomic():
        block = RoomBlock(
            hotel=hotel,
            room_type=room_type,
            room=room,
            start=start,
            end=end,
            source=source,
            source_channel=source_channel,
            external_id=external_id[:64],
            reason=reason,
        )
        _hold(block)
        block.save()
        _event(block, start, end, source)
    return block


def move_block(
    block: RoomBlock, *, room_type: RoomType, start: date, end: date, source: str, reason: str = ""
) -> RoomBlock:
    """The block now holds ``start``..``end`` of ``room_type``: old nights freed, new held."""
    _check(block.hotel, room_type, start, end)
    ensure_calendar(block.hotel, start, end - timedelta(days=1))
    with transaction.atomic():
        block = (
            RoomBlock.objects.select_for_update()
            .select_related("hotel", "room_type")
            .get(pk=block.pk)
        )
        if block.released_at is not None:
            raise InvalidStay("The block was released.", code="block_released")
        old = (block.start, block.end, block.room_type)
        if block.room_id and block.room.room_type_id != room_type.pk:
            block.room = None  # the named room is not of the type the block moves to
        _give_back(block)
        block.room_type, block.start, block.end = room_type, start, end
        block.reason = reason or block.reason
        _hold(block)
        block.save()
        _event(block, min(old[0], start), max(old[1], end), source)
        if old[2].pk != room_type.pk:
            moved_from = RoomBlock(pk=block.pk, hotel=block.hotel, room_type=old[2])
            _event(moved_from, old[0], old[1], source)
    return block


def release_block(block: RoomBlock, *, source: str) -> bool:
    """Free the block's nights; False when it was released already."""
    with transaction.atomic():
        block = (
            RoomBlock.objects.select_for_update()
            .select_related("hotel", "room_type")
            .get(pk=block.pk)
        )
        if block.released_at is not None:
            return False
        _give_back(block)
        block.released_at = timezone.now()
        block.save(update_fields=["nights", "released_at", "updated_at"])
        _event(block, block.start, block.end, source)
    return True


def active_block(hotel: Hotel, source_channel: str, external_id: str) -> RoomBlock | None:
    """The unreleased block a partner placed under its own id, if any."""
    return (
        RoomBlock.objects.filter(
            hotel=hotel,
            source_channel=source_channel,
            external_id=external_id[:64],
            released_at__isnull=True,
        )
        .select_related("hotel", "room_type")
        .order_by("-id")
        .first()
    )


def active_room_block(room: Room) -> RoomBlock | None:
    """The room's unreleased block, if it has one."""
    return (
        RoomBlock.objects.filter(room=room, released_at__isnull=True)
        .select_related("hotel", "room_type", "room")
        .first()
    )


def block_room(
    room: Room, start: date, last_night: date, *, reason: str = "", source: str = "pms"
) -> RoomBlock:
    """Block ``room`` for the nights ``start``..``last_night`` (inclusive, as a PMS gives
    out-of-order dates); the room's active block is returned.

    Idempotent: the active block for the same nights is returned as it is (its reason
    updated); other dates move it.
    """
    if last_night < start:
        raise InvalidStay(
            f"A block ends before it starts: {start} > {last_night}.", code="invalid_range"
        )
    end = last_night + timedelta(days=1)
    current = active_room_block(room)
    if current is not None and (current.start, current.end) == (start, end):
        if reason and current.reason != reason:
            RoomBlock.objects.filter(pk=current.pk).update(reason=reason)
            current.reason = reason
        return current
    if current is not None:
        return move_block(
            current, room_type=room.room_type, start=start, end=end, source=source, reason=reason
        )
    return place_block(
        hotel=room.hotel,
        room_type=room.room_type,
        room=room,
        start=start,
        end=end,
        source=source,
        reason=reason,
    )


def release_room(room: Room, *, source: str = "pms") -> bool:
    """Release the room's active block, if it has one."""
    current = active_room_block(room)
    return release_block(current, source=source) if current else False
