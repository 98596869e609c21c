"""Coalescing: runs of equal consecutive days, segments, packing into documents."""

from datetime import date, timedelta

from bookings.ari import AriChanges, apply_ari_update
from channels.coalesce import DirtyDays, build_items, runs, segments
from channels.dispatch import pack

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
    prices = [(i["start"], i["end"], i["price"]) for i in items["rates"]]
    assert prices == [
        (start.isoformat(), (start + timedelta(days=3)).isoformat(), 5000),
        ((start + timedelta(days=4)).isoformat(), (start + timedelta(days=4)).isoformat(), 7000),
        ((start + timedelta(days=5)).isoformat(), (start + timedelta(days=9)).isoformat(), 5000),
    ]
    # Availability did not change: one item covers all ten days.
    assert len(items["availability"]) == 1
    assert items["availability"][0]["limit"] == 2
