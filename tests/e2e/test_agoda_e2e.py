"""Agoda end to end: the sandbox process (the Agoda simulator), a real Celery worker, the real
database, and Pema's hook served live so the simulator's BookingHint reaches it.

Bookings are made at the simulator through its control API. Its hint reaches
``/hooks/<uuid>/`` and the worker fetches the booking's details at once; the
pull beat (every 2 s here, when a test runs one) is the backstop through an
outage. What Pema holds is checked against what the simulator holds.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from bookings.models import Reservation
from channels.models import InboundMessage

from .agoda import PARTNER, PLAN, allotments, applied, connect_agoda, hint_outcomes
from .booking import PullBeat, api_book, available, outbox_settled
from .conftest import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

ECHO_SECONDS = 5


@pytest.fixture
def pema(transactional_db, sandbox, settings):
    from tests.factories import sellable_hotel

    settings.CHANNELS_RETRY_BASE_SECONDS = 0.2
    settings.CHANNELS_RETRY_MAX_SECONDS = 1
    return sellable_hotel(code="PEMA", rooms={"EXT": 12, "EXQ": 12}, days=60)


@pytest.mark.parametrize("auth", ["api_key", "token"])
def test_a_local_booking_reaches_agoda_as_allotment_within_5_s(
    pema, sandbox, live_server, start_worker, auth
):
    conn = connect_agoda(pema, sandbox, live_server, auth=auth)
    start_worker()
    start = pema.today() + timedelta(days=4)
    before = available(pema, "EXQ", start, 2)

    api_book(pema, "EXQ", start)

    wait_for(
        lambda: allotments(sandbox, "EXQ", start, 2) == [n - 1 for n in before],
        timeout=ECHO_SECONDS,
        what=f"the allotment at Agoda ({auth})",
    )
    wait_for(lambda: outbox_settled(conn), what="the job marked done")
    counts = sandbox.partner_state(PARTNER)["counts"]
    if auth == "token":
        assert counts.get("tokens issued") == 1 and not counts.get("api_key_after_cutoff")


def test_an_agoda_booking_is_hinted_fetched_at_once_and_lands_once(
    pema, sandbox, live_server, start_worker
):
    conn = connect_agoda(pema, sandbox, live_server)  # no pull beat: only the hint fetches
    start_worker()
    start = pema.today() + timedelta(days=6)
    before = available(pema, "EXT", start, 3)

    made = sandbox.control(
        PARTNER,
        "new",
        {"room_id": "EXT", "rate_id": PLAN, "check_in": start.isoformat(), "nights": 3},
    )

    message = wait_for(lambda: applied(conn, made["id"]), timeout=20, what="the hinted fetch")
    assert hint_outcomes(sandbox, made["id"]) == ["delivered"]
    reservation = message.reservation
    assert reservation.source_channel == "agoda" and reservation.external_id == made["id"]
    assert reservation.total_amount == sum(price for _, price in made["nights"])
    assert available(pema, "EXT", start, 3) == [n - 1 for n in before]
    counts = sandbox.partner_state(PARTNER)["counts"]
    assert counts.get(f"detail {made['id']}") == 1, "read once"
    # The echo: Agoda's allotment follows the booking it sent.
    wait_for(
        lambda: allotments(sandbox, "EXT", start, 3) == [n - 1 for n in before],
        timeout=ECHO_SECONDS,
        what="the allotment echo",
    )


def test_a_booking_made_during_an_outage_lands_once_after_it(
    pema, sandbox, live_server, start_worker
):
    conn = connect_agoda(pema, sandbox, live_server, pull_seconds=2)
    start_worker()
    start = pema.today() + timedelta(days=8)
    sandbox.partner_faults(PARTNER, down=True)
    with PullBeat(conn):
        made = sandbox.control(
            PARTNER, "new", {"room_id": "EXQ", "rate_id": PLAN, "check_in": start.isoformat()}
        )
        # The hint reaches Pema, whose fetch (and the pulls) find Agoda down.
        wait_for(lambda: hint_outcomes(sandbox, made["id"]) == ["delivered"], what="the hint")
        time.sleep(5)
        assert applied(conn, made["id"]) is None
        sandbox.partner_faults(PARTNER, down=False)
        wait_for(lambda: applied(conn, made["id"]), timeout=30, what="the pull after the outage")
        time.sleep(5)  # more pulls: they must find nothing new
    assert Reservation.objects.filter(hotel=pema, external_id=made["id"]).count() == 1
    assert (
        InboundMessage.objects.filter(connection=conn, partner_reservation_id=made["id"]).count()
        == 1
    )
    assert conn.logs.filter(status="error").exists(), "the outage is in the sync log"


def test_a_cancellation_at_agoda_frees_the_room(pema, sandbox, live_server, start_worker):
    conn = connect_agoda(pema, sandbox, live_server)
    start_worker()
    start = pema.today() + timedelta(days=10)
    before = available(pema, "EXT", start, 2)
    made = sandbox.control(
        PARTNER, "new", {"room_id": "EXT", "rate_id": PLAN, "check_in": start.isoformat()}
    )
    wait_for(lambda: applied(conn, made["id"]), timeout=20, what="the booking")
    assert available(pema, "EXT", start, 2) == [n - 1 for n in before]

    sandbox.control(PARTNER, "cancel", {"booking_id": made["id"]})

    wait_for(
        lambda: applied(conn, made["id"], "CancelBooking"), timeout=20, what="the cancellation"
    )
    reservation = Reservation.objects.get(hotel=pema, external_id=made["id"])
    assert reservation.status == Reservation.Status.CANCELLED
    assert available(pema, "EXT", start, 2) == before
    wait_for(
        lambda: allotments(sandbox, "EXT", start, 2) == before,
        timeout=ECHO_SECONDS,
        what="the freed room at Agoda",
    )
