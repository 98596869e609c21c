"""The Airbnb simulator: a host's listings as Airbnb's calendar sync shows them.

Served under ``/airbnb/`` by the sandbox harness. Airbnb's partner API is not
public, so this is the iCalendar side only, and every behaviour below is the
simulator's own reading of RFC 5545 and of how hosts describe Airbnb's sync,
not an Airbnb specification:

- **Feeds.** ``GET /airbnb/calendar/<listing>.ics`` is the listing's export:
  one all-day ``VEVENT`` per booking ("Reserved", with a reservation URL and
  the last four digits of a phone in the description) or block ("Airbnb (Not
  available)"), each with its ``UID``, ``SEQUENCE`` and ``LAST-MODIFIED``;
  ``DTSTAMP`` is the time the feed is made, as real feeds do. Written with the
  ``icalendar`` package, independently of Pema's codec.
- **Control** (``POST /_control/airbnb/<command>``): ``book`` (listing,
  check_in, nights or check_out; refused on nights Pema's calendar shows
  closed, as Airbnb's import would, unless ``force``), ``block``, ``change``
  (new dates: ``SEQUENCE`` up), ``remove``; ``import_url`` (the listing's
  Pema export URL) and ``fetch_export`` (read it now, as Airbnb's import does:
  ``If-None-Match`` with the last ``ETag``, the closed nights kept);
  ``feed_mode`` (``normal``, ``malformed``: a cut-off calendar, ``huge``: a
  valid calendar padded past ``bytes``). Slow and dripping feeds are the
  harness's ``slow_ms`` and ``drip_ms`` faults; an outage is ``down``.
- **State** (``GET /_control/airbnb/state``): the events of each listing and
  what each listing last read from Pema.
"""

from __future__ import annotations

import urllib.error
import urllib.request
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import icalendar

from sandbox.simulator import CommandError, Request, Response, Simulator

EVENT = "event"
MODE = "mode"
EXPORT = "export"
FEED_TYPE = "text/calendar; charset=utf-8"
BROKEN = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:cut-off@airbnb.com\r\nDTSTART;VALU"


def _date(payload: dict, name: str) -> date:
    try:
        return date.fromisoformat(str(payload[name]))
    except (KeyError, ValueError) as exc:
        raise CommandError(f"{name} must be a date (YYYY-MM-DD)") from exc


def _stay(payload: dict, first: str = "check_in", last: str = "check_out") -> tuple[date, date]:
    start = _date(payload, first)
    if "nights" in payload:
        end = start + timedelta(days=int(payload["nights"]))
    else:
        end = _date(payload, last)
    if end <= start:
        raise CommandError("a stay ends after it starts")
    return start, end


def _now() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


class AirbnbSimulator(Simulator):
    """Airbnb listings' iCalendar feeds, and Airbnb's reading of Pema's export."""

    title = "Airbnb (iCalendar) simulator"

    # ------------------------------------------------------------------ feeds
    def handle(self, request: Request) -> Response:
        path = request.path.strip("/")
        if request.method != "GET" or not (path.startswith("calendar/") and path.endswith(".ics")):
            return Response(status=404, body=b"Not found\n", content_type="text/plain")
        listing = path[len("calendar/") : -len(".ics")]
        mode = self.store.get(MODE, listing) or {}
        if mode.get("mode") == "malformed":
            return Response(body=BROKEN, content_type=FEED_TYPE)
        body = self.feed(listing)
        if mode.get("mode") == "huge":
            padding = int(mode.get("bytes") or 8 * 1024 * 1024)
            filler = b"X-PADDING:" + b"x" * 60 + b"\r\n"
            body = body.replace(
                b"END:VCALENDAR", filler * (padding // len(filler) + 1) + b"END:VCALENDAR"
            )
        return Response(body=body, content_type=FEED_TYPE)

    def malformed_response(self) -> Response:
        return Response(body=BROKEN, content_type=FEED_TYPE)

    def feed(self, listing: str) -> bytes:
        calendar = icalendar.Calendar()
        calendar.add("PRODID", "-//Pema sandbox//Airbnb calendar simulator//EN")
        calendar.add("VERSION", "2.0")
        calendar.add("CALSCALE", "GREGORIAN")
        stamp = datetime.now(UTC).replace(microsecond=0)
        for _key, entry in self.store.items(EVENT):
            if entry["listing"] != listing:
                continue
            event = icalendar.Event()
            event.add("UID", entry["uid"])
            event.add("DTSTAMP", stamp)
            event.add("DTSTART", date.fromisoformat(entry["start"]))
            event.add("DTEND", date.fromisoformat(entry["end"]))
            event.add("SEQUENCE", entry["sequence"])
            event.add(
                "LAST-MODIFIED",
                datetime.strptime(entry["last_modified"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC),
            )
            if entry["kind"] == "booking":
                event.add("SUMMARY", "Reserved")
                event.add(
                    "DESCRIPTION",
                    "Reservation URL: https://www.airbnb.com/hosting/reservations/details/"
                    f"{entry['code']}\nPhone Number (Last 4 Digits): {entry['phone_last4']}",
                )
            else:
                event.add("SUMMARY", "Airbnb (Not available)")
            calendar.add_component(event)
        return calendar.to_ical()

    # ------------------------------------------------------------------ control
    def command(self, name: str, payload: dict[str, Any]) -> Any:
        handlers = {
            "book": self._book,
            "block": self._block,
            "change": self._change,
            "remove": self._remove,
            "import_url": self._import_url,
            "fetch_export": self._fetch_export,
            "feed_mode": self._feed_mode,
        }
        if name not in handlers:
            raise CommandError(f"unknown command {name!r}; known: {', '.join(handlers)}")
        return handlers[name](payload)

    def _listing(self, payload: dict) -> str:
        listing = str(payload.get("listing") or "").strip()
        if not listing:
            raise CommandError("listing is required")
        return listing

    def _closed_nights(self, listing: str) -> set[str]:
        return set((self.store.get(EXPORT, listing) or {}).get("closed") or [])

    def _put(self, listing: str, kind: str, start: date, end: date, **extra: Any) -> dict:
        uid = f"{uuid.uuid4().hex[:12]}-{uuid.uuid4().hex}@airbnb.com"
        entry = {
            "uid": uid,
            "listing": listing,
            "kind": kind,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "sequence": 0,
            "last_modified": _now(),
            **extra,
        }
        self.store.put(EVENT, uid, entry)
        return entry

    def _book(self, payload: dict) -> dict:
        listing = self._listing(payload)
        start, end = _stay(payload)
        with self.store.transaction():
            nights = {(start + timedelta(days=n)).isoformat() for n in range((end - start).days)}
            taken = {
                night
                for _, e in self.store.items(EVENT)
                if e["listing"] == listing
                for night in _nights(e)
            }
            clash = sorted(nights & (self._closed_nights(listing) | taken))
            if clash and not payload.get("force"):
                raise CommandError(f"not available on Airbnb: {', '.join(clash)}")
            code = "HM" + uuid.uuid4().hex[:8].upper()
            return self._put(
                listing,
                "booking",
                start,
                end,
                code=code,
                phone_last4=str(payload.get("phone_last4", "1234")),
            )

    def _block(self, payload: dict) -> dict:
        listing = self._listing(payload)
        start, end = _stay(payload, "start", "end")
        return self._put(listing, "block", start, end)

    def _entry(self, payload: dict) -> dict:
        entry = self.store.get(EVENT, str(payload.get("uid") or ""))
        if entry is None:
            raise CommandError(f"no event {payload.get('uid')!r}")
        return entry

    def _change(self, payload: dict) -> dict:
        with self.store.transaction():
            entry = self._entry(payload)
            merged = {"check_in": entry["start"], "check_out": entry["end"], **payload}
            start, end = _stay(merged)
            entry.update(
                start=start.isoformat(),
                end=end.isoformat(),
                sequence=entry["sequence"] + 1,
                last_modified=_now(),
            )
            self.store.put(EVENT, entry["uid"], entry)
        return entry

    def _remove(self, payload: dict) -> dict:
        entry = self._entry(payload)
        self.store.delete(EVENT, entry["uid"])
        return {"removed": entry["uid"]}

    def _import_url(self, payload: dict) -> dict:
        listing = self._listing(payload)
        url = str(payload.get("url") or "")
        if not url.startswith(("http://", "https://")):
            raise CommandError("url must be an http(s) URL")
        record = {"url": url, "etag": "", "closed": [], "fetched_at": None, "status": None}
        self.store.put(EXPORT, listing, record)
        return record

    def _fetch_export(self, payload: dict) -> dict:
        """Read Pema's calendar of the listing as Airbnb's import does."""
        listing = self._listing(payload)
        record = self.store.get(EXPORT, listing)
        if record is None:
            raise CommandError(f"listing {listing} imports no calendar (import_url first)")
        headers = {"Accept": "text/calendar", "User-Agent": "Airbnb calendar import (sandbox)"}
        if record.get("etag"):
            headers["If-None-Match"] = record["etag"]
        request = urllib.request.Request(record["url"], headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - a sandbox URL
                status, body, etag = (
                    answer.status,
                    answer.read(4 * 1024 * 1024),
                    answer.headers.get("ETag", ""),
                )
        except urllib.error.HTTPError as exc:
            status, body, etag = exc.code, b"", exc.headers.get("ETag", "") if exc.headers else ""
        except (urllib.error.URLError, OSError) as exc:
            record.update(status=0, error=str(exc))
            self.store.put(EXPORT, listing, record)
            return record
        record["status"] = status
        record["fetched_at"] = _now()
        record["fetches"] = record.get("fetches", 0) + 1
        if status == 200:
            record["closed"] = sorted(closed_nights(body))
            record["etag"] = etag
            record.pop("error", None)
        elif status != 304:
            record["error"] = f"HTTP {status}"
        self.store.put(EXPORT, listing, record)
        return record

    def _feed_mode(self, payload: dict) -> dict:
        listing = self._listing(payload)
        mode = str(payload.get("mode") or "normal")
        if mode not in ("normal", "malformed", "huge"):
            raise CommandError("mode is normal, malformed or huge")
        value = {"mode": mode, "bytes": int(payload.get("bytes") or 0)}
        self.store.put(MODE, listing, value)
        return value

    def snapshot(self) -> dict[str, Any]:
        events: dict[str, list] = {}
        for _, entry in self.store.items(EVENT):
            events.setdefault(entry["listing"], []).append(entry)
        return {
            "events": events,
            "exports": dict(self.store.items(EXPORT)),
            "modes": dict(self.store.items(MODE)),
        }


def _nights(entry: dict) -> list[str]:
    start, end = date.fromisoformat(entry["start"]), date.fromisoformat(entry["end"])
    return [(start + timedelta(days=n)).isoformat() for n in range((end - start).days)]


def closed_nights(body: bytes) -> set[str]:
    """The nights an imported calendar closes: every night of every event (an all-day end
    is exclusive; a timed one closes the nights it touches)."""
    calendar = icalendar.Calendar.from_ical(body)
    nights: set[str] = set()
    for event in calendar.walk("VEVENT"):
        if str(event.get("STATUS", "")).upper() == "CANCELLED":
            continue
        start = event.decoded("DTSTART", None)
        if not isinstance(start, date):
            continue  # unreadable: Airbnb's import skips what it cannot read
        start_day = start.date() if isinstance(start, datetime) else start
        end = event.decoded("DTEND", None)
        duration = event.decoded("DURATION", None)
        if isinstance(end, date):
            end_day = end.date() if isinstance(end, datetime) else end
        elif isinstance(duration, timedelta):
            end_day = start_day + timedelta(days=max(duration.days, 1))
        else:
            end_day = start_day + timedelta(days=1)
        for n in range(max((end_day - start_day).days, 1)):
            nights.add((start_day + timedelta(days=n)).isoformat())
    return nights
