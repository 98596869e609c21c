"""The Hotelbeds supplier against the recorded samples (``responses`` fakes the wire)."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import pytest
import requests
import responses

from partners.hotelbeds.provider import HotelbedsSupplier, availability_body, booking_body
from pema.http import OutgoingRequest
from pema.http_auth import key_secret_signature
from suppliers.interface import (
    RECHECK,
    BookingOutcomeUnknown,
    BookingRequest,
    Holder,
    Occupancy,
    Pax,
    QuotaExhausted,
    SearchQuery,
    SupplierConfig,
    SupplierRefused,
    SupplierThrottled,
    SupplierUnavailable,
)

SAMPLES = Path(__file__).resolve().parents[3] / "partners" / "hotelbeds" / "samples"
BASE = "https://api.test.hotelbeds.com"
FIXED = 1_800_000_000


def sample(name: str) -> dict:
    return json.loads((SAMPLES / name).read_text())


class RecordingGate:
    def __init__(self) -> None:
        self.admitted: list[str] = []
        self.events: list[tuple] = []

    def admit(self, operation, fingerprint):
        self.admitted.append(operation)

    def throttled(self, retry_after):
        self.events.append(("throttled", retry_after))

    def quota_exhausted(self):
        self.events.append(("exhausted",))

    def failed(self, fingerprint):
        self.events.append(("failed", fingerprint))


@pytest.fixture
def gate():
    return RecordingGate()


@pytest.fixture
def hb(gate):
    clock = iter(range(FIXED, FIXED + 1000))
    config = SupplierConfig(
        code="hotelbeds",
        base_url=BASE,
        credentials={"api_key": "key-1", "secret": "secret-1"},
        gate=gate,
        clock=lambda: next(clock),
    )
    return HotelbedsSupplier(config)


def query() -> SearchQuery:
    return SearchQuery(
        check_in=date(2027, 6, 15),
        check_out=date(2027, 6, 16),
        occupancies=(Occupancy(1, 2, ()),),
        hotels=("168", "3424"),
    )


def test_the_signature_is_sha256_of_key_secret_and_unix_seconds_on_a_fixed_clock():
    sign = key_secret_signature("key-1", "secret-1", clock=lambda: 1_700_000_000.987)
    headers = sign(OutgoingRequest("GET", BASE, {}, None))
    expected = hashlib.sha256(b"key-1secret-11700000000").hexdigest()
    assert headers == {"Api-key": "key-1", "X-Signature": expected}
    # Not the widely copied mistake: milliseconds would give another digest.
    assert expected != hashlib.sha256(b"key-1secret-11700000000987").hexdigest()


@responses.activate
def test_every_request_is_signed_afresh_with_the_time_it_is_sent(hb):
    responses.get(f"{BASE}/hotel-api/1.0/status", json=sample("status_rs.json"))
    hb.status()
    hb.status()
    sent = [call.request.headers for call in responses.calls]
    assert [h["Api-key"] for h in sent] == ["key-1", "key-1"]
    assert sent[0]["X-Signature"] == hashlib.sha256(f"key-1secret-1{FIXED}".encode()).hexdigest()
    assert (
        sent[1]["X-Signature"] == hashlib.sha256(f"key-1secret-1{FIXED + 1}".encode()).hexdigest()
    )
    assert sent[0]["Accept"] == "application/json"


def test_the_availability_request_has_the_samples_shape():
    assert availability_body(query()) == sample("availability_rq.json")


@responses.activate
def test_search_normalises_the_sample_and_leaves_out_rates_paid_at_the_hotel(hb, gate):
    responses.post(f"{BASE}/hotel-api/1.0/hotels", json=sample("availability_rs.json"))
    [offer] = hb.search(query())
    assert (offer.hotel_code, offer.hotel_name, offer.currency) == ("168", "Hotel Java", "EUR")
    assert [(r.board_code, r.rate_type, r.net) for r in offer.rates] == [
        ("RO", "BOOKABLE", 20526),
        ("BB", RECHECK, 24110),
    ]
    policy = offer.rates[0].cancellation_policies[0]
    assert (policy.amount, policy.currency, policy.starts_at) == (
        4105,
        "EUR",
        "2027-06-13T23:59:00+02:00",
    )
    assert json.loads(responses.calls[0].request.body) == sample("availability_rq.json")
    assert gate.admitted == ["search"]


@responses.activate
def test_check_rate_gives_the_rate_as_it_stands_now(hb):
    responses.post(f"{BASE}/hotel-api/1.0/checkrates", json=sample("checkrate_rs.json"))
    key = sample("checkrate_rq.json")["rooms"][0]["rateKey"]
    rate = hb.check_rate(key)
    assert (rate.net, rate.currency, rate.rate_type) == (24635, "EUR", "BOOKABLE")
    assert json.loads(responses.calls[0].request.body) == sample("checkrate_rq.json")


def booking_request() -> BookingRequest:
    rq = sample("booking_rq.json")
    return BookingRequest(
        rate_key=rq["rooms"][0]["rateKey"],
        holder=Holder("Asha", "Rao"),
        paxes=(Pax(1, "AD", "Asha", "Rao"), Pax(1, "AD", "Vikram", "Rao")),
        client_reference=rq["clientReference"],
        remark="Late arrival.",
        tolerance_percent=2,
    )


def test_the_booking_request_has_the_samples_shape():
    assert booking_body(booking_request()) == sample("booking_rq.json")


@responses.activate
def test_book_reads_the_confirmed_booking(hb):
    responses.post(f"{BASE}/hotel-api/1.0/bookings", json=sample("booking_rs.json"))
    result = hb.book(booking_request())
    assert (result.reference, result.status, result.net, result.currency) == (
        "52-1274418",
        "CONFIRMED",
        20526,
        "EUR",
    )
    assert (result.check_in, result.check_out) == (date(2027, 6, 15), date(2027, 6, 16))
    assert result.raw_request == sample("booking_rq.json")


@responses.activate
def test_a_lost_booking_answer_is_an_unknown_outcome_never_a_plain_failure(hb):
    responses.post(f"{BASE}/hotel-api/1.0/bookings", body=requests.ReadTimeout("slow"))
    with pytest.raises(BookingOutcomeUnknown):
        hb.book(booking_request())


@responses.activate
def test_find_booking_lists_by_client_reference(hb):
    responses.get(f"{BASE}/hotel-api/1.0/bookings", json=sample("booking_list_rs.json"))
    found = hb.find_booking(
        "PEMA3F9A1C2B4D5E6F70", created_from=date(2027, 5, 1), created_to=date(2027, 5, 3)
    )
    assert found is not None and found.reference == "52-1274418"
    sent = responses.calls[0].request.url
    assert "clientReference=PEMA3F9A1C2B4D5E6F70" in sent and "filterType=CREATION" in sent
    assert (
        hb.find_booking("OTHER", created_from=date(2027, 5, 1), created_to=date(2027, 5, 3)) is None
    )


@responses.activate
def test_cancel_simulates_and_cancels(hb):
    url = f"{BASE}/hotel-api/1.0/bookings/52-1274418"
    responses.delete(url, json=sample("cancel_simulation_rs.json"))
    quote = hb.cancel("52-1274418", simulate=True)
    assert (quote.status, quote.fee, quote.simulated) == ("CONFIRMED", 0, True)
    assert "cancellationFlag=SIMULATION" in responses.calls[0].request.url
    responses.replace(responses.DELETE, url, json=sample("cancel_rs.json"))
    done = hb.cancel("52-1274418", simulate=False)
    assert (done.status, done.fee, done.currency) == ("CANCELLED", 4105, "EUR")
    assert "cancellationFlag=CANCELLATION" in responses.calls[1].request.url


@responses.activate
def test_content_is_read_by_page_with_its_images_in_visual_order(hb):
    responses.get(f"{BASE}/hotel-content-api/1.0/hotels", json=sample("content_hotels_rs.json"))
    page = hb.content(first=1, last=1000, updated_since=date(2027, 1, 1))
    java, sol = page.hotels
    assert (page.first, page.last, page.total) == (1, 2, 2)
    assert java.images == ("00/000168/000168a_hb_a_001.jpg", "00/000168/000168a_hb_ro_002.jpg")
    assert java.facilities == ("Wi-fi", "Outdoor swimming pool")
    assert (java.latitude, java.longitude, java.last_update) == (39.5708, 2.6476, date(2027, 4, 20))
    assert sol.description == "" and sol.images == ()
    url = responses.calls[0].request.url
    assert "from=1" in url and "to=1000" in url and "lastUpdateTime=2027-01-01" in url
    assert hb.image_url(java.images[0]).startswith("https://photos.hotelbeds.com/giata/00/")
    with pytest.raises(ValueError):
        hb.content(first=1, last=1001)


@responses.activate
def test_over_qps_backs_off_and_over_rate_stops_for_the_day(hb, gate):
    url = f"{BASE}/hotel-api/1.0/hotels"
    responses.post(url, status=403, json=sample("error_over_qps_rs.json"))
    with pytest.raises(SupplierThrottled):
        hb.search(query())
    responses.replace(responses.POST, url, status=403, json=sample("error_over_rate_rs.json"))
    with pytest.raises(QuotaExhausted):
        hb.search(query())
    assert gate.events == [("throttled", 0.0), ("exhausted",)]


@responses.activate
def test_a_refused_request_is_remembered_and_a_5xx_is_not(hb, gate):
    url = f"{BASE}/hotel-api/1.0/hotels"
    responses.post(url, status=400, json={"error": {"code": "INVALID_DATA", "message": "bad"}})
    with pytest.raises(SupplierRefused, match="bad"):
        hb.search(query())
    assert [e[0] for e in gate.events] == ["failed"]
    responses.replace(responses.POST, url, status=503, body="busy")
    with pytest.raises(SupplierUnavailable):
        hb.search(query())
    assert [e[0] for e in gate.events] == ["failed"]
