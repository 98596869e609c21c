"""A reservation of several room types reaches IDS Next room type by room type."""

from __future__ import annotations

from datetime import timedelta

import pytest
import responses

from bookings.reservations import GuestDetails, RoomRequest, reserve_rooms
from channels.delivery import deliver
from channels.dispatch import dispatch
from pema import ota
from tests.channels.ota_responses import res_ok
from tests.ota.conftest import SchemaCache, schemas_dir

from .conftest import BASE_URL, make_connection

pytestmark = pytest.mark.django_db

RES = f"{BASE_URL}/{ota.RES_NOTIF_RQ}"


@pytest.fixture(scope="module")
def schemas() -> SchemaCache:
    return SchemaCache(schemas_dir())


def book_mixed(hotel):
    """Two EXT rooms for two adults each and one EXQ for an adult and a child."""
    check_in = hotel.today() + timedelta(days=5)
    plan = hotel.rate_plans.get(code="BAR")
    return reserve_rooms(
        hotel=hotel,
        check_in=check_in,
        check_out=check_in + timedelta(days=2),
        rooms=[
            RoomRequest(room_type=hotel.room_types.get(code="EXT"), rate_plan=plan, adults=2,
                        rooms=2),
            RoomRequest(room_type=hotel.room_types.get(code="EXQ"), rate_plan=plan, adults=1,
                        children=1),
        ],
        guest=GuestDetails("Asha", "Rao", "asha@example.com"),
        source="booking_engine",
        special_requests="Rooms on one floor",
    )  # fmt: skip


@responses.activate
def test_a_mixed_reservation_is_sent_with_each_room_type(hotel, conn, schemas):
    responses.post(RES, body=res_ok("IDS-5"))
    reservation = book_mixed(hotel)
    dispatch(conn)
    deliver(conn.pk)
    reservation.refresh_from_db()
    assert reservation.pms_reference == "IDS-5"

    (call,) = responses.calls
    schemas.assert_valid(call.request.body)
    sent = ota.parse_hotel_res_notif_rq(call.request.body)
    stays = {s.room_type.code: s for s in reservation.rooms.select_related("room_type")}
    ext_total = sum(s.total_amount for s in reservation.rooms.filter(room_type__code="EXT"))
    assert [
        (s.room_type_code, s.rate_plan_code, s.units, s.adults, s.children, s.total)
        for s in sent.room_stays
    ] == [
        ("EXT", "BAR", 2, 2, 0, ext_total),
        ("EXQ", "BAR", 1, 1, 1, stays["EXQ"].total_amount),
    ]
    # Each room's own nights and prices, per room.
    exq_nights = [(n.date, n.price) for n in stays["EXQ"].nights.all()]
    assert [(r.night, r.amount) for r in sent.room_stays[1].rates] == exq_nights
    assert all(
        (s.start, s.end) == (reservation.check_in, reservation.check_out) for s in sent.room_stays
    )
    assert (sent.rooms, sent.total, sent.currency) == (3, reservation.total_amount, "INR")
    assert sent.special_requests == ("Rooms on one floor",)


def test_a_mixed_reservation_holds_each_type_in_the_sandbox(hotel, sandbox):
    conn = make_connection(
        hotel,
        base_url=sandbox.base_url,
        credentials={"api_key": sandbox.api_key, "api_secret": sandbox.api_secret},
    )
    reservation = book_mixed(hotel)
    dispatch(conn)
    deliver(conn.pk)
    reservation.refresh_from_db()
    (held,) = sandbox.state()["reservations"]
    assert held["reference"] == reservation.pms_reference
    assert [(r["room_type"], r["units"]) for r in held["rooms"]] == [("EXT", 2), ("EXQ", 1)]
