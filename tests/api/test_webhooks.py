"""Outbound webhooks against a real HTTP receiver on 127.0.0.1: signature, retries, order,
the retry window, the unreachable probe and the lease (the outbox shared with channels)."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

import pytest
from django.utils import timezone

from bookings import webhooks
from bookings.models import WebhookDelivery, WebhookEndpoint
from bookings.reservations import GuestDetails, cancel_reservation, modify_reservation, reserve_stay
from tests.support.threads import run_together

pytestmark = pytest.mark.django_db
SECRET = "whsec_test"


class Receiver:
    """A local webhook receiver that answers the statuses it is told to, in turn."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append({"headers": dict(self.headers), "body": body})
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"nope")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def endpoint(hotel, receiver):
    ep = WebhookEndpoint(hotel=hotel, url=receiver.url, secret=SECRET, events=[])
    webhooks.start_cursor_now(ep)
    ep.save()
    return ep


def time_passes():
    """Every backoff and the unreachable receiver's probe interval are over."""
    now = timezone.now()
    WebhookDelivery.objects.filter(status="pending").update(next_attempt_at=now)
    WebhookEndpoint.objects.exclude(unreachable_checked_at=None).update(
        unreachable_checked_at=now - timedelta(hours=1)
    )


def _book(hotel, days=4):
    check_in = hotel.today() + timedelta(days=days)
    return reserve_stay(
        hotel=hotel,
        room_type=hotel.room_types.get(code="DBL"),
        rate_plan=hotel.rate_plans.get(code="BAR"),
        check_in=check_in,
        check_out=check_in + timedelta(days=1),
        adults=2,
        guest=GuestDetails("Asha", "Rao", "asha@example.com"),
        source="staff",
    )


def test_signature_round_trip():
    body = b'{"a":1}'
    header = webhooks.signature(SECRET, int(timezone.now().timestamp()), body)
    assert webhooks.verify(SECRET, header, body)
    assert not webhooks.verify(SECRET, header, body + b" ")
    assert not webhooks.verify("other", header, body)
    assert not webhooks.verify(SECRET, "t=1,v1=00", body)


def test_events_delivered_signed_in_order_with_retries(hotel, endpoint, receiver):
    reservation = _book(hotel)
    modify_reservation(reservation, source="staff", special_requests="Sea view")
    cancel_reservation(reservation, source="staff")
    assert webhooks.sweep() == 3
    assert webhooks.sweep() == 0  # recent events are read again, never duplicated

    receiver.statuses = [500]
    wait = webhooks.deliver_endpoint(endpoint.pk)
    assert wait is not None and wait > 0
    assert len(receiver.received) == 1  # the failed head holds back the later events
    first = WebhookDelivery.objects.order_by("event_id").first()
    assert first.attempts == 1 and first.last_status_code == 500 and first.status == "pending"
    assert first.next_attempt_at > timezone.now()
    assert first.attempt_log[0]["status_code"] == 500
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).unreachable_since is not None

    time_passes()
    assert webhooks.deliver_endpoint(endpoint.pk) is None
    types = [r["headers"]["Pema-Event"] for r in receiver.received]
    assert types == ["booking.created", "booking.created", "booking.modified", "booking.cancelled"]
    for request in receiver.received:
        assert webhooks.verify(SECRET, request["headers"]["Pema-Signature"], request["body"])
        payload = json.loads(request["body"])
        assert payload["data"]["booking"]["confirmation_number"] == reservation.confirmation_number
        assert payload["hotel"] == "APIH"
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"succeeded"}
    assert WebhookDelivery.objects.order_by("event_id").first().attempts == 2
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).unreachable_since is None


def test_gives_up_when_the_retry_window_ends_then_moves_on_and_resend(hotel, endpoint, receiver):
    _book(hotel, days=4)
    _book(hotel, days=6)
    webhooks.sweep()
    receiver.statuses = [503, 503]
    webhooks.deliver_endpoint(endpoint.pk)
    time_passes()
    webhooks.deliver_endpoint(endpoint.pk)
    assert len(receiver.received) == 2  # the same delivery again: the later one waits for it
    WebhookDelivery.objects.filter(attempts=2).update(retry_until=timezone.now())
    time_passes()
    webhooks.deliver_endpoint(endpoint.pk)
    dead, delivered = WebhookDelivery.objects.order_by("event_id")
    assert dead.status == "dead" and dead.attempts == 2 and dead.dead_reason == "expired"
    assert dead.last_error.startswith("Expired")
    assert delivered.status == "succeeded"  # a dead delivery does not hold the later ones
    with mock.patch.object(webhooks, "nudge_delivery") as nudge:
        assert webhooks.resend([dead]) == 1
    nudge.assert_called_once_with(endpoint.pk)
    webhooks.deliver_endpoint(endpoint.pk)
    dead.refresh_from_db()
    assert dead.status == "succeeded" and dead.attempts == 1 and dead.dead_reason == ""


def test_unreachable_receiver_is_an_attempt(hotel, endpoint):
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url="http://127.0.0.1:9/closed")
    _book(hotel)
    webhooks.sweep()
    webhooks.deliver_endpoint(endpoint.pk)
    delivery = WebhookDelivery.objects.get()
    assert delivery.attempts == 1 and delivery.last_status_code is None
    assert "ConnectionError" in delivery.last_error
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).unreachable_since is not None


def test_event_filter_and_new_endpoint_skips_history(hotel, receiver):
    _book(hotel)  # before the endpoint existed
    ep = WebhookEndpoint(hotel=hotel, url=receiver.url, secret=SECRET, events=["booking.cancelled"])
    webhooks.start_cursor_now(ep)
    ep.save()
    reservation = _book(hotel, days=8)
    cancel_reservation(reservation, source="staff")
    webhooks.sweep()
    assert list(WebhookDelivery.objects.values_list("event_type", flat=True)) == [
        "booking.cancelled"
    ]


def test_commit_nudges_the_sweeper(hotel, endpoint, django_capture_on_commit_callbacks):
    with (
        mock.patch("bookings.tasks.sweep_webhooks.apply_async") as send,
        django_capture_on_commit_callbacks(execute=True),
    ):
        _book(hotel)
    send.assert_called_once()
    assert send.call_args.kwargs["args"] == (hotel.pk,)


def test_broker_down_loses_nothing(hotel, endpoint, receiver, django_capture_on_commit_callbacks):
    with (
        mock.patch("bookings.tasks.sweep_webhooks.apply_async", side_effect=OSError("broker down")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        _book(hotel)
    # The beat sweep, received by a worker once the broker is back, finds the event.
    from bookings.tasks import deliver_webhooks, sweep_webhooks

    with mock.patch.object(deliver_webhooks, "apply_async") as deliver:
        assert sweep_webhooks.apply(args=(hotel.pk,)).get() == 1
    deliver.assert_called_once()
    assert deliver.call_args.kwargs["args"] == (endpoint.pk,)
    deliver_webhooks(endpoint.pk)
    assert len(receiver.received) == 1


def _attempts() -> int:
    return sum(WebhookDelivery.objects.values_list("attempts", flat=True))


def test_an_unreachable_receiver_is_probed_and_its_backlog_follows_in_order(
    hotel, endpoint, receiver
):
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url="http://127.0.0.1:9/closed")
    for days in (4, 6, 8):
        _book(hotel, days=days)
    webhooks.sweep()
    wait = webhooks.deliver_endpoint(endpoint.pk)
    assert _attempts() == 1 and wait is not None and wait > 0
    WebhookDelivery.objects.update(next_attempt_at=timezone.now())
    webhooks.deliver_endpoint(endpoint.pk)
    assert _attempts() == 1  # the probe interval is not over: nothing is sent
    time_passes()
    webhooks.deliver_endpoint(endpoint.pk)
    assert _attempts() == 2  # one probe, not one call per delivery
    assert webhooks.endpoints_due() == []

    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url=receiver.url)  # back up
    time_passes()
    assert webhooks.endpoints_due() == [endpoint.pk]
    assert webhooks.deliver_endpoint(endpoint.pk) is None
    ids = [json.loads(r["body"])["id"] for r in receiver.received]
    events = WebhookDelivery.objects.order_by("event_id").values_list("event_id", flat=True)
    assert ids == [f"evt_{event_id}" for event_id in events]
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"succeeded"}
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).unreachable_since is None


def test_a_refusal_is_retried_and_proves_the_receiver_is_up(hotel, endpoint, receiver):
    _book(hotel)
    webhooks.sweep()
    receiver.statuses = [400]
    webhooks.deliver_endpoint(endpoint.pk)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_error, delivery.dead_reason) == (
        "pending",
        "HTTP 400",
        "",
    )
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).unreachable_since is None
    WebhookDelivery.objects.update(next_attempt_at=timezone.now())
    webhooks.deliver_endpoint(endpoint.pk)
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and delivery.last_error == ""


def test_a_delivery_that_kills_its_worker_is_not_sent_for_ever(hotel, endpoint, settings):
    settings.CHANNELS_MAX_INTERRUPTED_ATTEMPTS = 3
    _book(hotel)
    webhooks.sweep()
    with mock.patch.object(webhooks, "post", side_effect=SystemExit("worker killed")) as post:
        for calls in (1, 2, 3):
            with pytest.raises(SystemExit):
                webhooks.deliver_endpoint(endpoint.pk)
            delivery = WebhookDelivery.objects.get()
            # What a killed worker leaves behind: the try is counted and due only later.
            assert (delivery.status, delivery.attempts, post.call_count) == (
                "pending",
                calls,
                calls,
            )
            assert delivery.attempt_started_at is not None
            time_passes()
        webhooks.deliver_endpoint(endpoint.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.dead_reason, post.call_count) == ("dead", "interrupted", 3)
    assert delivery.last_error.startswith("Interrupted")


def test_a_lease_left_by_a_dead_worker_is_handed_on(hotel, endpoint, receiver, monkeypatch):
    from bookings import tasks
    from pema.celery import app

    _book(hotel)
    webhooks.sweep()
    assert webhooks.OUTBOX.claim(endpoint.pk, "killed-worker")
    assert not webhooks.OUTBOX.claim(endpoint.pk, "another-worker")
    assert webhooks.deliver_endpoint(endpoint.pk) is None and receiver.received == []
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        lease_until=timezone.now() - timedelta(seconds=1)
    )
    assert webhooks.OUTBOX.abandoned() == [endpoint.pk]
    monkeypatch.setitem(app.conf, "task_always_eager", True)  # the woken worker runs here
    assert tasks.take_over_webhooks() == 1
    assert WebhookDelivery.objects.get().status == "succeeded"
    assert len(receiver.received) == 1
    assert webhooks.OUTBOX.abandoned() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_send_each_delivery_once_in_order(hotel, endpoint, receiver):
    for days in range(2, 14, 2):
        _book(hotel, days=days)
    assert webhooks.sweep() == 6

    def work():
        for _ in range(20):
            webhooks.deliver_endpoint(endpoint.pk)
            if not WebhookDelivery.objects.filter(status="pending").exists():
                break

    run_together(work, 4)
    ids = [json.loads(r["body"])["id"] for r in receiver.received]
    events = WebhookDelivery.objects.order_by("event_id").values_list("event_id", flat=True)
    assert ids == [f"evt_{event_id}" for event_id in events]  # each once, in event order
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"succeeded"}


def test_the_admin_shows_unreachable_receivers_and_dead_deliveries_by_reason(
    hotel, endpoint, admin_client
):
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url="http://127.0.0.1:9/closed")
    _book(hotel, days=4)
    _book(hotel, days=6)
    webhooks.sweep()
    webhooks.deliver_endpoint(endpoint.pk)
    WebhookDelivery.objects.filter(attempts=1).update(retry_until=timezone.now())
    time_passes()
    webhooks.deliver_endpoint(endpoint.pk)
    assert WebhookDelivery.objects.filter(status="dead", dead_reason="expired").count() == 1
    for page in ("/admin/", "/admin/channels/connection/health/"):
        html = admin_client.get(page).content.decode()
        block = html[html.index('id="webhook-health"') :]
        assert "unreachable since" in block
        assert "1 retry window ended" in block
    listing = admin_client.get("/admin/bookings/webhookdelivery/?dead_reason__exact=expired")
    assert listing.status_code == 200 and "Retry window ended" in listing.content.decode()
