"""Extension points other apps plug into the booking flow without bookings importing them.

``bookings`` knows no other app. An app that adds to a booking (payments)
registers a class by dotted path in ``PEMA_BOOKING_EXTENSIONS``; the
booking-engine API and the cancellation ask every registered extension, in
order. The base class answers "nothing to add" to each question, so an
extension implements only what it needs.
"""

from __future__ import annotations

import functools
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from .models import Reservation


class BookingExtension:
    """What an app may add to bookings; every method is a no-op here."""

    #: Online payment methods this extension takes (``"payment": "<name>"`` in a booking).
    payment_methods: tuple[str, ...] = ()

    def can_take_payment(self, reservation_hotel_id: int, method: str) -> bool:
        """Whether ``method`` is configured for the hotel (asked before booking)."""
        return False

    def booking_created(self, reservation: Reservation, method: str, request: Any) -> dict:
        """A booking awaiting payment was written (inside its transaction): keys to add
        to the API's answer, e.g. ``{"payment": {...}}``."""
        return {}

    def reservation_cancelled(self, reservation: Reservation, *, source: str) -> None:
        """The reservation was cancelled (inside the cancellation's transaction)."""

    def describe(self, reservation: Reservation) -> dict:
        """Keys to add to the description of a reservation's cancellation (e.g. refund)."""
        return {}


@functools.cache
def _load(paths: tuple[str, ...]) -> tuple[BookingExtension, ...]:
    return tuple(import_string(path)() for path in paths)


def extensions() -> tuple[BookingExtension, ...]:
    """The registered extensions, made once per process."""
    return _load(tuple(getattr(settings, "PEMA_BOOKING_EXTENSIONS", ()) or ()))


def payment_extension(hotel_id: int, method: str) -> BookingExtension | None:
    """The extension that takes ``method`` (or the first that can take any, for ``""``)."""
    for extension in extensions():
        wanted = method or (extension.payment_methods[0] if extension.payment_methods else "")
        if wanted in extension.payment_methods and extension.can_take_payment(hotel_id, wanted):
            return extension
    return None


def method_for(extension: BookingExtension, method: str) -> str:
    return method or extension.payment_methods[0]


def reservation_cancelled(reservation: Reservation, *, source: str) -> None:
    for extension in extensions():
        extension.reservation_cancelled(reservation, source=source)


def describe(reservation: Reservation) -> dict:
    found: dict = {}
    for extension in extensions():
        found.update(extension.describe(reservation))
    return found
