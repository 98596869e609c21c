"""Whole reservation bodies: OTA_HotelResNotifRQ / OTA_HotelResModifyNotifRQ and their RS acks.

:mod:`pema.ota.reservations` speaks the one-reservation dialect Pema sends
to IDS Next (a RoomStay per group of like rooms). Channels send richer
documents, and this module reads and writes them in full:

- many ``HotelReservation`` (or ``HotelResModify``) elements per document;
- many ``RoomStay`` per reservation, each with its ``RoomRates/RoomRate``
  lines (one per night at Booking.com), guest counts, totals, comments and
  special requests;
- the reservation's ids (``ResGlobalInfo/HotelReservationIDs``), its status
  and timestamps, the guests (``ResGuests``), the booker
  (``ResGlobalInfo/Profiles``) and the guarantee card.

Amounts are :class:`Amount` values in major units, exact ``Decimal``. On the
wire OpenTravel's ``DecimalPlaces`` means "the amount is written without its
decimal point": ``AmountAfterTax="12050" DecimalPlaces="2"`` is 120.50. A value
that carries a decimal point is read as written (Pema's own IDS Next messages
write ``"120.50"`` with ``DecimalPlaces="2"``, which reads the same). The
builder writes the integer form whenever ``decimal_places`` is given.

:func:`split_hotel_reservations` cuts a document into one single-reservation
document per reservation, so each can be stored raw, parsed, held and
re-parsed on its own; :func:`mask_payment_cards` keeps card numbers out of
what is stored.

Acks (``OTA_HotelResNotifRS`` / ``OTA_HotelResModifyNotifRS``) list the
``HotelReservationID@ResID_Value`` of the reservations they confirm. An ack
carrying ``Errors`` cannot list reservations (the schema allows only
``Errors`` then), so each error names its reservation in ``RecordID``.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from lxml import etree

from pema import money
from pema.ota.common import (
    OTA_VERSION,
    OTAParseError,
    find,
    findall,
    new_root,
    ota,
    parse_root,
    read_bool,
    read_date,
    read_datetime,
    read_header,
    read_int,
    text_of,
)
from pema.ota.issues import OTAIssue, add_issues, read_issues
from pema.ota.reservations import GuestProfile
from pema.xml import local_name, sub_element, to_bytes

RES_NOTIF_RQ = "OTA_HotelResNotifRQ"
RES_NOTIF_RS = "OTA_HotelResNotifRS"
RES_MODIFY_NOTIF_RQ = "OTA_HotelResModifyNotifRQ"
RES_MODIFY_NOTIF_RS = "OTA_HotelResModifyNotifRS"

#: Request root -> (container, item) element names.
_CONTAINERS = {
    RES_NOTIF_RQ: ("HotelReservations", "HotelReservation"),
    RES_NOTIF_RS: ("HotelReservations", "HotelReservation"),
    RES_MODIFY_NOTIF_RQ: ("HotelResModifies", "HotelResModify"),
    RES_MODIFY_NOTIF_RS: ("HotelResModifies", "HotelResModify"),
}
#: Request root -> the acknowledgement root that answers it.
ACK_NAME = {RES_NOTIF_RQ: RES_NOTIF_RS, RES_MODIFY_NOTIF_RQ: RES_MODIFY_NOTIF_RS}

_INTEGER = re.compile(r"^\s*[+-]?\d+\s*$")


class InexactAmountError(OTAParseError):
    """An amount has more digits than its currency's minor unit can hold."""


# --------------------------------------------------------------------------- values


@dataclass(frozen=True, kw_only=True)
class Amount:
    """``AmountAfterTax``/``AmountBeforeTax`` in major units, as the element says them.

    ``decimal_places`` is what the wire carries: set, the builder writes the
    integer form (``12050`` + ``DecimalPlaces="2"``); ``None``, a decimal string.
    """

    after_tax: Decimal | None = None
    before_tax: Decimal | None = None
    currency: str | None = None
    decimal_places: int | None = None

    @property
    def value(self) -> Decimal | None:
        """What the guest pays: after tax where given, else before tax."""
        return self.after_tax if self.after_tax is not None else self.before_tax


@dataclass(frozen=True, kw_only=True)
class RateLine:
    """One ``RoomRate/Rates/Rate``: a price for ``effective_date`` up to ``expire_date``.

    ``expire_date`` is exclusive (OpenTravel's default); ``None`` means one
    night. ``base`` is ``Rate/Base``, ``total`` is ``Rate/Total``.
    """

    effective_date: date | None
    expire_date: date | None = None
    rate_plan_code: str | None = None
    room_type_code: str | None = None
    base: Amount | None = None
    total: Amount | None = None


@dataclass(frozen=True, kw_only=True)
class GuestCount:
    age_qualifying_code: int | None
    count: int
    age: int | None = None


@dataclass(frozen=True, kw_only=True)
class PaymentCard:
    """A ``PaymentCard``; ``card_number`` is whatever the document holds (masked or not)."""

    card_code: str | None = None
    card_number: str | None = None
    holder_name: str | None = None
    expire_date: str | None = None  # MMYY
    series_code: str | None = None


@dataclass(frozen=True, kw_only=True)
class ResRoomStay:
    index_number: str | None = None
    room_type_code: str | None = None
    rate_plan_code: str | None = None
    number_of_units: int | None = None
    rates: tuple[RateLine, ...] = ()
    guest_counts: tuple[GuestCount, ...] = ()
    start: date | None = None  # TimeSpan
    end: date | None = None  # departure date
    guarantee: PaymentCard | None = None
    total: Amount | None = None
    hotel_code: str | None = None
    guest_rphs: tuple[str, ...] = ()
    comments: tuple[str, ...] = ()
    special_requests: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ResGuest:
    rph: str | None = None
    age_qualifying_code: int | None = None
    primary: bool | None = None
    profile: GuestProfile | None = None


@dataclass(frozen=True, kw_only=True)
class ReservationID:
    """``HotelReservationID``; ``value`` is ``ResID_Value``."""

    value: str
    type: str | None = None
    source: str | None = None
    created: datetime | None = None  # ResID_Date


@dataclass(frozen=True, kw_only=True)
class HotelReservationData:
    """One ``HotelReservation`` or ``HotelResModify``.

    ``raw`` (not compared) is the single-reservation document it was read from,
    when it was read by :func:`parse_hotel_reservations`.
    """

    res_status: str | None = None
    create_datetime: datetime | None = None
    last_modify_datetime: datetime | None = None
    unique_ids: tuple[tuple[str, str], ...] = ()  # (Type, ID)
    room_stays: tuple[ResRoomStay, ...] = ()
    res_guests: tuple[ResGuest, ...] = ()
    comments: tuple[str, ...] = ()
    special_requests: tuple[str, ...] = ()
    guarantee: PaymentCard | None = None
    total: Amount | None = None
    reservation_ids: tuple[ReservationID, ...] = ()
    booker: GuestProfile | None = None
    raw: bytes = field(default=b"", compare=False, repr=False)

    @property
    def first_reservation_id(self) -> str | None:
        return self.reservation_ids[0].value if self.reservation_ids else None


@dataclass(frozen=True, kw_only=True)
class HotelReservationsMessage:
    """A whole ``OTA_HotelResNotifRQ`` or ``OTA_HotelResModifyNotifRQ``."""

    name: str
    reservations: tuple[HotelReservationData, ...]
    res_status: str | None = None
    target: str | None = None
    echo_token: str | None = None
    timestamp: datetime | None = None
    version: str = OTA_VERSION


@dataclass(frozen=True, kw_only=True)
class ReservationAck:
    """An ``OTA_HotelResNotifRS`` / ``OTA_HotelResModifyNotifRS``.

    On success ``reservation_ids`` are the ``ResID_Value`` confirmed; with
    ``errors`` each error's ``record_id`` names the reservation it rejects
    (and :attr:`reservation_ids` is read back from them).
    """

    name: str
    reservation_ids: tuple[str, ...] = ()
    errors: tuple[OTAIssue, ...] = ()
    warnings: tuple[OTAIssue, ...] = ()
    target: str | None = None
    echo_token: str | None = None
    timestamp: datetime | None = None
    version: str = OTA_VERSION

    @property
    def success(self) -> bool:
        return not self.errors


# ---------------------------------------------------------------------------- money


def read_decimal(
    el: etree._Element, attr: str, decimal_places: int | None = None
) -> Decimal | None:
    """Attribute ``attr`` of ``el`` as an exact amount in major units (see the module doc)."""
    value = el.get(attr)
    if value is None or not value.strip():
        return None
    own = read_int(el.get("DecimalPlaces"))
    places = own if own is not None else decimal_places
    try:
        amount = Decimal(value.strip())
    except InvalidOperation as exc:
        raise OTAParseError(f"{attr} is not an amount: {value!r}") from exc
    if not amount.is_finite():
        raise OTAParseError(f"{attr} is not a finite amount: {value!r}")
    if places and _INTEGER.match(value):
        amount = amount.scaleb(-places)
    return amount


def read_amount_element(
    el: etree._Element | None, decimal_places: int | None = None
) -> Amount | None:
    if el is None:
        return None
    own = read_int(el.get("DecimalPlaces"))
    places = own if own is not None else decimal_places
    amount = Amount(
        after_tax=read_decimal(el, "AmountAfterTax", places),
        before_tax=read_decimal(el, "AmountBeforeTax", places),
        currency=el.get("CurrencyCode"),
        decimal_places=own,
    )
    return amount if amount.value is not None or amount.currency else None


def wire_amount(value: Decimal, decimal_places: int | None) -> str:
    """``value`` as written: an integer scaled by ``decimal_places``, else a decimal string."""
    if decimal_places is None:
        return format(value, "f")
    scaled = value.scaleb(decimal_places)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} does not fit {decimal_places} decimal places")
    return str(int(scaled))


def exact_minor_units(value: Decimal, currency: str | None) -> int:
    """Major units -> integer minor units of ``currency``, refusing to round.

    ``12.345 EUR`` raises :class:`InexactAmountError`: a cent fraction in a
    partner's amount is a fact staff should see, not something to round away.
    """
    exponent = money.currency_exponent(currency or "")
    scaled = value.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise InexactAmountError(
            f"{value} {currency or ''} has more digits than the currency's minor unit".strip()
        )
    return int(scaled)


def major_units(minor: int, currency: str | None) -> Decimal:
    """Integer minor units -> an exact ``Decimal`` in major units."""
    return Decimal(minor).scaleb(-money.currency_exponent(currency or ""))


def _add_amount(parent: etree._Element, tag: str, amount: Amount | None) -> None:
    if amount is None:
        return
    sub_element(
        parent,
        tag,
        {
            "AmountBeforeTax": None
            if amount.before_tax is None
            else wire_amount(amount.before_tax, amount.decimal_places),
            "AmountAfterTax": None
            if amount.after_tax is None
            else wire_amount(amount.after_tax, amount.decimal_places),
            "CurrencyCode": amount.currency,
            "DecimalPlaces": amount.decimal_places,
        },
    )


# ---------------------------------------------------------------------------- reading


def _texts(parent: etree._Element, container: str, tag: str) -> tuple[str, ...]:
    return tuple(
        t for t in (text_of(find(el, "Text")) for el in findall(parent, container, tag)) if t
    )


def read_customer(customer: etree._Element | None) -> GuestProfile | None:
    """A ``Customer`` element as a :class:`GuestProfile` (None when it names nobody)."""
    if customer is None:
        return None
    name = find(customer, "PersonName")
    phone = find(customer, "Telephone")
    country = find(customer, "Address", "CountryName")
    profile = GuestProfile(
        surname=(text_of(find(name, "Surname")) or "") if name is not None else "",
        given_name=text_of(find(name, "GivenName")) if name is not None else None,
        email=text_of(find(customer, "Email")),
        phone=phone.get("PhoneNumber") if phone is not None else None,
        country=(country.get("Code") or text_of(country)) if country is not None else None,
    )
    if not (profile.surname or profile.given_name or profile.email):
        return None
    return profile


def _read_card(parent: etree._Element) -> PaymentCard | None:
    card = find(parent, "Guarantee", "GuaranteesAccepted", "GuaranteeAccepted", "PaymentCard")
    if card is None:
        return None
    return PaymentCard(
        card_code=card.get("CardCode") or card.get("CardType"),
        card_number=card.get("CardNumber") or card.get("MaskedCardNumber"),
        holder_name=text_of(find(card, "CardHolderName")),
        expire_date=card.get("ExpireDate"),
        series_code=card.get("SeriesCode"),
    )


def _read_rate_lines(stay: etree._Element, places: int | None) -> tuple[RateLine, ...]:
    lines = []
    for room_rate in findall(stay, "RoomRates", "RoomRate"):
        rr_places = read_int(room_rate.get("DecimalPlaces"))
        for rate in findall(room_rate, "Rates", "Rate") or [room_rate]:
            lines.append(
                RateLine(
                    effective_date=read_date(
                        rate.get("EffectiveDate") or room_rate.get("EffectiveDate")
                    ),
                    expire_date=read_date(rate.get("ExpireDate") or room_rate.get("ExpireDate")),
                    rate_plan_code=room_rate.get("RatePlanCode"),
                    room_type_code=room_rate.get("RoomTypeCode"),
                    base=read_amount_element(find(rate, "Base"), rr_places or places),
                    total=read_amount_element(find(rate, "Total"), rr_places or places),
                )
            )
    return tuple(lines)


def _guest_rphs(stay: etree._Element) -> tuple[str, ...]:
    """``ResGuestRPHs``: a list of RPHs as text in 2011B, ``ResGuestRPH@RPH`` children in 2003B."""
    box = find(stay, "ResGuestRPHs")
    if box is None:
        return ()
    rphs = (box.text or "").split()
    rphs += [el.get("RPH") or "" for el in findall(box, "ResGuestRPH")]
    return tuple(r for r in rphs if r)


def _read_room_stay(stay: etree._Element) -> ResRoomStay:
    room_type = find(stay, "RoomTypes", "RoomType")
    rate_plan = find(stay, "RatePlans", "RatePlan")
    span = find(stay, "TimeSpan")
    prop = find(stay, "BasicPropertyInfo")
    return ResRoomStay(
        index_number=stay.get("IndexNumber"),
        room_type_code=room_type.get("RoomTypeCode") if room_type is not None else None,
        rate_plan_code=rate_plan.get("RatePlanCode") if rate_plan is not None else None,
        number_of_units=read_int(room_type.get("NumberOfUnits")) if room_type is not None else None,
        rates=_read_rate_lines(stay, None),
        guest_counts=tuple(
            GuestCount(
                age_qualifying_code=read_int(gc.get("AgeQualifyingCode")),
                count=read_int(gc.get("Count")) or 0,
                age=read_int(gc.get("Age")),
            )
            for gc in findall(stay, "GuestCounts", "GuestCount")
        ),
        start=read_date(span.get("Start")) if span is not None else None,
        end=read_date(span.get("End")) if span is not None else None,
        guarantee=_read_card(stay),
        total=read_amount_element(find(stay, "Total")),
        hotel_code=prop.get("HotelCode") if prop is not None else None,
        guest_rphs=_guest_rphs(stay),
        comments=_texts(stay, "Comments", "Comment"),
        special_requests=_texts(stay, "SpecialRequests", "SpecialRequest"),
    )


def read_hotel_reservation(el: etree._Element) -> HotelReservationData:
    """One ``HotelReservation`` / ``HotelResModify`` element."""
    info = find(el, "ResGlobalInfo")
    guests = []
    for res_guest in findall(el, "ResGuests", "ResGuest"):
        guests.append(
            ResGuest(
                rph=res_guest.get("ResGuestRPH"),
                age_qualifying_code=read_int(res_guest.get("AgeQualifyingCode")),
                primary=read_bool(res_guest.get("PrimaryIndicator")),
                profile=read_customer(
                    find(res_guest, "Profiles", "ProfileInfo", "Profile", "Customer")
                ),
            )
        )
    ids: list[ReservationID] = []
    if info is not None:
        for rid in findall(info, "HotelReservationIDs", "HotelReservationID"):
            value = (rid.get("ResID_Value") or "").strip()
            if value:
                ids.append(
                    ReservationID(
                        value=value,
                        type=rid.get("ResID_Type"),
                        source=rid.get("ResID_Source"),
                        created=read_datetime(rid.get("ResID_Date")),
                    )
                )
    return HotelReservationData(
        res_status=el.get("ResStatus"),
        create_datetime=read_datetime(el.get("CreateDateTime")),
        last_modify_datetime=read_datetime(el.get("LastModifyDateTime")),
        unique_ids=tuple((u.get("Type") or "", u.get("ID") or "") for u in findall(el, "UniqueID")),
        room_stays=tuple(_read_room_stay(s) for s in findall(el, "RoomStays", "RoomStay")),
        res_guests=tuple(guests),
        comments=_texts(info, "Comments", "Comment") if info is not None else (),
        special_requests=_texts(info, "SpecialRequests", "SpecialRequest")
        if info is not None
        else (),
        guarantee=_read_card(info) if info is not None else None,
        total=read_amount_element(find(info, "Total")) if info is not None else None,
        reservation_ids=tuple(ids),
        booker=read_customer(find(info, "Profiles", "ProfileInfo", "Profile", "Customer"))
        if info is not None
        else None,
    )


def _reservation_root(data: bytes | str, expected: str | None) -> tuple[etree._Element, str]:
    root = parse_root(data, expected)
    name = local_name(root)
    if name not in (RES_NOTIF_RQ, RES_MODIFY_NOTIF_RQ):
        raise OTAParseError(f"{name} is not a reservation notification")
    return root, name


def parse_hotel_reservations(
    data: bytes | str, expected: str | None = None
) -> HotelReservationsMessage:
    """Every reservation of an ``OTA_HotelResNotifRQ`` / ``OTA_HotelResModifyNotifRQ``.

    Each reservation's ``raw`` is its own single-reservation document (as
    :func:`split_hotel_reservations` cuts it, with card numbers as sent).
    """
    root, name = _reservation_root(data, expected)
    container, item = _CONTAINERS[name]
    reservations = []
    for el in findall(root, container, item):
        parsed = read_hotel_reservation(el)
        reservations.append(replace(parsed, raw=_single_document(root, el, mask_cards=False)))
    return HotelReservationsMessage(
        name=name,
        reservations=tuple(reservations),
        res_status=root.get("ResStatus"),
        target=root.get("Target"),
        **read_header(root),
    )


def mask_card_number(number: str | None) -> str | None:
    """``4111111111111111`` -> ``XXXXXXXXXXXX1111``: all but the last four digits hidden."""
    if not number:
        return number
    # Masking a masked number changes nothing (the raw kept is parsed again).
    chars = re.sub(r"[\s-]", "", number)
    if len(chars) <= 4:
        return "X" * len(chars)
    return "X" * (len(chars) - 4) + chars[-4:]


def mask_payment_cards(el: etree._Element) -> None:
    """Hide card numbers and security codes in every ``PaymentCard`` below ``el`` (in place).

    Pema keeps no card data (PCI DSS): the number keeps its last four digits,
    the security code and magnetic stripe are dropped.
    """
    for card in el.iter(ota("PaymentCard")):
        number = card.get("CardNumber")
        if number:
            card.set("CardNumber", mask_card_number(number) or "")
        if "SeriesCode" in card.attrib:
            del card.attrib["SeriesCode"]
        for stripe in card.findall(ota("MagneticStripe")):
            card.remove(stripe)


def _single_document(
    root: etree._Element, reservation: etree._Element, *, mask_cards: bool
) -> bytes:
    """``root``'s envelope around a copy of one of its reservations."""
    name = local_name(root)
    container, _ = _CONTAINERS[name]
    single = etree.Element(root.tag, attrib=dict(root.attrib), nsmap=root.nsmap)
    box = etree.SubElement(single, ota(container))
    piece = copy.deepcopy(reservation)
    piece.tail = None
    box.append(piece)
    if mask_cards:
        mask_payment_cards(piece)
    return to_bytes(single)


def split_hotel_reservations(
    data: bytes | str | etree._Element,
    *,
    expected: str | None = None,
    mask_cards: bool = True,
) -> tuple[HotelReservationsMessage, tuple[bytes, ...]]:
    """The document's envelope (no reservations) and one document per reservation.

    ``data`` may be a root element already parsed (with :func:`pema.ota.common.parse_root`).
    Nothing inside a reservation is interpreted, so a reservation that would
    not parse still comes out as its own document, to be stored and held.
    """
    if isinstance(data, etree._Element):
        root, name = data, local_name(data)
        if name not in (RES_NOTIF_RQ, RES_MODIFY_NOTIF_RQ) or (expected and name != expected):
            raise OTAParseError(f"{name} is not the reservation notification expected")
    else:
        root, name = _reservation_root(data, expected)
    container, item = _CONTAINERS[name]
    pieces = tuple(
        _single_document(root, el, mask_cards=mask_cards) for el in findall(root, container, item)
    )
    envelope = HotelReservationsMessage(
        name=name,
        reservations=(),
        res_status=root.get("ResStatus"),
        target=root.get("Target"),
        **read_header(root),
    )
    return envelope, pieces


# ---------------------------------------------------------------------------- writing


def _add_texts(parent: etree._Element, container: str, tag: str, texts: tuple[str, ...]) -> None:
    if texts:
        box = sub_element(parent, container)
        for text in texts:
            sub_element(sub_element(box, tag), "Text", text=text)


def add_customer(parent: etree._Element, profile: GuestProfile) -> None:
    """``Profiles/ProfileInfo/Profile/Customer`` for ``profile`` under ``parent``."""
    customer = sub_element(
        sub_element(sub_element(sub_element(parent, "Profiles"), "ProfileInfo"), "Profile"),
        "Customer",
    )
    name = sub_element(customer, "PersonName")
    if profile.given_name:
        sub_element(name, "GivenName", text=profile.given_name)
    sub_element(name, "Surname", text=profile.surname or "-")
    if profile.phone:
        sub_element(customer, "Telephone", {"PhoneNumber": profile.phone})
    if profile.email:
        sub_element(customer, "Email", text=profile.email)
    if profile.country:
        sub_element(sub_element(customer, "Address"), "CountryName", {"Code": profile.country})


def _add_card(parent: etree._Element, card: PaymentCard | None) -> None:
    if card is None:
        return
    el = sub_element(
        sub_element(
            sub_element(sub_element(parent, "Guarantee"), "GuaranteesAccepted"), "GuaranteeAccepted"
        ),
        "PaymentCard",
        {
            "CardCode": card.card_code,
            "CardNumber": card.card_number,
            "SeriesCode": card.series_code,
            "ExpireDate": card.expire_date,
        },
    )
    if card.holder_name:
        sub_element(el, "CardHolderName", text=card.holder_name)


def _add_room_stay(parent: etree._Element, stay: ResRoomStay) -> None:
    el = sub_element(parent, "RoomStay", {"IndexNumber": stay.index_number})
    if stay.room_type_code:
        sub_element(
            sub_element(el, "RoomTypes"),
            "RoomType",
            {"RoomTypeCode": stay.room_type_code, "NumberOfUnits": stay.number_of_units},
        )
    if stay.rate_plan_code:
        sub_element(sub_element(el, "RatePlans"), "RatePlan", {"RatePlanCode": stay.rate_plan_code})
    if stay.rates:
        box = sub_element(el, "RoomRates")
        for line in stay.rates:
            room_rate = sub_element(
                box,
                "RoomRate",
                {
                    "EffectiveDate": line.effective_date,
                    "ExpireDate": line.expire_date,
                    "RoomTypeCode": line.room_type_code,
                    "RatePlanCode": line.rate_plan_code,
                },
            )
            rate = sub_element(sub_element(room_rate, "Rates"), "Rate")
            _add_amount(rate, "Base", line.base)
            _add_amount(rate, "Total", line.total)
    if stay.guest_counts:
        box = sub_element(el, "GuestCounts")
        for gc in stay.guest_counts:
            sub_element(
                box,
                "GuestCount",
                {"AgeQualifyingCode": gc.age_qualifying_code, "Age": gc.age, "Count": gc.count},
            )
    if stay.start or stay.end:
        sub_element(el, "TimeSpan", {"Start": stay.start, "End": stay.end})
    _add_card(el, stay.guarantee)
    _add_amount(el, "Total", stay.total)
    if stay.hotel_code:
        sub_element(el, "BasicPropertyInfo", {"HotelCode": stay.hotel_code})
    if stay.guest_rphs:
        sub_element(el, "ResGuestRPHs", text=" ".join(stay.guest_rphs))
    _add_texts(el, "Comments", "Comment", stay.comments)
    _add_texts(el, "SpecialRequests", "SpecialRequest", stay.special_requests)


def add_hotel_reservation(parent: etree._Element, tag: str, res: HotelReservationData) -> None:
    """Write ``res`` as a ``tag`` (HotelReservation / HotelResModify) in schema order."""
    el = sub_element(
        parent,
        tag,
        {
            "CreateDateTime": res.create_datetime,
            "LastModifyDateTime": res.last_modify_datetime,
            "ResStatus": res.res_status,
        },
    )
    for kind, value in res.unique_ids:
        sub_element(el, "UniqueID", {"Type": kind, "ID": value})
    if res.room_stays:
        box = sub_element(el, "RoomStays")
        for stay in res.room_stays:
            _add_room_stay(box, stay)
    if res.res_guests:
        box = sub_element(el, "ResGuests")
        for guest in res.res_guests:
            guest_el = sub_element(
                box,
                "ResGuest",
                {
                    "ResGuestRPH": guest.rph,
                    "AgeQualifyingCode": guest.age_qualifying_code,
                    "PrimaryIndicator": guest.primary,
                },
            )
            if guest.profile is not None:
                add_customer(guest_el, guest.profile)
    info = sub_element(el, "ResGlobalInfo")
    _add_texts(info, "Comments", "Comment", res.comments)
    _add_texts(info, "SpecialRequests", "SpecialRequest", res.special_requests)
    _add_card(info, res.guarantee)
    _add_amount(info, "Total", res.total)
    if res.reservation_ids:
        box = sub_element(info, "HotelReservationIDs")
        for rid in res.reservation_ids:
            sub_element(
                box,
                "HotelReservationID",
                {
                    "ResID_Type": rid.type,
                    "ResID_Value": rid.value,
                    "ResID_Source": rid.source,
                    "ResID_Date": rid.created,
                },
            )
    if res.booker is not None:
        add_customer(info, res.booker)
    if len(info) == 0:
        el.remove(info)


def build_hotel_reservations(msg: HotelReservationsMessage) -> bytes:
    """An ``OTA_HotelResNotifRQ`` / ``OTA_HotelResModifyNotifRQ`` holding ``msg.reservations``."""
    if msg.name not in (RES_NOTIF_RQ, RES_MODIFY_NOTIF_RQ):
        raise ValueError(f"{msg.name} is not a reservation notification")
    root = new_root(
        msg.name,
        echo_token=msg.echo_token,
        timestamp=msg.timestamp,
        version=msg.version,
        extra={"Target": msg.target, "ResStatus": msg.res_status},
    )
    container, item = _CONTAINERS[msg.name]
    box = sub_element(root, container)
    for res in msg.reservations:
        add_hotel_reservation(box, item, res)
    return to_bytes(root)


# ------------------------------------------------------------------------------- acks


def build_reservation_ack(ack: ReservationAck) -> bytes:
    """``Success`` listing the confirmed ids, or ``Errors`` naming each rejected id."""
    if ack.name not in (RES_NOTIF_RS, RES_MODIFY_NOTIF_RS):
        raise ValueError(f"{ack.name} is not a reservation acknowledgement")
    root = new_root(
        ack.name,
        echo_token=ack.echo_token,
        timestamp=ack.timestamp,
        version=ack.version,
        extra={"Target": ack.target},
    )
    if ack.errors:
        add_issues(root, "Errors", "Error", ack.errors)
        return to_bytes(root)
    sub_element(root, "Success")
    if ack.warnings:
        add_issues(root, "Warnings", "Warning", ack.warnings)
    if ack.reservation_ids:
        container, item = _CONTAINERS[ack.name]
        box = sub_element(root, container)
        for value in ack.reservation_ids:
            ids = sub_element(
                sub_element(sub_element(box, item), "ResGlobalInfo"), "HotelReservationIDs"
            )
            sub_element(ids, "HotelReservationID", {"ResID_Value": value})
    return to_bytes(root)


def parse_reservation_ack(data: bytes | str, expected: str | None = None) -> ReservationAck:
    root = parse_root(data, expected)
    name = local_name(root)
    if name not in (RES_NOTIF_RS, RES_MODIFY_NOTIF_RS):
        raise OTAParseError(f"{name} is not a reservation acknowledgement")
    container, item = _CONTAINERS[name]
    errors = read_issues(root, "Errors", "Error")
    if errors:
        ids = tuple(e.record_id for e in errors if e.record_id)
    else:
        ids = tuple(
            value
            for value in (
                (rid.get("ResID_Value") or "").strip()
                for rid in findall(
                    root,
                    container,
                    item,
                    "ResGlobalInfo",
                    "HotelReservationIDs",
                    "HotelReservationID",
                )
            )
            if value
        )
    if not errors and find(root, "Success") is None:
        raise OTAParseError(f"{name} carries neither Success nor Errors")
    return ReservationAck(
        name=name,
        reservation_ids=ids,
        errors=errors,
        warnings=read_issues(root, "Warnings", "Warning"),
        target=root.get("Target"),
        **read_header(root),
    )
