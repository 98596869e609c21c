"""Ten threads send the same Idempotency-Key at once: exactly one booking (PostgreSQL)."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from rest_framework.test import APIClient

from bookings.models import IdempotencyRecord, Reservation


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_same_key_ten_threads_one_booking(hotel, make_client):
    raw = make_client([hotel]).raw_key
    check_in = hotel.today() + timedelta(days=3)
    body = {
        "room_type": "DBL",
        "rate_plan": "BAR",
        "check_in": check_in.isoformat(),
        "check_out": (check_in + timedelta(days=1)).isoformat(),
        "adults": 2,
        "guest": {"first_name": "Ravi", "last_name": "K", "email": "ravi@example.com"},
    }
    key = str(uuid.uuid4())
    barrier = threading.Barrier(10)
    results: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def send() -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        barrier.wait()
        try:
            r = client.post(
                "/api/v1/hotels/APIH/bookings/", body, format="json", HTTP_IDEMPOTENCY_KEY=key
            )
            with lock:
                results.append((r.status_code, r.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [status for status, _ in results] == [201] * 10, results
    assert len({data["confirmation_number"] for _, data in results}) == 1
    assert Reservation.objects.count() == 1
    assert IdempotencyRecord.objects.filter(key=key).count() == 1
