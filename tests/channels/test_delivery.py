"""Delivery: retries with backoff, dead jobs, permanent errors, stream order, message ids."""

import random
from datetime import timedelta

import pytest
import requests
import responses
import time_machine
from django.utils import timezone

from bookings.ari import AriChanges, apply_ari_update
from bookings.reservations import cancel_reservation
from channels.delivery import backoff_seconds, claim, deliver, release, retry_job, runnable_jobs
from channels.dispatch import dispatch
from channels.models import Connection, SyncJob, SyncLog
from pema import ota
from pema.ota.common import parse_root

from .conftest import BASE_URL
from .ota_responses import BILLION_LAUGHS, error, ok, res_ok
from .test_dispatch import book

AVAIL = f"{BASE_URL}/{ota.AVAIL_NOTIF_RQ}"
RATES = f"{BASE_URL}/{ota.RATE_AMOUNT_NOTIF_RQ}"
RES = f"{BASE_URL}/{ota.RES_NOTIF_RQ}"
CANCEL = f"{BASE_URL}/{ota.CANCEL_RQ}"


def make_due():
    """What waiting does: every backoff and the wait for the next probe are over."""
    now = timezone.now()
    SyncJob.objects.filter(status="pending").update(next_attempt_at=now)
    Connection.objects.exclude(unreachable_checked_at=None).update(
        unreachable_checked_at=now - timedelta(days=1)
    )


def ari_change(hotel):
    today = hotel.today()
    apply_ari_update(
        hotel, start=today, end=today + timedelta(days=5), changes=AriChanges(blocked=1)
    )


def test_backoff_doubles_with_jitter_and_caps(settings):
    rand = random.Random(1)
    delays = [backoff_seconds(n, rand=rand) for n in range(1, 12)]
    for n, delay in enumerate(delays, start=1):
        full = min(2 ** (n - 1), 300)
        assert full / 2 <= delay <= full
    assert max(delays) <= 300


@responses.activate
def test_transient_failures_retry_then_deliver_with_the_same_echo_token(hotel, conn):
    ari_change(hotel)
    dispatch(conn)
    responses.post(AVAIL, status=503)
    responses.post(AVAIL, body=requests.ConnectionError("refused"))
    responses.post(AVAIL, body=ok(ota.AVAIL_NOTIF_RQ))
    job = SyncJob.objects.get(connection=conn)
    for expected_attempts in (1, 2):
        report = deliver(conn.pk)
        job.refresh_from_db()
        assert (job.status, job.attempts) == ("pending", expected_attempts)
        assert job.next_attempt_at > timezone.now()
        assert report.next_due_in is not None
        make_due()
    deliver(conn.pk)
    job.refresh_from_db()
    assert job.status == "done"
    tokens = {parse_root(c.request.body).get("EchoToken") for c in responses.calls}
    assert tokens == {job.message_id}
    request = responses.calls[0].request
    assert request.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert (request.headers["X-API-Key"], request.headers["X-API-Secret"]) == ("k", "s")
    assert SyncLog.objects.filter(job=job).count() == 3
    assert SyncLog.objects.filter(job=job, status="success").count() == 1


@responses.activate
def test_a_job_is_retried_until_its_retry_window_ends_then_dead(hotel, conn, settings):
    settings.CHANNELS_RETRY_MAX_AGE = 3600
    ari_change(hotel)
    with time_machine.travel(timezone.now(), tick=True) as clock:
        dispatch(conn)
        responses.post(AVAIL, status=500)
        for _ in range(20):  # far more tries than the old fixed count of 8
            deliver(conn.pk)
            make_due()
        job = SyncJob.objects.get(connection=conn)
        assert (job.status, job.attempts) == ("pending", 20)
        clock.shift(timedelta(hours=1))
        deliver(conn.pk)
    job.refresh_from_db()
    assert (job.status, job.dead_reason, job.attempts) == ("dead", "expired", 20)
    assert job.last_error.startswith("Expired")
    assert len(responses.calls) == 20
    retry_job(job)  # a fresh window, from now
    responses.replace(responses.POST, AVAIL, body=ok(ota.AVAIL_NOTIF_RQ))
    make_due()
    deliver(conn.pk)
    job.refresh_from_db()
    assert (job.status, job.dead_reason) == ("done", "")


@pytest.mark.parametrize(
    "answer",
    [
        {"status": 400},
        {"status": 401},
        {"body": error(ota.AVAIL_NOTIF_RQ, ota.EWT_BUSINESS_RULE, ota.ERR_INVALID_ROOM_TYPE)},
        {"body": error(ota.AVAIL_NOTIF_RQ, ota.EWT_AUTHENTICATION)},
        {"body": error(ota.AVAIL_NOTIF_RQ, 10)},
        {"body": BILLION_LAUGHS},
    ],
)
@responses.activate
def test_permanent_errors_stop_at_once(hotel, conn, answer):
    ari_change(hotel)
    dispatch(conn)
    responses.post(AVAIL, **answer)
    deliver(conn.pk)
    job = SyncJob.objects.get(connection=conn)
    assert (job.status, job.attempts, job.dead_reason) == ("dead", 1, "permanent")
    assert job.last_error.startswith("Permanent")


@pytest.mark.parametrize(
    "answer",
    [
        {"status": 502},
        {"status": 429, "headers": {"Retry-After": "120"}},
        {"body": requests.Timeout("slow")},
        {"body": error(ota.AVAIL_NOTIF_RQ, ota.EWT_PROCESSING_EXCEPTION, ota.ERR_SYSTEM_ERROR)},
        # Answers that cannot be read: the partner may have applied the message.
        {"body": ok(ota.AVAIL_NOTIF_RQ)[:-30]},
        {"body": b"<not-xml"},
        {"body": b"<html><body>Service temporarily unavailable</body></html>"},
        {"body": ok(ota.PING_RQ, "x")},  # the wrong document
    ],
)
@responses.activate
def test_transient_errors_are_retried(hotel, conn, answer):
    ari_change(hotel)
    dispatch(conn)
    responses.post(AVAIL, **answer)
    before = timezone.now()
    deliver(conn.pk)
    job = SyncJob.objects.get(connection=conn)
    assert (job.status, job.attempts) == ("pending", 1)
    if answer.get("status") == 429:
        assert job.next_attempt_at >= before + timedelta(seconds=119)


@responses.activate
def test_a_truncated_answer_to_a_booking_is_sent_again_under_the_same_echo_token(hotel, conn):
    res = book(hotel)
    dispatch(conn)
    responses.post(RES, body=res_ok("IDS-9")[:-40])
    responses.post(RES, body=res_ok("IDS-9"))
    deliver(conn.pk)
    job = SyncJob.objects.get(reservation=res)
    assert (job.status, job.attempts) == ("pending", 1)
    assert job.last_error.startswith("Unreadable answer")
    make_due()
    deliver(conn.pk)
    job.refresh_from_db()
    res.refresh_from_db()
    assert (job.status, res.pms_reference) == ("done", "IDS-9")
    sent = [ota.parse_hotel_res_notif_rq(c.request.body) for c in responses.calls]
    assert [(s.res_status, s.echo_token) for s in sent] == [("Commit", job.message_id)] * 2


@responses.activate
def test_dual_booking_create_modify_cancel(hotel, conn):
    res = book(hotel)
    dispatch(conn)
    responses.post(RES, body=res_ok("IDS-1"))
    deliver(conn.pk)
    res.refresh_from_db()
    assert res.pms_reference == "IDS-1"
    sent = ota.parse_hotel_res_notif_rq(responses.calls[0].request.body)
    assert (sent.res_status, sent.confirmation_number, sent.room_type_code) == (
        "Commit",
        res.confirmation_number,
        "EXT",
    )
    assert (sent.start, sent.end, sent.adults, sent.total) == (
        res.check_in,
        res.check_out,
        2,
        res.total_amount,
    )
    assert sent.guest.surname == "Rao"
    cancel_reservation(res, source="staff")
    dispatch(conn)
    responses.post(
        CANCEL, body=ok(ota.CANCEL_RQ, ota.CancelResult(status="Cancelled", pms_reference="IDS-1"))
    )
    deliver(conn.pk)
    cancel_rq = ota.parse_cancel_rq(responses.calls[-1].request.body)
    assert cancel_rq.pms_reference == "IDS-1"
    assert SyncJob.objects.get(reservation=res, kind="res_cancel").status == "done"


@responses.activate
def test_cancel_of_a_reservation_that_never_reached_ids_sends_nothing(hotel, conn):
    res = book(hotel)
    cancel_reservation(res, source="staff")
    dispatch(conn)
    deliver(conn.pk)
    assert not responses.calls
    assert set(SyncJob.objects.filter(reservation=res).values_list("status", flat=True)) == {
        "skipped"
    }


@responses.activate
def test_dead_reservation_job_blocks_only_its_own_reservation(hotel, conn):
    first = book(hotel, offset=3)
    dispatch(conn)
    responses.post(RES, body=error(ota.RES_NOTIF_RQ, ota.EWT_BUSINESS_RULE, 402))
    deliver(conn.pk)
    assert SyncJob.objects.get(reservation=first).status == "dead"
    # A later modify of the same reservation waits; other work flows on.
    from bookings.reservations import modify_reservation

    modify_reservation(first, source="staff", special_requests="Late arrival")
    second = book(hotel, offset=10)
    ari_change(hotel)
    dispatch(conn)
    runnable = {(j.kind, j.reservation_id) for j in runnable_jobs(conn.pk)}
    assert ("res_modify", first.pk) not in runnable
    assert ("res_create", second.pk) in runnable
    assert ("availability", None) in runnable


@responses.activate
def test_dead_ari_job_does_not_block_later_ari(hotel, conn):
    ari_change(hotel)
    dispatch(conn)
    responses.post(AVAIL, status=400)
    deliver(conn.pk)
    apply_ari_update(hotel, start=hotel.today(), end=hotel.today(), changes=AriChanges(blocked=0))
    dispatch(conn)
    assert [j.kind for j in runnable_jobs(conn.pk)] == ["availability"]


@responses.activate
def test_pending_retry_holds_back_later_jobs_of_its_stream(hotel, conn):
    ari_change(hotel)
    dispatch(conn)
    responses.post(AVAIL, status=503)
    deliver(conn.pk)
    apply_ari_update(hotel, start=hotel.today(), end=hotel.today(), changes=AriChanges(blocked=0))
    dispatch(conn)
    make_due()
    assert len(list(runnable_jobs(conn.pk))) == 1  # only the first, again


def test_lease_lets_one_worker_deliver_at_a_time(conn):
    assert claim(conn.pk, "a")
    assert not claim(conn.pk, "b")
    assert claim(conn.pk, "a")  # renewing is fine
    release(conn.pk, "a")
    assert claim(conn.pk, "b")
