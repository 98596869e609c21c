"""Domain errors of the bookings app.

Each carries a stable ``code`` that the API returns as its error code and a
message written for the person who will read it (staff, a guest, a developer).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class Reason:
    """Why a room type or rate plan cannot be sold for a stay."""

    code: str
    message: str
    date: date | None = None

    def as_dict(self) -> dict:
        data = {"code": self.code, "message": self.message}
        if self.date is not None:
            data["date"] = self.date.isoformat()
        return data


@dataclass
class BookingError(Exception):
    """Base of every refusal the domain can give."""

    message: str
    code: str = "booking_error"
    fields: dict[str, list[str]] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message


@dataclass
class InvalidStay(BookingError):
    """The request itself is wrong: dates, guest counts, rooms."""

    code: str = "invalid_stay"


@dataclass
class NoAvailability(BookingError):
    """Nothing can be sold for the stay; ``reasons`` say why."""

    code: str = "no_availability"
    reasons: list[Reason] = field(default_factory=list)


@dataclass
class PriceChanged(BookingError):
    """The total the guest was shown no longer matches today's price."""

    code: str = "price_changed"
    total: int = 0
    currency: str = ""


@dataclass
class ReservationClosed(BookingError):
    """A cancelled reservation cannot be modified."""

    code: str = "reservation_cancelled"


@dataclass
class ReservationBusy(BookingError):
    """The reservation kept changing under a modification; the caller may try again."""

    code: str = "reservation_busy"


@dataclass
class ExternalAvailabilityUnavailable(BookingError):
    """The availability master (the PMS) could not be asked; the booking is refused."""

    code: str = "pms_unavailable"


@dataclass
class CalendarConflict(BookingError):
    """An ARI change would leave fewer rooms than are already sold and blocked."""

    code: str = "calendar_conflict"
    dates: list[date] = field(default_factory=list)


@dataclass
class NotModifiable(BookingError):
    """The reservation's terms forbid this change (a non-refundable stay's dates)."""

    code: str = "not_modifiable"


@dataclass
class PaymentUnavailable(BookingError):
    """The booking needs an online payment that no configured gateway can take."""

    code: str = "payment_unavailable"
