"""Coalescing ARI changes into the fewest status messages.

The dispatcher collects which days changed (per room type, and per rate plan
and room type); this module reads the *current* calendar rows for those days
and merges runs of consecutive days with equal values into one date range.
The items are plain JSON, independent of any partner's format; a provider
turns each into its wire messages.

Three kinds of item:

- ``avail``: a room type's rooms to sell (``limit``) and room-level stop sell;
- ``restr``: a rate plan x room type's stop sell, closed to arrival/departure,
  minimum stay on arrival and through, maximum stay;
- ``rate``: a rate plan x room type's price and extra-guest prices.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from bookings.models import InventoryDay, RateDay, RatePlan, RoomType


@dataclass
class DirtyDays:
    """Days whose values must be (re)sent, by what they belong to."""

    avail: dict[int, set[date]] = field(default_factory=lambda: defaultdict(set))
    restr: dict[tuple[int, int], set[date]] = field(default_factory=lambda: defaultdict(set))
    rates: dict[tuple[int, int], set[date]] = field(default_factory=lambda: defaultdict(set))

    def __bool__(self) -> bool:
        return bool(self.avail or self.restr or self.rates)


def segments(days: Iterable[date]) -> Iterator[tuple[date, date]]:
    """Consecutive days as inclusive (start, end) pairs."""
    ordered = sorted(set(days))
    if not ordered:
        return
    start = prev = ordered[0]
    for day in ordered[1:]:
        if day != prev + timedelta(days=1):
            yield start, prev
            start = day
        prev = day
    yield start, prev


def runs(values: dict[date, tuple], days: set[date]) -> Iterator[tuple[date, date, tuple]]:
    """Runs of consecutive dirty days with equal values (days without a row are skipped)."""
    current: list | None = None
    for day in sorted(days):
        value = values.get(day)
        if value is None:
            if current:
                yield tuple(current)
                current = None
            continue
        if current and current[1] + timedelta(days=1) == day and current[2] == value:
            current[1] = day
            continue
        if current:
            yield tuple(current)
        current = [day, day, value]
    if current:
        yield tuple(current)


def _bounds(days: set[date]) -> tuple[date, date]:
    return min(days), max(days)


def build_items(dirty: DirtyDays, *, net_of_sold: bool = True) -> dict[str, list[dict]]:
    """Generic ARI items for the dirty days, from the calendar as it is now.

    ``net_of_sold``: the rooms-to-sell limit is what is left after reservations
    (for a channel); without it, rooms offered before reservations (for a PMS,
    which holds every reservation itself and subtracts them on its side).

    Returns ``{"availability": [...avail and restr items], "rates": [...rate items]}``.
    """
    room_type_ids = set(dirty.avail) | {rt for _, rt in dirty.restr} | {rt for _, rt in dirty.rates}
    plan_ids = {p for p, _ in dirty.restr} | {p for p, _ in dirty.rates}
    codes = dict(RoomType.objects.filter(pk__in=room_type_ids).values_list("id", "code"))
    plans = {p.id: p for p in RatePlan.objects.filter(pk__in=plan_ids)}
    availability: list[dict] = []
    rates: list[dict] = []

    for rt_id, days in sorted(dirty.avail.items()):
        lo, hi = _bounds(days)
        values = {
            row.date: (
                row.available if net_of_sold else max(row.total - row.blocked, 0),
                row.stop_sell,
            )
            for row in InventoryDay.objects.filter(room_type_id=rt_id, date__gte=lo, date__lte=hi)
        }
        for start, end, (limit, stop) in runs(values, days):
            availability.append(
                {
                    "type": "avail",
                    "room_type": codes[rt_id],
                    "start": start.isoformat(),
                    "end": end.isoformat(),
                    "limit": limit,
                    "stop_sell": stop,
                }
            )

    wanted = sorted(set(dirty.restr) | set(dirty.rates))
    for plan_id, rt_id in wanted:
        days = dirty.restr.get((plan_id, rt_id), set()) | dirty.rates.get((plan_id, rt_id), set())
        lo, hi = _bounds(days)
        rows = list(
            RateDay.objects.filter(
                rate_plan_id=plan_id, room_type_id=rt_id, date__gte=lo, date__lte=hi
            )
        )
        plan = plans[plan_id]
        base = {"room_type": codes[rt_id], "rate_plan": plan.code}
        restr_days = dirty.restr.get((plan_id, rt_id))
        if restr_days:
            values = {
                r.date: (
                    r.stop_sell,
                    r.closed_to_arrival,
                    r.closed_to_departure,
                    r.min_stay_arrival,
                    r.min_stay_through,
                    r.max_stay,
                )
                for r in rows
            }
            for start, end, v in runs(values, restr_days):
                availability.append(
                    {
                        "type": "restr",
                        **base,
                        "start": start.isoformat(),
                        "end": end.isoformat(),
                        "stop_sell": v[0],
                        "cta": v[1],
                        "ctd": v[2],
                        "min_stay_arrival": v[3],
                        "min_stay_through": v[4],
                        "max_stay": v[5],
                    }
                )
        rate_days = dirty.rates.get((plan_id, rt_id))
        if rate_days:
            values = {
                r.date: (r.price, r.extra_adult_price, r.extra_child_price)
                for r in rows
                if r.price is not None  # an unpriced day has nothing to send
            }
            for start, end, v in runs(values, rate_days):
                rates.append(
                    {
                        "type": "rate",
                        **base,
                        "start": start.isoformat(),
                        "end": end.isoformat(),
                        "price": v[0],
                        "extra_adult": v[1],
                        "extra_child": v[2],
                        "currency": plan.currency,
                    }
                )
    return {"availability": availability, "rates": rates}


def dates_between(start: date, end: date, weekdays: Iterable[int] | None = None) -> set[date]:
    """``start``..``end`` inclusive, restricted to ``weekdays`` (0 = Monday) when given."""
    allowed = set(weekdays) if weekdays is not None else None
    out = set()
    day = start
    while day <= end:
        if allowed is None or day.weekday() in allowed:
            out.add(day)
        day += timedelta(days=1)
    return out
