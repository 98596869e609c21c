"""The inbound pipeline: reservation messages from partners, stored, applied, acknowledged.

One path for every partner, whether it pushes (``/hooks/<connection uuid>/``)
or is pulled:

1. **Raw first.** :func:`record_inbound` stores what the partner sent as an
   ``InboundMessage`` before anything else, once per (connection, partner
   reservation id, revision): the same revision delivered again is the same
   row, counted in ``deliveries``.
2. **Apply.** :func:`apply_inbound` applies a message through the booking
   rules every other reservation goes through (``bookings.reservations``):
   a new booking is created with source OTA, accepted past availability and
   flagged overbooked, priced with the partner's nightly prices, one room
   stay per partner room (a multi-room booking may mix room types and rate
   plans: each room is counted into its own type's calendar); a
   modification moves the inventory atomically; a cancellation frees the
   dates. Each writes its ``ChangeEvent``, so every other channel and the PMS
   hear of it. Applying is idempotent: an applied message is never applied
   again, and a message older than one already applied for the same partner
   reservation is recorded as ``superseded`` and not applied.
3. **Hold.** A message that cannot be applied (an unmapped room or rate, a
   currency the rate plan does not sell in, a malformed message, a
   cancellation of a reservation never received) is ``held`` with its reason
   for staff, and applied when retried after the cause is fixed.
4. **Acknowledge, after the commit.** Messages carrying an ``ack_token`` are
   owed an acknowledgement: :func:`pending_acks` lists the applied (and
   superseded) ones, and the held ones too when the connection actively
   rejects held reservations; :func:`acknowledge_pending` sends them through
   the provider and records the outcome, retrying with the outbox's backoff.
   A crash between the commit and the acknowledgement only means the partner
   sends the message again, and applying it again changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from xml.parsers.expat import ExpatError

import xmltodict
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from bookings.blocks import active_block, move_block, place_block, release_block
from bookings.errors import BookingError
from bookings.models import Reservation
from bookings.reservations import (
    GuestDetails,
    RoomRequest,
    cancel_reservation,
    modify_reservation,
    reserve_rooms,
)
from pema import tasks as pema_tasks
from pema.xml import XMLError, parse_xml

from .delivery import backoff_seconds
from .interface import (
    Acknowledgement,
    AckOutcome,
    ChangeNotice,
    InboundKind,
    InboundReservation,
    WebhookRequest,
)
from .mapping import ProductMap
from .models import Connection, InboundMessage
from .providers.base import PullAgain, SyncError, TransientError, loggable

logger = logging.getLogger(__name__)

Status = InboundMessage.Status
OTA = Reservation.Source.OTA
PMS = Reservation.Source.PMS
# At equal revision times a cancellation comes after a modification, which comes after
# the booking: the order a partner makes them in.
KIND_ORDER = {InboundKind.NEW: 0, InboundKind.MODIFY: 1, InboundKind.CANCEL: 2}
# Held for this reason, a message is retried by itself once its reservation arrives.
WAITS_FOR_RESERVATION = "not_received"
# Held for this reason, a message is a change notice (an OPERA business event) whose
# reservation is read by the next bookings sync (``record_notices``).
WAITS_FOR_DETAILS = "awaiting_details"
CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass
class Hold(BookingError):
    """The message cannot be applied as it stands; staff must act, then retry."""

    code: str = "held"


@dataclass(frozen=True)
class PendingAck:
    """A message owed an acknowledgement; ``reject_reason`` set: reject it actively."""

    message_id: int
    reservation: InboundReservation
    reject_reason: str = ""
    confirmation_number: str = ""


@dataclass
class AckReport:
    """What one acknowledgement pass did."""

    accepted: int = 0
    rejected: int = 0
    failed: int = 0
    error: str = ""
    # The partner said its messages changed since they were read: pull, then ack again.
    pull_again: bool = False


# ---------------------------------------------------------------------- recording


def parsed_view(raw: bytes) -> dict | list | None:
    """A JSON view of a raw body for people: XML through ``xmltodict``, JSON as is.

    XML passes ``pema.xml.parse_xml`` first, so a hostile document (a DTD,
    entities, an oversized body) is never expanded. None when unreadable.
    """
    head = raw.lstrip()[:1]
    try:
        if head == b"<":
            parse_xml(raw)
            return xmltodict.parse(raw, disable_entities=True)
        if head in (b"{", b"["):
            return json.loads(raw)
    except (XMLError, ValueError, ExpatError):
        return None
    return None


def _text(raw: bytes) -> str:
    # Partners send UTF-8; anything else is kept readable rather than refused.
    return raw.decode("utf-8", errors="replace")


def record_inbound(
    connection: Connection, inbound: InboundReservation, *, correlation_id: str = ""
) -> InboundMessage:
    """Store a partner's message raw, before anything else; the stored row is returned.

    Idempotent on (connection, partner reservation id, revision): a message
    sent again returns the row already stored, with ``deliveries`` counted up.
    A partner that sends a message again has not seen our acknowledgement, so
    one is owed again (with the new ``ack_token``: a partner may issue a new
    one per delivery).
    """
    if len(inbound.partner_reservation_id) > 64 or len(inbound.revision) > 128:
        return record_malformed(
            connection,
            inbound.raw,
            "The partner's reservation id (64) or revision (128) is too long to keep.",
        )
    key = {
        "connection": connection,
        "partner_reservation_id": inbound.partner_reservation_id,
        "revision": inbound.revision,
    }
    now = timezone.now()
    try:
        with transaction.atomic():
            return InboundMessage.objects.create(
                **key,
                kind=inbound.kind,
                raw_body=_text(inbound.raw),
                parsed=parsed_view(inbound.raw),
                payload=inbound.to_json(),
                revised_at=inbound.revised_at or now,
                ack_token=inbound.ack_token[:200],
                correlation_id=correlation_id[:64],
                received_at=now,
            )
    except IntegrityError:
        pass  # delivered before: the unique key says which row it is
    existing = InboundMessage.objects.get(**key)
    updates: dict = {"deliveries": F("deliveries") + 1}
    if inbound.ack_token:
        updates |= {
            "ack_token": inbound.ack_token[:200],
            "ack_result": InboundMessage.AckResult.NONE,
            "acked_at": None,
            "ack_attempts": 0,
            "ack_error": "",
            "next_ack_at": None,
        }
    InboundMessage.objects.filter(pk=existing.pk).update(**updates)
    existing.refresh_from_db()
    return existing


def record_many(
    connection: Connection, inbounds: Sequence[InboundReservation], *, correlation_id: str = ""
) -> list[InboundMessage]:
    """Store a page of messages raw, as :func:`record_inbound` does one, in two statements.

    One multi-row INSERT (the same revision sent again hits the unique key and
    is skipped) and one SELECT that reads every row back; revisions stored
    before have ``deliveries`` counted up in one UPDATE. A message whose ids are
    too long to keep is held as malformed, as one recorded alone would be.
    The rows come back in the order of ``inbounds``.
    """
    now = timezone.now()
    rows, malformed = [], []
    for inbound in inbounds:
        if len(inbound.partner_reservation_id) > 64 or len(inbound.revision) > 128:
            malformed.append(inbound)
            continue
        rows.append(
            InboundMessage(
                connection=connection,
                partner_reservation_id=inbound.partner_reservation_id,
                revision=inbound.revision,
                kind=inbound.kind,
                raw_body=_text(inbound.raw),
                parsed=parsed_view(inbound.raw),
                payload=inbound.to_json(),
                revised_at=inbound.revised_at or now,
                ack_token=inbound.ack_token[:200],
                correlation_id=correlation_id[:64],
                received_at=now,
            )
        )
    stored = [
        record_malformed(
            connection,
            bad.raw,
            "The partner's reservation id (64) or revision (128) is too long to keep.",
        )
        for bad in malformed
    ]
    if not rows:
        return stored
    InboundMessage.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
    keys = {(row.partner_reservation_id, row.revision) for row in rows}
    found = {
        (m.partner_reservation_id, m.revision): m
        for m in InboundMessage.objects.filter(
            connection=connection,
            partner_reservation_id__in={pid for pid, _ in keys},
        )
        if (m.partner_reservation_id, m.revision) in keys
    }
    again = [m.pk for m in found.values() if m.received_at != now]
    if again:
        InboundMessage.objects.filter(pk__in=again).update(deliveries=F("deliveries") + 1)
    ordered = [found[(row.partner_reservation_id, row.revision)] for row in rows]
    return ordered + stored


@dataclass
class BatchReport:
    """What :func:`record_and_apply` did: outcome -> count, and the reservations applied."""

    outcome: dict[str, int]
    reservation_ids: list[int]


def record_and_apply(
    connection: Connection, inbounds: Sequence[InboundReservation], *, correlation_id: str = ""
) -> BatchReport:
    """Store a page of messages (:func:`record_many`) and apply each; count the outcomes.

    The connection's mapping is read once for the page. Outcomes: ``applied``,
    ``held`` (held or failed, waiting for staff), ``superseded``, and
    ``unchanged`` (applied before: delivered again).
    """
    messages = record_many(connection, inbounds, correlation_id=correlation_id)
    products = ProductMap(connection)
    outcome: dict[str, int] = {}
    applied: list[int] = []
    for message in messages:
        if message.status in APPLICABLE:
            message = apply_inbound(message.pk, products=products)
            key = {Status.FAILED: "held"}.get(message.status, str(message.status))
            if message.status == Status.APPLIED and message.reservation_id:
                applied.append(message.reservation_id)
        else:
            key = "unchanged"
        outcome[key] = outcome.get(key, 0) + 1
    return BatchReport(outcome, applied)


def record_malformed(
    connection: Connection,
    raw: bytes,
    reason: str,
    *,
    partner_reservation_id: str = "",
    revision: str = "",
    ack_token: str = "",
) -> InboundMessage:
    """Keep a message that could not be read, held as ``malformed`` for staff.

    Without the partner's ids, the body's SHA-256 stands in for the revision,
    so the same body sent twice is still one row.
    """
    key = {
        "connection": connection,
        "partner_reservation_id": partner_reservation_id[:64],
        "revision": revision[:128] or "sha256:" + hashlib.sha256(raw).hexdigest(),
    }
    now = timezone.now()
    message, created = InboundMessage.objects.get_or_create(
        **key,
        defaults={
            "kind": InboundMessage.Kind.UNKNOWN,
            "status": Status.HELD,
            "error_code": "malformed",
            "error": reason[:2000],
            "raw_body": _text(raw),
            "parsed": parsed_view(raw),
            "revised_at": now,
            "received_at": now,
            "ack_token": ack_token[:200],
        },
    )
    if not created:
        InboundMessage.objects.filter(pk=message.pk).update(deliveries=F("deliveries") + 1)
    logger.warning("Unreadable message from connection %s held: %s", connection.pk, reason)
    return message


def receive_webhook(connection: Connection, request: WebhookRequest) -> list[InboundMessage]:
    """A push to the connection's hook: verify, store raw, and have it applied after commit.

    Raises the provider's ``WebhookRefused`` (verification failed: nothing is
    stored) or ``NotSupported`` (the provider takes no webhooks).

    A partner with ``reservation_hints`` pushes only the ids of changed
    reservations: the push is kept in the sync log and the named reservations
    are fetched at once, after the commit (``channels.pull.fetch_hinted``);
    nothing is stored as a message until they are read.
    """
    from .tasks import apply_inbound_message, fetch_hinted

    provider = connection.get_provider()
    provider.verify_webhook(request)
    if provider.capabilities().reservation_hints:
        ids = _hinted(connection, provider, request)
        if ids:
            pema_tasks.enqueue_on_commit(
                fetch_hinted, connection.pk, list(ids), queue=settings.CHANNELS_TASK_QUEUE
            )
        return []
    with transaction.atomic():
        try:
            items = provider.parse_webhook(request)
        except (SyncError, ValueError) as exc:
            reason = exc.message if isinstance(exc, SyncError) else str(exc)
            return [record_malformed(connection, request.body, f"Unreadable push: {reason}")]
        messages = [
            record_inbound(connection, item if item.raw else replace(item, raw=request.body))
            for item in items
        ]
        for message in messages:
            if message.status in APPLICABLE:
                pema_tasks.enqueue_on_commit(
                    apply_inbound_message, message.pk, queue=settings.CHANNELS_TASK_QUEUE
                )
    return messages


def _hinted(connection: Connection, provider, request: WebhookRequest) -> tuple[str, ...]:
    """The ids a hint names (an unreadable hint: none), the push kept in the sync log."""
    from .models import SyncLog

    error, ids = "", ()
    try:
        ids = tuple(dict.fromkeys(provider.webhook_hints(request)))
    except (SyncError, ValueError) as exc:
        error = exc.message if isinstance(exc, SyncError) else str(exc)
    SyncLog.objects.create(
        connection=connection,
        operation="hint",
        status=SyncLog.Status.ERROR if error else SyncLog.Status.SUCCESS,
        items=len(ids),
        request=loggable(request.body),
        error=f"Unreadable hint: {error}"[:2000] if error else "",
        correlation_id=",".join(ids)[:64],
    )
    return ids


def stored_revisions(connection: Connection, partner_reservation_ids) -> set[tuple[str, str]]:
    """(partner reservation id, revision) of these reservations' messages stored already.

    A partner that lists changes without a queue (Agoda) reads only details
    it does not hold yet; the pipeline would pass over the others anyway.
    """
    return set(
        InboundMessage.objects.filter(
            connection=connection, partner_reservation_id__in=list(partner_reservation_ids)
        ).values_list("partner_reservation_id", "revision")
    )


def record_notices(
    connection: Connection, notices: Sequence[ChangeNotice], *, correlation_id: str = ""
) -> list[InboundMessage]:
    """Store change notices raw, one row each, before anything else is done with them.

    A PMS's change queue (OPERA's business events) is emptied as it is read, so
    a notice not stored now is lost. A reservation's notice is held
    ``awaiting_details`` (:data:`WAITS_FOR_DETAILS`) until its reservation is
    read (:func:`awaiting_details`, :func:`mark_notices_read`); it is never
    applied itself. A notice about something else (a profile, a room) is kept
    for the record as superseded: the guests and rooms syncs read those.
    Idempotent per (connection, event): a notice delivered again is its row again.
    """
    now = timezone.now()
    rows = []
    for notice in notices:
        about = notice.partner_reservation_id
        if not about:
            about = f"{notice.module or 'other'}:{notice.action}"[:64]
        rows.append(
            InboundMessage(
                connection=connection,
                partner_reservation_id=about[:64],
                revision=f"event:{notice.event_id}"[:128],
                kind=notice.kind,
                status=Status.HELD if notice.partner_reservation_id else Status.SUPERSEDED,
                error_code=WAITS_FOR_DETAILS if notice.partner_reservation_id else "",
                error=(
                    f"{notice.action or 'A change'}: the reservation is read by the next sync."
                    if notice.partner_reservation_id
                    else f"Not a reservation's change ({notice.module} {notice.action}): "
                    "the guests and rooms syncs read it."
                )[:2000],
                raw_body=_text(notice.raw),
                parsed=parsed_view(notice.raw),
                payload={"notice": True, "module": notice.module, "action": notice.action},
                revised_at=notice.revised_at or now,
                correlation_id=correlation_id[:64],
                received_at=now,
            )
        )
    with transaction.atomic():
        InboundMessage.objects.bulk_create(rows, ignore_conflicts=True)
    return list(
        InboundMessage.objects.filter(
            connection=connection, revision__in=[row.revision for row in rows]
        ).order_by("id")
    )


def awaiting_details(connection: Connection, *, limit: int = 500) -> list[InboundMessage]:
    """Stored change notices whose reservation has not been read yet, oldest first."""
    return list(
        InboundMessage.objects.filter(
            connection=connection, status=Status.HELD, error_code=WAITS_FOR_DETAILS
        ).order_by("id")[:limit]
    )


def mark_notices_read(message_ids: Sequence[int], note: str) -> int:
    """The notices' reservations were read (and recorded as their own messages)."""
    return InboundMessage.objects.filter(
        pk__in=list(message_ids), status=Status.HELD, error_code=WAITS_FOR_DETAILS
    ).update(status=Status.SUPERSEDED, error_code="", error=note[:2000], updated_at=timezone.now())


# ---------------------------------------------------------------------- applying

APPLICABLE = (Status.RECEIVED, Status.HELD, Status.FAILED)


def apply_inbound(message_id: int, *, products: ProductMap | None = None) -> InboundMessage:
    """Apply one stored message (a received, held or failed one); return it as it ends.

    ``products``: the connection's mapping, when the caller applies many
    messages of one connection (a pull) and read it once for all of them.

    The messages of one partner reservation are applied one at a time (the
    oldest message row of that reservation is locked first), so a modify
    never races its booking. An applied or superseded message is returned
    untouched.
    """
    with transaction.atomic():
        key = (
            InboundMessage.objects.filter(pk=message_id)
            .values("connection_id", "partner_reservation_id")
            .first()
        )
        if key is None:
            raise InboundMessage.DoesNotExist(f"No inbound message {message_id}.")
        # The reservation's lock: its oldest message row, whoever holds it goes first.
        list(
            InboundMessage.objects.select_for_update()
            .filter(**key)
            .order_by("id")
            .values_list("id", flat=True)[:1]
        )
        message = (
            InboundMessage.objects.select_for_update(of=("self",))
            .select_related("connection__hotel")
            .get(pk=message_id)
        )
        if message.status not in APPLICABLE:
            return message
        _apply_locked(message, products)
        if message.status == Status.APPLIED:
            _apply_waiting(message, products)
    return message


def _apply_locked(message: InboundMessage, products: ProductMap | None = None) -> None:
    """Apply ``message`` (its reservation's lock held) and record the outcome on it."""
    message.attempts += 1
    if message.kind != InboundMessage.Kind.UNKNOWN:
        # An unreadable message keeps its reason: it is what the hold says again.
        message.error_code, message.error = "", ""
    try:
        with transaction.atomic():
            status, reservation, note = _apply_message(message, products)
        message.status = status
        message.error = note
        if reservation is not None:
            message.reservation = reservation
        if status == Status.APPLIED:
            message.applied_at = timezone.now()
    except BookingError as refusal:  # a Hold, an Unmapped product, or the booking rules
        message.status = Status.HELD
        message.error_code, message.error = refusal.code[:40], refusal.message
    except Exception as exc:  # noqa: BLE001 - a bug must leave the message visible, not lost
        logger.exception("Applying inbound message %s failed", message.pk)
        message.status = Status.FAILED
        message.error_code, message.error = "error", f"{type(exc).__name__}: {exc}"
    message.save(
        update_fields=[
            "status", "error_code", "error", "reservation", "attempts", "applied_at", "updated_at",
        ]
    )  # fmt: skip


def _apply_waiting(applied: InboundMessage, products: ProductMap | None = None) -> None:
    """Messages that waited for this reservation to arrive (a cancellation first) go now."""
    waiting = InboundMessage.objects.filter(
        connection_id=applied.connection_id,
        partner_reservation_id=applied.partner_reservation_id,
        status=Status.HELD,
        error_code=WAITS_FOR_RESERVATION,
    ).order_by("revised_at", "id")
    for other in waiting.select_related("connection__hotel"):
        _apply_locked(other, products)


def _order_key(revised_at, kind: str) -> tuple:
    return (revised_at, KIND_ORDER.get(kind, 0))


def _newer_applied(message: InboundMessage) -> InboundMessage | None:
    """An applied message of the same partner reservation newer than this one, if any."""
    mine = _order_key(message.revised_at, message.kind)
    others = InboundMessage.objects.filter(
        connection_id=message.connection_id,
        partner_reservation_id=message.partner_reservation_id,
        status=Status.APPLIED,
    ).exclude(pk=message.pk)
    for other in others.only("revision", "revised_at", "kind"):
        if _order_key(other.revised_at, other.kind) > mine:
            return other
    return None


def _local_reservation(message: InboundMessage) -> Reservation | None:
    """The reservation earlier messages of this partner reservation made, if any."""
    linked = (
        InboundMessage.objects.filter(
            connection_id=message.connection_id,
            partner_reservation_id=message.partner_reservation_id,
            reservation__isnull=False,
        )
        .order_by("-id")
        .values_list("reservation_id", flat=True)
        .first()
    )
    found = Reservation.objects.filter(pk=linked) if linked else Reservation.objects.none()
    connection = message.connection
    # Booked before the pipeline kept messages (or its messages were pruned).
    found = found or Reservation.objects.filter(
        hotel_id=connection.hotel_id,
        source_channel=connection.provider,
        external_id=message.partner_reservation_id,
    )
    return found.select_related("hotel").first()


def _apply_message(
    message: InboundMessage, products: ProductMap | None = None
) -> tuple[str, Reservation | None, str]:
    """(status, reservation, note) of applying ``message``; a ``BookingError`` holds it."""
    if message.kind == InboundMessage.Kind.UNKNOWN:
        raise Hold(code="malformed", message=message.error or "The message could not be read.")
    if isinstance(message.payload, dict) and message.payload.get("notice"):
        # A change notice carries no reservation: the bookings sync reads it (record_notices).
        raise Hold(
            code=WAITS_FOR_DETAILS,
            message="A change notice: its reservation is read by the next bookings sync.",
        )
    try:
        inbound = InboundReservation.from_json(message.payload)
    except ValueError as exc:
        raise Hold(code="malformed", message=str(exc)) from exc
    newer = _newer_applied(message)
    if newer is not None:
        return (
            Status.SUPERSEDED,
            None,
            f"Revision {newer.revision} of this reservation, made later, is applied already.",
        )
    connection = message.connection
    if inbound.block:
        return _apply_block(connection, inbound, products or ProductMap(connection))
    source = _source(connection)
    local = _local_reservation(message)
    if inbound.kind == InboundKind.CANCEL:
        if local is None:
            raise Hold(
                code=WAITS_FOR_RESERVATION,
                message=f"A cancellation of reservation {inbound.partner_reservation_id}, which "
                f"{connection.name} has not sent yet: it is applied when the booking arrives.",
            )
        reservation, cancelled = cancel_reservation(
            local, source=source, reason=f"Cancelled through {connection.name}."
        )
        return Status.APPLIED, reservation, "" if cancelled else "Cancelled already."
    booking = _booking(connection, inbound, products or ProductMap(connection))
    if local is None:
        reservation = reserve_rooms(
            hotel=connection.hotel,
            check_in=booking.check_in,
            check_out=booking.check_out,
            rooms=booking.rooms,
            guest=booking.guest,
            source=source,
            source_channel=connection.provider,
            external_id=inbound.partner_reservation_id,
            external_revision=inbound.revision[:64],
            special_requests=booking.special_requests,
            staff_notes=inbound.staff_note,
        )
        if source == PMS:
            # The PMS's own id is its reference: the reservation is "already there".
            reference = inbound.partner_reservation_id[:64]
            Reservation.objects.filter(pk=reservation.pk).update(pms_reference=reference)
            reservation.pms_reference = reference
        return Status.APPLIED, reservation, ""
    # The partner's rooms and prices replace the stays; the same ones are no change.
    reservation = modify_reservation(
        local,
        source=source,
        check_in=booking.check_in,
        check_out=booking.check_out,
        rooms=booking.rooms,
        special_requests=booking.special_requests,
        external_revision=inbound.revision[:64],
    )
    return Status.APPLIED, reservation, ""


def _apply_block(
    connection: Connection, inbound: InboundReservation, products: ProductMap
) -> tuple[str, None, str]:
    """A partner's closed dates: placed, moved or freed as a block of its room's type.

    Nights with no room free are accepted and named in the note (the block
    holds the others); a removal of a block never placed changes nothing.
    """
    hotel = connection.hotel
    existing = active_block(hotel, connection.provider, inbound.partner_reservation_id)
    if inbound.kind == InboundKind.CANCEL:
        if existing is None:
            return Status.APPLIED, None, "No block of this id to free."
        release_block(existing, source=OTA)
        return Status.APPLIED, None, ""
    if not inbound.rooms:
        raise Hold(code="malformed", message="The message blocks no room.")
    room = inbound.rooms[0]
    room_type = products.room_type(room.partner_room_id)
    reason = f"Closed on {connection.name}. {inbound.special_requests}".strip()
    if existing is None:
        block = place_block(
            hotel=hotel,
            room_type=room_type,
            start=room.check_in,
            end=room.check_out,
            source=OTA,
            source_channel=connection.provider,
            external_id=inbound.partner_reservation_id,
            reason=reason,
        )
    else:
        block = move_block(
            existing,
            room_type=room_type,
            start=room.check_in,
            end=room.check_out,
            source=OTA,
            reason=reason,
        )
    if not block.short_nights:
        return Status.APPLIED, None, ""
    shown = ", ".join(block.short_nights[:7]) + (" and more" if len(block.short_nights) > 7 else "")
    return (
        Status.APPLIED,
        None,
        f"Overbooked: no room of {room_type.code} free on {shown}; the block holds the other "
        "nights. Free a room or move a booking, and staff decide the rest.",
    )


def _source(connection: Connection) -> str:
    """A PMS's reservations are the hotel's own (source PMS); every other partner's are OTA."""
    return PMS if connection.get_provider().capabilities().exports_reservations else OTA


@dataclass(frozen=True)
class _Booking:
    """An inbound reservation in local terms, ready for the booking functions.

    ``rooms``: one line per partner room, in the partner's order, each with
    its own room type, rate plan, guests and nightly prices (None: priced by
    the hotel's rates).
    """

    check_in: date
    check_out: date
    rooms: list[RoomRequest]
    guest: GuestDetails
    special_requests: str


def _booking(connection: Connection, inbound: InboundReservation, products: ProductMap) -> _Booking:
    """Map and check a new or modified reservation; Hold/Unmapped when it cannot be booked.

    A multi-room booking may mix room types and rate plans: each room is its
    own line of the one reservation. Its rooms share one stay, the
    reservation's; rooms on different dates are held.
    """
    if not inbound.rooms:
        raise Hold(code="malformed", message="The message books no room.")
    mapped = [products.resolve(r.partner_room_id, r.partner_rate_id) for r in inbound.rooms]
    first = inbound.rooms[0]
    if len({(r.check_in, r.check_out) for r in inbound.rooms}) > 1:
        raise Hold(
            code="mixed_dates",
            message="The rooms of this reservation are for different dates; a Pema reservation "
            "is one stay. Book the rooms by hand and retry, or ask the partner to split it.",
        )
    nightly = _nightly_prices(inbound, first.check_in, first.check_out)
    if nightly is not None:
        for product in {p.rate_plan.pk: p for p in mapped}.values():
            plan_currency = product.rate_plan.currency
            if inbound.currency == plan_currency:
                continue
            if not CURRENCY.match(inbound.currency):
                raise Hold(
                    code="unknown_currency", message=f"Unknown currency {inbound.currency!r}."
                )
            raise Hold(
                code="currency_mismatch",
                message=f"The partner prices this reservation in {inbound.currency}; rate plan "
                f"{product.rate_plan.code} sells in {plan_currency}. Pema does not convert: "
                "map a rate plan in that currency, or correct the partner's setup, then retry.",
            )
    rooms = [
        RoomRequest(
            room_type=product.room_type,
            rate_plan=product.rate_plan,
            adults=room.adults,
            children=room.children,
            nightly_prices=None if nightly is None else tuple(nightly[index]),
        )
        for index, (product, room) in enumerate(zip(mapped, inbound.rooms, strict=True))
    ]
    guest = inbound.guest
    country = guest.country.strip().upper()
    return _Booking(
        check_in=first.check_in,
        check_out=first.check_out,
        rooms=rooms,
        guest=GuestDetails(
            first_name=guest.given_name.strip()[:100],
            last_name=(guest.surname.strip() or "(no name given)")[:100],
            email=guest.email.strip()[:254],
            phone=guest.phone.strip()[:40],
            country=country if re.match(r"^[A-Z]{2}$", country) else "",
        ),
        special_requests=inbound.special_requests,
    )


def _nightly_prices(
    inbound: InboundReservation, check_in: date, check_out: date
) -> list[list[int]] | None:
    """Per room, the partner's price of each night; None: the hotel's rates price the stay.

    Rooms carry their nights' prices. With only a total, it is spread over
    the rooms and then the nights (the first take the remainder), so the
    reservation's total is the partner's to the minor unit.
    """
    dates = [check_in + timedelta(days=n) for n in range((check_out - check_in).days)]
    priced = [room for room in inbound.rooms if room.nights]
    if priced and len(priced) != len(inbound.rooms):
        raise Hold(code="malformed", message="Some rooms carry nightly prices and others do not.")
    if priced:
        per_room = []
        for room in priced:
            nights = sorted(room.nights, key=lambda n: n.date)
            if [n.date for n in nights] != dates:
                raise Hold(
                    code="malformed",
                    message=f"Room {room.index or room.partner_room_id}: the priced nights "
                    f"({', '.join(n.date.isoformat() for n in room.nights)}) are not the stay's.",
                )
            per_room.append([n.price for n in nights])
        return per_room
    if inbound.total and dates:
        count = len(inbound.rooms)
        room_totals = [
            inbound.total // count + (1 if n < inbound.total % count else 0) for n in range(count)
        ]
        return [
            [total // len(dates) + (1 if n < total % len(dates) else 0) for n in range(len(dates))]
            for total in room_totals
        ]
    return None


def retry_messages(messages) -> dict[str, int]:
    """Apply held or failed messages again (staff fixed the cause); count the outcomes."""
    outcomes: dict[str, int] = {}
    for message in messages:
        if message.status not in APPLICABLE:
            continue
        done = apply_inbound(message.pk)
        outcomes[done.status] = outcomes.get(done.status, 0) + 1
    return outcomes


def waiting_message_ids(*, older_than_seconds: float = 30.0, limit: int = 500) -> list[int]:
    """Messages received but not yet applied, for the sweep (the broker may have lost them)."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    return list(
        InboundMessage.objects.filter(status=Status.RECEIVED, received_at__lt=cutoff)
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )


# ---------------------------------------------------------------------- acknowledging


def pending_acks(connection: Connection, *, limit: int = 100) -> list[PendingAck]:
    """Committed messages owed an acknowledgement now, oldest first.

    Applied and superseded messages are acknowledged as processed. Held ones
    are actively rejected, with their reason, only when the connection says
    so (``reject_held``); otherwise they stay unacknowledged, so the partner
    keeps them (and may send them again) until staff resolve them.
    """
    statuses = [Status.APPLIED, Status.SUPERSEDED]
    if connection.reject_held:
        statuses.append(Status.HELD)
    now = timezone.now()
    due = (
        InboundMessage.objects.filter(
            connection=connection,
            acked_at__isnull=True,
            ack_result=InboundMessage.AckResult.NONE,
            status__in=statuses,
        )
        .exclude(ack_token="")
        .filter(Q(next_ack_at__isnull=True) | Q(next_ack_at__lte=now))
        .select_related("reservation", "connection")
        .order_by("id")[:limit]
    )
    pending = []
    for message in due:
        try:
            inbound = InboundReservation.from_json(message.payload, raw=b"")
        except ValueError:
            # Unreadable but identified: rejected (only reachable with reject_held).
            inbound = InboundReservation(
                partner_reservation_id=message.partner_reservation_id or "?",
                revision=message.revision,
                kind=InboundKind.NEW,
                ack_token=message.ack_token,
            )
        inbound = replace(inbound, ack_token=message.ack_token)
        reason = message.error if message.status == Status.HELD else ""
        # A superseded message made no reservation of its own: its partner reservation's.
        local = message.reservation or (
            _local_reservation(message) if message.status == Status.SUPERSEDED else None
        )
        number = local.confirmation_number if local else ""
        pending.append(PendingAck(message.pk, inbound, reason or "", number))
    return pending


def acknowledgement(pending: list[PendingAck]) -> Acknowledgement:
    """The provider's view of a batch of pending acknowledgements."""
    return Acknowledgement(
        applied=tuple(p.reservation for p in pending if not p.reject_reason),
        rejected=tuple((p.reservation, p.reject_reason) for p in pending if p.reject_reason),
        confirmation_numbers={
            p.reservation.partner_reservation_id: p.confirmation_number
            for p in pending
            if p.confirmation_number
        },
    )


def mark_acked(message_ids: list[int], *, rejected: bool = False) -> int:
    """Record that the partner took the acknowledgement (or the rejection) of these."""
    result = InboundMessage.AckResult.REJECTED if rejected else InboundMessage.AckResult.ACCEPTED
    return InboundMessage.objects.filter(pk__in=message_ids).update(
        ack_result=result, acked_at=timezone.now(), ack_error="", next_ack_at=None
    )


def mark_ack_failed(
    message_ids: list[int], error: str, *, permanent: bool = False, retry_now: bool = False
) -> int:
    """An acknowledgement did not go through: try again after the outbox's backoff.

    ``permanent`` (the partner refused it), or a failure once the message is
    older than the outbox's retry window (``CHANNELS_RETRY_MAX_AGE``), gives
    up: the message shows the acknowledgement as failed in the admin.
    ``retry_now``: due again at once (the partner asked to be read again first).
    """
    now = timezone.now()
    window_ended = now - timedelta(seconds=settings.CHANNELS_RETRY_MAX_AGE)
    count = 0
    for message in InboundMessage.objects.filter(pk__in=message_ids):
        message.ack_attempts += 1
        message.ack_error = error[:2000]
        if permanent or message.received_at < window_ended:
            message.ack_result = InboundMessage.AckResult.FAILED
            message.next_ack_at = None
        elif retry_now:
            message.next_ack_at = now
        else:
            message.next_ack_at = now + timedelta(seconds=backoff_seconds(message.ack_attempts))
        message.save(update_fields=["ack_attempts", "ack_error", "ack_result", "next_ack_at"])
        count += 1
    return count


def acknowledge_pending(connection: Connection, *, limit: int = 100) -> AckReport:
    """Send the acknowledgements owed on ``connection`` through its provider.

    Call it outside any transaction that applied the messages: only what is
    committed is acknowledged (that is what makes a crash in between safe).
    """
    report = AckReport()
    pending = pending_acks(connection, limit=limit)
    if not pending:
        return report
    ids = [p.message_id for p in pending]
    try:
        outcome = connection.get_provider().acknowledge(acknowledgement(pending))
    except PullAgain as exc:
        mark_ack_failed(ids, exc.message, retry_now=True)
        report.failed, report.error, report.pull_again = len(ids), exc.message, True
        return report
    except SyncError as exc:
        mark_ack_failed(ids, exc.message, permanent=not isinstance(exc, TransientError))
        report.failed, report.error = len(ids), exc.message
        return report
    if isinstance(outcome, AckOutcome) and outcome.refused:
        # The partner took part of it: the refused are failed with why, the rest stand.
        why = {(pid, rev): reason for pid, rev, reason in outcome.refused}
        refused = [p for p in pending if _ack_key(p) in why]
        for p in refused:
            mark_ack_failed([p.message_id], why[_ack_key(p)], permanent=True)
        report.failed = len(refused)
        report.error = "; ".join(dict.fromkeys(why.values()))[:2000]
        pending = [p for p in pending if _ack_key(p) not in why]
    accepted = [p.message_id for p in pending if not p.reject_reason]
    rejected = [p.message_id for p in pending if p.reject_reason]
    report.accepted = mark_acked(accepted)
    report.rejected = mark_acked(rejected, rejected=True)
    return report


def _ack_key(pending: PendingAck) -> tuple[str, str]:
    return (pending.reservation.partner_reservation_id, pending.reservation.revision)
