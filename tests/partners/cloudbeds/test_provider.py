"""The Cloudbeds provider against recorded samples (``partners/cloudbeds/samples/``)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import responses
from django.utils import timezone

from channels.interface import (
    FetchWindow,
    HousekeepingStatus,
    InboundKind,
    Occupancy,
    WebhookRequest,
)
from channels.models import Connection
from channels.providers.base import NotSupported, PermanentError, Unauthorised, WebhookRefused
from partners.cloudbeds.provider import form
from tests.factories import sellable_hotel
from tests.support.provider_contract import ProviderContract

SAMPLES = Path(__file__).resolve().parents[3] / "partners" / "cloudbeds" / "samples"
BASE = "http://cloudbeds.test/api/v1.3"


def fields(request) -> dict:
    body = request.body.decode() if isinstance(request.body, bytes) else request.body
    return parse_qs(body)


def sample(name: str) -> dict:
    return json.loads((SAMPLES / f"{name}.json").read_text())


@pytest.fixture
def conn(db) -> Connection:
    hotel = sellable_hotel(code="CBDS", rooms={"EXQ": 3}, days=30)
    return Connection.objects.create(
        hotel=hotel,
        provider="cloudbeds",
        name="Cloudbeds",
        base_url=BASE,
        push_ari=False,
        settings={"property_id": "318267", "default_rate": "BAR"},
        credentials={"api_key": "cbat_test", "webhook_secret": "hook-secret"},
    )


@responses.activate
def test_reservations_are_read_a_page_of_100_at_a_time_with_guests_and_rooms(conn):
    responses.get(f"{BASE}/getReservations", json=sample("get_reservations"))
    since = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    pages = list(conn.get_provider().fetch_reservations(FetchWindow(since=since)))
    (reservation,) = pages[0]
    query = parse_qs(responses.calls[0].request.url.split("?", 1)[1])
    assert query["pageSize"] == ["100"] and query["pageNumber"] == ["1"]
    assert query["modifiedFrom"] == ["2026-11-30 08:00:00"]
    assert query["includeGuestsDetails"] == ["true"]
    assert responses.calls[0].request.headers["x-api-key"] == "cbat_test"
    assert responses.calls[0].request.headers["X-PROPERTY-ID"] == "318267"
    assert reservation.partner_reservation_id == "7061304407766"
    assert reservation.kind == InboundKind.NEW
    assert (reservation.guest.email, reservation.guest.country) == ("asha.rao@example.com", "IN")
    room = reservation.rooms[0]
    assert (room.partner_room_id, room.partner_rate_id) == ("EXQ", "BAR")
    assert (room.check_in, room.check_out, room.adults) == (
        date(2026, 12, 20),
        date(2026, 12, 22),
        2,
    )
    assert reservation.revision == "confirmed:2026-12-01 09:15:30"


@responses.activate
def test_a_full_page_asks_for_the_next_until_the_total_is_read(conn):
    row = sample("get_reservations")["data"][0]
    full = {"success": True, "count": 100, "total": 101, "data": [
        {**row, "reservationID": str(n)} for n in range(100)
    ]}  # fmt: skip
    last = {"success": True, "count": 1, "total": 101, "data": [{**row, "reservationID": "x"}]}
    responses.get(f"{BASE}/getReservations", json=full)
    responses.get(f"{BASE}/getReservations", json=last)
    pages = list(conn.get_provider().fetch_reservations(FetchWindow()))
    assert [len(p) for p in pages] == [100, 1]
    assert "pageNumber=2" in responses.calls[1].request.url


@responses.activate
def test_calls_are_paced_at_five_a_second_per_key(conn, fake_http_clock, monkeypatch):
    from partners.cloudbeds import provider as cb
    from pema import pacing

    monkeypatch.setattr(pacing, "monotonic", lambda: 100.0)  # every call at the same moment
    cb.PACER.forget()
    responses.get(f"{BASE}/getHousekeepingStatus", json=sample("get_housekeeping_status"))
    for _ in range(3):
        list(conn.get_provider().fetch_rooms())
    assert fake_http_clock.waits == pytest.approx([0.2, 0.4])


@responses.activate
def test_rooms_come_from_housekeeping_with_condition_occupancy_and_blocks(conn):
    responses.get(f"{BASE}/getHousekeepingStatus", json=sample("get_housekeeping_status"))
    (rooms,) = list(conn.get_provider().fetch_rooms())
    by_number = {r.number: r for r in rooms}
    assert by_number["101"].housekeeping == HousekeepingStatus.CLEAN
    assert by_number["102"].occupancy == Occupancy.OCCUPIED
    assert by_number["103"].housekeeping == HousekeepingStatus.OUT_OF_ORDER
    assert by_number["103"].reason == "Broken window"
    assert by_number["101"].pms_id == "EXQ-101"


@responses.activate
def test_guests_are_read_keyed_by_id_and_merged_profiles_skipped(conn):
    responses.get(f"{BASE}/getGuestList", json=sample("get_guest_list"))
    (guests,) = list(conn.get_provider().fetch_guests(FetchWindow()))
    assert [g.pms_id for g in guests] == ["159926682"]
    assert (guests[0].email, guests[0].phone) == ("asha.rao@example.com", "+91 9800000001")


@responses.activate
def test_housekeeping_is_set_back_as_a_form_and_out_of_order_is_not_supported(conn):
    responses.post(f"{BASE}/postHousekeepingStatus", json=sample("post_housekeeping_status"))
    provider = conn.get_provider()
    provider.set_housekeeping("EXQ-101", HousekeepingStatus.INSPECTED)
    request = responses.calls[0].request
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert fields(request) == {
        "propertyID": ["318267"], "roomID": ["EXQ-101"], "roomCondition": ["inspected"]
    }  # fmt: skip
    with pytest.raises(NotSupported):
        provider.set_housekeeping("EXQ-101", HousekeepingStatus.OUT_OF_ORDER)


@responses.activate
def test_business_errors_come_as_http_200_with_success_false(conn):
    responses.get(f"{BASE}/getGuestList", json=sample("error_property"))
    with pytest.raises(Unauthorised, match="property id"):
        list(conn.get_provider().fetch_guests(FetchWindow()))
    responses.replace(responses.GET, f"{BASE}/getGuestList", json=sample("error_business"))
    with pytest.raises(PermanentError, match="could not be fully completed"):
        list(conn.get_provider().fetch_guests(FetchWindow()))


@responses.activate
def test_a_refused_key_is_unauthorised(conn):
    responses.get(f"{BASE}/getRooms", json=sample("error_401"), status=401)
    with pytest.raises(Unauthorised):
        conn.get_provider().test_connection()


@responses.activate
def test_oauth_connections_refresh_a_token_and_send_it_as_bearer(conn):
    from pema.http_auth import forget_tokens

    forget_tokens()
    conn.settings = {**conn.settings, "auth": "oauth"}
    conn.credentials = {"client_id": "cid", "client_secret": "cs", "refresh_token": "rt"}
    conn.save()
    responses.post(f"{BASE}/access_token", json=sample("access_token"))
    responses.get(f"{BASE}/getRooms", json=sample("get_rooms"))
    conn.get_provider().test_connection()
    token_call, call = responses.calls
    assert fields(token_call.request)["grant_type"] == ["refresh_token"]
    assert fields(token_call.request)["refresh_token"] == ["rt"]
    assert call.request.headers["Authorization"] == "Bearer cbat_oauth_token_1"
    assert "x-api-key" not in call.request.headers


@responses.activate
def test_a_pema_booking_is_posted_with_its_confirmation_number_and_looked_up_on_a_retry(conn):
    from tests.support.provider_contract import ProviderContract

    message = ProviderContract.reservation_message(ProviderContract(), conn)
    responses.get(
        f"{BASE}/getReservations", json={"success": True, "data": [], "count": 0, "total": 0}
    )
    responses.post(f"{BASE}/postReservation", json=sample("post_reservation"))
    result = conn.get_provider().push_reservation(message, message_id="pema-1-9")
    assert result.partner_references == {"PEMA-CONTRACT-1": "7061304409999"}
    sent = fields(responses.calls[1].request)
    assert sent["thirdPartyIdentifier"] == ["PEMA-CONTRACT-1"]
    assert sent["rooms[0][roomTypeID]"] == ["ROOM1"]
    # Sent again after a lost answer: Cloudbeds has it already under that identifier.
    found = {**sample("get_reservations")["data"][0], "reservationID": "7061304409999",
             "thirdPartyIdentifier": "PEMA-CONTRACT-1"}  # fmt: skip
    responses.replace(
        responses.GET, f"{BASE}/getReservations",
        json={"success": True, "data": [found], "count": 1, "total": 1},
    )  # fmt: skip
    again = conn.get_provider().push_reservation(message, message_id="pema-1-9")
    assert again.partner_references == {"PEMA-CONTRACT-1": "7061304409999"}
    assert len([c for c in responses.calls if "postReservation" in c.request.url]) == 1


def webhook(conn, name: str, secret: str = "hook-secret") -> WebhookRequest:
    return WebhookRequest(
        method="POST",
        path=conn.hook_path,
        headers={"content-type": "application/json"},
        query={"secret": secret},
        body=(SAMPLES / f"{name}.json").read_bytes(),
        received_at=timezone.now(),
    )


@responses.activate
def test_a_reservation_webhook_is_verified_by_its_url_secret_and_read_again(conn):
    provider = conn.get_provider()
    with pytest.raises(WebhookRefused):
        provider.verify_webhook(webhook(conn, "webhook_reservation_created", secret="nope"))
    request = webhook(conn, "webhook_reservation_created")
    provider.verify_webhook(request)
    responses.get(f"{BASE}/getReservation", json=sample("get_reservation"))
    (parsed,) = provider.parse_webhook(request)
    assert "reservationID=7061304407766" in responses.calls[0].request.url
    assert parsed.total == 28000 and parsed.currency == "INR"
    assert parsed.revision == "reservation/created:1766005022.073195"
    assert parsed.rooms[0].partner_room_id == "EXQ"


def test_a_cancellation_webhook_needs_no_call_and_other_events_carry_no_reservation(conn):
    provider = conn.get_provider()
    with responses.RequestsMock():
        (cancel,) = provider.parse_webhook(webhook(conn, "webhook_reservation_status_changed"))
        assert provider.parse_webhook(webhook(conn, "webhook_guest_created")) == ()
    assert cancel.kind == InboundKind.CANCEL


def test_form_arrays_are_php_style():
    body = form({"a": "1", "rooms": [{"roomTypeID": "X", "quantity": 1}], "empty": ""})
    assert body == b"a=1&rooms%5B0%5D%5BroomTypeID%5D=X&rooms%5B0%5D%5Bquantity%5D=1"


class TestCloudbedsContract(ProviderContract):
    key = "cloudbeds"
    base_url = BASE
    settings = {"property_id": "318267", "default_rate": "RATE1"}
    credentials = {"api_key": "cbat_test", "webhook_secret": "hook-secret"}
    bad_settings = {"property_id": "318267", "auth": "password"}
    takes_ari = False

    def fake_partner(self, rsps, connection) -> None:
        rsps.get(f"{BASE}/getRooms", json=sample("get_rooms"))

    def fake_reservation(self, rsps, connection, reference: str) -> None:
        rsps.get(
            f"{BASE}/getReservations", json={"success": True, "data": [], "count": 0, "total": 0}
        )
        rsps.post(
            f"{BASE}/postReservation",
            json={**sample("post_reservation"), "reservationID": reference},
        )
        rsps.put(f"{BASE}/putReservation", json=sample("put_reservation"))

    def fake_webhook(self, connection) -> WebhookRequest:
        return webhook(connection, "webhook_reservation_status_changed")

    def test_credentials_validation(self) -> None:
        super().test_credentials_validation()
        from channels.providers import provider_class

        errors = provider_class(self.key).validate_credentials({"webhook_secret": "x"})
        assert any("'api_key'" in e for e in errors)
