"""Fail-safe availability: ask the PMS before a booking when it is the master.

Registered with ``bookings.external`` at start-up. IDS saying no raises
``NoAvailability``; IDS unreachable, slow, refusing us or answering garbage
raises ``ExternalAvailabilityUnavailable`` with a message for the guest. The
local calendar is never the fallback: selling a room the PMS may have given
away is worse than asking the guest to call.

An answer is cached for ``IDS_AVAILABILITY_CACHE_SECONDS`` per room type,
rate plan and stay, which absorbs a search-then-book burst without hiding a
real change for long. Failures are never cached.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache

from bookings.errors import ExternalAvailabilityUnavailable, NoAvailability, Reason
from bookings.external import StayQuery
from channels.interface import AvailabilityQuery
from channels.mapping import ProductMap
from channels.models import Connection
from channels.providers.base import SyncError

logger = logging.getLogger(__name__)

GUEST_MESSAGE = (
    "We cannot confirm availability with the hotel right now. "
    "Please contact the hotel directly to book."
)
PMS_PROVIDERS = ("ids_next",)


def pms_connection(hotel_id: int) -> Connection | None:
    """The hotel's enabled PMS connection that answers availability questions."""
    return (
        Connection.objects.filter(
            hotel_id=hotel_id, provider__in=PMS_PROVIDERS, enabled=True, check_availability=True
        )
        .order_by("id")
        .first()
    )


def _cache_key(conn: Connection, q: StayQuery) -> str:
    return (
        f"pms-avail:{conn.pk}:{q.room_type.code}:{q.rate_plan.code}:{q.check_in}:{q.check_out}:"
        f"{q.adults}:{q.children}:{q.rooms}"
    )


def availability_query(conn: Connection, query: StayQuery) -> AvailabilityQuery:
    """The stay as the provider is asked about it, in the partner's room and rate ids."""
    partner_room_id, partner_rate_id = ProductMap(conn).booked_ids(query.room_type, query.rate_plan)
    return AvailabilityQuery(
        room_type=query.room_type.code,
        rate_plan=query.rate_plan.code,
        partner_room_id=partner_room_id,
        partner_rate_id=partner_rate_id,
        check_in=query.check_in,
        check_out=query.check_out,
        adults=query.adults,
        children=query.children,
        rooms=query.rooms,
    )


def pms_units(query: StayQuery) -> int:
    """Rooms the PMS can sell for the stay; ``ExternalAvailabilityUnavailable`` if it cannot say."""
    conn = pms_connection(query.hotel.pk)
    if conn is None:
        raise ExternalAvailabilityUnavailable(GUEST_MESSAGE)
    key = _cache_key(conn, query)
    ttl = settings.IDS_AVAILABILITY_CACHE_SECONDS
    units = cache.get(key) if ttl > 0 else None
    if units is None:
        try:
            units = conn.get_provider().check_availability(availability_query(conn, query))
        except SyncError as exc:
            logger.warning("PMS availability check failed for %s: %s", conn, exc.message)
            raise ExternalAvailabilityUnavailable(GUEST_MESSAGE) from exc
        except Exception as exc:  # noqa: BLE001 - whatever broke, never fall back to local
            logger.exception("PMS availability check crashed for %s", conn)
            raise ExternalAvailabilityUnavailable(GUEST_MESSAGE) from exc
        if ttl > 0:
            cache.set(key, units, ttl)
    return units


def check_with_pms(query: StayQuery) -> None:
    """Raise unless the PMS confirms ``query.rooms`` rooms for the stay."""
    units = pms_units(query)
    if units < query.rooms:
        message = (
            f"The hotel has no {query.room_type.name} free for those dates."
            if units == 0
            else f"The hotel has only {units} {query.room_type.name} free for those dates."
        )
        raise NoAvailability(message, reasons=[Reason("pms_no_availability", message)])
