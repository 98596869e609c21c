"""Front-desk changes that are the hotel's own: which room a guest sleeps in, and staff notes.

They move no inventory (a room type's count is the same whichever of its rooms
is given) and no partner owns them, so every reservation takes them, an OTA's
too, and they write no change event: the channels have nothing to hear.
"""

from __future__ import annotations

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
                reservation__status=Reservation.Status.CONFIRMED,
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
