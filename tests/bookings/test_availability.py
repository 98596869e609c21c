"""Availability search: every restriction, occupancy, pricing and the query count."""

from datetime import timedelta

import pytest

from bookings.ari import AriChanges, apply_ari_update
from bookings.availability import search_availability
from bookings.errors import InvalidStay
from bookings.models import InventoryDay, RateDay
from tests.factories import RatePlanFactory, sellable_hotel

pytestmark = pytest.mark.django_db


@pytest.fixture
def hotel():
    return sellable_hotel(rooms={"DBL": 2, "TWN": 1}, price=1_000_000)


def search(hotel, arrive_in=5, nights=2, adults=2, children=0, rooms=1):
    check_in = hotel.today() + timedelta(days=arrive_in)
    return search_availability(
        hotel, check_in, check_in + timedelta(days=nights), adults, children, rooms
    )


def reason_of(result, code):
    (unsellable,) = [u for u in result.unavailable if u.room_type.code == code]
    return unsellable.reasons[0].code


def restrict(hotel, day_offset, **changes):
    day = hotel.today() + timedelta(days=day_offset)
    room_type = hotel.room_types.get(code="DBL")
    apply_ari_update(
        hotel, start=day, end=day, room_types=[room_type],
        rate_plans=list(hotel.rate_plans.all()), changes=AriChanges(**changes),
    )  # fmt: skip


def test_offers_with_nightly_prices(hotel):
    result = search(hotel, nights=3)
    offer = next(o for o in result.offers if o.room_type.code == "DBL")
    assert [n.amount for n in offer.nights] == [1_000_000] * 3
    assert offer.total == 3_000_000 and offer.currency == "INR"
    assert offer.rooms_left == 2
    assert result.unavailable == []


def test_extra_guests_are_priced(hotel):
    hotel.room_types.filter(code="DBL").update(base_occupancy=1)
    result = search(hotel, nights=2, adults=2, children=1)
    offer = next(o for o in result.offers if o.room_type.code == "DBL")
    # 1 base guest; one extra adult (price/4) and one child (price/10) each night.
    assert offer.total == 2 * (1_000_000 + 250_000 + 100_000)


def test_several_rooms_multiply_the_price_and_need_the_rooms(hotel):
    result = search(hotel, rooms=2)
    assert [o.room_type.code for o in result.offers] == ["DBL"]
    assert result.offers[0].total == 2 * 2 * 1_000_000
    assert reason_of(result, "TWN") == "sold_out"


def test_sold_out_night(hotel):
    InventoryDay.objects.filter(
        room_type__code="TWN", date=hotel.today() + timedelta(days=6)
    ).update(sold=1)
    assert reason_of(search(hotel), "TWN") == "sold_out"


@pytest.mark.parametrize(
    "offset, changes, expected",
    [
        (5, {"stop_sell": True}, "stop_sell"),
        (5, {"closed_to_arrival": True}, "closed_to_arrival"),
        (7, {"closed_to_departure": True}, "closed_to_departure"),
        (5, {"min_stay_arrival": 3}, "min_stay_arrival"),
        (6, {"min_stay_through": 4}, "min_stay_through"),
        (5, {"max_stay": 1}, "max_stay"),
    ],
)
def test_each_restriction_refuses_with_its_reason(hotel, offset, changes, expected):
    restrict(hotel, offset, **changes)
    result = search(hotel, arrive_in=5, nights=2)
    assert "DBL" not in {o.room_type.code for o in result.offers}
    assert reason_of(result, "DBL") == expected
    assert "TWN" in {o.room_type.code for o in result.offers}


def test_restrictions_outside_the_stay_do_not_matter(hotel):
    restrict(hotel, 4, closed_to_arrival=True)  # the day before arrival
    restrict(hotel, 6, closed_to_departure=True)  # a night inside, not the departure
    restrict(hotel, 6, min_stay_arrival=5)  # min stay on a day that is not the arrival
    result = search(hotel, arrive_in=5, nights=2)
    assert "DBL" in {o.room_type.code for o in result.offers}


def test_min_stay_met_is_sellable(hotel):
    restrict(hotel, 5, min_stay_arrival=3)
    assert "DBL" in {o.room_type.code for o in search(hotel, nights=3).offers}


def test_room_type_stop_sell_and_missing_price(hotel):
    day = hotel.today() + timedelta(days=5)
    InventoryDay.objects.filter(room_type__code="DBL", date=day).update(stop_sell=True)
    RateDay.objects.filter(room_type__code="TWN", date=day).update(price=None)
    result = search(hotel)
    assert reason_of(result, "DBL") == "stop_sell"
    assert reason_of(result, "TWN") == "no_rate"


def test_too_many_guests(hotel):
    result = search(hotel, adults=3)
    assert {u.room_type.code for u in result.unavailable} == {"DBL", "TWN"}
    assert reason_of(result, "DBL") == "too_many_guests"


def test_room_type_without_rate_plan(hotel):
    other = RatePlanFactory(
        hotel=hotel, code="PROMO", room_types=[hotel.room_types.get(code="TWN")]
    )
    hotel.rate_plans.get(code="BAR").room_types.remove(hotel.room_types.get(code="TWN"))
    other.is_active = False
    other.save()
    assert reason_of(search(hotel), "TWN") == "no_rate_plan"


@pytest.mark.parametrize(
    "kwargs, code",
    [
        ({"nights": 0}, "check_out_not_after_check_in"),
        ({"nights": 31}, "stay_too_long"),
        ({"adults": 0}, "no_adults"),
        ({"arrive_in": -1}, "check_in_in_past"),
        ({"rooms": 0}, "invalid_rooms"),
    ],
)
def test_invalid_requests(hotel, kwargs, code):
    with pytest.raises(InvalidStay) as error:
        search(hotel, **kwargs)
    assert error.value.code == code


def test_query_count_does_not_grow_with_the_stay(hotel, django_assert_num_queries):
    with django_assert_num_queries(5):
        search(hotel, nights=1)
    with django_assert_num_queries(5):
        search(hotel, nights=30)
