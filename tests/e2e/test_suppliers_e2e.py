"""Suppliers end to end: ``manage.py runsandbox`` (two Hotelbeds simulator instances), a real
Celery worker for the content sync, and the API as a booking engine calls it.

What Pema holds is checked against what the simulators hold.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from bookings.api_keys import issue_key
from partners.hotelbeds.setup import ensure_hotelbeds_supplier, sandbox_settings
from suppliers.models import Supplier, SupplierBooking, SupplierHotel
from suppliers.tasks import sync_supplier_content
from tests.factories import HotelFactory

from .conftest import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
KEY, SECRET = "hb-sandbox-key", "hb-sandbox-secret"
HOTELS = 300  # the simulator's default catalogue
BOOKINGS = "/api/v1/suppliers/bookings/"


@pytest.fixture
def engine(transactional_db) -> APIClient:
    issued = issue_key(
        name="engine", hotels=[HotelFactory()], scopes=["suppliers:read", "suppliers:write"]
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw}")
    return client


@pytest.fixture(autouse=True)
def fresh_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def supplier(sandbox, code: str = "hotelbeds", partner: str = "hotelbeds", **extra) -> Supplier:
    url = f"{sandbox.base_url}/{partner}"
    sandbox.control(partner, "configure", {"latency_ms": 50})
    return ensure_hotelbeds_supplier(
        Supplier,
        code=code,
        base_url=url,
        api_key=KEY,
        secret=SECRET,
        qps=extra.pop("qps", 20),
        settings=sandbox_settings(url),
        **extra,
    )


def synced(sandbox, row: Supplier) -> Supplier:
    """The content sync, run by the worker as the nightly beat would."""
    sync_supplier_content.apply_async(args=[row.pk, True], queue=settings.CHANNELS_TASK_QUEUE)
    wait_for(
        lambda: SupplierHotel.objects.filter(supplier=row).count() == HOTELS,
        timeout=60,
        what="content sync by the worker",
    )
    return Supplier.objects.get(pk=row.pk)


def stay(days: int = 25, nights: int = 2) -> dict:
    start = date.today() + timedelta(days=days)
    return {
        "check_in": start.isoformat(),
        "check_out": (start + timedelta(days=nights)).isoformat(),
    }


def search(client, **extra) -> dict:
    answer = client.get("/api/v1/suppliers/search/", {"destination": "PMI", **stay(), **extra})
    assert answer.status_code == 200, answer.json()
    return answer.json()


def first_rate(body: dict, rate_type: str, supplier_code: str = "hotelbeds") -> dict:
    for offer in body["offers"]:
        if offer["supplier"] != supplier_code:
            continue
        for rate in offer["rates"]:
            if rate["rate_type"] == rate_type:
                return {**rate, "destination": offer["hotel"]["destination"]}
    raise AssertionError(f"no {rate_type} rate from {supplier_code}: {body['suppliers']}")


def order(rate: dict, **extra) -> dict:
    return {
        "supplier": "hotelbeds",
        "rate_key": rate["rate_key"],
        "rate_type": rate["rate_type"],
        "destination": rate["destination"],
        "selling": rate["selling"],
        "tolerance_percent": 1,
        "holder": {"name": "Asha", "surname": "Rao"},
        "paxes": [
            {"room": 1, "type": "AD", "name": "Asha", "surname": "Rao"},
            {"room": 1, "type": "AD", "name": "Vikram", "surname": "Rao"},
        ],
        **extra,
    }


def book(client, body: dict, key: str | None = None):
    return client.post(BOOKINGS, body, format="json", HTTP_IDEMPOTENCY_KEY=key or str(uuid.uuid4()))


def test_content_sync_then_search_check_rate_book_fetch_simulate_and_cancel(
    sandbox, worker, engine
):
    row = synced(sandbox, supplier(sandbox))
    assert row.content_synced_at is not None
    body = search(engine)
    assert body["suppliers"] == [
        {
            "supplier": "hotelbeds",
            "ok": True,
            "offers": body["suppliers"][0]["offers"],
            "error": None,
            "hotels": body["suppliers"][0]["hotels"],
            "ms": body["suppliers"][0]["ms"],
        }
    ]
    offer = body["offers"][0]
    assert offer["hotel"]["content"] is True and offer["hotel"]["images"]

    rate = first_rate(body, "RECHECK")
    made = book(engine, order(rate))
    assert made.status_code == 201, made.json()
    booking = made.json()
    held = sandbox.partner_state("hotelbeds")
    assert held["checked_rate_keys"] == 1  # RECHECK went through checkrates first
    assert [b["reference"] for b in held["bookings"]] == [booking["reference"]]
    assert held["bookings"][0]["clientReference"] == booking["client_reference"]
    assert booking["selling"] == rate["selling"] and booking["status"] == "confirmed"

    fetched = engine.get(f"{BOOKINGS}{booking['id']}/").json()
    assert fetched["reference"] == booking["reference"]
    assert [b["id"] for b in engine.get(BOOKINGS).json()] == [booking["id"]]

    quote = engine.post(f"{BOOKINGS}{booking['id']}/cancel/?simulate=true").json()
    assert quote["simulated"] is True and quote["booking"]["status"] == "confirmed"
    assert sandbox.partner_state("hotelbeds")["bookings"][0]["status"] == "CONFIRMED"

    done = engine.post(f"{BOOKINGS}{booking['id']}/cancel/").json()
    assert done["booking"]["status"] == "cancelled"
    again = engine.post(f"{BOOKINGS}{booking['id']}/cancel/")
    assert again.status_code == 200 and again.json()["booking"]["status"] == "cancelled"
    assert [b["status"] for b in sandbox.partner_state("hotelbeds")["bookings"]] == ["CANCELLED"]


def test_a_timeout_during_booking_is_settled_without_a_duplicate(sandbox, worker, engine):
    row = synced(sandbox, supplier(sandbox))
    row.booking_timeout_seconds = 1.0
    row.save()
    rate = first_rate(search(engine), "BOOKABLE")
    # The simulator takes the booking but answers after Pema has stopped waiting.
    sandbox.partner_faults("hotelbeds", slow_ms=2500, methods=["POST"])
    made = book(engine, order(rate), key="e2e-timeout-1")
    assert made.status_code == 201, made.json()
    assert made.json()["settled_by_lookup"] is True
    retried = book(engine, order(rate), key="e2e-timeout-1")
    assert retried.json()["reference"] == made.json()["reference"]
    held = sandbox.partner_state("hotelbeds")["bookings"]
    assert len(held) == 1 and held[0]["reference"] == made.json()["reference"]
    assert SupplierBooking.objects.count() == 1


def test_quota_exhaustion_backs_off_and_is_shown(sandbox, worker, engine, admin_user):
    synced(sandbox, supplier(sandbox))
    used = sandbox.partner_state("hotelbeds")["calls_today"]
    sandbox.control("hotelbeds", "configure", {"daily_quota": used + 1})
    assert search(engine)["suppliers"][0]["ok"] is True  # the last call of the day
    refused = search(engine, adults=1)["suppliers"][0]
    assert refused["error"]["code"] == "supplier_quota_exhausted"
    calls = sandbox.partner_state("hotelbeds")["calls_today"]
    for adults in (3, 4):
        assert search(engine, adults=adults)["suppliers"][0]["error"]["code"] == (
            "supplier_quota_exhausted"
        )
    assert sandbox.partner_state("hotelbeds")["calls_today"] == calls  # Pema held back
    staff = Client()
    staff.force_login(admin_user)
    page = staff.get("/admin/suppliers/supplier/health/").content.decode()
    assert "(used up)" in page and "until tomorrow" in page
    ready = Client().get("/readyz/").json()
    assert ready["suppliers"][0]["quota_exhausted"] is True


def test_one_of_two_suppliers_failing_still_returns_the_others_offers(sandbox, worker, engine):
    synced(sandbox, supplier(sandbox))
    synced(sandbox, supplier(sandbox, code="hotelbeds-b", partner="hotelbeds2"))
    both = search(engine)
    assert {o["supplier"] for o in both["offers"]} == {"hotelbeds", "hotelbeds-b"}
    sandbox.partner_faults("hotelbeds2", down=True)
    body = search(engine, adults=1)
    statuses = {s["supplier"]: s for s in body["suppliers"]}
    assert statuses["hotelbeds"]["ok"] is True
    assert statuses["hotelbeds-b"]["ok"] is False
    assert statuses["hotelbeds-b"]["error"]["code"] == "supplier_unavailable"
    assert body["offers"] and {o["supplier"] for o in body["offers"]} == {"hotelbeds"}
    # And a booking from the answering supplier goes through.
    one_guest = [{"room": 1, "type": "AD", "name": "Asha", "surname": "Rao"}]
    made = book(engine, order(first_rate(body, "BOOKABLE"), paxes=one_guest))
    assert made.status_code == 201, made.json()
