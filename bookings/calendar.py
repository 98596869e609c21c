"""The lowest one-night price per day, for a booking engine's date picker.

Three queries whatever the range: the rate plans with the room types they
sell, the inventory rows and the rate rows of the range.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from .errors import InvalidStay
from .models import Hotel, InventoryDay, RateDay

MAX_CALENDAR_DAYS = 366


@dataclass(frozen=True)
class CalendarDay:
    """One arrival date: can a one-night stay be booked, and from what price."""

    date: date
    available: bool
    lowest_price: int | None
    currency: str
    min_stay: int | None


def lowest_price_calendar(hotel: Hotel, start: date, end: date) -> list[CalendarDay]:
    """Per day from ``start`` to ``end`` inclusive: bookable for arrival, and the lowest price.

    A day is bookable when some room type has a room left, is not stopped, and
    some active rate plan selling it has a price, is open and is not closed to
    arrival. The price is one room for one night at base occupancy; the
    minimum stay of the cheapest offer is given so the picker can say so.
    """
    if end < start:
        raise InvalidStay(
            "The end date must not be before the start date.",
            code="end_before_start",
            fields={"end": ["Must not be before start."]},
        )
    if (end - start).days + 1 > MAX_CALENDAR_DAYS:
        raise InvalidStay(
            f"Ask for at most {MAX_CALENDAR_DAYS} days at once.",
            code="calendar_range_too_long",
            fields={"end": [f"At most {MAX_CALENDAR_DAYS} days after start."]},
        )
    plans = {
        p.id: p
        for p in hotel.rate_plans.filter(is_active=True)
        .prefetch_related("room_types")
        .only("id", "currency")
    }
    sells = {(p.id, rt.id) for p in plans.values() for rt in p.room_types.all()}
    open_rooms: set[tuple[int, date]] = set()
    for rt_id, day, total, sold, blocked in InventoryDay.objects.filter(
        room_type__hotel=hotel, date__gte=start, date__lte=end, stop_sell=False
    ).values_list("room_type_id", "date", "total", "sold", "blocked"):
        if total - sold - blocked > 0:
            open_rooms.add((rt_id, day))
    best: dict[date, tuple[int, str, int]] = {}
    rows = RateDay.objects.filter(
        rate_plan_id__in=list(plans),
        date__gte=start,
        date__lte=end,
        price__isnull=False,
        stop_sell=False,
        closed_to_arrival=False,
    ).values_list("rate_plan_id", "room_type_id", "date", "price", "min_stay_arrival")
    for plan_id, rt_id, day, price, min_stay in rows:
        if (plan_id, rt_id) not in sells or (rt_id, day) not in open_rooms:
            continue
        if day not in best or price < best[day][0]:
            best[day] = (price, plans[plan_id].currency, min_stay)
    out = []
    for offset in range((end - start).days + 1):
        day = start + timedelta(days=offset)
        if day in best:
            price, currency, min_stay = best[day]
            out.append(CalendarDay(day, True, price, currency, min_stay))
        else:
            out.append(CalendarDay(day, False, None, hotel.currency, None))
    return out
