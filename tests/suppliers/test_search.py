"""Search: every enabled supplier at once, normalised offers with markup, the cache, and one
failing supplier never hiding the other's offers."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from suppliers.content import sync_content
from suppliers.models import MarkupRule

from .conftest import make_supplier

pytestmark = pytest.mark.django_db


def params(**extra) -> dict:
    start = date.today() + timedelta(days=20)
    return {
        "destination": "GOI",
        "check_in": start.isoformat(),
        "check_out": (start + timedelta(days=2)).isoformat(),
        "adults": 2,
        **extra,
    }


@pytest.fixture
def two(hb_sandbox):
    first = make_supplier(hb_sandbox)
    second = make_supplier(hb_sandbox, code="hotelbeds-b", partner="hotelbeds2")
    for supplier in (first, second):
        sync_content(supplier, full=True)
    return first, second


def test_offers_come_from_both_suppliers_with_content_and_markup(two, api):
    first, _ = two
    MarkupRule.objects.create(supplier=first, kind="percent", percent=Decimal("10"))
    answer = api("suppliers:read").get("/api/v1/suppliers/search/", params())
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert [(s["supplier"], s["ok"]) for s in body["suppliers"]] == [
        ("hotelbeds", True),
        ("hotelbeds-b", True),
    ]
    assert {o["supplier"] for o in body["offers"]} == {"hotelbeds", "hotelbeds-b"}
    offer = next(o for o in body["offers"] if o["supplier"] == "hotelbeds")
    assert offer["hotel"]["content"] is True and offer["hotel"]["images"][0].endswith(".svg")
    rate = offer["rates"][0]
    assert rate["rate_type"] in ("BOOKABLE", "RECHECK") and rate["rate_key"]
    assert rate["selling"]["amount"] == rate["net"]["amount"] + rate["markup"]["amount"]
    assert rate["markup"]["amount"] == round(rate["net"]["amount"] / 10)
    other = next(o for o in body["offers"] if o["supplier"] == "hotelbeds-b")
    assert other["rates"][0]["selling"] == other["rates"][0]["net"]  # no rule: sold at net
    # No rate paid at the hotel is offered: Pema takes no card data.
    # (the simulator issues one per hotel, its key marked HOTEL)
    keys = [r["rate_key"] for o in body["offers"] for r in o["rates"]]
    assert keys and not [k for k in keys if "|HOTEL|" in k]
    assert {len(o["rates"]) for o in body["offers"]} == {4}


def test_the_answer_is_cached_by_the_normalised_query(two, api, hb_sandbox):
    client = api("suppliers:read")
    first = client.get("/api/v1/suppliers/search/", params(destination="goi")).json()
    calls = hb_sandbox.state()["calls_today"]
    again = client.get("/api/v1/suppliers/search/", params(destination="GOI")).json()
    assert (first["cached"], again["cached"]) == (False, True)
    assert hb_sandbox.state()["calls_today"] == calls  # the supplier was not asked again
    assert again["offers"] == first["offers"]


def test_one_supplier_failing_still_returns_the_others_offers(two, api, hb_sandbox):
    hb_sandbox.faults("hotelbeds2", status=500)
    client = api("suppliers:read")
    body = client.get("/api/v1/suppliers/search/", params()).json()
    statuses = {s["supplier"]: s for s in body["suppliers"]}
    assert statuses["hotelbeds"]["ok"] is True
    assert statuses["hotelbeds-b"]["ok"] is False
    assert statuses["hotelbeds-b"]["error"]["code"] == "supplier_unavailable"
    assert body["offers"] and {o["supplier"] for o in body["offers"]} == {"hotelbeds"}
    # Not cached: the failing supplier is asked again next time.
    hb_sandbox.faults("hotelbeds2", status=None)
    again = client.get("/api/v1/suppliers/search/", params()).json()
    assert again["cached"] is False and all(s["ok"] for s in again["suppliers"])


def test_a_supplier_that_times_out_is_reported_and_the_other_answers(two, api, hb_sandbox):
    _, second = two
    second.search_timeout_seconds = 0.3
    second.save()
    hb_sandbox.faults("hotelbeds2", slow_ms=1500)
    body = api("suppliers:read").get("/api/v1/suppliers/search/", params()).json()
    statuses = {s["supplier"]: s for s in body["suppliers"]}
    assert statuses["hotelbeds-b"]["ok"] is False
    assert statuses["hotelbeds-b"]["error"]["code"] in ("supplier_unavailable", "supplier_timeout")
    assert statuses["hotelbeds"]["ok"] is True and body["offers"]


@pytest.mark.parametrize(
    "change, field",
    [
        ({"check_out": "2020-01-01"}, "check_out"),
        ({"destination": None}, "destination"),
        ({"hotels": "1,2"}, "destination"),
        ({"children": 1}, "children_ages"),
        ({"rooms": 0}, "rooms"),
        ({"sort": "price"}, "sort"),
    ],
)
def test_bad_parameters_are_a_400_in_the_api_shape(api, change, field):
    query = {k: v for k, v in {**params(), **change}.items() if v is not None}
    answer = api("suppliers:read").get("/api/v1/suppliers/search/", query)
    assert answer.status_code == 400
    assert field in answer.json()["error"]["fields"]


def test_search_needs_the_scope(api):
    answer = api("availability:read").get("/api/v1/suppliers/search/", params())
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "permission_denied"
