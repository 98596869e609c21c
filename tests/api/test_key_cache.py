"""Remembered API keys: no query per request, and revocation and expiry still bite in time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from bookings import api_keys
from bookings.models import ApiKey, Hotel

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(monkeypatch):
    """The key cache's clock, moved by hand."""
    now = [1000.0]
    monkeypatch.setattr(api_keys, "_clock", lambda: now[0])
    api_keys.forget_checked_keys()
    yield now
    api_keys.forget_checked_keys()


def validate(client):
    return client.post("/api/v1/auth/validate/").status_code


def test_a_remembered_key_costs_no_query(client, clock, django_assert_num_queries):
    assert validate(client) == 200
    with django_assert_num_queries(0):
        assert api_keys.find_key(client.raw_key) is not None


def test_revoked_elsewhere_stops_within_the_cache_time(client, clock, settings):
    assert validate(client) == 200
    # Another process revokes it: this one's memory is not told.
    ApiKey.objects.filter(pk=client.api_key.pk).update(revoked_at=timezone.now())
    clock[0] += settings.PEMA_API_KEY_CACHE_SECONDS - 0.5
    assert validate(client) == 200
    clock[0] += 1
    assert validate(client) == 401


def test_revoked_in_this_process_stops_at_once(client, clock):
    assert validate(client) == 200
    api_keys.revoke([client.api_key])
    assert validate(client) == 401


def test_saved_key_is_forgotten_at_once(client, clock, other_hotel):
    assert validate(client) == 200
    key = ApiKey.objects.get(pk=client.api_key.pk)
    key.hotels.set([other_hotel])
    assert client.get("/api/v1/hotels/APIH/").status_code == 404
    key.revoked_at = timezone.now()
    key.save()
    assert validate(client) == 401


def test_expiry_is_exact_even_when_remembered(client, clock, monkeypatch):
    ApiKey.objects.filter(pk=client.api_key.pk).update(
        expires_at=timezone.now() + timedelta(minutes=1)
    )
    api_keys.forget_checked_keys()
    assert validate(client) == 200
    later = timezone.now() + timedelta(minutes=2)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert validate(client) == 401


def test_wrong_secret_with_a_known_prefix_is_refused(client, clock):
    assert validate(client) == 200
    assert api_keys.find_key(client.raw_key[:-2] + "xx") is None


def test_each_request_gets_its_own_copy(client, clock):
    first = api_keys.find_key(client.raw_key)
    first.name = "changed by one request"
    assert api_keys.find_key(client.raw_key).name != "changed by one request"


@override_settings(PEMA_API_KEY_CACHE_SECONDS=0)
def test_cache_off_reads_every_time(client, clock, django_assert_num_queries):
    assert validate(client) == 200
    with django_assert_num_queries(1):  # the key (its hotels are read when first needed)
        assert api_keys.find_key(client.raw_key) is not None


def hotel_name(client) -> str:
    r = client.get("/api/v1/hotels/APIH/")
    assert r.status_code == 200
    return r.json()["name"]


def test_reads_take_the_remembered_hotel(client, clock, hotel, django_assert_num_queries):
    hotel_name(client)
    with django_assert_num_queries(0):
        r = client.get(f"/api/v1/hotels/APIH/availability/?check_in={hotel.today()}")
    assert r.status_code == 400  # validated, and no query for the key or the hotel


def test_a_hotel_saved_here_is_read_afresh_at_once(client, clock, hotel):
    hotel_name(client)
    hotel.name = "Renamed here"
    hotel.save()
    assert hotel_name(client) == "Renamed here"


def test_a_hotel_changed_elsewhere_is_read_within_the_cache_time(client, clock, hotel, settings):
    before = hotel_name(client)
    Hotel.objects.filter(pk=hotel.pk).update(name="Renamed elsewhere")
    assert hotel_name(client) == before
    clock[0] += settings.PEMA_API_KEY_CACHE_SECONDS + 0.1
    assert hotel_name(client) == "Renamed elsewhere"


def test_writes_read_the_hotel_afresh(client, clock, hotel):
    hotel_name(client)
    Hotel.objects.filter(pk=hotel.pk).update(max_stay_nights=1)
    check_in = hotel.today() + timedelta(days=3)
    r = client.post(
        "/api/v1/hotels/APIH/bookings/",
        {
            "room_type": "DBL",
            "rate_plan": "BAR",
            "check_in": check_in.isoformat(),
            "check_out": (check_in + timedelta(days=2)).isoformat(),
            "adults": 2,
            "guest": {"first_name": "Asha", "last_name": "Rao", "email": "a@example.com"},
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="write-reads-afresh",
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "stay_too_long"
