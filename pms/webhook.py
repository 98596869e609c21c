"""The PMS booking webhook: ``POST /api/v1/pms/<provider>/bookings/``.

A PMS (or anything speaking for it) posts one booking in the normalised
shape below, with ``x-provider-token``, ``x-hotel-slug`` (the hotel's code,
lower-cased) and optionally ``x-correlation-id``. :func:`receive_booking`
finds the hotel's connection to that provider, checks the token in constant
time, stores the booking raw as an ``InboundMessage`` (with the correlation
id), opens a ``PmsSyncLog`` (entity booking, operation webhook) and queues
the apply task after the commit. The task applies it through the inbound
pipeline like every other partner's reservation.

The token expected is the connection's own webhook secret (its
``webhook_secret`` credential), else ``PMS_<PROVIDER>_TOKEN``, else
``PMS_WEBHOOK_TOKEN`` from the environment; none configured refuses every call.

The normalised booking (``booking`` may also be the top level)::

    {"booking": {"id": "MOCK-1001", "status": "confirmed",
                 "guest": {"first_name": "Asha", "last_name": "Rao",
                           "email": "asha@example.com", "phone": "+91...", "country": "IN"},
                 "stay": {"check_in": "2026-12-20", "check_out": "2026-12-22",
                          "room_type": "DLX", "rate_plan": "BAR", "adults": 2, "children": 0},
                 "totals": {"amount": "9000.00", "currency": "INR"},
                 "channel": "walk-in", "updated_at": "2026-12-01T10:00:00Z"}}

``status`` is ``confirmed`` (new or changed) or ``cancelled``; ``totals.amount``
is a decimal in the currency's major unit (or ``amount_minor``, an integer).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction

from bookings.models import Hotel
from channels.inbound import record_inbound
from channels.interface import GuestDetails, InboundKind, InboundReservation, InboundRoomStay
from channels.models import Connection, InboundMessage
from channels.providers import registry
from pema import tasks as pema_tasks
from pema.money import to_minor

from .models import PmsSyncLog

CANCELLED = {"cancelled", "canceled", "cancel"}
CONFIRMED = {"confirmed", "new", "modified", "booked", "checked_in", "checked_out"}


@dataclass
class WebhookError(Exception):
    """A refused webhook call: the HTTP status, the error code and the message."""

    status: int
    code: str
    message: str


@dataclass(frozen=True)
class Received:
    message: InboundMessage
    log: PmsSyncLog


def expected_token(connection: Connection) -> str:
    """The token this connection's webhook takes ("" when none is configured)."""
    own = (connection.credentials or {}).get("webhook_secret", "")
    if own:
        return own
    name = f"PMS_{connection.provider.upper()}_TOKEN"
    return getattr(settings, name, "") or os.environ.get(name, "") or settings.PMS_WEBHOOK_TOKEN


def find_connection(provider: str, slug: str) -> Connection:
    if provider not in registry():
        raise WebhookError(404, "unknown_provider", f"No PMS provider {provider[:32]!r}.")
    hotel = Hotel.objects.filter(code__iexact=slug.strip()).first() if slug.strip() else None
    if hotel is None or hotel.code.lower() != slug.strip():
        raise WebhookError(404, "hotel_not_found", f"No hotel {slug[:32]!r}.")
    connection = (
        Connection.objects.select_related("hotel")
        .filter(hotel=hotel, provider=provider, enabled=True)
        .first()
    )
    if connection is None:
        raise WebhookError(
            404, "not_configured", f"{hotel.code} has no enabled {provider} connection."
        )
    return connection


def check_token(connection: Connection, token: str) -> None:
    expected = expected_token(connection)
    if not expected or not hmac.compare_digest(expected.encode(), token.encode()):
        raise WebhookError(401, "unauthorized", "The x-provider-token is missing or wrong.")


def _field(data: dict, name: str, kind: type, *, default=None, required: bool = True):
    value = data.get(name, default)
    if value is None and not required:
        return default
    if not isinstance(value, kind) or isinstance(value, bool) and kind is int:
        raise ValueError(f"{name} must be {kind.__name__}.")
    return value


def parse_booking(body: bytes, currency: str) -> InboundReservation:
    """The normalised booking as an inbound reservation; ``ValueError`` says what is wrong."""
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise ValueError(f"The body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError("The body must be a JSON object.")
    booking = data.get("booking") if isinstance(data.get("booking"), dict) else {}
    merged = {**{k: v for k, v in data.items() if k != "booking"}, **booking}
    booking_id = str(_field(merged, "id", (str, int))).strip()
    status = str(_field(merged, "status", str, default="confirmed")).strip().lower()
    if status not in CANCELLED | CONFIRMED:
        raise ValueError(f"status {status!r} is not one of confirmed, cancelled.")
    guest = _field(merged, "guest", dict, default={}, required=False)
    stay = _field(merged, "stay", dict)
    totals = _field(merged, "totals", dict, default={}, required=False)
    try:
        check_in = date.fromisoformat(_field(stay, "check_in", str))
        check_out = date.fromisoformat(_field(stay, "check_out", str))
    except ValueError as exc:
        raise ValueError(f"stay: {exc}") from exc
    if check_out <= check_in:
        raise ValueError("stay.check_out must be after stay.check_in.")
    money = str(totals.get("currency") or currency).upper()
    if "amount_minor" in totals:
        total = _field(totals, "amount_minor", int)
    else:
        try:
            total = to_minor(Decimal(str(totals.get("amount", "0"))), money)
        except (InvalidOperation, ValueError) as exc:
            raise ValueError(f"totals.amount is not an amount: {exc}") from exc
    updated = merged.get("updated_at")
    revised_at = datetime.fromisoformat(updated.replace("Z", "+00:00")) if updated else None
    revision = (
        f"{status}:{updated}"
        if updated
        else f"{status}:sha256:{hashlib.sha256(body).hexdigest()[:40]}"
    )
    rooms = max(_field(stay, "rooms", int, default=1, required=False), 1)
    return InboundReservation(
        partner_reservation_id=booking_id,
        revision=revision,
        kind=InboundKind.CANCEL if status in CANCELLED else InboundKind.NEW,
        currency=money,
        total=max(total, 0),
        guest=GuestDetails(
            given_name=str(guest.get("first_name", "")),
            surname=str(guest.get("last_name", "")),
            email=str(guest.get("email", "")),
            phone=str(guest.get("phone", "")),
            country=str(guest.get("country", "")),
        ),
        rooms=tuple(
            InboundRoomStay(
                partner_room_id=str(_field(stay, "room_type", str)),
                partner_rate_id=str(stay.get("rate_plan", "")),
                check_in=check_in,
                check_out=check_out,
                adults=_field(stay, "adults", int, default=1, required=False),
                children=_field(stay, "children", int, default=0, required=False),
                index=str(n + 1),
            )
            for n in range(rooms)
        ),
        special_requests=str(merged.get("special_requests", ""))[:2000],
        revised_at=revised_at,
        raw=body,
    )


def receive_booking(
    provider: str, *, slug: str, token: str, correlation_id: str, body: bytes
) -> Received:
    """Verify, store raw, and queue the apply; ``WebhookError`` for a refused call."""
    from .tasks import apply_webhook_booking

    connection = find_connection(provider, slug)
    check_token(connection, token)
    try:
        inbound = parse_booking(body, connection.hotel.currency)
    except ValueError as exc:
        raise WebhookError(400, "invalid_booking", str(exc)) from exc
    with transaction.atomic():
        message = record_inbound(connection, inbound, correlation_id=correlation_id)
        log = PmsSyncLog.objects.create(
            connection=connection,
            entity=PmsSyncLog.Entity.BOOKING,
            operation=PmsSyncLog.Operation.WEBHOOK,
            correlation_id=correlation_id[:64],
            summary={
                "inbound_message_id": message.pk,
                "booking_id": inbound.partner_reservation_id,
            },
        )
        pema_tasks.enqueue_on_commit(
            apply_webhook_booking, message.pk, log.pk, queue=settings.CHANNELS_TASK_QUEUE
        )
    return Received(message, log)
