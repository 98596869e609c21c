"""The typed contract between Pema and a supplier of other hotels' rooms.

A supplier (Hotelbeds APItude, and any later one) is a class in
``partners/<name>/provider.py`` implementing :class:`Supplier`, registered by
dotted path in ``PEMA_SUPPLIERS``. It speaks only the values below: Pema's
``suppliers`` app builds them from its models and the API, and writes what
the supplier returns. Money is integer minor units plus a currency; stay
dates are the hotel's local dates.

Before every call a supplier asks its :class:`Gate` (pacing under the
connection's QPS, the daily quota, a back-off after the partner said "too
much", and the rule that a failed request is not repeated within a window).
The gate is Pema's, handed in with the :class:`SupplierConfig`, so a
supplier never counts or sleeps by itself.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar, Protocol

BOOKABLE = "BOOKABLE"
RECHECK = "RECHECK"


# --- Errors ---------------------------------------------------------------------------------


class SupplierError(Exception):
    """A supplier call did not give what was asked; ``code`` is stable, the message readable."""

    code = "supplier_error"

    def __init__(self, message: str, *, http_status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status


class SupplierUnavailable(SupplierError):
    """The supplier could not be reached, timed out, or answered 5xx: try again later."""

    code = "supplier_unavailable"


class SupplierThrottled(SupplierError):
    """Too many calls now (QPS): Pema backs off for ``retry_after`` seconds."""

    code = "supplier_throttled"

    def __init__(self, message: str, *, retry_after: float = 1.0, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class QuotaExhausted(SupplierError):
    """Today's request quota of this supplier account is used up."""

    code = "supplier_quota_exhausted"


class SupplierRefused(SupplierError):
    """The supplier refused the request itself (invalid data, credentials, a repeat)."""

    code = "supplier_refused"


class RateUnavailable(SupplierRefused):
    """The rate can no longer be sold (expired key, sold out, price beyond tolerance)."""

    code = "rate_unavailable"


class PaymentRequired(SupplierRefused):
    """The rate needs card data (pay at hotel); Pema takes none, so it does not sell it."""

    code = "payment_required"


class BookingOutcomeUnknown(SupplierError):
    """A booking request was sent but no answer came back: it may or may not exist."""

    code = "booking_outcome_unknown"


# --- Values ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Occupancy:
    """One kind of room asked for: how many such rooms, adults and children's ages per room."""

    rooms: int = 1
    adults: int = 2
    children_ages: tuple[int, ...] = ()

    @property
    def children(self) -> int:
        return len(self.children_ages)


@dataclass(frozen=True)
class SearchQuery:
    """An availability question: a destination or hotel codes, a stay and occupancies."""

    check_in: date
    check_out: date
    occupancies: tuple[Occupancy, ...]
    destination: str = ""
    hotels: tuple[str, ...] = ()

    def normalised(self) -> dict[str, Any]:
        """The query as plain data in one canonical form (the cache key is made from it)."""
        return {
            "check_in": self.check_in.isoformat(),
            "check_out": self.check_out.isoformat(),
            "destination": self.destination.upper(),
            "hotels": sorted(set(self.hotels)),
            "occupancies": [
                {"rooms": o.rooms, "adults": o.adults, "children_ages": list(o.children_ages)}
                for o in self.occupancies
            ],
        }


@dataclass(frozen=True)
class CancellationPolicy:
    """From ``starts_at`` (ISO 8601, as the supplier gives it) cancelling costs ``amount``."""

    amount: int
    currency: str
    starts_at: str


@dataclass(frozen=True)
class Rate:
    """One sellable rate of a room, at the supplier's net price."""

    rate_key: str
    rate_type: str  # BOOKABLE or RECHECK
    room_code: str
    room_name: str
    board_code: str
    board_name: str
    net: int
    currency: str
    rooms: int = 1
    adults: int = 2
    children: int = 0
    payment_type: str = "AT_WEB"
    rate_class: str = ""
    cancellation_policies: tuple[CancellationPolicy, ...] = ()
    comments: str = ""


@dataclass(frozen=True)
class HotelOffer:
    """A hotel with its rates for the stay asked."""

    hotel_code: str
    hotel_name: str
    category: str
    destination: str
    currency: str
    rates: tuple[Rate, ...]


@dataclass(frozen=True)
class HotelContent:
    """What a supplier publishes about a hotel (its static content)."""

    code: str
    name: str
    category: str = ""
    destination: str = ""
    country: str = ""
    address: str = ""
    city: str = ""
    latitude: float | None = None
    longitude: float | None = None
    description: str = ""
    images: tuple[str, ...] = ()
    facilities: tuple[str, ...] = ()
    last_update: date | None = None


@dataclass(frozen=True)
class ContentPage:
    """One page of content: hotels ``first``..``last`` of ``total``."""

    hotels: tuple[HotelContent, ...]
    first: int
    last: int
    total: int


@dataclass(frozen=True)
class Holder:
    name: str
    surname: str


@dataclass(frozen=True)
class Pax:
    """A guest in a room: ``room`` counts from 1; ``kind`` is ``AD`` (adult) or ``CH``."""

    room: int
    kind: str
    name: str
    surname: str
    age: int | None = None


@dataclass(frozen=True)
class BookingRequest:
    rate_key: str
    holder: Holder
    paxes: tuple[Pax, ...]
    client_reference: str
    remark: str = ""
    tolerance_percent: float = 0.0


@dataclass(frozen=True)
class BookingResult:
    """A booking as the supplier holds it."""

    reference: str
    client_reference: str
    status: str  # CONFIRMED or CANCELLED
    hotel_code: str
    hotel_name: str
    check_in: date
    check_out: date
    net: int
    currency: str
    cancellation_policies: tuple[CancellationPolicy, ...] = ()
    raw_request: dict[str, Any] = field(default_factory=dict)
    raw_response: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CancellationResult:
    """What a cancellation costs (``simulated``: only quoted, nothing changed)."""

    reference: str
    status: str
    fee: int
    currency: str
    simulated: bool
    raw_response: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SupplierStatus:
    ok: bool
    message: str = ""


# --- Pema's side of a call ------------------------------------------------------------------


class Gate(Protocol):
    """What a supplier asks before and tells after each call (Pema's limits)."""

    def admit(self, operation: str, fingerprint: str) -> None:
        """Wait for a slot under the QPS and count the call against the quota; raise
        :class:`SupplierThrottled`, :class:`QuotaExhausted` or :class:`SupplierRefused`
        (this request failed within the repeat window) instead of sending."""

    def throttled(self, retry_after: float) -> None:
        """The supplier said "over QPS": leave it alone for ``retry_after`` seconds."""

    def quota_exhausted(self) -> None:
        """The supplier said "over rate": no calls until its quota renews."""

    def failed(self, fingerprint: str) -> None:
        """This request was refused: do not send it again within the repeat window."""


class OpenGate:
    """A gate that admits everything (tests, one-off scripts)."""

    def admit(self, operation: str, fingerprint: str) -> None:
        return None

    def throttled(self, retry_after: float) -> None:
        return None

    def quota_exhausted(self) -> None:
        return None

    def failed(self, fingerprint: str) -> None:
        return None


@dataclass(frozen=True)
class SupplierConfig:
    """One supplier account as Pema configured it."""

    code: str
    base_url: str
    credentials: dict[str, str]
    settings: dict[str, Any] = field(default_factory=dict)
    secure_base_url: str = ""
    search_timeout: float = 8.0
    booking_timeout: float = 60.0
    gate: Gate = field(default_factory=OpenGate)
    clock: Callable[[], float] | None = None


class Supplier(ABC):
    """Base of every supplier; each operation is one or a few calls to the partner."""

    key: ClassVar[str] = ""
    label: ClassVar[str] = ""
    #: Required keys of the credentials -> what they mean (write-only fields in the admin).
    credential_fields: ClassVar[dict[str, str]] = {}

    def __init__(self, config: SupplierConfig) -> None:
        self.config = config

    @abstractmethod
    def content(self, *, first: int, last: int, updated_since: date | None = None) -> ContentPage:
        """Hotels ``first``..``last`` of the content catalogue (changed since a date)."""

    @abstractmethod
    def search(self, query: SearchQuery) -> list[HotelOffer]:
        """The hotels and rates for ``query``."""

    @abstractmethod
    def check_rate(self, rate_key: str) -> Rate:
        """The rate as it stands now (mandatory before booking a RECHECK rate)."""

    @abstractmethod
    def book(self, request: BookingRequest) -> BookingResult:
        """Book; raise :class:`BookingOutcomeUnknown` when the answer was lost."""

    @abstractmethod
    def find_booking(
        self, client_reference: str, *, created_from: date, created_to: date
    ) -> BookingResult | None:
        """The booking made with ``client_reference`` (created in that range), if any."""

    @abstractmethod
    def cancel(self, reference: str, *, simulate: bool) -> CancellationResult:
        """Cancel (or, with ``simulate``, only quote the fee)."""

    @abstractmethod
    def status(self) -> SupplierStatus:
        """Whether the supplier's API answers."""

    def image_url(self, path: str) -> str:
        """A full URL for an image path of the content."""
        return path
