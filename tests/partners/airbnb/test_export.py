"""Pema's calendar as Airbnb reads it: ``GET /ical/<connection uuid>/<listing>.ics?t=token``."""

from __future__ import annotations

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from bookings.blocks import place_block
from bookings.models import Reservation, Room
from bookings.reservations import GuestDetails, RoomRequest, reserve_rooms
from partners.airbnb.simulator import closed_nights

from .conftest import LISTING, SINGLE, night

pytestmark = pytest.mark.django_db


def url(conn, listing: str = LISTING, token: str | None = None) -> str:
    token = conn.get_provider().export_token(listing) if token is None else token
    return f"/ical/{conn.uuid}/{listing}.ics?t={token}"


def book(hotel, code: str, offset: int, nights: int = 2, *, channel: str = "", room=None):
    room_type = hotel.room_types.get(code=code)
    reservation = reserve_rooms(
        hotel=hotel,
        check_in=night(hotel, offset),
        check_out=night(hotel, offset + nights),
        rooms=[
            RoomRequest(room_type=room_type, rate_plan=hotel.rate_plans.get(code="BAR"), adults=1)
        ],
        guest=GuestDetails(first_name="Asha", last_name="Rao"),
        source=Reservation.Source.OTA if channel else Reservation.Source.STAFF,
        source_channel=channel,
        external_id=f"X{offset}{code}" if channel else "",
    )
    if room is not None:
        reservation.rooms.update(room=room)
    return reservation


def closed(client, conn, listing: str = LISTING) -> set:
    answer = client.get(url(conn, listing))
    assert answer.status_code == 200, answer.content
    assert answer["Content-Type"].startswith("text/calendar")
    return {night for night in closed_nights(answer.content)}


def iso(hotel, *offsets: int) -> set[str]:
    return {night(hotel, n).isoformat() for n in offsets}


def test_nights_with_no_room_left_are_all_day_events(client, hotel, conn):
    assert not closed(client, conn), "every night has a room at first"
    book(hotel, "EXT", 5)
    assert not closed(client, conn) & iso(hotel, 5, 6), "one of two rooms is still free"
    book(hotel, "EXT", 6, nights=3)
    shut = closed(client, conn)
    assert iso(hotel, 6) <= shut and not shut & iso(hotel, 5, 7, 8, 9)
    body = client.get(url(conn)).content.decode()
    assert "DTSTART;VALUE=DATE:" + night(hotel, 6).strftime("%Y%m%d") in body
    assert "DTEND;VALUE=DATE:" + night(hotel, 7).strftime("%Y%m%d") in body


def test_airbnb_s_own_bookings_and_blocks_are_not_echoed(client, hotel, conn):
    book(hotel, "EXT", 10)
    book(hotel, "EXT", 10, channel="airbnb")
    assert not closed(client, conn) & iso(hotel, 10, 11), "Airbnb knows of its own booking"
    place_block(
        hotel=hotel,
        room_type=hotel.room_types.get(code="EXT"),
        start=night(hotel, 20),
        end=night(hotel, 21),
        source="ota",
        source_channel="airbnb",
        external_id="blk",
    )
    book(hotel, "EXT", 20, nights=1, channel="booking_com")
    assert not closed(client, conn) & iso(hotel, 20)
    book(hotel, "EXT", 10, channel="booking_com")  # over the top: overbooked, not Airbnb's
    assert iso(hotel, 10, 11) <= closed(client, conn)


def test_a_single_room_listing_closes_when_that_room_is_taken(client, hotel, conn):
    room = Room.objects.get(hotel=hotel, number="201")
    assert not closed(client, conn, SINGLE) & iso(hotel, 3)
    book(hotel, "SUI", 3, nights=1, room=room)
    assert iso(hotel, 3) <= closed(client, conn, SINGLE)


def test_stop_sell_and_days_without_a_calendar_are_closed(client, hotel, conn):
    ext = hotel.room_types.get(code="EXT")
    ext.inventory.filter(date=night(hotel, 4)).update(stop_sell=True)
    ext.inventory.filter(date=night(hotel, 70)).delete()
    shut = closed(client, conn)
    assert iso(hotel, 4) <= shut
    assert iso(hotel, 70) <= shut, "past the calendar there is nothing to sell"


def test_etag_and_if_none_match(client, hotel, conn):
    first = client.get(url(conn))
    etag = first["ETag"]
    assert etag.startswith('"')
    again = client.get(url(conn), HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b""
    book(hotel, "EXT", 5)
    book(hotel, "EXT", 5)
    changed = client.get(url(conn), HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag


@pytest.mark.parametrize("case", ["wrong token", "no token", "other listing's token", "unmapped"])
def test_a_wrong_token_or_listing_is_not_found(client, hotel, conn, case):
    provider = conn.get_provider()
    target = {
        "wrong token": url(conn, token="0" * 40),
        "no token": f"/ical/{conn.uuid}/{LISTING}.ics",
        "other listing's token": url(conn, LISTING, token=provider.export_token(SINGLE)),
        "unmapped": url(conn, "L999"),
    }[case]
    answer = client.get(target)
    assert answer.status_code == 404
    assert b"VCALENDAR" not in answer.content


def test_a_poll_costs_a_handful_of_queries(client, hotel, conn):
    for offset in range(0, 40, 3):
        book(hotel, "EXT", offset, nights=1)
    with CaptureQueriesContext(db) as queries:
        assert client.get(url(conn)).status_code == 200
    assert len(queries) <= 8, [q["sql"][:80] for q in queries]
