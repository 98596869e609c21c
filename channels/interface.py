"""The typed contract between the channel engine and the providers.

The engine (dispatch, delivery, the inbound pipeline) reads the database and
hands a provider plain, frozen values; the provider speaks its partner's wire
format and hands back frozen values; the engine writes what they say. A
provider never touches ``bookings`` models, so every partner is tested with
values alone and the engine is tested without any partner.

Partner codes are already mapped here: ``partner_room_id`` and
``partner_rate_id`` come from the connection's ``ChannelProduct`` rows (or
its code maps), so a provider never looks a mapping up itself.

Money is integer minor units plus an ISO 4217 currency; stay dates are the
hotel's local dates; timestamps are aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

# ---------------------------------------------------------------------- outbound ARI


@dataclass(frozen=True)
class DateSpan:
    """``start``..``end`` inclusive; with ``weekdays`` (0 = Monday) only those days."""

    start: date
    end: date
    weekdays: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"A span ends before it starts: {self.start} > {self.end}.")
        if self.weekdays is not None and not set(self.weekdays) <= set(range(7)):
            raise ValueError(f"Weekdays are 0 (Monday) to 6: {self.weekdays!r}.")

    @property
    def days(self) -> int:
        """Calendar days from start to end, weekdays ignored."""
        return (self.end - self.start).days + 1


@dataclass(frozen=True)
class AvailabilityItem:
    """A room-level product's rooms to sell and room-level stop sell over a span."""

    span: DateSpan
    room_type: str
    partner_room_id: str
    rooms_to_sell: int
    stop_sell: bool = False


@dataclass(frozen=True)
class RestrictionItem:
    """A room x rate product's restrictions over a span (``None``: no limit)."""

    span: DateSpan
    room_type: str
    rate_plan: str
    partner_room_id: str
    partner_rate_id: str
    stop_sell: bool = False
    closed_to_arrival: bool = False
    closed_to_departure: bool = False
    min_stay_arrival: int | None = None
    min_stay_through: int | None = None
    max_stay: int | None = None


@dataclass(frozen=True)
class RateItem:
    """A room x rate product's nightly price (minor units) over a span."""

    span: DateSpan
    room_type: str
    rate_plan: str
    partner_room_id: str
    partner_rate_id: str
    price: int
    currency: str
    extra_adult: int | None = None
    extra_child: int | None = None


AriItem = AvailabilityItem | RestrictionItem | RateItem

# ---------------------------------------------------------------------- reservations


@dataclass(frozen=True)
class GuestDetails:
    """The guest (or booker) as a partner sends or receives them."""

    given_name: str = ""
    surname: str = ""
    email: str = ""
    phone: str = ""
    country: str = ""


@dataclass(frozen=True)
class Night:
    """One night of a room stay and its price in minor units."""

    date: date
    price: int


@dataclass(frozen=True)
class RoomStayMessage:
    """One room of a reservation, with its nights."""

    room_type: str
    rate_plan: str
    partner_room_id: str
    partner_rate_id: str
    check_in: date
    check_out: date
    adults: int
    children: int = 0
    nights: tuple[Night, ...] = ()
    room_number: str = ""


@dataclass(frozen=True)
class ReservationMessage:
    """A local reservation as handed to a provider to create, modify or cancel."""

    confirmation_number: str
    status: str
    version: int
    currency: str
    total: int
    guest: GuestDetails
    rooms: tuple[RoomStayMessage, ...]
    partner_reference: str = ""
    special_requests: str = ""
    created_at: datetime | None = None


@dataclass(frozen=True)
class DeliveryResult:
    """What a provider reports after sending one job.

    ``partner_references`` maps what was sent (a confirmation number) to the
    partner's own id; ``skipped`` says why nothing was sent (the job ends
    ``skipped`` with that reason); ``warnings`` are kept in the sync log.
    """

    partner_references: dict[str, str] = field(default_factory=dict)
    skipped: str = ""
    warnings: tuple[str, ...] = ()
    messages: int = 0


# ---------------------------------------------------------------------- inbound


class InboundKind(StrEnum):
    """What an inbound reservation message asks for."""

    NEW = "new"
    MODIFY = "modify"
    CANCEL = "cancel"


@dataclass(frozen=True)
class InboundRoomStay:
    """One room of a partner's reservation, in the partner's codes."""

    partner_room_id: str
    partner_rate_id: str
    check_in: date
    check_out: date
    adults: int
    children: int = 0
    nights: tuple[Night, ...] = ()
    index: str = ""


@dataclass(frozen=True)
class InboundReservation:
    """A reservation message a provider parsed from its partner.

    ``revision`` orders the messages of one partner reservation (a modify
    timestamp, a message id, a version number): the engine applies a message
    at most once per (connection, partner reservation id, revision) and never
    lets an older revision overwrite a newer one. ``ack_token`` is whatever
    the provider needs later to acknowledge this message.
    """

    partner_reservation_id: str
    revision: str
    kind: InboundKind
    currency: str
    total: int
    guest: GuestDetails
    rooms: tuple[InboundRoomStay, ...] = ()
    special_requests: str = ""
    booked_at: datetime | None = None
    ack_token: str = ""
    raw: bytes = b""


@dataclass(frozen=True)
class PullResult:
    """One pull: the messages read, and whether the partner has more waiting."""

    reservations: tuple[InboundReservation, ...] = ()
    more: bool = False
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Acknowledgement:
    """Which pulled messages the engine applied, and which it holds (with why)."""

    applied: tuple[InboundReservation, ...] = ()
    rejected: tuple[tuple[InboundReservation, str], ...] = ()


# ---------------------------------------------------------------------- capabilities


class PricingModel(StrEnum):
    """How a partner takes prices."""

    PER_ROOM = "per_room"
    PER_OCCUPANCY = "per_occupancy"


class ReservationFlow(StrEnum):
    """How reservations reach Pema from the partner, if at all."""

    NONE = "none"
    PULL = "pull"
    PUSH = "push"


@dataclass(frozen=True)
class Capabilities:
    """What a partner can take and how; the coalescer and the engine honour it.

    ``nets_reservations``: the rooms-to-sell figure sent is net of every
    reservation (a channel); a PMS holds every reservation itself and gets
    rooms offered. ``max_items_per_request``: wire messages per document.
    ``max_days_per_request``: a document spans at most this many days (31 for
    Booking.com's one month a request). ``horizon_days``: how far ahead ARI
    goes. ``past_days``: how many days before today a partner accepts.
    """

    nets_reservations: bool = True
    weekday_patterns: bool = True
    max_items_per_request: int = 500
    max_days_per_request: int | None = None
    horizon_days: int = 500
    past_days: int = 0
    pricing_model: PricingModel = PricingModel.PER_ROOM
    reservations: ReservationFlow = ReservationFlow.NONE
    exports_reservations: bool = False
    answers_availability: bool = False
    pull_interval_seconds: int | None = None
