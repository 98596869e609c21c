"""Expedia end to end: the real app, a Celery worker and ``manage.py runsandbox``.

The Expedia simulator runs in the sandbox process under ``/expedia/``, with its
control at ``/_control/expedia/``. A change in Pema reaches Expedia's rooms to
sell; a booking made at Expedia lands once and is confirmed with Pema's
confirmation number, through an outage of the whole simulator and of BC
alone; a cancellation frees the room, in Pema and at Expedia.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from bookings.models import Reservation
from channels.connections import parse_products
from channels.models import Connection, InboundMessage
from partners.expedia import setup as expedia_setup
from tests.factories import sellable_hotel

from .booking import PullBeat, available, outbox_settled
from .conftest import wait_for
from .test_booking_com_e2e import api_book

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

PARTNER = "expedia"
PLAN = "BAR"
CREDENTIALS = {
    "username": settings.EXPEDIA_SANDBOX_USERNAME,
    "password": settings.EXPEDIA_SANDBOX_PASSWORD,
    "hotel_id": settings.EXPEDIA_SANDBOX_HOTEL_ID,
}
ECHO_SECONDS = 5
#: Seconds between pulls: the connection's setting, under Expedia's minute for a test.
PULL_INTERVAL = 2
OUTAGE_SECONDS = 20
Status = InboundMessage.Status


@pytest.fixture
def pema(transactional_db, sandbox, settings):
    settings.CHANNELS_RETRY_BASE_SECONDS = 0.2
    settings.CHANNELS_RETRY_MAX_SECONDS = 1
    return sellable_hotel(code="PEMA", rooms={"EXT": 5, "EXQ": 4}, days=60)


def connect_expedia(hotel, sandbox) -> Connection:
    """The hotel's Expedia connection to the simulator, ids "<code>" and "<code>-BAR"."""
    codes = list(hotel.room_types.values_list("code", flat=True))
    sandbox.control(
        PARTNER,
        "configure",
        {
            "products": [[code, f"{code}-{PLAN}"] for code in codes],
            "currency": hotel.currency,
            "hotel_id": CREDENTIALS["hotel_id"],
        },
    )
    products = []
    for code in codes:
        products.append(
            {"room_type": code, "rate_plan": None, "partner_room_id": code, "partner_rate_id": None}
        )
        products.append(
            {
                "room_type": code,
                "rate_plan": PLAN,
                "partner_room_id": code,
                "partner_rate_id": f"{code}-{PLAN}",
            }
        )
    conn, _ = expedia_setup.connect(
        hotel=hotel.code,
        base_url=f"{sandbox.base_url}/expedia",
        credentials=CREDENTIALS,
        settings={"pull_interval_seconds": PULL_INTERVAL},
        products=parse_products(products),
    )
    # These tests follow what changes from here on: the first full sync is behind them.
    Connection.objects.filter(pk=conn.pk).update(last_full_sync_at=timezone.now())
    conn.refresh_from_db()
    return conn


def inventory(sandbox, room: str, start, nights: int) -> list[int | None]:
    """``totalInventoryAvailable`` the simulator holds for ``room`` on each night."""
    held = sandbox.control(
        PARTNER,
        "ari",
        {
            "room_id": room,
            "start": start.isoformat(),
            "end": (start + timedelta(days=nights - 1)).isoformat(),
        },
    )
    return [(day or {}).get("total_inventory") for _, day in sorted(held.items())]


def bookings(sandbox) -> dict[str, dict]:
    return {b["id"]: b for b in sandbox.partner_state(PARTNER)["bookings"]}


def confirmed(sandbox, bid: str, kind: str) -> dict | None:
    record = bookings(sandbox)[bid]
    return next(
        (t for t in record["transactions"] if t["type"] == kind and t["status"] == "confirmed"),
        None,
    )


def book_at_expedia(sandbox, room: str, start, nights: int) -> str:
    made = sandbox.control(
        PARTNER,
        "book",
        {
            "room_id": room,
            "rate_id": f"{room}-{PLAN}",
            "check_in": start.isoformat(),
            "nights": nights,
        },
    )
    return made["id"]


def test_a_local_booking_reaches_expedia_as_total_inventory_within_5_s(pema, sandbox, start_worker):
    conn = connect_expedia(pema, sandbox)
    start_worker()
    start = pema.today() + timedelta(days=4)
    before = available(pema, "EXQ", start, 2)

    api_book(pema, "EXQ", start)

    wait_for(
        lambda: inventory(sandbox, "EXQ", start, 2) == [n - 1 for n in before],
        timeout=ECHO_SECONDS,
        what="totalInventoryAvailable at Expedia",
    )
    wait_for(lambda: outbox_settled(conn), what="the job marked done")


def test_an_expedia_booking_lands_once_and_is_confirmed_through_outages(
    pema, sandbox, start_worker
):
    conn = connect_expedia(pema, sandbox)
    start_worker()
    start = pema.today() + timedelta(days=6)
    before = available(pema, "EXT", start, 3)

    with PullBeat(conn):
        # The whole simulator is down while the guest books.
        sandbox.partner_faults(PARTNER, down=True)
        bid = book_at_expedia(sandbox, "EXT", start, 3)
        time.sleep(OUTAGE_SECONDS)
        assert not Reservation.objects.filter(external_id=bid).exists()
        sandbox.partner_faults(PARTNER, down=False)
        record = wait_for(lambda: confirmed(sandbox, bid, "Book"), timeout=60, what="the BC")
        reservation = Reservation.objects.get(source_channel="expedia", external_id=bid)
        assert record["confirm_number"] == reservation.confirmation_number
        assert available(pema, "EXT", start, 3) == [n - 1 for n in before]

        # Then BC alone fails: the booking is applied, and confirmed once BC answers.
        sandbox.control(PARTNER, "configure", {"bc_unavailable": True})
        second = book_at_expedia(sandbox, "EXQ", start, 2)
        wait_for(
            lambda: Reservation.objects.filter(external_id=second).exists(),
            timeout=30,
            what="the second booking applied",
        )
        time.sleep(3 * PULL_INTERVAL)  # pulled again, unconfirmed
        assert confirmed(sandbox, second, "Book") is None
        sandbox.control(PARTNER, "configure", {"bc_unavailable": False})
        wait_for(lambda: confirmed(sandbox, second, "Book"), timeout=60, what="the late BC")

    for booking_id in (bid, second):
        assert Reservation.objects.filter(external_id=booking_id).count() == 1
        [message] = InboundMessage.objects.filter(
            connection=conn, partner_reservation_id=booking_id
        )
        assert message.status == Status.APPLIED
    assert InboundMessage.objects.get(partner_reservation_id=second).deliveries >= 2
    assert Reservation.objects.get(external_id=second).version == 1


def test_a_cancellation_at_expedia_frees_the_room_in_pema_and_at_expedia(
    pema, sandbox, start_worker
):
    conn = connect_expedia(pema, sandbox)
    start_worker()
    start = pema.today() + timedelta(days=9)
    before = available(pema, "EXT", start, 2)

    with PullBeat(conn):
        bid = book_at_expedia(sandbox, "EXT", start, 2)
        wait_for(lambda: confirmed(sandbox, bid, "Book"), timeout=60, what="the booking's BC")
        assert available(pema, "EXT", start, 2) == [n - 1 for n in before]
        sandbox.control(PARTNER, "cancel", {"booking_id": bid})
        wait_for(lambda: confirmed(sandbox, bid, "Cancel"), timeout=60, what="the cancel's BC")

    reservation = Reservation.objects.get(external_id=bid)
    assert reservation.status == Reservation.Status.CANCELLED
    assert available(pema, "EXT", start, 2) == before
    wait_for(
        lambda: inventory(sandbox, "EXT", start, 2) == before,
        timeout=30,
        what="Expedia's rooms to sell back",
    )
