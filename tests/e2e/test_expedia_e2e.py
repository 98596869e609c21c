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

from bookings.models import Reservation
from channels.models import InboundMessage
from tests.factories import sellable_hotel

from .booking import PullBeat, api_book, available, outbox_settled
from .conftest import wait_for
from .expedia import PARTNER, PULL_INTERVAL, book_at_expedia, confirmed, connect_expedia, inventory

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

ECHO_SECONDS = 5
OUTAGE_SECONDS = 20
Status = InboundMessage.Status


@pytest.fixture
def pema(transactional_db, sandbox, settings):
    settings.CHANNELS_RETRY_BASE_SECONDS = 0.2
    settings.CHANNELS_RETRY_MAX_SECONDS = 1
    return sellable_hotel(code="PEMA", rooms={"EXT": 5, "EXQ": 4}, days=60)


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
