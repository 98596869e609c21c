"""PMS end to end: the sandbox process (the Cloudbeds, Mews and OPERA simulators), real
Celery workers, the real database, and Pema serving HTTP (the simulators' webhooks reach it).

A reservation made at the simulator arrives by webhook; a Pema booking reaches the
simulator once through the outbox; cancelling on either side frees both; a room
blocked there blocks inventory here; guests merge by e-mail; and five 429s in a row
only delay a booking. The mock PMS's curl example runs verbatim in
``tests/pms/test_seed_curl.py``.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from bookings.api_keys import issue_key
from bookings.models import Guest, InventoryDay, Reservation, RoomBlock
from bookings.reservations import cancel_reservation
from channels.models import Connection, InboundMessage, SyncJob
from partners.cloudbeds.simulator import DEFAULT_KEY, DEFAULT_PROPERTY
from pms.models import PmsSyncLog
from tests.factories import sellable_hotel

from .conftest import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
CLOUDBEDS = "cloudbeds"


@pytest.fixture
def pema(transactional_db, sandbox, settings):
    settings.CHANNELS_RETRY_BASE_SECONDS = 0.2
    settings.CHANNELS_RETRY_MAX_SECONDS = 1
    return sellable_hotel(code="PEMA", rooms={"EXT": 3, "EXQ": 3}, days=60)


@pytest.fixture
def cloudbeds(pema, sandbox, live_server) -> Connection:
    sandbox.control(
        CLOUDBEDS,
        "rooms",
        {"rooms": [{"roomName": f"2{n:02d}", "roomTypeID": "EXQ"} for n in (1, 2, 3)]},
    )
    conn = Connection.objects.create(
        hotel=pema,
        provider=CLOUDBEDS,
        name="Cloudbeds",
        base_url=f"{sandbox.base_url}/cloudbeds/api/v1.3",
        push_ari=False,
        settings={"property_id": DEFAULT_PROPERTY, "default_rate": "BAR"},
        credentials={"api_key": DEFAULT_KEY, "webhook_secret": uuid.uuid4().hex},
    )
    conn.get_provider().subscribe_webhooks(live_server.url + conn.hook_path)
    return conn


def api_book(hotel, code: str, start, nights: int = 2) -> dict:
    issued = issue_key(name="Website", hotels=[hotel], scopes=["bookings:write", "bookings:read"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw}")
    answer = client.post(
        f"/api/v1/hotels/{hotel.code}/bookings/",
        {
            "room_type": code,
            "rate_plan": "BAR",
            "check_in": start.isoformat(),
            "check_out": (start + timedelta(days=nights)).isoformat(),
            "adults": 2,
            "guest": {"first_name": "Asha", "last_name": "Rao", "email": "asha@example.com"},
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )
    assert answer.status_code == 201, answer.content
    return answer.json()


def held_by(sandbox, confirmation_number: str) -> list[dict]:
    return [
        r
        for r in sandbox.partner_state(CLOUDBEDS)["reservations"]
        if r["thirdPartyIdentifier"] == confirmation_number
    ]


def sold(hotel, code: str, day) -> int:
    return InventoryDay.objects.get(room_type__hotel=hotel, room_type__code=code, date=day).sold


def staff_sync(hotel, entity: str) -> dict:
    issued = issue_key(name="Ops", hotels=[hotel], scopes=["pms:admin"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw}")
    answer = client.post(
        f"/api/v1/pms/sync/{entity}/?wait=true", {"provider": CLOUDBEDS}, format="json"
    )
    assert answer.status_code == 200, answer.content
    return answer.json()


def test_a_cloudbeds_reservation_arrives_by_webhook_and_its_cancellation_frees_it(
    pema, sandbox, cloudbeds, worker
):
    start = pema.today() + timedelta(days=10)
    made = sandbox.control(
        CLOUDBEDS,
        "create_reservation",
        {
            "startDate": start.isoformat(),
            "endDate": (start + timedelta(days=2)).isoformat(),
            "roomTypeID": "EXQ",
            "firstName": "Tenzin",
            "lastName": "Bhutia",
            "email": "tenzin@example.com",
        },
    )
    assert made["deliveries"] == [200]
    rid = made["reservation"]["reservationID"]
    reservation = wait_for(
        lambda: Reservation.objects.filter(hotel=pema, external_id=rid).first(),
        timeout=30,
        what="the webhook applied",
    )
    assert (reservation.source, reservation.pms_reference) == (Reservation.Source.PMS, rid)
    assert reservation.guest.email == "tenzin@example.com"
    assert sold(pema, "EXQ", start) == 1
    # Imported from the PMS: never written back to it.
    assert not SyncJob.objects.filter(connection=cloudbeds, reservation=reservation).exists()

    sandbox.control(CLOUDBEDS, "cancel_reservation", {"reservationID": rid})
    wait_for(
        lambda: Reservation.objects.get(pk=reservation.pk).status == "cancelled",
        timeout=30,
        what="the cancellation applied",
    )
    assert sold(pema, "EXQ", start) == 0


def test_a_pema_booking_appears_once_in_cloudbeds_and_a_cancel_reaches_it(
    pema, sandbox, cloudbeds, worker
):
    start = pema.today() + timedelta(days=12)
    booked = api_book(pema, "EXQ", start)
    number = booked["confirmation_number"]
    wait_for(lambda: held_by(sandbox, number), timeout=30, what="the booking at Cloudbeds")
    reservation = Reservation.objects.get(confirmation_number=number)
    wait_for(lambda: Reservation.objects.get(pk=reservation.pk).pms_reference, what="reference")
    cancel_reservation(Reservation.objects.get(pk=reservation.pk), source="staff", reason="test")
    wait_for(
        lambda: held_by(sandbox, number)[0]["status"] == "canceled",
        timeout=30,
        what="the cancellation at Cloudbeds",
    )
    assert len(held_by(sandbox, number)) == 1
    assert sold(pema, "EXQ", start) == 0


def test_five_429s_in_a_row_delay_a_booking_but_never_lose_it(pema, sandbox, cloudbeds, worker):
    sandbox.control(CLOUDBEDS, "throttle", {"times": 5})
    start = pema.today() + timedelta(days=14)
    number = api_book(pema, "EXQ", start)["confirmation_number"]
    wait_for(lambda: held_by(sandbox, number), timeout=60, what="the booking, after the 429s")
    assert len(held_by(sandbox, number)) == 1
    assert sandbox.partner_state(CLOUDBEDS)["calls"]["throttled"] == 5


def test_a_room_blocked_in_cloudbeds_blocks_inventory_and_guests_merge_by_email(
    pema, sandbox, cloudbeds, worker
):
    numbers = ["201", "202", "203"]  # Pema's EXQ rooms, as the simulator holds them
    sandbox.control(
        CLOUDBEDS, "set_room", {"roomName": numbers[0], "roomBlocked": True, "roomComments": "Leak"}
    )
    summary = staff_sync(pema, "rooms")
    assert summary["success"] and summary["summary"]["processed"] == 3
    block = RoomBlock.objects.get(room__number=numbers[0], released_at=None)
    assert block.reason == "Leak"
    today = InventoryDay.objects.get(
        room_type__hotel=pema, room_type__code="EXQ", date=pema.today()
    )
    assert today.blocked == 1

    Guest.objects.create(hotel=pema, first_name="T", last_name="B", email="tenzin@example.com")
    start = pema.today() + timedelta(days=20)
    sandbox.control(
        CLOUDBEDS,
        "create_reservation",
        {"startDate": start.isoformat(), "endDate": (start + timedelta(days=1)).isoformat(),
         "roomTypeID": "EXQ", "firstName": "Tenzin", "lastName": "Bhutia",
         "email": "tenzin@example.com"},
    )  # fmt: skip
    staff_sync(pema, "guests")
    guests = Guest.objects.filter(hotel=pema, email="tenzin@example.com")
    assert guests.count() == 1 and guests.get().first_name == "Tenzin" and guests.get().pms_id
    assert PmsSyncLog.objects.filter(connection=cloudbeds, entity="guest", status="completed")
    assert InboundMessage.objects.filter(connection=cloudbeds).exists()


# ---------------------------------------------------------------------- Mews

MEWS = "mews"


@pytest.fixture
def mews(pema, sandbox, live_server) -> Connection:
    from partners.mews.simulator import DEFAULT_ACCESS_TOKEN, DEFAULT_CLIENT_TOKEN, SERVICE

    secret = uuid.uuid4().hex
    conn = Connection.objects.create(
        hotel=pema,
        provider=MEWS,
        name="Mews",
        base_url=f"{sandbox.base_url}/mews",
        push_ari=False,
        settings={"service_id": SERVICE},
        credentials={
            "client_token": DEFAULT_CLIENT_TOKEN,
            "access_token": DEFAULT_ACCESS_TOKEN,
            "webhook_secret": secret,
        },
    )
    # Mews registers the General webhook by hand; the simulator is told it.
    sandbox.control(
        MEWS,
        "configure",
        {"webhook_url": live_server.url + conn.hook_path, "webhook_token": secret},
    )
    return conn


def mews_held(sandbox, number: str) -> list[dict]:
    return [r for r in sandbox.partner_state(MEWS)["reservations"] if r["ChannelNumber"] == number]


def test_mews_a_reservation_arrives_by_webhook_and_a_pema_booking_appears_once(
    pema, sandbox, mews, worker
):
    start = pema.today() + timedelta(days=8)
    made = sandbox.control(
        MEWS,
        "create_reservation",
        {"start": start.isoformat(), "end": (start + timedelta(days=2)).isoformat(),
         "category": "EXQ", "rate": "BAR",
         "customer": {"FirstName": "Karma", "LastName": "Lepcha", "Email": "karma@example.com"}},
    )  # fmt: skip
    assert made["webhook"] == 200
    rid = made["reservation"]["Id"]
    reservation = wait_for(
        lambda: Reservation.objects.filter(hotel=pema, external_id=rid).first(),
        timeout=30,
        what="the Mews webhook applied",
    )
    assert (reservation.source, reservation.guest.email) == ("pms", "karma@example.com")
    sandbox.control(MEWS, "cancel_reservation", {"Id": rid})
    wait_for(
        lambda: Reservation.objects.get(pk=reservation.pk).status == "cancelled",
        timeout=30,
        what="the Mews cancellation applied",
    )

    number = api_book(pema, "EXQ", start + timedelta(days=3))["confirmation_number"]
    wait_for(lambda: mews_held(sandbox, number), timeout=30, what="the booking at Mews")
    booked = Reservation.objects.get(confirmation_number=number)
    wait_for(lambda: Reservation.objects.get(pk=booked.pk).pms_reference, what="the Mews id")
    cancel_reservation(Reservation.objects.get(pk=booked.pk), source="staff", reason="test")
    wait_for(
        lambda: mews_held(sandbox, number)[0]["State"] == "Canceled",
        timeout=30,
        what="the cancellation at Mews",
    )
    assert len(mews_held(sandbox, number)) == 1


def test_mews_out_of_order_blocks_inventory_through_the_rooms_sync(pema, sandbox, mews, worker):
    sandbox.control(MEWS, "resources", {"resources": [{"Name": n} for n in ("201", "202", "203")]})
    sandbox.control(MEWS, "set_resource", {"Name": "202", "State": "OutOfOrder"})
    issued = issue_key(name="Ops", hotels=[pema], scopes=["pms:admin"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw}")
    answer = client.post("/api/v1/pms/sync/rooms/?wait=true", {"provider": MEWS}, format="json")
    assert answer.status_code == 200 and answer.json()["summary"]["processed"] == 3
    assert RoomBlock.objects.filter(room__number="202", released_at=None).exists()
    day = InventoryDay.objects.get(room_type__hotel=pema, room_type__code="EXQ", date=pema.today())
    assert day.blocked == 1


# ---------------------------------------------------------------------- OPERA Cloud

OPERA = "opera"


@pytest.fixture
def opera(pema, sandbox) -> Connection:
    from partners.opera.simulator import APP_KEY, CLIENT_ID, CLIENT_SECRET, HOTEL
    from pema.http_auth import forget_tokens

    forget_tokens()
    sandbox.control(
        OPERA, "rooms", {"rooms": [{"roomId": n, "roomType": "EXQ"} for n in ("201", "202", "203")]}
    )
    return Connection.objects.create(
        hotel=pema,
        provider=OPERA,
        name="OPERA Cloud",
        base_url=f"{sandbox.base_url}/opera",
        push_ari=False,
        settings={"hotel_id": HOTEL, "external_system": "PEMA", "default_rate": "BAR"},
        credentials={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "app_key": APP_KEY},
    )


def opera_sync(hotel, entity: str, **extra) -> dict:
    issued = issue_key(name="Ops", hotels=[hotel], scopes=["pms:admin"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw}")
    answer = client.post(
        f"/api/v1/pms/sync/{entity}/?wait=true", {"provider": OPERA, **extra}, format="json"
    )
    assert answer.status_code == 200, answer.content
    return answer.json()


def opera_held(sandbox, number: str) -> list[dict]:
    return [
        r
        for r in sandbox.partner_state(OPERA)["reservations"]
        if any(ref["id"] == number for ref in r["externalReferences"])
    ]


def test_opera_a_reservation_arrives_by_pull_and_its_cancel_by_business_events(
    pema, sandbox, opera, worker
):
    start = pema.today() + timedelta(days=9)
    made = sandbox.control(
        OPERA,
        "create_reservation",
        {"arrivalDate": start.isoformat(), "departureDate": (start + timedelta(days=2)).isoformat(),
         "roomType": "EXQ", "ratePlanCode": "BAR",
         "guest": {"givenName": "Pema", "surname": "Wangmo", "email": "pema@example.com"}},
    )  # fmt: skip
    rid = made["reservation"]["reservationIdList"][0]["id"]
    # The first run has no "since": a full read of the reservations.
    assert opera_sync(pema, "bookings")["success"]
    reservation = Reservation.objects.get(hotel=pema, external_id=rid)
    assert (reservation.source, reservation.pms_reference) == (Reservation.Source.PMS, rid)
    assert reservation.guest.email == "pema@example.com"
    assert sold(pema, "EXQ", start) == 1
    assert not SyncJob.objects.filter(connection=opera, reservation=reservation).exists()

    sandbox.control(OPERA, "cancel_reservation", {"id": rid})
    since = (timezone.now() - timedelta(hours=1)).isoformat()
    assert opera_sync(pema, "bookings", since=since)["success"]  # business events now
    assert Reservation.objects.get(pk=reservation.pk).status == "cancelled"
    assert sold(pema, "EXQ", start) == 0
    events = InboundMessage.objects.filter(connection=opera, revision__startswith="event:")
    assert events.filter(partner_reservation_id=rid).count() == 2  # new and cancel, kept raw
    assert sandbox.partner_state(OPERA)["events"] == 0  # the queue was read (emptied)


def test_opera_a_pema_booking_appears_once_and_a_cancel_frees_both(pema, sandbox, opera, worker):
    start = pema.today() + timedelta(days=13)
    number = api_book(pema, "EXQ", start)["confirmation_number"]
    wait_for(lambda: opera_held(sandbox, number), timeout=30, what="the booking at OPERA")
    reservation = Reservation.objects.get(confirmation_number=number)
    wait_for(lambda: Reservation.objects.get(pk=reservation.pk).pms_reference, what="OPERA's id")
    # Pema's own change is not queued back to it as a business event.
    since = (timezone.now() - timedelta(hours=1)).isoformat()
    assert opera_sync(pema, "bookings", since=since)["summary"]["processed"] == 0
    cancel_reservation(Reservation.objects.get(pk=reservation.pk), source="staff", reason="test")
    wait_for(
        lambda: opera_held(sandbox, number)[0]["reservationStatus"] == "Cancelled",
        timeout=30,
        what="the cancellation at OPERA",
    )
    assert len(opera_held(sandbox, number)) == 1
    assert sold(pema, "EXQ", start) == 0


def test_opera_out_of_order_blocks_inventory_and_clearing_it_releases(pema, sandbox, opera, worker):
    today = pema.today()
    sandbox.control(
        OPERA,
        "set_room",
        {"roomId": "202", "status": "OutOfOrder", "start": today.isoformat(),
         "end": (today + timedelta(days=1)).isoformat(), "reason": "Broken window"},
    )  # fmt: skip
    assert opera_sync(pema, "rooms")["summary"]["processed"] == 3
    block = RoomBlock.objects.get(room__number="202", released_at=None)
    assert block.reason == "Broken window"
    day = InventoryDay.objects.get(room_type__hotel=pema, room_type__code="EXQ", date=today)
    assert day.blocked == 1
    sandbox.control(OPERA, "set_room", {"roomId": "202", "status": "Dirty"})
    opera_sync(pema, "rooms")
    assert not RoomBlock.objects.filter(room__number="202", released_at=None).exists()
    day.refresh_from_db()
    assert day.blocked == 0


def test_opera_guests_merge_by_email_and_five_429s_only_delay_a_booking(
    pema, sandbox, opera, worker
):
    Guest.objects.create(hotel=pema, first_name="D", last_name="L", email="dolma@example.com")
    sandbox.control(
        OPERA,
        "add_profile",
        {"givenName": "Dolma", "surname": "Lhamo", "email": "dolma@example.com", "level": "GOLD"},
    )
    assert opera_sync(pema, "guests")["success"]
    guest = Guest.objects.get(hotel=pema, email="dolma@example.com")
    assert (guest.first_name, guest.loyalty_tier) == ("Dolma", "GOLD") and guest.pms_id

    sandbox.control(OPERA, "throttle", {"times": 5})
    number = api_book(pema, "EXQ", pema.today() + timedelta(days=15))["confirmation_number"]
    wait_for(lambda: opera_held(sandbox, number), timeout=60, what="the booking, after the 429s")
    assert len(opera_held(sandbox, number)) == 1
    assert sandbox.partner_state(OPERA)["calls"]["throttled"] == 5
