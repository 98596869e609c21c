"""Cached availability answers, invalidated exactly by a per-hotel ARI version.

Every hotel has a version number in the Django cache (Redis in production).
Anything that can change an availability answer bumps it: a committed
``ChangeEvent`` (ARI changes and reservations created, modified or
cancelled), a save or delete of the hotel, its room types, rate plans (and
which room types they sell) or calendar rows, and calendar rows created in
bulk. An answer is stored under the version it was computed at, so after a
bump no request can find it again; nothing is ever deleted or scanned.

The bump happens twice: at once (inside the writing transaction, so even a
change whose commit hook never runs, as in a test's rolled-back transaction,
is seen by the next read) and again after the commit, so an answer computed
from the not-yet-committed state between the two is never reused. A stale
answer can therefore live only as long as the commit itself takes.

Only searches use the cache. Booking never does: ``reserve_stay`` re-checks
everything on locked rows. Changes made behind the application's back (raw
SQL, a restore that skips signals) are covered by the entries' lifetime,
``PEMA_AVAILABILITY_CACHE_SECONDS``; 0 turns the cache of answers off.

With or without answers cached, a search reuses the hotel's catalogue (room
types, rate plans, which sells which) held per process under the same ARI
version, so it reads only the calendar: a cache turned off costs what a miss
costs, and is exactly as fresh.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from datetime import date
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction

from .availability import AvailabilityResult, Catalogue, load_catalogue, search_availability
from .models import Hotel

logger = logging.getLogger(__name__)
_namespaces: dict[str, str] = {}


def _namespace() -> str:
    """Which database this is, down to its incarnation.

    Several databases (test runs, benchmarks) may share one Redis, and a
    database dropped and made again restarts its hotel ids: the name and the
    database's own identity (its PostgreSQL oid) keep their entries apart.
    """
    name = str(connection.settings_dict.get("NAME") or "")
    namespace = _namespaces.get(name)
    if namespace is None:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT oid FROM pg_database WHERE datname = current_database()")
                identity = cursor.fetchone()[0]
        else:
            identity = os.stat(name).st_ino if os.path.exists(name) else 0
        namespace = _namespaces[name] = f"{name}:{identity}"
    return namespace


def _version_key(hotel_id: int) -> str:
    return f"ari-version:{_namespace()}:{hotel_id}"


def _fresh_version() -> int:
    # A lost version key (eviction, a flushed Redis) restarts from a number never
    # used before, so answers stored under an older number cannot come back.
    return time.time_ns()


def current_version(hotel_id: int) -> int:
    """The hotel's ARI version (created when missing)."""
    key = _version_key(hotel_id)
    value = cache.get(key)
    if value is None:
        cache.add(key, _fresh_version(), timeout=None)
        value = cache.get(key)
    return int(value)


def _bump(hotel_id: int) -> None:
    key = _version_key(hotel_id)
    try:
        try:
            cache.incr(key)
        except ValueError:  # missing: any new number invalidates everything stored
            cache.set(key, _fresh_version(), timeout=None)
    except Exception:
        # A booking or an ARI change must never fail for the cache's sake; the
        # entries' lifetime bounds what a missed bump can leave behind.
        logger.exception("Could not bump the ARI version of hotel %s", hotel_id)


def ari_changed(hotel_id: int | None) -> None:
    """The hotel's availability may have changed: bump its version now and after commit."""
    if hotel_id is None:
        return
    _bump(hotel_id)
    if connection.in_atomic_block:
        transaction.on_commit(lambda: _bump(hotel_id))


def enabled() -> bool:
    return settings.PEMA_AVAILABILITY_CACHE_SECONDS > 0


# Per process: hotel id -> (ARI version, catalogue). The version moves with every
# catalogue change too, so a catalogue is reused only while it is current.
_catalogues: dict[int, tuple[int, Catalogue]] = {}


def _catalogue(hotel: Hotel, version: int) -> Catalogue:
    held = _catalogues.get(hotel.id)
    if held is not None and held[0] == version:
        return held[1]
    catalogue = load_catalogue(hotel)
    _catalogues[hotel.id] = (version, catalogue)
    return catalogue


def _current_catalogue(hotel: Hotel) -> Catalogue | None:
    """The hotel's catalogue at its current ARI version; None (read it afresh) without a cache."""
    try:
        version = current_version(hotel.id)
    except Exception:
        logger.warning("Availability cache unreachable; reading the catalogue afresh")
        return None
    return _catalogue(hotel, version)


def cached_search(
    hotel: Hotel,
    check_in: date,
    check_out: date,
    adults: int,
    children: int,
    rooms: int,
    shape: Callable[[AvailabilityResult], Any],
) -> Any:
    """``shape(search_availability(...))``, stored per stay under the hotel's ARI version.

    ``shape`` turns the result into the picklable answer (plain data): it must
    depend only on the result, never on who asks or when. On a miss the
    search reuses the hotel's catalogue (room types, plans) while the
    version holds, so it reads only the calendar.
    """
    stay = (check_in, check_out, adults, children, rooms)
    if not enabled():
        return shape(search_availability(hotel, *stay, catalogue=_current_catalogue(hotel)))
    try:
        version = current_version(hotel.id)
        key = (
            f"availability:{_namespace()}:{hotel.id}:{version}:"
            f"{check_in.isoformat()}:{check_out.isoformat()}:{adults}:{children}:{rooms}"
        )
        answer = cache.get(key)
    except Exception:
        logger.warning("Availability cache unreachable; answering from the database")
        return shape(search_availability(hotel, *stay))
    if answer is None:
        answer = shape(search_availability(hotel, *stay, catalogue=_catalogue(hotel, version)))
        try:
            cache.set(key, answer, timeout=settings.PEMA_AVAILABILITY_CACHE_SECONDS)
        except Exception:
            logger.warning("Availability cache unreachable; answer not stored")
    return answer
