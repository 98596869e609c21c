"""Feeds: partners whose pull reads everything they hold, not what changed (iCalendar).

A feed lists the reservations and blocks of a partner room as they stand. The
provider parses it into plain inbound messages, one per entry, each revision
identified by the entry's own (``UID`` with ``SEQUENCE`` or ``LAST-MODIFIED``
and its content), and hands the engine a :class:`FeedSnapshot` per feed read
whole. The engine works out the rest, the same way for every feed partner:

- an entry of a reservation the connection already holds is a modification
  (:func:`as_modifications`);
- a reservation or block the connection holds for that room, whose stay has
  not ended and which the feed no longer lists, was removed at the partner:
  it becomes a cancellation (:func:`removals`), with a revision derived from
  the last applied one, so reading the same feed again adds nothing. Ended
  stays are left alone, since feeds drop them as time passes.

What is "held" is read from the applied ``InboundMessage`` rows (the pipeline's
own record), so a partner-API transport that sends explicit changes later
needs none of this: it simply returns no snapshots.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from .inbound import KIND_ORDER
from .interface import FeedSnapshot, InboundKind, InboundReservation, InboundRoomStay
from .models import Connection, InboundMessage


@dataclass(frozen=True)
class HeldItem:
    """A partner reservation or block the connection holds, from its latest applied message."""

    partner_reservation_id: str
    revision: str
    partner_room_id: str
    check_in: date
    check_out: date
    block: bool


def held_items(connection: Connection) -> dict[str, HeldItem]:
    """The live (not cancelled) partner reservations and blocks of ``connection``, by id."""
    latest: dict[str, tuple] = {}
    rows = InboundMessage.objects.filter(
        connection=connection, status=InboundMessage.Status.APPLIED
    ).values_list("partner_reservation_id", "revision", "kind", "revised_at", "id", "payload")
    for partner_id, revision, kind, revised_at, pk, payload in rows:
        key = (revised_at, KIND_ORDER.get(kind, 0), pk)
        if partner_id not in latest or key > latest[partner_id][0]:
            latest[partner_id] = (key, revision, kind, payload)
    held = {}
    for partner_id, (_key, revision, kind, payload) in latest.items():
        rooms = (payload or {}).get("rooms") or []
        if kind == InboundKind.CANCEL or not rooms:
            continue
        try:
            check_in = date.fromisoformat(rooms[0]["check_in"])
            check_out = date.fromisoformat(rooms[0]["check_out"])
        except (KeyError, TypeError, ValueError):
            continue
        held[partner_id] = HeldItem(
            partner_reservation_id=partner_id,
            revision=revision,
            partner_room_id=str(rooms[0].get("partner_room_id", "")),
            check_in=check_in,
            check_out=check_out,
            block=payload.get("block") is True,
        )
    return held


def as_modifications(
    messages: tuple[InboundReservation, ...], held: dict[str, HeldItem]
) -> list[InboundReservation]:
    """Feed entries of reservations already held are modifications, the others new."""
    return [
        replace(m, kind=InboundKind.MODIFY)
        if m.kind == InboundKind.NEW and m.partner_reservation_id in held
        else m
        for m in messages
    ]


def removals(
    held: dict[str, HeldItem], snapshots: tuple[FeedSnapshot, ...], *, today: date
) -> list[InboundReservation]:
    """Cancellations of what the feeds read whole no longer list (ended stays excepted)."""
    out = []
    for snapshot in snapshots:
        for item in held.values():
            if (
                item.partner_room_id != snapshot.partner_room_id
                or item.partner_reservation_id in snapshot.partner_reservation_ids
                or item.check_out <= today
            ):
                continue
            out.append(
                InboundReservation(
                    partner_reservation_id=item.partner_reservation_id,
                    revision=f"removed-after:{item.revision}"[:128],
                    kind=InboundKind.CANCEL,
                    rooms=(
                        InboundRoomStay(
                            partner_room_id=item.partner_room_id,
                            partner_rate_id="",
                            check_in=item.check_in,
                            check_out=item.check_out,
                            adults=0,
                        ),
                    ),
                    revised_at=snapshot.taken_at,
                    block=item.block,
                    raw=(
                        f"{item.partner_reservation_id} is no longer in the feed of "
                        f"{snapshot.partner_room_id} read at {snapshot.taken_at.isoformat()}."
                    ).encode(),
                )
            )
    return out
