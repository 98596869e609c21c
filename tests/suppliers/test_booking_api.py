"""Booking through a supplier: idempotency, check rate, price changes, a lost answer settled by
client reference, cancellation (simulated, real, twice), limits."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
import responses

from suppliers.content import sync_content
from suppliers.health import report
from suppliers.models import SupplierBooking

pytestmark = pytest.mark.django_db
SAMPLES = Path(__file__).resolve().parents[2] / "partners" / "hotelbeds" / "samples"
URL = "/api/v1/suppliers/bookings/"


def sample(name: str) -> dict:
    return json.loads((SAMPLES / name).read_text())


def order(rate: dict, supplier: str = "hotelbeds", **extra) -> dict:
    return {
        "supplier": supplier,
        "rate_key": rate["rate_key"],
        "rate_type": rate["rate_type"],
        "holder": {"name": "Asha", "surname": "Rao"},
        "paxes": [
            {"room": 1, "type": "AD", "name": "Asha", "surname": "Rao"},
            {"room": 1, "type": "AD", "name": "Vikram", "surname": "Rao"},
        ],
        **extra,
    }


def post(client, body, key=None):
    return client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY=key or str(uuid.uuid4()))


# --- Idempotency against the recorded sample ----------------------------------------------


@pytest.fixture
def recorded(db):
    from partners.hotelbeds.setup import ensure_hotelbeds_supplier
    from suppliers.models import Supplier

    return ensure_hotelbeds_supplier(
        Supplier,
        code="hotelbeds",
        base_url="https://api.test.hotelbeds.com",
        api_key="k",
        secret="s",
        qps=50,
    )


@responses.activate
def test_a_retried_booking_replays_the_first_answer_and_books_once(recorded, api):
    responses.post(
        "https://api.test.hotelbeds.com/hotel-api/1.0/bookings", json=sample("booking_rs.json")
    )
    client = api("suppliers:write")
    rate = {"rate_key": sample("booking_rq.json")["rooms"][0]["rateKey"], "rate_type": "BOOKABLE"}
    first = post(client, order(rate), key="retry-key-0001")
    again = post(client, order(rate), key="retry-key-0001")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert first.json()["reference"] == "52-1274418"
    assert first.json()["net"] == {"amount": 20526, "currency": "EUR"}
    assert len(responses.calls) == 1 and SupplierBooking.objects.count() == 1
    sent = json.loads(responses.calls[0].request.body)
    assert (
        sent["clientReference"] == first.json()["client_reference"]
        and len(sent["clientReference"]) <= 20
    )
    other = post(client, order(rate, remark="another"), key="retry-key-0001")
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
    missing = client.post(URL, order(rate), format="json")
    assert (
        missing.status_code == 400 and missing.json()["error"]["code"] == "idempotency_key_required"
    )


# --- Against the simulator ----------------------------------------------------------------


@pytest.fixture
def hb(supplier, hb_sandbox):
    sync_content(supplier, full=True)
    return supplier


def search(client, **extra) -> dict:
    start = date.today() + timedelta(days=20)
    query = {
        "destination": "GOI",
        "check_in": start.isoformat(),
        "check_out": (start + timedelta(days=2)).isoformat(),
        **extra,
    }
    return client.get("/api/v1/suppliers/search/", query).json()


def a_rate(client, rate_type="BOOKABLE") -> dict:
    body = search(client)
    for offer in body["offers"]:
        for rate in offer["rates"]:
            if rate["rate_type"] == rate_type:
                return rate
    raise AssertionError(f"no {rate_type} rate in {body['suppliers']}")


def test_book_fetch_list_simulate_cancel_and_cancel_twice(hb, api, hb_sandbox):
    client = api("suppliers:read", "suppliers:write")
    rate = a_rate(client)
    made = post(client, order(rate, selling=rate["selling"]))
    assert made.status_code == 201, made.json()
    booking = made.json()
    assert booking["status"] == "confirmed" and booking["selling"] == rate["selling"]
    assert client.get(f"{URL}{booking['id']}/").json()["reference"] == booking["reference"]
    assert [b["id"] for b in client.get(URL).json()] == [booking["id"]]
    quote = client.post(f"{URL}{booking['id']}/cancel/?simulate=true")
    assert quote.status_code == 200 and quote.json()["simulated"] is True
    assert quote.json()["booking"]["status"] == "confirmed"
    assert [b["status"] for b in hb_sandbox.state()["bookings"]] == ["CONFIRMED"]
    done = client.post(f"{URL}{booking['id']}/cancel/")
    assert done.json()["booking"]["status"] == "cancelled"
    calls = hb_sandbox.state()["calls_today"]
    twice = client.post(f"{URL}{booking['id']}/cancel/")
    assert twice.status_code == 200 and twice.json()["booking"]["status"] == "cancelled"
    assert hb_sandbox.state()["calls_today"] == calls  # answered from what Pema holds
    assert [b["status"] for b in hb_sandbox.state()["bookings"]] == ["CANCELLED"]


def test_a_recheck_rate_is_check_rated_and_a_moved_price_is_409(hb, api, hb_sandbox):
    client = api("suppliers:read", "suppliers:write")
    rate = a_rate(client, "RECHECK")
    hb_sandbox.command("hotelbeds", "configure", {"price_drift_percent": 5})
    refused = post(client, order(rate, selling=rate["selling"], tolerance_percent=2))
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "price_changed"
    assert error["selling"]["amount"] > rate["selling"]["amount"]
    assert hb_sandbox.state()["checked_rate_keys"] == 1 and not hb_sandbox.state()["bookings"]
    accepted = post(client, order(rate, selling=rate["selling"], tolerance_percent=6))
    assert accepted.status_code == 201, accepted.json()
    assert accepted.json()["selling"]["amount"] == error["selling"]["amount"]


def test_a_booking_whose_answer_is_lost_is_settled_by_client_reference_not_made_twice(
    hb, api, hb_sandbox
):
    hb.booking_timeout_seconds = 0.5
    hb.save()
    client = api("suppliers:read", "suppliers:write")
    rate = a_rate(client)
    hb_sandbox.faults("hotelbeds", slow_ms=1200, methods=["POST"])
    made = post(client, order(rate), key="lost-answer-01")
    assert made.status_code == 201, made.json()
    assert made.json()["settled_by_lookup"] is True
    held = hb_sandbox.state()["bookings"]
    assert len(held) == 1 and held[0]["reference"] == made.json()["reference"]
    again = post(client, order(rate), key="lost-answer-01")
    assert again.json() == made.json() and len(hb_sandbox.state()["bookings"]) == 1


def test_pay_at_hotel_rates_are_not_sold(hb, api, hb_sandbox):
    client = api("suppliers:read", "suppliers:write")
    rate = a_rate(client)
    key = rate["rate_key"].replace("|WEB|", "|HOTEL|")
    answer = post(client, order({**rate, "rate_key": key}))
    assert answer.status_code in (409, 422)  # forged key or card rate: refused either way
    assert not hb_sandbox.state()["bookings"]


def test_quota_exhaustion_stops_the_calls_and_shows_on_the_health_report(hb, api, hb_sandbox):
    client = api("suppliers:read")
    hb_sandbox.command("hotelbeds", "configure", {"daily_quota": hb_sandbox.state()["calls_today"]})
    body = search(client)
    [status] = body["suppliers"]
    assert status["error"]["code"] == "supplier_quota_exhausted"
    calls = hb_sandbox.state()["calls_today"]
    again = search(client, adults=1)
    assert again["suppliers"][0]["error"]["code"] == "supplier_quota_exhausted"
    assert hb_sandbox.state()["calls_today"] == calls  # Pema did not ask again
    [row] = report()
    assert row["quota_exhausted"] is True


def test_writing_needs_the_write_scope_and_keys_see_their_own_bookings(hb, api):
    reader = api("suppliers:read")
    assert post(reader, order({"rate_key": "x", "rate_type": "BOOKABLE"})).status_code == 403
    writer = api("suppliers:read", "suppliers:write")
    rate = a_rate(writer)
    made = post(writer, order(rate)).json()
    other = api("suppliers:write")
    assert other.get(f"{URL}{made['id']}/").status_code == 404
    assert other.get(f"{URL}{'9' * 40}/").status_code == 404
    assert other.get(f"{URL}abc/").status_code == 404
    assert other.get(URL).json() == []


def test_bad_booking_bodies_are_400(hb, api):
    client = api("suppliers:write")
    bad = post(client, {"supplier": "hotelbeds", "rate_key": "x", "rate_type": "MAYBE"})
    assert bad.status_code == 400 and "rate_type" in bad.json()["error"]["fields"]
    unknown = post(client, order({"rate_key": "x", "rate_type": "BOOKABLE"}, supplier="nope"))
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "supplier_not_found"
