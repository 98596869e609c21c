"""Room counts: the calendar follows active rooms from today on, unless overridden."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from bookings.ari import AriChanges, apply_ari_update
from bookings.models import ChangeEvent, InventoryDay
from bookings.reservations import GuestDetails, reserve_stay
from tests.factories import RoomFactory, sellable_hotel

pytestmark = pytest.mark.django_db


def totals(room_type, offsets):
    today = room_type.hotel.today()
    return [
        InventoryDay.objects.get(room_type=room_type, date=today + timedelta(days=o)).total
        for o in offsets
    ]


def test_deactivating_and_adding_rooms_moves_the_total():
    hotel = sellable_hotel(rooms={"DBL": 3})
    dbl = hotel.room_types.get()
    room = dbl.rooms.first()
    room.is_active = False
    room.full_clean()
    room.save()
    assert totals(dbl, [0, 10, 50]) == [2, 2, 2]
    RoomFactory(room_type=dbl, number="999")
    assert totals(dbl, [0, 10]) == [3, 3]
    assert ChangeEvent.objects.filter(kind="ari.changed").count() == 2


def test_override_is_kept_when_rooms_change():
    hotel = sellable_hotel(rooms={"DBL": 3})
    dbl = hotel.room_types.get()
    day = hotel.today() + timedelta(days=4)
    apply_ari_update(
        hotel, start=day, end=day, room_types=[dbl], changes=AriChanges(availability_override=1)
    )
    RoomFactory(room_type=dbl, number="999")
    assert totals(dbl, [3, 4, 5]) == [4, 1, 4]


def test_cannot_deactivate_a_room_that_is_sold():
    hotel = sellable_hotel(rooms={"ONE": 1})
    room_type = hotel.room_types.get()
    check_in = hotel.today() + timedelta(days=2)
    reserve_stay(
        hotel=hotel, room_type=room_type, rate_plan=hotel.rate_plans.get(), check_in=check_in,
        check_out=check_in + timedelta(days=1), adults=1, guest=GuestDetails("A", "B"),
        source="staff",
    )  # fmt: skip
    room = room_type.rooms.get()
    room.is_active = False
    with pytest.raises(ValidationError) as error:
        room.full_clean()
    assert check_in.isoformat() in str(error.value)


def test_the_calendar_rolls_forward_on_last_weeks_pattern(settings):
    from bookings.inventory import calendar_horizon, extend_calendar
    from bookings.models import RateDay

    hotel = sellable_hotel(rooms={"DBL": 2}, days=20)
    settings.PEMA_CALENDAR_DAYS = 30
    start, end = calendar_horizon(hotel)
    # Rows up to today+29 exist already (a new room type gets the whole window); drop the
    # last week to play "the days went by".
    RateDay.objects.filter(date__gt=end - timedelta(days=7)).delete()
    InventoryDay.objects.filter(date__gt=end - timedelta(days=7)).delete()
    RateDay.objects.filter(date=end - timedelta(days=13)).update(price=4242, min_stay_arrival=2)
    created = extend_calendar(hotel)
    assert created == 7 * 2  # one inventory and one rate row per new day
    copied = RateDay.objects.get(date=end - timedelta(days=6))
    assert (copied.price, copied.min_stay_arrival) == (4242, 2)
    assert InventoryDay.objects.get(date=end).total == 2
    event = ChangeEvent.objects.filter(kind="ari.changed").last()
    assert event.payload["start"] == (end - timedelta(days=6)).isoformat()
    assert extend_calendar(hotel) == 0  # nothing new, nothing written


def test_new_room_types_and_plans_get_their_calendar():
    from bookings.inventory import calendar_horizon
    from bookings.models import RateDay
    from tests.factories import RatePlanFactory, RoomTypeFactory

    hotel = sellable_hotel(rooms={"DBL": 1})
    start, end = calendar_horizon(hotel)
    suite = RoomTypeFactory(hotel=hotel, code="STE")
    assert (
        InventoryDay.objects.filter(room_type=suite, date__gte=start, date__lte=end).count()
        == (end - start).days + 1
    )
    plan = RatePlanFactory(hotel=hotel, code="PKG", room_types=[suite])
    assert RateDay.objects.filter(rate_plan=plan, room_type=suite, date=end).exists()
