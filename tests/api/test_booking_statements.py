"""What a booking costs the database: its statements, and the confirmation-number retry."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bookings import reservations
from bookings.models import Reservation

pytestmark = pytest.mark.django_db


def _book(client, hotel):
    check_in = hotel.today() + timedelta(days=5)
    body = {
        "room_type": "DBL",
        "rate_plan": "BAR",
        "check_in": check_in.isoformat(),
        "check_out": (check_in + timedelta(days=2)).isoformat(),
        "adults": 2,
        "guest": {"first_name": "Asha", "last_name": "Rao", "email": "asha@example.com"},
    }
    return client.post(
        f"/api/v1/hotels/{hotel.code}/bookings/",
        body,
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )


@pytest.mark.django_db(transaction=True)  # one transaction, as in production: no test wrapper
def test_a_booking_is_a_short_list_of_statements(client, hotel):
    _book(client, hotel)  # the first request of a process reads what it keeps after
    with CaptureQueriesContext(connection) as queries:
        response = _book(client, hotel)
    assert response.status_code == 201, response.content
    statements = [q["sql"].split(" ", 1)[0].upper() for q in queries.captured_queries]
    # Hotel, room type and rate plan; the idempotency record; the locked calendar
    # rows, rates and the plan's link; one UPDATE of the counters; guest,
    # reservation, stay, nights, event; the answer stored; after the commit,
    # whether anyone listens; the audit row. No savepoint: a confirmation number
    # already taken is found by ON CONFLICT DO NOTHING, not by an error.
    assert "SAVEPOINT" not in statements and "RELEASE" not in statements
    assert len(statements) <= 19, statements


def test_a_confirmation_number_already_taken_is_drawn_again(client, hotel, monkeypatch):
    first = _book(client, hotel).json()["confirmation_number"]
    numbers = iter([first, first, f"{hotel.code}-NEW234"])
    monkeypatch.setattr(reservations, "new_confirmation_number", lambda hotel: next(numbers))
    response = _book(client, hotel)
    assert response.status_code == 201, response.content
    assert response.json()["confirmation_number"] == f"{hotel.code}-NEW234"
    assert Reservation.objects.filter(hotel=hotel).count() == 2
    fetched = client.get(f"/api/v1/bookings/{hotel.code}-NEW234/")
    assert fetched.json()["check_in"] == response.json()["check_in"]
