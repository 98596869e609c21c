"""ARI pushes: OTA_HotelAvailNotifRQ/RS (availability, restrictions, stay limits)
and OTA_HotelRateAmountNotifRQ/RS (prices).

How Pema's calendar maps onto ``AvailStatusMessage`` (2011B schema order:
``StatusApplicationControl``, ``LengthsOfStay``, ..., ``RestrictionStatus``):

- rooms to sell: ``@BookingLimit`` with ``@BookingLimitMessageType="SetLimit"``;
- stop sell: ``RestrictionStatus@Restriction="Master" @Status="Close"`` (``Open`` lifts it);
- closed to arrival / departure: ``Restriction="Arrival"`` / ``"Departure"``;
- min stay on arrival: ``LengthsOfStay@ArrivalDateBased="true"`` with
  ``LengthOfStay@MinMaxMessageType="SetMinLOS" @Time=N``; min stay through:
  the same with ``ArrivalDateBased="false"``; max stay: ``SetMaxLOS``.

A message holds at most one ``RestrictionStatus`` and one ``LengthsOfStay``, so
a day with stop sell *and* CTA needs two messages; the dispatcher builds them.
``StatusApplicationControl`` carries ``Start``/``End`` (both inclusive),
``InvTypeCode`` (the room type code; ``InvCode`` is read too), ``RatePlanCode``
and the ``Mon Tue Weds Thur Fri Sat Sun`` flags (left out when every day applies).

Rates: one ``RateAmountMessage`` per rate plan x room type x date range, with
``Rates/Rate@CurrencyCode`` and ``BaseByGuestAmts/BaseByGuestAmt@AmountAfterTax``
(optionally per ``NumberOfGuests``), and extra adult / child prices as
``AdditionalGuestAmounts/AdditionalGuestAmount@AgeQualifyingCode@Amount``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from lxml import etree

from pema.ota.common import (
    ALL_DAYS,
    OTA_VERSION,
    DaysOfWeek,
    OTAResponse,
    add_envelope_start,
    find,
    findall,
    minor_to_decimal,
    money_attrs,
    new_root,
    parse_root,
    read_amount,
    read_bool,
    read_date,
    read_header,
    read_int,
    read_response,
)
from pema.xml import sub_element, to_bytes

AVAIL_NOTIF_RQ = "OTA_HotelAvailNotifRQ"
AVAIL_NOTIF_RS = "OTA_HotelAvailNotifRS"
RATE_AMOUNT_NOTIF_RQ = "OTA_HotelRateAmountNotifRQ"
RATE_AMOUNT_NOTIF_RS = "OTA_HotelRateAmountNotifRS"

RESTRICTION_MASTER = "Master"
RESTRICTION_ARRIVAL = "Arrival"
RESTRICTION_DEPARTURE = "Departure"
STATUS_OPEN = "Open"
STATUS_CLOSE = "Close"
SET_MIN_LOS = "SetMinLOS"
SET_MAX_LOS = "SetMaxLOS"
# Lifts a maximum stay (no Time): how "no maximum any more" travels on the wire.
REMOVE_MAX_LOS = "RemoveMaxLOS"


@dataclass(frozen=True, kw_only=True)
class RestrictionStatus:
    """``restriction`` None means Master (the schema's default)."""

    status: str  # Open / Close
    restriction: str | None = RESTRICTION_MASTER

    @property
    def closed(self) -> bool:
        return self.status == STATUS_CLOSE


@dataclass(frozen=True, kw_only=True)
class LengthOfStay:
    min_max_message_type: str  # SetMinLOS / SetMaxLOS / RemoveMaxLOS (others read as they come)
    time: int | None = None


@dataclass(frozen=True, kw_only=True)
class AvailStatusMessage:
    start: date | None
    end: date | None  # inclusive
    inv_type_code: str | None
    rate_plan_code: str | None = None
    days: DaysOfWeek = ALL_DAYS
    booking_limit: int | None = None
    restriction: RestrictionStatus | None = None
    arrival_date_based: bool | None = None
    lengths_of_stay: tuple[LengthOfStay, ...] = ()

    def _los(self, kind: str) -> int | None:
        return next((x.time for x in self.lengths_of_stay if x.min_max_message_type == kind), None)

    @property
    def min_los(self) -> int | None:
        return self._los(SET_MIN_LOS)

    @property
    def max_los(self) -> int | None:
        return self._los(SET_MAX_LOS)


@dataclass(frozen=True, kw_only=True)
class HotelAvailNotifRQ:
    hotel_code: str | None
    messages: tuple[AvailStatusMessage, ...]
    echo_token: str | None = None
    timestamp: datetime | None = None
    version: str = OTA_VERSION


@dataclass(frozen=True, kw_only=True)
class GuestAmount:
    """``BaseByGuestAmt``: price of the room for ``number_of_guests`` (None = any)."""

    amount_after_tax: int | None
    amount_before_tax: int | None = None
    number_of_guests: int | None = None


@dataclass(frozen=True, kw_only=True)
class AdditionalGuestAmount:
    age_qualifying_code: int  # 10 adult, 8 child
    amount: int


@dataclass(frozen=True, kw_only=True)
class RateAmount:
    currency: str | None
    base_by_guest: tuple[GuestAmount, ...] = ()
    additional_guests: tuple[AdditionalGuestAmount, ...] = ()
    start: date | None = None  # None: the message's StatusApplicationControl range
    end: date | None = None

    @property
    def amount_after_tax(self) -> int | None:
        """The room price (the first base amount), in minor units."""
        for amt in self.base_by_guest:
            if amt.amount_after_tax is not None:
                return amt.amount_after_tax
        return None

    def additional(self, age_qualifying_code: int) -> int | None:
        return next(
            (
                a.amount
                for a in self.additional_guests
                if a.age_qualifying_code == age_qualifying_code
            ),
            None,
        )


@dataclass(frozen=True, kw_only=True)
class RateAmountMessage:
    start: date | None
    end: date | None  # inclusive
    inv_type_code: str | None
    rate_plan_code: str | None
    rates: tuple[RateAmount, ...]
    days: DaysOfWeek = ALL_DAYS


@dataclass(frozen=True, kw_only=True)
class HotelRateAmountNotifRQ:
    hotel_code: str | None
    messages: tuple[RateAmountMessage, ...]
    echo_token: str | None = None
    timestamp: datetime | None = None
    version: str = OTA_VERSION


# ---------------------------------------------------------------- shared pieces


def _add_status_application_control(
    parent: etree._Element,
    *,
    start: date | None,
    end: date | None,
    inv_type_code: str | None,
    rate_plan_code: str | None,
    days: DaysOfWeek,
) -> None:
    attrib: dict[str, object | None] = {
        "Start": start,
        "End": end,
        "RatePlanCode": rate_plan_code,
        "InvTypeCode": inv_type_code,
    }
    attrib.update(days.attributes())
    sub_element(parent, "StatusApplicationControl", attrib)


def _read_status_application_control(parent: etree._Element) -> dict[str, object]:
    sac = find(parent, "StatusApplicationControl")
    if sac is None:
        return {"start": None, "end": None, "inv_type_code": None, "rate_plan_code": None}
    return {
        "start": read_date(sac.get("Start")),
        "end": read_date(sac.get("End")),
        # IDS Next and Pema use InvTypeCode; many partners (and OTA's samples) say InvCode.
        "inv_type_code": sac.get("InvTypeCode") or sac.get("InvCode"),
        "rate_plan_code": sac.get("RatePlanCode"),
        "days": DaysOfWeek.from_element(sac),
    }


def _hotel_code(root: etree._Element, container: str) -> str | None:
    box = find(root, container)
    return box.get("HotelCode") if box is not None else None


# ----------------------------------------------------------------- AvailNotif


def build_hotel_avail_notif_rq(rq: HotelAvailNotifRQ) -> bytes:
    root = new_root(
        AVAIL_NOTIF_RQ, echo_token=rq.echo_token, timestamp=rq.timestamp, version=rq.version
    )
    box = sub_element(root, "AvailStatusMessages", {"HotelCode": rq.hotel_code})
    for msg in rq.messages:
        el = sub_element(
            box,
            "AvailStatusMessage",
            {
                "BookingLimit": msg.booking_limit,
                "BookingLimitMessageType": "SetLimit" if msg.booking_limit is not None else None,
            },
        )
        _add_status_application_control(
            el,
            start=msg.start,
            end=msg.end,
            inv_type_code=msg.inv_type_code,
            rate_plan_code=msg.rate_plan_code,
            days=msg.days,
        )
        if msg.lengths_of_stay or msg.arrival_date_based is not None:
            los_box = sub_element(el, "LengthsOfStay", {"ArrivalDateBased": msg.arrival_date_based})
            for los in msg.lengths_of_stay:
                sub_element(
                    los_box,
                    "LengthOfStay",
                    {
                        "Time": los.time,
                        "TimeUnit": "Day" if los.time is not None else None,
                        "MinMaxMessageType": los.min_max_message_type,
                    },
                )
        if msg.restriction is not None:
            sub_element(
                el,
                "RestrictionStatus",
                {"Restriction": msg.restriction.restriction, "Status": msg.restriction.status},
            )
    return to_bytes(root)


def _read_avail_status_message(el: etree._Element) -> AvailStatusMessage:
    restriction = None
    rs_el = find(el, "RestrictionStatus")
    if rs_el is not None and rs_el.get("Status"):
        restriction = RestrictionStatus(
            status=rs_el.get("Status") or STATUS_OPEN, restriction=rs_el.get("Restriction")
        )
    los_box = find(el, "LengthsOfStay")
    lengths = ()
    arrival_based = None
    if los_box is not None:
        arrival_based = read_bool(los_box.get("ArrivalDateBased"))
        lengths = tuple(
            LengthOfStay(
                min_max_message_type=los.get("MinMaxMessageType") or "",
                time=read_int(los.get("Time")),
            )
            for los in findall(los_box, "LengthOfStay")
        )
    return AvailStatusMessage(
        **_read_status_application_control(el),
        booking_limit=read_int(el.get("BookingLimit")),
        restriction=restriction,
        arrival_date_based=arrival_based,
        lengths_of_stay=lengths,
    )


def parse_hotel_avail_notif_rq(data: bytes | str) -> HotelAvailNotifRQ:
    root = parse_root(data, AVAIL_NOTIF_RQ)
    return HotelAvailNotifRQ(
        hotel_code=_hotel_code(root, "AvailStatusMessages"),
        messages=tuple(
            _read_avail_status_message(el)
            for el in findall(root, "AvailStatusMessages", "AvailStatusMessage")
        ),
        **read_header(root),
    )


def build_hotel_avail_notif_rs(rs: OTAResponse[None]) -> bytes:
    root = new_root(
        AVAIL_NOTIF_RS, echo_token=rs.echo_token, timestamp=rs.timestamp, version=rs.version
    )
    add_envelope_start(root, rs)
    return to_bytes(root)


def parse_hotel_avail_notif_rs(data: bytes | str) -> OTAResponse[None]:
    return read_response(data, AVAIL_NOTIF_RS)


# ------------------------------------------------------------- RateAmountNotif


def build_hotel_rate_amount_notif_rq(rq: HotelRateAmountNotifRQ) -> bytes:
    root = new_root(
        RATE_AMOUNT_NOTIF_RQ, echo_token=rq.echo_token, timestamp=rq.timestamp, version=rq.version
    )
    box = sub_element(root, "RateAmountMessages", {"HotelCode": rq.hotel_code})
    for msg in rq.messages:
        el = sub_element(box, "RateAmountMessage")
        _add_status_application_control(
            el,
            start=msg.start,
            end=msg.end,
            inv_type_code=msg.inv_type_code,
            rate_plan_code=msg.rate_plan_code,
            days=msg.days,
        )
        rates_el = sub_element(el, "Rates")
        for rate in msg.rates:
            rate_el = sub_element(
                rates_el,
                "Rate",
                {"Start": rate.start, "End": rate.end, **money_attrs(rate.currency)},
            )
            if rate.base_by_guest:
                base_box = sub_element(rate_el, "BaseByGuestAmts")
                for amt in rate.base_by_guest:
                    sub_element(
                        base_box,
                        "BaseByGuestAmt",
                        {
                            "AmountBeforeTax": _decimal(amt.amount_before_tax, rate.currency),
                            "AmountAfterTax": _decimal(amt.amount_after_tax, rate.currency),
                            "NumberOfGuests": amt.number_of_guests,
                            **money_attrs(rate.currency),
                        },
                    )
            if rate.additional_guests:
                extra_box = sub_element(rate_el, "AdditionalGuestAmounts")
                for extra in rate.additional_guests:
                    sub_element(
                        extra_box,
                        "AdditionalGuestAmount",
                        {
                            "AgeQualifyingCode": extra.age_qualifying_code,
                            "Amount": minor_to_decimal(extra.amount, rate.currency),
                            **money_attrs(rate.currency),
                        },
                    )
    return to_bytes(root)


def _decimal(amount: int | None, currency: str | None) -> str | None:
    return None if amount is None else minor_to_decimal(amount, currency)


def _read_rate(el: etree._Element) -> RateAmount:
    currency = el.get("CurrencyCode")
    places = read_int(el.get("DecimalPlaces"))
    base = tuple(
        GuestAmount(
            amount_after_tax=read_amount(amt, "AmountAfterTax", currency, places),
            amount_before_tax=read_amount(amt, "AmountBeforeTax", currency, places),
            number_of_guests=read_int(amt.get("NumberOfGuests")),
        )
        for amt in findall(el, "BaseByGuestAmts", "BaseByGuestAmt")
    )
    extras = []
    for extra in findall(el, "AdditionalGuestAmounts", "AdditionalGuestAmount"):
        amount = read_amount(extra, "Amount", currency, places)
        code = read_int(extra.get("AgeQualifyingCode"))
        if amount is not None and code is not None:
            extras.append(AdditionalGuestAmount(age_qualifying_code=code, amount=amount))
    return RateAmount(
        currency=currency,
        base_by_guest=base,
        additional_guests=tuple(extras),
        start=read_date(el.get("Start")),
        end=read_date(el.get("End")),
    )


def parse_hotel_rate_amount_notif_rq(data: bytes | str) -> HotelRateAmountNotifRQ:
    root = parse_root(data, RATE_AMOUNT_NOTIF_RQ)
    messages = tuple(
        RateAmountMessage(
            **_read_status_application_control(el),
            rates=tuple(_read_rate(r) for r in findall(el, "Rates", "Rate")),
        )
        for el in findall(root, "RateAmountMessages", "RateAmountMessage")
    )
    return HotelRateAmountNotifRQ(
        hotel_code=_hotel_code(root, "RateAmountMessages"), messages=messages, **read_header(root)
    )


def build_hotel_rate_amount_notif_rs(rs: OTAResponse[None]) -> bytes:
    root = new_root(
        RATE_AMOUNT_NOTIF_RS, echo_token=rs.echo_token, timestamp=rs.timestamp, version=rs.version
    )
    add_envelope_start(root, rs)
    return to_bytes(root)


def parse_hotel_rate_amount_notif_rs(data: bytes | str) -> OTAResponse[None]:
    return read_response(data, RATE_AMOUNT_NOTIF_RS)
