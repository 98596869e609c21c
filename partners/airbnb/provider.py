"""The Airbnb provider: iCalendar feeds both ways, one listing per room type (or room).

Airbnb's partner API is not public, so this provider is the iCalendar
transport of the Airbnb connection; a partner-API transport can take its
place later behind the same engine calls (``pull_reservations``, the
typed messages of ``channels/interface.py``), because nothing in the engine
knows it is reading a feed except the snapshots a feed returns.

- **Import** (:meth:`pull_reservations`). Each listing in the settings with a
  ``calendar_url`` is fetched through :meth:`Provider.exchange` (a ``GET``,
  logged as ``feed:<listing>``, capped at ``max_feed_bytes``) and parsed by
  :mod:`partners.airbnb.ical`: a booking becomes an inbound reservation of the
  listing's room type (no guest details, no price: flagged for staff), a
  blocked range a block. A feed read whole also gives a ``FeedSnapshot``, so
  the engine cancels what is gone. A feed that cannot be read (malformed, over
  the cap) is kept as an unreadable message with the reason, and says nothing
  about removals; a feed that cannot be reached is a warning, and the others
  are read all the same.
- **Export** (:meth:`render_calendar`). The engine's closed nights of a
  listing as an ``.ics``; the URL's token is an HMAC of the connection and
  listing under the connection's ``export_secret`` credential.

Settings: ``listings`` (listing id -> ``{"calendar_url": ..., "room": ...}``,
``room`` the number of the one room the listing is, when staff map a single
room), ``pull_interval_seconds`` (default ``AIRBNB_POLL_SECONDS``, 600),
``export_days`` (365), ``max_feed_bytes`` and ``adults`` (guests a booking is
made for, 1: a feed does not say).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import ClassVar

from django.conf import settings as django_settings
from django.utils import timezone

from channels.interface import (
    CalendarExport,
    Capabilities,
    FeedSnapshot,
    PullResult,
    ReservationFlow,
    UnreadableMessage,
)
from channels.providers.base import Provider, SyncError, UnreadableResponse

from . import ical

LISTING_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
URL = re.compile(r"^https?://\S+$")
DEFAULT_EXPORT_DAYS = 365
#: Of an unreadable feed, this much is kept for staff to read.
KEPT_BYTES = 64 * 1024
LIMITS = (
    "Airbnb over iCalendar: bookings arrive without the guest's name, contact details or "
    "price (staff look them up on Airbnb; Pema prices them at its own rates), and each side "
    "sees the other's changes only when it next polls: up to the poll interval here, and "
    "Airbnb's own interval (a few hours at most) for Pema's calendar."
)


class AirbnbProvider(Provider):
    """Airbnb (iCalendar): closed nights exported, bookings and blocks imported."""

    key = "airbnb"
    label = "Airbnb (OTA, iCalendar feeds)"
    credential_fields: ClassVar[dict[str, str]] = {
        "export_secret": "Secret the export URLs' tokens derive from (any long random text)",
    }
    optional_settings: ClassVar[dict[str, str]] = {
        "listings": 'Listing id -> {"calendar_url": Airbnb\'s export URL, "room": one room number}',
        "pull_interval_seconds": "Seconds between feed reads (default AIRBNB_POLL_SECONDS, 600)",
        "export_days": f"Days ahead the export covers (default {DEFAULT_EXPORT_DAYS})",
        "max_feed_bytes": f"Largest feed read (default {ical.MAX_FEED_BYTES} bytes)",
        "adults": "Guests a booking from a feed is made for (default 1; a feed does not say)",
    }
    content_type = "text/calendar"
    limit_nets_reservations = True
    limits = LIMITS

    # ------------------------------------------------------------------ settings
    @classmethod
    def validate_settings(cls, values: dict) -> list[str]:
        if not isinstance(values, dict):
            return ["The settings must be a JSON object."]
        errors = [
            f"Unknown setting {name!r}." for name in values if name not in cls.optional_settings
        ]
        listings = values.get("listings", {})
        if not isinstance(listings, dict):
            errors.append("listings must be a JSON object: listing id -> its calendar.")
            listings = {}
        for listing, entry in listings.items():
            if not LISTING_ID.match(str(listing)):
                errors.append(
                    f"Listing id {listing!r}: letters, digits, - and _ only (64 at most)."
                )
            if not isinstance(entry, dict) or set(entry) - {"calendar_url", "room"}:
                errors.append(f"Listing {listing}: give calendar_url and, for one room, room.")
                continue
            url = entry.get("calendar_url", "")
            if url and not (isinstance(url, str) and URL.match(url)):
                errors.append(f"Listing {listing}: calendar_url must be an http(s) URL.")
            if not isinstance(entry.get("room", ""), str):
                errors.append(f"Listing {listing}: room is a room number (text).")
        bounds = (
            ("pull_interval_seconds", 1, 86400),
            ("export_days", 1, 730),
            ("max_feed_bytes", 1024, 64 * 1024 * 1024),
            ("adults", 1, 20),
        )
        for name, low, high in bounds:
            if name in values:
                value = values[name]
                if (
                    isinstance(value, bool)
                    or not isinstance(value, int)
                    or not low <= value <= high
                ):
                    errors.append(f"{name} must be a whole number from {low} to {high}.")
        return errors

    @property
    def _settings(self) -> dict:
        return self.connection.settings or {}

    @property
    def listings(self) -> dict[str, dict]:
        return dict(self._settings.get("listings") or {})

    def _number(self, name: str, default: int) -> int:
        return int(self._settings.get(name) or default)

    def capabilities(self) -> Capabilities:
        return Capabilities(
            nets_reservations=True,
            weekday_patterns=False,
            horizon_days=self._number("export_days", DEFAULT_EXPORT_DAYS),
            reservations=ReservationFlow.PULL,
            pull_interval_seconds=self._number(
                "pull_interval_seconds", django_settings.AIRBNB_POLL_SECONDS
            ),
        )

    def headers(self) -> dict[str, str]:
        return {"Accept": "text/calendar, */*;q=0.5"}

    # ------------------------------------------------------------------ import
    def _fetch(self, listing: str, url: str) -> tuple[ical.Feed, bytes]:
        """The listing's feed, parsed; ``UnreadableResponse`` (with the body) when it is bad."""
        seen: dict[str, bytes] = {}
        cap = self._number("max_feed_bytes", ical.MAX_FEED_BYTES)

        def parse(body: bytes) -> ical.Feed:
            seen["body"] = body
            return ical.parse_feed(body, max_bytes=cap)

        try:
            feed = self.exchange(
                f"feed:{listing}"[:48], b"", parse, method="GET", url=url, max_bytes=cap
            )
        except UnreadableResponse as exc:
            exc.body = seen.get("body", b"")
            raise
        return feed, seen.get("body", b"")

    def pull_reservations(self) -> PullResult:
        """Every listing's feed: its bookings and blocks, and a snapshot of each read whole."""
        found, unreadable, snapshots, warnings = [], [], [], []
        failures: list[SyncError] = []
        adults = self._number("adults", 1)
        for listing, entry in sorted(self.listings.items()):
            url = (entry or {}).get("calendar_url")
            if not url:
                continue
            fetched_at = timezone.now()
            try:
                feed, _body = self._fetch(listing, url)
            except UnreadableResponse as exc:
                body = getattr(exc, "body", b"")
                unreadable.append(
                    UnreadableMessage(
                        raw=body[:KEPT_BYTES],
                        reason=f"The Airbnb calendar of listing {listing} could not be read "
                        f"({len(body)} bytes): {exc.message}",
                        partner_reservation_id=f"feed:{listing}"[:64],
                    )
                )
                continue
            except SyncError as exc:
                failures.append(exc)
                warnings.append(f"Listing {listing}: {exc.message}")
                continue
            found += [
                ical.to_inbound(event, listing=listing, fetched_at=fetched_at, adults=adults)
                for event in feed.events
            ]
            unreadable += [
                UnreadableMessage(
                    raw=bad.raw,
                    reason=f"Listing {listing}: {bad.reason}",
                    partner_reservation_id=ical.partner_id(bad.uid) if bad.uid else "",
                )
                for bad in feed.bad
            ]
            if all(bad.uid for bad in feed.bad):
                # An entry without a UID could be any of them: no removals from this read.
                present = {ical.partner_id(e.uid) for e in feed.events}
                present |= {ical.partner_id(b.uid) for b in feed.bad}
                snapshots.append(FeedSnapshot(listing, frozenset(present), fetched_at))
        if failures and len(failures) == len(
            [e for e in self.listings.values() if e.get("calendar_url")]
        ):
            raise failures[0]
        return PullResult(
            reservations=tuple(found),
            unreadable=tuple(unreadable),
            warnings=tuple(warnings),
            snapshots=tuple(snapshots),
        )

    def test_connection(self) -> str:
        """Read every listing's feed once (nothing is applied)."""
        read = []
        for listing, entry in sorted(self.listings.items()):
            if entry.get("calendar_url"):
                feed, body = self._fetch(listing, entry["calendar_url"])
                read.append(f"{listing}: {len(feed.events)} entries ({len(body)} bytes)")
        if not read:
            return "No listing has an Airbnb calendar URL yet; the export works without one."
        return "Airbnb calendars read: " + "; ".join(read) + "."

    # ------------------------------------------------------------------ export
    def export_token(self, partner_room_id: str) -> str:
        secret = (self.connection.credentials or {}).get("export_secret", "")
        if not secret:
            return ""
        message = f"{self.connection.uuid}:{partner_room_id}".encode()
        return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:40]

    def export_path(self, partner_room_id: str) -> str:
        """Where Airbnb reads Pema's calendar of the listing (given to Airbnb's import)."""
        token = self.export_token(partner_room_id)
        return f"/ical/{self.connection.uuid}/{partner_room_id}.ics?t={token}"

    def export_room(self, partner_room_id: str) -> str:
        return str((self.listings.get(partner_room_id) or {}).get("room", "")).strip()

    def render_calendar(self, export: CalendarExport) -> tuple[bytes, str]:
        name = f"{self.connection.hotel.name} - {export.partner_room_id}"
        return ical.render_export(export, calendar_name=name), ical.CONTENT_TYPE

    def staff_notes(self) -> str:
        """The limits and the export URLs, for the connection's admin page."""
        paths = [f"{listing}: {self.export_path(listing)}" for listing in sorted(self.listings)]
        return "\n".join(
            [self.limits, *(["Export URLs (give them to Airbnb):", *paths] if paths else [])]
        )
