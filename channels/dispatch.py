"""The dispatcher: turns ``ChangeEvent``s past a connection's cursor into ``SyncJob``s.

ARI changes are coalesced (see ``channels/coalesce.py``): all events read in
one pass mark days dirty, the current calendar rows for those days are read
once, runs of equal consecutive days become one item, and items are packed
into documents, one job per document. Reservation events become create /
modify / cancel jobs for partners that take reservations, and, for channels
whose limit is net of reservations, also mark the stay's availability dirty
(a booking changes their rooms to sell).

The provider's ``Capabilities`` decide what is sent and how it is cut:

- only days from ``past_days`` before the hotel's today to the end of the
  ``horizon_days`` are sent (a partner refuses the rest);
- a document holds at most ``max_items_per_request`` wire messages (and at
  most ``CHANNELS_ARI_BATCH_SIZE``, the operator's own cap), and the days of
  one period (``max_days_per_request``, ``calendar_month_per_request``);
- ``exports_reservations``: a partner that takes no reservations (an OTA,
  where they come from) gets no reservation jobs, whatever the connection's
  ``export_reservations`` says; ``nets_reservations``: its rooms to sell
  follow every booking;
- weekday patterns and the pricing model are the coalescer's.

The first pass of a connection that pushes ARI and has never had a full
sync queues one (:func:`plan_full_sync`): a new connection, or one enabled
for the first time, starts with the whole calendar, not only what changes
from then on. ``Connection.last_full_sync_at`` records when it was queued.

The outbox gap. On PostgreSQL ids are handed out at INSERT but rows become
visible at COMMIT, so event 41 can appear after event 42 was read. A plain
"id > cursor" reader would skip 41 forever. Here the reader takes every
visible event past the cursor that is not yet recorded in ``ProcessedEvent``
for the connection (a unique (connection, event) row written in the same
transaction as the jobs), and the cursor only moves up to the newest event
created more than ``CHANNELS_OUTBOX_SETTLE_SECONDS`` ago. An event can thus
only be missed if its transaction stays open longer than the settle window
after writing it (bookings commit in milliseconds; the default is a minute).
``ProcessedEvent`` rows at or below the cursor are pruned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bookings.models import ChangeEvent, RatePlan, Reservation, RoomType

from .coalesce import DirtyDays, ari_window, build_items, dates_between, period_of
from .interface import Capabilities
from .models import Connection, ProcessedEvent, SyncJob

RESTRICTION_FIELDS = {
    "stop_sell",
    "min_stay_arrival",
    "min_stay_through",
    "max_stay",
    "clear_max_stay",
    "closed_to_arrival",
    "closed_to_departure",
}
PRICE_FIELDS = {"price", "extra_adult_price", "extra_child_price"}
RESERVATION_KINDS = {
    ChangeEvent.Kind.RESERVATION_CREATED: SyncJob.Kind.RES_CREATE,
    ChangeEvent.Kind.RESERVATION_MODIFIED: SyncJob.Kind.RES_MODIFY,
    ChangeEvent.Kind.RESERVATION_CANCELLED: SyncJob.Kind.RES_CANCEL,
}
EVENTS_PER_PASS = 2000


@dataclass
class DispatchReport:
    """What one dispatcher pass did."""

    events: int = 0
    jobs: int = 0
    cursor: int = 0


def reservation_stream(reservation_id: int) -> str:
    return f"res:{reservation_id}"


class _Catalogue:
    """Room-type and rate-plan ids of one hotel by code, loaded once per pass."""

    def __init__(self, hotel_id: int) -> None:
        self.room_types = dict(RoomType.objects.filter(hotel_id=hotel_id).values_list("code", "id"))
        self.plans = dict(RatePlan.objects.filter(hotel_id=hotel_id).values_list("code", "id"))
        through = RatePlan.room_types.through
        self.pairs = set(
            through.objects.filter(rateplan__hotel_id=hotel_id).values_list(
                "rateplan_id", "roomtype_id"
            )
        )


def _mark_ari(dirty: DirtyDays, payload: dict, cat: _Catalogue) -> None:
    try:
        days = dates_between(
            date.fromisoformat(payload["start"]),
            date.fromisoformat(payload["end"]),
            payload.get("weekdays"),
        )
    except (KeyError, TypeError, ValueError):
        return
    rt_ids = [cat.room_types[c] for c in payload.get("room_types") or [] if c in cat.room_types]
    plan_ids = [cat.plans[c] for c in payload.get("rate_plans") or [] if c in cat.plans]
    inventory_fields = set(payload.get("inventory_fields") or {})
    rate_fields = set(payload.get("rate_fields") or {})
    if inventory_fields or not rate_fields:
        for rt in rt_ids:
            dirty.avail[rt] |= days
    pairs = [(p, rt) for p in plan_ids for rt in rt_ids if (p, rt) in cat.pairs]
    if rate_fields & RESTRICTION_FIELDS:
        for pair in pairs:
            dirty.restr[pair] |= days
    if rate_fields & PRICE_FIELDS:
        for pair in pairs:
            dirty.rates[pair] |= days


def _mark_stay(dirty: DirtyDays, snapshot: dict | None, cat: _Catalogue) -> None:
    if not snapshot:
        return
    # Snapshots written before "room_types" existed name the first stay's type only.
    codes = snapshot.get("room_types") or [snapshot.get("room_type", "")]
    try:
        start = date.fromisoformat(snapshot["check_in"])
        end = date.fromisoformat(snapshot["check_out"]) - timedelta(days=1)
    except (KeyError, TypeError, ValueError):
        return
    if end < start or not isinstance(codes, list):
        return
    for code in codes:
        rt = cat.room_types.get(code) if isinstance(code, str) else None
        if rt is not None:
            dirty.avail[rt] |= dates_between(start, end)


def pack(items: list[dict], size: int, weigh, group=None) -> list[list[dict]]:
    """Split ``items`` into documents of at most ``size`` wire messages (one item at least).

    With ``group`` (item -> key), items of different keys never share a
    document; documents come in key order, items in their order.
    """
    if group is not None:
        groups: dict = {}
        for item in items:
            groups.setdefault(group(item), []).append(item)
        return [doc for key in sorted(groups) for doc in pack(groups[key], size, weigh)]
    documents: list[list[dict]] = []
    current: list[dict] = []
    weight = 0
    for item in items:
        w = weigh(item)
        if current and weight + w > size:
            documents.append(current)
            current, weight = [], 0
        current.append(item)
        weight += w
    if current:
        documents.append(current)
    return documents


def document_size(capabilities: Capabilities) -> int:
    """Wire messages per document: the partner's limit, and never above the operator's cap."""
    return max(1, min(settings.CHANNELS_ARI_BATCH_SIZE, capabilities.max_items_per_request))


def ari_jobs(
    connection: Connection, dirty: DirtyDays, *, today: date | None = None
) -> list[SyncJob]:
    """Unsaved jobs carrying the coalesced ARI for ``dirty``, as the provider's capabilities allow.

    ``today`` is the hotel's (read from it when not given): the partner's
    window of days (``past_days``, ``horizon_days``) is counted from it.
    """
    if not dirty:
        return []
    provider = connection.get_provider()
    caps = provider.capabilities()
    first, last = ari_window(caps, today or connection.hotel.today())
    dirty = dirty.within(first, last)
    if not dirty:
        return []
    built = build_items(dirty, caps, origin=first)

    def period(item: dict) -> date:
        return period_of(date.fromisoformat(item["start"]), caps, first)

    jobs = []
    for kind, key in ((SyncJob.Kind.AVAILABILITY, "availability"), (SyncJob.Kind.RATES, "rates")):
        for document in pack(built[key], document_size(caps), provider.ari_wire_messages, period):
            jobs.append(
                SyncJob(
                    connection=connection,
                    stream=SyncJob.ARI_STREAM,
                    kind=kind,
                    payload={"items": document},
                    items=sum(provider.ari_wire_messages(i) for i in document),
                )
            )
    return jobs


def _supersede_unsent(connection: Connection, reservation_id: int) -> None:
    """A cancellation makes never-sent jobs of the same reservation pointless."""
    SyncJob.objects.filter(
        connection=connection,
        stream=reservation_stream(reservation_id),
        status=SyncJob.Status.PENDING,
        attempts=0,
    ).update(
        status=SyncJob.Status.SKIPPED,
        last_error="Superseded by the cancellation before it was sent.",
        finished_at=timezone.now(),
    )


def dispatch(connection: Connection) -> DispatchReport:
    """One pass of the dispatcher for ``connection`` (safe to run concurrently)."""
    report = DispatchReport()
    with transaction.atomic():
        conn = Connection.objects.select_for_update().get(pk=connection.pk)
        report.cursor = conn.event_cursor
        if not conn.enabled:
            return report
        if conn.push_ari and conn.last_full_sync_at is None:
            # The partner has never been sent the calendar: events only tell what changed,
            # and what was loaded without one (a seeded hotel's rates) would never reach it.
            report.jobs += plan_full_sync(conn)
        done = set(
            ProcessedEvent.objects.filter(
                connection=conn, event_id__gt=conn.event_cursor
            ).values_list("event_id", flat=True)
        )
        events = list(
            ChangeEvent.objects.filter(hotel_id=conn.hotel_id, id__gt=conn.event_cursor)
            .exclude(id__in=done)
            .select_related("reservation")
            .order_by("id")[:EVENTS_PER_PASS]
        )
        if events:
            report.events = len(events)
            report.jobs = _jobs_for(conn, events)
            ProcessedEvent.objects.bulk_create(
                [ProcessedEvent(connection=conn, event=e) for e in events], ignore_conflicts=True
            )
        report.cursor = _advance_cursor(conn, truncated=len(events) == EVENTS_PER_PASS, last=events)
    return report


def _advance_cursor(conn: Connection, *, truncated: bool, last: list[ChangeEvent]) -> int:
    settled = timezone.now() - timedelta(seconds=settings.CHANNELS_OUTBOX_SETTLE_SECONDS)
    candidates = ChangeEvent.objects.filter(
        hotel_id=conn.hotel_id, id__gt=conn.event_cursor, created_at__lt=settled
    )
    if truncated:
        # Events past the pass limit have not been read yet: stay below them.
        candidates = candidates.filter(id__lte=last[-1].id)
    newest = candidates.order_by("-id").values_list("id", flat=True).first()
    if newest:
        conn.event_cursor = newest
        conn.save(update_fields=["event_cursor"])
        ProcessedEvent.objects.filter(connection=conn, event_id__lte=newest).delete()
    return conn.event_cursor


def _jobs_for(conn: Connection, events: list[ChangeEvent]) -> int:
    cat = _Catalogue(conn.hotel_id)
    dirty = DirtyDays()
    caps = conn.get_provider().capabilities()
    # A booking changes a channel's rooms to sell, not a PMS's (it counts the booking itself).
    nets_reservations = caps.nets_reservations
    # An OTA takes no reservations from Pema (they come from it): it gets no jobs for them.
    exports = conn.export_reservations and caps.exports_reservations
    reservation_jobs: list[SyncJob] = []
    for event in events:
        if event.kind == ChangeEvent.Kind.ARI_CHANGED:
            if conn.push_ari:
                _mark_ari(dirty, event.payload, cat)
            continue
        job_kind = RESERVATION_KINDS.get(event.kind)
        if job_kind is None:
            continue
        if conn.push_ari and nets_reservations:
            _mark_stay(dirty, event.payload, cat)
            _mark_stay(dirty, event.payload.get("previous"), cat)
        reservation = event.reservation
        # A reservation the PMS itself sent us is not echoed back to it, nor an OTA's
        # back to that OTA (its rooms to sell, above, still follow the booking).
        if (
            not exports
            or reservation is None
            or reservation.source == Reservation.Source.PMS
            or (
                reservation.source == Reservation.Source.OTA
                and reservation.source_channel == conn.provider
            )
        ):
            continue
        job_kind = _pms_job_kind(conn, event, job_kind, reservation_jobs)
        if job_kind is None:
            continue
        if job_kind == SyncJob.Kind.RES_CANCEL:
            SyncJob.objects.bulk_create(reservation_jobs)
            reservation_jobs = []
            _supersede_unsent(conn, reservation.id)
        reservation_jobs.append(
            SyncJob(
                connection=conn,
                stream=reservation_stream(reservation.id),
                kind=job_kind,
                reservation=reservation,
                event=event,
                payload={"version": event.payload.get("version")},
                items=1,
            )
        )
    jobs = reservation_jobs + ari_jobs(conn, dirty)
    SyncJob.objects.bulk_create(jobs)
    return len(jobs)


PENDING = Reservation.Status.PENDING_PAYMENT
CONFIRMED = Reservation.Status.CONFIRMED


def _pms_job_kind(
    conn: Connection, event: ChangeEvent, job_kind: str, queued: list[SyncJob]
) -> str | None:
    """The job a reservation event makes for a partner that takes reservations, or None.

    A reservation awaiting payment is not the PMS's yet: it gets it when it is
    confirmed (the modification from ``pending_payment`` is its create). A hold
    that ends unpaid is cancelled only where it was ever sent.
    """
    status = event.payload.get("status")
    previous = (event.payload.get("previous") or {}).get("status")
    if status == PENDING:
        return None
    if (
        job_kind == SyncJob.Kind.RES_MODIFY
        and status == CONFIRMED
        and previous
        not in (
            None,
            CONFIRMED,
        )
    ):
        already = any(job.reservation_id == event.reservation_id for job in queued)
        if (
            not already
            and not SyncJob.objects.filter(
                connection=conn, reservation_id=event.reservation_id
            ).exists()
        ):
            return SyncJob.Kind.RES_CREATE
    if job_kind == SyncJob.Kind.RES_CANCEL and event.payload.get("previous_status") == PENDING:
        sent = any(job.reservation_id == event.reservation_id for job in queued)
        if (
            not sent
            and not SyncJob.objects.filter(
                connection=conn, reservation_id=event.reservation_id
            ).exists()
        ):
            return None
    return job_kind


def plan_full_sync(connection: Connection, *, days: int | None = None) -> int:
    """Queue the whole calendar from the hotel's today for ``days`` days; return jobs made."""
    days = days or settings.PEMA_CALENDAR_DAYS
    hotel = connection.hotel
    start = hotel.today()
    span = dates_between(start, start + timedelta(days=days - 1))
    cat = _Catalogue(hotel.id)
    dirty = DirtyDays()
    for rt in cat.room_types.values():
        dirty.avail[rt] = set(span)
    for pair in cat.pairs:
        dirty.restr[pair] = set(span)
        dirty.rates[pair] = set(span)
    with transaction.atomic():
        jobs = ari_jobs(connection, dirty)
        SyncJob.objects.bulk_create(jobs)
        Connection.objects.filter(pk=connection.pk).update(last_full_sync_at=timezone.now())
    return len(jobs)
