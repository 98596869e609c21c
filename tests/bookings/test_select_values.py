"""``pema.sql.select_values`` returns what the ORM's ``values_list`` returns."""

from datetime import timedelta

import pytest

from bookings.availability import InventoryRow, RateRow
from bookings.models import InventoryDay, RateDay
from pema.sql import select_values
from tests.factories import sellable_hotel

pytestmark = pytest.mark.django_db


@pytest.fixture
def hotel():
    return sellable_hotel(rooms={"DBL": 2, "TWN": 1}, days=20)


def orm(model, fields, **lookups):
    return list(model.objects.filter(**lookups).values_list(*fields).order_by())


def test_same_rows_and_types_as_the_orm(hotel):
    start = hotel.today() + timedelta(days=3)
    RateDay.objects.filter(date=start).update(price=None, max_stay=5, closed_to_arrival=True)
    InventoryDay.objects.filter(date=start).update(stop_sell=True, blocked=1)
    room_types = list(hotel.room_types.values_list("id", flat=True))
    plans = list(hotel.rate_plans.values_list("id", flat=True))
    cases = [
        (InventoryDay, InventoryRow._fields, {"room_type__in": room_types, "date__gte": start,
                                              "date__lt": start + timedelta(days=7)}),
        (RateDay, RateRow._fields, {"room_type__in": room_types[:1], "rate_plan__in": plans,
                                    "date__gte": start, "date__lte": start + timedelta(days=7)}),
        (RateDay, ("date", "price"), {"room_type": room_types[0], "date__gt": start}),
    ]  # fmt: skip
    for model, fields, lookups in cases:
        expected = sorted(orm(model, fields, **lookups))
        got = sorted(select_values(model, fields, **lookups))
        assert expected and got == expected
        assert [list(map(type, row)) for row in got] == [list(map(type, row)) for row in expected]


def test_an_empty_in_list_matches_nothing(hotel):
    assert select_values(InventoryDay, ("date",), room_type__in=[]) == []
