"""Coalescing: runs of equal consecutive days, segments, packing into documents."""

from datetime import date, timedelta

from bookings.ari import AriChanges, apply_ari_update
from channels.coalesce import (
    DirtyDays,
    build_items,
    coalesce,
    coalesce_periods,
    period_of,
    runs,
    segments,
)
from channels.dispatch import pack
from channels.interface import Capabilities

D = date(2030, 1, 1)


def day(n: int) -> date:
    return D + timedelta(days=n)


def test_segments_split_on_gaps():
    assert list(segments([day(3), day(0), day(1), day(5), day(4)])) == [
        (day(0), day(1)),
        (day(3), day(5)),
    ]


def test_runs_merge_equal_consecutive_days_only():
    values = {day(0): (1,), day(1): (1,), day(2): (2,), day(3): (2,), day(5): (2,)}
    got = list(runs(values, {day(0), day(1), day(2), day(3), day(5)}))
    assert got == [(day(0), day(1), (1,)), (day(2), day(3), (2,)), (day(5), day(5), (2,))]


def test_pack_respects_batch_weight():
    items = [{"w": 1}] * 5 + [{"w": 3}]
    docs = pack(items, 4, lambda i: i["w"])
    assert [len(d) for d in docs] == [4, 2]
    assert [len(d) for d in pack([{"w": 9}, {"w": 1}], 4, lambda i: i["w"])] == [1, 1]


def test_build_items_reads_current_calendar_and_merges(hotel):
    ext = hotel.room_types.get(code="EXT")
    plan = hotel.rate_plans.get(code="BAR")
    start = hotel.today() + timedelta(days=2)
    apply_ari_update(
        hotel,
        start=start,
        end=start + timedelta(days=9),
        changes=AriChanges(price=5000),
        rate_plans=[plan],
        room_types=[ext],
    )
    apply_ari_update(
        hotel,
        start=start + timedelta(days=4),
        end=start + timedelta(days=4),
        changes=AriChanges(price=7000),
        rate_plans=[plan],
        room_types=[ext],
    )
    dirty = DirtyDays()
    days = {start + timedelta(days=i) for i in range(10)}
    dirty.rates[(plan.id, ext.id)] = days
    dirty.avail[ext.id] = days
    items = build_items(dirty)
    # One day differs: the other nine go as one range whose weekday flags leave
    # that weekday out, and the odd day as a second range (2 messages, not 3).
    odd = start + timedelta(days=4)
    prices = [(i["start"], i["end"], i.get("days"), i["price"]) for i in items["rates"]]
    assert prices == [
        (
            start.isoformat(),
            (start + timedelta(days=9)).isoformat(),
            sorted(set(range(7)) - {odd.weekday()}),
            5000,
        ),
        (odd.isoformat(), odd.isoformat(), None, 7000),
    ]
    # Availability did not change: one item covers all ten days.
    assert len(items["availability"]) == 1
    assert items["availability"][0]["limit"] == 2


def _expand(ranges) -> dict:
    """What a partner ends up holding after applying the ranges in order."""
    held = {}
    for start, end, weekdays, value in ranges:
        day = start
        while day <= end:
            if weekdays is None or day.weekday() in weekdays:
                held[day] = value
            day += timedelta(days=1)
    return held


def test_weekend_prices_over_a_year_are_two_patterned_ranges():
    start = date(2027, 1, 4)  # a Monday
    days = {start + timedelta(days=i) for i in range(364)}
    values = {d: ((150,) if d.weekday() >= 5 else (100,)) for d in days}
    got = coalesce(values, days)
    assert sorted((r[2], r[3]) for r in got) == [((0, 1, 2, 3, 4), (100,)), ((5, 6), (150,))]
    assert _expand(got) == values


def test_a_weekend_only_change_is_one_range_with_flags():
    start = date(2027, 1, 4)
    days = {
        start + timedelta(days=i) for i in range(364) if (start + timedelta(days=i)).weekday() >= 5
    }
    values = {d: (150,) for d in days}
    (only,) = coalesce(values, days)
    assert only[2] == (5, 6)
    assert _expand([only]) == values


def test_patterns_never_cover_a_day_that_was_not_asked_for():
    import random

    rng = random.Random(7)
    start = date(2027, 3, 1)
    for _ in range(200):
        days = {start + timedelta(days=i) for i in range(60) if rng.random() < 0.8}
        values = {d: (rng.choice([1, 2]),) for d in days}
        ranges = coalesce(values, days)
        assert _expand(ranges) == values
        assert len(ranges) <= len(list(runs(values, days)))


def test_uniform_stretch_stays_one_plain_range():
    start = date(2027, 1, 1)
    days = {start + timedelta(days=i) for i in range(30)}
    assert coalesce({d: (1,) for d in days}, days) == [
        (start, start + timedelta(days=29), None, (1,))
    ]


def test_without_weekday_patterns_only_plain_runs_come_out():
    start = date(2027, 1, 4)  # a Monday
    days = {start + timedelta(days=i) for i in range(28)}
    values = {d: ((150,) if d.weekday() >= 5 else (100,)) for d in days}
    plain = coalesce(values, days, patterns=False)
    assert all(r[2] is None for r in plain)
    assert len(plain) == 8  # four weeks of weekdays and weekends
    assert _expand(plain) == values


def test_periods_are_calendar_months_or_fixed_lengths():
    month = Capabilities(calendar_month_per_request=True)
    assert period_of(date(2027, 2, 28), month) == date(2027, 2, 1)
    week = Capabilities(max_days_per_request=7)
    origin = date(2027, 1, 1)
    assert period_of(date(2027, 1, 7), week, origin) == origin
    assert period_of(date(2027, 1, 8), week, origin) == date(2027, 1, 8)
    assert period_of(date(2027, 1, 8), Capabilities()) == date.min  # no limit: one period


def test_runs_and_patterns_are_cut_at_period_boundaries():
    caps = Capabilities(calendar_month_per_request=True)
    start = date(2027, 1, 4)  # a Monday
    days = {start + timedelta(days=i) for i in range(56)}  # January and February
    values = {d: ((150,) if d.weekday() >= 5 else (100,)) for d in days}
    ranges = coalesce_periods(values, days, caps)
    for first, last, _weekdays, _value in ranges:
        assert (first.year, first.month) == (last.year, last.month)
    assert _expand(ranges) == values
    # Still patterned within each month: two ranges a month, not one per week.
    assert len(ranges) == 4
