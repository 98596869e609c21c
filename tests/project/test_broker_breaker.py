"""A down broker stays off the request's path: one short attempt, then the circuit opens
and bookings skip the broker (the beat sweeps deliver the rows they leave behind).

The broker here is a real socket that counts the connections it is offered and
closes each at once, so the tests count attempts instead of timing anything.
"""

from __future__ import annotations

import socket
import threading
import uuid
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.conf import settings

from bookings.models import ChangeEvent, Reservation
from pema import tasks
from pema.celery import app
from tests.factories import sellable_hotel
from tests.ids_connection import make_connection


class CountingListener:
    """A TCP listener on a free port that counts the connections it accepts.

    ``hold`` keeps each one open without ever answering (a frozen server);
    otherwise each is closed at once (a server that drops every client).
    """

    def __init__(self, hold: bool = False) -> None:
        self.hold = hold
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self.accepted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            if self.hold:
                self.held.append(conn)
            else:
                conn.close()

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def post_booking(client, hotel):
    """One night of a DBL room three days ahead, with a fresh idempotency key."""
    check_in = hotel.today() + timedelta(days=3)
    body = {
        "room_type": "DBL",
        "rate_plan": "BAR",
        "check_in": check_in.isoformat(),
        "check_out": (check_in + timedelta(days=1)).isoformat(),
        "adults": 1,
        "guest": {"first_name": "Asha", "last_name": "Rao", "email": "a@example.com"},
    }
    return client.post(
        f"/api/v1/hotels/{hotel.code}/bookings/",
        body,
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )


@contextmanager
def project_broker(url: str):
    """Point the project's Celery app at ``url`` (its pools are rebuilt), then back."""
    saved = app.conf.broker_url, app.conf.broker_transport_options
    app.conf.broker_url = url
    # The settings' publishing options, whatever broker the test run itself uses.
    app.conf.broker_transport_options = {
        "socket_connect_timeout": settings.PEMA_BROKER_CONNECT_TIMEOUT,
        "socket_timeout": settings.PEMA_BROKER_SOCKET_TIMEOUT,
        "max_retries": 0,
    }
    app._after_fork()  # drops the connection and producer pools
    try:
        yield
    finally:
        app.conf.broker_url, app.conf.broker_transport_options = saved
        app._after_fork()


@pytest.fixture
def clock(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(tasks.broker_breaker, "clock", clock)
    tasks.broker_breaker.reset()
    yield clock
    tasks.broker_breaker.reset()


@pytest.fixture
def dead_broker(clock):
    broker = CountingListener()
    with project_broker(broker.url):
        yield broker
    broker.close()


def test_settings_give_a_redis_broker_one_short_attempt():
    from pema import settings as project_settings

    if not project_settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip("the test run uses the filesystem broker")
    options = project_settings.CELERY_BROKER_TRANSPORT_OPTIONS
    assert options["max_retries"] == 0
    assert options["socket_connect_timeout"] == settings.PEMA_BROKER_CONNECT_TIMEOUT <= 1
    assert options["socket_timeout"] == settings.PEMA_BROKER_SOCKET_TIMEOUT <= 5


def test_the_breaker_opens_after_a_failure_and_lets_one_try_through_later(dead_broker, clock):
    from channels.tasks import deliver_connection

    assert tasks.enqueue(deliver_connection, 1) is False
    tried = dead_broker.accepted
    assert tried >= 1, "the first enqueue must really try the broker"
    assert tasks.broker_breaker.state().state == "open"

    for _ in range(50):
        assert tasks.enqueue(deliver_connection, 1) is False
    assert dead_broker.accepted == tried, "an open breaker must not touch the broker"
    assert tasks.broker_breaker.state().skipped == 50

    clock.now += settings.PEMA_BROKER_BREAKER_SECONDS + 1
    assert tasks.enqueue(deliver_connection, 1) is False  # the one try, which fails again
    assert dead_broker.accepted > tried
    again = dead_broker.accepted
    assert tasks.enqueue(deliver_connection, 1) is False
    assert dead_broker.accepted == again and tasks.broker_breaker.state().state == "open"


def test_only_one_caller_tries_while_half_open(clock):
    breaker = tasks.broker_breaker
    breaker.failed()
    clock.now += settings.PEMA_BROKER_BREAKER_SECONDS + 1
    assert breaker.allow() is True
    assert breaker.state().state == "half-open"
    assert [breaker.allow() for _ in range(5)] == [False] * 5
    breaker.succeeded()
    assert breaker.state().state == "closed" and breaker.allow() is True


def test_a_broker_that_is_back_closes_the_breaker(clock):
    """Against the test run's own broker (Redis or the filesystem), after an outage."""
    from channels.tasks import deliver_connection

    tasks.broker_breaker.failed()
    assert tasks.enqueue(deliver_connection, 1) is False  # still open: skipped
    clock.now += settings.PEMA_BROKER_BREAKER_SECONDS + 1
    assert tasks.enqueue(deliver_connection, 1) is True
    assert tasks.broker_breaker.state().state == "closed"


@pytest.mark.django_db
def test_bookings_skip_a_down_broker_after_the_first(
    dead_broker, django_capture_on_commit_callbacks
):
    from rest_framework.test import APIClient

    from bookings.api_keys import issue_key

    hotel = sellable_hotel(code="BRKR", rooms={"DBL": 5})
    make_connection(hotel)  # an enabled connection: every booking wakes the dispatcher
    key = issue_key(name="Website", hotels=[hotel], scopes=["bookings:write"]).raw
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")

    def book() -> int:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            response = post_booking(client, hotel)
        assert response.status_code == 201, response.content
        assert callbacks, "a booking wakes the dispatcher after its commit"
        return dead_broker.accepted

    first = book()
    assert first >= 1
    assert [book() for _ in range(4)] == [first] * 4
    assert Reservation.objects.filter(hotel=hotel).count() == 5
    # Nothing is lost: the change events the sweep turns into jobs are all there.
    assert ChangeEvent.objects.filter(hotel=hotel).count() >= 5


@pytest.mark.django_db
def test_a_task_a_worker_received_closes_the_breaker(clock):
    """Receiving a task proves the broker works: the worker's follow-ups go out at once."""
    from channels.tasks import sweep

    tasks.broker_breaker.failed()
    sweep.apply()  # runs as a worker runs a received task (task_prerun fires)
    assert tasks.broker_breaker.state().state == "closed"
