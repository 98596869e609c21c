"""The Pema Wellness seed: 76 rooms under 10 codes, room 209 once, idempotent."""

from io import StringIO

import pytest
from django.core.management import call_command

from bookings.models import Hotel, InventoryDay, RateDay, RatePlan, Room, RoomType

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = StringIO()
    call_command("seed_pema", stdout=out)
    return out.getvalue()


def test_seed_creates_the_room_table():
    output = seed()
    hotel = Hotel.objects.get(code="PEMA")
    assert (hotel.name, hotel.timezone, hotel.currency) == ("Pema Wellness", "Asia/Kolkata", "INR")
    assert Room.objects.filter(hotel=hotel).count() == 76
    assert set(RoomType.objects.values_list("code", flat=True)) == {
        "EXT", "EXQ", "SUI", "PES", "STT", "STQ", "PBT", "PBQ", "PGT", "PEV",
    }  # fmt: skip
    counts = {rt.code: rt.rooms.count() for rt in RoomType.objects.all()}
    assert counts == {
        "EXT": 3, "EXQ": 8, "SUI": 2, "PES": 5, "STT": 13, "STQ": 2,
        "PBT": 15, "PBQ": 4, "PGT": 19, "PEV": 5,
    }  # fmt: skip
    assert Room.objects.get(number="209").room_type.code == "STQ"
    assert "Room 209 is listed under both STT and STQ: created once, as STQ." in output


def test_seed_rate_plans_and_calendar():
    seed()
    hotel = Hotel.objects.get(code="PEMA")
    flexible = RatePlan.objects.get(hotel=hotel, code="BAR-BB")
    non_refundable = RatePlan.objects.get(hotel=hotel, code="NRF-BB")
    assert non_refundable.parent == flexible and not non_refundable.refundable
    today = hotel.today()
    day = InventoryDay.objects.get(room_type__code="PGT", date=today)
    assert (day.total, day.sold) == (19, 0)
    assert InventoryDay.objects.filter(room_type__hotel=hotel).count() == 500 * 10
    bar = RateDay.objects.get(rate_plan=flexible, room_type__code="EXT", date=today)
    nrf = RateDay.objects.get(rate_plan=non_refundable, room_type__code="EXT", date=today)
    assert nrf.price == bar.price * 90 // 100


def test_seed_twice_changes_nothing():
    seed()
    before = (Room.objects.count(), InventoryDay.objects.count(), RateDay.objects.count())
    output = seed()
    assert "nothing changed" in output
    assert "209" not in output
    assert (Room.objects.count(), InventoryDay.objects.count(), RateDay.objects.count()) == before
