"""channels/feeds.py: what a feed read whole says was removed, and what is a modification."""

from __future__ import annotations

from datetime import UTC, date, datetime

from channels.feeds import HeldItem, as_modifications, removals
from channels.interface import FeedSnapshot, InboundKind, InboundReservation, InboundRoomStay

TODAY = date(2027, 1, 10)
TAKEN = datetime(2027, 1, 10, 8, tzinfo=UTC)


def held(pid: str, room: str, check_in: date, check_out: date, block: bool = False) -> HeldItem:
    return HeldItem(pid, "r1", room, check_in, check_out, block)


HELD = {
    "gone": held("gone", "L1", date(2027, 1, 12), date(2027, 1, 14)),
    "kept": held("kept", "L1", date(2027, 1, 15), date(2027, 1, 16)),
    "ended": held("ended", "L1", date(2027, 1, 5), date(2027, 1, 10)),
    "in-house": held("in-house", "L1", date(2027, 1, 8), date(2027, 1, 12), block=True),
    "other-room": held("other-room", "L2", date(2027, 1, 12), date(2027, 1, 14)),
}


def test_what_a_feed_no_longer_lists_is_cancelled_but_ended_stays_are_left():
    snapshot = FeedSnapshot("L1", frozenset({"kept"}), TAKEN)
    found = {m.partner_reservation_id: m for m in removals(HELD, (snapshot,), today=TODAY)}
    assert set(found) == {"gone", "in-house"}
    assert found["gone"].kind == InboundKind.CANCEL and found["gone"].revision == "removed-after:r1"
    assert found["in-house"].block and found["gone"].revised_at == TAKEN
    assert removals(HELD, (), today=TODAY) == [], "no snapshot, no removals"


def test_entries_already_held_are_modifications():
    stay = InboundRoomStay("L1", "stay", date(2027, 1, 15), date(2027, 1, 17), 1)
    new = InboundReservation("new-one", "r1", InboundKind.NEW, rooms=(stay,))
    known = InboundReservation("kept", "r2", InboundKind.NEW, rooms=(stay,))
    kinds = [m.kind for m in as_modifications((new, known), HELD)]
    assert kinds == [InboundKind.NEW, InboundKind.MODIFY]
