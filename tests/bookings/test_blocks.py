"""Blocks: a room held back for some nights, placed, moved and released through bookings.blocks."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bookings.blocks import active_block, move_block, place_block, release_block
from bookings.errors import InvalidStay
from bookings.models import ChangeEvent, InventoryDay, Reservation
from bookings.reservations import GuestDetails, RoomRequest, reserve_rooms
from tests.factories import sellable_hotel

pytestmark = pytest.mark.django_db


@pytest.fixture
def hotel():
    return sellable_hotel(code="BLK", rooms={"DBL": 1, "TWN": 1}, days=30)


def day(hotel, n):
    return hotel.today() + timedelta(days=n)


def blocked(hotel, code, *offsets):
    rows = InventoryDay.objects.filter(room_type__hotel=hotel, room_type__code=code)
    return [rows.get(date=day(hotel, n)).blocked for n in offsets]


def place(hotel, code="DBL", start=3, end=5, external_id="b1"):
    return place_block(
        hotel=hotel,
        room_type=hotel.room_types.get(code=code),
        start=day(hotel, start),
        end=day(hotel, end),
        source="ota",
        source_channel="airbnb",
        external_id=external_id,
    )


def test_a_block_takes_a_room_a_night_and_tells_the_channels(hotel):
    block = place(hotel)
    assert blocked(hotel, "DBL", 2, 3, 4, 5) == [0, 1, 1, 0]
    assert block.short_nights == []
    event = ChangeEvent.objects.get(hotel=hotel)
    assert event.kind == ChangeEvent.Kind.ARI_CHANGED
    assert event.payload["room_types"] == ["DBL"] and "blocked" in event.payload["inventory_fields"]
    assert active_block(hotel, "airbnb", "b1") == block


def test_a_night_with_no_room_free_is_accepted_and_named(hotel):
    reserve_rooms(
        hotel=hotel,
        check_in=day(hotel, 4),
        check_out=day(hotel, 5),
        rooms=[
            RoomRequest(
                room_type=hotel.room_types.get(code="DBL"),
                rate_plan=hotel.rate_plans.get(code="BAR"),
                adults=1,
            )
        ],
        guest=GuestDetails(first_name="Asha", last_name="Rao"),
        source=Reservation.Source.STAFF,
    )
    block = place(hotel)
    assert block.short_nights == [day(hotel, 4).isoformat()]
    assert blocked(hotel, "DBL", 3, 4) == [1, 0]
    release_block(block, source="ota")
    assert blocked(hotel, "DBL", 3, 4) == [0, 0], "exactly what it held is given back"


def test_moving_and_releasing(hotel):
    block = place(hotel)
    moved = move_block(
        block,
        room_type=hotel.room_types.get(code="TWN"),
        start=day(hotel, 4),
        end=day(hotel, 7),
        source="ota",
    )
    assert blocked(hotel, "DBL", 3, 4) == [0, 0]
    assert blocked(hotel, "TWN", 3, 4, 5, 6, 7) == [0, 1, 1, 1, 0]
    assert release_block(moved, source="ota") is True
    assert release_block(moved, source="ota") is False
    assert blocked(hotel, "TWN", 4, 5, 6) == [0, 0, 0]
    assert active_block(hotel, "airbnb", "b1") is None


def test_a_block_ends_after_it_starts(hotel):
    with pytest.raises(InvalidStay):
        place(hotel, start=5, end=5)
