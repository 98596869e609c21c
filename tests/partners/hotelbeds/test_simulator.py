"""The Hotelbeds simulator: what §5.6 of the notes says it checks, and the samples' shapes."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from tests.support.hotelbeds import KEY, SECRET, serving

SAMPLES = Path(__file__).resolve().parents[3] / "partners" / "hotelbeds" / "samples"
NOW = 1_800_000_000  # the simulator's fixed clock


def sample(name: str) -> dict:
    return json.loads((SAMPLES / name).read_text())


def shape(value):
    """The keys and JSON types of a document (lists by their first item)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def missing(expected, actual, path=""):
    """Every key path of ``expected`` that ``actual`` lacks or types differently."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [path or "/"]
        out = []
        for key, value in expected.items():
            if key not in actual:
                out.append(f"{path}/{key}")
            else:
                out += missing(value, actual[key], f"{path}/{key}")
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [path]
        return missing(expected[0], actual[0], path + "[0]") if expected and actual else []
    return [] if expected == actual else [f"{path} ({expected} != {actual})"]


class Client:
    def __init__(self, sandbox, partner="hotelbeds") -> None:
        self.base = sandbox.url(partner)
        self.sim = sandbox.simulator(partner)
        self.sim.clock = lambda: NOW
        self.sandbox = sandbox

    def headers(self, t: float = NOW, **extra) -> dict:
        signature = hashlib.sha256(f"{KEY}{SECRET}{int(t)}".encode()).hexdigest()
        return {"Api-key": KEY, "X-Signature": signature, "Accept": "application/json", **extra}

    def post(self, path, body, **headers):
        return requests.post(
            self.base + path,
            data=json.dumps(body),
            headers={**self.headers(), "Content-Type": "application/json", **headers},
            timeout=10,
        )

    def get(self, path, params=None, **headers):
        return requests.get(
            self.base + path, params=params, headers={**self.headers(), **headers}, timeout=10
        )

    def delete(self, path, params=None):
        return requests.delete(self.base + path, params=params, headers=self.headers(), timeout=10)


@pytest.fixture
def hb(tmp_path, settings):
    settings.HOTELBEDS_SANDBOX_LATENCY_MS = 0
    settings.HOTELBEDS_SANDBOX_HOTELS = 30
    with serving(tmp_path) as sandbox:
        yield Client(sandbox)


def stay(days=30, nights=2):
    start = datetime.fromtimestamp(NOW, UTC).date() + timedelta(days=days)
    return {"checkIn": start.isoformat(), "checkOut": (start + timedelta(days=nights)).isoformat()}


def codes(hb, count=3):
    first = hb.sandbox.state()["first_hotel_code"]
    return [first + i for i in range(count)]


def availability(hb, **extra):
    body = {
        "stay": stay(),
        "occupancies": [{"rooms": 1, "adults": 2, "children": 0}],
        "hotels": {"hotel": codes(hb)},
    }
    return hb.post("/hotel-api/1.0/hotels", {**body, **extra})


def rates(answer):
    return [
        rate
        for hotel in answer.json()["hotels"]["hotels"]
        for room in hotel["rooms"]
        for rate in room["rates"]
    ]


def a_rate(hb, rate_type="BOOKABLE", payment="AT_WEB"):
    for rate in rates(availability(hb)):
        if rate["rateType"] == rate_type and rate["paymentType"] == payment:
            return rate
    raise AssertionError(f"no {rate_type} {payment} rate")


def booking(rate, **extra):
    body = sample("booking_rq.json")
    body["rooms"][0]["rateKey"] = rate["rateKey"]
    return {**body, **extra}


# --- The samples' shapes -----------------------------------------------------------------


def test_every_answer_has_the_shape_of_its_sample(hb):
    answer = availability(hb)
    assert answer.status_code == 200
    assert not missing(shape(sample("availability_rs.json")), shape(answer.json()))
    rate = a_rate(hb, "RECHECK")
    checked = hb.post("/hotel-api/1.0/checkrates", {"rooms": [{"rateKey": rate["rateKey"]}]})
    assert not missing(shape(sample("checkrate_rs.json")), shape(checked.json()))
    booked = hb.post("/hotel-api/1.0/bookings", booking(a_rate(hb)))
    assert booked.status_code == 200, booked.text
    assert not missing(shape(sample("booking_rs.json")), shape(booked.json()))
    reference = booked.json()["booking"]["reference"]
    today = datetime.fromtimestamp(NOW, UTC).date().isoformat()
    listed = hb.get(
        "/hotel-api/1.0/bookings",
        {
            "start": today,
            "end": today,
            "clientReference": sample("booking_rq.json")["clientReference"],
        },
    )
    assert not missing(shape(sample("booking_list_rs.json")), shape(listed.json()))
    quoted = hb.delete(f"/hotel-api/1.0/bookings/{reference}", {"cancellationFlag": "SIMULATION"})
    assert not missing(shape(sample("cancel_simulation_rs.json")), shape(quoted.json()))
    cancelled = hb.delete(
        f"/hotel-api/1.0/bookings/{reference}", {"cancellationFlag": "CANCELLATION"}
    )
    assert not missing(shape(sample("cancel_rs.json")), shape(cancelled.json()))
    status = hb.get("/hotel-api/1.0/status")
    assert status.json()["status"] == "OK"
    content = hb.get("/hotel-content-api/1.0/hotels", {"fields": "all", "from": 1, "to": 2})
    expected = shape(sample("content_hotels_rs.json"))
    for optional in (
        "stateCode",
        "categoryGroupCode",
        "chainCode",
        "accommodationTypeCode",
        "boardCodes",
        "postalCode",
        "email",
    ):
        expected["hotels"][0].pop(optional)
    expected["hotels"][0]["facilities"][0].pop("order")
    assert not missing(expected, shape(content.json()))


def test_the_sample_requests_are_taken_as_they_are(hb):
    body = sample("availability_rq.json")
    body["stay"] = stay()
    body["hotels"]["hotel"] = codes(hb, 2)
    assert hb.post("/hotel-api/1.0/hotels", body).status_code == 200


# --- 1. Signature ------------------------------------------------------------------------


def test_a_missing_or_wrong_signature_is_not_authorized_with_the_mashery_code(hb):
    answer = requests.post(
        hb.base + "/hotel-api/1.0/hotels",
        data="{}",
        headers={"Accept": "application/json"},
        timeout=5,
    )
    assert answer.status_code == 403
    assert answer.json()["error"]["message"] == "Not Authorized"
    assert answer.headers["X-Mashery-Error-Code"] == "ERR_403_NOT_AUTHORIZED"
    assert (
        hb.get("/hotel-api/1.0/status", **{"Api-key": "another"}).json()["error"]["message"]
        == "Developer Inactive"
    )


def test_the_clock_window_is_five_minutes_and_milliseconds_are_refused(hb):
    assert hb.get("/hotel-api/1.0/status", **hb.headers(NOW - 290)).status_code == 200
    assert hb.get("/hotel-api/1.0/status", **hb.headers(NOW + 290)).status_code == 200
    assert hb.get("/hotel-api/1.0/status", **hb.headers(NOW - 310)).status_code == 403
    milliseconds = hb.headers(NOW * 1000)
    assert hb.get("/hotel-api/1.0/status", **milliseconds).status_code == 403


# --- 2. QPS and quota --------------------------------------------------------------------


def test_qps_and_the_daily_quota(hb):
    hb.sandbox.command("hotelbeds", "configure", {"qps": 2, "daily_quota": 3})
    assert [hb.get("/hotel-api/1.0/status").status_code for _ in range(2)] == [200, 200]
    over = hb.get("/hotel-api/1.0/status")
    assert (over.status_code, over.json()["error"]["message"]) == (403, "Developer Over QPS")
    hb.sim.clock = lambda: NOW + 1
    assert hb.get("/hotel-api/1.0/status", **hb.headers(NOW + 1)).status_code == 200
    hb.sim.clock = lambda: NOW + 2
    over = hb.get("/hotel-api/1.0/status", **hb.headers(NOW + 2))
    assert (over.status_code, over.json()["error"]["message"]) == (403, "Developer Over Rate")
    assert over.headers["X-Mashery-Error-Code"] == "ERR_403_DEVELOPER_OVER_RATE"


# --- 3. Accept and Content-Type ----------------------------------------------------------


def test_accept_and_content_type(hb):
    assert hb.get("/hotel-api/1.0/status", Accept="text/html").status_code == 406
    assert availability(hb).status_code == 200
    body = {
        "stay": stay(),
        "occupancies": [{"rooms": 1, "adults": 2}],
        "hotels": {"hotel": codes(hb)},
    }
    assert (
        hb.post("/hotel-api/1.0/hotels", body, **{"Content-Type": "text/plain"}).status_code == 415
    )


# --- 4. Availability inputs --------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"stay": {"checkIn": "2027-07-10", "checkOut": "2027-07-09"}},
        {"stay": {"checkIn": "2020-01-01", "checkOut": "2020-01-02"}},
        {"occupancies": [{"rooms": 0, "adults": 2, "children": 0}]},
        {"occupancies": [{"rooms": 1, "adults": 0, "children": 0}]},
        {"occupancies": [{"rooms": 1, "adults": 2, "children": 1}]},
        {"hotels": {"hotel": [999]}},
    ],
)
def test_availability_refuses_bad_inputs(hb, change):
    answer = availability(hb, **change)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "INVALID_DATA"


def test_children_with_their_ages_and_a_destination(hb):
    body = {
        "stay": stay(),
        "occupancies": [
            {"rooms": 1, "adults": 2, "children": 1, "paxes": [{"type": "CH", "age": 7}]}
        ],
        "destination": {"code": "GOI"},
        "filter": {"maxHotels": 2},
    }
    answer = hb.post("/hotel-api/1.0/hotels", body)
    assert answer.status_code == 200
    hotels = answer.json()["hotels"]["hotels"]
    assert len(hotels) == 2 and {h["destinationCode"] for h in hotels} == {"GOI"}
    assert {r["children"] for r in rates(answer)} == {1}


# --- 5 and 6. Rate keys and bookings -----------------------------------------------------


def test_both_rate_types_are_issued_and_a_recheck_rate_must_be_check_rated_first(hb):
    assert {r["rateType"] for r in rates(availability(hb))} == {"BOOKABLE", "RECHECK"}
    rate = a_rate(hb, "RECHECK")
    refused = hb.post("/hotel-api/1.0/bookings", booking(rate))
    assert refused.status_code == 400 and "checkrates" in refused.json()["error"]["message"]
    checked = hb.post("/hotel-api/1.0/checkrates", {"rooms": [{"rateKey": rate["rateKey"]}]})
    assert checked.json()["hotel"]["rooms"][0]["rates"][0]["rateType"] == "BOOKABLE"
    booked = hb.post("/hotel-api/1.0/bookings", booking(rate, clientReference="PEMA-2"))
    assert booked.status_code == 200 and booked.json()["booking"]["status"] == "CONFIRMED"


def test_a_rate_key_not_issued_or_expired_is_refused(hb):
    rate = a_rate(hb)
    forged = rate["rateKey"][:-1] + ("0" if rate["rateKey"][-1] != "0" else "1")
    assert hb.post("/hotel-api/1.0/checkrates", {"rooms": [{"rateKey": forged}]}).status_code == 400
    hb.sim.clock = lambda: NOW + 3601
    answer = hb.post(
        "/hotel-api/1.0/checkrates",
        {"rooms": [{"rateKey": rate["rateKey"]}]},
        **hb.headers(NOW + 3601),
    )
    assert "expired" in answer.json()["error"]["message"]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"holder": {"name": "A" * 51, "surname": "Rao"}}, "at most 50"),
        ({"holder": {"name": "Asha"}}, "holder.surname"),
        ({"rooms": "paxes:one adult"}, "needs 2 AD"),
        ({"rooms": "paxes:a child"}, "needs 2 AD"),
    ],
)
def test_holder_and_pax_rules(hb, change, message):
    body = booking(a_rate(hb))
    if change.get("rooms") == "paxes:one adult":
        body["rooms"][0]["paxes"] = body["rooms"][0]["paxes"][:1]
    elif change.get("rooms") == "paxes:a child":
        body["rooms"][0]["paxes"][1]["type"] = "CH"
    else:
        body.update(change)
    answer = hb.post("/hotel-api/1.0/bookings", body)
    assert answer.status_code == 400 and message in answer.json()["error"]["message"]


def test_a_failed_request_repeated_within_15_minutes_is_410(hb):
    body = booking(a_rate(hb), holder={"name": "Asha", "surname": ""})
    assert hb.post("/hotel-api/1.0/bookings", body).status_code == 400
    assert hb.post("/hotel-api/1.0/bookings", body).status_code == 410
    hb.sim.clock = lambda: NOW + 901
    assert hb.post("/hotel-api/1.0/bookings", body, **hb.headers(NOW + 901)).status_code == 400


def test_pay_at_hotel_rates_need_payment_data_on_the_secure_host(hb):
    rate = a_rate(hb, payment="AT_HOTEL")
    assert hb.post("/hotel-api/1.0/bookings", booking(rate)).status_code == 402
    card = {"paymentCard": {"cardType": "VI"}, "contactData": {"email": "a@example.com"}}
    assert (
        hb.post(
            "/hotel-api/1.0/bookings", booking(rate, paymentData=card, clientReference="C2")
        ).status_code
        == 400
    )
    secure = requests.post(
        hb.base + "/secure/hotel-api/1.0/bookings",
        data=json.dumps(booking(rate, paymentData=card, clientReference="C3")),
        headers={**hb.headers(), "Content-Type": "application/json"},
        timeout=5,
    )
    assert secure.status_code == 200


def test_a_price_moved_beyond_the_tolerance_is_refused(hb):
    rate = a_rate(hb)
    hb.sandbox.command("hotelbeds", "configure", {"price_drift_percent": 5})
    assert hb.post("/hotel-api/1.0/bookings", booking(rate, tolerance=2)).status_code == 400
    assert hb.post("/hotel-api/1.0/bookings", booking(rate, tolerance=6)).status_code == 200


# --- 7. Cancellation ---------------------------------------------------------------------


def test_simulation_changes_nothing_and_cancellation_is_idempotent(hb):
    reference = hb.post("/hotel-api/1.0/bookings", booking(a_rate(hb))).json()["booking"][
        "reference"
    ]
    before = hb.sandbox.state()["bookings"]
    quote = hb.delete(f"/hotel-api/1.0/bookings/{reference}", {"cancellationFlag": "SIMULATION"})
    assert quote.status_code == 200 and "cancellationAmount" in quote.json()["booking"]["hotel"]
    assert hb.sandbox.state()["bookings"] == before
    first = hb.delete(f"/hotel-api/1.0/bookings/{reference}", {"cancellationFlag": "CANCELLATION"})
    again = hb.delete(f"/hotel-api/1.0/bookings/{reference}", {"cancellationFlag": "CANCELLATION"})
    assert first.json()["booking"]["status"] == again.json()["booking"]["status"] == "CANCELLED"
    assert [b["status"] for b in hb.sandbox.state()["bookings"]] == ["CANCELLED"]


# --- 8. Content --------------------------------------------------------------------------


def test_content_pages_deltas_and_images(hb):
    too_many = hb.get("/hotel-content-api/1.0/hotels", {"from": 1, "to": 1001})
    assert too_many.status_code == 400
    page = hb.get("/hotel-content-api/1.0/hotels", {"fields": "all", "from": 11, "to": 20}).json()
    assert (page["from"], page["to"], page["total"], len(page["hotels"])) == (11, 20, 30, 10)
    code = page["hotels"][0]["code"]
    hb.sandbox.command("hotelbeds", "touch", {"codes": [code], "date": "2027-03-01"})
    delta = hb.get(
        "/hotel-content-api/1.0/hotels", {"from": 1, "to": 1000, "lastUpdateTime": "2027-02-01"}
    ).json()
    assert [h["code"] for h in delta["hotels"]] == [code]
    image = requests.get(f"{hb.base}/photos/{page['hotels'][0]['images'][0]['path']}", timeout=5)
    assert image.status_code == 200 and image.headers["Content-Type"] == "image/svg+xml"


def test_the_content_api_is_throttled_harder(hb):
    answers = [
        hb.get("/hotel-content-api/1.0/hotels", {"from": 1, "to": 1}).status_code for _ in range(6)
    ]
    assert answers == [200] * 5 + [403]


def test_two_instances_are_two_accounts_with_their_own_catalogues(hb):
    other = Client(hb.sandbox, "hotelbeds2")
    assert (
        hb.sandbox.state("hotelbeds")["first_hotel_code"]
        != hb.sandbox.state("hotelbeds2")["first_hotel_code"]
    )
    assert other.get("/hotel-api/1.0/status").status_code == 200
