"""Booking.com reservations: what a GET returns, what Pema acknowledges, and the reverse.

Pema's side (what the provider calls):

- :func:`parse_reservations` reads the ``OTA_HotelResNotifRQ`` /
  ``OTA_HotelResModifyNotifRQ`` Booking answers a GET with: one
  :class:`BookingReservation` (or :class:`ReservationFailure`, with the
  reason) per reservation, each with its own raw single-reservation document
  (card numbers masked), and the RUID. :meth:`ReservationBatch.inbound` gives
  the engine its ``InboundReservation`` values (:func:`to_inbound`).
- :func:`acknowledgement_documents` turns an ``interface.Acknowledgement``
  into the ``OTA_HotelResNotifRS`` / ``OTA_HotelResModifyNotifRS`` to POST;
  :func:`parse_ack` reads Booking's answer to it.

The simulator's side: :func:`build_reservations` writes what Booking answers a
GET with (integer amounts with ``DecimalPlaces``, one ``RoomRate`` per room
per night, an optional ``VCC`` suffix), :func:`parse_ack` reads Pema's acks
and :func:`build_ack` / :func:`build_ack_error` answer them.

Amounts arrive as integers scaled by ``DecimalPlaces`` and become minor units
exactly (:func:`pema.ota.hotel_reservation.exact_minor_units`): an amount
with more digits than the currency has is a reason to hold the reservation,
not to round. The revision and cancellation choices are in the README.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

from lxml import etree

from channels.interface import (
    Acknowledgement,
    GuestDetails,
    InboundKind,
    InboundReservation,
    InboundRoomStay,
    Night,
)
from partners.booking_com.codec import (
    ENDPOINT_OF_ROOT,
    RES_MODIFY_NOTIF,
    RES_NOTIF,
    RESERVATION_ENDPOINTS,
    RESERVATION_VERSION,
    ROOTS,
    TARGET_PRODUCTION,
    BookingCodecError,
    BookingIssue,
    append_ruid,
    check_target,
    issue_from_ota,
    issue_to_ota,
    new_ruid,
    read_ruid,
)
from pema import money
from pema.ota import hotel_reservation as hres
from pema.ota.common import EWT_BUSINESS_RULE, OTA_NS, OTAParseError, ota, parse_root
from pema.ota.issues import STATUS_NOT_PROCESSED, OTAIssue
from pema.ota.reservations import GuestProfile
from pema.xml import MAX_XML_BYTES, XMLError, local_name, parse_xml

VCC_SUFFIX = "VCC"
CANCEL_STATUSES = frozenset({"cancel", "cancelled"})
AQC_ADULT, AQC_CHILD, AQC_INFANT = 10, 8, 7


def _is_cancel(status: str | None) -> bool:
    """``Cancel`` or ``Cancelled``: Booking's reference names neither, so both count."""
    return (status or "").strip().lower() in CANCEL_STATUSES


def split_rate_plan_code(code: str) -> tuple[str, bool]:
    """``"1278606VCC"`` -> ``("1278606", True)``: the rate id to map, and whether it was VCC."""
    code = code.strip()
    if code.upper().endswith(VCC_SUFFIX) and len(code) > len(VCC_SUFFIX):
        return code[: -len(VCC_SUFFIX)], True
    return code, False


@dataclass(frozen=True, kw_only=True)
class BookingRoomStay:
    """One room of a Booking reservation, with its nights (minor units).

    ``rate_plan_code`` is as Booking wrote it on the ``RoomRate`` (``VCC`` suffix
    and all); :attr:`rate_id` is what the mapping knows. ``total`` is the
    room's total as Booking states it; left out, it is the sum of the nights.
    """

    room_id: str
    rate_plan_code: str
    nights: tuple[Night, ...]
    adults: int = 1
    children: int = 0
    index: str = ""
    guest: GuestDetails | None = None
    total: int = None  # type: ignore[assignment]  # None: the nights' sum (set below)
    comments: tuple[str, ...] = ()
    special_requests: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.nights:
            raise ValueError("A room stay has at least one night.")
        if self.total is None:
            object.__setattr__(self, "total", sum(n.price for n in self.nights))

    @property
    def rate_id(self) -> str:
        return split_rate_plan_code(self.rate_plan_code)[0]

    @property
    def vcc(self) -> bool:
        """Paid to the property with a Booking.com virtual credit card."""
        return split_rate_plan_code(self.rate_plan_code)[1]

    @property
    def check_in(self) -> date:
        return self.nights[0].date

    @property
    def check_out(self) -> date:
        return self.nights[-1].date + timedelta(days=1)


@dataclass(frozen=True, kw_only=True)
class BookingReservation:
    """A reservation as Booking sends it (or as the simulator queues it).

    ``total`` left out is the sum of the rooms' totals.
    """

    reservation_id: str
    hotel_id: str
    currency: str
    rooms: tuple[BookingRoomStay, ...]
    booker: GuestDetails = field(default_factory=GuestDetails)
    total: int = None  # type: ignore[assignment]  # None: the rooms' sum (set below)
    created_at: datetime | None = None
    modified_at: datetime | None = None
    status: str = ""
    comments: tuple[str, ...] = ()
    card: hres.PaymentCard | None = None
    raw: bytes = field(default=b"", compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.total is None:
            object.__setattr__(self, "total", sum(r.total for r in self.rooms))

    @property
    def cancelled(self) -> bool:
        return _is_cancel(self.status)


@dataclass(frozen=True, kw_only=True)
class ReservationFailure:
    """A reservation that could not be read; ``raw`` is still its own document."""

    reservation_id: str
    reason: str
    raw: bytes = field(default=b"", repr=False)


@dataclass(frozen=True, kw_only=True)
class ReservationBatch:
    """One GET's answer: readable reservations, unreadable ones, and the RUID."""

    endpoint: str
    reservations: tuple[BookingReservation, ...] = ()
    failures: tuple[ReservationFailure, ...] = ()
    timestamp: datetime | None = None
    target: str | None = None
    ruid: str = ""

    def inbound(self) -> tuple[InboundReservation, ...]:
        """The engine's values for every readable reservation."""
        return tuple(
            to_inbound(r, endpoint=self.endpoint, received_at=self.timestamp)
            for r in self.reservations
        )


class ReservationError(ValueError):
    """A reservation whose content Pema cannot take as it is (held for staff)."""


def _aware(value: datetime | None) -> datetime | None:
    """Booking writes local-less times; they are taken as UTC (see the README)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _guest(profile: GuestProfile | None) -> GuestDetails | None:
    if profile is None:
        return None
    return GuestDetails(
        given_name=profile.given_name or "",
        surname=profile.surname or "",
        email=profile.email or "",
        phone=profile.phone or "",
        country=profile.country or "",
    )


def _profile(guest: GuestDetails | None) -> GuestProfile | None:
    if guest is None or not (guest.surname or guest.given_name or guest.email):
        return None
    return GuestProfile(
        surname=guest.surname,
        given_name=guest.given_name or None,
        email=guest.email or None,
        phone=guest.phone or None,
        country=guest.country or None,
    )


def _minor(amount: hres.Amount | None, currency: str) -> int | None:
    if amount is None or amount.value is None:
        return None
    return hres.exact_minor_units(amount.value, amount.currency or currency)


def _nights(stay: hres.ResRoomStay, currency: str, label: str) -> tuple[Night, ...]:
    """One night per date, from the ``RoomRate`` lines (or the ``TimeSpan`` if there are none)."""
    prices: dict[date, int] = {}
    lines = stay.rates or (
        (hres.RateLine(effective_date=None, total=stay.total),) if stay.start else ()
    )
    for line in lines:
        start = line.effective_date or stay.start
        if start is None:
            raise ReservationError(f"{label}: a RoomRate has no EffectiveDate.")
        if line.expire_date and line.expire_date > start:
            end = line.expire_date
        elif line.effective_date is None and stay.end and stay.end > start:
            end = stay.end
        else:
            end = start + timedelta(days=1)
        days = [start + timedelta(days=i) for i in range((end - start).days)]
        if len(days) == 1:
            night = _minor(line.total, currency)
            per_night = [night if night is not None else _minor(line.base, currency)]
        elif line.base is not None and line.base.value is not None:
            per_night = [_minor(line.base, currency)] * len(days)
        else:
            whole = _minor(line.total, currency)
            if whole is None:
                raise ReservationError(f"{label}: no price for the nights from {start}.")
            share, rest = divmod(whole, len(days))
            per_night = [share + rest] + [share] * (len(days) - 1)
        for day, price in zip(days, per_night, strict=True):
            if price is None:
                raise ReservationError(f"{label}: no price for the night of {day}.")
            if day in prices:
                raise ReservationError(f"{label}: two prices for the night of {day}.")
            prices[day] = price
    if not prices:
        raise ReservationError(f"{label}: no nights (no RoomRate and no TimeSpan).")
    dates = sorted(prices)
    if (dates[-1] - dates[0]).days + 1 != len(dates):
        raise ReservationError(
            f"{label}: the nights are not consecutive ({dates[0]}..{dates[-1]})."
        )
    return tuple(Night(date=d, price=prices[d]) for d in dates)


def _guest_counts(stay: hres.ResRoomStay) -> tuple[int, int]:
    adults = children = 0
    for count in stay.guest_counts:
        if count.age_qualifying_code in (AQC_CHILD, AQC_INFANT):
            children += count.count
        else:
            adults += count.count
    return (adults or 1), children


def _currency(res: hres.HotelReservationData) -> str:
    candidates = [res.total] + [s.total for s in res.room_stays]
    candidates += [line.total or line.base for s in res.room_stays for line in s.rates]
    return next((a.currency for a in candidates if a is not None and a.currency), "") or ""


def booking_reservation(res: hres.HotelReservationData) -> BookingReservation:
    """Booking's reading of a parsed reservation; raises :class:`ReservationError`."""
    reservation_id = res.first_reservation_id
    if not reservation_id:
        raise ReservationError("The reservation has no HotelReservationID@ResID_Value.")
    currency = _currency(res).upper()
    guests_by_rph = {g.rph: g for g in res.res_guests if g.rph}
    rooms = []
    for n, stay in enumerate(res.room_stays, start=1):
        label = f"Reservation {reservation_id}, room {stay.index_number or n}"
        adults, children = _guest_counts(stay)
        code = next((line.rate_plan_code for line in stay.rates if line.rate_plan_code), None)
        guest = next((guests_by_rph[r] for r in stay.guest_rphs if r in guests_by_rph), None)
        rooms.append(
            BookingRoomStay(
                room_id=stay.room_type_code or "",
                rate_plan_code=code or stay.rate_plan_code or "",
                nights=_nights(stay, currency, label),
                adults=adults,
                children=children,
                index=stay.index_number or "",
                guest=_guest(guest.profile) if guest else None,
                total=_minor(stay.total, currency),
                comments=stay.comments,
                special_requests=stay.special_requests,
            )
        )
    if not rooms:
        raise ReservationError(f"Reservation {reservation_id} has no RoomStay.")
    booker = _guest(res.booker)
    if booker is None:
        primary = next((g for g in res.res_guests if g.primary), None) or next(
            iter(res.res_guests), None
        )
        booker = _guest(primary.profile if primary else None)
    created = res.reservation_ids[0].created or res.create_datetime
    return BookingReservation(
        reservation_id=reservation_id,
        hotel_id=next((s.hotel_code for s in res.room_stays if s.hotel_code), "") or "",
        currency=currency,
        rooms=tuple(rooms),
        booker=booker or GuestDetails(),
        total=_minor(res.total, currency),
        created_at=_aware(created),
        modified_at=_aware(res.last_modify_datetime),
        status=res.res_status or "",
        comments=res.comments,
        card=(res.guarantee or next((s.guarantee for s in res.room_stays if s.guarantee), None)),
        raw=res.raw,
    )


def _reservation_roots(endpoint: str) -> tuple[str, str]:
    """The (GET answer, ack) root names of a reservation endpoint."""
    if endpoint not in RESERVATION_ENDPOINTS:
        raise BookingCodecError(f"{endpoint!r} is not a Booking.com reservation endpoint.")
    return ROOTS[endpoint]


def _endpoint_of(root_name: str, expected: str | None) -> str:
    endpoint = ENDPOINT_OF_ROOT.get(root_name)
    if endpoint not in RESERVATION_ENDPOINTS:
        raise OTAParseError(f"{root_name} is not a Booking.com reservation message")
    if expected is not None and endpoint != expected:
        raise OTAParseError(f"{root_name} came from {expected}, which returns {ROOTS[expected][0]}")
    return endpoint


def _reservation_id_in(document: bytes) -> str:
    try:
        root = parse_root(document)
    except (OTAParseError, XMLError):
        return ""
    rid = root.find(".//" + ota("HotelReservationID"))
    return (rid.get("ResID_Value") or "").strip() if rid is not None else ""


def parse_reservations(
    data: bytes | str, *, endpoint: str | None = None, max_bytes: int = MAX_XML_BYTES
) -> ReservationBatch:
    """What a GET on ``OTA_HotelResNotif`` / ``OTA_HotelResModifyNotif`` returned.

    Each reservation is cut out as its own document (card numbers masked) and
    read on its own: one that cannot be read becomes a
    :class:`ReservationFailure` with the reason, and the others still count.
    A document that is not a reservation message at all raises
    ``OTAParseError`` (or ``pema.xml.XMLError``, also for an answer larger
    than ``max_bytes``: bound GETs with Booking's ``limit`` instead of raising it).
    """
    root = parse_xml(data, max_bytes=max_bytes)
    if etree.QName(root).namespace != OTA_NS:
        raise OTAParseError(f"root element {root.tag!r} is not in the OTA 2003/05 namespace")
    found = _endpoint_of(local_name(root), endpoint)
    envelope, documents = hres.split_hotel_reservations(root)
    reservations, failures = [], []
    for document in documents:
        try:
            message = hres.parse_hotel_reservations(document)
            parsed = message.reservations[0]
            if not parsed.res_status and _is_cancel(message.res_status):
                # A whole message marked as cancelling (OTA allows the root to say it).
                parsed = replace(parsed, res_status=message.res_status)
            reservations.append(replace(booking_reservation(parsed), raw=document))
        except (OTAParseError, ReservationError, XMLError) as exc:
            failures.append(
                ReservationFailure(
                    reservation_id=_reservation_id_in(document), reason=str(exc), raw=document
                )
            )
    return ReservationBatch(
        endpoint=found,
        reservations=tuple(reservations),
        failures=tuple(failures),
        timestamp=envelope.timestamp,
        target=envelope.target,
        ruid=read_ruid(root),
    )


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def revision_of(res: BookingReservation, *, received_at: datetime | None = None) -> str:
    """The revision the engine orders this reservation's messages by (UTC, sortable).

    ``LastModifyDateTime`` when Booking sends it, else the ``TimeStamp`` of the
    message it came in, else the creation time (``ResID_Date``). The creation
    time alone would not do: a reservation changed before its first ack comes
    again as a *new* reservation with the same ``ResID_Date``, and that change
    must not be taken for a duplicate. See the README.
    """
    for stamp in (res.modified_at, _aware(received_at), res.created_at):
        if stamp is not None:
            return _stamp(stamp)
    return ""


def _requests_text(res: BookingReservation) -> str:
    lines = list(res.comments)
    several = len(res.rooms) > 1
    for n, room in enumerate(res.rooms, start=1):
        for text in room.comments + room.special_requests:
            lines.append(f"Room {room.index or n}: {text}" if several else text)
    return "\n".join(lines)


def to_inbound(
    res: BookingReservation, *, endpoint: str, received_at: datetime | None = None
) -> InboundReservation:
    """The engine's value for one Booking reservation.

    ``ack_token`` is the endpoint the message came from: an ack must go back
    to it (a cancellation can come on either).
    """
    if res.cancelled:
        kind = InboundKind.CANCEL
    elif endpoint == RES_MODIFY_NOTIF:
        kind = InboundKind.MODIFY
    else:
        kind = InboundKind.NEW
    booker = res.booker if (res.booker.surname or res.booker.email) else None
    first_guest = next((r.guest for r in res.rooms if r.guest), None)
    return InboundReservation(
        partner_reservation_id=res.reservation_id,
        revision=revision_of(res, received_at=received_at),
        kind=kind,
        currency=res.currency,
        total=res.total,
        guest=booker or first_guest or GuestDetails(),
        rooms=tuple(
            InboundRoomStay(
                partner_room_id=room.room_id,
                partner_rate_id=room.rate_id,
                check_in=room.check_in,
                check_out=room.check_out,
                adults=room.adults,
                children=room.children,
                nights=room.nights,
                index=room.index,
            )
            for room in res.rooms
        ),
        special_requests=_requests_text(res),
        booked_at=res.created_at,
        ack_token=endpoint,
        raw=res.raw,
    )


# ------------------------------------------------------- reservations, the simulator side


def _amount(minor: int, currency: str, places: int) -> hres.Amount:
    return hres.Amount(
        after_tax=hres.major_units(minor, currency), currency=currency, decimal_places=places
    )


def _as_ota(
    res: BookingReservation, places: int | None, include_card: bool
) -> hres.HotelReservationData:
    currency = res.currency
    dp = places if places is not None else money.currency_exponent(currency)
    stays, guests = [], []
    for n, room in enumerate(res.rooms, start=1):
        rph = room.index or str(n)
        counts = [hres.GuestCount(age_qualifying_code=AQC_ADULT, count=room.adults)]
        if room.children:
            counts.append(hres.GuestCount(age_qualifying_code=AQC_CHILD, count=room.children))
        if room.guest is not None and (profile := _profile(room.guest)) is not None:
            guests.append(hres.ResGuest(rph=rph, profile=profile))
        stays.append(
            hres.ResRoomStay(
                index_number=room.index or None,
                room_type_code=room.room_id,
                rate_plan_code=room.rate_id,
                rates=tuple(
                    hres.RateLine(
                        effective_date=night.date,
                        rate_plan_code=room.rate_plan_code,
                        total=_amount(night.price, currency, dp),
                    )
                    for night in room.nights
                ),
                guest_counts=tuple(counts),
                total=_amount(room.total, currency, dp),
                hotel_code=res.hotel_id,
                guest_rphs=(rph,) if room.guest is not None else (),
                comments=room.comments,
                special_requests=room.special_requests,
            )
        )
    created = _aware(res.created_at)
    return hres.HotelReservationData(
        res_status=res.status or None,
        last_modify_datetime=_aware(res.modified_at),
        room_stays=tuple(stays),
        res_guests=tuple(guests),
        comments=res.comments,
        guarantee=res.card if include_card else None,
        total=_amount(res.total, currency, dp),
        reservation_ids=(
            # Booking writes ResID_Date without a zone.
            hres.ReservationID(
                value=res.reservation_id,
                created=created.replace(tzinfo=None) if created else None,
            ),
        ),
        booker=_profile(res.booker),
    )


def build_reservations(
    endpoint: str,
    reservations: Sequence[BookingReservation],
    *,
    target: str = TARGET_PRODUCTION,
    timestamp: datetime | None = None,
    decimal_places: int | None = None,
    include_cards: bool = True,
    ruid: str | None = None,
) -> bytes:
    """What Booking answers a GET with: amounts as integers with ``DecimalPlaces``.

    ``decimal_places`` defaults to each currency's minor unit; ``include_cards``
    False leaves the guarantee out (Booking sends a card only once).
    """
    name = _reservation_roots(endpoint)[0]
    body = hres.build_hotel_reservations(
        hres.HotelReservationsMessage(
            name=name,
            reservations=tuple(_as_ota(r, decimal_places, include_cards) for r in reservations),
            target=check_target(target),
            timestamp=timestamp,
            version=RESERVATION_VERSION,
        )
    )
    return append_ruid(body, ruid or new_ruid())


# ---------------------------------------------------------------------------------- acks


@dataclass(frozen=True, kw_only=True)
class BookingAck:
    """An ``OTA_HotelResNotifRS`` / ``OTA_HotelResModifyNotifRS`` either way it travels."""

    endpoint: str
    reservation_ids: tuple[str, ...] = ()
    errors: tuple[BookingIssue, ...] = ()
    warnings: tuple[BookingIssue, ...] = ()
    target: str | None = None
    timestamp: datetime | None = None
    ruid: str = ""

    @property
    def success(self) -> bool:
        return not self.errors


def build_ack(
    endpoint: str,
    reservation_ids: Sequence[str],
    *,
    rejected: Sequence[tuple[str, str]] = (),
    target: str = TARGET_PRODUCTION,
    timestamp: datetime | None = None,
    echo_token: str | None = None,
    ruid: str | None = None,
) -> bytes:
    """``Success`` listing ``reservation_ids``, or, with ``rejected`` ``(id, reason)``
    pairs, an active rejection: ``Errors`` naming each id in ``RecordID``.

    The schema does not allow both in one document; send two. ``ruid`` is for
    the simulator's answers (Pema's own acks carry none).
    """
    if rejected and reservation_ids:
        raise ValueError("An ack either confirms or rejects; send two documents.")
    errors = tuple(
        OTAIssue(
            type=EWT_BUSINESS_RULE,
            code="450",
            short_text=reason,
            text=reason,
            status=STATUS_NOT_PROCESSED,
            record_id=rid,
        )
        for rid, reason in rejected
    )
    body = hres.build_reservation_ack(
        hres.ReservationAck(
            name=_reservation_roots(endpoint)[1],
            reservation_ids=tuple(reservation_ids),
            errors=errors,
            target=check_target(target),
            timestamp=timestamp,
            echo_token=echo_token,
            version=RESERVATION_VERSION,
        )
    )
    return append_ruid(body, ruid) if ruid else body


def build_ack_error(
    endpoint: str,
    errors: Sequence[BookingIssue],
    *,
    target: str = TARGET_PRODUCTION,
    ruid: str | None = None,
) -> bytes:
    """Booking's error answer to an ack (400/403/409 bodies), for the simulator."""
    body = hres.build_reservation_ack(
        hres.ReservationAck(
            name=_reservation_roots(endpoint)[1],
            errors=tuple(issue_to_ota(e) for e in errors),
            target=check_target(target),
            version=RESERVATION_VERSION,
        )
    )
    return append_ruid(body, ruid or new_ruid())


def parse_ack(data: bytes | str, *, endpoint: str | None = None) -> BookingAck:
    """An ack as the simulator receives it, or Booking's answer to one as Pema does."""
    root = parse_root(data)
    name = local_name(root)
    found = ENDPOINT_OF_ROOT.get(name)
    if found not in RESERVATION_ENDPOINTS or name != ROOTS[found][1]:
        raise OTAParseError(f"{name} is not a reservation acknowledgement")
    if endpoint is not None and found != endpoint:
        raise OTAParseError(f"{name} does not belong on {endpoint}")
    ack = hres.parse_reservation_ack(data)
    return BookingAck(
        endpoint=found,
        reservation_ids=ack.reservation_ids,
        errors=tuple(issue_from_ota(e) for e in ack.errors),
        warnings=tuple(issue_from_ota(w) for w in ack.warnings),
        target=ack.target,
        timestamp=ack.timestamp,
        ruid=read_ruid(root),
    )


def acknowledgement_documents(
    ack: Acknowledgement, *, target: str = TARGET_PRODUCTION, timestamp: datetime | None = None
) -> list[tuple[str, bytes]]:
    """``(endpoint, body)`` to POST for what the engine applied and what it rejects.

    Applied reservations are confirmed per endpoint they came from (their
    ``ack_token``) in one document each; rejected ones get one active
    rejection per endpoint. Held messages the connection does not reject are
    simply left out, so Booking keeps them queued.
    """
    out: list[tuple[str, bytes]] = []
    for endpoint in RESERVATION_ENDPOINTS:
        applied = _unique(r.partner_reservation_id for r in ack.applied if _token(r) == endpoint)
        if applied:
            out.append((endpoint, build_ack(endpoint, applied, target=target, timestamp=timestamp)))
        rejected = [
            (r.partner_reservation_id, reason)
            for r, reason in ack.rejected
            if _token(r) == endpoint
        ]
        if rejected:
            out.append(
                (
                    endpoint,
                    build_ack(endpoint, (), rejected=rejected, target=target, timestamp=timestamp),
                )
            )
    return out


def _token(res: InboundReservation) -> str:
    if res.ack_token in RESERVATION_ENDPOINTS:
        return res.ack_token
    return RES_MODIFY_NOTIF if res.kind != InboundKind.NEW else RES_NOTIF


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))
