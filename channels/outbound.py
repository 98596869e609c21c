"""Sending one ``SyncJob``: the job becomes a typed provider call, and its result is written.

The delivery engine (``channels/delivery.py`` on ``pema/outbox.py``) hands
each job to :func:`send`. Providers never see a ``SyncJob`` or a model: this
module reads what a call needs, hands the provider the values of
``channels/interface.py`` and writes what its ``DeliveryResult`` says.

- **ARI jobs.** The coalescer's item dicts become availability, restriction
  and rate items with the partner's ids, through the connection's
  ``ProductMap``. Items of products the connection does not sell are left out
  and named among the job's warnings (not an error); a job with nothing
  mapped is skipped without a call.
- **Reservation jobs.** The reservation is read from ``bookings`` and handed
  over as a ``ReservationMessage`` carrying the partner's reference once it
  has one. A job whose reservation is gone, or for a partner that takes no
  reservations, is skipped; so is a create the partner already holds (a
  reconcile can queue one after the first landed).
- **The result.** ``skipped`` ends the job skipped with that reason. The
  partner's reference of the job's reservation becomes the reservation's
  ``pms_reference``: the partners that take reservations are the hotel's PMS,
  and ``channels/operations.py``'s reconcile reads it to find what never arrived. The
  references and ``warnings`` are kept in the job's payload, and the warnings
  on the sync log rows of the call.

Failure is the provider raising the outbox's ``TransientError`` or
``PermanentError``; the outbox retries or gives up as for any job.

A partial success (the partner applied part of a document) is the provider's
``failed_updates`` on a result (refused for good: the job ends done, the
failures kept on its payload and its log), or ``PartiallyApplied`` when some
refused updates may pass later: the job's items are narrowed to those, the
failures kept, and the job retried with only them.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Prefetch
from django.utils import timezone

from bookings.models import Reservation, ReservationRoom

from .interface import (
    DeliveryResult,
    GuestDetails,
    Night,
    ReservationMessage,
    RoomStayMessage,
)
from .mapping import ProductMap, mapped_ari_items
from .models import SyncJob, SyncLog
from .providers.base import PartiallyApplied, Provider

ARI_KINDS = (SyncJob.Kind.AVAILABILITY, SyncJob.Kind.RATES)


def send(job: SyncJob) -> None:
    """Deliver one job through its connection's provider and record the outcome on it.

    Raises the provider's ``SyncError`` when the call fails; the caller (the
    outbox) saves the job, including its payload.
    """
    provider = job.connection.get_provider()
    started = timezone.now()
    with provider.sending(job):
        if job.kind in ARI_KINDS:
            result, notes = _send_ari(provider, job)
        else:
            result, notes = _send_reservation(provider, job), ()
    record(job, result, notes=notes, since=started)


def _send_ari(provider: Provider, job: SyncJob) -> tuple[DeliveryResult, tuple[str, ...]]:
    items, unmapped = mapped_ari_items(ProductMap(job.connection), job.payload.get("items") or [])
    notes = (f"Not mapped on this connection, not sent: {', '.join(unmapped)}.",) * bool(unmapped)
    if not items:
        return DeliveryResult(skipped=notes[0] if notes else "Nothing to send."), ()
    try:
        if job.kind == SyncJob.Kind.AVAILABILITY:
            return provider.push_availability(items, message_id=job.message_id), notes
        return provider.push_rates(items, message_id=job.message_id), notes
    except PartiallyApplied as partial:
        _narrow_to_retry(job, partial)
        raise


def _narrow_to_retry(job: SyncJob, partial: PartiallyApplied) -> None:
    """Keep on the job only the items the partner may take on a retry, and what failed.

    The outbox saves the payload with the failed attempt, so the retry sends
    only those items (the rest is applied at the partner already).
    """
    products = ProductMap(job.connection)
    wanted = set(partial.retry_items)
    kept = [
        item
        for item in job.payload.get("items") or []
        if any(typed in wanted for typed in mapped_ari_items(products, [item])[0])
    ]
    payload = dict(job.payload)
    payload["items"] = kept
    payload["failed_updates"] = [*payload.get("failed_updates", []), *partial.failed]
    job.payload = payload


def _send_reservation(provider: Provider, job: SyncJob) -> DeliveryResult:
    connection = job.connection
    if not provider.capabilities().exports_reservations:
        return DeliveryResult(skipped=f"{connection.name} takes no reservations from Pema.")
    reservation = _reservation(job.reservation_id)
    if reservation is None:
        return DeliveryResult(skipped="The reservation no longer exists.")
    if job.kind == SyncJob.Kind.RES_CREATE and reservation.pms_reference:
        return DeliveryResult(
            skipped=f"Already at {connection.name} as {reservation.pms_reference}."
        )
    message = reservation_message(reservation, ProductMap(connection))
    if job.kind == SyncJob.Kind.RES_CANCEL:
        result = provider.cancel_reservation(message, message_id=job.message_id)
    else:
        result = provider.push_reservation(message, message_id=job.message_id)
    reference = result.partner_references.get(reservation.confirmation_number, "")
    if reference and reference != reservation.pms_reference:
        # An UPDATE of the one column: the reservation's version and change log are the
        # hotel's, and learning the partner's id is no change to the booking.
        Reservation.objects.filter(pk=reservation.pk).update(pms_reference=reference)
    return result


def _reservation(reservation_id: int | None) -> Reservation | None:
    if reservation_id is None:
        return None
    rooms = ReservationRoom.objects.select_related("room_type", "rate_plan", "room")
    return (
        Reservation.objects.select_related("guest")
        .prefetch_related(Prefetch("rooms", queryset=rooms), "rooms__nights")
        .filter(pk=reservation_id)
        .first()
    )


def reservation_message(reservation: Reservation, products: ProductMap) -> ReservationMessage:
    """The reservation as a provider is handed it, in the partner's room and rate ids."""
    rooms = []
    for stay in reservation.rooms.all():
        # A product sold no longer is still the reservation's: its ids stand.
        ids = products.booked_ids(stay.room_type, stay.rate_plan)
        rooms.append(
            RoomStayMessage(
                room_type=stay.room_type.code,
                rate_plan=stay.rate_plan.code,
                partner_room_id=ids[0],
                partner_rate_id=ids[1],
                check_in=reservation.check_in,
                check_out=reservation.check_out,
                adults=stay.adults,
                children=stay.children,
                nights=tuple(Night(night.date, night.price) for night in stay.nights.all()),
                room_number=stay.room.number if stay.room else "",
            )
        )
    guest = reservation.guest
    return ReservationMessage(
        confirmation_number=reservation.confirmation_number,
        status=reservation.status,
        version=reservation.version,
        currency=reservation.currency,
        total=reservation.total_amount,
        guest=GuestDetails(
            given_name=guest.first_name,
            surname=guest.last_name,
            email=guest.email,
            phone=guest.phone,
            country=guest.country,
        ),
        rooms=tuple(rooms),
        partner_reference=reservation.pms_reference,
        special_requests=reservation.special_requests,
        created_at=reservation.created_at,
        check_in=reservation.check_in,
        check_out=reservation.check_out,
        adults=reservation.adults,
        children=reservation.children,
    )


def record(
    job: SyncJob,
    result: DeliveryResult,
    *,
    notes: tuple[str, ...] = (),
    since: datetime | None = None,
) -> None:
    """Write a ``DeliveryResult`` onto the job (the outbox saves it) and its sync log.

    ``notes`` are the engine's own warnings (unmapped products); ``since``
    picks the sync log rows of this attempt, which get every warning their
    text does not already carry (a provider's ``check`` may have logged it).
    """
    if result.skipped:
        job.status = SyncJob.Status.SKIPPED
        job.last_error = result.skipped
        return
    payload = dict(job.payload)
    if result.partner_references:
        payload["partner_references"] = dict(result.partner_references)
    if result.failed_updates:
        payload["failed_updates"] = [*payload.get("failed_updates", []), *result.failed_updates]
    warnings = [*notes, *result.warnings]
    if warnings:
        payload["warnings"] = warnings
        _note_on_logs(job, warnings, since)
    job.payload = payload


def _note_on_logs(job: SyncJob, warnings: list[str], since: datetime | None) -> None:
    logs = SyncLog.objects.filter(job=job)
    if since is not None:
        logs = logs.filter(created_at__gte=since)
    for log in logs:
        missing = [text for text in warnings if text not in log.error]
        if not missing:
            continue
        log.error = "; ".join(part for part in (log.error, *missing) if part)[:2000]
        if log.status == SyncLog.Status.SUCCESS:
            log.status = SyncLog.Status.WARNING
        log.save(update_fields=["error", "status"])
