"""What ``/readyz/`` probes: the database, the cache, the broker, and when each partner
connection was last in contact.

Every probe is one cheap round trip (``SELECT 1``, a cache set and get, a broker
connect and ``PING``) bounded by the client's own timeout, so a probe every
10 s costs next to nothing. The connections' last contact comes from one query
(the newest sync log row per connection, through its index); it is reported,
never a reason to be unready: a partner that is down does not make Pema unable
to serve.
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.core.cache import cache, caches
from django.db import connection
from django.db.models import OuterRef, Subquery
from django.utils import timezone

ERROR_LIMIT = 200


@dataclass
class CheckResult:
    """One dependency's answer: whether it works, how long asking took, and details."""

    ok: bool
    ms: float
    error: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": self.ok, "ms": round(self.ms, 1), **self.details}
        if self.error:
            out["error"] = self.error
        return out


def _timed(probe) -> CheckResult:
    started = time.perf_counter()
    try:
        details = probe() or {}
    except Exception as exc:  # noqa: BLE001 - any failure is the answer, not an error of ours
        message = f"{type(exc).__name__}: {exc}"[:ERROR_LIMIT]
        return CheckResult(False, (time.perf_counter() - started) * 1000, message)
    return CheckResult(True, (time.perf_counter() - started) * 1000, details=details)


def _database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"vendor": connection.vendor}


def _cache() -> dict:
    # A write and a read back: a degrading cache (pema/cache.py) answers a miss
    # instead of raising when Redis is down, and that miss is what shows it.
    key, token = f"pema-readyz:{os.getpid()}", secrets.token_hex(8)
    cache.set(key, token, 30)
    if cache.get(key) != token:
        raise ConnectionError("the cache did not keep a value (unreachable?)")
    from pema.cache import cache_breaker

    return {"backend": type(caches["default"]).__name__, "breaker": _breaker(cache_breaker)}


def _breaker(breaker) -> dict:
    state = breaker.state()
    out = {"state": state.state, "failures": state.failures, "skipped": state.skipped}
    if state.opened_at:
        out["opened_at"] = state.opened_at.isoformat()
    return out


def _broker() -> dict:
    from pema.celery import app
    from pema.tasks import broker_breaker

    # A fresh connection, not the send pool: the probe must really reach the
    # broker. A Redis broker is PINGed when its channel opens.
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=0)
        transport = conn.transport_cls if isinstance(conn.transport_cls, str) else "custom"
        if transport == "filesystem":
            folder = conn.transport_options.get("data_folder_in", ".")
            if not os.access(folder, os.W_OK):
                raise PermissionError(f"the broker folder {folder} is not writable")
        else:
            conn.default_channel  # noqa: B018 - opening the channel is the round trip
    return {"transport": transport, "breaker": _breaker(broker_breaker)}


def connection_contacts() -> list[dict[str, Any]]:
    """Each partner connection with its newest sync log row: when, and how it went."""
    Connection = apps.get_model("channels", "Connection")
    SyncLog = apps.get_model("channels", "SyncLog")
    newest = SyncLog.objects.filter(connection=OuterRef("pk")).order_by("-id")
    rows = (
        Connection.objects.order_by("id")
        .annotate(
            last_contact_at=Subquery(newest.values("created_at")[:1]),
            last_contact_status=Subquery(newest.values("status")[:1]),
            last_contact_http_status=Subquery(newest.values("http_status")[:1]),
        )
        .values(
            "id",
            "hotel__code",
            "provider",
            "name",
            "enabled",
            "last_contact_at",
            "last_contact_status",
            "last_contact_http_status",
        )
    )
    now = timezone.now()
    out = []
    for row in rows:
        at = row["last_contact_at"]
        out.append(
            {
                "id": row["id"],
                "hotel": row["hotel__code"],
                "provider": row["provider"],
                "name": row["name"],
                "enabled": row["enabled"],
                "last_contact_at": at.isoformat() if at else None,
                "seconds_since_last_contact": round((now - at).total_seconds()) if at else None,
                "last_contact_status": row["last_contact_status"],
                "last_contact_http_status": row["last_contact_http_status"],
            }
        )
    return out


@dataclass
class Readiness:
    """The whole answer of ``/readyz/``."""

    checks: dict[str, CheckResult]
    connections: list[dict[str, Any]] | None
    connections_error: str = ""
    #: The extra reports of ``PEMA_HEALTH_REPORTS`` (suppliers...): name -> data or an error.
    reports: dict[str, Any] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return all(result.ok for result in self.checks.values())

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "status": "ready" if self.ready else "unavailable",
            "checks": {name: result.as_json() for name, result in self.checks.items()},
            "connections": self.connections,
        }
        if self.connections_error:
            out["connections_error"] = self.connections_error
        out.update(self.reports)
        return out


def readiness() -> Readiness:
    checks = {"database": _timed(_database), "cache": _timed(_cache), "broker": _timed(_broker)}
    contacts, error = None, ""
    if checks["database"].ok:
        result = _timed(lambda: {"rows": connection_contacts()})
        contacts, error = result.details.get("rows"), result.error
    return Readiness(checks, contacts, error, extra_reports() if checks["database"].ok else {})


def extra_reports() -> dict[str, Any]:
    """``PEMA_HEALTH_REPORTS`` run: each reported (or its error), never a reason to be unready."""
    from django.conf import settings
    from django.utils.module_loading import import_string

    out: dict[str, Any] = {}
    for name, path in getattr(settings, "PEMA_HEALTH_REPORTS", {}).items():
        result = _timed(lambda path=path: {"rows": import_string(path)()})
        out[name] = result.details.get("rows") if result.ok else {"error": result.error}
    return out
