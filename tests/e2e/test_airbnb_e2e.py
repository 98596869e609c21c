"""Airbnb end to end: the sandbox process (its Airbnb simulator), a real Celery worker, the
real database, and Pema served live so the simulator reads its export as Airbnb would.

The worker reads the listing's feed on the beat's schedule, set to 2 s for
the test (10 minutes by default): a booking made at the simulator lands in
Pema within a few intervals. Pema's side reaches Airbnb when Airbnb next reads
the export; the test plays Airbnb's poll by asking the simulator to read it.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests

from bookings.models import InventoryDay, Reservation
from channels.models import InboundMessage
from tests.factories import sellable_hotel

from .airbnb import (
    LISTING,
    PARTNER,
    airbnb_booking,
    closed_at_airbnb,
    connect_airbnb,
    landed,
    nights,
    sold,
)
from .booking import PullBeat, api_book
from .conftest import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

Status = InboundMessage.Status


@pytest.fixture
def pema(transactional_db, sandbox, settings):
    settings.CHANNELS_RETRY_BASE_SECONDS = 0.2
    settings.CHANNELS_RETRY_MAX_SECONDS = 1
    return sellable_hotel(code="PEMA", rooms={"EXT": 12, "SUI": 1}, days=60)


def test_an_airbnb_booking_lands_once_even_through_an_outage(
    pema, sandbox, live_server, start_worker
):
    conn = connect_airbnb(pema, sandbox, live_server)
    start_worker()
    with PullBeat(conn):
        sandbox.partner_faults(PARTNER, down=True)
        made = airbnb_booking(sandbox, pema, 5)
        # Several reads fail meanwhile: nothing lands, nothing is cancelled or lost.
        wait_for(
            lambda: conn.logs.filter(operation=f"feed:{LISTING}", status="error").count() >= 2,
            timeout=30,
            what="reads failing during the outage",
        )
        assert not landed(pema, made["uid"])
        sandbox.partner_faults(PARTNER, down=False)
        wait_for(lambda: landed(pema, made["uid"]), timeout=30, what="the booking in Pema")
        # A few more reads of the same feed change nothing.
        reads = conn.logs.filter(operation=f"feed:{LISTING}", status="success").count()
        wait_for(
            lambda: (
                conn.logs.filter(operation=f"feed:{LISTING}", status="success").count() >= reads + 2
            ),
            timeout=30,
            what="more reads",
        )
    (reservation,) = landed(pema, made["uid"])
    assert reservation.status == Reservation.Status.CONFIRMED
    assert "Guest details from Airbnb" in reservation.staff_notes
    assert sold(pema, 5) == sold(pema, 6) == 1
    applied = InboundMessage.objects.filter(connection=conn, status=Status.APPLIED)
    assert applied.count() == 1
    # Airbnb's own booking does not come back to it as closed nights (no echo).
    assert not closed_at_airbnb(sandbox) & nights(pema, 5, 2)


def test_a_room_sold_in_pema_disappears_from_what_airbnb_reads(
    pema, sandbox, live_server, start_worker
):
    connect_airbnb(pema, sandbox, live_server)
    start_worker()
    first = closed_at_airbnb(sandbox)
    assert not first & nights(pema, 8, 2)
    api_book(pema, "SUI", pema.today() + timedelta(days=8))
    # Airbnb's next read of the export (within its poll interval) finds the nights closed.
    assert nights(pema, 8, 2) <= closed_at_airbnb(sandbox)
    unchanged = sandbox.control(PARTNER, "fetch_export", {"listing": LISTING})
    assert unchanged["status"] == 304, "a read that finds nothing new is a 304"
    # And Airbnb no longer sells them.
    refused = requests.post(
        f"{sandbox.base_url}/_control/{PARTNER}/book",
        timeout=10,
        json={
            "listing": LISTING,
            "check_in": (pema.today() + timedelta(days=8)).isoformat(),
            "nights": 1,
        },
    )
    assert refused.status_code == 400 and "not available" in refused.text


def test_a_removal_at_airbnb_frees_the_room(pema, sandbox, live_server, start_worker):
    conn = connect_airbnb(pema, sandbox, live_server)
    start_worker()
    with PullBeat(conn):
        made = airbnb_booking(sandbox, pema, 12, count=3)
        wait_for(lambda: landed(pema, made["uid"]), timeout=30, what="the booking in Pema")
        assert sold(pema, 12) == 1
        block = sandbox.control(
            PARTNER,
            "block",
            {
                "listing": LISTING,
                "start": (pema.today() + timedelta(days=20)).isoformat(),
                "end": (pema.today() + timedelta(days=22)).isoformat(),
            },
        )

        def blocked() -> int:
            return InventoryDay.objects.get(
                room_type__hotel=pema,
                room_type__code="SUI",
                date=pema.today() + timedelta(days=20),
            ).blocked

        wait_for(lambda: blocked() == 1, timeout=30, what="the block in Pema")
        sandbox.control(PARTNER, "remove", {"uid": made["uid"]})
        sandbox.control(PARTNER, "remove", {"uid": block["uid"]})

        def cancelled() -> bool:
            (reservation,) = landed(pema, made["uid"])
            return reservation.status == Reservation.Status.CANCELLED

        wait_for(cancelled, timeout=30, what="the cancellation in Pema")
        wait_for(lambda: blocked() == 0, timeout=30, what="the block freed")
    assert sold(pema, 12) == sold(pema, 13) == sold(pema, 14) == 0
    # The room is on sale again: Airbnb reads the nights open and takes a booking for them.
    assert not closed_at_airbnb(sandbox) & (nights(pema, 12, 3) | nights(pema, 20, 2))
    airbnb_booking(sandbox, pema, 12, count=3)
