"""ARI bulk updates: weekdays, derived prices, conflicts, one event, bulk statements."""

from datetime import date, timedelta

import pytest

from bookings.ari import AriChanges, apply_ari_update
from bookings.errors import CalendarConflict, InvalidStay
from bookings.models import ChangeEvent, InventoryDay, RateDay, RatePlan
from bookings.reservations import GuestDetails, reserve_stay
from bookings.seed import seed_pema_wellness
from tests.factories import RatePlanFactory, sellable_hotel

pytestmark = pytest.mark.django_db


@pytest.fixture
def hotel():
    return sellable_hotel(rooms={"DBL": 2, "TWN": 1}, price=1_000_000, days=40)


def test_weekdays_only_change_those_days(hotel):
    start = hotel.today() + timedelta(days=1)
    end = start + timedelta(days=13)
    apply_ari_update(
        hotel, start=start, end=end, weekdays={5, 6},  # Saturday, Sunday
        rate_plans=[hotel.rate_plans.get(code="BAR")], changes=AriChanges(price=1_500_000),
    )  # fmt: skip
    rows = RateDay.objects.filter(date__gte=start, date__lte=end, room_type__code="DBL")
    for row in rows:
        expected = 1_500_000 if row.date.weekday() >= 5 else 1_000_000
        assert row.price == expected, row.date
    assert sum(1 for r in rows if r.price == 1_500_000) == 4
    event = ChangeEvent.objects.get(kind="ari.changed")
    assert event.payload["weekdays"] == [5, 6]
    assert event.payload["rate_fields"] == {"price": 1_500_000}
    assert event.payload["room_types"] == ["DBL", "TWN"]


def test_derived_plan_follows_its_parent(hotel):
    bar = hotel.rate_plans.get(code="BAR")
    nrf = RatePlanFactory(
        hotel=hotel, code="NRF", parent=bar, derivation=RatePlan.Derivation.PERCENT,
        derivation_value=10, room_types=list(hotel.room_types.all()),
    )  # fmt: skip
    day = hotel.today() + timedelta(days=3)
    apply_ari_update(
        hotel, start=day, end=day, rate_plans=[bar], changes=AriChanges(price=2_000_001)
    )
    assert RateDay.objects.get(rate_plan=nrf, room_type__code="DBL", date=day).price == 1_800_001
    assert ChangeEvent.objects.get().payload["rate_plans"] == ["BAR", "NRF"]


def test_inventory_fields_and_restrictions(hotel):
    day = hotel.today() + timedelta(days=2)
    dbl = hotel.room_types.get(code="DBL")
    apply_ari_update(
        hotel, start=day, end=day, room_types=[dbl],
        changes=AriChanges(availability_override=5, blocked=1, stop_sell=True),
    )  # fmt: skip
    row = InventoryDay.objects.get(room_type=dbl, date=day)
    assert (row.total, row.total_override, row.blocked, row.stop_sell) == (5, 5, 1, True)
    apply_ari_update(
        hotel, start=day, end=day, room_types=[dbl],
        changes=AriChanges(clear_availability_override=True, stop_sell=False),
    )  # fmt: skip
    row.refresh_from_db()
    assert (row.total, row.total_override, row.stop_sell) == (2, None, False)
    apply_ari_update(
        hotel, start=day, end=day, rate_plans=[hotel.rate_plans.get()],
        changes=AriChanges(min_stay_arrival=2, closed_to_departure=True, max_stay=7),
    )  # fmt: skip
    rate = RateDay.objects.get(room_type=dbl, date=day)
    assert (rate.min_stay_arrival, rate.closed_to_departure, rate.max_stay) == (2, True, 7)


def test_fewer_rooms_than_sold_is_refused(hotel):
    check_in = hotel.today() + timedelta(days=3)
    reserve_stay(
        hotel=hotel, room_type=hotel.room_types.get(code="TWN"), rate_plan=hotel.rate_plans.get(),
        check_in=check_in, check_out=check_in + timedelta(days=1), adults=1,
        guest=GuestDetails("A", "B"), source="staff",
    )  # fmt: skip
    with pytest.raises(CalendarConflict) as error:
        apply_ari_update(
            hotel, start=check_in, end=check_in, room_types=[hotel.room_types.get(code="TWN")],
            changes=AriChanges(availability_override=0),
        )  # fmt: skip
    assert check_in in error.value.dates
    assert check_in.isoformat() in error.value.message
    assert not ChangeEvent.objects.filter(kind="ari.changed").exists()


def test_nothing_to_change_and_bad_ranges(hotel):
    today = hotel.today()
    with pytest.raises(InvalidStay):
        apply_ari_update(hotel, start=today, end=today, changes=AriChanges())
    with pytest.raises(InvalidStay):
        apply_ari_update(
            hotel, start=today, end=today - timedelta(days=1), changes=AriChanges(price=1)
        )


def test_a_whole_hotel_year_is_a_few_statements(django_assert_max_num_queries):
    seed_pema_wellness()
    hotel = RatePlan.objects.get(code="BAR-BB").hotel
    start = hotel.today()
    # 500 days × 10 room types × 2 rate plans: bulk statements, not a save per row.
    with django_assert_max_num_queries(30):
        result = apply_ari_update(
            hotel, start=start, end=start + timedelta(days=499),
            changes=AriChanges(price=1_234_500, min_stay_arrival=2, blocked=0),
        )  # fmt: skip
    assert result.rate_rows == 500 * 10 * 2
    assert result.inventory_rows == 500 * 10


def test_past_days_and_far_future_are_refused(hotel):
    today = hotel.today()
    with pytest.raises(InvalidStay) as past:
        apply_ari_update(
            hotel, start=today - timedelta(days=1), end=today, changes=AriChanges(price=1)
        )
    assert "start" in past.value.fields
    with pytest.raises(InvalidStay) as far:
        apply_ari_update(
            hotel, start=date(9999, 12, 30), end=date(9999, 12, 31), changes=AriChanges(price=1)
        )
    assert "end" in far.value.fields
    assert not ChangeEvent.objects.exists()
