"""The Mews simulator over HTTP: the checks of §2.6, its answers in the samples' shape, and
the provider driven against it."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from channels.interface import FetchWindow, HousekeepingStatus
from channels.models import Connection
from partners.mews.simulator import (
    DEFAULT_ACCESS_TOKEN,
    DEFAULT_CLIENT_TOKEN,
    SERVICE,
    MewsSimulator,
)
from tests.factories import sellable_hotel
from tests.sandbox import HarnessThread

SAMPLES = Path(__file__).resolve().parents[3] / "partners" / "mews" / "samples"
API = "/mews/api/connector/v1/"
TOKENS = {
    "ClientToken": DEFAULT_CLIENT_TOKEN,
    "AccessToken": DEFAULT_ACCESS_TOKEN,
    "Client": "Test 1.0",
}
JSON = {"Content-Type": "application/json"}


def sample(name: str) -> dict:
    return json.loads((SAMPLES / f"{name}.json").read_text())


@pytest.fixture
def mews(tmp_path):
    with HarnessThread({"mews": MewsSimulator}, tmp_path / "state") as running:
        running.control("mews", "resources", {"resources": [{"Name": n} for n in ("101", "102")]})
        yield running


def call(mews, operation: str, body: dict, tokens: dict = TOKENS):
    return mews.post(API + operation, json.dumps({**tokens, **body}).encode(), headers=JSON)


def window(days: int = 1) -> dict:
    end = datetime.now(UTC) + timedelta(minutes=1)
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    return {"StartUtc": (end - timedelta(days=days)).strftime(fmt), "EndUtc": end.strftime(fmt)}


def test_paths_methods_and_tokens_are_checked(mews):
    assert call(mews, "resources/getAll/", {}).status_code == 404  # trailing slash
    assert call(mews, "Resources/getAll", {}).status_code == 404  # case-sensitive
    assert mews.get(API + "resources/getAll").status_code == 404
    refused = call(mews, "resources/getAll", {}, tokens={**TOKENS, "AccessToken": "nope"})
    assert refused.status_code == 401
    assert set(refused.json()) == set(sample("error_401")) and refused.headers["Request-Id"]


def test_limitation_extent_intervals_and_filters_are_required(mews):
    assert call(mews, "resources/getAll", {"Limitation": {"Count": 5}}).status_code == 400
    extent = {"Extent": {"Resources": True}}
    assert (
        call(mews, "resources/getAll", {**extent, "Limitation": {"Count": 1001}}).status_code == 400
    )
    assert (
        call(mews, "resources/getAll", {**extent, "Limitation": {"Count": 10}}).status_code == 200
    )
    long = {"UpdatedUtc": window(days=120), "Limitation": {"Count": 10}}
    assert call(mews, "reservations/getAll/2023-06-06", long).status_code == 400
    both = {"ScheduledStartUtc": window(), "ActualStartUtc": window(), "Limitation": {"Count": 1}}
    assert call(mews, "reservations/getAll/2023-06-06", both).status_code == 400
    no_filter = {"Extent": {"Customers": True}, "Limitation": {"Count": 1}}
    assert call(mews, "customers/getAll", no_filter).status_code == 400


def test_out_of_order_cannot_be_set_through_the_api(mews):
    resource = mews.state("mews")["resources"][0]
    update = {"ResourceUpdates": [{"ResourceId": resource["Id"], "State": {"Value": "OutOfOrder"}}]}
    assert call(mews, "resources/update", update).status_code == 400


def test_answers_have_the_samples_shape_and_cursor_semantics(mews):
    mews.control("mews", "generate", {"reservations": 5, "customers": 2})
    first = call(
        mews, "reservations/getAll/2023-06-06", {"UpdatedUtc": window(), "Limitation": {"Count": 3}}
    ).json()
    assert set(first) == set(sample("reservations_getall"))
    assert set(first["Reservations"][0]) <= set(sample("reservations_getall")["Reservations"][0])
    assert first["Cursor"] == first["Reservations"][-1]["Id"]
    rest = call(
        mews,
        "reservations/getAll/2023-06-06",
        {"UpdatedUtc": window(), "Limitation": {"Count": 3, "Cursor": first["Cursor"]}},
    ).json()
    assert len(rest["Reservations"]) == 2
    last = call(
        mews,
        "reservations/getAll/2023-06-06",
        {"UpdatedUtc": window(), "Limitation": {"Count": 3, "Cursor": rest["Cursor"]}},
    ).json()
    assert last == {"Reservations": [], "Cursor": None}
    customers = call(
        mews, "customers/getAll", {"UpdatedUtc": window(), "Extent": {"Customers": True},
                                   "Limitation": {"Count": 10}},
    ).json()  # fmt: skip
    assert set(customers["Customers"][0]) <= set(sample("customers_getall")["Customers"][0])


def test_the_rate_limit_and_the_throttle_answer_429_with_retry_after(mews):
    mews.control("mews", "throttle", {"times": 1, "retry_after": 2})
    answer = call(
        mews, "resources/getAll", {"Extent": {"Resources": True}, "Limitation": {"Count": 1}}
    )
    assert (answer.status_code, answer.headers["Retry-After"]) == (429, "2")


@pytest.fixture
def conn(db, mews) -> Connection:
    hotel = sellable_hotel(code="MEWSIM", rooms={"EXQ": 2}, days=30)
    return Connection.objects.create(
        hotel=hotel,
        provider="mews",
        name="Mews",
        base_url=mews.base_url + "/mews",
        push_ari=False,
        settings={"service_id": SERVICE},
        credentials={"client_token": DEFAULT_CLIENT_TOKEN, "access_token": DEFAULT_ACCESS_TOKEN},
    )


def test_the_provider_reads_and_writes_the_simulator(conn, mews):
    from tests.support.provider_contract import ProviderContract

    start = date.today() + timedelta(days=5)
    mews.control(
        "mews",
        "create_reservation",
        {"start": start.isoformat(), "end": (start + timedelta(days=2)).isoformat(),
         "category": "EXQ", "rate": "BAR",
         "customer": {"FirstName": "Asha", "LastName": "Rao", "Email": "asha@example.com"}},
    )  # fmt: skip
    provider = conn.get_provider()
    (page,) = list(provider.fetch_reservations(FetchWindow()))
    assert page[0].guest.email == "asha@example.com" and page[0].rooms[0].partner_room_id == "EXQ"
    (rooms,) = list(provider.fetch_rooms())
    provider.set_housekeeping(rooms[0].pms_id, HousekeepingStatus.DIRTY)
    held = {r["Id"]: r["State"] for r in mews.state("mews")["resources"]}
    assert held[rooms[0].pms_id] == "Dirty"
    message = ProviderContract.reservation_message(ProviderContract(), conn)
    made = provider.push_reservation(message, message_id="m-1")
    again = provider.push_reservation(message, message_id="m-1")
    assert made.partner_references == again.partner_references
    numbers = [r["ChannelNumber"] for r in mews.state("mews")["reservations"]]
    assert numbers.count("PEMA-CONTRACT-1") == 1
