"""Availability checks owned by other apps (the PMS), registered at start-up.

``bookings`` knows no other app. When a hotel's availability master is the
PMS, the reservation functions call the checker that the ``pms`` app
registered here; it raises ``NoAvailability`` or
``ExternalAvailabilityUnavailable``. With none registered, a PMS-mastered
hotel cannot take bookings: that is the fail-safe.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from .errors import ExternalAvailabilityUnavailable

if TYPE_CHECKING:
    from .models import Hotel, RatePlan, RoomType


@dataclass(frozen=True)
class StayQuery:
    """The stay the availability master is asked about."""

    hotel: Hotel
    room_type: RoomType
    rate_plan: RatePlan
    check_in: date
    check_out: date
    adults: int
    children: int
    rooms: int


AvailabilityChecker = Callable[[StayQuery], None]
_checker: AvailabilityChecker | None = None


def register_availability_checker(checker: AvailabilityChecker | None) -> None:
    """Install (or with None remove) the checker asked for PMS-mastered hotels."""
    global _checker
    _checker = checker


def confirm_with_master(query: StayQuery) -> None:
    """Ask the availability master; raise when it says no or cannot be asked."""
    if _checker is None:
        raise ExternalAvailabilityUnavailable(
            "This hotel's availability is managed by its PMS, which is not connected. "
            "Please contact the hotel to book."
        )
    _checker(query)
