"""Catalogue endpoints, keys, scopes, hotel scoping, errors of the framework, throttling."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from bookings.api_keys import find_key, hash_key, revoke
from bookings.models import ApiAuditLog, ApiKey

pytestmark = pytest.mark.django_db


def error_code(response) -> str:
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"code", "message", "fields"} <= set(body["error"])
    return body["error"]["code"]


def test_hotel_room_types_rate_plans(client, hotel):
    r = client.get("/api/v1/hotels/APIH/")
    assert r.status_code == 200
    assert r.json()["code"] == "APIH" and r.json()["currency"] == "INR"
    assert r.json()["check_in_time"] == "14:00:00"
    r = client.get("/api/v1/hotels/APIH/room-types/")
    assert {(t["code"], t["rooms"]) for t in r.json()} == {("DBL", 2), ("TWN", 1)}
    r = client.get("/api/v1/hotels/APIH/rate-plans/")
    assert r.json()[0]["code"] == "BAR" and sorted(r.json()[0]["room_types"]) == ["DBL", "TWN"]


def test_calendar(client, hotel):
    start = hotel.today()
    r = client.get(f"/api/v1/hotels/APIH/calendar/?start={start}&end={start + timedelta(days=9)}")
    assert r.status_code == 200
    days = r.json()["days"]
    assert len(days) == 10 and all(d["available"] for d in days)
    assert days[0]["lowest_price"] == 1_000_000
    r = client.get(f"/api/v1/hotels/APIH/calendar/?start={start}&end={start - timedelta(days=1)}")
    assert r.status_code == 400 and error_code(r) == "end_before_start"


def test_calendar_query_count(client, hotel, django_assert_max_num_queries):
    start = hotel.today()
    client.get("/api/v1/hotels/APIH/")  # warm the key's last-use write
    with django_assert_max_num_queries(8):
        client.get(f"/api/v1/hotels/APIH/calendar/?start={start}&end={start + timedelta(days=59)}")


def test_another_hotels_objects_are_404(hotel, other_hotel, make_client):
    client = make_client([other_hotel])
    for url in ["/api/v1/hotels/APIH/", "/api/v1/hotels/APIH/room-types/"]:
        r = client.get(url)
        assert r.status_code == 404 and error_code(r) == "hotel_not_found"
    assert client.get("/api/v1/hotels/NOPE/").status_code == 404
    assert client.get("/api/v1/hotels/OTHER/").status_code == 200


def test_no_key_bad_key_revoked_expired(hotel, make_client):
    anonymous = APIClient()
    r = anonymous.get("/api/v1/hotels/APIH/")
    assert r.status_code == 401 and error_code(r) == "not_authenticated"
    assert r["WWW-Authenticate"].startswith("Bearer")
    anonymous.credentials(HTTP_AUTHORIZATION="Bearer pema_abc_wrong")
    r = anonymous.get("/api/v1/hotels/APIH/")
    assert r.status_code == 401 and error_code(r) == "invalid_api_key"
    log = ApiAuditLog.objects.filter(status_code=401).latest("id")
    assert log.key_prefix == "abc" and log.request_id

    revoked = make_client([hotel])
    revoke([revoked.api_key])
    assert revoked.get("/api/v1/hotels/APIH/").status_code == 401
    expired = make_client([hotel], expires_at=timezone.now() - timedelta(seconds=1))
    assert expired.get("/api/v1/hotels/APIH/").status_code == 401


def test_x_api_key_header_and_hash_only(hotel, make_client):
    client = make_client([hotel], header="x-api-key")
    assert client.get("/api/v1/hotels/APIH/").status_code == 200
    key = ApiKey.objects.get(pk=client.api_key.pk)
    assert key.key_hash == hash_key(client.raw_key) and client.raw_key.split("_", 2)[2] not in str(
        ApiKey.objects.filter(pk=key.pk).values().first()
    )


def test_missing_scope_is_403(hotel, make_client):
    client = make_client([hotel], scopes=["bookings:read"])
    r = client.get("/api/v1/hotels/APIH/")
    assert r.status_code == 403 and error_code(r) == "permission_denied"


def test_validate(hotel, other_hotel, make_client):
    client = make_client([hotel, other_hotel], scopes=["availability:read"])
    r = client.post("/api/v1/auth/validate/")
    assert r.status_code == 200
    assert r.json()["valid"] is True
    assert sorted(r.json()["hotels"]) == ["APIH", "OTHER"]
    assert r.json()["scopes"] == ["availability:read"]
    assert APIClient().post("/api/v1/auth/validate/").status_code == 401


def test_staff_session_sees_all(hotel, other_hotel, admin_user):
    staff = APIClient()
    staff.force_login(admin_user)
    assert staff.get("/api/v1/hotels/OTHER/").status_code == 200
    assert staff.post("/api/v1/auth/validate/").json()["prefix"] == ""


@override_settings(PEMA_API_KEY_CACHE_SECONDS=0)  # else the lookup itself is remembered
def test_last_used_written_at_most_once_a_minute(hotel, make_client, django_assert_num_queries):
    client = make_client([hotel])
    key = find_key(client.raw_key)
    first = ApiKey.objects.get(pk=key.pk).last_used_at
    assert first is not None
    find_key(client.raw_key)
    assert ApiKey.objects.get(pk=key.pk).last_used_at == first
    with django_assert_num_queries(1):  # the lookup only, no UPDATE
        find_key(client.raw_key)


def test_request_id_echoed_or_generated(client, hotel):
    r = client.get("/api/v1/hotels/APIH/", HTTP_X_REQUEST_ID="abc-123")
    assert r["X-Request-ID"] == "abc-123"
    r = client.get("/api/v1/hotels/APIH/", HTTP_X_REQUEST_ID="bad id\nwith newline")
    assert len(r["X-Request-ID"]) == 32


def test_django_404_and_unknown_path_are_json(client):
    r = client.get("/api/v1/nothing-here/")
    assert r.status_code == 404 and error_code(r) == "not_found"
    assert "X-Request-ID" in r


def test_missing_trailing_slash_is_served(client, hotel):
    assert client.get("/api/v1/hotels/APIH").status_code == 200
    assert client.post("/api/v1/auth/validate").status_code == 200


def test_method_not_allowed_and_media_type(client, hotel):
    r = client.delete("/api/v1/hotels/APIH/")
    assert r.status_code == 405 and error_code(r) == "method_not_allowed"
    r = client.post(
        "/api/v1/hotels/APIH/bookings/", "a=b", content_type="application/x-www-form-urlencoded"
    )
    assert r.status_code == 415 and error_code(r) == "unsupported_media_type"


def test_throttled_with_retry_after(client, hotel):
    rates = {**api_settings.DEFAULT_THROTTLE_RATES, "api_key": "3/min"}
    # Counters are per key (by its random prefix) and window: a new key starts at zero.
    with override_settings(REST_FRAMEWORK={**_rest_framework(), "DEFAULT_THROTTLE_RATES": rates}):
        codes = [client.get("/api/v1/hotels/APIH/").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        r = client.get("/api/v1/hotels/APIH/")
        assert error_code(r) == "rate_limited"
        assert 1 <= int(r["Retry-After"]) <= 61


def _rest_framework() -> dict:
    from django.conf import settings

    return settings.REST_FRAMEWORK


def test_create_api_key_command(hotel, other_hotel, capsys):
    call_command(
        "create_api_key",
        "--hotel",
        "APIH",
        "--hotel",
        "OTHER",
        "--name",
        "Website",
        "--scopes",
        "availability:read,bookings:write",
    )
    raw = capsys.readouterr().out.strip()
    key = find_key(raw)
    assert key is not None and key.hotel_ids == {hotel.id, other_hotel.id}
    assert key.scopes == ["availability:read", "bookings:write"]
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Unknown scope"):
        call_command("create_api_key", "--hotel", "APIH", "--name", "x", "--scopes", "nope")
    with pytest.raises(CommandError, match="Unknown hotel"):
        call_command("create_api_key", "--hotel", "ZZZ", "--name", "x")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--name", " "], "--name"),
        (["--name", "Web", "--scopes", ""], "at least one scope"),
        (["--name", "Web", "--scopes", "nope"], "nope"),
        (["--name", "Web", "--expires-in-days", "0"], "at least 1"),
    ],
)
def test_create_api_key_refuses_bad_arguments(hotel, args, message):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match=message):
        call_command("create_api_key", "--hotel", hotel.code, *args)
