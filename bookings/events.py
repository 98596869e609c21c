"""Writing the change-event log: always inside the transaction of the change."""

from __future__ import annotations

from django.db import connection, transaction
from django.db.models.signals import post_save

from pema.sql import insert_rows

from .cancellation import policy_of
from .models import ChangeEvent, Hotel, Reservation, ReservationRoom


def record_event(
    hotel: Hotel,
    kind: str,
    payload: dict,
    *,
    reservation: Reservation | None = None,
    source: str = "",
) -> ChangeEvent:
    """Append one event; must be called inside the transaction that made the change."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Change events are written in the transaction of their change.")
    event = ChangeEvent(
        hotel=hotel, kind=kind, payload=payload, reservation=reservation, source=source
    )
    # One hand-written INSERT instead of the ORM's save machinery (every booking
    # and ARI change writes one of these); the receivers still hear of it.
    insert_rows([event])
    post_save.send(
        sender=ChangeEvent,
        instance=event,
        created=True,
        raw=False,
        using=connection.alias,
        update_fields=None,
    )
    return event


def reservation_snapshot(
    reservation: Reservation, stays: list[ReservationRoom] | None = None
) -> dict:
    """What integrations need to know of a reservation, as plain JSON.

    ``stays``: the reservation's room stays in id order with their room type and
    rate plan, when the caller has just written them (read here otherwise).
    """
    if stays is None:
        # By id, as the model's ordering (reservation, id) has it for one reservation,
        # without the joins that ordering by the reservation brings.
        stays = list(reservation.rooms.select_related("room_type", "rate_plan").order_by("id"))
    first = stays[0] if stays else None
    return {
        "confirmation_number": reservation.confirmation_number,
        "status": reservation.status,
        "version": reservation.version,
        "check_in": reservation.check_in.isoformat(),
        "check_out": reservation.check_out.isoformat(),
        "room_type": first.room_type.code if first else "",
        "rate_plan": first.rate_plan.code if first else "",
        # Every room type the stays take, in stay order: a multi-room booking may mix them.
        "room_types": list(dict.fromkeys(stay.room_type.code for stay in stays)),
        "rooms": len(stays),
        "adults": reservation.adults,
        "children": reservation.children,
        "total_amount": reservation.total_amount,
        "currency": reservation.currency,
        "source": reservation.source,
        "is_overbooked": reservation.is_overbooked,
        "cancellation_policy": (
            policy_of(first.rate_plan, reservation.check_in) if first else None
        ),
        "cancellation_fee": reservation.cancellation_fee,
    }
