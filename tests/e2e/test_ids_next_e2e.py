"""IDS Next end to end: the sandbox process, a Celery worker process, the real database."""

from datetime import timedelta

import pytest

from bookings.ari import AriChanges, apply_ari_update
from bookings.errors import ExternalAvailabilityUnavailable
from bookings.models import Hotel, Reservation
from bookings.reservations import GuestDetails, cancel_reservation, reserve_stay
from channels.models import SyncJob, SyncLog
from pema import ota

from .conftest import connect, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


def book(hotel, offset=3, nights=2, last="Menon"):
    start = hotel.today() + timedelta(days=offset)
    return reserve_stay(
        hotel=hotel,
        room_type=hotel.room_types.get(code="EXT"),
        rate_plan=hotel.rate_plans.get(code="BAR"),
        check_in=start,
        check_out=start + timedelta(days=nights),
        adults=2,
        guest=GuestDetails("Meera", last, f"{last.lower()}@example.com"),
        special_requests="Quiet room",
        source="booking_engine",
    )


def held(sandbox, confirmation):
    return [
        r for r in sandbox.state()["reservations"] if r.get("confirmation_number") == confirmation
    ]


def test_booking_and_cancellation_reach_the_sandbox(ids_hotel, sandbox, worker):
    res = book(ids_hotel)
    [remote] = wait_for(lambda: held(sandbox, res.confirmation_number), what="reservation")
    assert remote["room_type"] == "EXT"
    assert (remote["arrival"], remote["departure"]) == (
        res.check_in.isoformat(),
        res.check_out.isoformat(),
    )
    assert (remote["adults"], remote["rate_plan"], remote["total"]) == (
        2,
        "BAR",
        res.total_amount,
    )
    assert remote["special_requests"] == ["Quiet room"]
    assert "Menon" in str(remote["guest"])
    # The sandbox holds it as soon as it answers; the worker writes the reference just after.
    wait_for(
        lambda: Reservation.objects.filter(pk=res.pk).exclude(pms_reference="").exists(),
        what="the PMS reference",
    )
    res.refresh_from_db()
    assert res.pms_reference == remote["reference"]
    cancel_reservation(res, source="staff")
    wait_for(
        lambda: held(sandbox, res.confirmation_number)[0]["status"] == "Cancelled",
        what="cancellation",
    )


def test_ari_change_arrives_coalesced(ids_hotel, sandbox, worker):
    start = ids_hotel.today() + timedelta(days=2)
    apply_ari_update(
        ids_hotel, start=start, end=start + timedelta(days=9), changes=AriChanges(price=876500)
    )

    def arrived():
        rates = sandbox.state()["rates"].get("BAR/EXT", {})
        days = [(start + timedelta(days=i)).isoformat() for i in range(10)]
        return all(rates.get(d, {}).get("amount") == 876500 for d in days)

    wait_for(arrived, what="rates")
    # The sandbox holds the rates a moment before the worker writes its log row.
    logs = SyncLog.objects.filter(operation=ota.RATE_AMOUNT_NOTIF_RQ, status="success")
    wait_for(logs.exists, what="rates log")
    # One message per room type for the ten days (a document sent again under a
    # loaded machine's lease hand-over carries the same two).
    assert {log.items for log in logs} == {2}


def test_sandbox_down_bookings_succeed_and_deliver_once_it_returns(ids_hotel, sandbox, worker):
    sandbox.set_faults(down=True)
    made = [book(ids_hotel, offset=2 + i, last=f"Guest{i}") for i in range(3)]
    assert all(r.status == Reservation.Status.CONFIRMED for r in made)
    wait_for(
        lambda: SyncJob.objects.filter(kind="res_create", attempts__gte=2).count() == 3,
        what="retries",
    )
    sandbox.set_faults(down=False)
    for res in made:
        wait_for(lambda r=res: held(sandbox, r.confirmation_number), what=res.confirmation_number)
    wait_for(lambda: not SyncJob.objects.filter(status="pending").exists(), what="drained")
    numbers = [r["confirmation_number"] for r in sandbox.state()["reservations"]]
    assert sorted(numbers) == sorted(r.confirmation_number for r in made)  # each exactly once
    assert not SyncJob.objects.filter(status="dead").exists()


def test_pms_master_and_sandbox_down_is_a_503(ids_hotel, sandbox, admin_client):
    ids_hotel.availability_master = Hotel.AvailabilityMaster.PMS
    ids_hotel.save()
    sandbox.stop()
    with pytest.raises(ExternalAvailabilityUnavailable):
        book(ids_hotel)
    body = {
        "hotel": "PEMA",
        "room_type": "EXT",
        "rate_plan": "BAR",
        "check_in": str(ids_hotel.today() + timedelta(days=3)),
        "check_out": str(ids_hotel.today() + timedelta(days=4)),
    }
    response = admin_client.post(
        "/api/v1/ids/check-availability/", body, content_type="application/json"
    )
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "pms_unavailable"
    assert not Reservation.objects.exists()


def test_pms_master_books_after_a_full_sync(ids_hotel, sandbox):
    from channels.delivery import deliver
    from channels.dispatch import plan_full_sync

    conn = ids_hotel.connections.get()
    plan_full_sync(conn, days=20)
    deliver(conn.pk)
    ids_hotel.availability_master = Hotel.AvailabilityMaster.PMS
    ids_hotel.save()
    assert book(ids_hotel).pk
    assert sandbox.state()["inventory"]["EXT"]


def test_garbage_from_the_pms_is_refused(ids_hotel, sandbox):
    from channels.providers.base import BadResponse

    sandbox.set_faults(malformed=True)
    conn = ids_hotel.connections.get()
    with pytest.raises(BadResponse):
        conn.get_provider().test_connection()


def test_a_cut_off_answer_is_sent_again_and_ids_keeps_one_reservation(ids_hotel, sandbox):
    from django.utils import timezone

    from channels.delivery import deliver
    from channels.dispatch import dispatch

    conn = ids_hotel.connections.get()
    sandbox.set_faults(truncate=True)
    res = book(ids_hotel)
    dispatch(conn)
    deliver(conn.pk)
    job = SyncJob.objects.get(reservation=res)
    assert (job.status, job.attempts) == ("pending", 1)
    [committed] = held(sandbox, res.confirmation_number)  # IDS did apply it
    sandbox.clear_faults()
    SyncJob.objects.filter(pk=job.pk).update(next_attempt_at=timezone.now())
    deliver(conn.pk)
    job.refresh_from_db()
    res.refresh_from_db()
    assert job.status == "done"
    assert res.pms_reference == committed["reference"]
    assert len(held(sandbox, res.confirmation_number)) == 1


def test_a_worker_killed_mid_call_is_taken_over(ids_hotel, sandbox, start_worker):
    import signal
    import time

    from django.utils import timezone

    from channels.tasks import take_over_abandoned

    sandbox.set_faults(slow_ms=60_000)  # the first worker is stuck in the call
    first = start_worker()
    res = book(ids_hotel)
    wait_for(
        lambda: SyncJob.objects.filter(reservation=res, attempt_started_at__isnull=False).exists(),
        what="the first attempt",
    )
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    killed_at = timezone.now()
    sandbox.clear_faults()
    start_worker()
    last_beat = [0.0]

    def delivered():
        # What beat does every 10 s: hand connections with a run-out lease to a live worker.
        if time.monotonic() - last_beat[0] >= 10:
            last_beat[0] = time.monotonic()
            take_over_abandoned()
        return SyncJob.objects.filter(reservation=res, status="done").exists()

    wait_for(delivered, timeout=60, interval=0.2, what="the takeover")
    job = SyncJob.objects.get(reservation=res)
    taken = (job.finished_at - killed_at).total_seconds()
    print(f"delivered by the second worker {taken:.1f} s after the first was killed")
    assert (job.attempts, job.interrupted_attempts) == (2, 1)
    res.refresh_from_db()
    [remote] = held(sandbox, res.confirmation_number)
    assert res.pms_reference == remote["reference"]


def test_a_new_connection_sends_ids_the_whole_calendar_with_its_rates(
    transactional_db, sandbox, worker
):
    from bookings.models import RateDay
    from channels.models import Connection
    from tests.factories import sellable_hotel

    hotel = sellable_hotel(code="PEMA", rooms={"EXT": 3, "EXQ": 2}, days=20, price=654300)
    # What `make run` does: the seeded hotel gets its connection, nothing else happens.
    connect(hotel, sandbox)
    days = sorted(
        d.isoformat()
        for d in RateDay.objects.filter(room_type__code="EXT").values_list("date", flat=True)
    )

    def priced():
        rates = sandbox.state()["rates"].get("BAR/EXT", {})
        return all(rates.get(d, {}).get("amount") == 654300 for d in days)

    wait_for(priced, timeout=40, what="the base rates")
    assert sandbox.state()["inventory"]["EXQ"]
    assert Connection.objects.get(hotel=hotel).last_full_sync_at is not None
