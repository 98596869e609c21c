"""The OPERA Cloud simulator over HTTP: the checks of §3.7, its answers in the samples'
shape, and the provider driven against it."""

from __future__ import annotations

import base64
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from channels.interface import FetchWindow, HousekeepingStatus
from channels.models import Connection, InboundMessage
from partners.opera.simulator import (
    APP_KEY,
    CLIENT_ID,
    CLIENT_SECRET,
    HOTEL,
    PASSWORD,
    USERNAME,
    OperaSimulator,
)
from pema.http_auth import forget_tokens
from pms.sync import sync_now
from tests.factories import sellable_hotel
from tests.sandbox import HarnessThread
from tests.support.provider_contract import ProviderContract

SAMPLES = Path(__file__).resolve().parents[3] / "partners" / "opera" / "samples"
FORM = "application/x-www-form-urlencoded"
BASIC = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
RSV = f"/opera/rsv/v1/hotels/{HOTEL}/reservations"
EVENTS = f"/opera/int/v1/externalSystem/PEMA/hotels/{HOTEL}/businessEvents"


def sample(name: str) -> dict:
    return json.loads((SAMPLES / f"{name}.json").read_text())


@pytest.fixture
def opera(tmp_path):
    forget_tokens()
    with HarnessThread({"opera": OperaSimulator}, tmp_path / "state") as running:
        running.control(
            "opera", "rooms", {"rooms": [{"roomId": n, "roomType": "EXQ"} for n in ("101", "102")]}
        )
        yield running
    forget_tokens()


def get_token(opera, body: bytes = b"grant_type=client_credentials&scope=s", **headers):
    sent = {"Content-Type": FORM, "Authorization": BASIC, "x-app-key": APP_KEY, **headers}
    return opera.post("/opera/oauth/v1/tokens", body, headers=sent)


def data_headers(token: str, **extra) -> dict:
    return {"Authorization": f"Bearer {token}", "x-app-key": APP_KEY, "x-hotelid": HOTEL, **extra}


def test_tokens_need_the_client_its_app_key_and_a_complete_grant(opera):
    answer = get_token(opera)
    assert answer.status_code == 200
    assert set(answer.json()) == set(sample("token"))
    assert answer.json()["expires_in"] == 3600
    assert (
        get_token(opera, Authorization="Basic " + base64.b64encode(b"x:y").decode()).status_code
        == 401
    )
    assert get_token(opera, **{"x-app-key": "other"}).status_code == 401
    assert get_token(opera, b"grant_type=client_credentials").status_code == 400  # no scope
    password = f"grant_type=password&username={USERNAME}&password={PASSWORD}".encode()
    assert get_token(opera, password).status_code == 200
    assert get_token(opera, b"grant_type=password&username=u&password=bad").status_code == 401
    refused = get_token(opera, **{"Content-Type": "application/json"})
    assert refused.status_code == 415
    assert set(sample("error_401")) == set(get_token(opera, **{"x-app-key": ""}).json())


def test_data_calls_need_a_live_token_the_same_app_and_the_hotel(opera):
    token = get_token(opera).json()["access_token"]
    overview = f"/opera/hsk/v1/hotels/{HOTEL}/housekeepingOverview"
    assert opera.get(overview, headers=data_headers(token)).status_code == 200
    assert opera.get(overview, headers=data_headers("nope")).status_code == 401
    assert opera.get(overview, headers=data_headers(token, **{"x-app-key": "x"})).status_code == 401
    assert (
        opera.get(overview, headers=data_headers(token, **{"x-hotelid": "OTHER"})).status_code
        == 403
    )
    other = "/opera/hsk/v1/hotels/OTHER/housekeepingOverview"
    assert opera.get(other, headers=data_headers(token)).status_code == 403
    opera.control("opera", "configure", {"token_lifetime": 0})  # expires as it is issued
    short = get_token(opera).json()["access_token"]
    assert opera.get(overview, headers=data_headers(short)).status_code == 401  # expired


def test_paging_204_and_the_answers_shape(opera):
    token = get_token(opera).json()["access_token"]
    empty = opera.get(RSV, headers=data_headers(token))
    assert (empty.status_code, empty.content) == (204, b"")
    assert opera.get(f"{RSV}/1", headers=data_headers(token)).status_code == 204
    start = date.today() + timedelta(days=3)
    for n in range(3):
        opera.control(
            "opera",
            "create_reservation",
            {"arrivalDate": start.isoformat(),
             "departureDate": (start + timedelta(days=1)).isoformat(),
             "roomType": "EXQ", "ratePlanCode": "BAR", "guest": {"surname": f"G{n}"}},
        )  # fmt: skip
    first = opera.get(RSV, params={"limit": 2}, headers=data_headers(token)).json()
    held = first["reservations"]
    assert (held["count"], held["totalResults"], held["hasMore"], held["totalPages"]) == (
        2,
        3,
        True,
        2,
    )
    assert set(held["reservationInfo"][0]) <= set(
        sample("reservations")["reservations"]["reservationInfo"][0]
    ) | {"computedReservationStatus"}
    rest = opera.get(RSV, params={"limit": 2, "offset": 2}, headers=data_headers(token)).json()
    assert (rest["reservations"]["count"], rest["reservations"]["hasMore"]) == (1, False)
    bad = opera.get(RSV, params={"reservationStatuses": "Lost"}, headers=data_headers(token))
    assert bad.status_code == 400 and set(bad.json()) == set(sample("error_400"))
    rooms = opera.get(
        f"/opera/hsk/v1/hotels/{HOTEL}/housekeepingOverview", headers=data_headers(token)
    ).json()
    assert set(rooms["housekeepingRoomInfo"]) == set(
        sample("housekeeping_overview")["housekeepingRoomInfo"]
    )


def test_room_status_enums_and_out_of_order_through_its_own_workflow(opera):
    token = get_token(opera).json()["access_token"]
    url = f"/opera/hsk/v1/hotels/{HOTEL}/rooms/status"
    headers = {**data_headers(token), "Content-Type": "application/json"}

    def put(body: dict):
        return opera.http.put(
            opera.base_url + url, data=json.dumps(body), headers=headers, timeout=30
        )

    assert (
        put({"roomList": [{"roomId": "101"}], "housekeepingRoomStatus": "Sparkling"}).status_code
        == 400
    )
    assert put({"roomList": [{"roomId": "101"}], "housekeepingStatus": "Busy"}).status_code == 400
    assert (
        put({"roomList": [{"roomId": "101"}], "housekeepingRoomStatus": "OutOfOrder"}).status_code
        == 400
    )
    assert (
        put({"roomList": [{"roomId": "101"}], "housekeepingRoomStatus": "Dirty"}).status_code == 200
    )


def test_business_events_are_dequeued_at_most_20_and_not_echoed_to_their_maker(opera):
    token = get_token(opera).json()["access_token"]
    opera.control("opera", "add_profile", {"surname": "Rao", "email": "asha@example.com"})
    assert opera.get(EVENTS, params={"limit": 21}, headers=data_headers(token)).status_code == 400
    taken = opera.get(EVENTS, params={"limit": 20}, headers=data_headers(token))
    assert taken.status_code == 200
    entry = taken.json()["businessEventData"][0]
    assert set(entry) == set(sample("business_events")["businessEventData"][0])
    assert entry["businessEvent"]["header"]["moduleName"] == "Profile"
    again = opera.get(EVENTS, headers=data_headers(token))
    assert (again.status_code, again.content) == (204, b"")  # read once: gone
    start = date.today() + timedelta(days=4)
    made = {
        "reservations": {"reservation": [{
            "roomStay": {"arrivalDate": start.isoformat(),
                         "departureDate": (start + timedelta(days=1)).isoformat(),
                         "roomRates": [{"roomType": "EXQ", "ratePlanCode": "BAR"}]},
            "reservationGuests": [
                {"profileInfo": {"profile": {"customer": {"personName": [{"surname": "Rao"}]}}}}
            ],
        }]}
    }  # fmt: skip
    mine = {
        **data_headers(token, **{"x-externalsystem": "PEMA"}),
        "Content-Type": "application/json",
    }
    assert opera.post(RSV, json.dumps(made).encode(), headers=mine).status_code == 201
    assert opera.get(EVENTS, headers=data_headers(token)).status_code == 204


def test_the_throttle_answers_429(opera):
    token = get_token(opera).json()["access_token"]
    opera.control("opera", "throttle", {"times": 1})
    assert opera.get(RSV, headers=data_headers(token)).status_code == 429
    assert opera.get(RSV, headers=data_headers(token)).status_code == 204


@pytest.fixture
def conn(db, opera) -> Connection:
    hotel = sellable_hotel(code="OPERASIM", rooms={"EXQ": 2}, days=30)
    return Connection.objects.create(
        hotel=hotel,
        provider="opera",
        name="OPERA",
        base_url=opera.base_url + "/opera",
        push_ari=False,
        settings={"hotel_id": HOTEL, "external_system": "PEMA"},
        credentials={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "app_key": APP_KEY},
    )


def test_the_provider_reads_and_writes_the_simulator(conn, opera):
    start = conn.hotel.today() + timedelta(days=5)
    opera.control(
        "opera",
        "create_reservation",
        {"arrivalDate": start.isoformat(), "departureDate": (start + timedelta(days=2)).isoformat(),
         "roomType": "EXQ", "ratePlanCode": "BAR",
         "guest": {"givenName": "Asha", "surname": "Rao", "email": "asha@example.com"}},
    )  # fmt: skip
    provider = conn.get_provider()
    (page,) = list(provider.fetch_reservations(FetchWindow()))
    assert page[0].guest.email == "asha@example.com" and page[0].rooms[0].partner_room_id == "EXQ"
    (rooms,) = list(provider.fetch_rooms())
    provider.set_housekeeping(rooms[0].pms_id, HousekeepingStatus.DIRTY)
    held = {
        r["roomId"]: r["housekeeping"]["housekeepingRoomStatus"]
        for r in opera.state("opera")["rooms"]
    }
    assert held["101"]["housekeepingRoomStatus"] == "Dirty"
    (guests,) = list(provider.fetch_guests(FetchWindow()))
    assert [g.email for g in guests] == ["asha@example.com"]
    message = ProviderContract.reservation_message(ProviderContract(), conn)
    made = provider.push_reservation(message, message_id="m-1")
    again = provider.push_reservation(message, message_id="m-1")
    assert made.partner_references == again.partner_references
    refs = [
        ref["id"] for r in opera.state("opera")["reservations"] for ref in r["externalReferences"]
    ]
    assert refs.count("PEMA-CONTRACT-1") == 1
    # The business events: the hotel's reservation and profile, never Pema's own changes.
    log = sync_now(conn, "bookings", since=timezone.now() - timedelta(minutes=1))
    assert log.status == "completed", log.error
    stored = InboundMessage.objects.filter(connection=conn, revision__startswith="event:")
    assert sorted(stored.values_list("payload__module", flat=True)) == ["Profile", "Reservation"]
    assert opera.state("opera")["events"] == 0
