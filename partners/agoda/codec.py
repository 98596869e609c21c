"""Agoda YCS5 on the wire: ``<request type="N">`` documents and Agoda's ``<result>`` answers.

Both sides use this module, so a provider and its simulator read and write
the same encoding, tested against the samples in ``samples/``:

- **SetAriV2 (type 10).** :func:`build_set_ari` turns typed ARI items into
  documents: rooms to sell and room-level stop sell under
  ``inventory/update``, restrictions and prices under ``rate/update``;
  weekdays as ``dow`` 1 (Monday) .. 7 (Sunday) inside ``date_range``; prices
  in the hotel's currency with at most 2 decimals; each document at most
  :data:`MAX_REQUEST_BYTES`. :func:`parse_set_ari` is the reverse (the
  simulator's reading).
- **Answers.** :func:`parse_result` reads 200 ``<result TUID>``, 400/401
  ``<errors>`` and 207 ``status="PartialSuccess"`` with per-update errors;
  :func:`build_result` writes them (the simulator).
- **Bookings.** :func:`build_booking_list` (type 3, windows of at most
  :data:`MAX_LIST_DAYS`), :func:`build_booking_detail` (type 4, at most
  :data:`MAX_DETAIL_IDS`), their answers, and the ``BookingHint`` push and
  its ``<result><success/></result>`` reply. Agoda writes times in ICT
  (+07:00); :func:`agoda_time` reads them to aware UTC (a time without an
  offset is ICT), :func:`ict` writes them.
- **Token exchange.** :func:`token_answer` reads ``/token-based-authentication/exchange``.

Wire choices the notes leave open are listed in this folder's README.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, timezone
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
    RateItem,
    ReservationFlow,
)
from pema.money import currency_exponent
from pema.xml import element, parse_xml, sub_element, to_bytes

# ---------------------------------------------------------------------- constants

DEFAULT_BASE_URL = "https://supply.agoda.com"
API_PATH = "/api"
ARI_V2_PATH = "/api/v2/ari"
TOKEN_PATH = "/token-based-authentication/exchange"
CONTENT_TYPE = "text/xml"

SET_ARI, GET_ARI, GET_BOOKING_LIST, GET_BOOKING_DETAIL = "1", "2", "3", "4"
GET_PRODUCT, SET_PRODUCT, GET_BOOKING_LIST_V2, SET_ARI_V2, GET_ARI_V2 = "5", "8", "9", "10", "11"
REQUEST_TYPES = {
    SET_ARI: "SetAri",
    GET_ARI: "GetAri",
    GET_BOOKING_LIST: "GetBookingList",
    GET_BOOKING_DETAIL: "GetBookingDetail",
    GET_PRODUCT: "GetProduct",
    SET_PRODUCT: "SetProduct",
    GET_BOOKING_LIST_V2: "GetBookingListV2",
    SET_ARI_V2: "SetAriV2",
    GET_ARI_V2: "GetAriV2",
}

#: SetAri: at most this many days from Agoda's today (2219 beyond).
HORIZON_DAYS = 730
#: Agoda's size limit of one request.
MAX_REQUEST_BYTES = 1024 * 1024
#: Updates per SetAriV2 document Pema sends (each a few hundred bytes: far under 1 MB).
MAX_UPDATES = 2000
#: GetBookingList (type 3): a window of at most 90 days, from at most 740 days back.
MAX_LIST_DAYS = 90
LOOKBACK_DAYS = 740
#: GetBookingDetail (type 4): one property, at most 50 bookings a call.
MAX_DETAIL_IDS = 50
#: A token from the exchange lasts an hour.
TOKEN_SECONDS = 3600
#: Agoda writes booking times in Indochina Time.
ICT = timezone(timedelta(hours=7), "ICT")

CONFIRM, AMEND, CANCEL = "ConfirmBooking", "AmendBooking", "CancelBooking"
STATUS_KIND = {CONFIRM: InboundKind.NEW, AMEND: InboundKind.MODIFY, CANCEL: InboundKind.CANCEL}
PARTIAL_SUCCESS = "PartialSuccess"

#: Update errors the notes name: validation failures, which the same update cannot pass.
#: Any other code is taken as passing (Agoda's notes list no transient codes): retried.
VALIDATION_CODES = {
    "1301": "Invalid Property id",
    "2101": "Default rate is required but does not exist",
    "2201": "Rate out of the room's min/max rate",
    "2205": "Room error",
    "2219": "Date can not be greater than 730 days",
    "22210": "Max LOS cannot be less than Min Los",
}


class AgodaCodecError(ValueError):
    """Something that cannot be written or read in Agoda's format (the message says what)."""


def capabilities(*, horizon_days: int = HORIZON_DAYS, pull_interval_seconds: int = 120):
    """What Agoda takes: weekday patterns, one price a night, 730 days, pulled bookings.

    Agoda's 1 MB is the limit of a request; :data:`MAX_UPDATES` updates stay
    far under it, and :func:`build_set_ari` cuts again by size.
    """
    return Capabilities(
        nets_reservations=True,
        weekday_patterns=True,
        max_items_per_request=MAX_UPDATES,
        horizon_days=min(horizon_days, HORIZON_DAYS),
        past_days=0,
        pricing_model=PricingModel.PER_ROOM,
        reservations=ReservationFlow.PULL,
        exports_reservations=False,
        pull_interval_seconds=pull_interval_seconds,
        reservation_hints=True,
    )


def timestamp_ms(now: float | None = None) -> str:
    """Agoda's ``timestamp``: epoch milliseconds (its tables say so; examples use both)."""
    return str(int((time.time() if now is None else now) * 1000))


def agoda_today(now: datetime | None = None) -> date:
    """Today in Agoda's clock (ICT): its 730 days count from it."""
    return (now or datetime.now(UTC)).astimezone(ICT).date()


def agoda_time(value: str) -> datetime:
    """An Agoda time as aware UTC; without an offset it is ICT, as Agoda always sends."""
    text = (value or "").strip().replace(" ", "T")
    if not text:
        raise AgodaCodecError("A time is missing.")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise AgodaCodecError(f"Not a time: {value!r}.") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ICT)
    return moment.astimezone(UTC)


def ict(moment: datetime) -> str:
    """``moment`` as Agoda writes it: ICT with its +07:00 offset."""
    if moment.tzinfo is None:
        raise AgodaCodecError("An aware time is needed.")
    return moment.astimezone(ICT).isoformat(timespec="seconds")


def _date(value: str | None, what: str) -> date:
    try:
        return date.fromisoformat((value or "")[:10])
    except ValueError as exc:
        raise AgodaCodecError(f"{what} is not a date: {value!r}.") from exc


def _bool(value: bool) -> str:
    return "true" if value else "false"


def amount(minor: int, currency: str) -> str:
    """Minor units as Agoda's decimal amount: the currency's digits, at most 2."""
    exponent = currency_exponent(currency)
    digits = min(exponent, 2)
    scale = 10 ** (exponent - digits)
    if minor % scale:
        raise AgodaCodecError(
            f"{minor} minor units of {currency} need {exponent} decimals; Agoda takes at most 2."
        )
    value = Decimal(minor // scale).scaleb(-digits)
    return f"{value:.{max(digits, 1)}f}"


def minor_units(text: str, currency: str) -> int:
    """An Agoda amount in minor units; more decimals than the currency has is an error."""
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError) as exc:
        raise AgodaCodecError(f"Not an amount: {text!r}.") from exc
    scaled = value.scaleb(currency_exponent(currency))
    if scaled != scaled.to_integral_value():
        raise AgodaCodecError(f"{text} {currency} has more decimals than the currency.")
    return int(scaled)


def decimals(text: str) -> int:
    """How many decimals an amount is written with."""
    return len(text.strip().partition(".")[2])


def _root(request_type: str, now: float | None = None) -> etree._Element:
    return element("request", {"timestamp": timestamp_ms(now), "type": request_type})


# ---------------------------------------------------------------------- SetAriV2 out


@dataclass(frozen=True)
class SetAriDocument:
    """One SetAriV2 request: its body and the items it carries (in update order)."""

    body: bytes
    items: tuple[AriItem, ...]

    @property
    def updates(self) -> int:
        return len(self.items)


def _date_range(parent: etree._Element, span: DateSpan) -> None:
    rng = sub_element(parent, "date_range", {"from": span.start, "to": span.end})
    for weekday in span.weekdays or ():
        sub_element(rng, "dow", text=str(weekday + 1))


def _add_update(parent_inventory, parent_rate, item: AriItem, currency: str) -> None:
    if isinstance(item, AvailabilityItem):
        update = sub_element(parent_inventory(), "update", {"room_id": item.partner_room_id})
        _date_range(update, item.span)
        sub_element(update, "allotment", text=str(max(item.rooms_to_sell, 0)))
        restrictions = sub_element(update, "restrictions")
        # Pema keeps no room-level arrival/departure rule: false clears one set elsewhere.
        sub_element(restrictions, "closed", text=_bool(item.stop_sell))
        sub_element(restrictions, "ctd", text="false")
        sub_element(restrictions, "cta", text="false")
        return
    attrs = {"room_id": item.partner_room_id, "rateplan_id": item.partner_rate_id}
    update = sub_element(parent_rate(), "update", attrs)
    _date_range(update, item.span)
    if isinstance(item, RateItem):
        if item.currency != currency:
            raise AgodaCodecError(
                f"{item.room_type}/{item.rate_plan} is priced in {item.currency}; the "
                f"property sells in {currency}."
            )
        prices = sub_element(update, "prices", {"currency": currency})
        sub_element(prices, "normal", {"default": amount(item.price, currency)})
        return
    restrictions = sub_element(update, "restrictions")
    sub_element(restrictions, "closed", text=_bool(item.stop_sell))
    sub_element(restrictions, "ctd", text=_bool(item.closed_to_departure))
    sub_element(restrictions, "cta", text=_bool(item.closed_to_arrival))
    los = sub_element(restrictions, "los")
    sub_element(los, "min", text=str(item.min_stay_arrival or 1))
    if item.max_stay:
        sub_element(los, "max", text=str(item.max_stay))
    stay = sub_element(restrictions, "staythrough")
    sub_element(stay, "min", text=str(item.min_stay_through or 0))


def _document(
    items: Sequence[AriItem], property_id: str, currency: str, now: float | None
) -> bytes:
    root = _root(SET_ARI_V2, now)
    criteria = sub_element(root, "criteria", {"property_id": property_id})
    made: dict[str, etree._Element] = {}

    def section(name: str):
        def get() -> etree._Element:
            if name not in made:
                made[name] = sub_element(criteria, name)
            return made[name]

        return get

    inventory, rate = section("inventory"), section("rate")
    # inventory before rate, as Agoda's example: sort stably by section.
    ordered = sorted(items, key=lambda i: not isinstance(i, AvailabilityItem))
    for item in ordered:
        _add_update(inventory, rate, item, currency)
    return to_bytes(root)


def clamp(item: AriItem, first: date, last: date) -> AriItem | None:
    """``item`` within ``first``..``last`` (None when nothing is left)."""
    start, end = max(item.span.start, first), min(item.span.end, last)
    if start > end:
        return None
    if (start, end) == (item.span.start, item.span.end):
        return item
    return replace(item, span=DateSpan(start, end, item.span.weekdays))


def build_set_ari(
    items: Iterable[AriItem],
    *,
    property_id: str,
    currency: str,
    today: date | None = None,
    horizon_days: int = HORIZON_DAYS,
    max_bytes: int = MAX_REQUEST_BYTES,
    now: float | None = None,
) -> list[SetAriDocument]:
    """SetAriV2 documents for ``items``, each at most ``max_bytes``; days past the horizon
    (counted on Agoda's clock) are left out, inventory before rates."""
    first = today or agoda_today()
    last = first + timedelta(days=min(horizon_days, HORIZON_DAYS))
    kept = [c for c in (clamp(i, first, last) for i in items) if c is not None]
    ordered = sorted(kept, key=lambda i: not isinstance(i, AvailabilityItem))
    if not ordered:
        return []
    return _sized(ordered, property_id, currency, max_bytes, now)


def _sized(
    items: list[AriItem], property_id: str, currency: str, max_bytes: int, now: float | None
) -> list[SetAriDocument]:
    body = _document(items, property_id, currency, now)
    if len(body) <= max_bytes:
        return [SetAriDocument(body, tuple(items))]
    if len(items) == 1:
        raise AgodaCodecError(f"One update is {len(body)} bytes, over Agoda's {max_bytes}.")
    half = len(items) // 2
    return _sized(items[:half], property_id, currency, max_bytes, now) + _sized(
        items[half:], property_id, currency, max_bytes, now
    )


# ---------------------------------------------------------------------- SetAriV2 in


@dataclass(frozen=True)
class WireUpdate:
    """One ``update`` of a SetAriV2 document, as Agoda reads it (the simulator)."""

    section: str  # "inventory" or "rate"
    room_id: str
    rateplan_id: str = ""
    start: date | None = None
    end: date | None = None
    dow: tuple[int, ...] = ()
    values: tuple[date, ...] = ()
    allotment: int | None = None
    currency: str = ""
    default_price: str = ""
    occupancy_prices: tuple[tuple[int, str], ...] = ()
    closed: str = ""
    cta: str = ""
    ctd: str = ""
    los_min: str = ""
    los_max: str = ""
    advance_min: str = ""
    advance_max: str = ""
    staythrough_min: str = ""
    problems: tuple[str, ...] = ()

    def days(self) -> list[date]:
        """The days it applies to (``dow`` 1 = Monday)."""
        if self.values:
            return sorted(self.values)
        if self.start is None or self.end is None or self.end < self.start:
            return []
        days, day = [], self.start
        while day <= self.end:
            if not self.dow or day.isoweekday() in self.dow:
                days.append(day)
            day += timedelta(days=1)
        return days

    def describe(self) -> str:
        product = f"room {self.room_id}" + (f" rate {self.rateplan_id}" if self.rateplan_id else "")
        return f"{product} {self.start or ''}..{self.end or ''}"


@dataclass(frozen=True)
class SetAriRequest:
    """A SetAriV2 document as read."""

    request_type: str
    timestamp: str
    property_id: str
    updates: tuple[WireUpdate, ...]


def _text(el: etree._Element | None, path: str) -> str:
    if el is None:
        return ""
    found = el.find(path)
    return (found.text or "").strip() if found is not None else ""


def _update(section: str, el: etree._Element) -> WireUpdate:
    problems: list[str] = []
    ranges, values = el.findall("date_range"), el.find("date_values")
    start = end = None
    dow: tuple[int, ...] = ()
    days: tuple[date, ...] = ()
    if (len(ranges) == 1) == (values is not None) or len(ranges) > 1:
        problems.append("exactly one of date_range and date_values per update")
    try:
        if ranges:
            start = _date(ranges[0].get("from"), "date_range@from")
            end = _date(ranges[0].get("to"), "date_range@to")
            found = [(d.text or "").strip() for d in ranges[0].findall("dow")]
            if any(not d.isdigit() or not 1 <= int(d) <= 7 for d in found):
                problems.append(f"dow is 1 (Monday) to 7 (Sunday): {found}")
            dow = tuple(int(d) for d in found if d.isdigit())
        if values is not None:
            if values.findall(".//dow"):
                problems.append("dow only inside date_range")
            days = tuple(_date(v.text, "date_values/value") for v in values.findall("value"))
    except AgodaCodecError as exc:
        problems.append(str(exc))
    prices = el.find("prices")
    normal = prices.find("normal") if prices is not None else None
    occupancy = tuple(
        (int(o.get("person", "0") or 0), o.get("price", ""))
        for o in (normal.findall("occupancy") if normal is not None else ())
    )
    allotment = _text(el, "allotment")
    restrictions = el.find("restrictions")
    return WireUpdate(
        section=section,
        room_id=el.get("room_id", ""),
        rateplan_id=el.get("rateplan_id", ""),
        start=start,
        end=end,
        dow=dow,
        values=days,
        allotment=int(allotment) if allotment.lstrip("-").isdigit() else None,
        currency=prices.get("currency", "") if prices is not None else "",
        default_price=(normal.get("default", "") if normal is not None else ""),
        occupancy_prices=occupancy,
        closed=_text(restrictions, "closed"),
        cta=_text(restrictions, "cta"),
        ctd=_text(restrictions, "ctd"),
        los_min=_text(restrictions, "los/min"),
        los_max=_text(restrictions, "los/max"),
        advance_min=_text(restrictions, "advancepurchase/min"),
        advance_max=_text(restrictions, "advancepurchase/max"),
        staythrough_min=_text(restrictions, "staythrough/min"),
        problems=tuple(problems),
    )


def parse_request_head(body: bytes) -> tuple[etree._Element, str, str]:
    """(root, type, timestamp) of an Agoda ``<request>``; AgodaCodecError otherwise."""
    try:
        root = parse_xml(body, max_bytes=MAX_REQUEST_BYTES * 2)
    except ValueError as exc:
        raise AgodaCodecError(f"Not a readable XML request: {exc}") from exc
    if root.tag != "request":
        raise AgodaCodecError(f"The root is <{root.tag}>, not <request>.")
    return root, root.get("type", ""), root.get("timestamp", "")


def parse_set_ari(body: bytes) -> SetAriRequest:
    """A SetAriV2 document's updates, in document order."""
    root, request_type, stamp = parse_request_head(body)
    criteria = root.find("criteria")
    if criteria is None:
        raise AgodaCodecError("No <criteria>.")
    updates = [
        _update(section, el)
        for section in ("inventory", "rate")
        for holder in criteria.findall(section)
        for el in holder.findall("update")
    ]
    return SetAriRequest(request_type, stamp, criteria.get("property_id", ""), tuple(updates))


# ---------------------------------------------------------------------- answers


@dataclass(frozen=True)
class AgodaError:
    """One error of an answer; the update fields say which update failed (207)."""

    code: str
    description: str
    property_id: str = ""
    room_id: str = ""
    rateplan_id: str = ""
    start: str = ""
    end: str = ""

    @property
    def retryable(self) -> bool:
        return self.code not in VALIDATION_CODES

    @property
    def attributed(self) -> bool:
        return bool(self.room_id)

    def __str__(self) -> str:
        where = ""
        if self.room_id:
            where = f" (room {self.room_id}" + (
                f" rate {self.rateplan_id}" if self.rateplan_id else ""
            )
            where += f", {self.start}..{self.end})" if self.start else ")"
        return f"{self.code} {self.description}{where}"

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "description": self.description,
            "room_id": self.room_id,
            "rateplan_id": self.rateplan_id,
            "from": self.start,
            "to": self.end,
            "retryable": self.retryable,
        }


@dataclass(frozen=True)
class AgodaResult:
    """A ``<result>``: its TUID, status and errors."""

    tuid: str = ""
    timestamp: str = ""
    status: str = ""
    errors: tuple[AgodaError, ...] = ()
    success: bool = False

    @property
    def partial(self) -> bool:
        return self.status == PARTIAL_SUCCESS

    def summary(self) -> str:
        return "; ".join(str(e) for e in self.errors)


def parse_result(body: bytes) -> AgodaResult:
    """Agoda's ``<result>`` answer (any HTTP status)."""
    root = parse_xml(body)
    if root.tag != "result":
        raise AgodaCodecError(f"The answer's root is <{root.tag}>, not <result>.")
    errors = []
    for el in root.iter("error"):
        holder = el.getparent()
        prop = holder.get("id", "") if holder is not None and holder.tag == "property" else ""
        errors.append(
            AgodaError(
                code=el.get("code", ""),
                description=el.get("description", ""),
                property_id=prop,
                room_id=el.get("room_id", ""),
                rateplan_id=el.get("rateplan_id", ""),
                start=el.get("from", ""),
                end=el.get("to", ""),
            )
        )
    return AgodaResult(
        tuid=root.get("TUID", ""),
        timestamp=root.get("timestamp", ""),
        status=root.get("status", ""),
        errors=tuple(errors),
        success=root.find("success") is not None,
    )


def build_result(
    *,
    tuid: str = "",
    property_id: str = "",
    errors: Sequence[AgodaError] = (),
    partial: bool = False,
    success: bool = False,
    now: float | None = None,
) -> bytes:
    """A ``<result>``: plain, with errors (per property), PartialSuccess, or ``<success/>``."""
    attrs = {"TUID": tuid or None, "timestamp": timestamp_ms(now)}
    if partial:
        attrs["status"] = PARTIAL_SUCCESS
    root = element("result", attrs)
    if success:
        sub_element(root, "success")
    if errors:
        holder = sub_element(sub_element(root, "errors"), "property", {"id": property_id})
        for error in errors:
            sub_element(
                holder,
                "error",
                {
                    "code": error.code,
                    "description": error.description,
                    "room_id": error.room_id or None,
                    "rateplan_id": error.rateplan_id or None,
                    "from": error.start or None,
                    "to": error.end or None,
                },
            )
    return to_bytes(root)


def error_of(update: WireUpdate, code: str, description: str) -> AgodaError:
    """The 207 error naming ``update``."""
    return AgodaError(
        code=code,
        description=description,
        room_id=update.room_id,
        rateplan_id=update.rateplan_id,
        start=update.start.isoformat() if update.start else "",
        end=update.end.isoformat() if update.end else "",
    )


def failed_items(document: SetAriDocument, errors: Iterable[AgodaError]) -> list[AriItem]:
    """The items of ``document`` the attributed errors name (by product and dates)."""
    out = []
    for error in errors:
        for item in document.items:
            rate = "" if isinstance(item, AvailabilityItem) else item.partner_rate_id
            if item.partner_room_id != error.room_id or rate != error.rateplan_id:
                continue
            if error.start and item.span.start.isoformat() != error.start:
                continue
            if error.end and item.span.end.isoformat() != error.end:
                continue
            if item not in out:
                out.append(item)
    return out


# ---------------------------------------------------------------------- bookings out


def list_windows(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """``start``..``end`` cut into GetBookingList windows of at most 90 days."""
    windows, step = [], timedelta(days=MAX_LIST_DAYS)
    while start < end:
        windows.append((start, min(start + step, end)))
        start += step
    return windows


def build_booking_list(
    property_ids: Sequence[str],
    start: datetime,
    end: datetime,
    *,
    status: str = "",
    now: float | None = None,
) -> bytes:
    """GetBookingList (type 3): the bookings changed from ``start`` to ``end`` (ICT on the wire)."""
    if not 1 <= len(property_ids) <= 5:
        raise AgodaCodecError("GetBookingList takes 1 to 5 properties.")
    if end - start > timedelta(days=MAX_LIST_DAYS):
        raise AgodaCodecError("A GetBookingList window is at most 90 days.")
    root = _root(GET_BOOKING_LIST, now)
    criteria = sub_element(
        root, "criteria", {"status": status or None, "from": ict(start), "to": ict(end)}
    )
    for pid in property_ids:
        sub_element(criteria, "property", {"id": pid})
    return to_bytes(root)


def build_booking_detail(property_id: str, booking_ids: Sequence[str], now=None) -> bytes:
    """GetBookingDetail (type 4): one property, at most 50 bookings."""
    if not 1 <= len(booking_ids) <= MAX_DETAIL_IDS:
        raise AgodaCodecError("GetBookingDetail takes 1 to 50 bookings.")
    root = _root(GET_BOOKING_DETAIL, now)
    prop = sub_element(sub_element(root, "criteria", {"language": "EN"}), "property")
    prop.set("id", property_id)
    for bid in booking_ids:
        sub_element(prop, "booking", {"id": bid})
    return to_bytes(root)


@dataclass(frozen=True)
class BookingHead:
    """A booking as GetBookingList and BookingHint name it."""

    booking_id: str
    property_id: str
    status: str
    last_action: datetime
    booking_date: datetime | None = None
    arrival: date | None = None
    departure: date | None = None

    @property
    def revision(self) -> str:
        return revision(self.last_action, self.status)


def revision(last_action: datetime, status: str) -> str:
    """A booking's revision: when Agoda last changed it (UTC) and its status then."""
    return f"{last_action.astimezone(UTC).isoformat(timespec='seconds')} {status}"


def _head(el: etree._Element, property_id: str) -> BookingHead:
    booking_id = el.get("booking_id", "").strip()
    if not booking_id:
        raise AgodaCodecError("A booking without booking_id.")
    status = el.get("status", "")
    if status not in STATUS_KIND:
        raise AgodaCodecError(f"Booking {booking_id}: unknown status {status!r}.")
    stamp = el.get("last_action") or el.get("booking_date") or ""
    return BookingHead(
        booking_id=booking_id,
        property_id=el.get("property_id") or property_id,
        status=status,
        last_action=agoda_time(stamp),
        booking_date=agoda_time(el.get("booking_date")) if el.get("booking_date") else None,
        arrival=_date(el.get("arrival"), "arrival") if el.get("arrival") else None,
        departure=_date(el.get("departure"), "departure") if el.get("departure") else None,
    )


def _bookings_by_property(root: etree._Element) -> Iterable[tuple[str, etree._Element]]:
    for prop in root.iter("property"):
        for el in prop.iter("booking"):
            yield prop.get("id", ""), el


def parse_booking_list(body: bytes) -> list[BookingHead]:
    """GetBookingList's answer (or a BookingHint push: the same booking heads)."""
    root = parse_xml(body)
    if root.tag not in ("result", "request"):
        raise AgodaCodecError(f"The answer's root is <{root.tag}>.")
    errors = root.find("errors")
    if errors is not None and root.tag == "result":
        raise AgodaCodecError(
            "; ".join(f"{e.get('code')} {e.get('description')}" for e in errors.iter("error"))
        )
    return [_head(el, pid) for pid, el in _bookings_by_property(root)]


def parse_hint(body: bytes) -> list[BookingHead]:
    """A BookingHint push: ``<request timestamp><property id><bookings><booking .../>``."""
    root = parse_xml(body)
    if root.tag != "request":
        raise AgodaCodecError(f"A BookingHint's root is <request>, not <{root.tag}>.")
    return [_head(el, pid) for pid, el in _bookings_by_property(root)]


def build_hint(property_id: str, heads: Sequence[BookingHead], now=None) -> bytes:
    """A BookingHint push (the simulator's), times in ICT."""
    root = element("request", {"timestamp": timestamp_ms(now)})
    bookings = sub_element(sub_element(root, "property", {"id": property_id}), "bookings")
    for head in heads:
        sub_element(bookings, "booking", _head_attrs(head))
    return to_bytes(root)


def build_hint_reply(*, error: tuple[str, str] | None = None, now=None) -> bytes:
    """Pema's answer to a hint: ``<result><success/></result>`` or ``<errors code description>``."""
    root = element("result", {"timestamp": timestamp_ms(now)})
    if error is None:
        sub_element(root, "success")
    else:
        sub_element(root, "errors", {"code": error[0], "description": error[1]})
    return to_bytes(root)


def _head_attrs(head: BookingHead) -> dict:
    return {
        "booking_id": head.booking_id,
        "booking_date": ict(head.booking_date or head.last_action),
        "last_action": ict(head.last_action),
        "arrival": head.arrival,
        "departure": head.departure,
        "status": head.status,
    }


def build_booking_list_answer(heads: Sequence[BookingHead], now=None) -> bytes:
    """GetBookingList's answer (the simulator's)."""
    root = element("result", {"timestamp": timestamp_ms(now)})
    by_property: dict[str, list[BookingHead]] = {}
    for head in heads:
        by_property.setdefault(head.property_id, []).append(head)
    props = sub_element(root, "properties", {"count": len(by_property)})
    for pid, found in by_property.items():
        bookings = sub_element(sub_element(props, "property", {"id": pid}), "bookings")
        for head in found:
            sub_element(bookings, "booking", {**_head_attrs(head), "acknowledge": "0"})
    return to_bytes(root)


# ---------------------------------------------------------------------- booking details


@dataclass(frozen=True)
class AgodaBooking:
    """One GetBookingDetail booking, in Agoda's terms (amounts in minor units)."""

    head: BookingHead
    room_id: str
    rateplan_id: str
    room_count: int
    adults: int
    children: int
    currency: str
    total: int
    nights: tuple[Night, ...] = ()
    customer: GuestDetails = field(default_factory=GuestDetails)
    requests: tuple[str, ...] = ()
    raw: bytes = b""

    def to_inbound(self) -> InboundReservation:
        """The booking as the inbound pipeline takes it (one room stay per room booked)."""
        head = self.head
        if head.arrival is None or head.departure is None:
            raise AgodaCodecError(f"Booking {head.booking_id} has no arrival or departure.")
        count = max(self.room_count, 1)
        rooms = []
        for n in range(count):
            nights = tuple(
                Night(night.date, night.price // count + (1 if n < night.price % count else 0))
                for night in self.nights
            )
            rooms.append(
                InboundRoomStay(
                    partner_room_id=self.room_id,
                    partner_rate_id=self.rateplan_id,
                    check_in=head.arrival,
                    check_out=head.departure,
                    adults=max(self.adults // count + (1 if n < self.adults % count else 0), 1),
                    children=self.children // count + (1 if n < self.children % count else 0),
                    nights=nights,
                    index=str(n + 1),
                )
            )
        return InboundReservation(
            partner_reservation_id=head.booking_id,
            revision=head.revision,
            kind=STATUS_KIND[head.status],
            currency=self.currency,
            total=self.total,
            guest=self.customer,
            rooms=tuple(rooms),
            special_requests="; ".join(self.requests),
            booked_at=head.booking_date,
            revised_at=head.last_action,
            raw=self.raw,
        )


@dataclass(frozen=True)
class DetailFailure:
    """A booking of a detail answer that could not be read."""

    booking_id: str
    reason: str
    raw: bytes


def _booking(el: etree._Element, property_id: str) -> AgodaBooking:
    head = _head(el, property_id)
    prices = el.find("prices")
    currency = (prices.get("currency", "") if prices is not None else "").upper()
    total_text = ""
    nights: list[Night] = []
    if prices is not None:
        total_text = prices.get("sell_inclusive_amt") or prices.get("net_inclusive_amt") or ""
        for price in prices.findall("price"):
            if price.get("type", "Room") != "Room":
                continue
            text = price.get("sell_inclusive_amt") or price.get("net_inclusive_amt") or ""
            nights.append(
                Night(_date(price.get("date"), "price@date"), minor_units(text, currency))
            )
    customer = el.find("customer")
    guest = GuestDetails(
        given_name=customer.get("first_name", "") if customer is not None else "",
        surname=customer.get("last_name", "") if customer is not None else "",
        country=(customer.get("nationality", "") if customer is not None else "")[:2],
    )

    def count(name: str, default: int = 0) -> int:
        text = (el.get(name) or "").strip()
        if not text:
            return default
        if not text.isdigit():
            raise AgodaCodecError(f"Booking {head.booking_id}: {name} is not a count: {text!r}.")
        return int(text)

    return AgodaBooking(
        head=head,
        room_id=el.get("room_id", ""),
        rateplan_id=el.get("rateplan_id", ""),
        room_count=count("room_count", 1),
        adults=count("adults", 1),
        children=count("children"),
        currency=currency,
        total=minor_units(total_text, currency) if total_text else 0,
        nights=tuple(sorted(nights, key=lambda n: n.date)),
        customer=guest,
        requests=tuple(
            r.get("request_name", "") for r in el.iter("request") if r.get("request_name")
        ),
        raw=etree.tostring(el),
    )


def parse_booking_detail(body: bytes) -> tuple[list[AgodaBooking], list[DetailFailure]]:
    """GetBookingDetail's answer: the bookings read, and those that could not be."""
    root = parse_xml(body)
    if root.tag != "result":
        raise AgodaCodecError(f"The answer's root is <{root.tag}>, not <result>.")
    errors = root.find("errors")
    if errors is not None:
        raise AgodaCodecError(
            "; ".join(f"{e.get('code')} {e.get('description')}" for e in errors.iter("error"))
        )
    found, failed = [], []
    for pid, el in _bookings_by_property(root):
        try:
            found.append(_booking(el, pid))
        except AgodaCodecError as exc:
            failed.append(DetailFailure(el.get("booking_id", ""), str(exc), etree.tostring(el)))
    return found, failed


def build_booking_detail_answer(bookings: Sequence[AgodaBooking], now=None) -> bytes:
    """GetBookingDetail's answer (the simulator's), times in ICT."""
    root = element("result", {"timestamp": timestamp_ms(now)})
    by_property: dict[str, list[AgodaBooking]] = {}
    for booking in bookings:
        by_property.setdefault(booking.head.property_id, []).append(booking)
    props = sub_element(root, "properties", {"count": len(by_property)})
    for pid, found in by_property.items():
        holder = sub_element(sub_element(props, "property", {"id": pid}), "bookings")
        for b in found:
            el = sub_element(
                holder,
                "booking",
                {
                    "property_id": pid,
                    **_head_attrs(b.head),
                    "acknowledge": "0",
                    "room_id": b.room_id,
                    "rateplan_id": b.rateplan_id,
                    "room_count": b.room_count,
                    "adults": b.adults,
                    "children": b.children,
                    "extrabeds": 0,
                },
            )
            sub_element(
                el,
                "customer",
                {
                    "first_name": b.customer.given_name,
                    "last_name": b.customer.surname,
                    "nationality": b.customer.country or None,
                },
            )
            if b.requests:
                reqs = sub_element(el, "requests")
                for text in b.requests:
                    sub_element(reqs, "request", {"request_name": text})
            prices = sub_element(
                el,
                "prices",
                {"currency": b.currency, "sell_inclusive_amt": amount(b.total, b.currency)},
            )
            for night in b.nights:
                sub_element(
                    prices,
                    "price",
                    {
                        "date": night.date,
                        "type": "Room",
                        "sell_inclusive_amt": amount(night.price, b.currency),
                    },
                )
    return to_bytes(root)


# ---------------------------------------------------------------------- token exchange


def token_request(client_id: str, client_secret: str) -> dict[str, str]:
    """The exchange's JSON body."""
    return {"clientId": client_id, "clientSecret": client_secret}


def token_answer(data: object) -> str:
    """The token of an exchange answer (``{"success": true, "token": ...}``), or raise."""
    if not isinstance(data, dict):
        raise AgodaCodecError("The exchange's answer is not a JSON object.")
    token = data.get("token")
    if data.get("success") is not True or not isinstance(token, str) or not token:
        raise AgodaCodecError(
            f"The exchange refused: responseCode {data.get('responseCode')!r}, "
            f"code {data.get('code')!r}."
        )
    return token
