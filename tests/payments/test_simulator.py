"""The PayU simulator over HTTP (in a thread): the checkout's checks, the guest's choice
posted back with the reverse hash, and the command API with its hash."""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode

import pytest
from django.conf import settings

from payments.gateways.payu.gateway import PayUCredentials, PayUGateway
from payments.gateways.payu.hashes import command_hash, request_hash, response_hash
from payments.gateways.payu.simulator import PayUSimulator
from tests.sandbox import HarnessThread

FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def sim(tmp_path):
    with HarnessThread({"payu": PayUSimulator}, tmp_path) as harness:
        harness.control("payu", "configure", {"webhook_drop": True})
        yield harness


def checkout_fields(txnid: str = "PMtest0001", **changes) -> dict:
    fields = {
        "key": settings.PAYU_SANDBOX_KEY, "txnid": txnid, "amount": "15000.00",
        "productinfo": "Stay", "firstname": "Asha", "email": "asha@example.com",
        "phone": "9876543210", "surl": "http://pema.test/ok", "furl": "http://pema.test/ko",
    }  # fmt: skip
    fields.update(changes)
    fields["hash"] = request_hash(fields, settings.PAYU_SANDBOX_SALT)
    return fields


def post_form(sim, path: str, fields: dict):
    return sim.post(path, urlencode(fields).encode(), headers={"Content-Type": FORM})


def test_the_checkout_page_offers_pay_fail_and_leave_pending(sim):
    page = post_form(sim, "/payu/_payment", checkout_fields())
    assert page.status_code == 200
    for button in ("id='pay'", "id='fail'", "id='leave-pending'", "5123456789012346"):
        assert button in page.text


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"hash": "0" * 128}, "Invalid Hash"),
        ({"key": "nokey"}, "Invalid key"),
        ({"txnid": "T" * 26}, "txnid is longer"),
        ({"amount": "15,000"}, "Invalid amount"),
        ({"email": ""}, "Mandatory parameter missing: email"),
    ],
)
def test_a_bad_checkout_request_is_refused(sim, change, reason):
    fields = checkout_fields()
    if "hash" in change:
        fields.update(change)
    else:
        fields = checkout_fields(**change)
    page = post_form(sim, "/payu/_payment", fields)
    assert page.status_code == 400
    assert reason in page.text


def test_paying_posts_the_result_to_surl_with_the_reverse_hash(sim):
    post_form(sim, "/payu/_payment", checkout_fields())
    choice = {"txnid": "PMtest0001", "action": "pay", "card": "5123456789012346"}
    page = post_form(sim, "/payu/_payment/decide", choice)
    assert "action='http://pema.test/ok'" in page.text
    fields = dict(re.findall(r"name='([^']+)' value='([^']*)'", page.text))
    assert fields["status"] == "success" and fields["unmappedstatus"] == "captured"
    assert fields["hash"] == response_hash(fields, settings.PAYU_SANDBOX_SALT)
    again = post_form(sim, "/payu/_payment", checkout_fields())
    assert again.status_code == 400 and "duplicate Order ID" in again.text


def test_failing_and_another_card_post_to_furl(sim):
    post_form(sim, "/payu/_payment", checkout_fields())
    declined = sim.control("payu", "decide", {"txnid": "PMtest0001", "action": "pay",
                                              "card": "4111111111111111"})  # fmt: skip
    assert declined["url"] == "http://pema.test/ko"
    assert declined["fields"]["unmappedstatus"] == "bounced"


def test_the_command_api_checks_its_hash(sim):
    form = {"key": settings.PAYU_SANDBOX_KEY, "command": "verify_payment", "var1": "X",
            "hash": "bad"}  # fmt: skip
    answer = post_form(sim, "/payu/merchant/postservice.php?form=2", form)
    assert json.loads(answer.text) == {"status": 0, "msg": "Invalid Hash."}
    form["hash"] = command_hash(form["key"], "verify_payment", "X", settings.PAYU_SANDBOX_SALT)
    answer = post_form(sim, "/payu/merchant/postservice?form=2", form)
    assert json.loads(answer.text)["msg"] == "0 out of 1 Transactions Fetched Successfully"


def test_pemas_gateway_client_verifies_and_refunds_against_the_simulator(sim):
    post_form(sim, "/payu/_payment", checkout_fields())
    sim.control("payu", "decide", {"txnid": "PMtest0001", "action": "pay"})
    gateway = PayUGateway(PayUCredentials(
        key=settings.PAYU_SANDBOX_KEY, salt=settings.PAYU_SANDBOX_SALT,
        base_url=f"{sim.base_url}/payu",
    ))  # fmt: skip
    txn = gateway.verify_payment("PMtest0001")
    assert (txn.found, txn.status, txn.amount) == (True, "success", "15000.00")
    first = gateway.refund(mihpayid=txn.mihpayid, token="RF1", amount="5000.00")
    assert first.accepted and first.message == "Refund Request Queued"
    assert gateway.refund(mihpayid=txn.mihpayid, token="RF1", amount="5000.00") == first
    too_much = gateway.refund(mihpayid=txn.mihpayid, token="RF2", amount="10000.01")
    assert not too_much.accepted
    assert gateway.refund_state(first.request_id).settled
