"""Coalescing ARI changes into the fewest status messages.

The dispatcher collects which days changed (per room type, and per rate plan
and room type); this module reads the *current* calendar rows for those days
and merges them into the fewest ranges: runs of consecutive days with equal
values, or, when that is shorter, day-of-week patterns (a range plus weekday
flags, e.g. "Saturdays and Sundays from May to October"). An item with a
``days`` list (0 = Monday) applies to those weekdays of its range only.
The items are plain JSON, independent of any partner's format; a provider
turns each into its wire messages.

The partner's ``Capabilities`` (``channels/interface.py``) shape the items:

- ``weekday_patterns``: a partner without them gets plain ranges only;
- ``pricing_model``: a per-room partner takes one price a night, so extra-guest
  prices are neither sent nor allowed to split a run of equal prices; a
  per-occupancy partner gets them;
- ``nets_reservations``: rooms to sell net of every reservation (a channel),
  or rooms offered before reservations (a PMS, which counts them itself);
- ``max_days_per_request`` and ``calendar_month_per_request``: days are cut
  into periods (:func:`period_of`) and coalesced per period, so that no item
  straddles two documents and the dispatcher can pack each period into its
  own documents.

The horizon and the earliest day a partner accepts are the dispatcher's to
apply (:meth:`DirtyDays.within`): they depend on the hotel's today.

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

from .interface import Capabilities, PricingModel

#: Where fixed-length periods are counted from when no origin is given.
PERIOD_EPOCH = date(2000, 1, 3)  # a Monday


@dataclass
class DirtyDays:
    """Days whose values must be (re)sent, by what they belong to."""

    avail: dict[int, set[date]] = field(default_factory=lambda: defaultdict(set))
    restr: dict[tuple[int, int], set[date]] = field(default_factory=lambda: defaultdict(set))
    rates: dict[tuple[int, int], set[date]] = field(default_factory=lambda: defaultdict(set))

    def __bool__(self) -> bool:
        return bool(self.avail or self.restr or self.rates)

    def within(self, first: date, last: date) -> DirtyDays:
        """Only the days from ``first`` to ``last`` (inclusive); what is left empty goes."""
        out = DirtyDays()
        for name in ("avail", "restr", "rates"):
            target = getattr(out, name)
            for key, days in getattr(self, name).items():
                kept = {d for d in days if first <= d <= last}
                if kept:
                    target[key] = kept
        return out


def ari_window(capabilities: Capabilities, today: date) -> tuple[date, date]:
    """The first and last day a partner takes ARI for, seen from the hotel's ``today``."""
    return (
        today - timedelta(days=capabilities.past_days),
        today + timedelta(days=capabilities.horizon_days - 1),
    )


def period_of(day: date, capabilities: Capabilities, origin: date = PERIOD_EPOCH) -> date:
    """The first day of the document period ``day`` falls in (``date.min``: no periods).

    A partner that takes one calendar month per request has months; one that
    takes at most N days has N-day periods counted from ``origin``.
    """
    if capabilities.calendar_month_per_request:
        return day.replace(day=1)
    length = capabilities.max_days_per_request
    if not length:
        return date.min
    return origin + timedelta(days=((day - origin).days // length) * length)


def by_period(
    days: set[date], capabilities: Capabilities, origin: date = PERIOD_EPOCH
) -> list[set[date]]:
    """``days`` cut into the partner's document periods, earliest first."""
    periods: dict[date, set[date]] = defaultdict(set)
    for day in days:
        periods[period_of(day, capabilities, origin)].add(day)
    return [periods[key] for key in sorted(periods)]


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


def coalesce(values: dict[date, tuple], days: set[date], *, patterns: bool = True) -> list[Range]:
    """The fewer of consecutive runs and weekday patterns (runs when equal).

    ``patterns=False`` (a partner without weekday patterns): plain runs only.
    """
    contiguous = [(start, end, None, value) for start, end, value in runs(values, days)]
    if not patterns:
        return contiguous
    patterned = weekday_patterns(values, days)
    return patterned if len(patterned) < len(contiguous) else contiguous


def coalesce_periods(
    values: dict[date, tuple],
    days: set[date],
    capabilities: Capabilities,
    origin: date = PERIOD_EPOCH,
) -> list[Range]:
    """:func:`coalesce` within each of the partner's document periods, earliest first."""
    return [
        found
        for period in by_period(days, capabilities, origin)
        for found in coalesce(values, period, patterns=capabilities.weekday_patterns)
    ]


def _span(start: date, end: date, weekdays: tuple[int, ...] | None) -> dict:
    span = {"start": start.isoformat(), "end": end.isoformat()}
    if weekdays is not None:
        span["days"] = list(weekdays)
    return span


def _bounds(days: set[date]) -> tuple[date, date]:
    return min(days), max(days)


def build_items(
    dirty: DirtyDays,
    capabilities: Capabilities | None = None,
    *,
    origin: date = PERIOD_EPOCH,
) -> dict[str, list[dict]]:
    """Generic ARI items for the dirty days, from the calendar as it is now.

    ``capabilities`` (the engine's defaults when None) decide the rooms-to-sell
    figure (net of reservations for a channel; rooms offered before
    reservations for a PMS, which holds every reservation itself and
    subtracts them on its side), whether weekday patterns are used, whether
    extra-guest prices are sent, and the document periods items are cut at
    (fixed-length periods counted from ``origin``).

    Returns ``{"availability": [...avail and restr items], "rates": [...rate items]}``.
    """
    caps = capabilities or Capabilities()
    net_of_sold = caps.nets_reservations
    per_occupancy = caps.pricing_model == PricingModel.PER_OCCUPANCY
    room_type_ids = set(dirty.avail) | {rt for _, rt in dirty.restr} | {rt for _, rt in dirty.rates}
    plan_ids = {p for p, _ in dirty.restr} | {p for p, _ in dirty.rates}
    codes = dict(RoomType.objects.filter(pk__in=room_type_ids).values_list("id", "code"))
    plans = {p.id: p for p in RatePlan.objects.filter(pk__in=plan_ids)}
    availability: list[dict] = []
    rates: list[dict] = []

    def ranges(values: dict[date, tuple], days: set[date]) -> list[Range]:
        return coalesce_periods(values, days, caps, origin)

    for rt_id, days in sorted(dirty.avail.items()):
        lo, hi = _bounds(days)
        values = {
            row.date: (
                row.available if net_of_sold else max(row.total - row.blocked, 0),
                row.stop_sell,
            )
            for row in InventoryDay.objects.filter(room_type_id=rt_id, date__gte=lo, date__lte=hi)
        }
        for start, end, weekdays, (limit, stop) in ranges(values, days):
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
            for start, end, weekdays, v in ranges(values, restr_days):
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
            # A per-room partner takes no extra-guest prices: they must not split its runs.
            values = {
                r.date: (
                    (r.price, r.extra_adult_price, r.extra_child_price)
                    if per_occupancy
                    else (r.price, None, None)
                )
                for r in rows
                if r.price is not None  # an unpriced day has nothing to send
            }
            for start, end, weekdays, v in ranges(values, rate_days):
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
