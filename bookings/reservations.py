"""Creating, modifying and cancelling reservations without ever overselling.

Each function is one transaction: it locks the stay's ``InventoryDay`` rows
in (room type, date) order, so concurrent bookings queue on the same rows
instead of deadlocking, re-checks availability and restrictions on the locked
rows, moves the counters, writes the reservation and a ``ChangeEvent``, and
commits. Reservations from OTAs are never refused for lack of rooms: nights
past availability count as overbooked and the reservation is flagged.
"""

from __future__ import annotations

import secrets
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date

from django.db import connection, transaction
from django.utils import timezone

from pema.sql import add_to_columns, insert_rows, row_exists, select_values

from . import external
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
from .errors import InvalidStay, NoAvailability, PriceChanged, Reason, ReservationClosed
from .events import record_event, reservation_snapshot
from .inventory import ensure_calendar
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


def _write_stays(
    reservation: Reservation,
    room_type: RoomType,
    rate_plan: RatePlan,
    stay: Stay,
    nightly: list[int],
    overbooked_by_room: list[set[date]],
) -> list[ReservationRoom]:
    """Room stays and their nightly prices; the nightly amounts are split evenly over rooms.

    Returns the stays (in id order, with their room type, rate plan and nights
    attached as a prefetch would), so whoever describes the reservation next
    reads nothing back.
    """
    per_room = [
        [amount // stay.rooms + (1 if index < amount % stay.rooms else 0) for amount in nightly]
        for index in range(stay.rooms)
    ]
    # Written by hand (``pema.sql.insert_rows``), as bulk_create would, at a
    # fraction of the ORM's cost to build the statements.
    rooms = [
        ReservationRoom(
            reservation=reservation,
            room_type=room_type,
            rate_plan=rate_plan,
            adults=stay.adults,
            children=stay.children,
            total_amount=sum(prices),
        )
        for prices in per_room
    ]
    insert_rows(rooms)
    nights_by_room = [
        [
            RoomNight(stay=room, date=d, price=price, overbooked=d in overbooked_by_room[index])
            for d, price in zip(stay.dates, per_room[index], strict=True)
        ]
        for index, room in enumerate(rooms)
    ]
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


def _sell_stay(
    room_type: RoomType,
    rate_plan: RatePlan,
    stay: Stay,
    source: str,
    nightly_prices: list[int] | None,
    expected_total: int | None,
) -> tuple[list[int], list[set[date]]]:
    """Lock, re-check, price and count the stay into the calendar (inside a transaction).

    Returns the nightly amounts and, per room, the nights sold past availability.
    """
    locked = _lock_inventory({room_type.id}, set(stay.dates))
    inventory = {d: row for (_, d), row in locked.items()}
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
    nightly = _nightly_amounts(room_type, stay, rates, nightly_prices)
    total = sum(nightly)
    if expected_total is not None and expected_total != total:
        raise PriceChanged(
            f"The price is now {total} (minor units of {rate_plan.currency}), "
            f"not {expected_total}.",
            total=total,
            currency=rate_plan.currency,
        )
    return nightly, _take_rooms(room_type, stay, inventory)


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
    guest: GuestDetails,
    source: str,
    source_channel: str = "",
    external_id: str = "",
    external_revision: str = "",
    special_requests: str = "",
    expected_total: int | None = None,
    nightly_prices: list[int] | None = None,
    master_confirmed: bool = False,
    savepoint: bool = True,
) -> Reservation:
    """Book a stay. Raises ``NoAvailability``, ``PriceChanged`` or ``InvalidStay``.

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
    from_partner = source in (Source.OTA, Source.PMS)
    stay = validate_stay(
        hotel,
        check_in,
        check_out,
        adults,
        children,
        rooms,
        enforce_booking_window=not from_partner,
    )
    if room_type.hotel_id != hotel.id or rate_plan.hotel_id != hotel.id:
        raise InvalidStay("Room type and rate plan must belong to the hotel.", code="wrong_hotel")
    if not master_confirmed:
        _confirm_with_master(hotel, room_type, rate_plan, stay, source)
    if from_partner:
        # A partner may book nights our calendar does not reach yet: make the rows.
        ensure_calendar(hotel, stay.check_in, stay.check_out)
    with transaction.atomic(savepoint=savepoint):
        nightly, overbooked = _sell_stay(
            room_type, rate_plan, stay, source, nightly_prices, expected_total
        )
        total = sum(nightly)
        reservation = _create_reservation_row(
            hotel=hotel,
            guest=upsert_guest(hotel, guest),
            stay=stay,
            total=total,
            currency=rate_plan.currency,
            source=source,
            source_channel=source_channel,
            external_id=external_id,
            external_revision=external_revision,
            special_requests=special_requests,
            is_overbooked=any(overbooked),
        )
        stays = _write_stays(reservation, room_type, rate_plan, stay, nightly, overbooked)
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
) -> Reservation:
    """Change dates, room type, rate plan or guests; inventory moves atomically, re-priced.

    A stay that cannot be sold leaves the reservation exactly as it was.
    """
    hotel = reservation.hotel
    first = reservation.rooms.select_related("room_type", "rate_plan").first()
    new_room_type = room_type or first.room_type
    new_rate_plan = rate_plan or first.rate_plan
    from_partner = source in (Source.OTA, Source.PMS)
    stay = validate_stay(
        hotel,
        check_in or reservation.check_in,
        check_out or reservation.check_out,
        reservation.adults if adults is None else adults,
        reservation.children if children is None else children,
        reservation.rooms.count(),
        # Guests already in house may shorten a stay whose arrival is past.
        enforce_booking_window=not from_partner
        and (check_in or reservation.check_in) != reservation.check_in,
    )
    stay_changed = (
        stay.check_in != reservation.check_in
        or stay.check_out != reservation.check_out
        or stay.adults != reservation.adults
        or stay.children != reservation.children
        or new_room_type.id != first.room_type_id
        or new_rate_plan.id != first.rate_plan_id
        or nightly_prices is not None
    )
    if stay_changed:
        _confirm_with_master(hotel, new_room_type, new_rate_plan, stay, source)
        if from_partner:
            ensure_calendar(hotel, stay.check_in, stay.check_out)
    with transaction.atomic():
        current = _lock_reservation(reservation)
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
                RoomNight.objects.filter(stay__reservation=current).values_list("date", flat=True)
            )
            _lock_inventory({first.room_type_id, new_room_type.id}, old_dates | set(stay.dates))
            _release_rooms(current)
            nightly, overbooked = _sell_stay(
                new_room_type, new_rate_plan, stay, source, nightly_prices, expected_total
            )
            total = sum(nightly)
            current.rooms.all().delete()
            _write_stays(current, new_room_type, new_rate_plan, stay, nightly, overbooked)
            current.check_in, current.check_out = stay.check_in, stay.check_out
            current.adults, current.children = stay.adults, stay.children
            current.total_amount = total
            current.currency = new_rate_plan.currency
            current.is_overbooked = any(overbooked)
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
        current.status = Reservation.Status.CANCELLED
        current.cancelled_at = timezone.now()
        current.is_overbooked = False
        current.version += 1
        current.save()
        payload = reservation_snapshot(current)
        if reason:
            payload["reason"] = reason
        record_event(
            hotel=current.hotel,
            kind=ChangeEvent.Kind.RESERVATION_CANCELLED,
            payload=payload,
            reservation=current,
            source=source,
        )
    return current, True
