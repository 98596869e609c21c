"""Pema's own limits on a supplier: pace, daily quota, back-off, the repeat rule."""

from __future__ import annotations

import pytest

from suppliers.interface import QuotaExhausted, SupplierRefused, SupplierThrottled
from suppliers.limits import SupplierGate


class Clock:
    def __init__(self, now: float = 1_800_000_000.2) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.now += seconds


def gate(clock, **limits) -> SupplierGate:
    return SupplierGate(
        "hb",
        qps=limits.get("qps", 2),
        daily_quota=limits.get("quota", 0),
        clock=clock,
        sleep=clock.sleep,
    )


def test_calls_over_the_pace_wait_for_the_next_second():
    clock = Clock()
    g = gate(clock, qps=2)
    for _ in range(3):
        g.admit("search", "f")
    assert clock.slept == [0.801]  # the third call went in the next second
    assert g.usage()["calls_today"] == 3


def test_a_wait_longer_than_allowed_is_refused_as_throttled(settings):
    settings.PEMA_SUPPLIER_MAX_PACE_WAIT_SECONDS = 0.5
    clock = Clock()
    g = gate(clock, qps=1)
    g.admit("search", "f")
    with pytest.raises(SupplierThrottled):
        g.admit("search", "f")
    assert clock.slept == []


def test_the_daily_quota_is_counted_and_then_nothing_is_sent_until_tomorrow():
    clock = Clock()
    g = gate(clock, qps=100, quota=3)
    for _ in range(3):
        g.admit("search", "f")
    with pytest.raises(QuotaExhausted):
        g.admit("search", "f")
    assert g.usage()["quota_exhausted"] is True
    clock.now += 86400
    g.admit("search", "f")  # a new UTC day


def test_over_qps_backs_off_and_over_rate_stops(settings):
    settings.PEMA_SUPPLIER_QPS_BACKOFF_SECONDS = 2
    clock = Clock()
    g = gate(clock, qps=100)
    g.throttled(0)
    with pytest.raises(SupplierThrottled) as caught:
        g.admit("search", "f")
    assert caught.value.retry_after == pytest.approx(2)
    assert g.usage()["backing_off_seconds"] == 2
    clock.now += 2.1
    g.admit("search", "f")
    g.quota_exhausted()
    with pytest.raises(QuotaExhausted):
        g.admit("search", "f")


def test_a_refused_request_is_not_repeated_within_the_window(settings):
    settings.PEMA_SUPPLIER_REPEAT_WINDOW_SECONDS = 900
    clock = Clock()
    g = gate(clock, qps=100)
    g.failed("same")
    with pytest.raises(SupplierRefused, match="not sent again within 15 minutes"):
        g.admit("book", "same")
    g.admit("book", "another")
