"""Booking.com's OTA XML interface as pure functions over values: no models, no HTTP.

This module holds the interface's constants and the ARI half;
:mod:`partners.booking_com.reservations` holds reservations and their acks.

Pema's side (what the provider calls):

- :func:`build_ari_documents` turns ``channels.interface`` availability,
  restriction and rate items into ``OTA_HotelAvailNotifRQ`` and
  ``OTA_HotelRateAmountNotifRQ`` documents that follow Booking's rules: one
  hotel per request, one calendar month per request, dates from yesterday
  (Booking's clock, CET) to the horizon, at most ``max_messages`` wire
  messages per document. The pieces are public too: :func:`clamp_and_split`,
  :func:`pack`, :func:`avail_messages`, :func:`rate_message`,
  :func:`build_avail_notif`, :func:`build_rate_amount_notif`.
- :func:`parse_ari_response` reads Booking's answer: ``Success`` (maybe with
  ``Warnings``) or ``Errors`` with Booking's codes, and the trailing
  ``<!-- RUID: ... -->`` comment; :attr:`AriResponse.transient` says whether a
  retry can help.

The simulator's side (the reverse): :func:`parse_avail_notif`,
:func:`parse_rate_amount_notif`, :func:`build_ari_response`,
:func:`build_unauthorized`, :func:`issue` and :func:`append_ruid`. Its checks
live in :mod:`partners.booking_com.rules`.

Wire choices and assumptions are listed in this folder's README.
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from lxml import etree

from channels.interface import (
    AriItem,
    AvailabilityItem,
    Capabilities,
    DateSpan,
    PricingModel,
    RateItem,
    ReservationFlow,
    RestrictionItem,
)
from pema import money
from pema.ota import hotel_reservation as hres
from pema.ota.ari import (
    REMOVE_MAX_LOS,
    RESTRICTION_ARRIVAL,
    RESTRICTION_DEPARTURE,
    SET_MAX_LOS,
    SET_MIN_LOS,
    STATUS_CLOSE,
    STATUS_OPEN,
)
from pema.ota.common import (
    EWT_APPLICATION_ERROR,
    EWT_AUTHENTICATION,
    EWT_BUSINESS_RULE,
    EWT_PROCESSING_EXCEPTION,
    EWT_REQUIRED_FIELD_MISSING,
    OTA_NS,
    DaysOfWeek,
    OTAParseError,
    find,
    findall,
    minor_to_decimal,
    now_utc,
    parse_root,
    read_date,
    read_datetime,
    read_int,
)
from pema.ota.issues import (
    STATUS_NOT_PROCESSED,
    OTAIssue,
    add_issues,
    document_comments,
    read_issues,
)
from pema.xml import attr_value, local_name, qname, sub_element, to_bytes

# ------------------------------------------------------------------------ the interface

DEFAULT_BASE_URL = "https://supply-xml.booking.com"
#: Reservations are pulled and acknowledged on the secure host only.
DEFAULT_SECURE_BASE_URL = "https://secure-supply-xml.booking.com"
OTA_PATH = "/hotels/ota/"

AVAIL_NOTIF = "OTA_HotelAvailNotif"
RATE_AMOUNT_NOTIF = "OTA_HotelRateAmountNotif"
RES_NOTIF = "OTA_HotelResNotif"
RES_MODIFY_NOTIF = "OTA_HotelResModifyNotif"
ARI_ENDPOINTS = (AVAIL_NOTIF, RATE_AMOUNT_NOTIF)
RESERVATION_ENDPOINTS = (RES_NOTIF, RES_MODIFY_NOTIF)

AVAIL_NOTIF_RQ, AVAIL_NOTIF_RS = "OTA_HotelAvailNotifRQ", "OTA_HotelAvailNotifRS"
RATE_AMOUNT_NOTIF_RQ, RATE_AMOUNT_NOTIF_RS = (
    "OTA_HotelRateAmountNotifRQ",
    "OTA_HotelRateAmountNotifRS",
)
#: Endpoint -> (what is POSTed or returned as the request, the response root).
ROOTS = {
    AVAIL_NOTIF: (AVAIL_NOTIF_RQ, AVAIL_NOTIF_RS),
    RATE_AMOUNT_NOTIF: (RATE_AMOUNT_NOTIF_RQ, RATE_AMOUNT_NOTIF_RS),
    RES_NOTIF: (hres.RES_NOTIF_RQ, hres.RES_NOTIF_RS),
    RES_MODIFY_NOTIF: (hres.RES_MODIFY_NOTIF_RQ, hres.RES_MODIFY_NOTIF_RS),
}
ENDPOINT_OF_ROOT = {name: endpoint for endpoint, names in ROOTS.items() for name in names}

ACCEPT_VERSION = "1.1"
ACCEPT_VERSIONS = ("1.0", "1.1")
CONTENT_TYPE = "application/xml"
TARGET_PRODUCTION = "Production"
TARGET_TEST = "Test"
TARGETS = (TARGET_PRODUCTION, TARGET_TEST)
# The Version attributes of Booking's own examples.
AVAIL_NOTIF_VERSION = "1.005"
RATE_AMOUNT_NOTIF_VERSION = "3.000"
RESERVATION_VERSION = "2.001"

#: Booking asks for one GET per 20 s per endpoint, and 5 s between an ack and the next GET.
PULL_INTERVAL_SECONDS = 20
ACK_WAIT_SECONDS = 5
DEFAULT_HORIZON_DAYS = 365
#: Booking accepts updates up to one day in the past, on its own clock (CET).
PAST_DAYS = 1
#: Not published by Booking; a month of one product's three restriction messages
#: per day for ~5 products fits, and documents stay far below pema.xml's size cap.
DEFAULT_MAX_MESSAGES = 500
BOOKING_TIMEZONE = ZoneInfo("Europe/Amsterdam")

_XSI = "http://www.w3.org/2001/XMLSchema-instance"


class BookingCodecError(ValueError):
    """What Pema was asked to send cannot be said to Booking.com (a setup problem)."""


def endpoint_url(base_url: str, endpoint: str) -> str:
    """``https://supply-xml.booking.com`` + ``OTA_HotelAvailNotif`` -> the full URL."""
    return base_url.rstrip("/") + OTA_PATH + endpoint


def request_headers() -> dict[str, str]:
    """Headers every OTA call carries (authorisation is the HTTP client's hook)."""
    return {"Accept-Version": ACCEPT_VERSION, "Content-Type": CONTENT_TYPE}


def booking_today(now: datetime | None = None) -> date:
    """Today on Booking.com's clock (CET/CEST), which decides what "yesterday" is."""
    return (now or datetime.now(UTC)).astimezone(BOOKING_TIMEZONE).date()


def capabilities(
    *,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    max_messages: int = DEFAULT_MAX_MESSAGES,
    pull_interval_seconds: int = PULL_INTERVAL_SECONDS,
) -> Capabilities:
    """What Booking.com takes, for the coalescer and the engine."""
    return Capabilities(
        nets_reservations=True,
        weekday_patterns=True,
        max_items_per_request=max_messages,
        max_days_per_request=31,
        calendar_month_per_request=True,
        horizon_days=horizon_days,
        past_days=PAST_DAYS,
        pricing_model=PricingModel.PER_ROOM,
        reservations=ReservationFlow.PULL,
        exports_reservations=False,
        answers_availability=False,
        pull_interval_seconds=pull_interval_seconds,
    )


class MinStayMode(StrEnum):
    """Which of Pema's two minimum stays becomes Booking's ``SetMinLOS``."""

    ARRIVAL = "arrival"
    THROUGH = "through"


def min_stay_mode(value: str | None) -> MinStayMode:
    """The connection setting, defaulting to ``through`` (Booking's example text)."""
    if value is None or value == "":
        return MinStayMode.THROUGH
    try:
        return MinStayMode(value.strip().lower())
    except ValueError:
        raise BookingCodecError(
            f"min_stay_mode must be 'arrival' or 'through', not {value!r}."
        ) from None


def check_target(target: str) -> str:
    if target not in TARGETS:
        raise BookingCodecError(f"Target must be Production or Test, not {target!r}.")
    return target


# --------------------------------------------------------------------------- ARI values


@dataclass(frozen=True, kw_only=True)
class AvailMessage:
    """One ``AvailStatusMessage`` as Booking reads it.

    ``rate_id`` None is a room-level message (the only kind that may carry
    ``booking_limit``). ``restriction`` is ``RestrictionStatus@Restriction`` as
    written: None for the product itself (open/closed, i.e. stop sell),
    ``Arrival`` or ``Departure``. ``lengths_of_stay`` are
    ``(MinMaxMessageType, Time)`` pairs in document order. ``locator_id`` is
    the ``LocatorID`` the builder numbers messages with (not compared).
    """

    span: DateSpan
    room_id: str
    rate_id: str | None = None
    booking_limit: int | None = None
    restriction: str | None = None
    status: str | None = None
    lengths_of_stay: tuple[tuple[str, int | None], ...] = ()
    locator_id: int | None = field(default=None, compare=False)

    def _los(self, kind: str) -> int | None:
        return next((t for k, t in self.lengths_of_stay if k == kind), None)

    @property
    def min_los(self) -> int | None:
        return self._los(SET_MIN_LOS)

    @property
    def max_los(self) -> int | None:
        return self._los(SET_MAX_LOS)

    @property
    def lifts_max_los(self) -> bool:
        return any(k == REMOVE_MAX_LOS for k, _ in self.lengths_of_stay)


@dataclass(frozen=True, kw_only=True)
class RateMessage:
    """One ``RateAmountMessage``: a room x rate price over a span.

    ``price`` is the per-room price (standard pricing, no ``NumberOfGuests``);
    ``guest_prices`` are ``(NumberOfGuests, price)`` pairs for occupancy-based
    pricing. Prices are minor units of ``currency``.
    """

    span: DateSpan
    room_id: str
    rate_id: str
    currency: str
    price: int | None = None
    guest_prices: tuple[tuple[int, int], ...] = ()
    locator_id: int | None = field(default=None, compare=False)


@dataclass(frozen=True, kw_only=True)
class AvailNotif:
    """An ``OTA_HotelAvailNotifRQ`` for one Booking hotel."""

    hotel_id: str | None
    messages: tuple[AvailMessage, ...]
    target: str = TARGET_PRODUCTION
    timestamp: datetime | None = None
    echo_token: str | None = None
    version: str = AVAIL_NOTIF_VERSION


@dataclass(frozen=True, kw_only=True)
class RateNotif:
    """An ``OTA_HotelRateAmountNotifRQ`` for one Booking hotel."""

    hotel_id: str | None
    messages: tuple[RateMessage, ...]
    target: str = TARGET_PRODUCTION
    timestamp: datetime | None = None
    echo_token: str | None = None
    version: str = RATE_AMOUNT_NOTIF_VERSION


# ------------------------------------------------------------------ items -> messages


def _status(closed: bool) -> str:
    return STATUS_CLOSE if closed else STATUS_OPEN


def avail_messages(
    item: AvailabilityItem | RestrictionItem, *, mode: MinStayMode = MinStayMode.THROUGH
) -> tuple[AvailMessage, ...]:
    """The wire messages of one availability or restriction item.

    Items are states, not deltas, so every flag is said each time: a room's
    rooms to sell with its room-level open/closed; a product's open/closed
    with its stay limits, then its arrival and departure status (one
    ``RestrictionStatus`` per message is all the schema allows). A minimum
    stay of "none" is sent as 1 night, a lifted maximum as ``RemoveMaxLOS``.
    A negative rooms-to-sell (an overbooked day) is sent as 0.
    """
    if isinstance(item, AvailabilityItem):
        return (
            AvailMessage(
                span=item.span,
                room_id=item.partner_room_id,
                booking_limit=max(item.rooms_to_sell, 0),
                status=_status(item.stop_sell),
            ),
        )
    min_stay = item.min_stay_arrival if mode == MinStayMode.ARRIVAL else item.min_stay_through
    los: tuple[tuple[str, int | None], ...] = (
        (SET_MIN_LOS, max(min_stay or 1, 1)),
        (SET_MAX_LOS, item.max_stay) if item.max_stay else (REMOVE_MAX_LOS, None),
    )
    common = {"span": item.span, "room_id": item.partner_room_id, "rate_id": item.partner_rate_id}
    return (
        AvailMessage(**common, status=_status(item.stop_sell), lengths_of_stay=los),
        AvailMessage(
            **common, restriction=RESTRICTION_ARRIVAL, status=_status(item.closed_to_arrival)
        ),
        AvailMessage(
            **common, restriction=RESTRICTION_DEPARTURE, status=_status(item.closed_to_departure)
        ),
    )


def unsent_restrictions(
    item: AriItem, *, mode: MinStayMode = MinStayMode.THROUGH
) -> tuple[str, ...]:
    """What of ``item`` Booking's OTA interface cannot take, for the sync log."""
    if not isinstance(item, RestrictionItem):
        return ()
    if mode == MinStayMode.THROUGH:
        other, other_name, sent = item.min_stay_arrival, "on arrival", item.min_stay_through
    else:
        other, other_name, sent = item.min_stay_through, "through", item.min_stay_arrival
    if other and other > max(sent or 1, 1):
        return (
            f"{item.room_type}/{item.rate_plan} {item.span.start}..{item.span.end}: "
            f"minimum stay {other_name} of {other} not sent (min_stay_mode={mode.value}).",
        )
    return ()


def rate_message(item: RateItem) -> RateMessage:
    """A price item as a per-room price (Booking's standard pricing)."""
    return RateMessage(
        span=item.span,
        room_id=item.partner_room_id,
        rate_id=item.partner_rate_id,
        currency=item.currency,
        price=item.price,
    )


def wire_messages(item: AriItem) -> int:
    """How many wire messages ``item`` becomes (what counts against ``max_messages``)."""
    return 3 if isinstance(item, RestrictionItem) else 1


def endpoint_for(item: AriItem) -> str:
    return RATE_AMOUNT_NOTIF if isinstance(item, RateItem) else AVAIL_NOTIF


# ---------------------------------------------------------------- dates, months, packing


def _months(start: date, end: date) -> Iterator[tuple[date, date]]:
    """``start``..``end`` cut at month boundaries."""
    while start <= end:
        next_month = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
        last = min(end, next_month - timedelta(days=1))
        yield start, last
        start = last + timedelta(days=1)


def _tighten(start: date, end: date, weekdays: tuple[int, ...] | None) -> DateSpan | None:
    """The span from the first to the last chosen weekday in ``start..end`` (None: none)."""
    if weekdays is None:
        return DateSpan(start, end)
    chosen = set(weekdays)
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    matching = [d for d in days if d.weekday() in chosen]
    if not matching:
        return None
    span_days = {d.weekday() for d in days if matching[0] <= d <= matching[-1]}
    # A pattern that covers every weekday of the (shorter) span is no pattern.
    pattern = None if span_days <= chosen else tuple(sorted(chosen))
    return DateSpan(matching[0], matching[-1], pattern)


def clamp_and_split(
    items: Iterable[AriItem],
    *,
    today: date,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    past_days: int = PAST_DAYS,
) -> list[AriItem]:
    """Items clamped to ``today - past_days`` .. ``today + horizon_days - 1`` and cut per month.

    Items wholly outside the window are dropped, and so are pieces in which
    none of an item's weekdays falls. Order is kept.
    """
    first = today - timedelta(days=past_days)
    last = today + timedelta(days=horizon_days - 1)
    out: list[AriItem] = []
    for item in items:
        start, end = max(item.span.start, first), min(item.span.end, last)
        for month_start, month_end in _months(start, end):
            span = _tighten(month_start, month_end, item.span.weekdays)
            if span is not None:
                out.append(replace(item, span=span))
    return out


@dataclass(frozen=True)
class AriBatch:
    """Items that go into one document: one endpoint, one calendar month."""

    endpoint: str
    month: date
    items: tuple[AriItem, ...]

    @property
    def messages(self) -> int:
        return sum(wire_messages(i) for i in self.items)


def _product(item: AriItem) -> tuple[object, ...]:
    rate = getattr(item, "partner_rate_id", None)
    return (type(item), item.partner_room_id, rate)


def _overlap(a: DateSpan, b: DateSpan) -> bool:
    if a.end < b.start or b.end < a.start:
        return False
    return a.weekdays is None or b.weekdays is None or bool(set(a.weekdays) & set(b.weekdays))


def pack(items: Iterable[AriItem], *, max_messages: int = DEFAULT_MAX_MESSAGES) -> list[AriBatch]:
    """Month-split items grouped by endpoint and month, at most ``max_messages`` per batch.

    Batches come in the order their first item came and items keep their
    order. Booking applies only the first of two messages for the same
    product and day (``WARN_DUPLICATE_DATES``), so an item that overlaps an
    earlier one of the same product starts a new batch: sent in order, the
    later state wins, as it does in Pema.
    """
    groups: dict[tuple[str, date], list[list[AriItem]]] = {}
    for item in items:
        month = item.span.start.replace(day=1)
        if item.span.end.replace(day=1) != month:
            raise BookingCodecError(
                f"{item.span.start}..{item.span.end} spans two months; split it first."
            )
        size = wire_messages(item)
        if size > max_messages:
            raise BookingCodecError(f"max_messages={max_messages} is less than one item ({size}).")
        chunks = groups.setdefault((endpoint_for(item), month), [[]])
        current = chunks[-1]
        full = sum(wire_messages(i) for i in current) + size > max_messages
        clash = any(_product(i) == _product(item) and _overlap(i.span, item.span) for i in current)
        if full or clash:
            chunks.append([])
        chunks[-1].append(item)
    return [
        AriBatch(endpoint, month, tuple(chunk))
        for (endpoint, month), chunks in groups.items()
        for chunk in chunks
    ]


@dataclass(frozen=True)
class AriDocument:
    """One request to send: its endpoint, body and what it carries."""

    endpoint: str
    body: bytes
    messages: int
    items: tuple[AriItem, ...]
    start: date
    end: date
    warnings: tuple[str, ...] = ()


def build_ari_documents(
    items: Iterable[AriItem],
    *,
    hotel_id: str,
    currency: str | None = None,
    target: str = TARGET_PRODUCTION,
    mode: MinStayMode = MinStayMode.THROUGH,
    today: date | None = None,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    max_messages: int = DEFAULT_MAX_MESSAGES,
    timestamp: datetime | None = None,
    echo_token: str | None = None,
) -> list[AriDocument]:
    """Every document needed to say ``items`` to one Booking hotel.

    ``currency`` is the hotel's currency on Booking.com: a price in another
    currency raises :class:`BookingCodecError` rather than being sent (Booking
    would refuse it with ``CURRENCY_CODE_DONT_MATCH_HOTEL_CURRENCY``). With
    several documents, ``echo_token`` gets ``-1``, ``-2``, ... appended.
    """
    check_target(target)
    if not hotel_id:
        raise BookingCodecError("A Booking.com hotel id is required.")
    batches = pack(
        clamp_and_split(items, today=today or booking_today(), horizon_days=horizon_days),
        max_messages=max_messages,
    )
    documents = []
    for n, batch in enumerate(batches, start=1):
        token = f"{echo_token}-{n}" if echo_token and len(batches) > 1 else echo_token
        start = min(i.span.start for i in batch.items)
        end = max(i.span.end for i in batch.items)
        if batch.endpoint == AVAIL_NOTIF:
            messages = tuple(m for i in batch.items for m in avail_messages(i, mode=mode))
            body = build_avail_notif(
                AvailNotif(
                    hotel_id=hotel_id,
                    messages=messages,
                    target=target,
                    timestamp=timestamp,
                    echo_token=token,
                )
            )
            warnings = tuple(w for i in batch.items for w in unsent_restrictions(i, mode=mode))
        else:
            rates = []
            for item in batch.items:
                assert isinstance(item, RateItem)
                if currency and item.currency.upper() != currency.upper():
                    raise BookingCodecError(
                        f"{item.room_type}/{item.rate_plan} is priced in {item.currency}, "
                        f"but the Booking.com hotel sells in {currency}."
                    )
                rates.append(rate_message(item))
            messages = tuple(rates)
            body = build_rate_amount_notif(
                RateNotif(
                    hotel_id=hotel_id,
                    messages=messages,
                    target=target,
                    timestamp=timestamp,
                    echo_token=token,
                )
            )
            warnings = ()
        documents.append(
            AriDocument(
                endpoint=batch.endpoint,
                body=body,
                messages=len(messages),
                items=batch.items,
                start=start,
                end=end,
                warnings=warnings,
            )
        )
    return documents


# ------------------------------------------------------------------------ ARI wire form


def _root(
    name: str, *, target: str, version: str, timestamp: datetime | None, echo_token: str | None
) -> etree._Element:
    """A root element the way Booking's examples write it (with ``xsi:schemaLocation``)."""
    root = etree.Element(qname(OTA_NS, name), nsmap={None: OTA_NS, "xsi": _XSI})
    root.set(qname(_XSI, "schemaLocation"), f"{OTA_NS} {name}.xsd")
    if echo_token:
        root.set("EchoToken", echo_token)
    root.set("TimeStamp", attr_value(timestamp or now_utc()))
    root.set("Target", check_target(target))
    root.set("Version", version)
    return root


def _add_span(el: etree._Element, span: DateSpan, room_id: str, rate_id: str | None) -> None:
    sub_element(
        el,
        "StatusApplicationControl",
        {
            "Start": span.start,
            "End": span.end,
            "InvTypeCode": room_id,
            "RatePlanCode": rate_id,
            **DaysOfWeek.from_weekdays(span.weekdays).attributes(),
        },
    )


def build_avail_notif(doc: AvailNotif) -> bytes:
    """``OTA_HotelAvailNotifRQ``; messages are numbered 1.. in ``LocatorID``."""
    root = _root(
        AVAIL_NOTIF_RQ,
        target=doc.target,
        version=doc.version,
        timestamp=doc.timestamp,
        echo_token=doc.echo_token,
    )
    box = sub_element(root, "AvailStatusMessages", {"HotelCode": doc.hotel_id})
    for n, msg in enumerate(doc.messages, start=1):
        el = sub_element(
            box, "AvailStatusMessage", {"BookingLimit": msg.booking_limit, "LocatorID": n}
        )
        _add_span(el, msg.span, msg.room_id, msg.rate_id)
        if msg.lengths_of_stay:
            los_box = sub_element(el, "LengthsOfStay")
            for kind, time in msg.lengths_of_stay:
                sub_element(los_box, "LengthOfStay", {"Time": time, "MinMaxMessageType": kind})
        if msg.status is not None:
            sub_element(
                el, "RestrictionStatus", {"Restriction": msg.restriction, "Status": msg.status}
            )
    return to_bytes(root)


def build_rate_amount_notif(doc: RateNotif) -> bytes:
    """``OTA_HotelRateAmountNotifRQ``: decimal prices, ``CurrencyCode`` and ``DecimalPlaces``."""
    root = _root(
        RATE_AMOUNT_NOTIF_RQ,
        target=doc.target,
        version=doc.version,
        timestamp=doc.timestamp,
        echo_token=doc.echo_token,
    )
    box = sub_element(root, "RateAmountMessages", {"HotelCode": doc.hotel_id})
    for n, msg in enumerate(doc.messages, start=1):
        el = sub_element(box, "RateAmountMessage", {"LocatorID": n})
        _add_span(el, msg.span, msg.room_id, msg.rate_id)
        money_attrs = {
            "CurrencyCode": msg.currency,
            "DecimalPlaces": money.currency_exponent(msg.currency),
        }
        rate = sub_element(sub_element(el, "Rates"), "Rate", money_attrs)
        amounts = sub_element(rate, "BaseByGuestAmts")
        prices = ([(None, msg.price)] if msg.price is not None else []) + list(msg.guest_prices)
        for guests, price in prices:
            sub_element(
                amounts,
                "BaseByGuestAmt",
                {
                    "AmountAfterTax": minor_to_decimal(price, msg.currency),
                    "NumberOfGuests": guests,
                    **money_attrs,
                },
            )
    return to_bytes(root)


def _weekdays(days: DaysOfWeek) -> tuple[int, ...] | None:
    if days.all_days:
        return None
    return tuple(i for i, on in enumerate(days.as_tuple()) if on)


def _read_span(el: etree._Element) -> tuple[DateSpan, str, str | None]:
    """``StatusApplicationControl``: the span, room id and rate id."""
    sac = find(el, "StatusApplicationControl")
    if sac is None:
        raise OTAParseError("StatusApplicationControl is missing")
    start, end = read_date(sac.get("Start")), read_date(sac.get("End"))
    if start is None or end is None:
        raise OTAParseError("StatusApplicationControl needs Start and End")
    if end < start:
        raise OTAParseError(f"End {end} is before Start {start}")
    room = (sac.get("InvTypeCode") or sac.get("InvCode") or "").strip()
    return (
        DateSpan(start, end, _weekdays(DaysOfWeek.from_element(sac))),
        room,
        sac.get("RatePlanCode"),
    )


def _locator(el: etree._Element) -> int | None:
    value = (el.get("LocatorID") or "").strip()
    return int(value) if value.isdigit() else None


def read_avail_message(el: etree._Element) -> AvailMessage:
    """One ``AvailStatusMessage`` element (raises ``OTAParseError`` for what it cannot read)."""
    span, room, rate = _read_span(el)
    status_el = find(el, "RestrictionStatus")
    return AvailMessage(
        span=span,
        room_id=room,
        rate_id=rate,
        booking_limit=read_int(el.get("BookingLimit")),
        restriction=status_el.get("Restriction") if status_el is not None else None,
        status=status_el.get("Status") if status_el is not None else None,
        lengths_of_stay=tuple(
            (los.get("MinMaxMessageType") or "", read_int(los.get("Time")))
            for los in findall(el, "LengthsOfStay", "LengthOfStay")
        ),
        locator_id=_locator(el),
    )


def read_rate_message(el: etree._Element) -> RateMessage:
    """One ``RateAmountMessage`` element; amounts become minor units of their currency."""
    span, room, rate_id = _read_span(el)
    price = None
    guest_prices = []
    currency = ""
    for rate in findall(el, "Rates", "Rate"):
        for amount in findall(rate, "BaseByGuestAmts", "BaseByGuestAmt"):
            currency = amount.get("CurrencyCode") or rate.get("CurrencyCode") or currency
            places = read_int(amount.get("DecimalPlaces") or rate.get("DecimalPlaces"))
            attr = "AmountAfterTax" if amount.get("AmountAfterTax") else "AmountBeforeTax"
            major = hres.read_decimal(amount, attr, places)
            if major is None:
                continue
            # Rounded, not refused: the rules judge the digits (INVALID_PRICE).
            value = money.to_minor(major, currency)
            guests = read_int(amount.get("NumberOfGuests"))
            if guests is None:
                price = value if price is None else price
            else:
                guest_prices.append((guests, value))
    return RateMessage(
        span=span,
        room_id=room,
        rate_id=rate_id or "",
        currency=currency.upper(),
        price=price,
        guest_prices=tuple(guest_prices),
        locator_id=_locator(el),
    )


def _header(root: etree._Element) -> dict[str, object]:
    return {
        "target": root.get("Target") or "",
        "timestamp": read_datetime(root.get("TimeStamp")),
        "echo_token": root.get("EchoToken"),
        "version": root.get("Version") or "",
    }


def avail_message_elements(root: etree._Element) -> list[etree._Element]:
    return findall(root, "AvailStatusMessages", "AvailStatusMessage")


def rate_message_elements(root: etree._Element) -> list[etree._Element]:
    return findall(root, "RateAmountMessages", "RateAmountMessage")


def parse_avail_notif(data: bytes | str) -> AvailNotif:
    """The simulator's reading of an ``OTA_HotelAvailNotifRQ`` (strict: any bad message raises)."""
    root = parse_root(data, AVAIL_NOTIF_RQ)
    box = find(root, "AvailStatusMessages")
    return AvailNotif(
        hotel_id=box.get("HotelCode") if box is not None else None,
        messages=tuple(read_avail_message(el) for el in avail_message_elements(root)),
        **_header(root),
    )


def parse_rate_amount_notif(data: bytes | str) -> RateNotif:
    """The simulator's reading of an ``OTA_HotelRateAmountNotifRQ`` (strict)."""
    root = parse_root(data, RATE_AMOUNT_NOTIF_RQ)
    box = find(root, "RateAmountMessages")
    return RateNotif(
        hotel_id=box.get("HotelCode") if box is not None else None,
        messages=tuple(read_rate_message(el) for el in rate_message_elements(root)),
        **_header(root),
    )


# ----------------------------------------------------------------- answers and errors


@dataclass(frozen=True)
class ErrorCode:
    """What Pema knows about one of Booking's codes: OTA type and code, and whether to retry."""

    ota_type: int
    ota_code: str | None
    transient: bool
    text: str


# Booking's codes from its glossary and troubleshooting pages. The OTA type and
# ERR code given to each are Pema's choice (Booking's pages name only the
# symbolic code); the simulator answers with them.
ERROR_CODES: dict[str, ErrorCode] = {
    "NOT_A_VALID_DATE": ErrorCode(
        EWT_BUSINESS_RULE, "15", False, "Date more than 1 day in the past"
    ),
    "DATES_TOO_FAR_OR_INVALID": ErrorCode(
        EWT_BUSINESS_RULE, "15", False, "Date beyond the horizon"
    ),
    "FROM_DATE_SHOULD_BE_LESS_THAN_TO_DATE": ErrorCode(
        EWT_BUSINESS_RULE, "15", False, "Start after End"
    ),
    "ROOM_ID_INVALID": ErrorCode(EWT_BUSINESS_RULE, "402", False, "Room ID is not valid"),
    "ROOM_ID_MISSING": ErrorCode(EWT_REQUIRED_FIELD_MISSING, "321", False, "Room ID missing"),
    "ROOM_ELEMENT_REQUIRED": ErrorCode(EWT_REQUIRED_FIELD_MISSING, "321", False, "Room required"),
    "RATE_ID_INVALID": ErrorCode(EWT_BUSINESS_RULE, "249", False, "Rate is not valid for the room"),
    "AVAILSTATUSMESSAGES_ELEMENT_MISSING": ErrorCode(
        EWT_REQUIRED_FIELD_MISSING, "321", False, "AvailStatusMessages missing"
    ),
    "CURRENCY_CODE_DONT_MATCH_HOTEL_CURRENCY": ErrorCode(
        EWT_BUSINESS_RULE, "61", False, "Currency does not match the hotel currency"
    ),
    "AVAILABILITY_UPDATE_DISABLE_HOTEL_SWITCHING_CURRENCY": ErrorCode(
        EWT_PROCESSING_EXCEPTION, "448", True, "Currency switch is in progress. Try again later."
    ),
    "CANNOT_SET_SINGLE_USE_RATE": ErrorCode(EWT_BUSINESS_RULE, "450", False, "Single use rate"),
    "ATTRIBUTE_VALUE_DOES_NOT_MATCH_TYPE": ErrorCode(
        EWT_BUSINESS_RULE, "320", False, "Attribute value does not match its type"
    ),
    "LOS_PRICING_PASSED_FOR_OBP_RATE": ErrorCode(
        EWT_BUSINESS_RULE, "450", False, "Wrong price form"
    ),
    "LOS_PRICING_PASSED_FOR_DEFAULT_RATE": ErrorCode(
        EWT_BUSINESS_RULE, "450", False, "Wrong price form"
    ),
    "OBP_PRICING_PASSED_FOR_DEFAULT_RATE": ErrorCode(
        EWT_BUSINESS_RULE, "450", False, "Wrong price form"
    ),
    "CANT_SET_PERCENTAGE_FOR_OBP_LOS": ErrorCode(
        EWT_BUSINESS_RULE, "450", False, "Wrong price form"
    ),
    # The simulator's own names where Booking's pages give none (see the README).
    "XML_SCHEMA_INVALID": ErrorCode(EWT_BUSINESS_RULE, "320", False, "Not valid OTA 2011B"),
    "HOTEL_ACCESS_DENIED": ErrorCode(6, "497", False, "You do not have access to the hotel"),
    "AUTHORIZATION_REQUIRED": ErrorCode(EWT_AUTHENTICATION, "497", False, "Authorization Required"),
    "BOOKING_LIMIT_ON_RATE_LEVEL": ErrorCode(
        EWT_BUSINESS_RULE, "450", False, "BookingLimit applies to a room, not a rate"
    ),
    "INVALID_LENGTH_OF_STAY": ErrorCode(EWT_BUSINESS_RULE, "320", False, "Invalid length of stay"),
    "MIN_STAY_ABOVE_MAX_STAY": ErrorCode(
        EWT_BUSINESS_RULE, "450", False, "Min stay above max stay"
    ),
    "INVALID_RESTRICTION_STATUS": ErrorCode(EWT_BUSINESS_RULE, "320", False, "Invalid restriction"),
    "INVALID_PRICE": ErrorCode(EWT_BUSINESS_RULE, "320", False, "Invalid price"),
    "TARGET_MISMATCH": ErrorCode(EWT_BUSINESS_RULE, "320", False, "Target does not match"),
}
WARNING_CODES = {
    "WARN_DUPLICATE_DATES": "Applied only the first occurrence of a date",
    "WARN_UNPROCESSED_ADDITIONAL_GUEST": "Additional guest amounts were not processed",
    "WARN_MULTIPLE_MONTHS": "A request should cover a single month",
    "WARN_POLLING_TOO_OFTEN": "Call GET once per twenty seconds",
    "WARN_POLLING_AFTER_ACK": "Wait five seconds between an acknowledgement and the next GET",
    "WARN_CONCURRENT_POLLING": "Concurrent calls are not recommended",
}
# Unknown codes: OTA types that mean "our side had a problem" are worth a retry.
_TRANSIENT_TYPES = {EWT_PROCESSING_EXCEPTION, EWT_APPLICATION_ERROR}
_TRANSIENT_OTA_CODES = {"448", "450"}
_SYMBOLIC = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b")


@dataclass(frozen=True, kw_only=True)
class BookingIssue:
    """One of Booking's errors or warnings.

    ``code`` is Booking's symbolic code (``NOT_A_VALID_DATE``) where the answer
    carries one, else the OTA code or ShortText; ``record_id`` names the
    request message (our ``LocatorID``) or reservation it is about.
    """

    code: str
    text: str = ""
    ota_type: int | None = None
    ota_code: str | None = None
    status: str = ""
    record_id: str = ""

    @property
    def not_processed(self) -> bool:
        return self.status == STATUS_NOT_PROCESSED

    @property
    def transient(self) -> bool:
        """Whether sending the same message later may succeed."""
        known = ERROR_CODES.get(self.code)
        if known is not None:
            return known.transient
        if "try again later" in self.text.lower():
            return True
        return self.ota_type in _TRANSIENT_TYPES or self.ota_code in _TRANSIENT_OTA_CODES

    def __str__(self) -> str:
        where = f" (message {self.record_id})" if self.record_id else ""
        text = f": {self.text}" if self.text and self.text != self.code else ""
        return f"{self.code or 'error'}{where}{text}"


def issue(
    code: str, text: str = "", *, record_id: str = "", processed: bool = False
) -> BookingIssue:
    """A Booking issue with the OTA type and code Pema gives ``code`` (for the simulator)."""
    known = ERROR_CODES.get(code)
    return BookingIssue(
        code=code,
        text=text or (known.text if known else WARNING_CODES.get(code, "")),
        ota_type=known.ota_type if known else EWT_BUSINESS_RULE,
        ota_code=known.ota_code if known else None,
        status="" if processed else STATUS_NOT_PROCESSED,
        record_id=record_id,
    )


def issue_from_ota(raw: OTAIssue) -> BookingIssue:
    match = _SYMBOLIC.search(raw.short_text) or _SYMBOLIC.search(raw.text)
    if match:
        code = match.group(0)
    elif "authorization required" in f"{raw.short_text} {raw.text}".lower():
        code = "AUTHORIZATION_REQUIRED"
    else:
        code = raw.short_text or raw.code or ""
    return BookingIssue(
        code=code,
        text=raw.text or raw.short_text,
        ota_type=raw.type,
        ota_code=raw.code,
        status=raw.status,
        record_id=raw.record_id,
    )


def issue_to_ota(item: BookingIssue) -> OTAIssue:
    return OTAIssue(
        type=item.ota_type if item.ota_type is not None else EWT_BUSINESS_RULE,
        code=item.ota_code,
        short_text=item.code,
        text=item.text,
        status=item.status,
        record_id=item.record_id,
    )


_RUID = re.compile(r"RUID:\s*\[?\s*([^\]\s]+)\s*\]?")


def read_ruid(root: etree._Element) -> str:
    """The ``<!-- RUID: [...] -->`` Booking writes around its answers ("" when absent)."""
    for comment in document_comments(root):
        match = _RUID.search(comment)
        if match:
            return match.group(1)
    for comment in root.iter(etree.Comment):
        match = _RUID.search(comment.text or "")
        if match:
            return match.group(1)
    return ""


def new_ruid() -> str:
    """A Booking-looking request id (base64 of random bytes)."""
    return base64.b64encode(secrets.token_bytes(48)).decode("ascii")


def append_ruid(body: bytes, ruid: str) -> bytes:
    """``body`` followed by Booking's trailer comment."""
    return body + b"\n<!-- RUID: [" + ruid.encode("ascii") + b"] -->\n"


@dataclass(frozen=True, kw_only=True)
class AriResponse:
    """Booking's answer to an ARI request."""

    name: str
    success: bool
    errors: tuple[BookingIssue, ...] = ()
    warnings: tuple[BookingIssue, ...] = ()
    ruid: str = ""
    target: str | None = None
    echo_token: str | None = None
    timestamp: datetime | None = None

    @property
    def not_processed(self) -> tuple[BookingIssue, ...]:
        """Errors, and warnings whose message was not applied (a partial success)."""
        return self.errors + tuple(w for w in self.warnings if w.not_processed)

    @property
    def failed_locators(self) -> frozenset[str]:
        return frozenset(i.record_id for i in self.not_processed if i.record_id)

    @property
    def transient(self) -> bool:
        """True when every failure is worth retrying (False when any is permanent)."""
        failures = self.not_processed
        return bool(failures) and all(i.transient for i in failures)

    def summary(self) -> str:
        """One line for the sync log."""
        parts = [f"{self.name}: {'Success' if self.success else 'Errors'}"]
        parts += [f"error {e}" for e in self.errors]
        parts += [f"warning {w}" for w in self.warnings]
        if self.ruid:
            parts.append(f"RUID {self.ruid}")
        return "; ".join(parts)


def parse_ari_response(data: bytes | str, expected: str | None = None) -> AriResponse:
    """Booking's ``OTA_HotelAvailNotifRS`` / ``OTA_HotelRateAmountNotifRS``."""
    root = parse_root(data, expected)
    name = local_name(root)
    if name not in (AVAIL_NOTIF_RS, RATE_AMOUNT_NOTIF_RS):
        raise OTAParseError(f"{name} is not an ARI response")
    errors = tuple(issue_from_ota(e) for e in read_issues(root, "Errors", "Error"))
    success = find(root, "Success") is not None and not errors
    if not success and not errors:
        raise OTAParseError(f"{name} carries neither Success nor Errors")
    return AriResponse(
        name=name,
        success=success,
        errors=errors,
        warnings=tuple(issue_from_ota(w) for w in read_issues(root, "Warnings", "Warning")),
        ruid=read_ruid(root),
        target=root.get("Target"),
        echo_token=root.get("EchoToken"),
        timestamp=read_datetime(root.get("TimeStamp")),
    )


def build_ari_response(
    name: str,
    *,
    errors: Sequence[BookingIssue] = (),
    warnings: Sequence[BookingIssue] = (),
    ruid: str | None = None,
    target: str = TARGET_PRODUCTION,
    echo_token: str | None = None,
    timestamp: datetime | None = None,
) -> bytes:
    """Booking's answer: ``Errors``, or ``Success`` with any ``Warnings``; then the RUID."""
    if name not in (AVAIL_NOTIF_RS, RATE_AMOUNT_NOTIF_RS):
        raise ValueError(f"{name} is not an ARI response")
    version = AVAIL_NOTIF_VERSION if name == AVAIL_NOTIF_RS else RATE_AMOUNT_NOTIF_VERSION
    root = _root(name, target=target, version=version, timestamp=timestamp, echo_token=echo_token)
    if errors:
        add_issues(root, "Errors", "Error", [issue_to_ota(e) for e in errors])
    else:
        sub_element(root, "Success")
        if warnings:
            add_issues(root, "Warnings", "Warning", [issue_to_ota(w) for w in warnings])
    return append_ruid(to_bytes(root), ruid or new_ruid())


def build_unauthorized(name: str, *, ruid: str | None = None) -> bytes:
    """The 401 body Booking sends on OTA endpoints (with the ``Type`` the schema wants)."""
    root = _root(name, target=TARGET_PRODUCTION, version="2.001", timestamp=None, echo_token=None)
    add_issues(
        root,
        "Errors",
        "Error",
        [OTAIssue(type=EWT_AUTHENTICATION, short_text="Authorization Required")],
    )
    return append_ruid(to_bytes(root), ruid or new_ruid())
