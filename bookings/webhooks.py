"""Outbound webhooks: booking events POSTed, signed, to the hotel's endpoints.

The ``ChangeEvent`` log is the source. ``sweep`` turns reservation events past
each endpoint's cursor into ``WebhookDelivery`` rows; beat runs it every
minute and every committed reservation change nudges it, so a broker that was
down delays deliveries but loses none.

Delivery is the one outbox of ``pema/outbox.py``, the same as the channel
manager's, with the endpoint as the lane and :func:`send` as the transport:
one worker at a time per endpoint (a lease its keeper renews, taken over when
the worker dies), deliveries in event order (one stream per endpoint: a
failing delivery holds back the later ones; a dead one does not), a failure
retried with capped exponential backoff until the retry window
(``CHANNELS_RETRY_MAX_AGE``) ends, a receiver that cannot be reached probed
every ``CHANNELS_PROBE_SECONDS`` instead of hammered, dead deliveries with
their reason and a resend from the admin.

Every answer but a 2xx is retried: the receiver is the hotel's own system,
and a 4xx from it is as likely a deploy in progress as a refusal. Connection
errors, timeouts, 408, 429 and 5xx say the receiver is not serving (the
unreachable probe); any other answer proves it is up.

Signature: ``Pema-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">``
keyed with the endpoint's secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone

from pema import http
from pema.outbox import (
    DeadJobs,
    LaneCounts,
    Outbox,
    TransientError,
    lane_counts,
    retry_after_seconds,
)
from pema.sql import row_exists
from pema.tasks import enqueue

from .models import ChangeEvent, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

EVENT_TYPES = {
    ChangeEvent.Kind.RESERVATION_CREATED: "booking.created",
    ChangeEvent.Kind.RESERVATION_MODIFIED: "booking.modified",
    ChangeEvent.Kind.RESERVATION_CANCELLED: "booking.cancelled",
    # Sent by the pms app (its signals, recorded as events): the booking engine may listen.
    ChangeEvent.Kind.PMS_SYNC_COMPLETED: "pms.sync.completed",
    ChangeEvent.Kind.PMS_BOOKING_SYNCED: "pms.booking.synced",
}
# Events whose payload is not a booking snapshot.
PAYLOAD_KEY = {
    ChangeEvent.Kind.PMS_SYNC_COMPLETED: "sync",
    ChangeEvent.Kind.PMS_BOOKING_SYNCED: "bookings",
}
SWEEP_BATCH = 500
# Events younger than this are read again by the next sweep (the unique constraint
# dedupes): a transaction that took its event id earlier but commits later is not skipped.
CURSOR_SAFETY = timedelta(seconds=60)
DELIVER_BUDGET_SECONDS = 60
EXCERPT = 1000
# Answers that say the receiver is not serving right now, like 5xx (the unreachable probe).
NOT_SERVING = {408, 429}


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
        "data": {PAYLOAD_KEY.get(event.kind, "booking"): event.payload},
    }


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
    """Endpoints with a delivery (or a probe of an unreachable receiver) due, or whose
    worker died mid-delivery."""
    return OUTBOX.due_lanes()


# --- Sending ---------------------------------------------------------------------------------


def post(url: str, body: bytes, headers: dict[str, str]) -> http.HttpResponse:
    """POST one delivery through the project's one outbound client."""
    seconds = settings.PEMA_WEBHOOK_TIMEOUT_SECONDS
    return http.post(url, body, headers=headers, timeout=(seconds, seconds), max_bytes=EXCERPT)


def send(delivery: WebhookDelivery) -> None:
    """Send one delivery once and note the answer on it; raise unless the receiver took it.

    The outbox counts the attempt, schedules the retry and saves the row.
    """
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
    response, error = None, ""
    try:
        response = post(endpoint.url, body, headers)
    except http.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"[:EXCERPT]
    status_code = response.status if response is not None else None
    ok = status_code is not None and 200 <= status_code < 300
    if status_code is not None and not ok:
        error = f"HTTP {status_code}"
    now = timezone.now()
    delivery.last_status_code = status_code
    delivery.last_response = (
        response.body[:EXCERPT].decode("utf-8", "replace") if response is not None else ""
    )
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
        delivery.delivered_at = now
        return
    if response is None:
        raise TransientError(error, unreachable=True)
    answered = {key.lower(): value for key, value in response.headers.items()}
    raise TransientError(
        error,
        http_status=status_code,
        retry_after=retry_after_seconds(answered.get("retry-after")),
        unreachable=status_code in NOT_SERVING or status_code >= 500,
    )


OUTBOX = Outbox(
    lane_model=WebhookEndpoint,
    job_model=WebhookDelivery,
    lane="endpoint",
    send=send,
    active={"is_active": True},
    order_field="event_id",
    select_related=("endpoint",),
    sent_fields=("last_status_code", "last_response", "attempt_log", "delivered_at"),
)


def deliver_endpoint(endpoint_id: int) -> float | None:
    """Send the endpoint's due deliveries in event order.

    Returns in how many seconds the next pending delivery falls due (for the
    caller to schedule), or None when nothing is pending or another worker
    holds the endpoint.
    """
    report = OUTBOX.deliver(endpoint_id, budget_seconds=DELIVER_BUDGET_SECONDS)
    return report.next_due_in if report.claimed else None


def resend(deliveries) -> int:
    """Queue deliveries again now, with a fresh retry window (the admin action)."""
    ids = [d.pk for d in deliveries]
    count = OUTBOX.retry(ids)
    for endpoint_id in set(
        WebhookDelivery.objects.filter(pk__in=ids).values_list("endpoint_id", flat=True)
    ):
        nudge_delivery(endpoint_id)
    return count


# --- Health ---------------------------------------------------------------------------------


@dataclass
class EndpointHealth:
    """One webhook endpoint at a glance, for the admin's health block."""

    endpoint: WebhookEndpoint
    pending: int
    dead: int
    dead_by_reason: list[DeadJobs] = field(default_factory=list)
    last_delivered: datetime | None = None

    @property
    def unreachable(self) -> bool:
        return self.endpoint.unreachable_since is not None

    @property
    def probe_seconds(self) -> float:
        return settings.CHANNELS_PROBE_SECONDS

    @property
    def ok(self) -> bool:
        return self.endpoint.is_active and not self.dead and not self.unreachable


def endpoint_health() -> list[EndpointHealth]:
    """Every endpoint's pending and dead deliveries (dead ones by why) and reachability."""
    counts = lane_counts(OUTBOX)
    delivered = dict(
        WebhookDelivery.objects.filter(status=WebhookDelivery.Status.SUCCEEDED)
        .values("endpoint_id")
        .annotate(last=Max("delivered_at"))
        .values_list("endpoint_id", "last")
    )
    out = []
    for endpoint in WebhookEndpoint.objects.select_related("hotel"):
        jobs = counts.get(endpoint.pk, LaneCounts())
        out.append(
            EndpointHealth(
                endpoint=endpoint,
                pending=jobs.pending,
                dead=jobs.dead,
                dead_by_reason=jobs.dead_by_reason,
                last_delivered=delivered.get(endpoint.pk),
            )
        )
    return out


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
