"""The delivery lease: renewed while a call runs, taken over when its worker dies, and a
message that kills its worker is not sent for ever."""

import threading
import time
from datetime import timedelta

import pytest
import responses
from django.db import connections
from django.utils import timezone

from channels import tasks
from channels.delivery import abandoned_connections, claim, deliver
from channels.dispatch import dispatch
from channels.models import Connection, SyncJob
from pema import ota

from .conftest import BASE_URL
from .ota_responses import res_ok
from .test_dispatch import book

RES = f"{BASE_URL}/{ota.RES_NOTIF_RQ}"


def make_due():
    SyncJob.objects.filter(status="pending").update(next_attempt_at=timezone.now())


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@responses.activate
def test_the_lease_is_renewed_while_a_slow_call_runs(hotel, conn, settings):
    settings.CHANNELS_LEASE_SECONDS = 0.6  # renewed every 0.2 s
    book(hotel)
    dispatch(conn)
    in_call = threading.Event()

    def slow_partner(request):
        in_call.set()
        time.sleep(2.0)  # more than three leases
        return 200, {}, res_ok("IDS-SLOW")

    responses.add_callback(responses.POST, RES, callback=slow_partner)

    def first_worker():
        try:
            deliver(conn.pk)
        finally:
            connections.close_all()

    worker = threading.Thread(target=first_worker)
    worker.start()
    try:
        assert in_call.wait(10)
        refused = []
        for _ in range(6):  # across 1.5 s: every try falls after the first lease ran out
            time.sleep(0.25)
            refused.append(not claim(conn.pk, "second-worker"))
    finally:
        worker.join()
    assert all(refused), refused
    assert len(responses.calls) == 1
    assert SyncJob.objects.get(connection=conn).status == "done"
    assert Connection.objects.get(pk=conn.pk).lease_owner == ""


def kills_the_worker(request):
    raise SystemExit("worker killed mid-call")


@responses.activate
def test_an_attempt_is_counted_before_the_call(hotel, conn, settings):
    settings.CHANNELS_MAX_INTERRUPTED_ATTEMPTS = 3
    res = book(hotel)
    dispatch(conn)

    responses.add_callback(responses.POST, RES, callback=kills_the_worker)
    job = SyncJob.objects.get(reservation=res)
    for calls in (1, 2, 3):
        with pytest.raises(SystemExit):
            deliver(conn.pk)
        job.refresh_from_db()
        # What a killed worker leaves behind: the try is counted and due only later.
        assert (job.status, job.attempts, len(responses.calls)) == ("pending", calls, calls)
        assert job.attempt_started_at is not None and job.next_attempt_at > timezone.now()
        make_due()
    deliver(conn.pk)
    job.refresh_from_db()
    assert (job.status, job.interrupted_attempts, len(responses.calls)) == ("dead", 3, 3)
    assert job.last_error.startswith("Interrupted")


@responses.activate
def test_an_interrupted_attempt_that_then_succeeds_is_delivered(hotel, conn):
    res = book(hotel)
    dispatch(conn)
    responses.add_callback(responses.POST, RES, callback=kills_the_worker)
    with pytest.raises(SystemExit):
        deliver(conn.pk)
    responses.replace(responses.POST, RES, body=res_ok("IDS-2"))
    make_due()
    deliver(conn.pk)
    job = SyncJob.objects.get(reservation=res)
    assert (job.status, job.attempts, job.interrupted_attempts) == ("done", 2, 1)
    assert job.attempt_started_at is None


@responses.activate
def test_a_lease_left_by_a_dead_worker_is_handed_on(hotel, conn, monkeypatch):
    from pema.celery import app

    res = book(hotel)
    dispatch(conn)
    responses.post(RES, body=res_ok("IDS-3"))
    assert claim(conn.pk, "killed-worker")
    assert abandoned_connections() == []  # still within its lease
    Connection.objects.filter(pk=conn.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert abandoned_connections() == [conn.pk]
    monkeypatch.setitem(app.conf, "task_always_eager", True)  # the woken worker runs here
    assert tasks.take_over_abandoned() == 1
    assert SyncJob.objects.get(reservation=res).status == "done"
    assert abandoned_connections() == []


@responses.activate
def test_a_wake_up_that_finds_the_lease_taken_tries_again_shortly(hotel, conn, monkeypatch):
    res = book(hotel)
    dispatch(conn)
    make_due()
    responses.post(RES, body=res_ok("IDS-4"))
    assert claim(conn.pk, "another-worker")  # its holder looked for work before this job
    woken = []
    monkeypatch.setattr(
        tasks, "enqueue", lambda task, *args, countdown=None: woken.append((args, countdown))
    )

    assert tasks.deliver_connection(conn.pk)["claimed"] is False
    assert woken == [((conn.pk, 1), 1.0)]  # tried again in a second, not at the minute sweep
    assert tasks.deliver_connection(conn.pk, 3)["claimed"] is False
    assert len(woken) == 1  # three tries, then the sweep is the backstop

    Connection.objects.filter(pk=conn.pk).update(lease_owner="", lease_until=None)
    assert tasks.deliver_connection(conn.pk, 1)["delivered"] == 1
    assert SyncJob.objects.get(reservation=res).status == "done"
