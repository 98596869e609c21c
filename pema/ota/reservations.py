"""Reservations: OTA_HotelResNotifRQ/RS (create, modify) and OTA_CancelRQ/RS.

``OTA_HotelResNotifRQ@ResStatus`` is ``Commit`` for a new reservation and
``Modify`` for a change. Pema sends one ``HotelReservation`` with one
``RoomStay`` per group of identical rooms (:class:`ResNotifRoomStay`)::

  RoomStays/RoomStay (one per group of rooms alike in everything)
    RoomTypes/RoomType@RoomTypeCode@NumberOfUnits
    RatePlans/RatePlan@RatePlanCode
    RoomRates/RoomRate@RoomTypeCode@RatePlanCode/Rates/Rate   (one per night)
      @EffectiveDate@ExpireDate@RateTimeUnit="Day"  Base@AmountAfterTax (one room)
    GuestCounts[@IsPerRoom="true" when NumberOfUnits > 1]
      /GuestCount@AgeQualifyingCode(10 adult, 8 child)@Count    (per room)
    TimeSpan@Start@End                  (End = departure date)
    Total@AmountAfterTax@CurrencyCode@DecimalPlaces   (the group's rooms together)
    BasicPropertyInfo@HotelCode
    SpecialRequests/SpecialRequest/Text   (one RoomStay only, see below)
  ResGuests/ResGuest/Profiles/ProfileInfo/Profile/Customer
    PersonName/GivenName,Surname  Telephone@PhoneNumber  Email  Address/CountryName@Code
  ResGlobalInfo
    SpecialRequests, Total                (several RoomStays, see below)
    HotelReservationIDs/HotelReservationID
      @ResID_Type="40" (UIT "confirmation number") = Pema's confirmation number,
      @ResID_Type="14" (UIT "reservation") = the PMS reference, once known.

Why groups and ``NumberOfUnits``: that is how a PMS books a block of like
rooms, and it keeps a same-type multi-room message what it always was. Rooms
that differ in room type, rate plan, dates, guests or nightly prices get a
RoomStay each, so a mixed reservation reaches the PMS room type by room type;
:func:`merge_identical_room_stays` does the grouping for a caller that has one
stay per room. Guest counts and nightly rates are per room (``IsPerRoom``
says so whenever it matters); a RoomStay's ``Total`` is its rooms together.

A message of one RoomStay is byte for byte what Pema sent before RoomStays
were lists: the reservation's special requests and total sit in the RoomStay
(``ResGlobalInfo/Total`` only appears if the reservation's total is not that
RoomStay's). With several RoomStays, reservation-wide values go where 2011B
puts them, in ``ResGlobalInfo``. The parser reads either layout.

:class:`HotelResNotifRQ` keeps its one-stay fields (``room_type_code``,
``rate_plan_code``, ``start``, ``end``, ``adults``, ``children``, ``rooms``):
given without ``room_stays`` they describe the single RoomStay; given
``room_stays`` they are derived from it (first stay's codes, the whole
span, the largest room's guests as on a Pema reservation, the rooms
counted), so a reader that knows only one room type still reads sense.

Type 40 was chosen for our number because it is what it is: the confirmation
number the guest holds; 14 is the partner's own reservation record, which is
how the IDS Next answer (``OTA_HotelResNotifRS``) returns its reference.

``OTA_CancelRQ@CancelType="Cancel"`` names the reservation by the PMS
reference (``UniqueID@Type="14"``), optionally with our confirmation number
(``Type="40"``). ``OTA_CancelRS@Status="Cancelled"`` echoes the reservation and
returns the partner's cancellation number as ``CancelInfoRS/UniqueID@Type="15"``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from lxml import etree

from pema.ota.common import (
    AQC_ADULT,
    AQC_CHILD,
    OTA_NS,
    OTA_VERSION,
    UIT_CANCELLATION,
    UIT_CONFIRMATION_NUMBER,
    UIT_RESERVATION,
    OTAParseError,
    OTAResponse,
    add_envelope_start,
    find,
    findall,
    minor_to_decimal,
    money_attrs,
    new_root,
    parse_root,
    read_amount,
    read_date,
    read_header,
    read_int,
    read_response,
    text_of,
)
from pema.xml import sub_element, to_bytes

RES_NOTIF_RQ = "OTA_HotelResNotifRQ"
RES_NOTIF_RS = "OTA_HotelResNotifRS"
CANCEL_RQ = "OTA_CancelRQ"
CANCEL_RS = "OTA_CancelRS"

RES_STATUS_COMMIT = "Commit"
RES_STATUS_MODIFY = "Modify"
CANCEL_STATUS_CANCELLED = "Cancelled"
# OTA TransactionStatusType has no "failed" as such; Unsuccessful is the closest.
CANCEL_STATUS_UNSUCCESSFUL = "Unsuccessful"


@dataclass(frozen=True, kw_only=True)
class GuestProfile:
    surname: str
    given_name: str | None = None
    email: str | None = None
    phone: str | None = None
    country: str | None = None  # ISO 3166 alpha-2


@dataclass(frozen=True, kw_only=True)
class NightRate:
    """The price of one night of one room (minor units, after tax)."""

    night: date
    amount: int


@dataclass(frozen=True, kw_only=True)
class ResNotifRoomStay:
    """One ``RoomStay``: ``units`` rooms alike in type, plan, dates, guests and prices.

    ``adults``, ``children`` and ``rates`` are per room; ``total`` is the
    ``units`` rooms together (minor units, after tax, in the request's currency).
    """

    room_type_code: str | None
    rate_plan_code: str | None = None
    start: date | None = None
    end: date | None = None  # departure date
    adults: int = 1
    children: int = 0
    units: int = 1
    rates: tuple[NightRate, ...] = ()
    total: int | None = None


# The one-stay fields of HotelResNotifRQ and their defaults (see the module doc).
_SUMMARY_DEFAULTS = {
    "room_type_code": None,
    "rate_plan_code": None,
    "start": None,
    "end": None,
    "adults": 1,
    "children": 0,
    "rooms": 1,
}


@dataclass(frozen=True, kw_only=True)
class HotelResNotifRQ:
    """One reservation to create or modify.

    Either the one-stay fields or ``room_stays`` (see the module doc). With
    ``room_stays`` the one-stay fields are derived, and a value passed for one
    that disagrees raises ``ValueError``; so does ``dataclasses.replace`` of a
    one-stay field, as the stays already say it: build a new request instead.
    """

    res_status: str | None  # Commit / Modify
    confirmation_number: str | None
    hotel_code: str | None
    room_type_code: str | None = None
    rate_plan_code: str | None = None
    start: date | None = None
    end: date | None = None  # departure date
    adults: int = 1
    children: int = 0
    rooms: int = 1
    room_stays: tuple[ResNotifRoomStay, ...] = ()
    guest: GuestProfile | None = None
    special_requests: tuple[str, ...] = ()
    total: int | None = None  # minor units, after tax, the whole reservation
    currency: str | None = None
    pms_reference: str | None = None  # sent on Modify once IDS Next gave us one
    echo_token: str | None = None
    timestamp: datetime | None = None
    version: str = OTA_VERSION

    def __post_init__(self) -> None:
        if not self.room_stays:
            # The one-stay form: the flat fields are the RoomStay.
            stay = ResNotifRoomStay(
                room_type_code=self.room_type_code,
                rate_plan_code=self.rate_plan_code,
                start=self.start,
                end=self.end,
                adults=self.adults,
                children=self.children,
                units=self.rooms,
                total=self.total,
            )
            object.__setattr__(self, "room_stays", (stay,))
            return
        stays = self.room_stays
        starts = [s.start for s in stays if s.start]
        ends = [s.end for s in stays if s.end]
        summary = {
            "room_type_code": stays[0].room_type_code,
            "rate_plan_code": stays[0].rate_plan_code,
            "start": min(starts) if starts else None,
            "end": max(ends) if ends else None,
            "adults": max(s.adults for s in stays),
            "children": max(s.children for s in stays),
            "rooms": sum(s.units for s in stays),
        }
        for name, value in summary.items():
            given = getattr(self, name)
            if given != _SUMMARY_DEFAULTS[name] and given != value:
                raise ValueError(f"{name}={given!r} disagrees with room_stays ({value!r})")
            object.__setattr__(self, name, value)
        object.__setattr__(self, "room_stays", tuple(stays))
        if self.total is None and all(s.total is not None for s in stays):
            object.__setattr__(self, "total", sum(s.total or 0 for s in stays))


def merge_identical_room_stays(stays: Iterable[ResNotifRoomStay]) -> tuple[ResNotifRoomStay, ...]:
    """One stay per group of stays that differ only in ``units`` and ``total``, in first order.

    Units add up, and so do totals (None if any stay of the group has none).
    """
    groups: dict[ResNotifRoomStay, list[ResNotifRoomStay]] = {}
    for stay in stays:
        groups.setdefault(replace(stay, units=1, total=None), []).append(stay)
    merged = []
    for key, members in groups.items():
        totals = [m.total for m in members]
        merged.append(
            replace(
                key,
                units=sum(m.units for m in members),
                total=None if None in totals else sum(t or 0 for t in totals),
            )
        )
    return tuple(merged)


@dataclass(frozen=True, kw_only=True)
class ResNotifResult:
    pms_reference: str | None
    confirmation_number: str | None = None
    res_response_type: str | None = None  # Committed / Modified / ...


@dataclass(frozen=True, kw_only=True)
class CancelRQ:
    pms_reference: str
    confirmation_number: str | None = None
    cancel_type: str = "Cancel"
    echo_token: str | None = None
    timestamp: datetime | None = None
    version: str = OTA_VERSION


@dataclass(frozen=True, kw_only=True)
class CancelResult:
    status: str
    pms_reference: str | None = None
    cancellation_number: str | None = None


# ------------------------------------------------------------------- ResNotif


def _add_reservation_ids(
    parent: etree._Element,
    confirmation_number: str | None,
    pms_reference: str | None,
    glob: etree._Element | None = None,
) -> None:
    """``ResGlobalInfo/HotelReservationIDs`` under ``parent`` (into ``glob`` if already made)."""
    if not confirmation_number and not pms_reference:
        return
    if glob is None:
        glob = sub_element(parent, "ResGlobalInfo")
    ids = sub_element(glob, "HotelReservationIDs")
    if confirmation_number:
        sub_element(
            ids,
            "HotelReservationID",
            {"ResID_Type": UIT_CONFIRMATION_NUMBER, "ResID_Value": confirmation_number},
        )
    if pms_reference:
        sub_element(
            ids, "HotelReservationID", {"ResID_Type": UIT_RESERVATION, "ResID_Value": pms_reference}
        )


def _read_reservation_ids(res: etree._Element) -> dict[str, str]:
    """``ResID_Type`` -> first ``ResID_Value`` of that type."""
    ids: dict[str, str] = {}
    for el in findall(res, "ResGlobalInfo", "HotelReservationIDs", "HotelReservationID"):
        kind, value = el.get("ResID_Type"), el.get("ResID_Value")
        if kind and value and kind not in ids:
            ids[kind] = value
    return ids


def _add_total(parent: etree._Element, amount: int, currency: str | None) -> None:
    sub_element(
        parent,
        "Total",
        {"AmountAfterTax": minor_to_decimal(amount, currency), **money_attrs(currency)},
    )


def _add_special_requests(parent: etree._Element, texts: tuple[str, ...]) -> None:
    if texts:
        box = sub_element(parent, "SpecialRequests")
        for text in texts:
            sub_element(sub_element(box, "SpecialRequest"), "Text", text=text)


def _add_room_stay(
    parent: etree._Element,
    stay: ResNotifRoomStay,
    rq: HotelResNotifRQ,
    *,
    total: int | None,
    special_requests: tuple[str, ...],
) -> None:
    el = sub_element(parent, "RoomStay")
    if stay.room_type_code:
        sub_element(
            sub_element(el, "RoomTypes"),
            "RoomType",
            {"RoomTypeCode": stay.room_type_code, "NumberOfUnits": stay.units},
        )
    if stay.rate_plan_code:
        sub_element(sub_element(el, "RatePlans"), "RatePlan", {"RatePlanCode": stay.rate_plan_code})
    if stay.rates:
        room_rate = sub_element(
            sub_element(el, "RoomRates"),
            "RoomRate",
            {"RoomTypeCode": stay.room_type_code, "RatePlanCode": stay.rate_plan_code},
        )
        rates = sub_element(room_rate, "Rates")
        for rate in stay.rates:
            line = sub_element(
                rates,
                "Rate",
                {
                    "EffectiveDate": rate.night,
                    "ExpireDate": rate.night + timedelta(days=1),
                    "RateTimeUnit": "Day",
                    "UnitMultiplier": 1,
                },
            )
            sub_element(
                line,
                "Base",
                {
                    "AmountAfterTax": minor_to_decimal(rate.amount, rq.currency),
                    **money_attrs(rq.currency),
                },
            )
    # Per room, and said so where "per room" and "all rooms" would differ.
    counts = sub_element(el, "GuestCounts", {"IsPerRoom": True} if stay.units > 1 else None)
    sub_element(counts, "GuestCount", {"AgeQualifyingCode": AQC_ADULT, "Count": stay.adults})
    if stay.children:
        sub_element(counts, "GuestCount", {"AgeQualifyingCode": AQC_CHILD, "Count": stay.children})
    if stay.start or stay.end:
        sub_element(el, "TimeSpan", {"Start": stay.start, "End": stay.end})
    if total is not None:
        _add_total(el, total, rq.currency)
    if rq.hotel_code:
        sub_element(el, "BasicPropertyInfo", {"HotelCode": rq.hotel_code})
    _add_special_requests(el, special_requests)


def build_hotel_res_notif_rq(rq: HotelResNotifRQ) -> bytes:
    root = new_root(
        RES_NOTIF_RQ,
        echo_token=rq.echo_token,
        timestamp=rq.timestamp,
        version=rq.version,
        extra={"ResStatus": rq.res_status},
    )
    res = sub_element(sub_element(root, "HotelReservations"), "HotelReservation")
    stays = sub_element(res, "RoomStays")
    single = len(rq.room_stays) == 1
    global_total = rq.total
    for stay in rq.room_stays:
        stay_total = stay.total
        if single:
            # One RoomStay carries the reservation's requests and total, as it always did.
            stay_total = stay.total if stay.total is not None else rq.total
            if global_total == stay_total:
                global_total = None
        _add_room_stay(
            stays,
            stay,
            rq,
            total=stay_total,
            special_requests=rq.special_requests if single else (),
        )
    if rq.guest is not None:
        res_guest = sub_element(
            sub_element(res, "ResGuests"),
            "ResGuest",
            {"AgeQualifyingCode": AQC_ADULT, "PrimaryIndicator": True},
        )
        profile = sub_element(
            sub_element(sub_element(res_guest, "Profiles"), "ProfileInfo"),
            "Profile",
            {"ProfileType": "1"},  # PRT 1 = customer
        )
        customer = sub_element(profile, "Customer")
        name = sub_element(customer, "PersonName")
        if rq.guest.given_name:
            sub_element(name, "GivenName", text=rq.guest.given_name)
        sub_element(name, "Surname", text=rq.guest.surname)
        if rq.guest.phone:
            sub_element(customer, "Telephone", {"PhoneNumber": rq.guest.phone})
        if rq.guest.email:
            sub_element(customer, "Email", text=rq.guest.email)
        if rq.guest.country:
            address = sub_element(customer, "Address")
            sub_element(address, "CountryName", {"Code": rq.guest.country})
    glob = None
    requests_global = rq.special_requests and not single
    if requests_global or global_total is not None:
        glob = sub_element(res, "ResGlobalInfo")
        if requests_global:
            _add_special_requests(glob, rq.special_requests)
        if global_total is not None:
            _add_total(glob, global_total, rq.currency)
    _add_reservation_ids(res, rq.confirmation_number, rq.pms_reference, glob)
    return to_bytes(root)


def _read_guest(res: etree._Element) -> GuestProfile | None:
    customers = findall(
        res, "ResGuests", "ResGuest", "Profiles", "ProfileInfo", "Profile", "Customer"
    )
    if not customers:
        return None
    # The primary guest if one is flagged, else the first.
    primary = customers[0]
    for customer in customers:
        res_guest = customer.getparent().getparent().getparent().getparent()
        if (res_guest.get("PrimaryIndicator") or "").lower() in ("true", "1"):
            primary = customer
            break
    name = find(primary, "PersonName")
    phone = find(primary, "Telephone")
    country = find(primary, "Address", "CountryName")
    return GuestProfile(
        surname=(text_of(find(name, "Surname")) or "") if name is not None else "",
        given_name=text_of(find(name, "GivenName")) if name is not None else None,
        email=text_of(find(primary, "Email")),
        phone=phone.get("PhoneNumber") if phone is not None else None,
        country=(country.get("Code") or text_of(country)) if country is not None else None,
    )


def _special_requests(parent: etree._Element | None) -> list[str]:
    if parent is None:
        return []
    texts = (
        text_of(find(sr, "Text")) for sr in findall(parent, "SpecialRequests", "SpecialRequest")
    )
    return [t for t in texts if t]


# No stay is longer than this; a rate range past it is a malformed message.
MAX_RATE_NIGHTS = 366


def _read_rates(stay: etree._Element, currency: str | None) -> tuple[NightRate, ...]:
    """Per-night prices of one room: ``Rate`` ranges (``ExpireDate`` exclusive) cut into nights.

    A rate without a date or an amount says nothing per night and is left out. A range
    longer than any stay (``MAX_RATE_NIGHTS``) is refused rather than cut into nights:
    a sender's ``ExpireDate`` of 9999-12-31 must not become millions of rows in memory.
    """
    nights: list[NightRate] = []
    for room_rate in findall(stay, "RoomRates", "RoomRate"):
        for rate in findall(room_rate, "Rates", "Rate"):
            first = read_date(rate.get("EffectiveDate") or room_rate.get("EffectiveDate"))
            base = find(rate, "Base")
            if first is None or base is None:
                continue
            amount = read_amount(base, "AmountAfterTax", currency)
            if amount is None:
                amount = read_amount(base, "AmountBeforeTax", currency)
            if amount is None:
                continue
            last = read_date(rate.get("ExpireDate") or room_rate.get("ExpireDate"))
            if last is not None and (last - first).days > MAX_RATE_NIGHTS:
                raise OTAParseError(
                    f"Rate {first.isoformat()} to {last.isoformat()} spans more than "
                    f"{MAX_RATE_NIGHTS} nights"
                )
            night = first
            while True:
                nights.append(NightRate(night=night, amount=amount))
                night += timedelta(days=1)
                if last is None or night >= last:
                    break
    return tuple(nights)


def _read_room_stay(stay: etree._Element, currency: str | None) -> ResNotifRoomStay:
    room_type = find(stay, "RoomTypes", "RoomType")
    rate_plan = find(stay, "RatePlans", "RatePlan")
    time_span = find(stay, "TimeSpan")
    total_el = find(stay, "Total")
    units = (read_int(room_type.get("NumberOfUnits")) if room_type is not None else None) or 1
    adults = children = 0
    for gc in findall(stay, "GuestCounts", "GuestCount"):
        count = read_int(gc.get("Count")) or 0
        if read_int(gc.get("AgeQualifyingCode")) in (None, AQC_ADULT):
            adults += count
        else:
            children += count
    counts = find(stay, "GuestCounts")
    if (
        units > 1
        and counts is not None
        and (counts.get("IsPerRoom") or "").lower()
        in (
            "false",
            "0",
        )
    ):
        # Counts for all the rooms together: per room, rounded up.
        adults, children = -(-adults // units), -(-children // units)
    return ResNotifRoomStay(
        room_type_code=room_type.get("RoomTypeCode") if room_type is not None else None,
        rate_plan_code=rate_plan.get("RatePlanCode") if rate_plan is not None else None,
        start=read_date(time_span.get("Start")) if time_span is not None else None,
        end=read_date(time_span.get("End")) if time_span is not None else None,
        adults=adults or 1,
        children=children,
        units=units,
        rates=_read_rates(stay, currency),
        total=read_amount(total_el, "AmountAfterTax", currency) if total_el is not None else None,
    )


def parse_hotel_res_notif_rq(data: bytes | str) -> HotelResNotifRQ:
    root = parse_root(data, RES_NOTIF_RQ)
    res = find(root, "HotelReservations", "HotelReservation")
    if res is None:
        raise OTAParseError("OTA_HotelResNotifRQ without HotelReservation")
    stay_els = findall(res, "RoomStays", "RoomStay")
    glob = find(res, "ResGlobalInfo")
    global_total = find(glob, "Total") if glob is not None else None
    currency = None
    for el in [global_total, *(find(s, "Total") for s in stay_els)]:
        if el is not None and el.get("CurrencyCode"):
            currency = el.get("CurrencyCode")
            break
    stays = tuple(_read_room_stay(el, currency) for el in stay_els)
    if not stays:
        stays = (ResNotifRoomStay(room_type_code=None),)
    if currency is None:
        rate_bases = res.xpath(
            "./o:RoomStays/o:RoomStay/o:RoomRates/o:RoomRate/o:Rates/o:Rate/o:Base/@CurrencyCode",
            namespaces={"o": OTA_NS},
        )
        currency = rate_bases[0] if rate_bases else None
    special: list[str] = []
    for text in [*(t for s in stay_els for t in _special_requests(s)), *_special_requests(glob)]:
        if text not in special:
            special.append(text)
    prop = find(stay_els[0], "BasicPropertyInfo") if stay_els else None
    ids = _read_reservation_ids(res)
    return HotelResNotifRQ(
        res_status=root.get("ResStatus") or res.get("ResStatus"),
        confirmation_number=ids.get(UIT_CONFIRMATION_NUMBER),
        pms_reference=ids.get(UIT_RESERVATION),
        hotel_code=prop.get("HotelCode") if prop is not None else None,
        room_stays=stays,
        guest=_read_guest(res),
        special_requests=tuple(special),
        total=read_amount(global_total, "AmountAfterTax", currency)
        if global_total is not None
        else None,
        currency=currency,
        **read_header(root),
    )


def build_hotel_res_notif_rs(rs: OTAResponse[ResNotifResult]) -> bytes:
    extra = {"ResResponseType": rs.data.res_response_type if rs.data and rs.success else None}
    root = new_root(
        RES_NOTIF_RS,
        echo_token=rs.echo_token,
        timestamp=rs.timestamp,
        version=rs.version,
        extra=extra,
    )
    if add_envelope_start(root, rs) and rs.data is not None:
        res = sub_element(sub_element(root, "HotelReservations"), "HotelReservation")
        _add_reservation_ids(res, rs.data.confirmation_number, rs.data.pms_reference)
    return to_bytes(root)


def _read_res_notif_result(root: etree._Element) -> ResNotifResult:
    res = find(root, "HotelReservations", "HotelReservation")
    ids = _read_reservation_ids(res) if res is not None else {}
    return ResNotifResult(
        pms_reference=ids.get(UIT_RESERVATION),
        confirmation_number=ids.get(UIT_CONFIRMATION_NUMBER),
        res_response_type=root.get("ResResponseType"),
    )


def parse_hotel_res_notif_rs(data: bytes | str) -> OTAResponse[ResNotifResult]:
    return read_response(data, RES_NOTIF_RS, _read_res_notif_result)


# --------------------------------------------------------------------- Cancel


def build_cancel_rq(rq: CancelRQ) -> bytes:
    root = new_root(
        CANCEL_RQ,
        echo_token=rq.echo_token,
        timestamp=rq.timestamp,
        version=rq.version,
        extra={"CancelType": rq.cancel_type},
    )
    sub_element(root, "UniqueID", {"Type": UIT_RESERVATION, "ID": rq.pms_reference})
    if rq.confirmation_number:
        sub_element(
            root, "UniqueID", {"Type": UIT_CONFIRMATION_NUMBER, "ID": rq.confirmation_number}
        )
    return to_bytes(root)


def _unique_ids(parent: etree._Element) -> dict[str, str]:
    ids: dict[str, str] = {}
    for el in findall(parent, "UniqueID"):
        kind, value = el.get("Type"), el.get("ID")
        if kind and value and kind not in ids:
            ids[kind] = value
    return ids


def parse_cancel_rq(data: bytes | str) -> CancelRQ:
    root = parse_root(data, CANCEL_RQ)
    ids = _unique_ids(root)
    reference = ids.get(UIT_RESERVATION)
    if reference is None:
        raise OTAParseError("OTA_CancelRQ without a UniqueID of Type 14")
    return CancelRQ(
        pms_reference=reference,
        confirmation_number=ids.get(UIT_CONFIRMATION_NUMBER),
        cancel_type=root.get("CancelType") or "Cancel",
        **read_header(root),
    )


def build_cancel_rs(rs: OTAResponse[CancelResult]) -> bytes:
    ok = rs.success and rs.data is not None
    status = rs.data.status if ok else CANCEL_STATUS_UNSUCCESSFUL
    root = new_root(
        CANCEL_RS,
        echo_token=rs.echo_token,
        timestamp=rs.timestamp,
        version=rs.version,
        extra={"Status": status},  # required by the schema, errors included
    )
    if add_envelope_start(root, rs) and rs.data is not None:
        if rs.data.pms_reference:
            sub_element(root, "UniqueID", {"Type": UIT_RESERVATION, "ID": rs.data.pms_reference})
        if rs.data.cancellation_number:
            info = sub_element(root, "CancelInfoRS")
            sub_element(
                info, "UniqueID", {"Type": UIT_CANCELLATION, "ID": rs.data.cancellation_number}
            )
    return to_bytes(root)


def _read_cancel_result(root: etree._Element) -> CancelResult:
    ids = _unique_ids(root)
    info = find(root, "CancelInfoRS")
    info_ids = _unique_ids(info) if info is not None else {}
    return CancelResult(
        status=root.get("Status") or "",
        pms_reference=ids.get(UIT_RESERVATION),
        # OpenTravel's samples put a Type 14 in CancelInfoRS; ours is Type 15.
        cancellation_number=info_ids.get(UIT_CANCELLATION) or ids.get(UIT_CANCELLATION),
    )


def parse_cancel_rs(data: bytes | str) -> OTAResponse[CancelResult]:
    return read_response(data, CANCEL_RS, _read_cancel_result)
