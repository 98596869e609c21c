"""The Cloudbeds simulator over HTTP: the checks of §1.7, its answers in the samples' shape,
and the provider driven against it."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from channels.interface import FetchWindow, HousekeepingStatus
from channels.models import Connection
from partners.cloudbeds.simulator import DEFAULT_KEY, DEFAULT_PROPERTY, CloudbedsSimulator
from tests.factories import sellable_hotel
from tests.sandbox import HarnessThread

SAMPLES = Path(__file__).resolve().parents[3] / "partners" / "cloudbeds" / "samples"
API = "/cloudbeds/api/v1.3/"
KEY = {"x-api-key": DEFAULT_KEY}
FORM = {**KEY, "Content-Type": "application/x-www-form-urlencoded"}


def sample(name: str) -> dict:
    return json.loads((SAMPLES / f"{name}.json").read_text())


@pytest.fixture
def cloudbeds(tmp_path):
    with HarnessThread({"cloudbeds": CloudbedsSimulator}, tmp_path / "state") as running:
        running.control(
            "cloudbeds",
            "rooms",
            {"rooms": [{"roomName": n, "roomTypeID": "EXQ"} for n in ("101", "102", "103")]},
        )
        yield running


def make_reservation(cloudbeds, days: int = 10) -> dict:
    start = date.today() + timedelta(days=days)
    return cloudbeds.control(
        "cloudbeds",
        "create_reservation",
        {
            "startDate": start.isoformat(),
            "endDate": (start + timedelta(days=2)).isoformat(),
            "roomTypeID": "EXQ",
            "firstName": "Asha",
            "lastName": "Rao",
            "email": "asha.rao@example.com",
        },
    )["reservation"]


def keys_of(value) -> set[str]:
    return set(value) if isinstance(value, dict) else set()


def test_an_unknown_key_is_401_in_cloudbeds_shape(cloudbeds):
    answer = cloudbeds.get(API + "getRooms", headers={"x-api-key": "cbat_wrong"})
    assert answer.status_code == 401
    assert answer.json() == sample("error_401")
    assert answer.headers["X-Request-ID"]


def test_another_property_is_a_200_with_success_false(cloudbeds):
    answer = cloudbeds.get(API + "getReservations?propertyID=999", headers=KEY)
    assert answer.status_code == 200
    assert answer.json() == sample("error_property")


def test_verbs_paths_and_forms_are_checked(cloudbeds):
    assert cloudbeds.post(API + "getReservations", headers=FORM).status_code == 405
    assert cloudbeds.get("/cloudbeds/api/v1.1/getRooms", headers=KEY).status_code == 404
    assert cloudbeds.get(API + "getNothing", headers=KEY).status_code == 404
    json_body = {**KEY, "Content-Type": "application/json"}
    assert (
        cloudbeds.post(API + "postHousekeepingStatus", b"{}", headers=json_body).status_code == 415
    )


def test_answers_have_the_samples_shape(cloudbeds):
    make_reservation(cloudbeds)
    listed = cloudbeds.get(
        API + "getReservations?includeGuestsDetails=true&includeAllRooms=true", headers=KEY
    ).json()
    assert keys_of(listed) == keys_of(sample("get_reservations"))
    assert keys_of(listed["data"][0]) <= keys_of(sample("get_reservations")["data"][0])
    assert keys_of(listed["data"][0]["rooms"][0]) <= keys_of(
        sample("get_reservations")["data"][0]["rooms"][0]
    )
    housekeeping = cloudbeds.get(API + "getHousekeepingStatus", headers=KEY).json()
    assert keys_of(housekeeping["data"][0]) <= keys_of(sample("get_housekeeping_status")["data"][0])
    guests = cloudbeds.get(API + "getGuestList", headers=KEY).json()
    entry = next(iter(guests["data"].values()))
    assert keys_of(entry) <= keys_of(next(iter(sample("get_guest_list")["data"].values())))


def test_page_size_is_clamped_and_pages_count(cloudbeds):
    cloudbeds.control("cloudbeds", "generate", {"reservations": 120, "room_types": ["EXQ"]})
    first = cloudbeds.get(API + "getReservations?pageSize=500", headers=KEY).json()
    assert (first["count"], first["total"]) == (100, 120)
    second = cloudbeds.get(API + "getReservations?pageNumber=2", headers=KEY).json()
    assert second["count"] == 20


def test_housekeeping_without_a_condition_toggles(cloudbeds):
    body = f"propertyID={DEFAULT_PROPERTY}&roomID=EXQ-101".encode()
    first = cloudbeds.post(API + "postHousekeepingStatus", body, headers=FORM).json()
    second = cloudbeds.post(API + "postHousekeepingStatus", body, headers=FORM).json()
    assert (first["data"]["roomCondition"], second["data"]["roomCondition"]) == ("dirty", "clean")
    bad = cloudbeds.post(
        API + "postHousekeepingStatus", body + b"&roomCondition=sparkly", headers=FORM
    )
    assert bad.json()["success"] is False


def test_throttle_answers_429_the_times_asked(cloudbeds):
    cloudbeds.control("cloudbeds", "throttle", {"times": 2, "retry_after": 1})
    answers = [cloudbeds.get(API + "getRooms", headers=KEY) for _ in range(3)]
    assert [a.status_code for a in answers] == [429, 429, 200]
    assert answers[0].headers["Retry-After"] == "1"


@pytest.fixture
def conn(db, cloudbeds) -> Connection:
    hotel = sellable_hotel(code="CBSIM", rooms={"EXQ": 3}, days=30)
    return Connection.objects.create(
        hotel=hotel,
        provider="cloudbeds",
        name="Cloudbeds",
        base_url=cloudbeds.base_url + "/cloudbeds/api/v1.3",
        push_ari=False,
        settings={"property_id": DEFAULT_PROPERTY, "default_rate": "BAR"},
        credentials={"api_key": DEFAULT_KEY, "webhook_secret": "s"},
    )


def test_the_provider_reads_and_writes_the_simulator(conn, cloudbeds):
    made = make_reservation(cloudbeds)
    provider = conn.get_provider()
    (page,) = list(provider.fetch_reservations(FetchWindow()))
    assert [r.partner_reservation_id for r in page] == [made["reservationID"]]
    assert page[0].guest.email == "asha.rao@example.com"
    (rooms,) = list(provider.fetch_rooms())
    assert sorted(r.number for r in rooms) == ["101", "102", "103"]
    provider.set_housekeeping("EXQ-102", HousekeepingStatus.INSPECTED)
    state = cloudbeds.state("cloudbeds")
    assert {r["roomName"]: r["roomCondition"] for r in state["rooms"]}["102"] == "inspected"
    (guests,) = list(provider.fetch_guests(FetchWindow()))
    assert [g.email for g in guests] == ["asha.rao@example.com"]
    assert provider.subscribe_webhooks("http://pema.test/hooks/x/")
    hooks = cloudbeds.state("cloudbeds")["webhooks"]
    assert all(
        h["subscriptionData"]["endpoint"] == "http://pema.test/hooks/x/?secret=s" for h in hooks
    )
