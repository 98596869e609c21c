"""Booking.com end to end: the sandbox process (Booking.com and IDS Next), real Celery workers,
the real database.

Reservations are made at the simulator through its control API and pulled by
the worker as the beat would have it pull (every few seconds: the
connection's ``pull_interval_seconds``, lowered from Booking's 20 s for the
test). What Pema holds is checked against what the simulator holds.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from bookings.models import ChangeEvent, Reservation
from channels.models import InboundMessage
from tests.factories import sellable_hotel

from .booking import (
    CANCELLED,
    PARTNER,
    PLAN,
    UNMAPPED_ROOM,
    PullBeat,
    acknowledged,
    api_book,
    available,
    connect_booking,
    nights_of,
    outbox_settled,
    pull,
    reservations,
    rooms_to_sell,
    taken,
)
from .conftest import connect, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

Status = InboundMessage.Status
#: The bound the issue sets: a change reaches the other channels within 5 s.
ECHO_SECONDS = 5


@pytest.fixture
def fast_retries(settings):
    settings.CHANNELS_RETRY_BASE_SECONDS = 0.2
    settings.CHANNELS_RETRY_MAX_SECONDS = 1
    settings.IDS_AVAILABILITY_CACHE_SECONDS = 0


@pytest.fixture
def pema(transactional_db, sandbox, fast_retries):
    """The hotel: two room types of twelve rooms and a suite of one, 60 days on sale."""
    return sellable_hotel(code="PEMA", rooms={"EXT": 12, "EXQ": 12, "SUI": 1}, days=60)


def message_of(conn, booking_id: str) -> InboundMessage | None:
    return (
        InboundMessage.objects.filter(connection=conn, partner_reservation_id=booking_id)
        .order_by("-id")
        .first()
    )


def applied(conn, booking_id: str) -> InboundMessage | None:
    message = message_of(conn, booking_id)
    return message if message and message.status == Status.APPLIED else None


# ---------------------------------------------------------------------- echo within 5 s


def test_a_local_booking_reaches_booking_com_as_booking_limit_within_5_s(
    pema, sandbox, start_worker
):
    conn = connect_booking(pema, sandbox)
    start_worker()
    start = pema.today() + timedelta(days=4)
    before = available(pema, "EXQ", start, 2)

    booked = api_book(pema, "EXQ", start)

    assert available(pema, "EXQ", start, 2) == [n - 1 for n in before]
    # From the booking's commit: the worker dispatches, coalesces and sends the
    # rooms left (net of every reservation) to Booking.com.
    wait_for(
        lambda: rooms_to_sell(sandbox, "EXQ", start, 2) == [n - 1 for n in before],
        timeout=ECHO_SECONDS,
        what="BookingLimit at Booking.com",
    )
    assert Reservation.objects.get(confirmation_number=booked["confirmation_number"])
    wait_for(lambda: outbox_settled(conn), what="the job marked done")


def test_a_booking_com_booking_reaches_ids_next_within_5_s(pema, sandbox, start_worker):
    ids = connect(pema, sandbox, last_full_sync_at=timezone.now())
    conn = connect_booking(pema, sandbox)
    # Two workers, as production runs several: one pulls while another echoes.
    start_worker()
    start_worker()
    start = pema.today() + timedelta(days=6)
    made = sandbox.control(
        PARTNER,
        "new",
        {"room_id": "EXT", "rate_id": PLAN, "check_in": start.isoformat(), "nights": 3},
    )

    pull(conn)
    message = wait_for(lambda: applied(conn, made["id"]), timeout=60, what="the pull")
    reservation = message.reservation

    # From the local commit, IDS Next holds the booking: its own count of the rooms.
    def at_ids():
        return [
            r
            for r in sandbox.state()["reservations"]
            if r.get("confirmation_number") == reservation.confirmation_number
        ]

    [remote] = wait_for(at_ids, timeout=ECHO_SECONDS, what="the reservation at IDS Next")
    assert remote["room_type"] == "EXT"
    assert (remote["arrival"], remote["departure"]) == (
        start.isoformat(),
        (start + timedelta(days=3)).isoformat(),
    )
    assert remote["total"] == reservation.total_amount
    # And Booking.com heard back the rooms it has left, and took the acknowledgement.
    wait_for(lambda: acknowledged(reservations(sandbox)[made["id"]]), what="the ack")
    assert ids.enabled


# ---------------------------------------------------------------------- crash before the ack


def test_a_worker_killed_between_commit_and_ack_makes_the_redelivery_a_no_op(
    pema, sandbox, start_worker
):
    conn = connect_booking(pema, sandbox)
    worker = start_worker()
    start = pema.today() + timedelta(days=8)
    made = sandbox.control(
        PARTNER,
        "new",
        {"room_id": "EXQ", "rate_id": PLAN, "check_in": start.isoformat(), "nights": 2},
    )
    # Booking.com reads, but its acknowledgements (POSTs) hang: once the booking is
    # committed, the worker is inside the ack, which cannot have arrived.
    sandbox.partner_faults(PARTNER, slow_ms=120_000, methods=["POST"])

    pull(conn)
    wait_for(lambda: applied(conn, made["id"]), timeout=60, what="the local commit")
    worker.kill()  # SIGKILL
    worker.wait(timeout=10)

    record = reservations(sandbox)[made["id"]]
    assert record["queued"] and record["acked_version"] is None  # never acknowledged
    reservation = Reservation.objects.get(external_id=made["id"])
    sold_before = available(pema, "EXQ", start, 2)

    sandbox.partner_faults(PARTNER, slow_ms=0, methods=[])
    start_worker()
    # Booking sends the unacknowledged booking again on the next pulls.
    with PullBeat(conn):
        wait_for(
            lambda: acknowledged(reservations(sandbox)[made["id"]]),
            timeout=90,
            what="the ack after the restart",
        )

    record = reservations(sandbox)[made["id"]]
    assert record["retrievals"] >= 2
    message = message_of(conn, made["id"])
    assert message.deliveries >= 2 and message.status == Status.APPLIED
    assert InboundMessage.objects.filter(partner_reservation_id=made["id"]).count() == 1
    assert Reservation.objects.filter(external_id=made["id"]).count() == 1
    reservation.refresh_from_db()
    assert reservation.version == 1
    assert ChangeEvent.objects.filter(reservation=reservation).count() == 1
    assert available(pema, "EXQ", start, 2) == sold_before


# ---------------------------------------------------------------------- fifty reservations


def spec(room: str, start, nights: int, **extra) -> dict:
    return {
        "room_id": room,
        "rate_id": PLAN,
        "check_in": start.isoformat(),
        "nights": nights,
        **extra,
    }


def test_fifty_reservations_pulled_applied_and_acknowledged_through_an_outage(
    pema, sandbox, start_worker
):
    conn = connect_booking(pema, sandbox, full_sync=True)
    start_worker()
    start_worker()
    today = pema.today()
    suite_night = today + timedelta(days=20)
    # The first full sync gives Booking.com its rooms to sell.
    wait_for(
        lambda: rooms_to_sell(sandbox, "SUI", suite_night, 2) == [1, 1],
        timeout=120,
        what="the first full sync",
    )

    made: dict[str, str] = {}  # booking id -> what kind of reservation

    def create(command: str, payload: dict, kind: str) -> str:
        record = sandbox.control(PARTNER, command, payload)
        made[record["id"]] = kind
        return record["id"]

    # 45 before the outage: single rooms, multi-room of one kind, mixed rooms,
    # one past the suite's availability, one for a room Booking has and Pema does not map.
    for n in range(36):
        room = ("EXT", "EXQ")[n % 2]
        create("new", spec(room, today + timedelta(days=2 + n % 28), 1 + n % 3), "single")
    for n in range(4):
        create(
            "multi_room",
            {**spec("EXT", today + timedelta(days=3 + n * 5), 2), "count": 2},
            "multi",
        )
    mixed = [
        create(
            "multi_room",
            {
                "rooms": [
                    spec("EXT", today + timedelta(days=5 + n * 7), 2),
                    spec("EXQ", today + timedelta(days=5 + n * 7), 2, adults=1),
                ]
            },
            "mixed",
        )
        for n in range(3)
    ]
    overbooked_id = create("past_availability", spec("SUI", suite_night, 2), "past_availability")
    unmapped_id = create("unmapped", spec(UNMAPPED_ROOM, today + timedelta(days=9), 1), "unmapped")
    mapped = [rid for rid in made if rid != unmapped_id]

    with PullBeat(conn):
        wait_for(
            lambda: all(acknowledged(reservations(sandbox)[rid]) for rid in mapped),
            timeout=180,
            what="45 reservations acknowledged",
        )

        # Booking.com is unreachable for 60 s, while guests go on booking and changing.
        down_at = time.monotonic()
        sandbox.partner_faults(PARTNER, down=True)
        singles = [rid for rid, kind in made.items() if kind == "single"]
        modified = {
            singles[0]: {"check_in": (today + timedelta(days=40)).isoformat(), "nights": 3},
            singles[1]: {"nights": 4, "price": 777_700},
            singles[2]: {"room_id": "EXQ"},  # an EXT booking moves to EXQ
            mixed[0]: {"room_id": "EXQ"},  # the mixed booking's first room changes type
            [r for r, k in made.items() if k == "multi"][0]: {"adults": 1},
        }
        for rid, change in modified.items():
            sandbox.control(PARTNER, "modify", {"reservation_id": rid, **change})
        cancelled = [singles[3], singles[4], singles[5], mixed[1]]
        for rid in cancelled:
            sandbox.control(PARTNER, "cancel", {"reservation_id": rid})
        for n in range(5):
            room = ("EXQ", "EXT")[n % 2]
            create("new", spec(room, today + timedelta(days=30 + n), 2), "during the outage")
        local = [
            Reservation.objects.get(
                confirmation_number=api_book(pema, code, today + timedelta(days=12))[
                    "confirmation_number"
                ]
            )
            for code in ("EXT", "EXQ")
        ]
        time.sleep(max(0.0, 60 - (time.monotonic() - down_at)))
        sandbox.partner_faults(PARTNER, down=False)

        mapped = [rid for rid in made if rid != unmapped_id]
        assert len(made) == 50
        wait_for(
            lambda: all(acknowledged(reservations(sandbox)[rid]) for rid in mapped),
            timeout=240,
            what="every mapped reservation acknowledged after the outage",
        )

    records = reservations(sandbox)

    # Every mapped reservation is one local reservation, as Booking.com has it now.
    for rid in mapped:
        record = records[rid]
        [reservation] = Reservation.objects.filter(
            hotel=pema, source_channel="booking_com", external_id=rid
        )
        if record["status"] in CANCELLED:
            assert reservation.status == Reservation.Status.CANCELLED, rid
            continue
        stays = [
            (stay.room_type.code, [(n.date.isoformat(), n.price) for n in stay.nights.all()])
            for stay in reservation.rooms.order_by("id")
        ]
        wanted = [(room["room_id"], [tuple(n) for n in room["nights"]]) for room in record["rooms"]]
        assert sorted(stays) == sorted(wanted), rid
        assert reservation.total_amount == sum(
            p for room in record["rooms"] for _, p in room["nights"]
        )
    # Nothing applied twice: one version per change Booking.com made.
    for rid in mapped:
        reservation = Reservation.objects.get(external_id=rid)
        changes = (rid in modified) + (rid in cancelled)
        assert reservation.version == 1 + changes, rid
        assert reservation.events.filter(kind=ChangeEvent.Kind.RESERVATION_CREATED).count() == 1

    # A mixed booking is one reservation of two room types, each its own calendar.
    kept_mixed = Reservation.objects.get(external_id=mixed[2])
    assert [s.room_type.code for s in kept_mixed.rooms.order_by("id")] == ["EXT", "EXQ"]

    # Inventory is exact: what Booking.com's live reservations and the website's take.
    assert taken(pema) == nights_of([records[rid] for rid in mapped], local)

    # The booking past the suite's availability is taken, flagged, and shown to staff.
    overbooked = Reservation.objects.get(external_id=overbooked_id)
    assert overbooked.is_overbooked and overbooked.rooms.count() == 2
    assert [r.external_id for r in Reservation.objects.filter(is_overbooked=True)] == [
        overbooked_id
    ]
    staff = get_user_model().objects.create_superuser("staff", "staff@example.com", "pw-12345!")
    browser = Client()
    browser.force_login(staff)
    page = browser.get("/admin/bookings/reservation/?is_overbooked__exact=1").content.decode()
    assert overbooked.confirmation_number in page and "OVERBOOKED" in page

    # The unmapped one is held with its reason, and Booking.com still has it unacknowledged.
    held = message_of(conn, unmapped_id)
    assert held.status == Status.HELD and held.error_code == "unmapped_room"
    assert UNMAPPED_ROOM in held.error
    assert held.ack_result == InboundMessage.AckResult.NONE and held.acked_at is None
    assert records[unmapped_id]["queued"] and records[unmapped_id]["acked_version"] is None
    assert not Reservation.objects.filter(external_id=unmapped_id).exists()

    # Booking.com's rooms to sell are Pema's, net of every reservation, once the outbox settles.
    def partner_matches() -> bool:
        for code in ("EXT", "EXQ", "SUI"):
            mine = available(pema, code, today + timedelta(days=1), 45)
            if rooms_to_sell(sandbox, code, today + timedelta(days=1), 45) != mine:
                return False
        return True

    wait_for(partner_matches, timeout=120, what="Booking.com's rooms to sell")
    assert (
        Counter(m.status for m in InboundMessage.objects.filter(connection=conn))[Status.FAILED]
        == 0
    )
