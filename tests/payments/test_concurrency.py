"""Twenty guests race for the last room with payment: one holds it (PostgreSQL, threads)."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from bookings.api_keys import issue_key
from bookings.models import InventoryDay, Reservation
from payments.models import Payment
from tests.support.threads import run_together


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_guests_race_for_the_last_room_with_payment(hotel, payu):
    raw = issue_key(name="Website", hotels=[hotel], scopes=["bookings:write"]).raw
    check_in = hotel.today() + timedelta(days=5)
    answers: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def guest() -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        answer = client.post(
            f"/api/v1/hotels/{hotel.code}/bookings/",
            {
                "room_type": "DBL", "rate_plan": "BAR", "check_in": check_in.isoformat(),
                "check_out": (check_in + timedelta(days=1)).isoformat(), "adults": 2,
                "guest": {"first_name": "G", "last_name": uuid.uuid4().hex[:6],
                          "email": f"{uuid.uuid4().hex[:8]}@example.com"},
                "payment": "payu",
            },
            format="json",
            HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
        )  # fmt: skip
        with lock:
            answers.append((answer.status_code, answer.json()))

    run_together(guest, 20)

    codes = sorted(code for code, _ in answers)
    assert codes == [201] + [409] * 19, codes
    held = next(body for code, body in answers if code == 201)
    assert held["status"] == "pending_payment" and held["payment"]["fields"]["txnid"]
    refused = [body for code, body in answers if code == 409]
    assert all(body["error"]["code"] == "no_availability" for body in refused)
    assert all("payment" not in body for body in refused)  # never sent to PayU
    assert Payment.objects.count() == 1
    assert Reservation.objects.filter(status="pending_payment").count() == 1
    day = InventoryDay.objects.get(room_type__hotel=hotel, room_type__code="DBL", date=check_in)
    assert (day.sold, day.available) == (1, 0)
    assert not payu.calls  # booking asks PayU nothing: the guest's browser goes there
