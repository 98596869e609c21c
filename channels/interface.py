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


#: ``ReservationMessage.status`` of a cancelled reservation (the other is "confirmed").
RESERVATION_CANCELLED = "cancelled"


@dataclass(frozen=True)
class ReservationMessage:
    """A local reservation as handed to a provider to create, modify or cancel.

    ``partner_reference`` is the partner's own id of it, once the partner gave
    one (empty: the partner does not hold it yet). ``check_in``, ``check_out``,
    ``adults`` and ``children`` are the stay as a whole (every room), so a
    partner that takes one stay per reservation needs no sums of its own.
    """

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
    check_in: date | None = None
    check_out: date | None = None
    adults: int = 0
    children: int = 0

    @property
    def cancelled(self) -> bool:
        return self.status == RESERVATION_CANCELLED


@dataclass(frozen=True)
class AvailabilityQuery:
    """A stay a partner that answers availability (a PMS) is asked about.

    ``room_type`` and ``rate_plan`` are the local codes; the partner's ids are
    mapped by the engine, as for reservations.
    """

    room_type: str
    rate_plan: str
    partner_room_id: str
    partner_rate_id: str
    check_in: date
    check_out: date
    adults: int
    children: int = 0
    rooms: int = 1


@dataclass(frozen=True)
class DeliveryResult:
    """What a provider reports after sending one job.

    ``partner_references`` maps what was sent (a confirmation number) to the
    partner's own id; ``skipped`` says why nothing was sent (the job ends
    ``skipped`` with that reason); ``warnings`` are kept in the sync log.
    ``failed_updates``: what a partial success refused for good (the rest applied).
    """

    partner_references: dict[str, str] = field(default_factory=dict)
    skipped: str = ""
    warnings: tuple[str, ...] = ()
    messages: int = 0
    #: Updates the partner refused while applying the rest (a partial success), each
    #: described for staff; kept on the job's payload as ``failed_updates``.
    failed_updates: tuple[str, ...] = ()


# ---------------------------------------------------------------------- inbound


class InboundKind(StrEnum):
    """What an inbound reservation message asks for."""

    NEW = "new"
    MODIFY = "modify"
    CANCEL = "cancel"


@dataclass(frozen=True)
class InboundRoomStay:
    """One room of a partner's reservation, in the partner's codes.

    ``nights`` carries the partner's price of each night of this room (minor
    units of the reservation's currency); empty when the partner only sends a
    total. ``index`` is the partner's own number for the room, if any.
    """

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

    ``revision`` identifies this message among the messages of one partner
    reservation (a message id, a version number, a modify timestamp): the
    engine applies a message at most once per (connection, partner
    reservation id, revision). ``revised_at`` is when the partner made the
    change; it orders the messages of one reservation, so an older revision
    arriving after a newer one is recorded and never applied. Without it the
    order of arrival decides. ``ack_token`` is whatever the provider needs
    later to acknowledge this message; empty when the partner expects no
    acknowledgement (a webhook is acknowledged by its HTTP answer).
    ``raw`` is this message's part of what the partner sent, kept for audit.
    ``block``: the partner closed these dates with no guest (an iCalendar
    feed's "not available" range): its rooms are blocked, not sold, and no
    rate is needed. ``staff_note`` is kept on the reservation for staff only
    (what the partner's message lacks, say).
    """

    partner_reservation_id: str
    revision: str
    kind: InboundKind
    currency: str = ""
    total: int = 0
    guest: GuestDetails = field(default_factory=GuestDetails)
    rooms: tuple[InboundRoomStay, ...] = ()
    special_requests: str = ""
    booked_at: datetime | None = None
    revised_at: datetime | None = None
    ack_token: str = ""
    raw: bytes = b""
    block: bool = False
    staff_note: str = ""

    def __post_init__(self) -> None:
        if not self.partner_reservation_id.strip():
            raise ValueError("An inbound reservation needs the partner's reservation id.")
        if not self.revision.strip():
            raise ValueError("An inbound reservation needs a revision or message id.")

    def to_json(self) -> dict:
        """Plain JSON of everything but ``raw`` (the engine keeps the raw body itself)."""
        return {
            "partner_reservation_id": self.partner_reservation_id,
            "revision": self.revision,
            "kind": str(self.kind),
            "currency": self.currency,
            "total": self.total,
            "guest": {
                name: getattr(self.guest, name)
                for name in ("given_name", "surname", "email", "phone", "country")
            },
            "rooms": [
                {
                    "partner_room_id": room.partner_room_id,
                    "partner_rate_id": room.partner_rate_id,
                    "check_in": room.check_in.isoformat(),
                    "check_out": room.check_out.isoformat(),
                    "adults": room.adults,
                    "children": room.children,
                    "nights": [[n.date.isoformat(), n.price] for n in room.nights],
                    "index": room.index,
                }
                for room in self.rooms
            ],
            "special_requests": self.special_requests,
            "booked_at": self.booked_at.isoformat() if self.booked_at else None,
            "revised_at": self.revised_at.isoformat() if self.revised_at else None,
            "ack_token": self.ack_token,
            "block": self.block,
            "staff_note": self.staff_note,
        }

    @classmethod
    def from_json(cls, data: dict, raw: bytes = b"") -> InboundReservation:
        """The value :meth:`to_json` wrote; ``ValueError`` (with what is wrong) otherwise."""
        try:
            guest = data.get("guest") or {}
            return cls(
                partner_reservation_id=_text(data["partner_reservation_id"]),
                revision=_text(data["revision"]),
                kind=InboundKind(data["kind"]),
                currency=_text(data.get("currency", "")),
                total=_count(data.get("total", 0)),
                guest=GuestDetails(**{k: _text(v) for k, v in guest.items()}),
                rooms=tuple(
                    InboundRoomStay(
                        partner_room_id=_text(room["partner_room_id"]),
                        partner_rate_id=_text(room.get("partner_rate_id", "")),
                        check_in=date.fromisoformat(room["check_in"]),
                        check_out=date.fromisoformat(room["check_out"]),
                        adults=_count(room["adults"]),
                        children=_count(room.get("children", 0)),
                        nights=tuple(
                            Night(date.fromisoformat(day), _count(price))
                            for day, price in room.get("nights") or ()
                        ),
                        index=_text(room.get("index", "")),
                    )
                    for room in data.get("rooms") or ()
                ),
                special_requests=_text(data.get("special_requests", "")),
                booked_at=_moment(data.get("booked_at")),
                revised_at=_moment(data.get("revised_at")),
                ack_token=_text(data.get("ack_token", "")),
                raw=raw,
                block=data.get("block", False) is True,
                staff_note=_text(data.get("staff_note", "")),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"Not an inbound reservation: {type(exc).__name__} {exc}") from exc


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected text, got {value!r}")
    return value


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TypeError(f"expected a whole number of at least 0, got {value!r}")
    return value


def _moment(value: object) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(_text(value))
    if moment.tzinfo is None:
        raise TypeError(f"expected an aware timestamp, got {value!r}")
    return moment


@dataclass(frozen=True)
class WebhookRequest:
    """What a partner pushed to ``/hooks/<connection uuid>/``, as a provider sees it.

    ``headers`` have lower-case names; ``received_at`` (aware UTC) is when Pema
    read the request, for replay windows.
    """

    method: str
    path: str
    headers: dict[str, str]
    query: dict[str, str]
    body: bytes
    received_at: datetime
    remote_addr: str = ""

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)


@dataclass(frozen=True)
class WebhookReply:
    """The answer a partner expects to its push, when it is not Pema's JSON (Agoda's XML)."""

    body: bytes
    content_type: str
    status: int = 200


@dataclass(frozen=True)
class UnreadableMessage:
    """A pulled message the provider could not read: kept raw and held for staff."""

    raw: bytes
    reason: str
    partner_reservation_id: str = ""
    ack_token: str = ""


@dataclass(frozen=True)
class FeedSnapshot:
    """Everything a partner's feed holds for one of its rooms, read whole at ``taken_at``.

    A feed (an iCalendar calendar) lists what is booked or blocked, not what
    changed: a reservation or block of ``partner_room_id`` that the
    connection holds, whose stay has not ended, and whose id is not in
    ``partner_reservation_ids`` was removed at the partner. Only a feed read
    and parsed whole makes a snapshot; one that failed says nothing.
    """

    partner_room_id: str
    partner_reservation_ids: frozenset[str]
    taken_at: datetime


@dataclass(frozen=True)
class PullResult:
    """One pull: the messages read (and those that could not be), and whether the
    partner has more waiting. ``snapshots``: the feeds read whole (a feed
    partner), from which the engine learns what was removed."""

    reservations: tuple[InboundReservation, ...] = ()
    unreadable: tuple[UnreadableMessage, ...] = ()
    more: bool = False
    warnings: tuple[str, ...] = ()
    snapshots: tuple[FeedSnapshot, ...] = ()


@dataclass(frozen=True)
class CalendarExport:
    """What a partner that reads Pema's calendar (an iCalendar export) is served for one
    of its rooms: the nights with no room left for it, as spans, on ``today`` onwards."""

    partner_room_id: str
    closed: tuple[DateSpan, ...]
    today: date


@dataclass(frozen=True)
class Acknowledgement:
    """Pulled messages to acknowledge: ``applied`` are done with (applied, or an
    older revision recorded and passed over); ``rejected`` are held, each with
    why, and are actively rejected to the partner (when the connection says so)."""

    applied: tuple[InboundReservation, ...] = ()
    rejected: tuple[tuple[InboundReservation, str], ...] = ()
    #: Partner reservation id -> the local reservation's confirmation number, for
    #: partners whose acknowledgement carries it (Expedia's BC ``confirmNumber``).
    confirmation_numbers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AckOutcome:
    """What a provider's ``acknowledge`` may return when the partner took only part of it.

    ``refused``: ``(partner reservation id, revision, why)`` of each message the
    partner did not take (or the provider could not send); those are marked
    failed, every other one acknowledged. Returning None: all were taken.
    """

    refused: tuple[tuple[str, str, str], ...] = ()


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
    ``max_days_per_request``: a document spans at most this many days;
    ``calendar_month_per_request``: a document's days lie in one calendar
    month (Booking.com). ``horizon_days``: how far ahead ARI goes, today
    included. ``past_days``: how many days before today a partner accepts.
    ``weekday_patterns``: a range may carry weekday flags (without: plain
    ranges). ``pricing_model``: per room (one price a night, no extra-guest
    prices) or per occupancy (extra adult and child prices too).
    ``exports_reservations``: the partner takes Pema's reservations (a PMS);
    one that does not (an OTA, where they come from) gets no reservation jobs.
    ``reservation_hints``: a pull partner that also pushes hints to the hook
    ("these bookings changed", Agoda's BookingHint); the hook fetches the
    named bookings at once (``Provider.fetch_hinted_reservations``), the pull stays
    the backstop.
    """

    nets_reservations: bool = True
    weekday_patterns: bool = True
    max_items_per_request: int = 500
    max_days_per_request: int | None = None
    calendar_month_per_request: bool = False
    horizon_days: int = 500
    past_days: int = 0
    pricing_model: PricingModel = PricingModel.PER_ROOM
    reservations: ReservationFlow = ReservationFlow.NONE
    exports_reservations: bool = False
    answers_availability: bool = False
    pull_interval_seconds: int | None = None
    reservation_hints: bool = False

    def __post_init__(self) -> None:
        if self.max_items_per_request < 1 or self.horizon_days < 1 or self.past_days < 0:
            raise ValueError(
                "Capabilities need at least one item per request, a horizon of at least "
                "one day and no negative past days."
            )
        if self.max_days_per_request is not None and self.max_days_per_request < 1:
            raise ValueError("max_days_per_request is at least 1 (None: no limit).")


# ---------------------------------------------------------------------- PMS rooms and guests


class HousekeepingStatus(StrEnum):
    """A room's housekeeping state as Pema names it (each PMS maps its own onto these)."""

    CLEAN = "clean"
    DIRTY = "dirty"
    INSPECTED = "inspected"
    OUT_OF_SERVICE = "out_of_service"
    OUT_OF_ORDER = "out_of_order"


class Occupancy(StrEnum):
    """Whether a guest is in the room now."""

    VACANT = "vacant"
    OCCUPIED = "occupied"


class SyncEntity(StrEnum):
    """What a PMS sync reads: reservations, rooms or guest profiles."""

    BOOKINGS = "bookings"
    ROOMS = "rooms"
    GUESTS = "guests"


@dataclass(frozen=True)
class PmsRoom:
    """One room as the PMS reports it.

    ``number`` matches it to Pema's room; ``pms_id`` is the PMS's own id.
    ``out_of_order_from``/``_to`` (inclusive) are the nights it cannot be sold
    when ``housekeeping`` is out of order (None: from today, for a night).
    """

    pms_id: str
    number: str
    housekeeping: HousekeepingStatus = HousekeepingStatus.CLEAN
    occupancy: Occupancy = Occupancy.VACANT
    partner_room_type: str = ""
    out_of_order_from: date | None = None
    out_of_order_to: date | None = None
    reason: str = ""

    @property
    def out_of_order(self) -> bool:
        return self.housekeeping == HousekeepingStatus.OUT_OF_ORDER


@dataclass(frozen=True)
class PmsGuest:
    """A guest profile as the PMS keeps it (``total_stays`` None: the PMS does not say)."""

    pms_id: str
    given_name: str = ""
    surname: str = ""
    email: str = ""
    phone: str = ""
    country: str = ""
    loyalty_tier: str = ""
    total_stays: int | None = None


@dataclass(frozen=True)
class FetchWindow:
    """What a sync asks the PMS for: changes since ``since`` (None: everything), at most
    ``limit`` items (None: no limit)."""

    since: datetime | None = None
    limit: int | None = None


@dataclass(frozen=True)
class ChangeNotice:
    """One change a PMS reports without its content: an OPERA business event.

    Read from a queue the PMS empties as it answers (a destructive read), so it
    is stored before anything else is done with it (``channels.inbound.record_notices``);
    the reservation it names is read afterwards. ``partner_reservation_id`` is
    empty for a change that is not a reservation's (a profile's, a room's):
    those are kept for the record, and the guests and rooms syncs read them.
    """

    event_id: str
    partner_reservation_id: str
    kind: InboundKind
    raw: bytes
    module: str = ""
    action: str = ""
    revised_at: datetime | None = None


@dataclass(frozen=True)
class ChangeBatch:
    """One read of a PMS's change queue; ``more``: the PMS may hold more waiting."""

    notices: tuple[ChangeNotice, ...] = ()
    more: bool = False
