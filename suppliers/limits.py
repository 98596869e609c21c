"""Pema's own limits on a supplier account: pace, daily quota, back-off and the repeat rule.

Counters live in the shared cache (Redis in production), so every web and
worker process of Pema counts against the same numbers:

- **pace**: at most ``qps`` calls in any one-second slot; a call over it waits
  for a later slot, and one that would wait longer than
  ``PEMA_SUPPLIER_MAX_PACE_WAIT_SECONDS`` is refused as throttled instead;
- **daily quota**: every call of the UTC day is counted; past ``daily_quota``
  (when set) no call is sent until the next day;
- **back-off**: after the supplier answers "Developer Over QPS" the account is
  left alone for ``PEMA_SUPPLIER_QPS_BACKOFF_SECONDS`` (or its Retry-After);
  after "Developer Over Rate" until the next UTC day;
- **repeat rule**: a request the supplier refused is not sent again within
  ``PEMA_SUPPLIER_REPEAT_WINDOW_SECONDS`` (Hotelbeds answers 410 to a repeat
  within 15 minutes, and counts it).

When the cache cannot be reached the call is let through: Pema's limits exist
to stay under the supplier's, which would still refuse it.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache

from .interface import QuotaExhausted, SupplierRefused, SupplierThrottled

logger = logging.getLogger(__name__)
PREFIX = "suppliers:limits"


def _today(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).date().isoformat()


def _seconds_to_midnight(now: float) -> float:
    moment = datetime.fromtimestamp(now, UTC)
    midnight = datetime.combine(moment.date() + timedelta(days=1), datetime.min.time(), UTC)
    return max((midnight - moment).total_seconds(), 1.0)


def _count(key: str, ttl: int) -> int:
    cache.add(key, 0, ttl)
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.set(key, 1, ttl)
        return 1


class SupplierGate:
    """The :class:`suppliers.interface.Gate` of one supplier account."""

    def __init__(self, code: str, *, qps: int, daily_quota: int, clock=time.time, sleep=time.sleep):
        self.code = code
        self.qps = max(int(qps), 1)
        self.daily_quota = int(daily_quota)
        self.clock = clock
        self.sleep = sleep

    def _key(self, *parts: str) -> str:
        return ":".join((PREFIX, self.code, *parts))

    def admit(self, operation: str, fingerprint: str) -> None:
        try:
            self._admit(operation, fingerprint)
        except (SupplierThrottled, QuotaExhausted, SupplierRefused):
            raise
        except Exception:  # noqa: BLE001 - the cache is down: the supplier still has its limits
            logger.warning("supplier %s: limits not checked (cache unavailable)", self.code)

    def _admit(self, operation: str, fingerprint: str) -> None:
        now = self.clock()
        until = cache.get(self._key("backoff"))
        if until and float(until) > now:
            raise SupplierThrottled(
                f"{self.code} said it had too many calls; Pema waits before asking again.",
                retry_after=float(until) - now,
            )
        if cache.get(self._key("exhausted", _today(now))):
            raise QuotaExhausted(f"{self.code}: today's request quota is used up.")
        failed_at = cache.get(self._key("failed", fingerprint))
        if failed_at:
            when = datetime.fromtimestamp(float(failed_at), UTC).strftime("%H:%M:%S UTC")
            raise SupplierRefused(
                f"The same request to {self.code} failed at {when}; it is not sent again within "
                f"{settings.PEMA_SUPPLIER_REPEAT_WINDOW_SECONDS // 60} minutes (the supplier "
                "would refuse the repeat). Change the request or wait."
            )
        self._pace(now)
        used = _count(self._key("day", _today(now)), 2 * 86400)
        if self.daily_quota and used > self.daily_quota:
            self.quota_exhausted()
            raise QuotaExhausted(
                f"{self.code}: today's quota of {self.daily_quota} requests is used up."
            )

    def _pace(self, now: float) -> None:
        waited = 0.0
        most = settings.PEMA_SUPPLIER_MAX_PACE_WAIT_SECONDS
        while True:
            second = int(now)
            if _count(self._key("qps", str(second)), 5) <= self.qps:
                return
            pause = second + 1 - now + 0.001
            if waited + pause > most:
                raise SupplierThrottled(
                    f"{self.code} is at Pema's pace of {self.qps} calls a second; try again.",
                    retry_after=pause,
                )
            self.sleep(pause)
            waited += pause
            now = self.clock()

    def throttled(self, retry_after: float) -> None:
        seconds = max(retry_after, settings.PEMA_SUPPLIER_QPS_BACKOFF_SECONDS)
        cache.set(self._key("backoff"), self.clock() + seconds, int(seconds) + 1)

    def quota_exhausted(self) -> None:
        now = self.clock()
        cache.set(self._key("exhausted", _today(now)), True, int(_seconds_to_midnight(now)) + 1)

    def failed(self, fingerprint: str) -> None:
        window = settings.PEMA_SUPPLIER_REPEAT_WINDOW_SECONDS
        cache.set(self._key("failed", fingerprint), self.clock(), window)

    def usage(self) -> dict[str, Any]:
        """Today's count, the quota, and whether the account is held back now."""
        now = self.clock()
        until = cache.get(self._key("backoff"))
        return {
            "calls_today": int(cache.get(self._key("day", _today(now))) or 0),
            "daily_quota": self.daily_quota,
            "qps": self.qps,
            "quota_exhausted": bool(cache.get(self._key("exhausted", _today(now)))),
            "backing_off_seconds": round(float(until) - now, 1)
            if until and float(until) > now
            else 0,
        }
