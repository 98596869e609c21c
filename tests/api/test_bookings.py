"""Booking create, idempotency, every error code, fetch, modify, cancel, list and audit."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta

import pytest
from django.utils import timezone

from bookings import external
from bookings.errors import ExternalAvailabilityUnavailable, NoAvailability
from bookings.models import ApiAuditLog, Hotel, Reservation

pytestmark = pytest.mark.django_db


def code_of(response) -> str:
    return response.json()["error"]["code"]


@pytest.fixture
def stay(hotel):
    check_in = hotel.today() + timedelta(days=5)
    return check_in, check_in + timedelta(days=2)


@pytest.fixture
def body(stay):
    return {
        "room_type": "DBL",
        "rate_plan": "BAR",
        "check_in": stay[0].isoformat(),
        "check_out": stay[1].isoformat(),
        "adults": 2,
        "children": 0,
        "guest": {
            "first_name": "Asha",
            "last_name": "Rao",
            "email": "asha@example.com",
            "phone": "+91 98450 00000",
            "country": "IN",
        },
        "special_requests": "Late arrival",
        "expected_total": 2_000_000,
    }


def book(client, body, key=None):
    return client.post(
        "/api/v1/hotels/APIH/bookings/",
        body,
        format="json",
        HTTP_IDEMPOTENCY_KEY=key or str(uuid.uuid4()),
    )


def test_create_fetch_and_replay(client, body):
    r = book(client, body, key="booking-key-1")
    assert r.status_code == 201, r.content
    data = r.json()
    assert data["status"] == "confirmed" and data["source"] == "booking_engine"
    assert data["total_amount"] == 2_000_000 and data["room_type"] == "DBL"
    assert len(data["nightly"]) == 2 and data["guest"]["email"] == "asha@example.com"
    again = book(client, body, key="booking-key-1")
    assert again.status_code == 201 and again.json() == data
    assert again["Idempotent-Replayed"] == "true"
    assert Reservation.objects.count() == 1
    other = book(client, {**body, "adults": 1}, key="booking-key-1")
    assert other.status_code == 422 and code_of(other) == "idempotency_key_reused"
    fetched = client.get(f"/api/v1/bookings/{data['confirmation_number']}/")
    assert (
        fetched.status_code == 200
        and fetched.json()["confirmation_number"] == data["confirmation_number"]
    )
    log = ApiAuditLog.objects.filter(method="POST", status_code=201).latest("id")
    assert log.hotel.code == "APIH" and log.api_key_id == client.api_key.pk
    assert "Asha" in log.request_body and log.request_id and log.duration_ms >= 0


def test_idempotency_key_required(client, body):
    r = client.post("/api/v1/hotels/APIH/bookings/", body, format="json")
    assert r.status_code == 400 and code_of(r) == "idempotency_key_required"


@pytest.mark.parametrize(
    "change, status, code",
    [
        ({"check_in": "2000-01-01", "check_out": "2000-01-03"}, 400, "check_in_in_past"),
        ({"check_out": "CHECK_IN"}, 400, "check_out_not_after_check_in"),
        ({"check_out": "+31"}, 400, "stay_too_long"),
        ({"adults": 0}, 400, "no_adults"),
        ({"adults": 2, "children": 1, "room_type": "TWN", "rooms": 1}, None, None),
        ({"adults": 3}, 400, "too_many_guests"),
        ({"adults": "two"}, 400, "invalid_field"),
        ({"check_in": "tomorrow"}, 400, "invalid_field"),
        ({"room_type": "XXX"}, 400, "unknown_room_type"),
        ({"rate_plan": "XXX"}, 400, "unknown_rate_plan"),
        ({"colour": "blue"}, 400, "unknown_field"),
        (
            {"guest": {"first_name": "A", "last_name": "B", "email": "a@b.c", "x": 1}},
            400,
            "unknown_field",
        ),
        ({"guest": None}, 400, "invalid_field"),
        ({"expected_total": 1}, 409, "price_changed"),
    ],
)
def test_booking_errors(client, body, change, status, code):
    data = dict(body)
    for key, value in change.items():
        if value == "CHECK_IN":
            value = data["check_in"]
        elif isinstance(value, str) and value.startswith("+"):
            value = (
                timezone.datetime.fromisoformat(data["check_in"]).date()
                + timedelta(days=int(value[1:]))
            ).isoformat()
        data[key] = value
    if status is None:  # the control case: TWN holds 2 adults + 1 child
        data["expected_total"] = None
        assert book(client, data).status_code == 201
        return
    r = book(client, data)
    assert r.status_code == status, r.content
    assert code_of(r) == code
    assert set(r.json()["error"]) >= {"code", "message", "fields"}
    if code == "price_changed":
        assert r.json()["error"]["total"] == 2_000_000
        assert r.json()["error"]["currency"] == "INR"
    assert Reservation.objects.count() == 0


def test_malformed_json(client):
    r = client.post(
        "/api/v1/hotels/APIH/bookings/",
        b'{"room_type": ',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="x",
    )
    assert r.status_code == 400 and code_of(r) == "malformed_json"


def test_json_not_an_object(client):
    r = client.post(
        "/api/v1/hotels/APIH/bookings/",
        b"[1, 2]",
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="x",
    )
    assert r.status_code == 400


def test_sold_out_is_409(client, body):
    body = {**body, "room_type": "TWN", "expected_total": None}
    assert book(client, body).status_code == 201
    r = book(client, body)
    assert r.status_code == 409 and code_of(r) == "no_availability"
    assert r.json()["error"]["reasons"][0]["code"] == "sold_out"


def test_failed_attempt_frees_the_key(client, body):
    r = book(client, {**body, "expected_total": 5}, key="retry-me")
    assert r.status_code == 409
    r = book(client, body, key="retry-me")
    assert r.status_code == 201


def test_pms_master_unavailable_and_sold_out(client, body, hotel):
    Hotel.objects.filter(pk=hotel.pk).update(availability_master="pms")
    external.register_availability_checker(None)
    r = book(client, body)
    assert r.status_code == 503 and code_of(r) == "pms_unavailable"
    assert "contact the hotel" in r.json()["error"]["message"]

    def sold_out(query):
        raise NoAvailability("The PMS has no room.")

    def down(query):
        raise ExternalAvailabilityUnavailable("timeout")

    try:
        external.register_availability_checker(sold_out)
        r = book(client, body)
        assert r.status_code == 409 and code_of(r) == "no_availability"
        external.register_availability_checker(down)
        assert book(client, body).status_code == 503
    finally:
        external.register_availability_checker(None)
    assert Reservation.objects.count() == 0


def test_other_hotel_key_cannot_book_or_see(client, body, other_hotel, make_client):
    outsider = make_client([other_hotel])
    r = book(outsider, body)
    assert r.status_code == 404 and code_of(r) == "hotel_not_found"
    number = book(client, body).json()["confirmation_number"]
    for call in (
        lambda: outsider.get(f"/api/v1/bookings/{number}/"),
        lambda: outsider.patch(f"/api/v1/bookings/{number}/", {"adults": 1}, format="json"),
        lambda: outsider.post(f"/api/v1/bookings/{number}/cancel/", {}, format="json"),
    ):
        r = call()
        assert r.status_code == 404 and code_of(r) == "booking_not_found"
    assert outsider.get("/api/v1/bookings/").json()["results"] == []


def test_modify_and_cancel(client, body, stay):
    number = book(client, body).json()["confirmation_number"]
    r = client.patch(
        f"/api/v1/bookings/{number}/",
        {"check_out": (stay[1] + timedelta(days=1)).isoformat(), "special_requests": "Quiet"},
        format="json",
    )
    assert r.status_code == 200, r.content
    assert r.json()["nights"] == 3 and r.json()["total_amount"] == 3_000_000
    assert r.json()["special_requests"] == "Quiet" and r.json()["version"] == 2
    r = client.patch(f"/api/v1/bookings/{number}/", {"room_type": "NOPE"}, format="json")
    assert r.status_code == 400 and code_of(r) == "unknown_room_type"
    r = client.patch(f"/api/v1/bookings/{number}/", {"adults": 0}, format="json")
    assert r.status_code == 400 and code_of(r) == "no_adults"
    r = client.patch(
        f"/api/v1/bookings/{number}/", {"adults": 1, "expected_total": 1}, format="json"
    )
    assert r.status_code == 409 and code_of(r) == "price_changed"

    r = client.post(
        f"/api/v1/bookings/{number}/cancel/", {"reason": "Plans changed"}, format="json"
    )
    assert r.status_code == 200
    assert r.json()["status"] == "cancelled" and r.json()["already_cancelled"] is False
    again = client.post(f"/api/v1/bookings/{number}/cancel/")
    assert again.status_code == 200 and again.json()["already_cancelled"] is True
    r = client.patch(f"/api/v1/bookings/{number}/", {"adults": 1}, format="json")
    assert r.status_code == 409 and code_of(r) == "reservation_cancelled"
    assert client.get("/api/v1/bookings/NOPE-123/").status_code == 404


def test_list_filters_and_cursor(client, body, hotel, stay):
    numbers = []
    for index in range(3):
        data = {**body, "guest": {**body["guest"], "email": f"g{index}@example.com"}}
        data["room_type"] = "DBL" if index < 2 else "TWN"
        numbers.append(book(client, data).json()["confirmation_number"])
    client.post(f"/api/v1/bookings/{numbers[0]}/cancel/")
    r = client.get("/api/v1/bookings/?limit=2")
    assert r.status_code == 200
    page = r.json()
    assert len(page["results"]) == 2 and page["next"]
    rest = client.get(page["next"]).json()
    seen = [b["confirmation_number"] for b in page["results"] + rest["results"]]
    assert sorted(seen) == sorted(numbers)
    assert seen[-1] == numbers[0]  # the cancellation made it the latest change
    assert len(client.get("/api/v1/bookings/?status=cancelled").json()["results"]) == 1
    assert len(client.get("/api/v1/bookings/?hotel=APIH").json()["results"]) == 3
    assert client.get(f"/api/v1/bookings/?arrival_from={stay[1]}").json()["results"] == []
    assert len(client.get(f"/api/v1/bookings/?arrival_to={stay[0]}").json()["results"]) == 3
    future = (timezone.now() + timedelta(hours=1)).isoformat()
    r = client.get("/api/v1/bookings/", {"updated_since": future})
    assert r.json()["results"] == []
    r = client.get("/api/v1/bookings/?status=lost")
    assert r.status_code == 400 and code_of(r) == "invalid_field"
    r = client.get("/api/v1/bookings/?arrival_from=soon")
    assert r.status_code == 400


def test_availability_errors(client, hotel):
    today = hotel.today()
    url = "/api/v1/hotels/APIH/availability/"
    cases = [
        ({"check_in": today - timedelta(days=1), "check_out": today}, "check_in_in_past"),
        ({"check_in": today, "check_out": today}, "check_out_not_after_check_in"),
        ({"check_in": today, "check_out": today + timedelta(days=31)}, "stay_too_long"),
        ({"check_in": today, "check_out": today + timedelta(days=1), "adults": 0}, "no_adults"),
        ({"check_in": today, "check_out": "x"}, "invalid_field"),
        ({"check_in": today}, "missing_field"),
    ]
    for params, code in cases:
        r = client.get(url, params)
        assert r.status_code == 400 and code_of(r) == code, (params, r.content)
    r = client.get(url, {"check_in": today, "check_out": today + timedelta(days=1), "adults": 3})
    assert r.status_code == 200
    assert r.json()["offers"] == []
    assert {u["reasons"][0]["code"] for u in r.json()["unavailable"]} == {"too_many_guests"}
    r = client.get("/api/v1/hotels/NOPE/availability/", {"check_in": today})
    assert r.status_code == 404 and code_of(r) == "hotel_not_found"


def test_nul_bytes_never_500(client):
    assert client.get("/api/v1/hotels/A%00B/").status_code == 404
    assert client.get("/api/v1/bookings/A%00B/").status_code == 404
    assert client.get("/api/v1/bookings/?hotel=A%00B").status_code == 400
    r = client.post(
        "/api/v1/hotels/APIH/bookings/",
        json.dumps({"room_type": "A\u0000"}),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="nul",
    )
    assert r.status_code == 400


@pytest.mark.django_db(transaction=True)
def test_the_pms_is_asked_outside_any_transaction_and_retries_replay(client, body, hotel):
    from django.db import transaction

    Hotel.objects.filter(pk=hotel.pk).update(availability_master="pms")
    asked = []

    def pms(query):
        asked.append(transaction.get_connection().in_atomic_block)

    external.register_availability_checker(pms)
    first = book(client, body, key="same-key")
    assert first.status_code == 201, first.content
    assert asked == [False]

    def pms_down(query):
        raise ExternalAvailabilityUnavailable("down")

    # A retry of the booking already made is answered from the record, PMS or not.
    external.register_availability_checker(pms_down)
    again = book(client, body, key="same-key")
    assert again.status_code == 201
    assert again.json()["confirmation_number"] == first.json()["confirmation_number"]
    assert Reservation.objects.count() == 1


def test_updated_since_at_the_ends_of_time_is_not_an_error(client, body):
    book(client, body)
    late = client.get("/api/v1/bookings/", {"updated_since": "9999-12-31T23:59:59-12:00"})
    early = client.get("/api/v1/bookings/", {"updated_since": "0001-01-01T00:00:00+14:00"})
    assert late.status_code == 200 and late.json()["results"] == []
    assert early.status_code == 200 and len(early.json()["results"]) == 1


def test_the_created_answer_is_what_a_fetch_reads(client, body):
    # The answer is described from the objects just written; it must say exactly
    # what reading the booking back says (guest as stored, rooms, nights, times).
    first = book(client, {**body, "rooms": 2, "adults": 1, "expected_total": None})
    assert first.status_code == 201, first.content
    returning = {
        **body,
        "check_in": body["check_out"],
        "check_out": (date.fromisoformat(body["check_out"]) + timedelta(days=2)).isoformat(),
        "guest": {"first_name": "Asha", "last_name": "Rao", "email": "ASHA@example.com"},
        "expected_total": None,
    }
    second = book(client, returning)
    assert second.status_code == 201, second.content
    for created in (first.json(), second.json()):
        fetched = client.get(f"/api/v1/bookings/{created['confirmation_number']}/")
        assert fetched.json() == created
    assert second.json()["guest"]["phone"] == "+91 98450 00000"
    assert first.json()["rooms"] == 2


def test_the_booking_answer_is_what_drf_renders_from_the_declared_fields(client, body):
    """``booking_representation`` (fast) answers exactly what the declared fields describe."""
    from rest_framework import serializers as drf

    from bookings.api.serializers import BookingSerializer, booking_representation

    made = book(client, body).json()
    later = {
        "check_in": (date.fromisoformat(body["check_in"]) + timedelta(days=20)).isoformat(),
        "check_out": (date.fromisoformat(body["check_out"]) + timedelta(days=20)).isoformat(),
    }
    two_rooms = book(client, {**body, **later, "rooms": 2, "expected_total": None})
    assert two_rooms.status_code == 201, two_rooms.json()
    cancelled_number = two_rooms.json()["confirmation_number"]
    client.post(f"/api/v1/bookings/{cancelled_number}/cancel/", {}, format="json")
    for number in (made["confirmation_number"], cancelled_number):
        reservation = Reservation.objects.get(confirmation_number=number)
        generic = drf.ModelSerializer.to_representation(BookingSerializer(), reservation)
        assert booking_representation(reservation) == generic
        assert client.get(f"/api/v1/bookings/{number}/").json() == generic
    assert generic["cancelled_at"] is not None and generic["rooms"] == 2


def test_each_request_is_validated_on_its_own_though_the_serializer_is_reused(client, body):
    """Input serializers are kept per thread: no error, value or default of one request
    may show in the next."""
    missing_email = {**body, "guest": {**body["guest"], "email": ""}}
    first = book(client, missing_email)
    assert first.status_code == 400 and set(first.json()["error"]["fields"]) == {"guest.email"}

    made = book(client, {**body, "special_requests": "Sea view"})
    assert made.status_code == 201 and made.json()["special_requests"] == "Sea view"

    bad_dates = {**body, "check_in": "not-a-date"}
    bad_dates.pop("special_requests")
    third = book(client, bad_dates)
    assert third.status_code == 400 and set(third.json()["error"]["fields"]) == {"check_in"}

    again = book(client, {k: v for k, v in body.items() if k != "special_requests"})
    assert again.status_code == 201 and again.json()["special_requests"] == ""
