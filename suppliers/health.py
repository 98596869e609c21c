"""Each supplier's status and limits, for the health check and the admin.

The supplier's status endpoint (Hotelbeds ``GET /hotel-api/1.0/status``) is
asked at most once per ``PEMA_SUPPLIER_STATUS_CACHE_SECONDS`` (a minute) across
all processes; the answer, or the failure, is cached. A status call spends the
daily quota like any other, so it is never asked per probe, and an account with
a small quota (a test key: 50 a day) is asked rarely enough to spend a tenth of it. A supplier that
is down is reported, never a reason for Pema to be unready.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count

from .interface import SupplierError
from .limits import SupplierGate
from .models import Supplier
from .registry import supplier_for

STATUS_PREFIX = "suppliers:status:"


def status_of(supplier: Supplier, *, fresh: bool = False) -> dict[str, Any]:
    key = STATUS_PREFIX + supplier.code
    if not fresh:
        cached = cache.get(key)
        if cached is not None:
            return cached
    started = time.monotonic()
    try:
        answer = supplier_for(supplier).status()
        status = {"ok": answer.ok, "message": answer.message}
    except SupplierError as exc:
        status = {"ok": False, "message": exc.message, "code": exc.code}
    status["ms"] = round((time.monotonic() - started) * 1000)
    status["checked_at"] = time.time()
    cache.set(key, status, status_interval(supplier))
    return status


def status_interval(supplier: Supplier) -> int:
    """Seconds between status calls: a minute, or longer where a small daily quota would
    otherwise go on status calls (they are counted too): at most a tenth of the quota."""
    seconds = settings.PEMA_SUPPLIER_STATUS_CACHE_SECONDS
    if supplier.daily_quota:
        seconds = max(seconds, 86400 * 10 // supplier.daily_quota)
    return seconds


def usage_of(supplier: Supplier) -> dict[str, Any]:
    return SupplierGate(supplier.code, qps=supplier.qps, daily_quota=supplier.daily_quota).usage()


def report() -> list[dict[str, Any]]:
    """Every enabled supplier: its status (cached a minute), today's calls and quota."""
    out = []
    # One query for every supplier, its hotel count included.
    for supplier in Supplier.objects.filter(enabled=True).annotate(hotel_count=Count("hotels")):
        out.append(
            {
                "supplier": supplier.code,
                "provider": supplier.provider,
                "status": status_of(supplier),
                **usage_of(supplier),
                "hotels": supplier.hotel_count,
                "content_synced_at": supplier.content_synced_at.isoformat()
                if supplier.content_synced_at
                else None,
            }
        )
    return out
