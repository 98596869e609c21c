"""Airbnb's calendars in iCalendar (RFC 5545), read and written with the ``icalendar`` package.

Airbnb publishes no partner API (see the partner notes, section 4), so the
connection is the one small properties use: each listing has an export URL
Airbnb serves and an import URL it polls. What a feed can say is little, and
that is the whole of what this module reads:

- **Events.** One ``VEVENT`` per booked or blocked range, all-day
  (``DTSTART;VALUE=DATE`` .. ``DTEND``, the end exclusive, like a check-out).
  A date-time start is taken as its date; no ``DTEND`` means one night
  (RFC 5545 3.6.1); ``DURATION`` is read too. ``STATUS:CANCELLED`` is an event
  that is gone.
- **Booking or block.** A summary that reads like a reservation ("Reserved",
  "Booked", "Reservation ...") or a description carrying a reservation URL is a
  booking; anything else ("Airbnb (Not available)", "Blocked") is a block.
  Feeds carry no guest name, contact or price: only, at best, a reservation
  code and the last four digits of a phone in the description.
- **Revisions.** ``UID`` identifies an entry; its revision is its
  ``SEQUENCE`` and ``LAST-MODIFIED`` when given, plus a digest of its dates and
  text, so an entry changed without a new ``SEQUENCE`` is still seen as
  changed. ``DTSTAMP`` is not part of it: feeds stamp every event with the
  time the feed was made.
- **Bad input.** A body that is not a ``VCALENDAR`` or is over the size cap
  raises :class:`FeedError` with a readable reason; an event without a
  ``UID`` or readable dates is returned among the bad events, not dropped
  silently.

Pema's export (:func:`render_export`) is one all-day ``VEVENT`` per span of
nights with no room left, summary "Not available", its ``UID`` derived from
the span so the same calendar is the same bytes (and the same ``ETag``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import icalendar

from channels.interface import (
    CalendarExport,
    GuestDetails,
    InboundKind,
    InboundReservation,
    InboundRoomStay,
)

CONTENT_TYPE = "text/calendar; charset=utf-8"
PRODID = "-//Pema//Channel manager calendar export//EN"
#: What a feed may weigh before it is refused unread (a setting can change it).
MAX_FEED_BYTES = 2 * 1024 * 1024
#: The rate id an Airbnb listing's room x rate product is mapped under: a feed has no rates.
RATE_ID = "stay"
RESERVATION_SUMMARY = re.compile(r"\b(reserved|reservation|booked|booking)\b", re.IGNORECASE)
RESERVATION_URL = re.compile(r"reservations?/details/([A-Z0-9]+)|reservation url", re.IGNORECASE)
RESERVATION_CODE = re.compile(r"/details/([A-Za-z0-9]+)")
PHONE_LAST_DIGITS = re.compile(r"Phone Number \(Last 4 Digits\):\s*(\d{4})", re.IGNORECASE)
#: An entry longer than this is not a stay (a feed's "blocked for ever" is cut to it).
MAX_NIGHTS = 730


class FeedError(ValueError):
    """The feed as a whole cannot be read (not a calendar, too large)."""


@dataclass(frozen=True)
class FeedEvent:
    """One readable ``VEVENT`` of a feed."""

    uid: str
    start: date
    end: date
    summary: str
    description: str
    sequence: int | None
    last_modified: datetime | None
    raw: bytes

    @property
    def reservation(self) -> bool:
        """Whether the entry is a booking (else a block)."""
        return bool(
            RESERVATION_SUMMARY.search(self.summary) or RESERVATION_URL.search(self.description)
        )

    @property
    def revision(self) -> str:
        digest = hashlib.sha256(
            "\n".join(
                (self.start.isoformat(), self.end.isoformat(), self.summary, self.description)
            ).encode()
        ).hexdigest()[:16]
        parts = []
        if self.sequence is not None:
            parts.append(f"seq{self.sequence}")
        if self.last_modified is not None:
            parts.append(self.last_modified.strftime("%Y%m%dT%H%M%SZ"))
        return ":".join([*parts, digest])


@dataclass(frozen=True)
class BadEvent:
    """A ``VEVENT`` that could not be read, with why (and its ``UID`` when it has one)."""

    raw: bytes
    reason: str
    uid: str = ""


@dataclass(frozen=True)
class Feed:
    """A feed read whole: its readable events and the ones that are not."""

    events: tuple[FeedEvent, ...]
    bad: tuple[BadEvent, ...]


def partner_id(uid: str) -> str:
    """The partner reservation id of a ``UID``: itself, or a digest when it is too long to keep."""
    return uid if len(uid) <= 64 else "uid-sha256:" + hashlib.sha256(uid.encode()).hexdigest()[:40]


def _day(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return None


def _event(component: icalendar.Event) -> FeedEvent | BadEvent:
    raw = component.to_ical()
    uid = str(component.get("UID", "")).strip()
    if not uid:
        return BadEvent(raw, "An event has no UID.")
    start = _day(component.decoded("DTSTART", None))
    if start is None:
        return BadEvent(raw, f"Event {uid}: DTSTART is missing or not a date.", uid)
    end = _day(component.decoded("DTEND", None))
    if end is None and "DURATION" in component:
        duration = component.decoded("DURATION", None)
        if isinstance(duration, timedelta):
            end = start + timedelta(days=max(duration.days, 1))
    if end is None and "DTEND" in component:
        return BadEvent(raw, f"Event {uid}: DTEND is not a date.", uid)
    end = end or start + timedelta(days=1)
    if end <= start:
        return BadEvent(raw, f"Event {uid}: it ends ({end}) before it starts ({start}).", uid)
    end = min(end, start + timedelta(days=MAX_NIGHTS))
    sequence = component.get("SEQUENCE")
    try:
        sequence = int(sequence) if sequence is not None else None
    except (TypeError, ValueError):
        sequence = None
    modified = component.decoded("LAST-MODIFIED", None)
    if isinstance(modified, datetime):
        modified = (modified if modified.tzinfo else modified.replace(tzinfo=UTC)).astimezone(UTC)
    else:
        modified = None
    return FeedEvent(
        uid=uid,
        start=start,
        end=end,
        summary=str(component.get("SUMMARY", "")).strip(),
        description=str(component.get("DESCRIPTION", "")).strip(),
        sequence=sequence,
        last_modified=modified,
        raw=raw,
    )


def parse_feed(body: bytes, *, max_bytes: int = MAX_FEED_BYTES) -> Feed:
    """A feed's events; :class:`FeedError` when the body is not a calendar or is too large."""
    if len(body) > max_bytes:
        raise FeedError(
            f"The calendar is larger than {max_bytes // 1024} KB: refused unread. Check the "
            "calendar URL, or raise max_feed_bytes if the listing really has that much."
        )
    if not body.lstrip().upper().startswith(b"BEGIN:VCALENDAR"):
        raise FeedError("Not an iCalendar file: it does not begin with BEGIN:VCALENDAR.")
    try:
        calendar = icalendar.Calendar.from_ical(body)
    except ValueError as exc:
        raise FeedError(f"Not a readable iCalendar file: {exc}") from exc
    if isinstance(calendar, list) or calendar.name != "VCALENDAR":
        raise FeedError("Not one iCalendar VCALENDAR.")
    events, bad = [], []
    for component in calendar.walk("VEVENT"):
        if str(component.get("STATUS", "")).upper() == "CANCELLED":
            continue  # an entry gone: its absence is what the engine reads
        read = _event(component)
        (bad if isinstance(read, BadEvent) else events).append(read)
    return Feed(events=tuple(events), bad=tuple(bad))


def staff_note(event: FeedEvent) -> str:
    """What staff are told of a booking from a feed: where its guest details are."""
    found = RESERVATION_CODE.search(event.description)
    phone = PHONE_LAST_DIGITS.search(event.description)
    extra = [f"Airbnb reservation {found.group(1)}"] if found else []
    extra += [f"guest phone ends {phone.group(1)}"] if phone else []
    return (
        "Guest details from Airbnb: the calendar feed carries no guest name, contact or "
        "price; look the guest up on Airbnb"
        + (f" ({'; '.join(extra)})" if extra else "")
        + ". Priced at the hotel's own rates."
    )


def to_inbound(
    event: FeedEvent, *, listing: str, fetched_at: datetime, adults: int = 1
) -> InboundReservation:
    """A feed entry as the engine's inbound message: a booking or a block of ``listing``."""
    booking = event.reservation
    code = RESERVATION_CODE.search(event.description)
    # The front desk finds the guest by the Airbnb code: it is all the feed names them by.
    surname = "Airbnb guest" + (f" {code.group(1)}" if code else "")
    return InboundReservation(
        partner_reservation_id=partner_id(event.uid),
        revision=event.revision,
        kind=InboundKind.NEW,
        guest=GuestDetails(surname=surname) if booking else GuestDetails(),
        rooms=(
            InboundRoomStay(
                partner_room_id=listing,
                partner_rate_id=RATE_ID if booking else "",
                check_in=event.start,
                check_out=event.end,
                adults=adults if booking else 0,
            ),
        ),
        special_requests="" if booking else event.summary[:200],
        revised_at=event.last_modified or fetched_at,
        raw=event.raw,
        block=not booking,
        staff_note=staff_note(event) if booking else "",
    )


def render_export(export: CalendarExport, *, calendar_name: str = "") -> bytes:
    """Pema's calendar of one listing: one all-day event per span of closed nights.

    The same spans on the same day give the same bytes (``DTSTAMP`` is the
    day's start), so the body's digest serves as its ``ETag``.
    """
    calendar = icalendar.Calendar()
    calendar.add("PRODID", PRODID)
    calendar.add("VERSION", "2.0")
    calendar.add("CALSCALE", "GREGORIAN")
    calendar.add("METHOD", "PUBLISH")
    if calendar_name:
        calendar.add("X-WR-CALNAME", calendar_name)
    stamp = datetime.combine(export.today, time(0), tzinfo=UTC)
    for span in export.closed:
        end = span.end + timedelta(days=1)
        event = icalendar.Event()
        event.add("UID", f"{span.start:%Y%m%d}-{end:%Y%m%d}-{export.partner_room_id}@pema")
        event.add("DTSTAMP", stamp)
        event.add("DTSTART", span.start)
        event.add("DTEND", end)
        event.add("SUMMARY", "Not available")
        event.add("TRANSP", "OPAQUE")
        calendar.add_component(event)
    return calendar.to_ical()
