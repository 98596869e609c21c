"""Front-desk changes that are the hotel's own: which room a guest sleeps in, and staff notes.

They move no inventory (a room type's count is the same whichever of its rooms
is given) and no partner owns them, so every reservation takes them, an OTA's
too, and they write no change event: the channels have nothing to hear.
``room_board`` draws the rooms against the coming days, for assigning them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db import transaction

from .errors import InvalidStay
from .models import Reservation, ReservationRoom, Room


def assign_room(stay: ReservationRoom, room: Room | None) -> ReservationRoom:
    """Give a reserved room stay a physical room (None: unassign).

    Refused (``InvalidStay``, code ``room_unavailable``) for a room of another
    type, an inactive room, or one another confirmed stay holds on any of
    these nights.
    """
    if room is None or room.pk == stay.room_id:
        if room is None and stay.room_id is not None:
            ReservationRoom.objects.filter(pk=stay.pk).update(room=None)
            stay.room = None
        return stay
    reservation = stay.reservation
    if room.room_type_id != stay.room_type_id or not room.is_active:
        raise InvalidStay(
            f"Room {room.number} is not an active {stay.room_type.code} room.",
            code="room_unavailable",
        )
    with transaction.atomic():
        # Two assignments of one room queue here, so they cannot both pass the check.
        Room.objects.select_for_update().filter(pk=room.pk).first()
        taken = (
            ReservationRoom.objects.filter(
                room=room,
                reservation__status__in=Reservation.HOLDING,
                reservation__check_in__lt=reservation.check_out,
                reservation__check_out__gt=reservation.check_in,
            )
            .exclude(pk=stay.pk)
            .select_related("reservation")
            .first()
        )
        if taken:
            raise InvalidStay(
                f"Room {room.number} is taken by {taken.reservation.confirmation_number} "
                f"({taken.reservation.check_in:%d %b} to {taken.reservation.check_out:%d %b}).",
                code="room_unavailable",
            )
        ReservationRoom.objects.filter(pk=stay.pk).update(room=room)
    stay.room = room
    return stay


def set_staff_notes(reservation: Reservation, notes: str) -> None:
    """Staff's own notes on a reservation, never sent to a partner."""
    if notes != reservation.staff_notes:
        Reservation.objects.filter(pk=reservation.pk).update(staff_notes=notes)
        reservation.staff_notes = notes


@dataclass
class BoardBar:
    """A reserved room stay drawn across the board's days (clipped to the window)."""

    stay_id: int
    reservation_id: int
    confirmation_number: str
    guest: str
    check_in: date
    check_out: date
    first_column: int
    span: int
    overbooked: bool


@dataclass
class BoardRow:
    room: Room
    bars: list[BoardBar] = field(default_factory=list)

    def columns(self, days: int) -> list[tuple[int, BoardBar | None]]:
        """(span, bar or None) across the window: empty days are one column each."""
        out: list[tuple[int, BoardBar | None]] = []
        column, bars = 0, iter(sorted(self.bars, key=lambda b: b.first_column))
        bar = next(bars, None)
        while column < days:
            while bar is not None and bar.first_column < column:
                bar = next(bars, None)  # overlapping stays: the first one drawn wins
            if bar is not None and bar.first_column == column:
                out.append((bar.span, bar))
                column += bar.span
                bar = next(bars, None)
            else:
                out.append((1, None))
                column += 1
        return out


@dataclass
class UnassignedStay:
    stay: ReservationRoom
    free_rooms: list[Room]


@dataclass
class RoomBoard:
    hotel_id: int
    start: date
    dates: list[date]
    rows: list[BoardRow]
    unassigned: list[UnassignedStay]


def room_board(hotel, start: date, days: int = 14) -> RoomBoard:
    """Rooms × days with the confirmed stays on them, and the stays still without a room.

    Two queries: the active rooms with their types, and the confirmed stays that
    overlap the window with their reservations and guests.
    """
    dates = [start + timedelta(days=i) for i in range(days)]
    end = start + timedelta(days=days)
    rooms = list(
        Room.objects.filter(hotel=hotel, is_active=True)
        .select_related("room_type")
        .order_by("room_type__sort_order", "room_type__code", "number")
    )
    stays = list(
        ReservationRoom.objects.filter(
            reservation__hotel=hotel,
            reservation__status__in=Reservation.HOLDING,
            reservation__check_in__lt=end,
            reservation__check_out__gt=start,
        )
        .select_related("reservation__guest", "room_type")
        .order_by("reservation__check_in", "id")
    )
    rows = {room.id: BoardRow(room) for room in rooms}
    busy: dict[int, list[tuple[date, date]]] = {}
    unassigned = []
    for stay in stays:
        reservation = stay.reservation
        if stay.room_id is None or stay.room_id not in rows:
            unassigned.append(stay)
            continue
        busy.setdefault(stay.room_id, []).append((reservation.check_in, reservation.check_out))
        first = max(reservation.check_in, start)
        last = min(reservation.check_out, end)
        rows[stay.room_id].bars.append(
            BoardBar(
                stay.id,
                reservation.id,
                reservation.confirmation_number,
                str(reservation.guest),
                reservation.check_in,
                reservation.check_out,
                (first - start).days,
                max((last - first).days, 1),
                reservation.is_overbooked,
            )  # fmt: skip
        )
    waiting = []
    for stay in unassigned:
        r = stay.reservation
        free = [
            room
            for room in rooms
            if room.room_type_id == stay.room_type_id
            and not any(a < r.check_out and r.check_in < b for a, b in busy.get(room.id, []))
        ]
        waiting.append(UnassignedStay(stay, free))
    return RoomBoard(hotel.id, start, dates, list(rows.values()), waiting)
