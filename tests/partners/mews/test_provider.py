"""The Mews provider against recorded samples (``partners/mews/samples/``)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import responses
from django.utils import timezone

from channels.interface import FetchWindow, HousekeepingStatus, InboundKind, WebhookRequest
from channels.models import Connection
from channels.providers.base import NotSupported, TransientError, Unauthorised, WebhookRefused
from partners.mews.provider import windows
from tests.factories import sellable_hotel
from tests.support.provider_contract import ProviderContract

SAMPLES = Path(__file__).resolve().parents[3] / "partners" / "mews" / "samples"
BASE = "http://mews.test"
API = f"{BASE}/api/connector/v1"
RESERVATIONS = f"{API}/reservations/getAll/2023-06-06"


def sample(name: str) -> dict:
    return json.loads((SAMPLES / f"{name}.json").read_text())


def body_of(call) -> dict:
    return json.loads(call.request.body)


@pytest.fixture
def conn(db) -> Connection:
    hotel = sellable_hotel(code="MEWS", rooms={"EXQ": 3}, days=30)
    hotel.timezone = "Asia/Kolkata"
    hotel.save()
    return Connection.objects.create(
        hotel=hotel,
        provider="mews",
        name="Mews",
        base_url=BASE,
        push_ari=False,
        settings={"service_id": "svc-1"},
        credentials={"client_token": "ct", "access_token": "at", "webhook_secret": "tok"},
    )


@responses.activate
def test_reservations_are_read_by_cursor_in_windows_with_their_customers(conn):
    responses.post(RESERVATIONS, json=sample("reservations_getall"))
    responses.post(f"{API}/customers/getAll", json=sample("customers_getall"))
    since = datetime.now(UTC) - timedelta(days=1)
    (page,) = list(conn.get_provider().fetch_reservations(FetchWindow(since=since)))
    sent = body_of(responses.calls[0])
    assert (sent["ClientToken"], sent["AccessToken"]) == ("ct", "at")
    assert sent["Client"].startswith("Pema ")
    assert sent["Limitation"] == {"Count": 1000, "Cursor": None}
    assert set(sent["UpdatedUtc"]) == {"StartUtc", "EndUtc"}
    assert body_of(responses.calls[1])["CustomerIds"] == ["35d4b117-4e60-44a3-9580-c582117eff98"]
    (reservation,) = page
    assert reservation.kind == InboundKind.NEW
    assert (reservation.guest.email, reservation.guest.country) == ("asha.rao@example.com", "IN")
    room = reservation.rooms[0]
    assert (room.partner_room_id, room.partner_rate_id, room.adults) == ("EXQ", "BAR", 2)
    # 08:30Z and 05:30Z are 14:00 and 11:00 in Kolkata: the hotel's stay dates.
    assert (room.check_in, room.check_out) == (date(2026, 12, 20), date(2026, 12, 22))


@responses.activate
def test_a_short_page_ends_the_cursor_walk_and_a_full_one_passes_the_cursor_back(conn):
    row = sample("reservations_getall")["Reservations"][0]
    full = {"Reservations": [{**row, "Id": f"r{n}"} for n in range(1000)], "Cursor": "r999"}
    responses.post(RESERVATIONS, json=full)
    responses.post(RESERVATIONS, json=sample("empty_page"))
    responses.post(f"{API}/customers/getAll", json=sample("customers_getall"))
    since = datetime.now(UTC) - timedelta(hours=1)
    pages = list(conn.get_provider().fetch_reservations(FetchWindow(since=since)))
    assert [len(p) for p in pages] == [1000, 0]
    calls = [c for c in responses.calls if "reservations" in c.request.url]
    assert body_of(calls[1])["Limitation"] == {"Count": 1000, "Cursor": "r999"}


def test_windows_are_at_most_three_months():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    spans = list(windows(start, start + timedelta(days=200)))
    assert len(spans) == 3 and all(b - a <= timedelta(days=90) for a, b in spans)


@responses.activate
def test_resources_give_rooms_with_their_state(conn):
    responses.post(f"{API}/resources/getAll", json=sample("resources_getall"))
    (rooms,) = list(conn.get_provider().fetch_rooms())
    assert body_of(responses.calls[0])["Extent"] == {"Resources": True, "Inactive": False}
    assert [(r.number, r.housekeeping) for r in rooms] == [
        ("101", HousekeepingStatus.INSPECTED),
        ("102", HousekeepingStatus.OUT_OF_ORDER),
    ]


@responses.activate
def test_customers_give_guests_with_loyalty(conn):
    responses.post(f"{API}/customers/getAll", json=sample("customers_getall"))
    (guests,) = list(conn.get_provider().fetch_guests(FetchWindow(since=datetime.now(UTC))))
    assert (guests[0].email, guests[0].loyalty_tier) == ("asha.rao@example.com", "GOLD-1")


@responses.activate
def test_housekeeping_goes_back_as_an_update_value_and_out_of_order_is_refused(conn):
    responses.post(f"{API}/resources/update", json={})
    provider = conn.get_provider()
    provider.set_housekeeping("res-1", HousekeepingStatus.DIRTY)
    assert body_of(responses.calls[0])["ResourceUpdates"] == [
        {"ResourceId": "res-1", "State": {"Value": "Dirty"}}
    ]
    with pytest.raises(NotSupported):
        provider.set_housekeeping("res-1", HousekeepingStatus.OUT_OF_ORDER)


@responses.activate
def test_tokens_never_reach_the_sync_log(conn):
    responses.post(f"{API}/resources/getAll", json=sample("resources_getall"))
    conn.get_provider().test_connection()
    log = conn.logs.get()
    assert '"ClientToken": "***"' in log.request and "at" not in json.loads(log.request).values()


@responses.activate
def test_refused_tokens_are_unauthorised_and_a_429_transient_after_the_retries(
    conn, fake_http_clock
):
    responses.post(f"{API}/resources/getAll", json=sample("error_401"), status=401)
    with pytest.raises(Unauthorised):
        conn.get_provider().test_connection()
    responses.replace(
        responses.POST, f"{API}/resources/getAll", status=429, headers={"Retry-After": "5"},
        json={"Message": "Too many"},
    )  # fmt: skip
    with pytest.raises(TransientError) as raised:
        conn.get_provider().test_connection()
    assert raised.value.retry_after == 5.0
    assert fake_http_clock.waits == [5.0, 5.0, 5.0]


def webhook(conn, token: str = "tok") -> WebhookRequest:
    return WebhookRequest(
        method="POST",
        path=conn.hook_path,
        headers={"content-type": "application/json"},
        query={"Token": token},
        body=(SAMPLES / "webhook_general.json").read_bytes(),
        received_at=timezone.now(),
    )


@responses.activate
def test_the_general_webhook_is_verified_by_its_token_and_its_reservations_read(conn):
    provider = conn.get_provider()
    with pytest.raises(WebhookRefused):
        provider.verify_webhook(webhook(conn, token="bad"))
    provider.verify_webhook(webhook(conn))
    responses.post(RESERVATIONS, json=sample("reservations_getall"))
    responses.post(f"{API}/customers/getAll", json=sample("customers_getall"))
    (parsed,) = provider.parse_webhook(webhook(conn))
    assert body_of(responses.calls[0])["ReservationIds"] == ["bfee2c44-1f84-4326-a862-5289598f6e2d"]
    assert parsed.partner_reservation_id == "bfee2c44-1f84-4326-a862-5289598f6e2d"


class TestMewsContract(ProviderContract):
    key = "mews"
    base_url = BASE
    settings = {"service_id": "svc-1"}
    credentials = {"client_token": "ct", "access_token": "at", "webhook_secret": "tok"}
    takes_ari = False

    def fake_partner(self, rsps, connection) -> None:
        rsps.post(f"{API}/resources/getAll", json=sample("resources_getall"))

    def fake_reservation(self, rsps, connection, reference: str) -> None:
        made = sample("reservations_add")
        made["Reservations"][0]["Reservation"]["Id"] = reference
        rsps.post(RESERVATIONS, json=sample("empty_page"))
        rsps.post(f"{API}/customers/getAll", json=sample("customers_getall"))
        rsps.post(f"{API}/reservations/add", json=made)
        rsps.post(f"{API}/reservations/update", json={"Reservations": []})
        rsps.post(f"{API}/reservations/cancel", json={})

    def fake_webhook(self, connection) -> WebhookRequest:
        responses.post(RESERVATIONS, json=sample("reservations_getall"))
        responses.post(f"{API}/customers/getAll", json=sample("customers_getall"))
        return webhook(connection)

    @responses.activate
    def test_webhooks_are_verified_then_parsed(self, connection) -> None:
        super().test_webhooks_are_verified_then_parsed(connection)
