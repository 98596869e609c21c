"""With Redis unreachable, the API still searches and books (the cache only speeds it up)."""

from datetime import timedelta

import pytest

from bookings.models import Reservation

from .test_bookings import body, book, stay  # noqa: F401 - fixtures

DEAD_REDIS = {
    "default": {
        "BACKEND": "pema.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
}


@pytest.mark.django_db
def test_search_and_booking_succeed_without_redis(client, hotel, body, settings):  # noqa: F811
    settings.CACHES = DEAD_REDIS
    day = hotel.today() + timedelta(days=5)
    search = client.get(
        f"/api/v1/hotels/{hotel.code}/availability/",
        {
            "check_in": day.isoformat(),
            "check_out": (day + timedelta(days=2)).isoformat(),
            "adults": 2,
        },
    )
    assert search.status_code == 200, search.content
    assert search.json()["offers"]
    booked = book(client, body)
    assert booked.status_code == 201, booked.content
    assert Reservation.objects.count() == 1


def test_the_cache_degrades_to_a_miss():
    from django.core.cache import caches
    from django.test import override_settings

    with override_settings(CACHES=DEAD_REDIS):
        cache = caches["default"]
        cache.set("k", 1)
        assert cache.get("k", "missing") == "missing"
        assert cache.add("k", 1) is False
        with pytest.raises(ValueError):
            cache.incr("k")
