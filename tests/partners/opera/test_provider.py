"""The OPERA Cloud provider against recorded samples (``partners/opera/samples/``)."""

from __future__ import annotations

import base64
import json
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import responses
from django.utils import timezone

from channels.interface import FetchWindow, HousekeepingStatus, InboundKind, Occupancy
from channels.models import Connection, InboundMessage
from channels.providers.base import NotSupported, PermanentError, Unauthorised
from pema.http_auth import forget_tokens
from pms.sync import sync_now
from tests.factories import sellable_hotel
from tests.support.provider_contract import ProviderContract

SAMPLES = Path(__file__).resolve().parents[3] / "partners" / "opera" / "samples"
BASE = "http://ohip.test"
HOTEL = "SAND01"
RSV = f"{BASE}/rsv/v1/hotels/{HOTEL}/reservations"
HSK = f"{BASE}/hsk/v1/hotels/{HOTEL}"
EVENTS = f"{BASE}/int/v1/externalSystem/PEMA/hotels/{HOTEL}/businessEvents"
TOKEN = f"{BASE}/oauth/v1/tokens"
SETTINGS = {"hotel_id": HOTEL, "external_system": "PEMA"}
CREDENTIALS = {"client_id": "cid", "client_secret": "csecret", "app_key": "appkey"}


def sample(name: str) -> dict:
    return json.loads((SAMPLES / f"{name}.json").read_text())


def query(call) -> dict:
    return parse_qs(urlparse(call.request.url).query)


@pytest.fixture(autouse=True)
def _fresh_tokens():
    forget_tokens()
    yield
    forget_tokens()


@pytest.fixture
def conn(db) -> Connection:
    hotel = sellable_hotel(code="OPERA", rooms={"EXQ": 3}, days=30)
    return Connection.objects.create(
        hotel=hotel,
        provider="opera",
        name="OPERA",
        base_url=BASE,
        push_ari=False,
        settings=dict(SETTINGS),
        credentials=dict(CREDENTIALS),
    )


def token(rsps=responses) -> None:
    rsps.post(TOKEN, json=sample("token"))


@responses.activate
def test_the_token_is_fetched_once_with_basic_and_the_app_key_then_sent_with_the_hotel(conn):
    token()
    responses.get(f"{HSK}/housekeepingOverview", json=sample("housekeeping_overview"))
    provider = conn.get_provider()
    provider.test_connection()
    provider.test_connection()
    calls = list(responses.calls)
    assert [c.request.url.split("?")[0] for c in calls].count(TOKEN) == 1
    sent = calls[0].request
    assert sent.headers["Authorization"] == "Basic " + base64.b64encode(b"cid:csecret").decode()
    assert sent.headers["x-app-key"] == "appkey"
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = parse_qs(sent.body if isinstance(sent.body, str) else sent.body.decode())
    assert form["grant_type"] == ["client_credentials"] and form["scope"]
    for call in calls[1:]:
        headers = call.request.headers
        assert headers["Authorization"] == f"Bearer {sample('token')['access_token']}"
        assert (headers["x-app-key"], headers["x-hotelid"]) == ("appkey", HOTEL)
        assert headers["x-externalsystem"] == "PEMA"


@responses.activate
def test_the_password_grant_sends_the_integration_user(conn):
    conn.settings = {**SETTINGS, "grant": "password"}
    conn.credentials = {**CREDENTIALS, "username": "intuser", "password": "intpass"}
    conn.save()
    token()
    responses.get(f"{HSK}/housekeepingOverview", json=sample("housekeeping_overview"))
    conn.get_provider().test_connection()
    sent = responses.calls[0].request.body
    form = parse_qs(sent if isinstance(sent, str) else sent.decode())
    assert form["grant_type"] == ["password"]
    assert (form["username"], form["password"]) == (["intuser"], ["intpass"])


@responses.activate
def test_reservations_are_paged_by_limit_and_offset_and_204_is_empty(conn):
    token()
    first = sample("reservations")
    first["reservations"] |= {"hasMore": True, "count": 1, "totalResults": 2}
    responses.get(RSV, json=first)
    responses.get(RSV, status=204, body=b"")
    pages = list(conn.get_provider().fetch_reservations(FetchWindow()))
    assert [len(p) for p in pages] == [1, 0]
    reads = [query(c) for c in responses.calls if c.request.url.startswith(RSV)]
    assert [(q["limit"], q["offset"]) for q in reads] == [(["100"], ["0"]), (["100"], ["1"])]
    (reservation,) = pages[0]
    assert (reservation.partner_reservation_id, reservation.kind) == ("919074", InboundKind.NEW)
    assert (reservation.guest.email, reservation.guest.country) == ("info@example.com", "GB")
    assert (reservation.currency, reservation.total) == ("USD", 20000)
    room = reservation.rooms[0]
    assert (room.partner_room_id, room.partner_rate_id, room.adults) == ("DLXK", "BARRATE1", 2)
    assert (room.check_in, room.check_out) == (date(2026, 12, 20), date(2026, 12, 22))


@responses.activate
def test_an_empty_hotel_answers_204_and_reads_as_no_reservations(conn):
    token()
    responses.get(RSV, status=204, body=b"")
    assert list(conn.get_provider().fetch_reservations(FetchWindow())) == [[]]


@responses.activate
def test_rooms_come_from_the_housekeeping_overview_with_out_of_order_dates(conn):
    token()
    responses.get(f"{HSK}/housekeepingOverview", json=sample("housekeeping_overview"))
    (rooms,) = list(conn.get_provider().fetch_rooms())
    inspected, broken = rooms
    assert (inspected.number, inspected.housekeeping) == ("112", HousekeepingStatus.INSPECTED)
    assert inspected.occupancy == Occupancy.OCCUPIED
    assert broken.out_of_order and broken.reason == "Leaking tap"
    assert (broken.out_of_order_from, broken.out_of_order_to) == (
        date(2026, 12, 20),
        date(2026, 12, 21),
    )


@responses.activate
def test_housekeeping_goes_back_as_room_status_and_out_of_order_is_refused(conn):
    token()
    responses.put(f"{HSK}/rooms/status", json={"links": []})
    provider = conn.get_provider()
    provider.set_housekeeping("112", HousekeepingStatus.CLEAN)
    put = [c for c in responses.calls if c.request.method == "PUT"][0]
    assert json.loads(put.request.body) == {
        "roomList": [{"roomId": "112"}],
        "housekeepingRoomStatus": "Clean",
    }
    with pytest.raises(NotSupported):
        provider.set_housekeeping("112", HousekeepingStatus.OUT_OF_ORDER)


@responses.activate
def test_profiles_give_guests_with_email_country_and_loyalty(conn):
    token()
    responses.get(f"{BASE}/crm/v1/profiles", json=sample("profiles"))
    (guests,) = list(conn.get_provider().fetch_guests(FetchWindow()))
    (guest,) = guests
    assert (guest.pms_id, guest.given_name, guest.email) == ("1280812", "John", "info@example.com")
    assert (guest.country, guest.loyalty_tier, guest.phone) == ("GB", "GOLD", "123456789")
    assert query(responses.calls[1])["hotelId"] == [HOTEL]


@responses.activate
def test_refused_credentials_are_unauthorised_and_error_bodies_are_read(conn):
    responses.post(TOKEN, json=sample("error_401"), status=401)
    with pytest.raises(Unauthorised):
        conn.get_provider().test_connection()
    forget_tokens()
    responses.replace(responses.POST, TOKEN, json=sample("token"))
    responses.put(f"{HSK}/rooms/status", json=sample("error_400"), status=400)
    with pytest.raises(PermanentError) as refused:
        conn.get_provider().set_housekeeping("112", HousekeepingStatus.DIRTY)
    assert "OHIP-400" in refused.value.message and "Sparkling" in refused.value.message


@responses.activate
def test_business_events_are_stored_before_their_reservations_are_read(conn):
    """The queue is emptied as it is read: each batch is kept before any other call."""
    token()
    responses.get(EVENTS, json=sample("business_events"))
    responses.get(EVENTS, status=204, body=b"")
    stored_when_read: list[int] = []

    def read(request):
        stored_when_read.append(
            InboundMessage.objects.filter(connection=conn, revision__startswith="event:").count()
        )
        return (204, {}, b"") if "934171" in request.url else (200, {}, json.dumps(body))

    body = sample("reservation")
    body["reservations"]["reservation"][0]["reservationStatus"] = "Reserved"
    responses.add_callback(responses.GET, f"{RSV}/919074", callback=read)
    responses.add_callback(responses.GET, f"{RSV}/934171", callback=read)
    log = sync_now(conn, "bookings", since=timezone.now() - timedelta(minutes=5))
    assert log.status == "completed", log.error
    # All four events (two profiles, two reservations) were stored before the first read.
    assert stored_when_read == [4, 4]
    events = InboundMessage.objects.filter(connection=conn, revision__startswith="event:")
    assert events.count() == 4
    notices = events.filter(partner_reservation_id__in=["919074", "934171"])
    assert set(notices.values_list("status", flat=True)) == {"superseded"}
    assert json.loads(notices.get(partner_reservation_id="919074").raw_body)["businessEventId"]
    read_back = InboundMessage.objects.exclude(revision__startswith="event:").get(
        connection=conn, partner_reservation_id="919074"
    )
    assert read_back.kind == "new"
    # The event reads took 20 at most, and the emptied queue (204) ended the run.
    polls = [query(c) for c in responses.calls if c.request.url.startswith(EVENTS)]
    assert [q["limit"] for q in polls] == [["20"], ["20"]]


@responses.activate
def test_notices_stored_by_a_failed_run_are_read_by_the_next(conn):
    token()
    responses.get(EVENTS, json=sample("business_events"))
    responses.get(f"{RSV}/919074", status=503)
    since = timezone.now() - timedelta(minutes=5)
    failed = sync_now(conn, "bookings", since=since)
    assert failed.status == "failed"
    waiting = InboundMessage.objects.filter(connection=conn, error_code="awaiting_details")
    assert waiting.count() == 2  # kept, though the queue no longer holds them
    responses.replace(responses.GET, f"{RSV}/919074", json=sample("reservation"))
    responses.get(f"{RSV}/934171", status=204, body=b"")
    responses.replace(responses.GET, EVENTS, status=204, body=b"")
    done = sync_now(conn, "bookings", since=since)
    assert done.status == "completed", done.error
    assert not waiting.exists()


@responses.activate
def test_a_pema_reservation_is_looked_up_by_its_reference_before_a_create(conn):
    token()
    found = sample("reservations")
    found["reservations"]["reservationInfo"][0]["externalReferences"] = [
        {"id": "PEMA-CONTRACT-1", "idContext": "PEMA"}
    ]
    responses.get(RSV, json=found)
    message = ProviderContract.reservation_message(ProviderContract(), conn)
    result = conn.get_provider().push_reservation(message, message_id="m-1")
    assert result.partner_references == {"PEMA-CONTRACT-1": "919074"}
    assert query(responses.calls[1])["externalReferenceIds"] == ["PEMA-CONTRACT-1"]
    assert not [c for c in responses.calls if c.request.method == "POST" and "rsv" in c.request.url]


class TestOperaContract(ProviderContract):
    key = "opera"
    base_url = BASE
    settings = dict(SETTINGS)
    credentials = dict(CREDENTIALS)
    bad_settings = {**SETTINGS, "grant": "implicit"}
    takes_ari = False

    @pytest.fixture(autouse=True)
    def _fresh(self):
        forget_tokens()

    def fake_partner(self, rsps, connection) -> None:
        token(rsps)
        rsps.get(f"{HSK}/housekeepingOverview", json=sample("housekeeping_overview"))

    def fake_reservation(self, rsps, connection, reference: str) -> None:
        token(rsps)
        made = sample("created_reservation")
        made["reservations"]["reservation"][0]["reservationIdList"][0]["id"] = reference
        rsps.get(RSV, status=204, body=b"")
        rsps.post(RSV, json=made, status=201)
        rsps.put(f"{RSV}/{reference}", json={"links": []})
        rsps.post(f"{RSV}/{reference}/cancellations", json={"links": []}, status=201)


@responses.activate
def test_a_staff_retry_of_a_stored_notice_leaves_it_for_the_next_sync(conn):
    from channels.inbound import retry_messages

    token()
    responses.get(EVENTS, json=sample("business_events"))
    responses.get(f"{RSV}/919074", status=503)
    sync_now(conn, "bookings", since=timezone.now() - timedelta(minutes=5))
    waiting = InboundMessage.objects.filter(connection=conn, error_code="awaiting_details")
    assert retry_messages(waiting) == {"held": 2}
    assert waiting.count() == 2 and not waiting.filter(reservation__isnull=False).exists()


@responses.activate
def test_a_create_carries_the_external_reference_the_room_rate_and_the_request_id(conn):
    token()
    responses.get(RSV, status=204, body=b"")
    responses.post(RSV, json=sample("created_reservation"), status=201)
    message = ProviderContract.reservation_message(ProviderContract(), conn)
    result = conn.get_provider().push_reservation(message, message_id="m-7")
    assert result.partner_references == {"PEMA-CONTRACT-1": "919075"}
    post = [c for c in responses.calls if c.request.method == "POST" and "rsv" in c.request.url]
    (call,) = post
    assert call.request.headers["x-request-id"] == "m-7"
    (sent,) = json.loads(call.request.body)["reservations"]["reservation"]
    assert sent["externalReferences"] == [{"id": "PEMA-CONTRACT-1", "idContext": "PEMA"}]
    (rate,) = sent["roomStay"]["roomRates"]
    assert (rate["roomType"], rate["ratePlanCode"]) == ("ROOM1", "RATE1")
    assert rate["total"] == {"amountBeforeTax": "240.00", "currencyCode": conn.hotel.currency}
