"""A Redis that accepts connections but never answers costs one request its timeout,
not every cache call of every request: the cache's connections sit behind a breaker.

The "Redis" is a socket that accepts and never replies; the tests count the
connections it is offered, not the time anything takes.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.cache import caches

from pema.cache import cache_breaker
from tests.factories import sellable_hotel

from .test_broker_breaker import CountingListener, FakeClock, post_booking


@pytest.fixture
def silent_redis(settings, monkeypatch):
    server = CountingListener(hold=True)
    settings.CACHES = {
        "default": {
            "BACKEND": "pema.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{server.port}/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    clock = FakeClock()
    monkeypatch.setattr(cache_breaker, "clock", clock)
    cache_breaker.reset()
    server.clock = clock
    yield server
    server.close()


def test_after_one_timeout_cache_calls_skip_redis_until_a_retry_is_due(silent_redis):
    cache = caches["default"]
    assert cache.get("k", "miss") == "miss"  # waited for the timeout once
    tried = silent_redis.accepted
    assert tried == 1 and cache_breaker.state().state == "open"

    for _ in range(20):
        assert cache.get("k", "miss") == "miss"
        cache.set("k", 1)
    with pytest.raises(ValueError):
        cache.incr("k")
    assert silent_redis.accepted == tried, "an open breaker must not ask Redis"

    silent_redis.clock.now += settings.PEMA_CACHE_BREAKER_SECONDS + 1
    assert cache.get("k", "miss") == "miss"  # the one retry, which times out again
    assert silent_redis.accepted == tried + 1
    assert cache.get("k", "miss") == "miss"
    assert silent_redis.accepted == tried + 1


@pytest.mark.django_db
def test_bookings_and_rate_limits_skip_a_frozen_redis_after_the_first_call(silent_redis):
    from rest_framework.test import APIClient

    from bookings.api_keys import issue_key

    hotel = sellable_hotel(code="FRZN", rooms={"DBL": 5})
    key = issue_key(name="Website", hotels=[hotel], scopes=["bookings:write"]).raw
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    for _ in range(4):
        response = post_booking(client, hotel)
        assert response.status_code == 201, response.content
    # The first cache call (the rate-limit counter) timed out; nothing asked Redis after it.
    assert silent_redis.accepted == 1


def test_a_redis_that_answers_again_closes_the_breaker(settings):
    if not settings.CACHES["default"]["BACKEND"].endswith("RedisCache"):
        pytest.skip("the test run has no Redis cache")
    cache = caches["default"]
    clock = FakeClock()
    saved = cache_breaker.clock
    cache_breaker.clock = clock
    try:
        cache_breaker.failed()
        assert cache.get("breaker-test", "miss") == "miss"  # skipped
        clock.now += settings.PEMA_CACHE_BREAKER_SECONDS + 1
        cache.set("breaker-test", "kept", 5)
        assert cache_breaker.closed and cache.get("breaker-test") == "kept"
    finally:
        cache_breaker.clock = saved
