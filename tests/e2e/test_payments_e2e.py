"""Payments end to end: the sandbox process's PayU simulator, Pema's live server (PayU's
webhook and the guest's return reach it over HTTP), a real Celery worker (refunds, expiry,
reconciliation) and the real database.

The guest's browser is played by ``requests``: the checkout form goes to the
simulator's ``/_payment``, the guest's choice is the simulator's ``decide``
command (what its buttons do), and the post it answers goes to Pema's return
page. tests/browser/test_payments.py does the same in Chromium.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import requests
from django.conf import settings
from rest_framework.test import APIClient

from bookings.api_keys import issue_key
from bookings.models import ChangeEvent, InventoryDay, Reservation
from payments import tasks
from payments.models import GatewayConfig, Payment, PaymentEvent, Refund
from tests.factories import sellable_hotel

from .conftest import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


@pytest.fixture
def shop(transactional_db, sandbox, live_server, settings):
    """A hotel with one DBL room taking PayU on the simulator, webhooks to the live server."""
    settings.PEMA_PUBLIC_URL = live_server.url
    hotel = sellable_hotel(code="PAYE", rooms={"DBL": 1}, price=750_000)
    GatewayConfig.objects.create(
        hotel=hotel,
        base_url=f"{sandbox.base_url}/payu",
        credentials={"key": settings.PAYU_SANDBOX_KEY, "salt": settings.PAYU_SANDBOX_SALT},
    )
    configure(sandbox, webhook_url=f"{live_server.url}/payments/payu/webhook/")
    return hotel


def configure(sandbox, **values) -> dict:
    return sandbox.control("payu", "configure", values)


def api(hotel) -> APIClient:
    issued = issue_key(name="Website", hotels=[hotel], scopes=["bookings:write", "bookings:read"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw}")
    return client


def book(hotel, *, days: int = 10, payment: str | None = "payu", status: int = 201) -> dict:
    check_in = hotel.today() + timedelta(days=days)
    body = {
        "room_type": "DBL", "rate_plan": "BAR", "check_in": check_in.isoformat(),
        "check_out": (check_in + timedelta(days=2)).isoformat(), "adults": 2,
        "guest": {"first_name": "Asha", "last_name": "Rao", "email": "asha@example.com"},
    }  # fmt: skip
    if payment:
        body["payment"] = payment
    answer = api(hotel).post(f"/api/v1/hotels/{hotel.code}/bookings/", body, format="json",
                             HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))  # fmt: skip
    assert answer.status_code == status, answer.content
    return answer.json()


def checkout(booking: dict) -> str:
    """The guest's browser posts the payment form to PayU's checkout; returns the txnid."""
    payment = booking["payment"]
    page = requests.post(payment["action"], data=payment["fields"], timeout=10)
    assert page.status_code == 200, page.text
    return payment["fields"]["txnid"]


def come_back(post: dict) -> requests.Response:
    """The browser follows the simulator's auto-post to surl/furl (Pema's return page)."""
    return requests.post(post["url"], data=post["fields"], timeout=30)


def reservation(booking: dict) -> Reservation:
    return Reservation.objects.get(confirmation_number=booking["confirmation_number"])


def confirmations(booking: dict) -> int:
    return ChangeEvent.objects.filter(
        reservation=reservation(booking), kind=ChangeEvent.Kind.RESERVATION_MODIFIED,
        payload__status="confirmed", payload__previous__status="pending_payment",
    ).count()  # fmt: skip


def rooms_free(hotel, days: int = 10) -> int:
    day = hotel.today() + timedelta(days=days)
    return InventoryDay.objects.get(room_type__hotel=hotel, date=day).available


def callbacks(booking: dict, kind: str) -> list[str]:
    return list(
        PaymentEvent.objects.filter(payment__reservation=reservation(booking), kind=kind)
        .order_by("id")
        .values_list("outcome", flat=True)
    )


def run_on_worker(task, *args) -> None:
    task.apply_async(args=args, queue=settings.CHANNELS_TASK_QUEUE)


def test_webhook_before_the_browser_return_confirms_once(shop, sandbox, worker):
    booking = book(shop)
    post = sandbox.control("payu", "decide", {"txnid": checkout(booking), "action": "pay"})
    wait_for(lambda: reservation(booking).status == "confirmed", what="webhook confirmation")

    page = come_back(post)
    assert page.status_code == 200 and "Booking confirmed" in page.text
    assert confirmations(booking) == 1
    assert callbacks(booking, "return")[0].startswith("duplicate")


def test_browser_return_before_the_webhook_confirms_once(shop, sandbox, worker):
    configure(sandbox, webhook_delay_ms=1500)
    booking = book(shop)
    post = sandbox.control("payu", "decide", {"txnid": checkout(booking), "action": "pay"})
    page = come_back(post)
    assert "Booking confirmed" in page.text
    wait_for(lambda: callbacks(booking, "webhook"), what="the late webhook")
    assert callbacks(booking, "webhook")[0].startswith("duplicate")
    assert confirmations(booking) == 1


def test_duplicate_webhooks_give_one_confirmation(shop, sandbox, worker):
    configure(sandbox, webhook_copies=3)
    booking = book(shop)
    sandbox.control("payu", "decide", {"txnid": checkout(booking), "action": "pay"})
    wait_for(lambda: len(callbacks(booking, "webhook")) == 3, what="three webhooks")
    outcomes = callbacks(booking, "webhook")
    assert sum(o.startswith("confirmed") for o in outcomes) == 1
    assert confirmations(booking) == 1
    assert Payment.objects.get().status == "succeeded"


def test_a_failed_payment_cancels_and_frees_the_room(shop, sandbox, worker):
    booking = book(shop)
    assert rooms_free(shop) == 0
    post = sandbox.control("payu", "decide", {"txnid": checkout(booking), "action": "fail"})
    assert "Payment failed" in come_back(post).text
    assert reservation(booking).status == "cancelled"
    assert rooms_free(shop) == 1


def test_hold_expiry_frees_the_room(shop, sandbox, worker, settings):
    settings.PAYMENT_HOLD_MINUTES = 0
    booking = book(shop)
    checkout(booking)  # the guest is at PayU's page and stays there
    assert rooms_free(shop) == 0
    run_on_worker(tasks.expire_holds)
    wait_for(lambda: reservation(booking).status == "cancelled", what="expiry")
    assert rooms_free(shop) == 1
    assert Payment.objects.get().status == "failed"


def test_a_late_success_with_the_room_gone_is_refunded(shop, sandbox, worker, settings):
    settings.PAYMENT_HOLD_MINUTES = 0
    booking = book(shop)
    txnid = checkout(booking)
    run_on_worker(tasks.expire_holds)
    wait_for(lambda: reservation(booking).status == "cancelled", what="expiry")
    book(shop, payment=None)  # another guest takes the room meanwhile

    post = sandbox.control("payu", "decide", {"txnid": txnid, "action": "pay"})
    assert "refunded in full" in come_back(post).text
    wait_for(lambda: Payment.objects.get().status == "refunded", timeout=30, what="refund")
    assert reservation(booking).status == "cancelled"
    refunds = sandbox.partner_state("payu")["refunds"]
    assert [r["amt"] for r in refunds.values()] == ["15000.00"]
    assert "room was gone" in Payment.objects.get().attention


@pytest.mark.parametrize(
    ("days", "fee", "refunded"), [(10, 0, "15000.00"), (0, 750_000, "7500.00")]
)
def test_cancelling_refunds_what_the_policy_allows(shop, sandbox, worker, days, fee, refunded):
    booking = book(shop, days=days)
    post = sandbox.control("payu", "decide", {"txnid": checkout(booking), "action": "pay"})
    come_back(post)
    answer = api(shop).post(f"/api/v1/bookings/{booking['confirmation_number']}/cancel/", {},
                            format="json").json()  # fmt: skip
    assert answer["cancellation_fee"] == fee
    wait_for(lambda: Refund.objects.filter(status="settled").exists(), timeout=30, what="refund")
    refunds = sandbox.partner_state("payu")["refunds"]
    assert [r["amt"] for r in refunds.values()] == [refunded]
    payment = Payment.objects.get()
    assert payment.status == ("refunded" if fee == 0 else "partly_refunded")


def test_forged_callbacks_change_nothing(shop, sandbox, worker, live_server):
    configure(sandbox, tamper_hash=True)
    booking = book(shop)
    post = sandbox.control("payu", "decide", {"txnid": checkout(booking), "action": "pay"})
    assert come_back(post).status_code == 400
    forged = {**post["fields"], "txnid": "PMnosuchpayment", "hash": "0" * 128}
    webhook = f"{live_server.url}/payments/payu/webhook/"
    assert requests.post(webhook, data=forged, timeout=10).status_code == 400
    wait_for(lambda: len(callbacks(booking, "webhook")) == 1, what="the tampered webhook")
    assert reservation(booking).status == "pending_payment"
    assert Payment.objects.get().status == "initiated"
    assert PaymentEvent.objects.filter(answered=400).count() == 3


def test_payu_down_during_verify_stays_pending_until_reconciled(shop, sandbox, worker):
    configure(sandbox, webhook_drop=True)
    booking = book(shop)
    post = sandbox.control("payu", "decide", {"txnid": checkout(booking), "action": "pay"})
    sandbox.partner_faults("payu", down=True)
    assert "Payment being confirmed" in come_back(post).text
    assert Payment.objects.get().status == "pending"
    assert reservation(booking).status == "pending_payment"

    sandbox.partner_faults("payu", down=False)
    run_on_worker(tasks.reconcile_payments, 0)
    wait_for(lambda: reservation(booking).status == "confirmed", what="reconciliation")
    assert Payment.objects.get().status == "succeeded"
