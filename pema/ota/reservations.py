"""Reservations: OTA_HotelResNotifRQ/RS (create, modify) and OTA_CancelRQ/RS.

``OTA_HotelResNotifRQ@ResStatus`` is ``Commit`` for a new reservation and
``Modify`` for a change. Pema sends one ``HotelReservation`` with one
``RoomStay``::

    RoomTypes/RoomType@RoomTypeCode@NumberOfUnits
    RatePlans/RatePlan@RatePlanCode
    GuestCounts/GuestCount@AgeQualifyingCode(10 adult, 8 child)@Count
    TimeSpan@Start@End                  (End = departure date)
    Total@AmountAfterTax@CurrencyCode@DecimalPlaces
    BasicPropertyInfo@HotelCode
    SpecialRequests/SpecialRequest/Text
  ResGuests/ResGuest/Profiles/ProfileInfo/Profile/Customer
    PersonName/GivenName,Surname  Telephone@PhoneNumber  Email  Address/CountryName@Code
  ResGlobalInfo/HotelReservationIDs/HotelReservationID
    @ResID_Type="40" (UIT "confirmation number") = Pema's confirmation number,
    @ResID_Type="14" (UIT "reservation") = the PMS reference, once known.

Type 40 was chosen for our number because it is what it is: the confirmation
number the guest holds; 14 is the partner's own reservation record, which is
how the IDS Next answer (``OTA_HotelResNotifRS``) returns its reference.

``OTA_CancelRQ@CancelType="Cancel"`` names the reservation by the PMS
reference (``UniqueID@Type="14"``), optionally with our confirmation number
(``Type="40"``). ``OTA_CancelRS@Status="Cancelled"`` echoes the reservation and
returns the partner's cancellation number as ``CancelInfoRS/UniqueID@Type="15"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from lxml import etree

from pema.ota.common import (
    AQC_ADULT,
    AQC_CHILD,
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
class HotelResNotifRQ:
    res_status: str | None  # Commit / Modify
    confirmation_number: str | None
    hotel_code: str | None
    room_type_code: str | None
    rate_plan_code: str | None
    start: date | None
    end: date | None  # departure date
    adults: int = 1
    children: int = 0
    rooms: int = 1
    guest: GuestProfile | None = None
    special_requests: tuple[str, ...] = ()
    total: int | None = None  # minor units, after tax
    currency: str | None = None
    pms_reference: str | None = None  # sent on Modify once IDS Next gave us one
    echo_token: str | None = None
    timestamp: datetime | None = None
    version: str = OTA_VERSION


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
    parent: etree._Element, confirmation_number: str | None, pms_reference: str | None
) -> None:
    if not confirmation_number and not pms_reference:
        return
    ids = sub_element(sub_element(parent, "ResGlobalInfo"), "HotelReservationIDs")
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


def build_hotel_res_notif_rq(rq: HotelResNotifRQ) -> bytes:
    root = new_root(
        RES_NOTIF_RQ,
        echo_token=rq.echo_token,
        timestamp=rq.timestamp,
        version=rq.version,
        extra={"ResStatus": rq.res_status},
    )
    res = sub_element(sub_element(root, "HotelReservations"), "HotelReservation")
    stay = sub_element(sub_element(res, "RoomStays"), "RoomStay")
    if rq.room_type_code:
        sub_element(
            sub_element(stay, "RoomTypes"),
            "RoomType",
            {"RoomTypeCode": rq.room_type_code, "NumberOfUnits": rq.rooms},
        )
    if rq.rate_plan_code:
        sub_element(sub_element(stay, "RatePlans"), "RatePlan", {"RatePlanCode": rq.rate_plan_code})
    counts = sub_element(stay, "GuestCounts")
    sub_element(counts, "GuestCount", {"AgeQualifyingCode": AQC_ADULT, "Count": rq.adults})
    if rq.children:
        sub_element(counts, "GuestCount", {"AgeQualifyingCode": AQC_CHILD, "Count": rq.children})
    if rq.start or rq.end:
        sub_element(stay, "TimeSpan", {"Start": rq.start, "End": rq.end})
    if rq.total is not None:
        sub_element(
            stay,
            "Total",
            {
                "AmountAfterTax": minor_to_decimal(rq.total, rq.currency),
                **money_attrs(rq.currency),
            },
        )
    if rq.hotel_code:
        sub_element(stay, "BasicPropertyInfo", {"HotelCode": rq.hotel_code})
    if rq.special_requests:
        box = sub_element(stay, "SpecialRequests")
        for text in rq.special_requests:
            sub_element(sub_element(box, "SpecialRequest"), "Text", text=text)
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
    _add_reservation_ids(res, rq.confirmation_number, rq.pms_reference)
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


def parse_hotel_res_notif_rq(data: bytes | str) -> HotelResNotifRQ:
    root = parse_root(data, RES_NOTIF_RQ)
    res = find(root, "HotelReservations", "HotelReservation")
    if res is None:
        raise OTAParseError("OTA_HotelResNotifRQ without HotelReservation")
    stay = find(res, "RoomStays", "RoomStay")
    room_type = rate_plan = time_span = total_el = prop = None
    adults = children = 0
    rooms = 1
    special: tuple[str, ...] = ()
    if stay is not None:
        room_type = find(stay, "RoomTypes", "RoomType")
        rate_plan = find(stay, "RatePlans", "RatePlan")
        time_span = find(stay, "TimeSpan")
        total_el = find(stay, "Total")
        prop = find(stay, "BasicPropertyInfo")
        for gc in findall(stay, "GuestCounts", "GuestCount"):
            count = read_int(gc.get("Count")) or 0
            if read_int(gc.get("AgeQualifyingCode")) in (None, AQC_ADULT):
                adults += count
            else:
                children += count
        if room_type is not None:
            rooms = read_int(room_type.get("NumberOfUnits")) or 1
        special = tuple(
            t
            for t in (
                text_of(find(sr, "Text"))
                for sr in findall(stay, "SpecialRequests", "SpecialRequest")
            )
            if t
        )
    currency = total_el.get("CurrencyCode") if total_el is not None else None
    ids = _read_reservation_ids(res)
    return HotelResNotifRQ(
        res_status=root.get("ResStatus") or res.get("ResStatus"),
        confirmation_number=ids.get(UIT_CONFIRMATION_NUMBER),
        pms_reference=ids.get(UIT_RESERVATION),
        hotel_code=prop.get("HotelCode") if prop is not None else None,
        room_type_code=room_type.get("RoomTypeCode") if room_type is not None else None,
        rate_plan_code=rate_plan.get("RatePlanCode") if rate_plan is not None else None,
        start=read_date(time_span.get("Start")) if time_span is not None else None,
        end=read_date(time_span.get("End")) if time_span is not None else None,
        adults=adults or 1,
        children=children,
        rooms=rooms,
        guest=_read_guest(res),
        special_requests=special,
        total=read_amount(total_el, "AmountAfterTax", currency) if total_el is not None else None,
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
