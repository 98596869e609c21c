"""Workers applying messages of one reservation at once (PostgreSQL, real threads)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connections

from bookings.models import ChangeEvent, Reservation
from channels.inbound import apply_inbound, record_inbound
from channels.interface import InboundKind
from channels.models import InboundMessage

from .test_inbound import T0, message, sold

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_together(*calls) -> list[str]:
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def work(call):
        try:
            barrier.wait()
            outcomes.append(call())
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    return outcomes


def test_one_message_applied_by_four_workers_at_once_books_once(hotel, ota):
    stored = record_inbound(ota, message(hotel))

    outcomes = run_together(*[lambda: apply_inbound(stored.pk).status] * 4)

    assert outcomes == [InboundMessage.Status.APPLIED] * 4
    assert Reservation.objects.count() == 1
    assert ChangeEvent.objects.filter(kind=ChangeEvent.Kind.RESERVATION_CREATED).count() == 1
    assert sold(hotel, "EXQ", 5, 2) == [(1, 0), (1, 0)]


def test_a_booking_and_its_modification_at_once_end_as_the_modification(hotel, ota):
    new = record_inbound(ota, message(hotel, revised_at=T0))
    modify = record_inbound(
        ota,
        message(hotel, InboundKind.MODIFY, revision="2", start=9, revised_at=T0 + timedelta(1)),
    )

    run_together(lambda: apply_inbound(new.pk).status, lambda: apply_inbound(modify.pk).status)

    reservation = Reservation.objects.get()
    assert (reservation.check_in - hotel.today()).days == 9
    assert sold(hotel, "EXQ", 5, 2) == [(0, 0), (0, 0)]
    assert sold(hotel, "EXQ", 9, 2) == [(1, 0), (1, 0)]
    statuses = set(InboundMessage.objects.values_list("status", flat=True))
    # Whichever ran first: the booking then its change, or the change (booking it) and
    # then the older booking passed over.
    assert statuses <= {InboundMessage.Status.APPLIED, InboundMessage.Status.SUPERSEDED}
