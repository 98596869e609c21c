"""The engine's half of a delivery: a job becomes a typed call, and the result is written.

A recording provider stands in for the partner, so what is checked is only
the engine: which values a provider is handed, and what the engine makes of
the ``DeliveryResult`` (skipped, partner references, warnings) and of a
failure. The real partners' wire formats have their own tests.
"""

from __future__ import annotations

import re

import pytest
import responses

from bookings.models import Reservation
from bookings.reservations import cancel_reservation
from channels.delivery import deliver
from channels.interface import (
    AvailabilityItem,
    Capabilities,
    DeliveryResult,
    RateItem,
    ReservationMessage,
    RestrictionItem,
)
from channels.models import ChannelProduct, SyncJob, SyncLog
from channels.providers.base import Provider, TransientError

from .conftest import make_connection
from .test_dispatch import book

BASE = "http://recording.test"


class RecordingProvider(Provider):
    """Keeps what it is handed and answers what the test says; one logged call each."""

    key = "test_recording"
    label = "Recording partner"
    calls: list[tuple[str, object]] = []
    answer: DeliveryResult | Exception = DeliveryResult()

    def capabilities(self) -> Capabilities:
        return Capabilities(exports_reservations=True)

    def _call(self, operation: str, value: object) -> DeliveryResult:
        type(self).calls.append((operation, value))
        self.exchange(operation, b"{}", lambda body: body, items=1)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer

    def push_availability(self, items, *, message_id):
        return self._call("push_availability", (tuple(items), message_id))

    def push_rates(self, items, *, message_id):
        return self._call("push_rates", (tuple(items), message_id))

    def push_reservation(self, reservation, *, message_id):
        return self._call("push_reservation", reservation)

    def cancel_reservation(self, reservation, *, message_id):
        return self._call("cancel_reservation", reservation)


@pytest.fixture
def recording(monkeypatch, hotel):
    from channels import providers

    monkeypatch.setitem(
        providers.PROVIDERS, "test_recording", f"{__name__}.{RecordingProvider.__name__}"
    )
    providers.provider_class.cache_clear()
    RecordingProvider.calls = []
    RecordingProvider.answer = DeliveryResult()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.POST, re.compile(f"{BASE}/.*"), body=b"{}")
        yield make_connection(
            hotel,
            provider="test_recording",
            name="Recording",
            base_url=BASE,
            settings={},
            credentials={},
            room_type_map={"EXT": "R-EXT"},
            rate_plan_map={"BAR": "P-BAR"},
        )
    providers.provider_class.cache_clear()


def ari_job(conn, kind: str, items: list[dict]) -> SyncJob:
    return SyncJob.objects.create(
        connection=conn, stream=SyncJob.ARI_STREAM, kind=kind, payload={"items": items}
    )


def avail(day, code: str = "EXT") -> dict:
    iso = day.isoformat()
    return {"type": "avail", "room_type": code, "start": iso, "end": iso, "limit": 2,
            "stop_sell": False}  # fmt: skip


def restr(day) -> dict:
    iso = day.isoformat()
    return {"type": "restr", "room_type": "EXT", "rate_plan": "BAR", "start": iso, "end": iso,
            "days": [0, 2], "stop_sell": False, "cta": True, "ctd": False, "min_stay_arrival": 2,
            "min_stay_through": 1, "max_stay": None}  # fmt: skip


def rate(day) -> dict:
    iso = day.isoformat()
    return {"type": "rate", "room_type": "EXT", "rate_plan": "BAR", "start": iso, "end": iso,
            "price": 9900, "currency": "INR", "extra_adult": 1500}  # fmt: skip


def test_ari_items_reach_the_provider_typed_and_in_the_partners_ids(recording):
    day = recording.hotel.today()
    ari_job(recording, SyncJob.Kind.AVAILABILITY, [avail(day), restr(day)])
    job = ari_job(recording, SyncJob.Kind.RATES, [rate(day)])
    deliver(recording.pk)
    (op1, (items, message_id)), (op2, (prices, _)) = RecordingProvider.calls
    assert (op1, op2) == ("push_availability", "push_rates")
    first, second = items
    assert isinstance(first, AvailabilityItem) and first.partner_room_id == "R-EXT"
    assert (first.rooms_to_sell, first.span.start) == (2, day)
    assert isinstance(second, RestrictionItem) and second.partner_rate_id == "P-BAR"
    assert second.closed_to_arrival and second.span.weekdays == (0, 2)
    assert isinstance(prices[0], RateItem) and prices[0].extra_adult == 1500
    assert message_id.startswith(f"pema-{recording.pk}-")
    job.refresh_from_db()
    assert job.status == SyncJob.Status.DONE
    assert SyncLog.objects.filter(job=job).count() == 1, "the provider's call is the job's"


def test_unmapped_products_are_left_out_and_named(recording):
    ChannelProduct.objects.create(
        connection=recording,
        room_type=recording.hotel.room_types.get(code="EXQ"),
        partner_room_id="R-EXQ",
    )
    day = recording.hotel.today()
    job = ari_job(recording, SyncJob.Kind.AVAILABILITY, [avail(day, "EXT"), avail(day, "EXQ")])
    deliver(recording.pk)
    [(_, (items, _))] = RecordingProvider.calls
    assert [i.partner_room_id for i in items] == ["R-EXQ"]
    job.refresh_from_db()
    assert job.status == SyncJob.Status.DONE
    assert job.payload["warnings"] == ["Not mapped on this connection, not sent: EXT."]
    log = SyncLog.objects.get(job=job)
    assert log.status == SyncLog.Status.WARNING and "not sent: EXT" in log.error


def test_a_job_with_nothing_mapped_is_skipped_without_a_call(recording):
    ChannelProduct.objects.create(
        connection=recording,
        room_type=recording.hotel.room_types.get(code="EXQ"),
        partner_room_id="R-EXQ",
    )
    job = ari_job(recording, SyncJob.Kind.AVAILABILITY, [avail(recording.hotel.today())])
    deliver(recording.pk)
    job.refresh_from_db()
    assert not RecordingProvider.calls
    assert job.status == SyncJob.Status.SKIPPED and "EXT" in job.last_error


def test_a_reservation_is_handed_over_and_the_partners_reference_kept(recording):
    res = book(recording.hotel)
    job = SyncJob.objects.create(
        connection=recording, stream=f"res:{res.pk}", kind=SyncJob.Kind.RES_CREATE, reservation=res
    )
    RecordingProvider.answer = DeliveryResult(
        partner_references={res.confirmation_number: "P-42"}, warnings=("Guest name shortened.",)
    )
    deliver(recording.pk)
    [(operation, message)] = RecordingProvider.calls
    assert operation == "push_reservation" and isinstance(message, ReservationMessage)
    assert (message.confirmation_number, message.partner_reference) == (res.confirmation_number, "")
    assert (message.check_in, message.check_out, message.adults) == (res.check_in, res.check_out, 2)
    assert message.guest.surname == "Rao" and message.total == res.total_amount
    [room] = message.rooms
    assert (room.partner_room_id, room.partner_rate_id) == ("R-EXT", "P-BAR")
    assert len(room.nights) == 2 and room.nights[0].date == res.check_in
    res.refresh_from_db()
    job.refresh_from_db()
    assert res.pms_reference == "P-42"
    assert job.status == SyncJob.Status.DONE
    assert job.payload["partner_references"] == {res.confirmation_number: "P-42"}
    assert job.payload["warnings"] == ["Guest name shortened."]
    assert "Guest name shortened." in SyncLog.objects.get(job=job).error


def test_a_cancel_carries_the_reference_and_status(recording):
    res = book(recording.hotel)
    Reservation.objects.filter(pk=res.pk).update(pms_reference="P-7")
    cancel_reservation(Reservation.objects.get(pk=res.pk), source="staff")
    SyncJob.objects.create(
        connection=recording, stream=f"res:{res.pk}", kind=SyncJob.Kind.RES_CANCEL, reservation=res
    )
    deliver(recording.pk)
    [(operation, message)] = RecordingProvider.calls
    assert operation == "cancel_reservation"
    assert message.partner_reference == "P-7" and message.cancelled


@pytest.mark.parametrize("why", ["gone", "already_there", "provider_says"])
def test_skipped_jobs_end_skipped_with_the_reason(recording, why):
    res = book(recording.hotel, offset=5)
    if why == "already_there":
        Reservation.objects.filter(pk=res.pk).update(pms_reference="P-1")
    if why == "provider_says":
        RecordingProvider.answer = DeliveryResult(skipped="Nothing the partner needs.")
    job = SyncJob.objects.create(
        connection=recording,
        stream=f"res:{res.pk}",
        kind=SyncJob.Kind.RES_CREATE,
        reservation=None if why == "gone" else res,
    )
    deliver(recording.pk)
    job.refresh_from_db()
    assert job.status == SyncJob.Status.SKIPPED
    expected = {
        "gone": "no longer exists",
        "already_there": "as P-1",
        "provider_says": "Nothing the partner needs.",
    }[why]
    assert expected in job.last_error
    assert len(RecordingProvider.calls) == (why == "provider_says")


def test_a_provider_failure_is_the_outbox_failure_path(recording):
    RecordingProvider.answer = TransientError("The partner is busy.")
    job = ari_job(recording, SyncJob.Kind.RATES, [rate(recording.hotel.today())])
    deliver(recording.pk)
    job.refresh_from_db()
    assert (job.status, job.attempts) == (SyncJob.Status.PENDING, 1)
    assert "busy" in job.last_error and "warnings" not in job.payload
