"""Airbnb's feeds read into Pema: bookings, changes, removals and blocks, through the pipeline.

The simulator serves the feeds over HTTP in a thread; the pull runs here, as
the beat's task would run it in a worker.
"""

from __future__ import annotations

import pytest

from bookings.models import InventoryDay, Reservation
from bookings.reservations import GuestDetails, RoomRequest, reserve_rooms
from channels.health import connection_health
from channels.models import Connection, InboundMessage
from channels.pull import pull_connection

from .conftest import LISTING, night

pytestmark = pytest.mark.django_db(transaction=True)
Status = InboundMessage.Status


def book_at_airbnb(simulator, hotel, offset: int, nights: int = 2, **extra) -> dict:
    return simulator.control(
        "airbnb",
        "book",
        {
            "listing": LISTING,
            "check_in": night(hotel, offset).isoformat(),
            "nights": nights,
            **extra,
        },
    )


def airbnb_reservations(hotel):
    return Reservation.objects.filter(hotel=hotel, source_channel="airbnb")


def blocked(hotel, offset: int) -> int:
    return InventoryDay.objects.get(
        room_type__hotel=hotel, room_type__code="EXT", date=night(hotel, offset)
    ).blocked


def test_a_new_booking_lands_once_flagged_for_staff(simulator, hotel, live_conn):
    made = book_at_airbnb(simulator, hotel, 5, phone_last4="9876")
    report = pull_connection(live_conn.pk)
    assert report.applied == 1 and not report.error
    reservation = airbnb_reservations(hotel).get()
    assert reservation.source == Reservation.Source.OTA
    assert reservation.external_id == made["uid"]
    assert (reservation.check_in, reservation.check_out) == (night(hotel, 5), night(hotel, 7))
    assert "Guest details from Airbnb" in reservation.staff_notes
    assert made["code"] in reservation.staff_notes and "9876" in reservation.staff_notes
    assert reservation.total_amount == 2 * 1_000_000, "priced at the hotel's own rates"
    assert reservation.guest.last_name == f"Airbnb guest {made['code']}"
    assert reservation.guest.email == "" and reservation.guest.phone == ""
    message = InboundMessage.objects.get(connection=live_conn)
    assert "BEGIN:VEVENT" in message.raw_body and made["uid"] in message.raw_body

    again = pull_connection(live_conn.pk)
    assert again.applied == 0
    assert airbnb_reservations(hotel).count() == 1
    assert InboundMessage.objects.filter(connection=live_conn).count() == 1
    assert InboundMessage.objects.get(connection=live_conn).deliveries == 2


def test_a_changed_booking_moves_and_a_removed_one_is_cancelled(simulator, hotel, live_conn):
    made = book_at_airbnb(simulator, hotel, 5)
    pull_connection(live_conn.pk)
    simulator.control(
        "airbnb",
        "change",
        {"uid": made["uid"], "check_in": night(hotel, 8).isoformat(), "nights": 3},
    )
    pull_connection(live_conn.pk)
    reservation = airbnb_reservations(hotel).get()
    assert (reservation.check_in, reservation.check_out) == (night(hotel, 8), night(hotel, 11))
    kinds = list(
        InboundMessage.objects.filter(connection=live_conn)
        .order_by("id")
        .values_list("kind", "status")
    )
    assert kinds == [("new", Status.APPLIED), ("modify", Status.APPLIED)]

    simulator.control("airbnb", "remove", {"uid": made["uid"]})
    report = pull_connection(live_conn.pk)
    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.CANCELLED
    assert report.applied == 1
    pull_connection(live_conn.pk)
    assert InboundMessage.objects.filter(connection=live_conn).count() == 3, "removed once"


def test_a_blocked_range_blocks_a_room_and_its_removal_frees_it(simulator, hotel, live_conn):
    block = simulator.control(
        "airbnb",
        "block",
        {
            "listing": LISTING,
            "start": night(hotel, 3).isoformat(),
            "end": night(hotel, 5).isoformat(),
        },
    )
    pull_connection(live_conn.pk)
    assert [blocked(hotel, n) for n in (2, 3, 4, 5)] == [0, 1, 1, 0]
    assert not airbnb_reservations(hotel).exists()
    simulator.control("airbnb", "remove", {"uid": block["uid"]})
    pull_connection(live_conn.pk)
    assert [blocked(hotel, n) for n in (3, 4)] == [0, 0]


def test_overlaps_are_accepted_and_flagged_as_overbooked(simulator, hotel, live_conn):
    ext = hotel.room_types.get(code="EXT")
    for _ in range(2):  # both rooms sold in Pema
        reserve_rooms(
            hotel=hotel,
            check_in=night(hotel, 10),
            check_out=night(hotel, 11),
            rooms=[
                RoomRequest(room_type=ext, rate_plan=hotel.rate_plans.get(code="BAR"), adults=1)
            ],
            guest=GuestDetails(first_name="Asha", last_name="Rao"),
            source=Reservation.Source.STAFF,
        )
    book_at_airbnb(simulator, hotel, 10, nights=1, force=True)  # Airbnb had not read Pema yet
    simulator.control(
        "airbnb",
        "block",
        {
            "listing": LISTING,
            "start": night(hotel, 10).isoformat(),
            "end": night(hotel, 12).isoformat(),
        },
    )
    report = pull_connection(live_conn.pk)
    assert report.applied == 2 and report.held == 0
    assert airbnb_reservations(hotel).get().is_overbooked
    note = InboundMessage.objects.get(connection=live_conn, payload__block=True).error
    assert "Overbooked" in note and night(hotel, 10).isoformat() in note
    assert blocked(hotel, 11) == 1, "the block holds the night it could"


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ({"mode": "malformed"}, "could not be read"),
        ({"mode": "huge", "bytes": 3 * 1024 * 1024}, "larger than"),
    ],
)
def test_a_bad_feed_is_held_with_its_reason_and_removes_nothing(
    simulator, hotel, live_conn, mode, reason
):
    book_at_airbnb(simulator, hotel, 5)
    pull_connection(live_conn.pk)
    simulator.control("airbnb", "feed_mode", {"listing": LISTING, **mode})
    report = pull_connection(live_conn.pk)
    held = InboundMessage.objects.get(connection=live_conn, status=Status.HELD)
    assert held.error_code == "malformed"
    assert reason in held.error and LISTING in held.error
    assert len(held.raw_body) <= 64 * 1024
    assert report.held == 1
    assert airbnb_reservations(hotel).get().status == Reservation.Status.CONFIRMED


def test_an_unreachable_or_slow_feed_is_a_warning_not_a_crash(
    simulator, hotel, live_conn, settings
):
    book_at_airbnb(simulator, hotel, 5)
    pull_connection(live_conn.pk)
    settings.PEMA_HTTP_DEADLINE_SECONDS = 0.5
    simulator.post("/_control/airbnb/faults", b'{"slow_ms": 2000}')
    report = pull_connection(live_conn.pk)
    assert report.error  # every listing failed: the pull says so
    simulator.post("/_control/airbnb/faults", b'{"slow_ms": 0, "down": true}')
    report = pull_connection(live_conn.pk)
    assert report.error
    assert airbnb_reservations(hotel).get().status == Reservation.Status.CONFIRMED
    (health,) = connection_health(Connection.objects.filter(pk=live_conn.pk))
    ages = {feed.name: feed for feed in health.feeds}
    assert ages[LISTING].read_at is not None, "the last good read is shown"
    assert not ages[LISTING].stale, "within three poll intervals (600 s) of the last good read"
