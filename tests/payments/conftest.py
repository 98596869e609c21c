"""Fixtures of the payment tests: a hotel taking PayU payments, a fake PayU command API
(``responses``) and helpers that post PayU's callbacks."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
import responses
from rest_framework.test import APIClient

from bookings.api_keys import issue_key
from bookings.inventory import ensure_calendar
from bookings.models import ChangeEvent, RateDay
from payments.gateways.payu.hashes import command_hash, response_hash
from payments.models import GatewayConfig
from tests.factories import RatePlanFactory, sellable_hotel

KEY, SALT = "testkey", "testsalt"
PAYU = "https://payu.test"


@pytest.fixture
def hotel(db):
    hotel = sellable_hotel(code="PAYH", rooms={"DBL": 1, "TWN": 2}, price=750_000)
    plan = RatePlanFactory(
        hotel=hotel, code="NRF", name="Non-refundable", refundable=False,
        room_types=list(hotel.room_types.all()),
    )  # fmt: skip
    today = hotel.today()
    ensure_calendar(hotel, today, today + timedelta(days=60))
    RateDay.objects.filter(rate_plan=plan).update(price=700_000)
    ChangeEvent.objects.filter(hotel=hotel).delete()
    GatewayConfig.objects.create(hotel=hotel, base_url=PAYU, credentials={"key": KEY, "salt": SALT})
    return hotel


@pytest.fixture
def api(hotel):
    issued = issue_key(name="Website", hotels=[hotel], scopes=["bookings:write", "bookings:read"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw}")
    return client


def book(api, hotel, *, plan="BAR", room="DBL", days=10, nights=2, payment="payu", status=201):
    check_in = hotel.today() + timedelta(days=days)
    body = {
        "room_type": room,
        "rate_plan": plan,
        "check_in": check_in.isoformat(),
        "check_out": (check_in + timedelta(days=nights)).isoformat(),
        "adults": 2,
        "guest": {"first_name": "Asha", "last_name": "Rao", "email": "asha@example.com"},
    }
    if payment is not None:
        body["payment"] = payment
    answer = api.post(
        f"/api/v1/hotels/{hotel.code}/bookings/",
        body,
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )
    assert answer.status_code == status, answer.content
    return answer.json()


def callback(fields: dict, status: str = "success", *, salt: str = SALT, **changes) -> dict:
    """What PayU posts back for the checkout ``fields`` (the 201's payment.fields)."""
    form = {
        name: fields.get(name, "")
        for name in ("key", "txnid", "amount", "productinfo", "firstname", "email", "udf1")
    }
    form.update(mihpayid="403993715521889530", status=status, unmappedstatus="captured", mode="CC")
    form.update(changes)
    form["hash"] = response_hash(form, salt)
    return form


@dataclass
class FakePayU:
    """PayU's General API as ``responses`` answers it: txnid -> (status, amount)."""

    txns: dict[str, tuple[str, str]] = field(default_factory=dict)
    down: bool = False
    calls: list[dict] = field(default_factory=list)
    refunds: dict[str, dict] = field(default_factory=dict)

    def __call__(self, request):
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        self.calls.append(form)
        if self.down:
            import requests

            raise requests.ConnectionError("PayU is down")
        assert form["hash"] == command_hash(KEY, form["command"], form["var1"], SALT)
        command = form["command"]
        if command == "verify_payment":
            txnid = form["var1"]
            if txnid not in self.txns:
                details = {"mihpayid": "Not Found", "status": "Not Found"}
            else:
                status, amount = self.txns[txnid]
                details = {
                    "txnid": txnid,
                    "status": status,
                    "amt": amount,
                    "mihpayid": "403993715521889530",
                    "unmappedstatus": "captured",
                }
            body = {"status": 1, "msg": "fetched", "transaction_details": {txnid: details}}
        elif command == "cancel_refund_transaction":
            request_id = f"R{len(self.refunds) + 1}"
            self.refunds[request_id] = {"token": form["var2"], "amt": form["var3"]}
            body = {"status": 1, "msg": "Refund Request Queued", "request_id": request_id}
        else:
            details = {**self.refunds[form["var1"]], "status": "success", "action": "refund"}
            body = {"status": 1, "msg": "ok", "transaction_details": {form["var1"]: details}}
        return (200, {"Content-Type": "application/json"}, json.dumps(body))


@pytest.fixture
def payu():
    """The fake command API; tasks run in the test (eagerly) when their commit happens."""
    from pema.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    fake = FakePayU()
    try:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            mock.add_callback(responses.POST, f"{PAYU}/merchant/postservice.php", callback=fake)
            yield fake
    finally:
        app.conf.task_always_eager = eager
