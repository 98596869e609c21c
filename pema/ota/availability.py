"""OTA_HotelAvailRQ / OTA_HotelAvailRS: ask the partner what it can sell for a stay.

Request layout (one ``AvailRequestSegment``)::

    HotelSearchCriteria/Criterion/HotelRef@HotelCode
    StayDateRange@Start@End                       (End = departure date)
    RatePlanCandidates/RatePlanCandidate@RatePlanCode      (optional)
    RoomStayCandidates/RoomStayCandidate@RoomTypeCode@Quantity
        GuestCounts/GuestCount@AgeQualifyingCode(10 adult, 8 child)@Count

Response: one ``RoomStay`` per room type (and rate plan, where the partner
prices it) with ``RoomTypes/RoomType@NumberOfUnits`` = rooms available for the
whole stay, ``RoomRates/RoomRate/Rates/Rate`` per night (``EffectiveDate``,
``ExpireDate`` exclusive, ``Base@AmountAfterTax``) and ``Total@AmountAfterTax``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from lxml import etree

from pema.ota.common import (
    AQC_ADULT,
    AQC_CHILD,
    OTA_VERSION,
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
)
from pema.xml import sub_element, to_bytes

HOTEL_AVAIL_RQ = "OTA_HotelAvailRQ"
HOTEL_AVAIL_RS = "OTA_HotelAvailRS"


@dataclass(frozen=True, kw_only=True)
class HotelAvailRQ:
    hotel_code: str
    start: date
    end: date
    adults: int = 1
    children: int = 0
    rooms: int = 1
    room_type_code: str | None = None
    rate_plan_code: str | None = None
    echo_token: str | None = None
    timestamp: datetime | None = None
    version: str = OTA_VERSION


@dataclass(frozen=True, kw_only=True)
class AvailRate:
    """One priced span; the sandbox and Pema use one night each (expire = effective + 1)."""

    effective_date: date | None
    expire_date: date | None
    amount: int  # minor units, after tax where the partner says so


@dataclass(frozen=True, kw_only=True)
class AvailRoomStay:
    room_type_code: str | None
    units_available: int | None = None
    rate_plan_code: str | None = None
    currency: str | None = None
    rates: tuple[AvailRate, ...] = ()
    total: int | None = None  # minor units


@dataclass(frozen=True, kw_only=True)
class HotelAvailResult:
    room_stays: tuple[AvailRoomStay, ...] = ()

    def units_for(self, room_type_code: str) -> int:
        """Rooms available for ``room_type_code`` (0 when the partner did not list it)."""
        units = [
            rs.units_available or 0 for rs in self.room_stays if rs.room_type_code == room_type_code
        ]
        return max(units, default=0)


def build_hotel_avail_rq(rq: HotelAvailRQ) -> bytes:
    root = new_root(
        HOTEL_AVAIL_RQ, echo_token=rq.echo_token, timestamp=rq.timestamp, version=rq.version
    )
    segment = sub_element(sub_element(root, "AvailRequestSegments"), "AvailRequestSegment")
    criterion = sub_element(sub_element(segment, "HotelSearchCriteria"), "Criterion")
    sub_element(criterion, "HotelRef", {"HotelCode": rq.hotel_code})
    sub_element(segment, "StayDateRange", {"Start": rq.start, "End": rq.end})
    if rq.rate_plan_code:
        candidates = sub_element(segment, "RatePlanCandidates")
        sub_element(candidates, "RatePlanCandidate", {"RatePlanCode": rq.rate_plan_code})
    candidate = sub_element(
        sub_element(segment, "RoomStayCandidates"),
        "RoomStayCandidate",
        {"RoomTypeCode": rq.room_type_code, "Quantity": rq.rooms},
    )
    counts = sub_element(candidate, "GuestCounts")
    sub_element(counts, "GuestCount", {"AgeQualifyingCode": AQC_ADULT, "Count": rq.adults})
    if rq.children:
        sub_element(counts, "GuestCount", {"AgeQualifyingCode": AQC_CHILD, "Count": rq.children})
    return to_bytes(root)


def parse_hotel_avail_rq(data: bytes | str) -> HotelAvailRQ:
    root = parse_root(data, HOTEL_AVAIL_RQ)
    segment = find(root, "AvailRequestSegments", "AvailRequestSegment")
    if segment is None:
        raise OTAParseError("OTA_HotelAvailRQ without AvailRequestSegment")
    hotel_ref = find(segment, "HotelSearchCriteria", "Criterion", "HotelRef")
    stay = find(segment, "StayDateRange")
    start = read_date(stay.get("Start")) if stay is not None else None
    end = read_date(stay.get("End")) if stay is not None else None
    if start is None or end is None:
        raise OTAParseError("OTA_HotelAvailRQ needs StayDateRange Start and End")
    rate_plan = find(segment, "RatePlanCandidates", "RatePlanCandidate")
    candidate = find(segment, "RoomStayCandidates", "RoomStayCandidate")
    adults, children, rooms, room_type = 0, 0, 1, None
    if candidate is not None:
        room_type = candidate.get("RoomTypeCode")
        rooms = read_int(candidate.get("Quantity")) or 1
        for gc in findall(candidate, "GuestCounts", "GuestCount"):
            count = read_int(gc.get("Count")) or 0
            # A count without an age code is an adult count (as in OpenTravel's samples).
            if read_int(gc.get("AgeQualifyingCode")) in (None, AQC_ADULT):
                adults += count
            else:
                children += count
    return HotelAvailRQ(
        hotel_code=(hotel_ref.get("HotelCode") or "") if hotel_ref is not None else "",
        start=start,
        end=end,
        adults=adults or 1,
        children=children,
        rooms=rooms,
        room_type_code=room_type,
        rate_plan_code=rate_plan.get("RatePlanCode") if rate_plan is not None else None,
        **read_header(root),
    )


def build_hotel_avail_rs(rs: OTAResponse[HotelAvailResult]) -> bytes:
    root = new_root(
        HOTEL_AVAIL_RS, echo_token=rs.echo_token, timestamp=rs.timestamp, version=rs.version
    )
    if not add_envelope_start(root, rs) or rs.data is None or not rs.data.room_stays:
        return to_bytes(root)
    stays = sub_element(root, "RoomStays")
    for stay in rs.data.room_stays:
        el = sub_element(stays, "RoomStay")
        sub_element(
            sub_element(el, "RoomTypes"),
            "RoomType",
            {"RoomTypeCode": stay.room_type_code, "NumberOfUnits": stay.units_available},
        )
        if stay.rate_plan_code:
            sub_element(
                sub_element(el, "RatePlans"), "RatePlan", {"RatePlanCode": stay.rate_plan_code}
            )
        if stay.rates:
            room_rate = sub_element(
                sub_element(el, "RoomRates"),
                "RoomRate",
                {
                    "RoomTypeCode": stay.room_type_code,
                    "RatePlanCode": stay.rate_plan_code,
                    "NumberOfUnits": stay.units_available,
                },
            )
            rates = sub_element(room_rate, "Rates")
            for rate in stay.rates:
                rate_el = sub_element(
                    rates,
                    "Rate",
                    {
                        "EffectiveDate": rate.effective_date,
                        "ExpireDate": rate.expire_date,
                        # Our ExpireDate is the morning after the night priced.
                        "ExpireDateExclusiveIndicator": True if rate.expire_date else None,
                    },
                )
                sub_element(
                    rate_el,
                    "Base",
                    {
                        "AmountAfterTax": minor_to_decimal(rate.amount, stay.currency),
                        **money_attrs(stay.currency),
                    },
                )
        if stay.total is not None:
            sub_element(
                el,
                "Total",
                {
                    "AmountAfterTax": minor_to_decimal(stay.total, stay.currency),
                    **money_attrs(stay.currency),
                },
            )
    return to_bytes(root)


def _read_room_stay(el: etree._Element) -> AvailRoomStay:
    room_type = find(el, "RoomTypes", "RoomType")
    room_rate = find(el, "RoomRates", "RoomRate")
    rate_plan = find(el, "RatePlans", "RatePlan")
    code = room_type.get("RoomTypeCode") if room_type is not None else None
    units = read_int(room_type.get("NumberOfUnits")) if room_type is not None else None
    plan = rate_plan.get("RatePlanCode") if rate_plan is not None else None
    if room_rate is not None:
        code = code or room_rate.get("RoomTypeCode")
        plan = plan or room_rate.get("RatePlanCode")
        if units is None:
            units = read_int(room_rate.get("NumberOfUnits"))
    currency: str | None = None
    rates = []
    for rate_el in findall(el, "RoomRates", "RoomRate", "Rates", "Rate"):
        base = find(rate_el, "Base")
        if base is None:
            continue
        currency = currency or base.get("CurrencyCode")
        amount = read_amount(base, "AmountAfterTax", currency)
        if amount is None:
            # Some partners (and OpenTravel's samples) quote before tax only.
            amount = read_amount(base, "AmountBeforeTax", currency)
        if amount is None:
            continue
        rates.append(
            AvailRate(
                effective_date=read_date(rate_el.get("EffectiveDate")),
                expire_date=read_date(rate_el.get("ExpireDate")),
                amount=amount,
            )
        )
    total_el = find(el, "Total")
    total = None
    if total_el is not None:
        currency = currency or total_el.get("CurrencyCode")
        total = read_amount(total_el, "AmountAfterTax", currency)
        if total is None:
            total = read_amount(total_el, "AmountBeforeTax", currency)
    return AvailRoomStay(
        room_type_code=code,
        units_available=units,
        rate_plan_code=plan,
        currency=currency,
        rates=tuple(rates),
        total=total,
    )


def _read_result(root: etree._Element) -> HotelAvailResult:
    return HotelAvailResult(
        room_stays=tuple(_read_room_stay(el) for el in findall(root, "RoomStays", "RoomStay"))
    )


def parse_hotel_avail_rs(data: bytes | str) -> OTAResponse[HotelAvailResult]:
    return read_response(data, HOTEL_AVAIL_RS, _read_result)
