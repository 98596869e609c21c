"""Outbound webhooks: booking events POSTed, signed, to the hotel's endpoints.

The ``ChangeEvent`` log is the source. ``sweep`` turns reservation events past
each endpoint's cursor into ``WebhookDelivery`` rows; beat runs it every
minute and every committed reservation change nudges it, so a broker that was
down delays deliveries but loses none. ``deliver_endpoint`` sends one
endpoint's pending deliveries oldest event first, one worker at a time (a
lease on the endpoint row), and stops at the first failure so later events
never overtake it; that delivery is retried with exponential backoff and
jitter, and given up ("dead") after its last attempt.

Signature: ``Pema-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">``
keyed with the endpoint's secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import secrets
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone

from pema import http
from pema.sql import row_exists
from pema.tasks import enqueue

from .models import ChangeEvent, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

EVENT_TYPES = {
    ChangeEvent.Kind.RESERVATION_CREATED: "booking.created",
    ChangeEvent.Kind.RESERVATION_MODIFIED: "booking.modified",
    ChangeEvent.Kind.RESERVATION_CANCELLED: "booking.cancelled",
}
SWEEP_BATCH = 500
# Events younger than this are read again by the next sweep (the unique constraint
# dedupes): a transaction that took its event id earlier but commits later is not skipped.
CURSOR_SAFETY = timedelta(seconds=60)
LEASE = timedelta(minutes=2)
DELIVER_BUDGET_SECONDS = 60
EXCERPT = 1000


def new_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Pema-Signature`` header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    """What a receiver does: check the HMAC and that the timestamp is recent."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def event_body(event: ChangeEvent) -> dict:
    """The JSON sent for one event."""
    return {
        "id": f"evt_{event.pk}",
        "type": EVENT_TYPES[event.kind],
        "created_at": event.created_at.isoformat(),
        "hotel": event.hotel.code,
        "source": event.source,
        "data": {"booking": event.payload},
    }


def backoff(attempts: int) -> timedelta:
    """Delay before the next attempt after ``attempts`` failures: doubling, capped, jittered."""
    base = settings.PEMA_WEBHOOK_FIRST_RETRY_SECONDS * 2 ** (attempts - 1)
    capped = min(base, settings.PEMA_WEBHOOK_MAX_RETRY_SECONDS)
    return timedelta(seconds=capped * random.uniform(0.8, 1.2))


# --- Turning events into deliveries -------------------------------------------------------


def sweep(hotel_id: int | None = None) -> int:
    """Create the deliveries of events past each active endpoint's cursor; return how many."""
    endpoints = WebhookEndpoint.objects.filter(is_active=True)
    if hotel_id is not None:
        endpoints = endpoints.filter(hotel_id=hotel_id)
    created = 0
    for endpoint_id in endpoints.values_list("id", flat=True):
        try:
            created += _sweep_endpoint(endpoint_id)
        except Exception:  # one broken endpoint must not starve the others
            logger.exception("Webhook sweep failed for endpoint %s", endpoint_id)
    return created


def _sweep_endpoint(endpoint_id: int) -> int:
    with transaction.atomic():
        endpoint = (
            WebhookEndpoint.objects.select_for_update(skip_locked=True)
            .select_related("hotel")
            .filter(pk=endpoint_id, is_active=True)
            .first()
        )
        if endpoint is None:  # another sweeper holds it, or it went inactive
            return 0
        events = list(
            ChangeEvent.objects.filter(
                hotel_id=endpoint.hotel_id, id__gt=endpoint.last_event_id, kind__in=EVENT_TYPES
            )
            .select_related("hotel")
            .order_by("id")[:SWEEP_BATCH]
        )
        already = set(
            WebhookDelivery.objects.filter(
                endpoint=endpoint, event_id__in=[e.id for e in events]
            ).values_list("event_id", flat=True)
        )
        rows = [
            WebhookDelivery(
                endpoint=endpoint,
                event=event,
                event_type=EVENT_TYPES[event.kind],
                payload=event_body(event),
            )
            for event in events
            if endpoint.wants(EVENT_TYPES[event.kind]) and event.id not in already
        ]
        WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
        settled = timezone.now() - CURSOR_SAFETY
        cursor = endpoint.last_event_id
        for event in events:
            if event.created_at > settled:
                break
            cursor = event.id
        if len(events) == SWEEP_BATCH:
            cursor = max(cursor, events[-1].id)
        if cursor != endpoint.last_event_id:
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(last_event_id=cursor)
    return len(rows)


def start_cursor_now(endpoint: WebhookEndpoint) -> None:
    """A new endpoint hears of events from now on, not of the whole history."""
    last = ChangeEvent.objects.filter(hotel_id=endpoint.hotel_id).order_by("-id").first()
    endpoint.last_event_id = last.id if last else 0


def endpoints_due() -> list[int]:
    """Endpoints with a pending delivery whose time has come."""
    return list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING,
            next_attempt_at__lte=timezone.now(),
            endpoint__is_active=True,
        )
        .values_list("endpoint_id", flat=True)
        .distinct()
    )


# --- Sending ---------------------------------------------------------------------------------


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    """POST one delivery through the project's one outbound client."""
    seconds = settings.PEMA_WEBHOOK_TIMEOUT_SECONDS
    response = http.post(url, body, headers=headers, timeout=(seconds, seconds), max_bytes=EXCERPT)
    return response.status, response.body[:EXCERPT].decode("utf-8", "replace")


def attempt(delivery: WebhookDelivery) -> bool:
    """Send one delivery once; record the attempt; True when the receiver took it (2xx)."""
    endpoint = delivery.endpoint
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"Pema-Webhooks/{settings.PEMA_VERSION}",
        "Pema-Event": delivery.event_type,
        "Pema-Delivery": str(delivery.pk),
        "Pema-Signature": signature(endpoint.secret, timestamp, body),
    }
    started = time.monotonic()
    status_code, excerpt, error = None, "", ""
    try:
        status_code, excerpt = post(endpoint.url, body, headers)
    except http.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"[:EXCERPT]
    ok = status_code is not None and 200 <= status_code < 300
    if status_code is not None and not ok:
        error = f"HTTP {status_code}"
    now = timezone.now()
    delivery.attempts += 1
    delivery.last_status_code = status_code
    delivery.last_response = excerpt
    delivery.last_error = error
    delivery.attempt_log = [
        *delivery.attempt_log,
        {
            "at": now.isoformat(),
            "status_code": status_code,
            "error": error,
            "ms": int((time.monotonic() - started) * 1000),
        },
    ][-20:]
    if ok:
        delivery.status = WebhookDelivery.Status.SUCCEEDED
        delivery.delivered_at = now
    elif delivery.attempts >= settings.PEMA_WEBHOOK_MAX_ATTEMPTS:
        delivery.status = WebhookDelivery.Status.DEAD
        logger.warning(
            "Webhook delivery %s given up after %s attempts", delivery.pk, delivery.attempts
        )
    else:
        delivery.next_attempt_at = now + backoff(delivery.attempts)
    delivery.save()
    return ok


def deliver_endpoint(endpoint_id: int) -> float | None:
    """Send the endpoint's due deliveries in event order.

    Returns in how many seconds the next pending delivery falls due (for the
    caller to schedule), or None when nothing is pending or another worker
    holds the endpoint.
    """
    now = timezone.now()
    leased = (
        WebhookEndpoint.objects.filter(pk=endpoint_id, is_active=True)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=now + LEASE)
    )
    if not leased:
        return None
    started = time.monotonic()
    try:
        while True:
            head = (
                WebhookDelivery.objects.filter(
                    endpoint_id=endpoint_id, status=WebhookDelivery.Status.PENDING
                )
                .select_related("endpoint")
                .order_by("event_id")
                .first()
            )
            if head is None:
                return None
            wait = (head.next_attempt_at - timezone.now()).total_seconds()
            if wait > 0:
                return wait
            if time.monotonic() - started > DELIVER_BUDGET_SECONDS:
                return 0.0
            attempt(head)
            # A failed head stops the queue: later events wait for it (ordering).
    finally:
        WebhookEndpoint.objects.filter(pk=endpoint_id).update(lease_until=None)


def resend(deliveries) -> int:
    """Queue deliveries again now, with a fresh set of attempts (the admin action)."""
    ids = [d.pk for d in deliveries]
    count = WebhookDelivery.objects.filter(pk__in=ids).update(
        status=WebhookDelivery.Status.PENDING, attempts=0, next_attempt_at=timezone.now()
    )
    for endpoint_id in set(
        WebhookDelivery.objects.filter(pk__in=ids).values_list("endpoint_id", flat=True)
    ):
        nudge_delivery(endpoint_id)
    return count


# --- Waking the workers --------------------------------------------------------------------


def nudge_sweep(hotel_id: int) -> None:
    """Ask a worker to sweep now; the beat sweep covers for a broker that is down."""
    from .tasks import sweep_webhooks

    enqueue(sweep_webhooks, hotel_id)


def nudge_delivery(endpoint_id: int) -> None:
    from .tasks import deliver_webhooks

    enqueue(deliver_webhooks, endpoint_id)


@receiver(post_save, sender=ChangeEvent, dispatch_uid="bookings-webhooks-nudge")
def nudge_after_commit(sender, instance: ChangeEvent, created: bool, raw=False, **kwargs) -> None:
    """After a reservation change commits, sweep its hotel if it has any endpoint."""
    if raw or not created or instance.kind not in EVENT_TYPES:
        return
    hotel_id = instance.hotel_id

    def nudge() -> None:
        # A hand-built EXISTS: this runs after every committed booking, on the request's thread.
        if row_exists(WebhookEndpoint, hotel_id=hotel_id, is_active=True):
            nudge_sweep(hotel_id)

    transaction.on_commit(nudge)
