"""Expedia QuickConnect (EQC) XML as pure functions over values: no models, no HTTP.

Three APIs, each its own namespace (the partner notes, §2.3 to §2.5):

- **AR** (``/eqc/ar``): :func:`build_ar_documents` turns ``channels.interface``
  availability, restriction and rate items into ``AvailRateUpdateRQ``
  documents: one ``AvailRateUpdate`` per item, its ``DateRange`` carrying all
  seven weekday flags (the coalescer's weekday patterns go as they are), at
  most :data:`MAX_UPDATES` updates per document, dates clamped to yesterday ..
  two years ahead. :func:`parse_ar_response` reads ``Success`` (maybe with
  ``Warning``) or ``Error``.
- **BR** (``/eqc/br``): :func:`build_br_request` asks for pending and
  retrieved bookings; :func:`parse_br_response` reads ``Bookings/Booking``
  (Book, Modify, Cancel) and :func:`to_inbound` makes each an
  ``InboundReservation``.
- **BC** (``/eqc/bc``): :func:`build_bc_request` confirms transactions with
  Pema's confirmation number; :func:`parse_bc_response` reads the answer.

The simulator's side is here too (:func:`parse_ar_request`,
:func:`build_ar_response`, :func:`parse_br_request`, :func:`build_br_response`,
:func:`parse_bc_request`, :func:`build_bc_response`), so that the samples in
``samples/`` test both directions. What an update is, and the other wire
choices, are listed in this folder's README.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from lxml import etree

from channels.interface import (
    AriItem,
    AvailabilityItem,
    Capabilities,
    DateSpan,
    GuestDetails,
    InboundKind,
    InboundReservation,
    InboundRoomStay,
    Night,
    PricingModel,
    ReservationFlow,
    RestrictionItem,
)
from pema import money
from pema.xml import element, local_name, parse_xml, sub_element, to_bytes

# ------------------------------------------------------------------------ the interface

DEFAULT_BASE_URL = "https://services.expediapartnercentral.com"
AR_PATH, BR_PATH, BC_PATH = "eqc/ar", "eqc/br", "eqc/bc"
CONTENT_TYPE = "text/xml; charset=utf-8"

AR_NS = "http://www.expediaconnect.com/EQC/AR/2011/06"
AR_NS_2007 = "http://www.expediaconnect.com/EQC/AR/2007/02"
AR_RS_NS = AR_NS_2007
BR_NS = "http://www.expediaconnect.com/EQC/BR/2014/01"
BC_NS = "http://www.expediaconnect.com/EQC/BC/2007/09"
#: The sample response's namespace (the notes flag the 2007/08 vs 2007/09 mismatch).
BC_RS_NS = "http://www.expediaconnect.com/EQC/BC/2007/08"
BC_RS_NAMESPACES = (BC_RS_NS, BC_NS)

AR_RQ, AR_RS = "AvailRateUpdateRQ", "AvailRateUpdateRS"
BR_RQ, BR_RS = "BookingRetrievalRQ", "BookingRetrievalRS"
BC_RQ, BC_RS = "BookingConfirmRQ", "BookingConfirmRS"

#: "Each message can contain no more than 5000 updates."
MAX_UPDATES = 5000
#: ``from`` >= today - 1, ``to`` <= today + 2 years + 1 day.
PAST_DAYS = 1
HORIZON_DAYS = 731
MAX_INVENTORY = 4999
MIN_LOS, MAX_LOS = 1, 28
BOOKINGS_PER_RETRIEVAL = 125
#: Pulls every minute: same-day arrivals must be confirmed within 30 minutes.
PULL_INTERVAL_SECONDS = 60
#: The health page shows unconfirmed transactions older than this in red.
CONFIRM_ALERT_SECONDS = 600

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # 0 = Monday, as DateSpan
BOOK, MODIFY, CANCEL = "Book", "Modify", "Cancel"
BOOKING_TYPES = (BOOK, MODIFY, CANCEL)
KIND_OF_TYPE = {BOOK: InboundKind.NEW, MODIFY: InboundKind.MODIFY, CANCEL: InboundKind.CANCEL}
STATUSES = ("pending", "retrieved", "confirmed")

PER_DAY = "per_day"
PER_OCCUPANCY = "per_occupancy"
PRICING_MODELS = (PER_DAY, PER_OCCUPANCY)

#: Error codes Expedia itself calls temporary (3210: connection refused, retry).
TRANSIENT_ERRORS = frozenset({"3210"})


class ExpediaCodecError(ValueError):
    """What was asked cannot be said to, or read from, Expedia."""


def capabilities(
    *, pricing: str = PER_DAY, pull_interval_seconds: int = PULL_INTERVAL_SECONDS
) -> Capabilities:
    """What EQC takes, for the coalescer and the engine."""
    return Capabilities(
        nets_reservations=True,
        weekday_patterns=True,
        max_items_per_request=MAX_UPDATES,
        horizon_days=HORIZON_DAYS,
        past_days=PAST_DAYS,
        pricing_model=PricingModel.PER_OCCUPANCY
        if pricing == PER_OCCUPANCY
        else PricingModel.PER_ROOM,
        reservations=ReservationFlow.PULL,
        exports_reservations=False,
        answers_availability=False,
        pull_interval_seconds=pull_interval_seconds,
    )


def _money(minor: int, currency: str) -> str:
    return format(money.to_major(minor, currency), "f")


def _minor(text: str | None, currency: str) -> int:
    try:
        return money.to_minor(Decimal(text or "0"), currency)
    except (InvalidOperation, ValueError) as exc:
        raise ExpediaCodecError(f"Not an amount: {text!r}.") from exc


def _bool(value: str | None, name: str) -> bool | None:
    if value is None:
        return None
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    raise ExpediaCodecError(f"{name} is a boolean, not {value!r}.")


def _authentication(root: etree._Element, username: str, password: str) -> None:
    sub_element(root, "Authentication", {"username": username, "password": password})


# --------------------------------------------------------------------------- AR values


@dataclass(frozen=True)
class PriceForm:
    """One ``Rate``: a currency and the prices of one form (``PerDay`` or ``PerOccupancy``).

    ``prices``: ``(occupancy, minor units)``; occupancy 0 is ``PerDay``.
    """

    currency: str
    prices: tuple[tuple[int, int], ...]
    form: str = "PerDay"
    length_of_stay: int | None = None


@dataclass(frozen=True)
class RatePlanUpdate:
    """A ``RatePlan`` under a room type: closed, rates, restrictions (None: not sent)."""

    rate_id: str
    closed: bool | None = None
    rates: tuple[PriceForm, ...] = ()
    min_los: int | None = None
    max_los: int | None = None
    closed_to_arrival: bool | None = None
    closed_to_departure: bool | None = None

    @property
    def has_restrictions(self) -> bool:
        return any(
            v is not None
            for v in (self.min_los, self.max_los, self.closed_to_arrival, self.closed_to_departure)
        )


@dataclass(frozen=True)
class AvailRateUpdate:
    """One ``AvailRateUpdate``: a date range (weekdays: those days only) and one room type."""

    span: DateSpan
    room_id: str
    closed: bool | None = None
    total_inventory: int | None = None
    flexible_allocation: int | None = None
    rate_plans: tuple[RatePlanUpdate, ...] = ()

    @property
    def updates(self) -> int:
        """What counts against :data:`MAX_UPDATES`: each value set of one product over
        the range (room inventory or closed, a rate plan's rates, its restrictions or
        closed)."""
        room = int(
            self.closed is not None
            or self.total_inventory is not None
            or self.flexible_allocation is not None
        )
        plans = sum(
            int(bool(p.rates)) + int(p.has_restrictions or p.closed is not None)
            for p in self.rate_plans
        )
        return max(room + plans, 1)


@dataclass(frozen=True)
class ArDocument:
    """One ``AvailRateUpdateRQ`` to send: its body, updates and the notes for the sync log."""

    body: bytes
    updates: int
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class ArRequest:
    """An ``AvailRateUpdateRQ`` as read back (the simulator's side)."""

    namespace: str
    username: str | None
    password: str | None
    hotel_id: str | None
    updates: tuple[AvailRateUpdate, ...]


@dataclass(frozen=True)
class Issue:
    """An ``Error`` or ``Warning`` of an EQC answer."""

    code: str
    text: str
    booking_id: str = ""
    booking_type: str = ""

    def __str__(self) -> str:
        return f"{self.code}: {self.text}"


@dataclass(frozen=True)
class ArResponse:
    """Expedia's answer to an AR: ``Success`` with warnings, or errors (nothing applied)."""

    success: bool
    warnings: tuple[Issue, ...] = ()
    errors: tuple[Issue, ...] = ()

    @property
    def transient(self) -> bool:
        return bool(self.errors) and all(e.code in TRANSIENT_ERRORS for e in self.errors)

    def summary(self) -> str:
        issues = self.errors or self.warnings
        return "; ".join(f"Expedia {'error' if self.errors else 'warning'} {i}" for i in issues)


# ------------------------------------------------------------------ items -> updates


def _clamp(span: DateSpan, first: date, last: date) -> DateSpan | None:
    start, end = max(span.start, first), min(span.end, last)
    return DateSpan(start, end, span.weekdays) if start <= end else None


def item_update(item: AriItem, *, pricing: str = PER_DAY, occupancy: int = 2) -> AvailRateUpdate:
    """The ``AvailRateUpdate`` of one item (its span already within Expedia's dates).

    Items are states, so every flag they carry is said: a room's rooms to sell
    (net of every reservation, 0 when overbooked) with its ``closed``; a
    product's restrictions and ``closed``; a product's price in the
    connection's one price form.
    """
    if isinstance(item, AvailabilityItem):
        return AvailRateUpdate(
            span=item.span,
            room_id=item.partner_room_id,
            closed=item.stop_sell,
            total_inventory=min(max(item.rooms_to_sell, 0), MAX_INVENTORY),
        )
    if isinstance(item, RestrictionItem):
        min_los = min(max(item.min_stay_arrival or MIN_LOS, MIN_LOS), MAX_LOS)
        max_los = min(max(item.max_stay or MAX_LOS, min_los), MAX_LOS)
        plan = RatePlanUpdate(
            rate_id=item.partner_rate_id,
            closed=item.stop_sell,
            min_los=min_los,
            max_los=max_los,
            closed_to_arrival=item.closed_to_arrival,
            closed_to_departure=item.closed_to_departure,
        )
        return AvailRateUpdate(span=item.span, room_id=item.partner_room_id, rate_plans=(plan,))
    if pricing == PER_OCCUPANCY:
        extra = item.extra_adult or 0
        prices = tuple(
            (n, item.price + max(n - occupancy, 0) * extra) for n in range(1, occupancy + 2)
        )
        form = PriceForm(item.currency, prices if extra else prices[:occupancy], "PerOccupancy")
    else:
        form = PriceForm(item.currency, ((0, item.price),))
    plan = RatePlanUpdate(rate_id=item.partner_rate_id, rates=(form,))
    return AvailRateUpdate(span=item.span, room_id=item.partner_room_id, rate_plans=(plan,))


def item_notes(item: AriItem) -> tuple[str, ...]:
    """What of ``item`` EQC cannot take, for the sync log."""
    if isinstance(item, RestrictionItem):
        notes = []
        if item.min_stay_through and item.min_stay_through > max(item.min_stay_arrival or 1, 1):
            notes.append(
                f"{item.room_type}/{item.rate_plan} {item.span.start}..{item.span.end}: "
                f"minimum stay through of {item.min_stay_through} not sent (EQC has minLOS "
                "on arrival only)."
            )
        if (item.min_stay_arrival or 0) > MAX_LOS or (item.max_stay or 0) > MAX_LOS:
            notes.append(
                f"{item.room_type}/{item.rate_plan} {item.span.start}..{item.span.end}: "
                f"stays above {MAX_LOS} nights sent as {MAX_LOS} (EQC's limit)."
            )
        return tuple(notes)
    return ()


def build_ar_documents(
    items: Sequence[AriItem],
    *,
    username: str,
    password: str,
    hotel_id: str,
    today: date,
    pricing: str = PER_DAY,
    occupancy: int = 2,
    max_updates: int = MAX_UPDATES,
    message_id: str = "",
) -> list[ArDocument]:
    """``AvailRateUpdateRQ`` documents for ``items``, each at most ``max_updates`` updates.

    Days before yesterday or after two years ahead (Expedia's window, seen
    from the hotel's ``today``) are left out; an item wholly outside is named
    in the notes. ``message_id`` (the job's, the same on every retry) goes in a
    comment, as EQC has no echo token: a retry is recognisable in the logs.
    """
    first, last = today - timedelta(days=PAST_DAYS), today + timedelta(days=HORIZON_DAYS)
    updates: list[AvailRateUpdate] = []
    notes: list[str] = []
    for item in items:
        span = _clamp(item.span, first, last)
        if span is None:
            notes.append(f"{item.span.start}..{item.span.end} lies outside Expedia's dates.")
            continue
        notes += item_notes(item)
        updates.append(item_update(_with_span(item, span), pricing=pricing, occupancy=occupancy))
    documents, batch, count = [], [], 0
    for update in updates:
        if batch and count + update.updates > max_updates:
            documents.append((batch, count))
            batch, count = [], 0
        batch.append(update)
        count += update.updates
    if batch:
        documents.append((batch, count))
    note = tuple(dict.fromkeys(notes))
    return [
        ArDocument(
            body=build_ar_request(
                batch,
                username=username,
                password=password,
                hotel_id=hotel_id,
                comment=f"Pema message {message_id} part {n + 1}" if message_id else "",
            ),
            updates=count,
            warnings=note if n == 0 else (),
        )
        for n, (batch, count) in enumerate(documents)
    ]


def _with_span(item: AriItem, span: DateSpan) -> AriItem:
    from dataclasses import replace

    return item if span == item.span else replace(item, span=span)


def build_ar_request(
    updates: Sequence[AvailRateUpdate],
    *,
    username: str,
    password: str,
    hotel_id: str,
    namespace: str = AR_NS,
    comment: str = "",
) -> bytes:
    """An ``AvailRateUpdateRQ`` of ``updates`` (2011/06: ``AvailRateUpdate`` repeats)."""
    root = element(AR_RQ, namespace=namespace)
    if comment:
        root.append(etree.Comment(f" {comment.replace('--', '- -')} "))
    _authentication(root, username, password)
    sub_element(root, "Hotel", {"id": hotel_id})
    for update in updates:
        block = sub_element(root, "AvailRateUpdate")
        days = set(range(7)) if update.span.weekdays is None else set(update.span.weekdays)
        sub_element(
            block,
            "DateRange",
            {
                "from": update.span.start,
                "to": update.span.end,
                **{name: n in days for n, name in _DOW_ORDER},
            },
        )
        room = sub_element(block, "RoomType", {"id": update.room_id, "closed": update.closed})
        if update.total_inventory is not None or update.flexible_allocation is not None:
            sub_element(
                room,
                "Inventory",
                {
                    "totalInventoryAvailable": update.total_inventory,
                    "flexibleAllocation": update.flexible_allocation,
                },
            )
        for plan in update.rate_plans:
            rate_plan = sub_element(room, "RatePlan", {"id": plan.rate_id, "closed": plan.closed})
            for form in plan.rates:
                rate = sub_element(
                    rate_plan,
                    "Rate",
                    {"currency": form.currency, "lengthOfStay": form.length_of_stay},
                )
                for occupancy, price in form.prices:
                    sub_element(
                        rate,
                        form.form,
                        {
                            "rate": _money(price, form.currency),
                            "occupancy": occupancy if form.form == "PerOccupancy" else None,
                        },
                    )
            if plan.has_restrictions:
                sub_element(
                    rate_plan,
                    "Restrictions",
                    {
                        "minLOS": plan.min_los,
                        "maxLOS": plan.max_los,
                        "closedToArrival": plan.closed_to_arrival,
                        "closedToDeparture": plan.closed_to_departure,
                    },
                )
    return to_bytes(root)


# Expedia's own samples list sun first; the order of attributes means nothing in XML.
_DOW_ORDER = ((6, "sun"), (0, "mon"), (1, "tue"), (2, "wed"), (3, "thu"), (4, "fri"), (5, "sat"))


def _children(el: etree._Element, name: str) -> list[etree._Element]:
    return [c for c in el if isinstance(c.tag, str) and local_name(c) == name]


def _child(el: etree._Element, name: str) -> etree._Element | None:
    found = _children(el, name)
    return found[0] if found else None


def _root(body: bytes, name: str, namespaces: Sequence[str]) -> etree._Element:
    root = parse_xml(body)
    if local_name(root) != name:
        raise ExpediaCodecError(f"Expected {name}, got {local_name(root)}.")
    namespace = etree.QName(root).namespace
    if namespace not in namespaces:
        raise ExpediaCodecError(f"{name} in namespace {namespace!r}, not {namespaces[0]!r}.")
    return root


def _account(root: etree._Element) -> dict[str, str | None]:
    """``Authentication@username @password`` and ``Hotel@id`` of a request (None: absent)."""
    auth, hotel = _child(root, "Authentication"), _child(root, "Hotel")
    return {
        "username": None if auth is None else auth.get("username"),
        "password": None if auth is None else auth.get("password"),
        "hotel_id": None if hotel is None else hotel.get("id"),
    }


def _int(text: str | None, name: str) -> int | None:
    if text is None:
        return None
    if not text.strip().lstrip("-").isdigit():
        raise ExpediaCodecError(f"{name} is a whole number, not {text!r}.")
    return int(text)


def parse_ar_request(body: bytes) -> ArRequest:
    """An ``AvailRateUpdateRQ`` read back (either namespace); ``ExpediaCodecError`` if not one."""
    root = _root(body, AR_RQ, (AR_NS, AR_NS_2007))
    blocks = _children(root, "AvailRateUpdate")
    if not blocks and _child(root, "DateRange") is not None:
        blocks = [root]  # the legacy form, without AvailRateUpdate
    updates = []
    for block in blocks:
        ranges = _children(block, "DateRange")
        rooms = _children(block, "RoomType")
        if not ranges or len(rooms) != 1:
            raise ExpediaCodecError("An AvailRateUpdate has a DateRange and one RoomType.")
        for date_range in ranges:
            updates.append(_read_update(date_range, rooms[0]))
    return ArRequest(
        namespace=etree.QName(root).namespace,
        **_account(root),
        updates=tuple(updates),
    )


def _read_update(date_range: etree._Element, room: etree._Element) -> AvailRateUpdate:
    try:
        start = date.fromisoformat(date_range.get("from") or "")
        end = date.fromisoformat(date_range.get("to") or "")
    except ValueError as exc:
        raise ExpediaCodecError(f"DateRange from/to are dates: {exc}.") from exc
    flags = {n: _bool(date_range.get(name), name) for n, name in enumerate(WEEKDAYS)}
    given = {n: v for n, v in flags.items() if v is not None}
    weekdays = None if not given else tuple(n for n, v in sorted(given.items()) if v)
    if weekdays is not None and len(weekdays) == 7:
        weekdays = None
    if end < start:
        raise ExpediaCodecError(f"DateRange from {start} is after to {end}.")
    inventory = _child(room, "Inventory")
    plans = []
    for plan in _children(room, "RatePlan"):
        rates = []
        for rate in _children(plan, "Rate"):
            currency = rate.get("currency") or ""
            forms = [c for c in rate if isinstance(c.tag, str)]
            kinds = {local_name(c) for c in forms}
            prices = tuple(
                (
                    _int(c.get("occupancy"), "occupancy") or 0,
                    _minor(c.get("rate"), currency or "USD"),
                )
                for c in forms
            )
            rates.append(
                PriceForm(
                    currency=currency,
                    prices=prices,
                    # Mixed forms read as "PerDay+PerOccupancy", for the simulator to refuse.
                    form="+".join(sorted(kinds)) or "PerDay",
                    length_of_stay=_int(rate.get("lengthOfStay"), "lengthOfStay"),
                )
            )
        restrictions = _child(plan, "Restrictions")
        get = (lambda name: None) if restrictions is None else restrictions.get
        plans.append(
            RatePlanUpdate(
                rate_id=plan.get("id") or "",
                closed=_bool(plan.get("closed"), "closed"),
                rates=tuple(rates),
                min_los=_int(get("minLOS"), "minLOS"),
                max_los=_int(get("maxLOS"), "maxLOS"),
                closed_to_arrival=_bool(get("closedToArrival"), "closedToArrival"),
                closed_to_departure=_bool(get("closedToDeparture"), "closedToDeparture"),
            )
        )
    return AvailRateUpdate(
        span=DateSpan(start, end, weekdays),
        room_id=room.get("id") or "",
        closed=_bool(room.get("closed"), "closed"),
        total_inventory=None
        if inventory is None
        else _int(inventory.get("totalInventoryAvailable"), "totalInventoryAvailable"),
        flexible_allocation=None
        if inventory is None
        else _int(inventory.get("flexibleAllocation"), "flexibleAllocation"),
        rate_plans=tuple(plans),
    )


def _issues(parent: etree._Element | None, name: str) -> tuple[Issue, ...]:
    if parent is None:
        return ()
    return tuple(
        Issue(
            code=el.get("code") or "",
            text=(el.text or "").strip(),
            booking_id=el.get("bookingID") or "",
            booking_type=el.get("bookingType") or "",
        )
        for el in _children(parent, name)
    )


def parse_ar_response(body: bytes) -> ArResponse:
    """An ``AvailRateUpdateRS``: ``Success`` (with ``Warning``) or ``Error`` elements."""
    root = _root(body, AR_RS, (AR_RS_NS, AR_NS))
    success = _child(root, "Success")
    errors = _issues(root, "Error")
    if success is None and not errors:
        raise ExpediaCodecError("An AvailRateUpdateRS without Success or Error.")
    return ArResponse(
        success=success is not None and not errors,
        warnings=_issues(success, "Warning"),
        errors=errors,
    )


def build_ar_response(*, errors: Sequence[Issue] = (), warnings: Sequence[Issue] = ()) -> bytes:
    """Expedia's AR answer: ``Error`` elements, or ``Success`` with its ``Warning`` elements."""
    root = element(AR_RS, namespace=AR_RS_NS)
    _add_issues(root, errors, warnings)
    return to_bytes(root)


def _add_issues(root: etree._Element, errors: Sequence[Issue], warnings: Sequence[Issue]) -> None:
    for issue in errors:
        sub_element(root, "Error", {"code": issue.code}, text=issue.text[:1024])
    if not errors:
        success = sub_element(root, "Success")
        for issue in warnings:
            sub_element(
                success,
                "Warning",
                {
                    "code": issue.code,
                    "bookingID": issue.booking_id or None,
                    "bookingType": issue.booking_type or None,
                },
                text=issue.text[:1024],
            )


# --------------------------------------------------------------------------- BR


@dataclass(frozen=True)
class BrRequest:
    """A ``BookingRetrievalRQ`` as read back (the simulator's side)."""

    namespace: str
    username: str | None
    password: str | None
    hotel_id: str | None
    statuses: tuple[str, ...] = ()
    booking_id: str | None = None
    days_in_past: int | None = None
    kinds: tuple[str, ...] = ()


def build_br_request(
    *,
    username: str,
    password: str,
    hotel_id: str,
    statuses: Sequence[str] = ("pending", "retrieved"),
    booking_id: str | None = None,
) -> bytes:
    """Pending and retrieved bookings of ``hotel_id`` (or the one ``booking_id``)."""
    root = element(BR_RQ, namespace=BR_NS)
    _authentication(root, username, password)
    sub_element(root, "Hotel", {"id": hotel_id})
    params = sub_element(root, "ParamSet")
    if booking_id:
        sub_element(params, "Booking", {"id": booking_id})
    else:
        for status in statuses:
            sub_element(params, "Status", {"value": status})
    return to_bytes(root)


def parse_br_request(body: bytes) -> BrRequest:
    root = _root(body, BR_RQ, (BR_NS,))
    params = _child(root, "ParamSet")
    kinds: list[str] = []
    statuses: list[str] = []
    booking_id = days = None
    for child in [] if params is None else [c for c in params if isinstance(c.tag, str)]:
        name = local_name(child)
        kinds.append(name)
        if name == "Status":
            statuses.append(child.get("value") or "")
        elif name == "Booking":
            booking_id = child.get("id") or ""
        elif name == "NbDaysInPast":
            days = _int((child.text or "").strip(), "NbDaysInPast")
    return BrRequest(
        namespace=etree.QName(root).namespace,
        **_account(root),
        statuses=tuple(statuses),
        booking_id=booking_id,
        days_in_past=days,
        kinds=tuple(dict.fromkeys(kinds)),
    )


@dataclass(frozen=True)
class ExpediaBooking:
    """One ``Booking`` transaction of a ``BookingRetrievalRS``.

    ``nights`` are ``PerDayRate`` prices (``baseRate``) in minor units of
    ``currency``; a cancellation carries zeroed ids and amounts.
    """

    booking_id: str
    booking_type: str
    created_at: datetime
    hotel_id: str
    room_id: str
    rate_id: str
    arrival: date
    departure: date
    adults: int
    children: int = 0
    currency: str = ""
    nights: tuple[Night, ...] = ()
    total: int = 0
    source: str = ""
    status: str = ""
    confirm_number: str = ""
    guest: GuestDetails = field(default_factory=GuestDetails)
    special_requests: tuple[str, ...] = ()
    raw: bytes = field(default=b"", compare=False)


def build_br_response(bookings: Sequence[ExpediaBooking], *, errors: Sequence[Issue] = ()) -> bytes:
    """A ``BookingRetrievalRS``: ``Bookings`` or ``Error`` (never both)."""
    root = element(BR_RS, namespace=BR_NS)
    if errors:
        for issue in errors:
            sub_element(root, "Error", {"code": issue.code}, text=issue.text[:1024])
        return to_bytes(root)
    wrapper = sub_element(root, "Bookings")
    for b in bookings:
        booking = sub_element(
            wrapper,
            "Booking",
            {
                "id": b.booking_id,
                "type": b.booking_type,
                "createDateTime": b.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "source": b.source or "Expedia",
                "status": b.status or None,
                "confirmNumber": b.confirm_number or None,
            },
        )
        sub_element(booking, "Hotel", {"id": b.hotel_id})
        stay = sub_element(booking, "RoomStay", {"roomTypeID": b.room_id, "ratePlanID": b.rate_id})
        sub_element(stay, "StayDate", {"arrival": b.arrival, "departure": b.departure})
        sub_element(stay, "GuestCount", {"adult": b.adults, "child": b.children or None})
        rates = sub_element(stay, "PerDayRates", {"currency": b.currency})
        for night in b.nights:
            sub_element(
                rates,
                "PerDayRate",
                {"stayDate": night.date, "baseRate": _money(night.price, b.currency)},
            )
        sub_element(
            stay,
            "Total",
            {
                "amountAfterTaxes": _money(b.total, b.currency),
                "amountOfTaxes": _money(0, b.currency),
                "currency": b.currency,
            },
        )
        guest = sub_element(booking, "PrimaryGuest")
        sub_element(guest, "Name", {"givenName": b.guest.given_name, "surname": b.guest.surname})
        if b.guest.phone:
            sub_element(guest, "Phone", {"number": b.guest.phone})
        if b.guest.email:
            sub_element(guest, "Email", text=b.guest.email)
        for text in b.special_requests:
            sub_element(booking, "SpecialRequest", {"code": "4"}, text=text)
    return to_bytes(root)


@dataclass(frozen=True)
class BookingFailure:
    """A ``Booking`` element that could not be read, kept raw."""

    raw: bytes
    reason: str
    booking_id: str = ""
    booking_type: str = ""


@dataclass(frozen=True)
class BrResponse:
    bookings: tuple[ExpediaBooking, ...] = ()
    failures: tuple[BookingFailure, ...] = ()
    errors: tuple[Issue, ...] = ()


def parse_br_response(body: bytes) -> BrResponse:
    """A ``BookingRetrievalRS``; a ``Booking`` that cannot be read is a failure, not an error."""
    root = _root(body, BR_RS, (BR_NS,))
    errors = _issues(root, "Error")
    wrapper = _child(root, "Bookings")
    if errors:
        return BrResponse(errors=errors)
    if wrapper is None:
        raise ExpediaCodecError("A BookingRetrievalRS without Bookings or Error.")
    found, failures = [], []
    for el in _children(wrapper, "Booking"):
        try:
            found.append(_read_booking(el))
        except (ExpediaCodecError, ValueError) as exc:
            failures.append(
                BookingFailure(
                    raw=etree.tostring(el),
                    reason=str(exc),
                    booking_id=el.get("id") or "",
                    booking_type=el.get("type") or "",
                )
            )
    return BrResponse(bookings=tuple(found), failures=tuple(failures))


def _read_booking(el: etree._Element) -> ExpediaBooking:
    booking_id, booking_type = el.get("id") or "", el.get("type") or ""
    if not booking_id.isdigit() or len(booking_id) > 14:
        raise ExpediaCodecError(f"Booking id {booking_id!r} is not up to 14 digits.")
    if booking_type not in BOOKING_TYPES:
        raise ExpediaCodecError(f"Booking type {booking_type!r} is not Book, Modify or Cancel.")
    created = datetime.fromisoformat((el.get("createDateTime") or "").replace("Z", "+00:00"))
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    hotel = _child(el, "Hotel")
    stay = _child(el, "RoomStay")
    if stay is None:
        raise ExpediaCodecError("A Booking without RoomStay.")
    dates = _child(stay, "StayDate")
    count = _child(stay, "GuestCount")
    if dates is None:
        raise ExpediaCodecError("A RoomStay without StayDate.")
    rates = _child(stay, "PerDayRates")
    total = _child(stay, "Total")
    currency = (
        (rates.get("currency") if rates is not None else "")
        or (total.get("currency") if total is not None else "")
        or ""
    )
    money_currency = currency or "USD"
    nights = tuple(
        Night(
            date.fromisoformat(r.get("stayDate") or ""), _minor(r.get("baseRate"), money_currency)
        )
        for r in ([] if rates is None else _children(rates, "PerDayRate"))
    )
    guest_el = _child(el, "PrimaryGuest")
    name = None if guest_el is None else _child(guest_el, "Name")
    phone = None if guest_el is None else _child(guest_el, "Phone")
    email = None if guest_el is None else _child(guest_el, "Email")
    phone_text = ""
    if phone is not None:
        phone_text = " ".join(
            v
            for v in (phone.get("countryCode"), phone.get("cityAreaCode"), phone.get("number"))
            if v
        )
    return ExpediaBooking(
        booking_id=booking_id,
        booking_type=booking_type,
        created_at=created.astimezone(UTC),
        hotel_id="" if hotel is None else hotel.get("id") or "",
        room_id=stay.get("roomTypeID") or "",
        rate_id=stay.get("ratePlanID") or "",
        arrival=date.fromisoformat(dates.get("arrival") or ""),
        departure=date.fromisoformat(dates.get("departure") or ""),
        adults=_int(count.get("adult"), "adult") or 0 if count is not None else 0,
        children=_int(count.get("child"), "child") or 0 if count is not None else 0,
        currency=currency,
        nights=nights,
        total=_minor(total.get("amountAfterTaxes"), money_currency) if total is not None else 0,
        source=el.get("source") or "",
        status=el.get("status") or "",
        confirm_number=el.get("confirmNumber") or "",
        guest=GuestDetails(
            given_name="" if name is None else name.get("givenName") or "",
            surname="" if name is None else name.get("surname") or "",
            email="" if email is None else (email.text or "").strip(),
            phone=phone_text,
        ),
        special_requests=tuple(
            (r.text or "").strip()
            for r in _children(el, "SpecialRequest")
            if (r.text or "").strip()
        ),
        raw=etree.tostring(el),
    )


def ack_token(booking: ExpediaBooking) -> str:
    """What BC needs later to confirm this transaction (its id and type)."""
    return json.dumps({"id": booking.booking_id, "type": booking.booking_type})


def read_ack_token(token: str) -> tuple[str, str]:
    data = json.loads(token)
    return str(data["id"]), str(data["type"])


def to_inbound(booking: ExpediaBooking) -> InboundReservation:
    """One transaction as the engine applies it, matched by booking id.

    The revision is the transaction (type and creation time), so a
    transaction retrieved again is the same message; a cancellation carries
    no room (its ids and amounts are zeroed).
    """
    kind = KIND_OF_TYPE[booking.booking_type]
    rooms = ()
    if kind != InboundKind.CANCEL:
        rooms = (
            InboundRoomStay(
                partner_room_id=booking.room_id,
                partner_rate_id=booking.rate_id,
                check_in=booking.arrival,
                check_out=booking.departure,
                adults=booking.adults,
                children=booking.children,
                nights=booking.nights,
            ),
        )
    return InboundReservation(
        partner_reservation_id=booking.booking_id,
        revision=f"{booking.booking_type}@{booking.created_at.strftime('%Y-%m-%dT%H:%M:%SZ')}",
        kind=kind,
        currency=booking.currency,
        total=0 if kind == InboundKind.CANCEL else booking.total,
        guest=booking.guest,
        rooms=rooms,
        special_requests="\n".join(booking.special_requests),
        booked_at=booking.created_at if kind == InboundKind.NEW else None,
        revised_at=booking.created_at,
        ack_token=ack_token(booking),
        raw=booking.raw,
    )


# --------------------------------------------------------------------------- BC


@dataclass(frozen=True)
class Confirmation:
    """One ``BookingConfirmNumber``."""

    booking_id: str
    booking_type: str
    confirm_number: str
    confirm_time: datetime


@dataclass(frozen=True)
class BcRequest:
    namespace: str
    username: str | None
    password: str | None
    hotel_id: str | None
    confirmations: tuple[Confirmation, ...]


def build_bc_request(
    confirmations: Sequence[Confirmation], *, username: str, password: str, hotel_id: str
) -> bytes:
    root = element(BC_RQ, namespace=BC_NS)
    _authentication(root, username, password)
    sub_element(root, "Hotel", {"id": hotel_id})
    numbers = sub_element(root, "BookingConfirmNumbers")
    for c in confirmations:
        sub_element(
            numbers,
            "BookingConfirmNumber",
            {
                "bookingID": c.booking_id,
                "bookingType": c.booking_type,
                "confirmNumber": c.confirm_number,
                "confirmTime": c.confirm_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
        )
    return to_bytes(root)


def parse_bc_request(body: bytes) -> BcRequest:
    root = _root(body, BC_RQ, (BC_NS,))
    numbers = _child(root, "BookingConfirmNumbers")
    confirmations = []
    for el in [] if numbers is None else _children(numbers, "BookingConfirmNumber"):
        text = el.get("confirmTime") or ""
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as exc:
            raise ExpediaCodecError(f"confirmTime {text!r} is not an ISO time.") from exc
        confirmations.append(
            Confirmation(
                booking_id=el.get("bookingID") or "",
                booking_type=el.get("bookingType") or "",
                confirm_number=el.get("confirmNumber") or "",
                confirm_time=moment,
            )
        )
    return BcRequest(
        namespace=etree.QName(root).namespace,
        **_account(root),
        confirmations=tuple(confirmations),
    )


@dataclass(frozen=True)
class BcResponse:
    success: bool
    warnings: tuple[Issue, ...] = ()
    errors: tuple[Issue, ...] = ()


def build_bc_response(*, errors: Sequence[Issue] = (), warnings: Sequence[Issue] = ()) -> bytes:
    root = element(BC_RS, namespace=BC_RS_NS)
    _add_issues(root, errors, warnings)
    return to_bytes(root)


def parse_bc_response(body: bytes) -> BcResponse:
    root = _root(body, BC_RS, BC_RS_NAMESPACES)
    success = _child(root, "Success")
    errors = _issues(root, "Error")
    if success is None and not errors:
        raise ExpediaCodecError("A BookingConfirmRS without Success or Error.")
    return BcResponse(
        success=success is not None and not errors,
        warnings=_issues(success, "Warning"),
        errors=errors,
    )
