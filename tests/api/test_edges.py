"""The API's edges: hostile bodies, forged cursors, oversized requests, 404s in development.

Whatever arrives, the answer is a 4xx in the error shape with ``X-Request-ID``,
never a 500 or an HTML page.
"""

from __future__ import annotations

import base64
import json
import uuid

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from bookings.models import ApiAuditLog

from .test_bookings import body, book, stay  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


def error_of(response) -> dict:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    payload = response.json()
    assert set(payload) == {"error"} and {"code", "message", "fields"} <= set(payload["error"])
    assert response["X-Request-ID"]
    return payload["error"]


def post_booking(client, payload: str, **extra):
    """POST a raw body to the booking endpoint, with a fresh Idempotency-Key."""
    return client.post(
        "/api/v1/hotels/APIH/bookings/",
        payload,
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
        **extra,
    )


def nested(depth: int) -> str:
    """A 2-bytes-per-level body: ``[[[...]]]``."""
    return "[" * depth + "]" * depth


# --- deep nesting ----------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [100, 950, 5000])
def test_deeply_nested_json_is_a_400_on_booking_create(client, depth):
    response = post_booking(client, nested(depth))
    assert response.status_code == 400
    assert error_of(response)["code"] == "malformed_json"


def test_deeply_nested_json_inside_a_field_is_a_400_on_patch(client, body):  # noqa: F811
    number = book(client, body).json()["confirmation_number"]
    payload = '{"special_requests": ' + nested(950) + "}"
    response = client.patch(f"/api/v1/bookings/{number}/", payload, content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "malformed_json"


def test_deeply_nested_json_is_a_400_on_the_ids_endpoints(hotel):
    client = APIClient()
    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw-for-tests-1"))
    payload = '{"hotel": "APIH", "x": ' + nested(950) + "}"
    for name in ("test-connection", "check-availability", "update-rates", "sync-availability"):
        response = client.post(f"/api/v1/ids/{name}/", payload, content_type="application/json")
        assert response.status_code == 400, name
        assert error_of(response)["code"] == "malformed_json"


def test_moderate_nesting_still_reaches_validation(client):
    response = post_booking(client, json.dumps({"guest": {"first_name": {"a": {"b": ["c"]}}}}))
    assert response.status_code == 400
    assert error_of(response)["code"] in {"missing_field", "invalid_field"}


# --- forged cursors --------------------------------------------------------------------------


def cursor(query: str) -> str:
    return base64.b64encode(query.encode()).decode()


@pytest.mark.parametrize(
    "value",
    [
        "bz0xJnA9MjAyNi0x",  # o=1&p=2026-1, from the report
        cursor("p=not-a-date"),
        cursor("o=1&p=9999-99-99T99:99:99"),
        cursor("o=-5&p=2026-01-01T00:00:00Z"),
        cursor("o=1&r=1&p=2026-01-01T00:00:00%00"),
        cursor("p=0001-01-01T00:00:00+23:59"),  # before the year 1 in UTC
        cursor("p=2026-01-01T00:00:00"),  # no offset: never one of ours
        cursor("r=yes&p=2026-01-01 00:00:00+00:00"),
        "!!!not-base64!!!",
    ],
)
def test_forged_cursor_is_a_400(client, value):
    response = client.get("/api/v1/bookings/", {"cursor": value})
    assert response.status_code == 400, response.content
    assert error_of(response)["code"] == "invalid_cursor"


def test_a_real_cursor_still_pages(client, body):  # noqa: F811
    for room_type in ("DBL", "DBL", "TWN"):
        booked = book(client, {**body, "room_type": room_type, "expected_total": None})
        assert booked.status_code == 201, booked.content
    first = client.get("/api/v1/bookings/", {"limit": 2}).json()
    assert len(first["results"]) == 2 and first["next"]
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 1 and second["previous"]
    previous = client.get(second["previous"]).json()
    assert [b["confirmation_number"] for b in previous["results"]] == [
        b["confirmation_number"] for b in first["results"]
    ]


# --- oversized bodies ------------------------------------------------------------------------


def test_a_body_over_the_limit_is_a_413_in_the_error_shape_and_audited(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    payload = json.dumps({"special_requests": "x" * 2000})
    response = post_booking(client, payload, HTTP_X_REQUEST_ID="big-body-1")
    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"
    assert response["X-Request-ID"] == "big-body-1"
    entry = ApiAuditLog.objects.get(request_id="big-body-1")
    assert entry.status_code == 413 and entry.method == "POST"
    assert entry.api_key_id is None  # refused before the key was read


def test_the_default_limit_answers_413_for_a_3_mb_booking(client):
    payload = json.dumps({"special_requests": "x" * 3_000_000})
    response = post_booking(client, payload)
    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"


# --- 404 in development ----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/nothing-here/", "/api/nothing/", "/api/v1/hotels/"])
def test_404_under_api_is_json_in_debug_too(client, settings, path):
    settings.DEBUG = True
    response = client.get(path)
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_404_outside_the_api_stays_a_page(client, settings):
    settings.DEBUG = True
    response = client.get("/nothing-here/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


# --- input as the schema describes it ----------------------------------------------------------


@pytest.mark.parametrize(
    "field, value",
    [("adults", "2"), ("adults", True), ("special_requests", 0), ("check_in", 20300101)],
)
def test_a_body_field_of_the_wrong_json_type_is_a_400(client, body, field, value):  # noqa: F811
    response = post_booking(client, json.dumps({**body, field: value}))
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid_field" and field in error["fields"]


def test_cancel_reason_must_be_a_string(client, body):  # noqa: F811
    number = book(client, body).json()["confirmation_number"]
    response = client.post(f"/api/v1/bookings/{number}/cancel/", {"reason": 0}, format="json")
    assert response.status_code == 400 and "reason" in error_of(response)["fields"]


def test_staff_booleans_are_json_booleans(hotel):
    client = APIClient()
    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw-for-tests-1"))
    response = client.post("/api/v1/backups/", {"encrypt": 0}, format="json")
    assert response.status_code == 400 and "encrypt" in error_of(response)["fields"]
    response = client.post(
        "/api/v1/ids/update-availability/",
        {"hotel": "APIH", "start": "2030-01-01", "end": "2030-01-01", "room_types": [1]},
        format="json",
    )
    assert response.status_code == 400 and "room_types" in error_of(response)["fields"]


@pytest.mark.parametrize("parameter", ["updated_since", "hotel", "status", "arrival_from"])
def test_a_filter_sent_empty_is_a_400(client, parameter):
    response = client.get("/api/v1/bookings/", {parameter: ""})
    assert response.status_code == 400
    assert parameter in error_of(response)["fields"]


@pytest.mark.parametrize("limit", ["null", "0", "-3", "2.5", "ten"])
def test_a_limit_that_is_not_a_positive_whole_number_is_a_400(client, limit):
    response = client.get("/api/v1/bookings/", {"limit": limit})
    assert response.status_code == 400
    assert "limit" in error_of(response)["fields"]


def test_a_large_limit_is_cut_to_200(client):
    assert client.get("/api/v1/bookings/", {"limit": 10_000}).status_code == 200
