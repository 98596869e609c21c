"""Creating, modifying and cancelling reservations without ever overselling.

Each function is one transaction: it locks the stay's ``InventoryDay`` rows
in (room type, date) order, so concurrent bookings queue on the same rows
instead of deadlocking, re-checks availability and restrictions on the locked
rows, moves the counters, writes the reservation and a ``ChangeEvent``, and
commits. Reservations from OTAs are never refused for lack of rooms: nights
past availability count as overbooked and the reservation is flagged.

A reservation is one stay (its dates) of one or more rooms. Its rooms come in
lines (``RoomRequest``): rooms alike in room type, rate plan and guests. A
booking from the website is one line; an OTA's multi-room booking may mix room
types and rate plans, one line per room, each with its partner's nightly
prices. All lines of a reservation are sold in one transaction, the rows of
every room type locked together, so the reservation is booked whole or not
at all.
"""

from __future__ import annotations

import secrets
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.db import connection, transaction
from django.utils import timezone

from pema.sql import add_to_columns, insert_rows, row_exists, select_values

from . import extensions, external
from .availability import (
    InventoryRow,
    RateRow,
    Stay,
    inventory_reasons,
    occupancy_reasons,
    price_stay,
    restriction_reasons,
    validate_stay,
)
from .cancellation import cancellation_fee, is_non_refundable
from .errors import (
    InvalidStay,
    NoAvailability,
    NotModifiable,
    PriceChanged,
    Reason,
    ReservationBusy,
    ReservationClosed,
)
from .events import record_event, reservation_snapshot
from .inventory import calendar_covers, ensure_calendar
from .models import (
    ChangeEvent,
    Guest,
    Hotel,
    InventoryDay,
    RateDay,
    RatePlan,
    Reservation,
    ReservationRoom,
    RoomNight,
    RoomType,
)

# Crockford-style alphabet: no I, L, O, U, so numbers read out on the phone survive.
CONFIRMATION_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
Source = Reservation.Source


@dataclass(frozen=True)
class GuestDetails:
    """Who the reservation is for."""

    first_name: str
    last_name: str
    email: str = ""
    phone: str = ""
    country: str = ""


@dataclass(frozen=True)
class RoomRequest:
    """One line of a reservation: ``rooms`` rooms alike in room type, rate plan and guests.

    ``adults`` and ``children`` are per room. ``nightly_prices`` (one per
    night, the line's rooms together) come from an OTA or PMS that set the
    price; None: the hotel's rates price the line.
    """

    room_type: RoomType
    rate_plan: RatePlan
    adults: int
    children: int = 0
    rooms: int = 1
    nightly_prices: tuple[int, ...] | None = None


@dataclass(frozen=True)
class _SoldLine:
    """A line counted into the calendar: its nightly amounts and, per room, overbooked nights."""

    room_type: RoomType
    rate_plan: RatePlan
    stay: Stay
    nightly: list[int]
    overbooked: list[set[date]]


def new_confirmation_number(hotel: Hotel) -> str:
    suffix = "".join(secrets.choice(CONFIRMATION_ALPHABET) for _ in range(6))
    return f"{hotel.code}-{suffix}"


def upsert_guest(hotel: Hotel, details: GuestDetails) -> Guest:
    """One guest per e-mail per hotel: the latest details win (an empty one keeps the old).

    One statement, ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``, where the
    ORM's ``select_for_update().get_or_create`` took a locking read, a savepoint,
    the insert and its release. The upsert locks an existing row just the same
    until the transaction ends, and returns the row as stored, so the guest in
    hand is what a fresh read would give.
    """
    email = details.email.strip().lower()
    values = {
        "first_name": details.first_name.strip(),
        "last_name": details.last_name.strip(),
        "phone": details.phone.strip(),
        "country": details.country.strip().upper(),
    }
    if not email:
        return Guest.objects.create(hotel=hotel, email="", **values)
    meta = Guest._meta
    table = meta.db_table
    columns = {f.attname: f.column for f in meta.concrete_fields}
    qn = connection.ops.quote_name
    kept = list(values)
    inserted = ["hotel_id", "email", *kept, "created_at"]
    # An empty value never overwrites a stored one (the guest left the field out).
    updates = ", ".join(
        f"{qn(columns[name])} = COALESCE(NULLIF(EXCLUDED.{qn(columns[name])}, ''), "
        f"{qn(table)}.{qn(columns[name])})"
        for name in kept
    )
    returned = ["id", *kept, "created_at"]
    sql = (
        f"INSERT INTO {qn(table)} ({', '.join(qn(columns[n]) for n in inserted)}) "
        f"VALUES ({', '.join(['%s'] * len(inserted))}) "
        # The target names the partial unique index, with its condition written exactly
        # as Django creates it: SQLite matches the index by that text, not its meaning.
        f"ON CONFLICT ({qn(columns['hotel_id'])}, {qn(columns['email'])}) "
        f"WHERE NOT ({qn(columns['email'])} = '') DO UPDATE SET {updates} "
        f"RETURNING {', '.join(qn(columns[n]) for n in returned)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [hotel.id, email, *values.values(), timezone.now()])
        row = dict(zip(returned, cursor.fetchone(), strict=True))
    # Through the field's converter: SQLite returns timestamps as text.
    created_at = meta.get_field("created_at")
    for converter in connection.ops.get_db_converters(created_at.get_col(table)):
        row["created_at"] = converter(row["created_at"], created_at, connection)
    guest = Guest(hotel=hotel, email=email, **row)
    guest._state.adding = False
    guest._state.db = connection.alias
    return guest


def _lock_inventory(
    room_type_ids: set[int], dates: set[date]
) -> dict[tuple[int, date], InventoryRow]:
    """Lock the rows in a fixed order so two transactions never wait on each other in a cycle.

    Read as plain tuples by a hand-written statement, as a search reads them:
    the ORM's cost to build the locking select and a model instance per night
    was a large part of a booking's CPU, and the checks read attributes only.
    """
    rows = select_values(
        InventoryDay,
        InventoryRow._fields,
        order_by=("room_type_id", "date"),
        for_update=True,
        room_type_id__in=sorted(room_type_ids),
        date__in=sorted(dates),
    )
    return {(row.room_type_id, row.date): row for row in map(InventoryRow._make, rows)}


def _rates(rate_plan: RatePlan, room_type: RoomType, stay: Stay) -> dict[date, RateRow]:
    # Plain tuples through the hand-written select, as a search reads them: the
    # evaluators read attributes only. Keyed by date, so read in no order.
    rows = select_values(
        RateDay,
        RateRow._fields,
        rate_plan_id=rate_plan.pk,
        room_type_id=room_type.pk,
        date__gte=stay.check_in,
        date__lte=stay.check_out,
    )
    return {row.date: row for row in map(RateRow._make, rows)}


def _plan_sells(rate_plan: RatePlan, room_type: RoomType) -> bool:
    """Whether the plan sells the room type: one look at the link table.

    By hand: the ORM's ``rate_plan.room_types.filter(pk=...).exists()`` joined
    the room type table and cost some ten times the round trip to build.
    """
    return row_exists(
        RatePlan.room_types.through, rateplan_id=rate_plan.pk, roomtype_id=room_type.pk
    )


def _check_sellable(
    room_type: RoomType,
    rate_plan: RatePlan,
    stay: Stay,
    inventory: dict[date, InventoryRow],
    rates: dict[date, RateRow],
    *,
    allow_overbooking: bool,
    check_restrictions: bool,
) -> None:
    if rate_plan.hotel_id != room_type.hotel_id or not _plan_sells(rate_plan, room_type):
        raise InvalidStay(
            f"Rate plan {rate_plan.code} does not sell room type {room_type.code}.",
            code="rate_plan_not_for_room_type",
            fields={"rate_plan": [f"{rate_plan.code} does not sell {room_type.code}."]},
        )
    reasons: list[Reason] = occupancy_reasons(room_type, stay)
    if reasons:
        raise InvalidStay(
            reasons[0].message, code="too_many_guests", fields={"adults": [reasons[0].message]}
        )
    if allow_overbooking:
        return
    reasons = inventory_reasons(stay, inventory)
    if not reasons and check_restrictions:
        reasons = restriction_reasons(stay, rates)
    if reasons:
        raise NoAvailability(reasons[0].message, reasons=reasons)


def _take_rooms(
    room_type: RoomType, stay: Stay, inventory: dict[date, InventoryRow]
) -> list[set[date]]:
    """Count the stay's rooms into the calendar; return, per room, its overbooked nights."""
    overbooked_by_room: list[set[date]] = [set() for _ in range(stay.rooms)]
    sold_delta: Counter[date] = Counter()
    over_delta: Counter[date] = Counter()
    for night in stay.dates:
        day = inventory[night]
        free = day.available
        for index in range(stay.rooms):
            if free > 0 and not day.stop_sell:
                sold_delta[night] += 1
                free -= 1
            else:
                over_delta[night] += 1
                overbooked_by_room[index].add(night)
    _apply_deltas(room_type.id, sold_delta, over_delta)
    # The locked view now says what the database does: a later line of the same
    # room type in this reservation sells from what this one left.
    for night, count in sold_delta.items():
        inventory[night] = inventory[night]._replace(sold=inventory[night].sold + count)
    return overbooked_by_room


def _apply_deltas(room_type_id: int, sold_delta: Counter[date], over_delta: Counter[date]) -> None:
    """One UPDATE per distinct (sold, overbooked) change, whatever the stay's length.

    Hand-written (``pema.sql``): the ORM's ``update(sold=F("sold") + n)`` cost
    more to build than to run. Only the counters that change are written.
    """
    groups: dict[tuple[int, int], list[date]] = defaultdict(list)
    for night in set(sold_delta) | set(over_delta):
        groups[(sold_delta[night], over_delta[night])].append(night)
    for (sold, over), nights in groups.items():
        amounts = {name: n for name, n in (("sold", sold), ("overbooked", over)) if n}
        if amounts:
            add_to_columns(
                InventoryDay, amounts, room_type_id=room_type_id, date__in=sorted(nights)
            )


def _release_rooms(reservation: Reservation) -> None:
    """Give the reservation's nights back to the calendar.

    A night given back on a day that carries overbooked rooms goes to the
    oldest overbooked reservation of that day instead of back on sale.
    """
    nights = list(RoomNight.objects.filter(stay__reservation=reservation).select_related("stay"))
    sold_delta: dict[int, Counter[date]] = defaultdict(Counter)
    over_delta: dict[int, Counter[date]] = defaultdict(Counter)
    freed: dict[int, Counter[date]] = defaultdict(Counter)
    for night in nights:
        rt_id = night.stay.room_type_id
        if night.overbooked:
            over_delta[rt_id][night.date] -= 1
        else:
            freed[rt_id][night.date] += 1
    rehoused: set[int] = set()
    for rt_id, days in freed.items():
        waiting = (
            RoomNight.objects.filter(
                stay__room_type_id=rt_id,
                date__in=list(days),
                overbooked=True,
                stay__reservation__status=Reservation.Status.CONFIRMED,
            )
            .exclude(stay__reservation=reservation)
            .order_by("stay__reservation__created_at", "id")
            .select_related("stay")
        )
        for other in waiting:
            if days[other.date] <= 0:
                continue
            days[other.date] -= 1
            over_delta[rt_id][other.date] -= 1
            other.overbooked = False
            other.save(update_fields=["overbooked"])
            rehoused.add(other.stay.reservation_id)
        for day, count in days.items():
            if count:
                sold_delta[rt_id][day] -= count
    for rt_id in set(sold_delta) | set(over_delta):
        _apply_deltas(rt_id, sold_delta[rt_id], over_delta[rt_id])
    for other_id in rehoused:
        still = RoomNight.objects.filter(stay__reservation_id=other_id, overbooked=True).exists()
        Reservation.objects.filter(pk=other_id).update(is_overbooked=still)


def split_over_rooms(nightly: Sequence[int], rooms: int) -> list[list[int]]:
    """Per room, its nightly amounts: a line's amounts split evenly, the first rooms the rest."""
    return [
        [amount // rooms + (1 if index < amount % rooms else 0) for amount in nightly]
        for index in range(rooms)
    ]


def _write_stays(reservation: Reservation, lines: list[_SoldLine]) -> list[ReservationRoom]:
    """Room stays and their nightly prices, line after line; a line's amounts split evenly.

    Returns the stays (in id order, with their room type, rate plan and nights
    attached as a prefetch would), so whoever describes the reservation next
    reads nothing back.
    """
    rooms: list[ReservationRoom] = []
    nights_by_room: list[list[RoomNight]] = []
    for line in lines:
        stay = line.stay
        for index, prices in enumerate(split_over_rooms(line.nightly, stay.rooms)):
            room = ReservationRoom(
                reservation=reservation,
                room_type=line.room_type,
                rate_plan=line.rate_plan,
                adults=stay.adults,
                children=stay.children,
                total_amount=sum(prices),
            )
            rooms.append(room)
            nights_by_room.append(
                [
                    RoomNight(
                        stay=room, date=d, price=price, overbooked=d in line.overbooked[index]
                    )
                    for d, price in zip(stay.dates, prices, strict=True)
                ]
            )
    # Written by hand (``pema.sql.insert_rows``), as bulk_create would, at a
    # fraction of the ORM's cost to build the statements.
    insert_rows(rooms)
    for room, nights in zip(rooms, nights_by_room, strict=True):
        for night in nights:
            night.stay = room  # the stay has its id now
    insert_rows([night for nights in nights_by_room for night in nights])
    for room, nights in zip(rooms, nights_by_room, strict=True):
        _remember(room, "nights", nights)  # already in date order
    _remember(reservation, "rooms", rooms)
    return rooms


def _remember(instance, relation: str, objects: list) -> None:
    """Hold ``objects`` as ``instance.<relation>.all()``, the way ``prefetch_related`` does.

    The rows were just written in this transaction, so these are exactly what a
    prefetch would read back.
    """
    queryset = getattr(instance, relation).all()
    queryset._result_cache = list(objects)
    queryset._prefetch_done = True
    if not hasattr(instance, "_prefetched_objects_cache"):
        instance._prefetched_objects_cache = {}
    instance._prefetched_objects_cache[relation] = queryset


def _nightly_amounts(
    room_type: RoomType,
    stay: Stay,
    rates: dict[date, RateRow],
    supplied: list[int] | None,
) -> list[int]:
    if supplied is not None:
        if len(supplied) != stay.nights:
            raise InvalidStay("One price per night is needed.", code="invalid_prices")
        return list(supplied)
    if any(rates.get(d) is None or rates[d].price is None for d in stay.dates):
        raise NoAvailability(
            "No price is set for every night of the stay.",
            reasons=[Reason("no_rate", "No price is set for every night of the stay.")],
        )
    return [n.amount for n in price_stay(room_type, stay, rates)]


def _sell_lines(
    lines: list[tuple[RoomRequest, Stay]], source: str, expected_total: int | None
) -> list[_SoldLine]:
    """Lock, re-check, price and count every line into the calendar (inside a transaction).

    The rows of all the lines' room types are locked in one ordered statement;
    each line then sells from what the lines before it left.
    """
    locked = _lock_inventory(
        {request.room_type.id for request, _ in lines},
        {night for _, stay in lines for night in stay.dates},
    )
    sold = []
    for request, stay in lines:
        room_type, rate_plan = request.room_type, request.rate_plan
        inventory = {
            d: locked[(room_type.id, d)] for d in stay.dates if (room_type.id, d) in locked
        }
        rates = _rates(rate_plan, room_type, stay)
        _check_sellable(
            room_type,
            rate_plan,
            stay,
            inventory,
            rates,
            allow_overbooking=source == Source.OTA,
            check_restrictions=source not in (Source.OTA, Source.PMS),
        )
        prices = None if request.nightly_prices is None else list(request.nightly_prices)
        nightly = _nightly_amounts(room_type, stay, rates, prices)
        overbooked = _take_rooms(room_type, stay, inventory)
        locked.update({(room_type.id, d): row for d, row in inventory.items()})
        sold.append(_SoldLine(room_type, rate_plan, stay, nightly, overbooked))
    total = sum(sum(line.nightly) for line in sold)
    if expected_total is not None and expected_total != total:
        currency = sold[0].rate_plan.currency
        raise PriceChanged(
            f"The price is now {total} (minor units of {currency}), not {expected_total}.",
            total=total,
            currency=currency,
        )
    return sold


def _validated_lines(
    hotel: Hotel,
    check_in: date,
    check_out: date,
    rooms: Sequence[RoomRequest],
    *,
    enforce_booking_window: bool,
) -> list[tuple[RoomRequest, Stay]]:
    """Each line with its validated stay; ``InvalidStay`` when one cannot be booked as asked."""
    if not rooms:
        raise InvalidStay("A reservation books at least one room.", code="no_rooms")
    lines = []
    for request in rooms:
        if request.room_type.hotel_id != hotel.id or request.rate_plan.hotel_id != hotel.id:
            raise InvalidStay(
                "Room type and rate plan must belong to the hotel.", code="wrong_hotel"
            )
        stay = validate_stay(
            hotel,
            check_in,
            check_out,
            request.adults,
            request.children,
            request.rooms,
            enforce_booking_window=enforce_booking_window,
        )
        lines.append((request, stay))
    currencies = {request.rate_plan.currency for request in rooms}
    if len(currencies) > 1:
        raise InvalidStay(
            f"One reservation is in one currency; these rate plans sell in "
            f"{', '.join(sorted(currencies))}.",
            code="mixed_currencies",
        )
    if sum(stay.rooms for _, stay in lines) > 99:
        raise InvalidStay("A reservation books at most 99 rooms.", code="too_many_rooms")
    return lines


def _summary(lines: list[tuple[RoomRequest, Stay]]) -> Stay:
    """The reservation's own dates and guests per room (the largest room's, where rooms differ)."""
    stays = [stay for _, stay in lines]
    return Stay(
        check_in=stays[0].check_in,
        check_out=stays[0].check_out,
        adults=max(s.adults for s in stays),
        children=max(s.children for s in stays),
        rooms=sum(s.rooms for s in stays),
    )


def _confirm_with_master(
    hotel: Hotel, room_type: RoomType, rate_plan: RatePlan, stay: Stay, source: str
) -> None:
    # Reservations that come from the PMS or an OTA are facts to record, not requests.
    if hotel.availability_master != Hotel.AvailabilityMaster.PMS:
        return
    if source in (Source.OTA, Source.PMS):
        return
    external.confirm_with_master(
        external.StayQuery(
            hotel,
            room_type,
            rate_plan,
            stay.check_in,
            stay.check_out,
            stay.adults,
            stay.children,
            stay.rooms,
        )
    )


def check_with_master(
    *,
    hotel: Hotel,
    room_type: RoomType,
    rate_plan: RatePlan,
    check_in: date,
    check_out: date,
    adults: int,
    children: int = 0,
    rooms: int = 1,
    source: str,
) -> None:
    """Ask a PMS-mastered hotel's PMS about the stay (nothing to ask otherwise).

    For callers that open a transaction before booking: run this first, then
    ``reserve_stay(..., master_confirmed=True)`` inside the transaction.
    """
    stay = validate_stay(
        hotel, check_in, check_out, adults, children, rooms,
        enforce_booking_window=source not in (Source.OTA, Source.PMS),
    )  # fmt: skip
    _confirm_with_master(hotel, room_type, rate_plan, stay, source)


def reserve_stay(
    *,
    hotel: Hotel,
    room_type: RoomType,
    rate_plan: RatePlan,
    check_in: date,
    check_out: date,
    adults: int,
    children: int = 0,
    rooms: int = 1,
    guest: GuestDetails | Guest,
    source: str,
    source_channel: str = "",
    external_id: str = "",
    external_revision: str = "",
    special_requests: str = "",
    expected_total: int | None = None,
    nightly_prices: list[int] | None = None,
    master_confirmed: bool = False,
    savepoint: bool = True,
    status: str = Reservation.Status.CONFIRMED,
    hold_expires_at=None,
) -> Reservation:
    """Book ``rooms`` rooms of one type and plan. Raises ``NoAvailability``, ``PriceChanged``
    or ``InvalidStay``.

    ``nightly_prices`` (for all rooms together) come from an OTA or PMS that
    set the price; otherwise the hotel's rates price the stay.
    ``master_confirmed``: the caller already ran ``check_with_master`` outside
    its transaction (a PMS call must never hold database locks open).

    The reservation comes back with its hotel, guest (as stored) and room stays
    (room type, rate plan and nights) in hand, as ``prefetch_related`` would
    have read them, so describing it costs no query.

    ``savepoint=False``: the caller's own transaction ends on any error raised
    here (it lets it propagate out of its ``atomic``), so the booking needs no
    savepoint of its own to roll back to; its two statements are saved. Inside
    a transaction that goes on after a refusal (a form showing the error),
    keep the default.
    """
    return reserve_rooms(
        hotel=hotel,
        check_in=check_in,
        check_out=check_out,
        rooms=[
            RoomRequest(
                room_type=room_type,
                rate_plan=rate_plan,
                adults=adults,
                children=children,
                rooms=rooms,
                nightly_prices=None if nightly_prices is None else tuple(nightly_prices),
            )
        ],
        guest=guest,
        source=source,
        source_channel=source_channel,
        external_id=external_id,
        external_revision=external_revision,
        special_requests=special_requests,
        expected_total=expected_total,
        master_confirmed=master_confirmed,
        savepoint=savepoint,
        status=status,
        hold_expires_at=hold_expires_at,
    )


def reserve_rooms(
    *,
    hotel: Hotel,
    check_in: date,
    check_out: date,
    rooms: Sequence[RoomRequest],
    guest: GuestDetails | Guest,
    source: str,
    source_channel: str = "",
    external_id: str = "",
    external_revision: str = "",
    special_requests: str = "",
    expected_total: int | None = None,
    master_confirmed: bool = False,
    savepoint: bool = True,
    staff_notes: str = "",
    status: str = Reservation.Status.CONFIRMED,
    hold_expires_at=None,
) -> Reservation:
    """Book one stay of several lines of rooms (room types and plans may differ), whole or not.

    As :func:`reserve_stay`, of which it is the general form; ``expected_total``
    is the total of every line; ``staff_notes`` are for staff only (what a
    partner's message lacks, say). The reservation's ``adults`` and ``children``
    are the largest room's; each room stay keeps its own. ``guest`` is the
    details to file the guest under, or a ``Guest`` of the hotel to book for as is.

    ``status`` ``pending_payment`` (with ``hold_expires_at``) books the rooms
    exactly as a confirmed booking does, until :func:`confirm_pending` or a
    cancellation.
    """
    if isinstance(guest, Guest) and guest.hotel_id != hotel.id:
        raise InvalidStay("The guest belongs to another hotel.", code="wrong_hotel")
    from_partner = source in (Source.OTA, Source.PMS)
    lines = _validated_lines(
        hotel, check_in, check_out, rooms, enforce_booking_window=not from_partner
    )
    if not master_confirmed:
        for request, stay in lines:
            _confirm_with_master(hotel, request.room_type, request.rate_plan, stay, source)
    products = {(request.rate_plan.id, request.room_type.id) for request, _ in lines}
    if from_partner and not calendar_covers(products, check_in, check_out):
        # A partner may book nights our calendar does not reach yet: make the rows.
        ensure_calendar(hotel, check_in, check_out)
    with transaction.atomic(savepoint=savepoint):
        sold = _sell_lines(lines, source, expected_total)
        reservation = _create_reservation_row(
            hotel=hotel,
            guest=guest if isinstance(guest, Guest) else upsert_guest(hotel, guest),
            stay=_summary(lines),
            total=sum(sum(line.nightly) for line in sold),
            currency=sold[0].rate_plan.currency,
            source=source,
            source_channel=source_channel,
            external_id=external_id,
            external_revision=external_revision,
            special_requests=special_requests,
            staff_notes=staff_notes,
            is_overbooked=any(any(line.overbooked) for line in sold),
            status=status,
            hold_expires_at=hold_expires_at,
        )
        stays = _write_stays(reservation, sold)
        record_event(
            hotel,
            ChangeEvent.Kind.RESERVATION_CREATED,
            reservation_snapshot(reservation, stays),
            reservation=reservation,
            source=source,
        )
    return reservation


def _create_reservation_row(*, hotel: Hotel, guest: Guest, stay: Stay, **fields) -> Reservation:
    """Insert the reservation under a new confirmation number (drawn again on a collision).

    ``ON CONFLICT (confirmation_number) DO NOTHING`` finds a number already
    taken without an error, so no savepoint is needed to survive one.
    """
    reservation = Reservation(
        hotel=hotel,
        guest=guest,
        check_in=stay.check_in,
        check_out=stay.check_out,
        adults=stay.adults,
        children=stay.children,
        total_amount=fields.pop("total"),
        **fields,
    )
    for _ in range(5):
        reservation.confirmation_number = new_confirmation_number(hotel)
        if insert_rows([reservation], skip_conflicts_on="confirmation_number"):
            return reservation
    raise RuntimeError("Could not find a free confirmation number.")


def _lock_reservation(reservation: Reservation) -> Reservation:
    return Reservation.objects.select_for_update().get(pk=reservation.pk)


def _room_key(room_type_id: int, rate_plan_id: int, adults: int, children: int):
    return (room_type_id, rate_plan_id, adults, children)


def _current_lines(stays: list[ReservationRoom]) -> list[RoomRequest]:
    """The reservation's stays as lines, rooms alike counted together, in stay order."""
    counts: dict[tuple, int] = {}
    first: dict[tuple, ReservationRoom] = {}
    for stay in stays:
        key = _room_key(stay.room_type_id, stay.rate_plan_id, stay.adults, stay.children)
        counts[key] = counts.get(key, 0) + 1
        first.setdefault(key, stay)
    return [
        RoomRequest(
            room_type=stay.room_type,
            rate_plan=stay.rate_plan,
            adults=stay.adults,
            children=stay.children,
            rooms=counts[key],
        )
        for key, stay in first.items()
    ]


def _requested_lines(
    stays: list[ReservationRoom],
    *,
    room_type: RoomType | None,
    rate_plan: RatePlan | None,
    adults: int | None,
    children: int | None,
    nightly_prices: list[int] | None,
) -> list[RoomRequest]:
    """The lines a change asks for: the current ones with the given fields replaced.

    A room type or rate plan given applies to every room (the reservation
    becomes one line); rooms that end up alike are counted together.
    """
    merged: dict[tuple, RoomRequest] = {}
    for line in _current_lines(stays):
        line = RoomRequest(
            room_type=room_type or line.room_type,
            rate_plan=rate_plan or line.rate_plan,
            adults=line.adults if adults is None else adults,
            children=line.children if children is None else children,
            rooms=line.rooms,
        )
        key = _room_key(line.room_type.id, line.rate_plan.id, line.adults, line.children)
        if key in merged:
            line = RoomRequest(**{**merged[key].__dict__, "rooms": merged[key].rooms + line.rooms})
        merged[key] = line
    lines = list(merged.values())
    if nightly_prices is not None:
        if len(lines) > 1:
            raise InvalidStay(
                "The rooms of this reservation differ: give each room its own prices.",
                code="invalid_prices",
            )
        lines = [RoomRequest(**{**lines[0].__dict__, "nightly_prices": tuple(nightly_prices)})]
    return lines


def _per_room(lines: Sequence[RoomRequest]) -> list[tuple]:
    """Every room a set of lines books, as (room type, plan, adults, children, prices)."""
    rooms = []
    for line in lines:
        key = _room_key(line.room_type.id, line.rate_plan.id, line.adults, line.children)
        if line.nightly_prices is None:
            rooms += [(*key, None)] * line.rooms
        else:
            rooms += [(*key, tuple(p)) for p in split_over_rooms(line.nightly_prices, line.rooms)]
    return rooms


def _same_rooms(stays: list[ReservationRoom], lines: Sequence[RoomRequest]) -> bool:
    """Whether ``lines`` book exactly the stays there are (prices too, where they carry them)."""
    wanted = _per_room(lines)
    if len(wanted) != len(stays):
        return False
    priced = any(room[-1] is not None for room in wanted)
    prices: dict[int, list[int]] = defaultdict(list)
    if priced:
        for stay_id, price in (
            RoomNight.objects.filter(stay__in=stays).order_by("date").values_list("stay", "price")
        ):
            prices[stay_id].append(price)
    have = Counter(
        (
            *_room_key(s.room_type_id, s.rate_plan_id, s.adults, s.children),
            tuple(prices[s.pk]) if priced else None,
        )
        for s in stays
    )
    if priced and any(room[-1] is None for room in wanted):
        return False  # some rooms re-priced from the hotel's rates: a change
    return have == Counter(wanted)


#: Times a modification is planned afresh when another change commits in between.
MODIFY_ATTEMPTS = 3


def modify_reservation(
    reservation: Reservation,
    *,
    source: str,
    check_in: date | None = None,
    check_out: date | None = None,
    room_type: RoomType | None = None,
    rate_plan: RatePlan | None = None,
    adults: int | None = None,
    children: int | None = None,
    special_requests: str | None = None,
    expected_total: int | None = None,
    nightly_prices: list[int] | None = None,
    external_revision: str | None = None,
    rooms: Sequence[RoomRequest] | None = None,
    may_move_non_refundable: bool = False,
) -> Reservation:
    """Change dates, rooms, rate plan or guests; inventory moves atomically, re-priced.

    The booking engine and staff cannot move the dates of a non-refundable
    reservation (``NotModifiable``) unless ``may_move_non_refundable`` (staff
    holding the permission ``bookings.move_non_refundable``).

    ``rooms``: the lines the reservation books from now on (an OTA's rooms,
    each with its prices), in place of ``room_type``, ``rate_plan``,
    ``adults``, ``children`` and ``nightly_prices``; rooms and prices equal to
    what is booked are no change. Otherwise the given fields apply to every
    room, and each room keeps what is not given. A stay that cannot be sold
    leaves the reservation exactly as it was.

    The change is planned from the reservation as last committed (its rooms,
    dates and guests), outside the lock because planning may ask the PMS;
    under the lock the plan is used only if the reservation is still that
    version. Otherwise it is planned again: two concurrent changes never undo
    each other, and the inventory rows locked are always the ones it moves.
    """
    for _ in range(MODIFY_ATTEMPTS):
        # Planned from the reservation as last committed, not as the caller read it.
        reservation = Reservation.objects.select_related("hotel").get(pk=reservation.pk)
        hotel = reservation.hotel
        stays = list(reservation.rooms.select_related("room_type", "rate_plan").order_by("id"))
        from_partner = source in (Source.OTA, Source.PMS)
        new_check_in = check_in or reservation.check_in
        new_check_out = check_out or reservation.check_out
        moved = (new_check_in, new_check_out) != (reservation.check_in, reservation.check_out)
        if (
            moved
            and source in (Source.BOOKING_ENGINE, Source.STAFF)
            and not may_move_non_refundable
            and is_non_refundable(reservation)
        ):
            raise NotModifiable(
                f"Reservation {reservation.confirmation_number} is non-refundable: its dates "
                "cannot be changed.",
                fields={"check_in": ["A non-refundable stay keeps its dates."]},
            )
        if rooms is not None:
            given = (room_type, rate_plan, adults, children, nightly_prices)
            if any(value is not None for value in given):
                raise TypeError("Give the rooms, or room type, plan, guests and prices: not both.")
            wanted = list(rooms)
        else:
            wanted = _requested_lines(
                stays,
                room_type=room_type,
                rate_plan=rate_plan,
                adults=adults,
                children=children,
                nightly_prices=nightly_prices,
            )
        lines = _validated_lines(
            hotel,
            new_check_in,
            new_check_out,
            wanted,
            # Guests already in house may shorten a stay whose arrival is past.
            enforce_booking_window=not from_partner and new_check_in != reservation.check_in,
        )
        stay_changed = (
            new_check_in != reservation.check_in
            or new_check_out != reservation.check_out
            or (rooms is None and nightly_prices is not None)
            or not _same_rooms(stays, wanted)
        )
        if stay_changed:
            for request, stay in lines:
                _confirm_with_master(hotel, request.room_type, request.rate_plan, stay, source)
            products = {(request.rate_plan.id, request.room_type.id) for request, _ in lines}
            if from_partner and not calendar_covers(products, new_check_in, new_check_out):
                ensure_calendar(hotel, new_check_in, new_check_out)
        with transaction.atomic():
            current = _lock_reservation(reservation)
            if current.version != reservation.version:
                continue  # changed since the plan was read: plan again from it
            if current.status == Reservation.Status.CANCELLED:
                raise ReservationClosed(
                    f"Reservation {current.confirmation_number} is cancelled and cannot be changed."
                )
            unchanged_text = (
                special_requests is None or special_requests == current.special_requests
            ) and (external_revision is None or external_revision == current.external_revision)
            if not stay_changed and unchanged_text:
                # Nothing to change: no new version, no event, nothing sent to partners.
                return current
            before = reservation_snapshot(current)
            if stay_changed:
                old_dates = set(
                    RoomNight.objects.filter(stay__reservation=current).values_list(
                        "date", flat=True
                    )
                )
                room_types = {s.room_type_id for s in stays} | {r.room_type.id for r, _ in lines}
                _lock_inventory(room_types, old_dates | {d for _, s in lines for d in s.dates})
                _release_rooms(current)
                sold = _sell_lines(lines, source, expected_total)
                current.rooms.all().delete()
                written = _write_stays(current, sold)
                summary = _summary(lines)
                if (summary.check_in, summary.check_out) == (current.check_in, current.check_out):
                    # Same nights: each room type keeps the rooms the front desk gave it (a
                    # partner's price or guest change must not undo the assignments).
                    _keep_assignments(stays, written)
                current.check_in, current.check_out = summary.check_in, summary.check_out
                current.adults, current.children = summary.adults, summary.children
                current.total_amount = sum(sum(line.nightly) for line in sold)
                current.currency = sold[0].rate_plan.currency
                current.is_overbooked = any(any(line.overbooked) for line in sold)
            if special_requests is not None:
                current.special_requests = special_requests
            if external_revision is not None:
                current.external_revision = external_revision
            current.version += 1
            current.save()
            after = reservation_snapshot(current)
            record_event(
                hotel,
                ChangeEvent.Kind.RESERVATION_MODIFIED,
                {**after, "previous": before},
                reservation=current,
                source=source,
            )
        return current
    raise ReservationBusy(
        f"Reservation {reservation.confirmation_number} kept changing while this change was "
        "made; nothing was changed. Try again."
    )


def _keep_assignments(before: list[ReservationRoom], after: list[ReservationRoom]) -> None:
    """Give the rewritten stays the rooms assigned before, room type by room type."""
    assigned: dict[int, list[int]] = {}
    for stay in before:
        if stay.room_id is not None:
            assigned.setdefault(stay.room_type_id, []).append(stay.room_id)
    for stay in after:
        rooms = assigned.get(stay.room_type_id)
        if rooms:
            stay.room_id = rooms.pop(0)
            ReservationRoom.objects.filter(pk=stay.pk).update(room_id=stay.room_id)


def cancel_reservation(
    reservation: Reservation, *, source: str, reason: str = ""
) -> tuple[Reservation, bool]:
    """Cancel and release the rooms. Cancelling a cancelled reservation changes nothing.

    Returns the reservation and whether this call cancelled it.
    """
    with transaction.atomic():
        current = _lock_reservation(reservation)
        if current.status == Reservation.Status.CANCELLED:
            return current, False
        dates = set(
            RoomNight.objects.filter(stay__reservation=current).values_list("date", flat=True)
        )
        room_types = set(current.rooms.values_list("room_type_id", flat=True))
        _lock_inventory(room_types, dates)
        _release_rooms(current)
        previous_status = current.status
        current.cancellation_fee = cancellation_fee(current)
        current.status = Reservation.Status.CANCELLED
        current.cancelled_at = timezone.now()
        current.is_overbooked = False
        current.version += 1
        current.save()
        payload = reservation_snapshot(current)
        payload["previous_status"] = previous_status
        if reason:
            payload["reason"] = reason
        record_event(
            hotel=current.hotel,
            kind=ChangeEvent.Kind.RESERVATION_CANCELLED,
            payload=payload,
            reservation=current,
            source=source,
        )
        extensions.reservation_cancelled(current, source=source)
    return current, True


def confirm_pending(reservation: Reservation, *, source: str) -> tuple[Reservation, bool]:
    """A reservation awaiting payment becomes confirmed (its rooms are already held).

    Returns the reservation and whether this call confirmed it; anything but
    ``pending_payment`` is left as it is.
    """
    with transaction.atomic():
        current = _lock_reservation(reservation)
        if current.status != Reservation.Status.PENDING_PAYMENT:
            return current, False
        before = reservation_snapshot(current)
        current.status = Reservation.Status.CONFIRMED
        current.hold_expires_at = None
        current.version += 1
        current.save()
        record_event(
            current.hotel,
            ChangeEvent.Kind.RESERVATION_MODIFIED,
            {**reservation_snapshot(current), "previous": before},
            reservation=current,
            source=source,
        )
    return current, True


def reinstate_cancelled(reservation: Reservation, *, source: str) -> Reservation:
    """Book a cancelled reservation's rooms again and confirm it (a payment that came late).

    Raises ``NoAvailability`` when any of its nights is sold out meanwhile:
    the reservation then stays cancelled.
    """
    with transaction.atomic():
        current = _lock_reservation(reservation)
        if current.status != Reservation.Status.CANCELLED:
            return current
        stays = list(current.rooms.select_related("room_type", "rate_plan").order_by("id"))
        nights = list(RoomNight.objects.filter(stay__in=stays).order_by("stay_id", "date"))
        locked = _lock_inventory({s.room_type_id for s in stays}, {n.date for n in nights})
        by_type: dict[int, Counter[date]] = defaultdict(Counter)
        for night in nights:
            night.overbooked = False
            by_type[next(s.room_type_id for s in stays if s.pk == night.stay_id)][night.date] += 1
        for rt_id, days in by_type.items():
            for day, count in days.items():
                row = locked.get((rt_id, day))
                if row is None or row.available < count or row.stop_sell:
                    raise NoAvailability(
                        f"{day.isoformat()} is sold out: the reservation cannot be reinstated.",
                        reasons=[Reason("sold_out", "Sold out meanwhile.", day)],
                    )
        for rt_id, days in by_type.items():
            _apply_deltas(rt_id, days, Counter())
        RoomNight.objects.filter(stay__in=stays).update(overbooked=False)
        before = reservation_snapshot(current, stays)
        current.status = Reservation.Status.CONFIRMED
        current.cancelled_at = None
        current.cancellation_fee = None
        current.hold_expires_at = None
        current.version += 1
        current.save()
        record_event(
            current.hotel,
            ChangeEvent.Kind.RESERVATION_MODIFIED,
            {**reservation_snapshot(current, stays), "previous": before},
            reservation=current,
            source=source,
        )
    return current
