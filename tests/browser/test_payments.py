"""A guest pays in a real browser: Pema's payment page, the PayU simulator's checkout (a
``RunningSandbox``), and back to Pema's confirmation page; then the same with Fail."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from rest_framework.test import APIClient

from bookings.api_keys import issue_key
from bookings.models import Reservation
from payments.models import GatewayConfig
from tests.factories import sellable_hotel
from tests.sandbox import RunningSandbox

from .conftest import screenshot

# The return page settles the payment under row locks while the live server's other
# threads and the simulator's callbacks write too: PostgreSQL's job. On SQLite a
# busy database rolls the outer transaction back under a nested savepoint
# ("no such savepoint", seen under load), which proves nothing about Pema.
pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def payu_sandbox():
    with RunningSandbox() as running:
        yield running


@pytest.fixture
def booking(live_server, payu_sandbox, transactional_db, settings):
    settings.PEMA_PUBLIC_URL = live_server.url
    hotel = sellable_hotel(code="PAYB", rooms={"DBL": 2}, price=750_000)
    GatewayConfig.objects.create(
        hotel=hotel,
        base_url=f"{payu_sandbox.base_url}/payu",
        credentials={"key": settings.PAYU_SANDBOX_KEY, "salt": settings.PAYU_SANDBOX_SALT},
    )
    payu_sandbox.control(
        "payu", "configure", {"webhook_url": f"{live_server.url}/payments/payu/webhook/"}
    )
    issued = issue_key(name="Website", hotels=[hotel], scopes=["bookings:write"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw}")
    check_in = hotel.today() + timedelta(days=7)
    answer = client.post(
        f"/api/v1/hotels/{hotel.code}/bookings/",
        {
            "room_type": "DBL", "rate_plan": "BAR", "check_in": check_in.isoformat(),
            "check_out": (check_in + timedelta(days=2)).isoformat(), "adults": 2,
            "guest": {"first_name": "Asha", "last_name": "Rao", "email": "asha@example.com"},
            "payment": "payu",
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )  # fmt: skip
    assert answer.status_code == 201, answer.content
    return answer.json()


def test_a_guest_pays_on_payu_and_lands_on_the_confirmation_page(page, booking, payu_sandbox):
    page.goto(booking["payment"]["start_url"])
    # The start page posts itself to PayU's checkout on the simulator.
    expect(page).to_have_url(re.compile(re.escape(payu_sandbox.base_url) + "/payu/_payment"))
    expect(page.locator("#amount")).to_have_text("INR 15000.00")
    screenshot(page, "payu-checkout")
    page.click("#pay")

    expect(page.locator("#result")).to_have_text("Booking confirmed")
    expect(page.locator("#confirmation")).to_have_text(booking["confirmation_number"])
    screenshot(page, "payment-confirmed")
    stored = Reservation.objects.get(confirmation_number=booking["confirmation_number"])
    assert stored.status == "confirmed"


def test_a_guest_who_fails_the_payment_sees_the_booking_cancelled(page, booking):
    page.goto(booking["payment"]["start_url"])
    page.click("#fail")

    expect(page.locator("#result")).to_have_text("Payment failed")
    stored = Reservation.objects.get(confirmation_number=booking["confirmation_number"])
    assert stored.status == "cancelled"
