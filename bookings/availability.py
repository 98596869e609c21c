"""Availability and pricing of a stay.

``search_availability`` reads the calendar rows of the stay in a fixed number
of queries (whatever its length), applies the restrictions and prices every
night. The same evaluators serve the reservation functions, which run them on
rows they hold locked, so a search and a booking never disagree.

A search reads the calendar as plain tuples (``InventoryRow``, ``RateRow``)
rather than model instances: a week for a hotel of ten room types and two
plans is some 230 rows per request, and building a model instance for each
was the largest cost of the search. The evaluators read attributes only, so
they take either kind. The two calendar reads go through ``pema.sql``'s
hand-written select: the ORM's cost to build them was most of a search's CPU
once the rows themselves were tuples.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import NamedTuple

from pema.sql import select_values

from .errors import InvalidStay, Reason
from .models import Hotel, InventoryDay, RateDay, RatePlan, RoomType


@dataclass(frozen=True)
class Stay:
    """A validated request: dates and guests per room."""

    check_in: date
    check_out: date
    adults: int
    children: int = 0
    rooms: int = 1

    @property
    def nights(self) -> int:
        return (self.check_out - self.check_in).days

    @property
    def dates(self) -> list[date]:
        return [self.check_in + timedelta(days=i) for i in range(self.nights)]


class InventoryRow(NamedTuple):
    """The fields of an ``InventoryDay`` a search needs, read without a model instance."""

    room_type_id: int
    date: date
    total: int
    sold: int
    blocked: int
    stop_sell: bool

    @property
    def available(self) -> int:
        return max(self.total - self.sold - self.blocked, 0)


class RateRow(NamedTuple):
    """The fields of a ``RateDay`` a search needs, read without a model instance."""

    rate_plan_id: int
    room_type_id: int
    date: date
    price: int | None
    extra_adult_price: int
    extra_child_price: int
    min_stay_arrival: int
    min_stay_through: int
    max_stay: int | None
    closed_to_arrival: bool
    closed_to_departure: bool
    stop_sell: bool


InventoryLike = InventoryDay | InventoryRow
RateLike = RateDay | RateRow


@dataclass(frozen=True)
class NightPrice:
    date: date
    amount: int


@dataclass
class Offer:
    """One sellable room type × rate plan with its nightly prices (for all rooms)."""

    room_type: RoomType
    rate_plan: RatePlan
    nights: list[NightPrice]
    currency: str
    rooms_left: int

    @property
    def total(self) -> int:
        return sum(n.amount for n in self.nights)


@dataclass
class Unsellable:
    """A room type that cannot be sold for the stay, and why (per rate plan where relevant)."""

    room_type: RoomType
    reasons: list[Reason]


@dataclass
class AvailabilityResult:
    hotel: Hotel
    stay: Stay
    offers: list[Offer] = field(default_factory=list)
    unavailable: list[Unsellable] = field(default_factory=list)


def validate_stay(
    hotel: Hotel,
    check_in: date,
    check_out: date,
    adults: int,
    children: int = 0,
    rooms: int = 1,
    *,
    enforce_booking_window: bool = True,
) -> Stay:
    """Check the request's shape; raise ``InvalidStay`` with the field at fault."""

    def fail(code: str, field_name: str, message: str) -> InvalidStay:
        return InvalidStay(message, code=code, fields={field_name: [message]})

    if check_out <= check_in:
        raise fail("check_out_not_after_check_in", "check_out", "Check-out must be after check-in.")
    nights = (check_out - check_in).days
    if nights > hotel.max_stay_nights:
        raise fail(
            "stay_too_long",
            "check_out",
            f"Stays are limited to {hotel.max_stay_nights} nights; this one has {nights}.",
        )
    if adults < 1:
        raise fail("no_adults", "adults", "At least one adult is needed.")
    if children < 0:
        raise fail("invalid_children", "children", "Children cannot be negative.")
    if rooms < 1 or rooms > 9:
        raise fail("invalid_rooms", "rooms", "Book between 1 and 9 rooms at once.")
    if enforce_booking_window:
        today = hotel.today()
        if check_in < today:
            raise fail("check_in_in_past", "check_in", "Check-in cannot be in the past.")
        if check_in > today + timedelta(days=hotel.booking_window_days):
            raise fail(
                "check_in_too_far_ahead",
                "check_in",
                f"Bookings open {hotel.booking_window_days} days ahead.",
            )
    return Stay(check_in, check_out, adults, children, rooms)


def occupancy_reasons(room_type: RoomType, stay: Stay) -> list[Reason]:
    """Guests per room against the room type's limits."""
    if (
        stay.adults > room_type.max_adults
        or stay.children > room_type.max_children
        or stay.adults + stay.children > room_type.max_occupancy
    ):
        return [
            Reason(
                "too_many_guests",
                f"{room_type.name} holds at most {room_type.max_adults} adults, "
                f"{room_type.max_children} children and {room_type.max_occupancy} guests.",
            )
        ]
    return []


def inventory_reasons(
    stay: Stay, inventory: Mapping[date, InventoryLike], rooms: int | None = None
) -> list[Reason]:
    """Rooms left on every night of the stay (stop sell and sold-out nights)."""
    wanted = stay.rooms if rooms is None else rooms
    for night in stay.dates:
        day = inventory.get(night)
        if day is None:
            return [Reason("not_on_sale", f"Not on sale for the night of {night}.", night)]
        if day.stop_sell:
            return [Reason("stop_sell", f"Closed for sale on {night}.", night)]
        if day.available < wanted:
            return [Reason("sold_out", f"Sold out on {night}.", night)]
    return []


def rooms_left(stay: Stay, inventory: Mapping[date, InventoryLike]) -> int:
    return min((inventory[d].available for d in stay.dates if d in inventory), default=0)


def restriction_reasons(stay: Stay, rates: Mapping[date, RateLike]) -> list[Reason]:
    """Rate-level restrictions: missing price, stop sell, CTA, CTD, min and max stay."""
    arrival = rates.get(stay.check_in)
    for night in stay.dates:
        day = rates.get(night)
        if day is None or day.price is None:
            return [Reason("no_rate", f"No price is set for {night}.", night)]
        if day.stop_sell:
            return [Reason("stop_sell", f"This rate is closed for sale on {night}.", night)]
    if arrival.closed_to_arrival:
        return [
            Reason(
                "closed_to_arrival", f"Arrival on {stay.check_in} is not possible.", stay.check_in
            )
        ]
    departure = rates.get(stay.check_out)
    if departure is not None and departure.closed_to_departure:
        return [
            Reason(
                "closed_to_departure",
                f"Departure on {stay.check_out} is not possible.",
                stay.check_out,
            )
        ]
    if arrival.min_stay_arrival > stay.nights:
        return [
            Reason(
                "min_stay_arrival",
                f"Arriving on {stay.check_in} needs a stay of at least "
                f"{arrival.min_stay_arrival} nights.",
                stay.check_in,
            )
        ]
    for night in stay.dates:
        needed = rates[night].min_stay_through
        if needed > stay.nights:
            return [
                Reason(
                    "min_stay_through",
                    f"Stays including {night} need at least {needed} nights.",
                    night,
                )
            ]
    if arrival.max_stay and stay.nights > arrival.max_stay:
        return [
            Reason(
                "max_stay",
                f"Arriving on {stay.check_in} allows at most {arrival.max_stay} nights.",
                stay.check_in,
            )
        ]
    return []


def night_price(room_type: RoomType, rate: RateLike, adults: int, children: int) -> int:
    """One room for one night: the base price plus guests beyond the base occupancy."""
    extra = max(adults + children - room_type.base_occupancy, 0)
    extra_adults = min(extra, max(adults - room_type.base_occupancy, 0))
    extra_children = extra - extra_adults
    return (
        rate.price + extra_adults * rate.extra_adult_price + extra_children * rate.extra_child_price
    )


def price_stay(room_type: RoomType, stay: Stay, rates: Mapping[date, RateLike]) -> list[NightPrice]:
    """Nightly prices for all the stay's rooms together."""
    return [
        NightPrice(d, night_price(room_type, rates[d], stay.adults, stay.children) * stay.rooms)
        for d in stay.dates
    ]


def load_inventory(
    room_types: Iterable[RoomType], stay: Stay
) -> dict[int, dict[date, InventoryRow]]:
    by_type: dict[int, dict[date, InventoryRow]] = defaultdict(dict)
    # Keyed by date below, so the rows come unordered. Written by hand because
    # building the same query through the ORM cost more than running it.
    rows = select_values(
        InventoryDay,
        InventoryRow._fields,
        room_type__in=[rt.id for rt in room_types],
        date__gte=stay.check_in,
        date__lt=stay.check_out,
    )
    for row in map(InventoryRow._make, rows):
        by_type[row.room_type_id][row.date] = row
    return by_type


def load_rates(
    room_types: Iterable[RoomType], rate_plans: Iterable[RatePlan], stay: Stay
) -> dict[tuple[int, int], dict[date, RateRow]]:
    """Rate rows of the stay plus the departure date (for closed-to-departure)."""
    by_pair: dict[tuple[int, int], dict[date, RateRow]] = defaultdict(dict)
    rows = select_values(
        RateDay,
        RateRow._fields,
        room_type__in=[rt.id for rt in room_types],
        rate_plan__in=[p.id for p in rate_plans],
        date__gte=stay.check_in,
        date__lte=stay.check_out,
    )
    for row in map(RateRow._make, rows):
        by_pair[(row.rate_plan_id, row.room_type_id)][row.date] = row
    return by_pair


def _room_types_sold_by(plans: list[RatePlan]) -> dict[int, set[int]]:
    """Room type ids each plan sells, from the link table alone (no room type instances)."""
    through = RatePlan.room_types.through
    sold: dict[int, set[int]] = defaultdict(set)
    links = (
        through.objects.filter(rateplan_id__in=[p.id for p in plans])
        .values_list("rateplan_id", "roomtype_id")
        .order_by()
    )
    for plan_id, room_type_id in links:
        sold[plan_id].add(room_type_id)
    return sold


@dataclass(frozen=True)
class Catalogue:
    """What a hotel sells, apart from the calendar: room types, active plans, which sells which.

    Read-only once loaded, so one instance may serve many searches (see
    ``availability_cache``, which keeps it per hotel and ARI version).
    """

    room_types: list[RoomType]
    plans: list[RatePlan]
    sold_by: dict[int, set[int]]


def load_catalogue(hotel: Hotel) -> Catalogue:
    plans = list(hotel.rate_plans.filter(is_active=True))
    return Catalogue(list(hotel.room_types.all()), plans, dict(_room_types_sold_by(plans)))


def search_availability(
    hotel: Hotel,
    check_in: date,
    check_out: date,
    adults: int,
    children: int = 0,
    rooms: int = 1,
    *,
    room_type_codes: Iterable[str] | None = None,
    rate_plan_codes: Iterable[str] | None = None,
    catalogue: Catalogue | None = None,
) -> AvailabilityResult:
    """Offers per room type × rate plan for the stay, and why the rest cannot be sold.

    ``catalogue`` is the hotel's, when the caller already holds a current one.
    """
    stay = validate_stay(hotel, check_in, check_out, adults, children, rooms)
    catalogue = catalogue or load_catalogue(hotel)
    room_types = catalogue.room_types
    if room_type_codes is not None:
        codes = set(room_type_codes)
        room_types = [rt for rt in room_types if rt.code in codes]
    plans = catalogue.plans
    if rate_plan_codes is not None:
        plan_codes = set(rate_plan_codes)
        plans = [p for p in plans if p.code in plan_codes]
    sold_by = catalogue.sold_by
    inventory = load_inventory(room_types, stay)
    rates = load_rates(room_types, plans, stay)

    result = AvailabilityResult(hotel=hotel, stay=stay)
    for room_type in room_types:
        reasons = occupancy_reasons(room_type, stay) or inventory_reasons(
            stay, inventory.get(room_type.id, {})
        )
        if reasons:
            result.unavailable.append(Unsellable(room_type, reasons))
            continue
        selling = [p for p in plans if room_type.id in sold_by.get(p.id, ())]
        plan_reasons: list[Reason] = []
        offered = False
        for plan in selling:
            plan_rates = rates.get((plan.id, room_type.id), {})
            blocked = restriction_reasons(stay, plan_rates)
            if blocked:
                plan_reasons.extend(
                    Reason(r.code, f"{plan.name}: {r.message}", r.date) for r in blocked
                )
                continue
            offered = True
            result.offers.append(
                Offer(
                    room_type=room_type,
                    rate_plan=plan,
                    nights=price_stay(room_type, stay, plan_rates),
                    currency=plan.currency,
                    rooms_left=rooms_left(stay, inventory[room_type.id]),
                )
            )
        if not offered:
            if not selling:
                plan_reasons = [Reason("no_rate_plan", "No rate plan sells this room type.")]
            result.unavailable.append(Unsellable(room_type, plan_reasons))
    result.offers.sort(key=lambda o: (o.room_type.sort_order, o.room_type.code, o.total))
    return result


@dataclass
class Quote:
    """What a stay of one room type and plan would cost, night by night, or why it can't be sold."""

    stay: Stay | None
    currency: str
    nights: list[NightPrice] = field(default_factory=list)
    reasons: list[Reason] = field(default_factory=list)
    rooms_left: int | None = None

    @property
    def total(self) -> int:
        return sum(n.amount for n in self.nights)

    @property
    def sellable(self) -> bool:
        return self.stay is not None and not self.reasons


def quote_stay(
    hotel: Hotel,
    room_type: RoomType,
    rate_plan: RatePlan,
    check_in: date,
    check_out: date,
    adults: int,
    children: int = 0,
    rooms: int = 1,
    *,
    holding: Iterable[tuple[int, date, int]] = (),
) -> Quote:
    """Price a stay with the evaluators a search and a booking use, and say why it can't be sold.

    ``holding``: (room type id, night, rooms) a reservation being changed holds
    already; they count as free, since the change gives them back. A quote
    with reasons still prices the nights that have a price, so staff see both.
    """
    try:
        stay = validate_stay(hotel, check_in, check_out, adults, children, rooms)
    except InvalidStay as error:
        return Quote(None, rate_plan.currency, reasons=[Reason(error.code, error.message)])
    quote = Quote(stay, rate_plan.currency)
    if rate_plan.hotel_id != hotel.id or room_type.hotel_id != hotel.id:
        quote.reasons = [Reason("wrong_hotel", "Choose a room type and rate plan of the hotel.")]
        return quote
    if room_type.id not in _room_types_sold_by([rate_plan]).get(rate_plan.id, set()):
        quote.reasons = [
            Reason("no_rate_plan", f"{rate_plan.code} does not sell {room_type.code}.")
        ]
        return quote
    inventory = load_inventory([room_type], stay).get(room_type.id, {})
    for type_id, night, count in holding:
        if type_id == room_type.id and night in inventory:
            row = inventory[night]
            inventory[night] = row._replace(sold=max(row.sold - count, 0))
    rates = load_rates([room_type], [rate_plan], stay).get((rate_plan.id, room_type.id), {})
    quote.reasons = (
        occupancy_reasons(room_type, stay)
        + inventory_reasons(stay, inventory)
        + restriction_reasons(stay, rates)
    )
    quote.rooms_left = rooms_left(stay, inventory) if inventory else 0
    quote.nights = [
        NightPrice(d, night_price(room_type, rates[d], adults, children) * rooms)
        for d in stay.dates
        if d in rates and rates[d].price is not None
    ]
    return quote
