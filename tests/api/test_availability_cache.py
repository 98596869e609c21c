"""The cache of availability answers: served from the cache, never stale after a change."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import transaction
from django.test import override_settings

from bookings import availability_cache
from bookings.ari import AriChanges, apply_ari_update
from bookings.models import InventoryDay, RateDay, RatePlan, Reservation, RoomType
from bookings.reservations import GuestDetails, cancel_reservation, reserve_stay

pytestmark = pytest.mark.django_db


@pytest.fixture
def stay(hotel):
    check_in = hotel.today() + timedelta(days=5)
    return check_in, check_in + timedelta(days=2)


def search(client, stay, adults=2):
    r = client.get(
        f"/api/v1/hotels/APIH/availability/?check_in={stay[0]}&check_out={stay[1]}&adults={adults}"
    )
    assert r.status_code == 200, r.content
    return r.json()


def offer(answer, room_type="DBL"):
    return next((o for o in answer["offers"] if o["room_type"] == room_type), None)


def book(hotel, stay, room_type="DBL"):
    return reserve_stay(
        hotel=hotel,
        room_type=hotel.room_types.get(code=room_type),
        rate_plan=hotel.rate_plans.get(code="BAR"),
        check_in=stay[0],
        check_out=stay[1],
        adults=2,
        guest=GuestDetails("Asha", "Rao", f"{uuid.uuid4().hex[:8]}@example.com"),
        source=Reservation.Source.BOOKING_ENGINE,
    )


def test_a_repeated_search_is_served_from_the_cache(client, hotel, stay):
    first = search(client, stay)
    # Changed behind the application's back (no signal, no event): the cache answers.
    RateDay.objects.filter(rate_plan__hotel=hotel).update(price=1)
    assert search(client, stay) == first
    with override_settings(PEMA_AVAILABILITY_CACHE_SECONDS=0):
        assert offer(search(client, stay))["total"] != offer(first)["total"]


def test_cached_and_uncached_answers_are_the_same(client, hotel, stay):
    book(hotel, stay, "TWN")  # something unavailable too
    with override_settings(PEMA_AVAILABILITY_CACHE_SECONDS=0):
        fresh = search(client, stay)
    search(client, stay)  # stores
    assert search(client, stay) == fresh
    assert fresh["unavailable"][0]["room_type"] == "TWN"


def test_an_ari_change_invalidates(client, hotel, stay):
    before = offer(search(client, stay))
    apply_ari_update(hotel, start=stay[0], end=stay[0], changes=AriChanges(price=1_500_000))
    after = offer(search(client, stay))
    assert after["nights"][0]["amount"] != before["nights"][0]["amount"]
    apply_ari_update(hotel, start=stay[0], end=stay[0], changes=AriChanges(stop_sell=True))
    assert offer(search(client, stay)) is None


def test_a_booking_and_a_cancellation_invalidate(client, hotel, stay):
    assert offer(search(client, stay))["rooms_left"] == 2
    reservation = book(hotel, stay)
    assert offer(search(client, stay))["rooms_left"] == 1
    book(hotel, stay)
    assert offer(search(client, stay)) is None
    cancel_reservation(reservation, source=Reservation.Source.STAFF)
    assert offer(search(client, stay))["rooms_left"] == 1


def test_a_booking_through_the_api_invalidates(client, hotel, stay):
    assert offer(search(client, stay))["rooms_left"] == 2
    r = client.post(
        "/api/v1/hotels/APIH/bookings/",
        {
            "room_type": "DBL",
            "rate_plan": "BAR",
            "check_in": stay[0].isoformat(),
            "check_out": stay[1].isoformat(),
            "adults": 2,
            "guest": {"first_name": "Asha", "last_name": "Rao", "email": "a@example.com"},
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )
    assert r.status_code == 201
    assert offer(search(client, stay))["rooms_left"] == 1


def test_catalogue_and_calendar_saves_invalidate(client, hotel, stay):
    search(client, stay)
    room_type = RoomType.objects.get(hotel=hotel, code="DBL")
    room_type.max_adults = 1
    room_type.save()
    assert offer(search(client, stay)) is None
    room_type.max_adults = 2
    room_type.save()
    day = InventoryDay.objects.get(room_type=room_type, date=stay[0])
    day.blocked = day.total
    day.save()
    assert offer(search(client, stay)) is None
    day.blocked = 0
    day.save()
    assert offer(search(client, stay))["rooms_left"] == 2
    plan = RatePlan.objects.get(hotel=hotel, code="BAR")
    plan.room_types.remove(room_type)
    assert offer(search(client, stay)) is None
    plan.room_types.add(room_type)
    plan.is_active = False
    plan.save()
    assert search(client, stay)["offers"] == []


def test_bump_runs_again_after_commit(hotel, django_capture_on_commit_callbacks):
    """An answer read between the change's first bump and its commit is not reused after."""
    start = availability_cache.current_version(hotel.id)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        availability_cache.ari_changed(hotel.id)
        during = availability_cache.current_version(hotel.id)
    assert start < during < availability_cache.current_version(hotel.id)


def test_each_hotel_has_its_own_version(client, hotel, other_hotel, stay):
    first = availability_cache.current_version(other_hotel.id)
    book(hotel, stay)
    assert availability_cache.current_version(other_hotel.id) == first


def test_a_miss_reads_only_the_calendar_while_the_catalogue_holds(
    client, hotel, stay, django_assert_num_queries
):
    search(client, stay)  # loads the key, the hotel and the catalogue
    later = (stay[0] + timedelta(days=1), stay[1] + timedelta(days=1))
    with django_assert_num_queries(2):  # inventory and rates of the new stay
        search(client, later)


def test_with_the_cache_off_a_search_still_reuses_only_a_current_catalogue(
    client, hotel, stay, django_assert_num_queries
):
    with override_settings(PEMA_AVAILABILITY_CACHE_SECONDS=0):
        search(client, stay)  # loads the key, the hotel and the catalogue
        with django_assert_num_queries(2):  # inventory and rates: no answer was stored
            search(client, stay)
        room_type = hotel.room_types.get(code="DBL")
        room_type.name = "Renamed double"
        room_type.save()  # a catalogue change moves the ARI version
        names = {o["room_type_name"] for o in search(client, stay)["offers"]}
    assert "Renamed double" in names
