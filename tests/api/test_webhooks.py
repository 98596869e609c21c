"""Outbound webhooks against a real HTTP receiver on 127.0.0.1: signature, retries, order."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

import pytest
from django.test import override_settings
from django.utils import timezone

from bookings import webhooks
from bookings.models import WebhookDelivery, WebhookEndpoint
from bookings.reservations import GuestDetails, cancel_reservation, modify_reservation, reserve_stay

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

    WebhookDelivery.objects.update(next_attempt_at=timezone.now())
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


@override_settings(PEMA_WEBHOOK_MAX_ATTEMPTS=2)
def test_gives_up_then_moves_on_and_resend(hotel, endpoint, receiver):
    _book(hotel, days=4)
    _book(hotel, days=6)
    webhooks.sweep()
    receiver.statuses = [503, 503]
    webhooks.deliver_endpoint(endpoint.pk)
    WebhookDelivery.objects.update(next_attempt_at=timezone.now())
    webhooks.deliver_endpoint(endpoint.pk)
    dead, delivered = WebhookDelivery.objects.order_by("event_id")
    assert dead.status == "dead" and dead.attempts == 2
    assert delivered.status == "succeeded"
    with mock.patch.object(webhooks, "nudge_delivery") as nudge:
        assert webhooks.resend([dead]) == 1
    nudge.assert_called_once_with(endpoint.pk)
    webhooks.deliver_endpoint(endpoint.pk)
    dead.refresh_from_db()
    assert dead.status == "succeeded" and dead.attempts == 1


def test_unreachable_receiver_is_an_attempt(hotel, endpoint):
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url="http://127.0.0.1:9/closed")
    _book(hotel)
    webhooks.sweep()
    webhooks.deliver_endpoint(endpoint.pk)
    delivery = WebhookDelivery.objects.get()
    assert delivery.attempts == 1 and delivery.last_status_code is None
    assert "ConnectionError" in delivery.last_error


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
