"""A long partner outage against the real sandbox, on a fake clock: nothing ends dead while
the retry window lasts, the partner is probed rather than hammered, and once it answers
everything waiting is delivered once, in order, within a minute."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from bookings.ari import AriChanges, apply_ari_update
from bookings.reservations import cancel_reservation, modify_reservation
from channels.delivery import deliver
from channels.dispatch import dispatch
from channels.models import Connection, SyncJob, SyncLog
from tests.sandbox import RunningSandbox

from .conftest import make_connection
from .test_dispatch import book

STEP = timedelta(seconds=10)


@pytest.fixture(scope="module")
def sandbox_process():
    with RunningSandbox(room_types=("EXT", "EXQ")) as running:
        yield running


@pytest.fixture
def sandbox(sandbox_process):
    sandbox_process.reset()
    return sandbox_process


@pytest.fixture
def live(hotel, sandbox):
    """The hotel's IDS connection, pointing at the sandbox instead of ``conn``'s fake host."""
    return make_connection(
        hotel,
        base_url=sandbox.base_url,
        credentials={"api_key": sandbox.api_key, "api_secret": sandbox.api_secret},
    )


def run_for(clock, span: timedelta, connection: Connection, *, until=None) -> int:
    """Let ``span`` of fake time pass in 10 s steps, doing what workers and beat do:
    a delivery pass every step, a dispatch every minute. Returns the steps taken."""
    steps = int(span / STEP)
    for step in range(1, steps + 1):
        clock.shift(STEP)
        if step % 6 == 0:
            dispatch(connection)
        deliver(connection.pk)
        if until is not None and until():
            return step
    return steps


def nothing_waiting() -> bool:
    return not SyncJob.objects.filter(status="pending").exists()


def test_a_thirty_minute_outage_loses_nothing_and_recovers_within_a_minute(hotel, live, sandbox):
    with time_machine.travel(timezone.now(), tick=True) as clock:
        second = book(hotel, offset=10)
        dispatch(live)
        deliver(live.pk)  # reaches IDS before the outage
        sandbox.set_faults(down=True)
        first = book(hotel, offset=3)
        start = hotel.today() + timedelta(days=1)
        apply_ari_update(
            hotel, start=start, end=start + timedelta(days=6), changes=AriChanges(price=777700)
        )
        dispatch(live)
        run_for(clock, timedelta(minutes=10), live)
        # Guests and staff go on changing things while IDS is away.
        modify_reservation(first, source="staff", special_requests="Cot in the room")
        cancel_reservation(second, source="staff")
        dispatch(live)
        run_for(clock, timedelta(minutes=20), live)

        assert not SyncJob.objects.filter(status="dead").exists()
        assert Connection.objects.get(pk=live.pk).unreachable_since is not None
        tried = SyncLog.objects.filter(connection=live, status="error").count()
        assert tried <= 30 * 2 + 2  # one probe per 30 s, not one call per job and step

        sandbox.set_faults(down=False)
        steps = run_for(clock, timedelta(minutes=2), live, until=nothing_waiting)
    print(f"30 min down: {tried} calls; all delivered {(steps * STEP).seconds} s after it was back")
    assert steps * STEP <= timedelta(minutes=1)
    jobs = list(SyncJob.objects.filter(connection=live).order_by("id"))
    assert {j.status for j in jobs} == {"done"}
    state = sandbox.state()
    held = {r["confirmation_number"]: r for r in state["reservations"]}
    assert sorted(held) == sorted([first.confirmation_number, second.confirmation_number])
    assert held[first.confirmation_number]["special_requests"] == ["Cot in the room"]
    assert held[second.confirmation_number]["status"] == "Cancelled"
    assert state["rates"]["BAR/EXT"][start.isoformat()]["amount"] == 777700
    # Every job reached IDS exactly once, each stream in the order it was queued.
    received = [t["echo_token"] for t in state["echo_tokens"]]
    assert sorted(received) == sorted(j.message_id for j in jobs)
    for stream in {j.stream for j in jobs}:
        queued = [j.message_id for j in jobs if j.stream == stream]
        assert [t for t in received if t in queued] == queued
    first.refresh_from_db()
    assert first.pms_reference == held[first.confirmation_number]["reference"]


def test_an_outage_past_the_retry_window_ends_dead_and_the_health_page_says_why(
    hotel, live, sandbox, settings, admin_client
):
    settings.CHANNELS_RETRY_MAX_AGE = 20 * 60
    with time_machine.travel(timezone.now(), tick=True) as clock:
        sandbox.set_faults(down=True)
        res = book(hotel)
        dispatch(live)
        run_for(clock, timedelta(minutes=30), live)
        page = admin_client.get("/admin/").content.decode()
    job = SyncJob.objects.get(reservation=res)
    assert (job.status, job.dead_reason) == ("dead", "expired")
    assert job.last_error.startswith("Expired")
    health = page[page.index('id="channel-health"') :]
    assert "unreachable since" in health
    assert "1 retry window ended" in health
    sandbox.set_faults(down=False)
