"""Coalescing ARI changes into the fewest status messages.

The dispatcher collects which days changed (per room type, and per rate plan
and room type); this module reads the *current* calendar rows for those days
and merges them into the fewest ranges: runs of consecutive days with equal
values, or, when that is shorter, day-of-week patterns (a range plus weekday
flags, e.g. "Saturdays and Sundays from May to October"). An item with a
``days`` list (0 = Monday) applies to those weekdays of its range only.
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


Range = tuple[date, date, tuple[int, ...] | None, tuple]


def _first_on_or_after(day: date, weekday: int) -> date:
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def _last_on_or_before(day: date, weekday: int) -> date:
    return day - timedelta(days=(day.weekday() - weekday) % 7)


def weekday_patterns(values: dict[date, tuple], days: set[date]) -> list[Range]:
    """The days as ranges with weekday flags.

    Each weekday is first coalesced on its own (the same value in consecutive
    weeks); weekday runs with equal values are then merged into one range when
    the range, read with their flags, covers exactly their days.
    """
    by_weekday: dict[int, list[date]] = defaultdict(list)
    for day in sorted(days):
        if values.get(day) is not None:
            by_weekday[day.weekday()].append(day)
    singles: list[tuple[date, date, int, tuple]] = []
    for weekday, dates in by_weekday.items():
        current: list | None = None
        for day in dates:
            value = values[day]
            if current and current[1] + timedelta(days=7) == day and current[3] == value:
                current[1] = day
                continue
            if current:
                singles.append(tuple(current))
            current = [day, day, weekday, value]
        if current:
            singles.append(tuple(current))

    merged: list[dict] = []
    for first, last, weekday, value in sorted(singles, key=lambda s: (s[0], s[2])):
        for group in merged:
            if group["value"] != value or weekday in group["weekdays"]:
                continue
            start, end = min(group["start"], first), max(group["end"], last)
            members = [*group["members"], (first, last, weekday)]
            if all(
                _first_on_or_after(start, w) == first_day and _last_on_or_before(end, w) == last_day
                for first_day, last_day, w in members
            ):
                group.update(start=start, end=end, members=members)
                group["weekdays"].add(weekday)
                break
        else:
            merged.append(
                {
                    "start": first,
                    "end": last,
                    "weekdays": {weekday},
                    "value": value,
                    "members": [(first, last, weekday)],
                }
            )
    out: list[Range] = []
    for group in merged:
        start, end, weekdays = group["start"], group["end"], group["weekdays"]
        span_weekdays = {
            (start + timedelta(days=i)).weekday() for i in range(min((end - start).days + 1, 7))
        }
        flags = None if span_weekdays <= weekdays else tuple(sorted(weekdays))
        out.append((start, end, flags, group["value"]))
    return sorted(out, key=lambda r: (r[0], r[2] or ()))


def coalesce(values: dict[date, tuple], days: set[date]) -> list[Range]:
    """The fewer of consecutive runs and weekday patterns (runs when equal)."""
    contiguous = [(start, end, None, value) for start, end, value in runs(values, days)]
    patterned = weekday_patterns(values, days)
    return patterned if len(patterned) < len(contiguous) else contiguous


def _span(start: date, end: date, weekdays: tuple[int, ...] | None) -> dict:
    span = {"start": start.isoformat(), "end": end.isoformat()}
    if weekdays is not None:
        span["days"] = list(weekdays)
    return span


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
        for start, end, weekdays, (limit, stop) in coalesce(values, days):
            availability.append(
                {
                    "type": "avail",
                    "room_type": codes[rt_id],
                    **_span(start, end, weekdays),
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
            for start, end, weekdays, v in coalesce(values, restr_days):
                availability.append(
                    {
                        "type": "restr",
                        **base,
                        **_span(start, end, weekdays),
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
            for start, end, weekdays, v in coalesce(values, rate_days):
                rates.append(
                    {
                        "type": "rate",
                        **base,
                        **_span(start, end, weekdays),
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
        if day == date.max:  # an event at the end of the calendar must not crash a sweep
            break
        day += timedelta(days=1)
    return out
