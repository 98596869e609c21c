"""The Hotelbeds APItude simulator, on the sandbox harness (what §5.6 of the notes lists).

Served under ``/<partner>/`` by ``manage.py runsandbox``; registered twice by
default (``hotelbeds`` and ``hotelbeds2``), each instance its own account,
catalogue and state, so two suppliers can be tried side by side. Base URL
``http://<sandbox>/hotelbeds``; ``.../hotelbeds/secure`` stands for the secure
host that card bookings must use.

What it checks, in this order:

1. ``Api-key`` and ``X-Signature``: the signature must be SHA-256 hex of key +
   secret + a Unix time in **seconds** within ±5 minutes of the simulator's
   clock; a signature over milliseconds matches no second and is refused. 403
   ``Not Authorized`` (401 in ``legacy_401`` mode), with ``X-Mashery-Error-Code``.
2. Per key: at most ``qps`` calls a second (403 ``Developer Over QPS``) and
   ``daily_quota`` a UTC day (403 ``Developer Over Rate``; 0 = no quota). The
   content API is throttled harder (``content_qps``), to expose real-time use.
3. ``Accept`` must be JSON (406; XML is a real option the simulator does not
   speak), a body's ``Content-Type`` JSON (415).
4. Availability: checkIn before checkOut, not in the past; occupancies with
   rooms ≥ 1, adults ≥ 1, children equal to the ages given; hotel codes known
   (or a known destination).
5. rateKeys it issued, BOOKABLE or RECHECK (signed, so they need no storage,
   and valid for an hour); a RECHECK key that was not check-rated first cannot
   be booked.
6. Booking: holder name and surname present, at most 50 characters; paxes per
   room matching the rate's adults and children; rates paid at the hotel need
   ``paymentData`` (402) on the secure host; a price moved (``price_drift_percent``)
   beyond ``tolerance`` is refused. A request that failed (4xx) and is repeated
   within 15 minutes is answered 410.
7. Cancellation: ``cancellationFlag=SIMULATION`` quotes the fee and changes
   nothing; ``CANCELLATION`` cancels, and again answers the cancelled booking.

The catalogue is a few hundred made-up hotels over six destinations, each with
images served by the simulator itself (``/photos/<path>``, small SVGs). Booking
API calls wait ``latency_ms`` (300 by default) before answering, so the worth of
Pema's cache can be measured. Bookings live in the harness store; counters
(QPS, quota) live in memory. Control commands (``POST /_control/<partner>/``):
``configure`` (any of the settings above, and ``api_key``/``secret``),
``touch`` (mark hotels updated on a date, for content deltas).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import re
import threading
import time
import zlib
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings

from sandbox.simulator import CommandError, Request, Response, Simulator

JSON = "application/json; charset=utf-8"
HOTEL_API = "/hotel-api/1.0"
CONTENT_API = "/hotel-content-api/1.0"
CLOCK_WINDOW = 300
RATE_KEY_LIFETIME = 3600
REPEAT_WINDOW = 15 * 60
NAME_LIMIT = 50
DESTINATIONS = {
    "PMI": ("Majorca", "ES"),
    "BCN": ("Barcelona", "ES"),
    "GOI": ("Goa", "IN"),
    "DEL": ("New Delhi", "IN"),
    "BOM": ("Mumbai", "IN"),
    "KTM": ("Kathmandu", "NP"),
}
CURRENCY = {"ES": "EUR", "IN": "INR", "NP": "USD"}
ROOMS = (("DBL.ST", "DOUBLE STANDARD", 100), ("DBL.SU", "DOUBLE SUPERIOR", 135))
BOARDS = (("RO", "ROOM ONLY", 0), ("BB", "BED AND BREAKFAST", 18))
FACILITIES = ("Wi-fi", "Swimming pool", "Restaurant", "Spa", "Gym", "Airport shuttle", "Bar")
STREETS = ("Carrer Major", "Beach Road", "MG Road", "Durbar Marg", "Passeig del Mar", "Hill View")
ADJECTIVES = ("Blue", "Golden", "Quiet", "Royal", "Garden", "Sea", "Old Town", "Lotus", "Palm")
NOUNS = ("Bay", "Palace", "Retreat", "Inn", "Residency", "Suites", "Lodge", "Resort", "House")
DEFAULT_CONTENT_DATE = date(2026, 1, 15)
#: Kinds in the harness store.
BOOKING, CHECKED, FAILED, CONFIG, UPDATED, COUNTS = (
    "booking",
    "checked",
    "failed",
    "config",
    "updated",
    "counts",
)
_RATE_KEY = re.compile(
    r"^(?P<ci>\d{8})\|(?P<co>\d{8})\|W\|(?P<type>[BR])\|(?P<hotel>\d+)\|(?P<room>[A-Z.]+)\|"
    r"(?P<pay>WEB|HOTEL)\|(?P<board>[A-Z]+)\|(?P<issued>\d+)\|(?P<rooms>\d+)~(?P<adults>\d+)~"
    r"(?P<children>\d+)\|(?P<ages>[\d,]*)\|N@(?P<mac>[0-9a-f]{16})$"
)


def _category(code: int) -> tuple[str, str]:
    stars = 3 + code % 3
    return f"{stars}EST", f"{stars} STARS"


def catalogue(partner: str, count: int) -> list[dict[str, Any]]:
    """The made-up hotels of one simulator instance (the same every run)."""
    base = (zlib.crc32(partner.encode()) % 9 + 1) * 100_000
    destinations = list(DESTINATIONS)
    hotels = []
    for index in range(count):
        code = base + index + 1
        dest = destinations[index % len(destinations)]
        city, country = DESTINATIONS[dest]
        name = f"{ADJECTIVES[index % len(ADJECTIVES)]} {NOUNS[(index // 3) % len(NOUNS)]} {city}"
        category, _ = _category(code)
        prefix = f"{code // 10000:02d}/{code:06d}"
        hotels.append(
            {
                "code": code,
                "name": {"content": name},
                "description": {
                    "content": f"{name} is a {category[0]}-star hotel in {city}, "
                    f"{index % 9 + 1} km from the centre."
                },
                "countryCode": country,
                "destinationCode": dest,
                "zoneCode": index % 5 + 1,
                "coordinates": {
                    "latitude": round(20 + (code % 997) / 50, 6),
                    "longitude": round(2 + (code % 769) / 10, 6),
                },
                "categoryCode": category,
                "address": {"content": f"{STREETS[index % len(STREETS)]}, {index + 1}"},
                "city": {"content": city},
                "images": [
                    {
                        "imageTypeCode": kind,
                        "path": f"{prefix}/{code:06d}{letter}_hb_a_00{n + 1}.svg",
                        "order": n + 1,
                        "visualOrder": n,
                    }
                    for n, (kind, letter) in enumerate((("GEN", "a"), ("HAB", "b"), ("PIS", "c")))
                ],
                "facilities": [
                    {"facilityCode": 10 + f, "facilityGroupCode": 70, "description": {"content": n}}
                    for f, n in enumerate(FACILITIES)
                    if (code + f) % 3
                ],
                "lastUpdate": DEFAULT_CONTENT_DATE.isoformat(),
            }
        )
    return hotels


def _json(status: int, data: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status=status,
        body=json.dumps(data, separators=(",", ":")).encode(),
        content_type=JSON,
        headers=headers or {},
    )


class Refusal(Exception):
    """An error answer: status, Hotelbeds-style code and message, optional headers."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


class HotelbedsSimulator(Simulator):
    title = "Hotelbeds APItude"

    def __init__(self, context) -> None:
        super().__init__(context)
        self.partner = context.partner
        self._lock = threading.Lock()
        self._second: dict[tuple[str, str, int], int] = defaultdict(int)
        self._day: dict[tuple[str, str], int] = defaultdict(int)
        self._mac_key = hashlib.sha256(f"pema-sandbox-{self.partner}".encode()).digest()
        count = int(self.config()["hotels"])
        self.hotels = {h["code"]: h for h in catalogue(self.partner, count)}
        self.clock = time.time

    # ------------------------------------------------------------------ config

    def defaults(self) -> dict[str, Any]:
        return {
            "api_key": settings.HOTELBEDS_SANDBOX_API_KEY,
            "secret": settings.HOTELBEDS_SANDBOX_SECRET,
            "qps": 50,
            "content_qps": 5,
            "daily_quota": 0,
            "latency_ms": settings.HOTELBEDS_SANDBOX_LATENCY_MS,
            "price_drift_percent": 0.0,
            "legacy_401": False,
            "hotels": settings.HOTELBEDS_SANDBOX_HOTELS,
        }

    def config(self) -> dict[str, Any]:
        return {**self.defaults(), **(self.store.get(CONFIG, "config") or {})}

    def command(self, name: str, payload: dict[str, Any]) -> Any:
        if name == "configure":
            unknown = set(payload) - set(self.defaults())
            if unknown:
                raise CommandError(f"unknown setting(s): {', '.join(sorted(unknown))}")
            if "hotels" in payload:
                raise CommandError("the catalogue size is set when the sandbox starts")
            current = self.store.get(CONFIG, "config") or {}
            self.store.put(CONFIG, "config", {**current, **payload})
            return self.config() | {"secret": "***"}
        if name == "touch":
            on = str(payload.get("date") or datetime.now(UTC).date().isoformat())
            codes = [int(c) for c in payload.get("codes") or []]
            for code in codes:
                if code not in self.hotels:
                    raise CommandError(f"unknown hotel {code}")
                self.store.put(UPDATED, str(code), on)
            return {"touched": codes, "date": on}
        raise CommandError(f"unknown command {name!r}")

    def snapshot(self) -> dict[str, Any]:
        today = datetime.now(UTC).date().isoformat()
        key = self.config()["api_key"]
        with self._lock:
            used = self._day.get((key, today), 0)
        return {
            "hotels": len(self.hotels),
            "destinations": sorted(DESTINATIONS),
            "first_hotel_code": min(self.hotels) if self.hotels else None,
            "bookings": [doc for _, doc in self.store.items(BOOKING)],
            "checked_rate_keys": self.store.count(CHECKED),
            "calls_today": used,
            "counts": dict(self.store.items(COUNTS)),
            "config": self.config() | {"secret": "***"},
        }

    def reset(self) -> None:
        with self._lock:
            self._second.clear()
            self._day.clear()

    def describe(self) -> str:
        cfg = self.config()
        return f"{len(self.hotels)} hotels, key {cfg['api_key']!r}, latency {cfg['latency_ms']} ms"

    def error_response(self, status: int) -> Response:
        return _json(status, self._error_body("SYSTEM_ERROR", "Forced error (sandbox fault)"))

    def malformed_response(self) -> Response:
        return Response(status=200, body=b'{"auditData": {"processTime": "1"', content_type=JSON)

    # ------------------------------------------------------------------ calls

    def _error_body(self, code: str, message: str) -> dict[str, Any]:
        return {"auditData": self._audit(), "error": {"code": code, "message": message}}

    def _audit(self) -> dict[str, Any]:
        return {
            "processTime": "12",
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
            "requestHost": "127.0.0.1",
            "serverId": f"sandbox.{self.partner}",
            "environment": "[sandbox]",
            "release": "sandbox",
            "token": hashlib.md5(str(time.time_ns()).encode()).hexdigest().upper(),  # noqa: S324
            "internal": "0",
        }

    def handle(self, request: Request) -> Response:
        path = request.path
        if request.method == "GET" and path.startswith("/photos/"):
            return self._photo(path)
        secure = path.startswith("/secure/")
        if secure:
            path = path[len("/secure") :]
        try:
            cfg = self.config()
            self._authenticate(request, cfg)
            self._count(cfg, content=path.startswith(CONTENT_API))
            self._negotiate(request)
            answer = self._route(request, path, secure, cfg)
        except Refusal as refusal:
            if 400 <= refusal.status < 500 and refusal.status not in (401, 403, 406, 410, 415):
                self._remember_failure(request)
            self.store.increment(COUNTS, str(refusal.status))
            return _json(
                refusal.status, self._error_body(refusal.code, refusal.message), refusal.headers
            )
        self.store.increment(COUNTS, "200")
        return answer

    def _authenticate(self, request: Request, cfg: dict[str, Any]) -> None:
        key = request.header("Api-key")
        signature = request.header("X-Signature").lower()
        status = 401 if cfg["legacy_401"] else 403
        if not key or not signature:
            raise Refusal(
                status,
                "NOT_AUTHORIZED",
                "Not Authorized",
                {"X-Mashery-Error-Code": "ERR_403_NOT_AUTHORIZED"},
            )
        if key != cfg["api_key"]:
            raise Refusal(
                403,
                "DEVELOPER_INACTIVE",
                "Developer Inactive",
                {"X-Mashery-Error-Code": "ERR_403_DEVELOPER_INACTIVE"},
            )
        now = int(self.clock())
        secret = cfg["secret"]
        for t in range(now - CLOCK_WINDOW, now + CLOCK_WINDOW + 1):
            expected = hashlib.sha256(f"{key}{secret}{t}".encode()).hexdigest()
            if hmac.compare_digest(expected, signature):
                return
        # Also the answer to a signature over milliseconds: no second in the window matches it.
        raise Refusal(
            status,
            "NOT_AUTHORIZED",
            "Not Authorized",
            {"X-Mashery-Error-Code": "ERR_403_NOT_AUTHORIZED"},
        )

    def _count(self, cfg: dict[str, Any], *, content: bool) -> None:
        key = cfg["api_key"]
        now = self.clock()
        second = int(now)
        today = datetime.fromtimestamp(now, UTC).date().isoformat()
        limit = int(cfg["content_qps"] if content else cfg["qps"])
        kind = "content" if content else "booking"
        with self._lock:
            for stale in [k for k in self._second if k[2] < second - 2]:
                del self._second[stale]
            if self._second[(key, kind, second)] >= limit:
                raise Refusal(
                    403,
                    "DEVELOPER_OVER_QPS",
                    "Developer Over QPS",
                    {"X-Mashery-Error-Code": "ERR_403_DEVELOPER_OVER_QPS", "Retry-After": "1"},
                )
            quota = int(cfg["daily_quota"])
            if quota and self._day[(key, today)] >= quota:
                raise Refusal(
                    403,
                    "DEVELOPER_OVER_RATE",
                    "Developer Over Rate",
                    {"X-Mashery-Error-Code": "ERR_403_DEVELOPER_OVER_RATE"},
                )
            self._second[(key, kind, second)] += 1
            self._day[(key, today)] += 1

    @staticmethod
    def _negotiate(request: Request) -> None:
        accept = request.header("Accept").lower()
        if "application/json" not in accept and "*/*" not in accept:
            raise Refusal(406, "NOT_ACCEPTABLE", "Accept must be application/json.")
        if request.method in ("POST", "PUT"):
            content_type = request.header("Content-Type").lower()
            if not content_type.startswith("application/json"):
                raise Refusal(
                    415, "UNSUPPORTED_MEDIA_TYPE", "Content-Type must be application/json."
                )

    def _fingerprint(self, request: Request) -> str:
        query = json.dumps(sorted((k, v) for k, v in request.query.items()))
        raw = f"{request.method} {request.path} {query}\n".encode() + request.body
        return hashlib.sha256(raw).hexdigest()

    def _remember_failure(self, request: Request) -> None:
        self.store.put(FAILED, self._fingerprint(request), {"at": self.clock()})

    def _check_repeat(self, request: Request) -> None:
        failed = self.store.get(FAILED, self._fingerprint(request))
        if failed and self.clock() - float(failed["at"]) < REPEAT_WINDOW:
            raise Refusal(
                410, "INVALID_DATA", "This request failed within the last 15 minutes: not repeated."
            )

    def _route(self, request: Request, path: str, secure: bool, cfg: dict[str, Any]) -> Response:
        method = request.method
        if path == f"{HOTEL_API}/status" and method == "GET":
            return _json(200, {"auditData": self._audit(), "status": "OK"})
        if path == f"{CONTENT_API}/hotels" and method == "GET":
            return self._content(request)
        if not path.startswith(HOTEL_API):
            raise Refusal(404, "NOT_FOUND", f"No such resource {path}.")
        self._check_repeat(request)
        if cfg["latency_ms"]:
            time.sleep(int(cfg["latency_ms"]) / 1000)
        if path == f"{HOTEL_API}/hotels" and method == "POST":
            return self._availability(self._body(request), cfg)
        if path == f"{HOTEL_API}/checkrates" and method == "POST":
            return self._checkrate(self._body(request), cfg)
        if path == f"{HOTEL_API}/bookings" and method == "POST":
            return self._book(self._body(request), secure, cfg)
        if path == f"{HOTEL_API}/bookings" and method == "GET":
            return self._list(request)
        if path.startswith(f"{HOTEL_API}/bookings/"):
            reference = path.rsplit("/", 1)[1]
            if method == "GET":
                return _json(200, {"auditData": self._audit(), "booking": self._booking(reference)})
            if method == "DELETE":
                return self._cancel(reference, request.param("cancellationFlag", "CANCELLATION"))
        raise Refusal(404, "NOT_FOUND", f"No such resource {method} {path}.")

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        try:
            data = json.loads(request.body or b"")
        except ValueError as exc:
            raise Refusal(400, "INVALID_REQUEST", f"The body is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise Refusal(400, "INVALID_REQUEST", "The body must be a JSON object.")
        return data

    # ------------------------------------------------------------------ content

    def _content(self, request: Request) -> Response:
        try:
            first = int(request.param("from", "1") or 1)
            last = int(request.param("to", "100") or 100)
        except ValueError as exc:
            raise Refusal(400, "INVALID_DATA", "from and to must be numbers.") from exc
        if first < 1 or last < first:
            raise Refusal(400, "INVALID_DATA", "from must be at least 1 and not after to.")
        if last - first + 1 > 1000:
            raise Refusal(400, "INVALID_DATA", "At most 1000 hotels a page (from..to).")
        hotels = [self._content_hotel(h) for h in self.hotels.values()]
        since = request.param("lastUpdateTime")
        if since:
            try:
                date.fromisoformat(since)
            except ValueError as exc:
                raise Refusal(400, "INVALID_DATA", "lastUpdateTime is YYYY-MM-DD.") from exc
            hotels = [h for h in hotels if h["lastUpdate"] >= since]
        if codes := request.param("codes"):
            wanted = {c.strip() for c in codes.split(",")}
            hotels = [h for h in hotels if str(h["code"]) in wanted]
        if dest := request.param("destinationCode"):
            hotels = [h for h in hotels if h["destinationCode"] == dest]
        page = hotels[first - 1 : last]
        return _json(
            200,
            {
                "from": first,
                "to": first + len(page) - 1 if page else first - 1,
                "total": len(hotels),
                "auditData": self._audit(),
                "hotels": page,
            },
        )

    def _content_hotel(self, hotel: dict[str, Any]) -> dict[str, Any]:
        touched = self.store.get(UPDATED, str(hotel["code"]))
        if touched:
            return {
                **hotel,
                "lastUpdate": touched,
                "name": {"content": hotel["name"]["content"] + " (renovated)"},
            }
        return hotel

    def _photo(self, path: str) -> Response:
        match = re.search(r"/(\d{6})([abc])_hb_a_\d+\.svg$", path)
        if not match or int(match.group(1)) not in self.hotels:
            return Response(status=404, body=b"no such image\n", content_type="text/plain")
        code, letter = int(match.group(1)), match.group(2)
        hue = (code * 37 + ord(letter) * 91) % 360
        name = self.hotels[code]["name"]["content"]
        label = {"a": "Hotel", "b": "Room", "c": "Pool"}[letter]
        svg = (
            '<svg xmlns="http://www.w3.org/2000/svg" width="320" height="200">'
            f'<rect width="320" height="200" fill="hsl({hue},45%,55%)"/>'
            f'<text x="16" y="170" font-family="sans-serif" font-size="18" fill="#fff">{label}: '
            f"{html.escape(name)}</text></svg>"
        )
        return Response(status=200, body=svg.encode(), content_type="image/svg+xml")

    # ------------------------------------------------------------------ rates

    def _mac(self, payload: str) -> str:
        return hmac.new(self._mac_key, payload.encode(), hashlib.sha256).hexdigest()[:16]

    def _rate_key(self, **p: Any) -> str:
        payload = (
            f"{p['ci']}|{p['co']}|W|{p['type']}|{p['hotel']}|{p['room']}|{p['pay']}|{p['board']}|"
            f"{p['issued']}|{p['rooms']}~{p['adults']}~{p['children']}|{p['ages']}|N@"
        )
        return payload + self._mac(payload)

    def _parse_key(self, key: Any) -> dict[str, Any]:
        match = _RATE_KEY.match(key) if isinstance(key, str) else None
        if not match or not hmac.compare_digest(
            self._mac(key[: key.rindex("@") + 1]), match["mac"]
        ):
            raise Refusal(400, "INVALID_DATA", "The rateKey was not issued by this API.")
        if self.clock() - int(match["issued"]) > RATE_KEY_LIFETIME:
            raise Refusal(400, "INVALID_DATA", "The rateKey has expired: search again.")
        parsed = match.groupdict()
        hotel = int(parsed["hotel"])
        if hotel not in self.hotels:
            raise Refusal(400, "INVALID_DATA", "The rateKey names an unknown hotel.")
        return {
            **parsed,
            "hotel": hotel,
            "check_in": datetime.strptime(parsed["ci"], "%Y%m%d").date(),
            "check_out": datetime.strptime(parsed["co"], "%Y%m%d").date(),
            "rooms": int(parsed["rooms"]),
            "adults": int(parsed["adults"]),
            "children": int(parsed["children"]),
            "ages": [int(a) for a in parsed["ages"].split(",") if a],
            "key": key,
        }

    def _currency(self, hotel: int) -> str:
        return CURRENCY[self.hotels[hotel]["countryCode"]]

    def _net(self, p: dict[str, Any], drift: float = 0.0) -> Decimal:
        """The rate's net price: per room and night, by hotel, room, board and guests."""
        room_base = dict((c, b) for c, _, b in ROOMS)[p["room"]]
        board_extra = dict((c, e) for c, _, e in BOARDS)[p["board"]]
        nights = (p["check_out"] - p["check_in"]).days
        per_night = room_base + p["hotel"] % 40 + board_extra * p["adults"] + 9 * p["children"]
        factor = 80 if self._currency(p["hotel"]) == "INR" else 1
        total = Decimal(per_night * nights * p["rooms"] * factor) * (1 + Decimal(str(drift)) / 100)
        return total.quantize(Decimal("0.01"))

    def _policies(self, p: dict[str, Any], net: Decimal) -> list[dict[str, str]]:
        tz = "+05:30" if self._currency(p["hotel"]) == "INR" else "+01:00"
        starts = p["check_in"] - timedelta(days=2)
        return [
            {
                "amount": str((net * Decimal("0.2")).quantize(Decimal("0.01"))),
                "from": f"{starts}T23:59:00{tz}",
            }
        ]

    def _rate_json(self, p: dict[str, Any], net: Decimal, rate_type: str) -> dict[str, Any]:
        board_name = dict((c, n) for c, n, _ in BOARDS)[p["board"]]
        return {
            "rateKey": p["key"],
            "rateClass": "NOR",
            "rateType": rate_type,
            "net": str(net),
            "allotment": 5,
            "paymentType": "AT_HOTEL" if p["pay"] == "HOTEL" else "AT_WEB",
            "packaging": False,
            "boardCode": p["board"],
            "boardName": board_name,
            "rateComments": "Check-in from 14:00. City tax paid at the hotel.",
            "cancellationPolicies": self._policies(p, net),
            "rooms": p["rooms"],
            "adults": p["adults"],
            "children": p["children"],
            **({"childrenAges": ",".join(str(a) for a in p["ages"])} if p["ages"] else {}),
        }

    def _hotel_head(self, code: int) -> dict[str, Any]:
        hotel = self.hotels[code]
        dest = hotel["destinationCode"]
        category, category_name = _category(code)
        return {
            "code": code,
            "name": hotel["name"]["content"],
            "categoryCode": category,
            "categoryName": category_name,
            "destinationCode": dest,
            "destinationName": DESTINATIONS[dest][0],
            "zoneCode": hotel["zoneCode"],
            "zoneName": f"{DESTINATIONS[dest][0]} zone {hotel['zoneCode']}",
            "latitude": str(hotel["coordinates"]["latitude"]),
            "longitude": str(hotel["coordinates"]["longitude"]),
        }

    def _availability(self, body: dict[str, Any], cfg: dict[str, Any]) -> Response:
        stay = body.get("stay") or {}
        try:
            check_in = date.fromisoformat(str(stay.get("checkIn")))
            check_out = date.fromisoformat(str(stay.get("checkOut")))
        except ValueError as exc:
            raise Refusal(
                400, "INVALID_DATA", "stay.checkIn and stay.checkOut are YYYY-MM-DD."
            ) from exc
        if check_in >= check_out:
            raise Refusal(400, "INVALID_DATA", "checkIn must be before checkOut.")
        if check_in < datetime.fromtimestamp(self.clock(), UTC).date():
            raise Refusal(400, "INVALID_DATA", "checkIn is in the past.")
        occupancies = body.get("occupancies")
        if not isinstance(occupancies, list) or not occupancies:
            raise Refusal(400, "INVALID_DATA", "occupancies are required.")
        parsed = []
        for occupancy in occupancies:
            rooms, adults = int(occupancy.get("rooms") or 0), int(occupancy.get("adults") or 0)
            children = int(occupancy.get("children") or 0)
            ages = [
                int(p.get("age", -1)) for p in occupancy.get("paxes") or [] if p.get("type") == "CH"
            ]
            if rooms < 1 or adults < 1:
                raise Refusal(
                    400, "INVALID_DATA", "Each occupancy needs rooms >= 1 and adults >= 1."
                )
            if children != len(ages) or any(not 0 <= a <= 17 for a in ages):
                raise Refusal(400, "INVALID_DATA", "children must equal the ages given (0-17).")
            parsed.append((rooms, adults, children, ages))
        if "hotels" in body:
            wanted = (body.get("hotels") or {}).get("hotel") or []
            try:
                codes = [int(c) for c in wanted]
            except (TypeError, ValueError) as exc:
                raise Refusal(400, "INVALID_DATA", "Hotel codes are numbers.") from exc
            unknown = [c for c in codes if c not in self.hotels]
            if not codes or unknown:
                raise Refusal(
                    400, "INVALID_DATA", f"Unknown hotel code(s): {unknown or 'none given'}."
                )
        elif "destination" in body:
            dest = str((body.get("destination") or {}).get("code") or "")
            if dest not in DESTINATIONS:
                raise Refusal(400, "INVALID_DATA", f"Unknown destination {dest!r}.")
            codes = [c for c, h in self.hotels.items() if h["destinationCode"] == dest]
        else:
            raise Refusal(400, "INVALID_DATA", "Give hotels or a destination.")
        most = int((body.get("filter") or {}).get("maxHotels") or 0)
        if most > 0:
            codes = codes[:most]
        issued = int(self.clock())
        hotels = []
        for code in codes:
            rooms_json = []
            for room_code, room_name, _ in ROOMS:
                rates = []
                for board, _, _ in BOARDS:
                    for rooms, adults, children, ages in parsed:
                        recheck = (code // 6 + (board == "BB") + (room_code == "DBL.SU")) % 3 == 0
                        for pay in (
                            ("WEB", "HOTEL")
                            if board == "RO" and room_code == "DBL.ST"
                            else ("WEB",)
                        ):
                            p = {
                                "ci": check_in.strftime("%Y%m%d"),
                                "co": check_out.strftime("%Y%m%d"),
                                "type": "R" if recheck and pay == "WEB" else "B",
                                "hotel": code,
                                "room": room_code,
                                "pay": pay,
                                "board": board,
                                "issued": issued,
                                "rooms": rooms,
                                "adults": adults,
                                "children": children,
                                "ages": ",".join(str(a) for a in ages),
                            }
                            key = self._rate_key(**p)
                            full = {
                                **p,
                                "key": key,
                                "check_in": check_in,
                                "check_out": check_out,
                                "ages": ages,
                            }
                            net = self._net(full) + (Decimal("7.00") if pay == "HOTEL" else 0)
                            kind = "RECHECK" if p["type"] == "R" else "BOOKABLE"
                            rates.append(self._rate_json(full, net, kind))
                rooms_json.append({"code": room_code, "name": room_name, "rates": rates})
            nets = [Decimal(r["net"]) for room in rooms_json for r in room["rates"]]
            hotels.append(
                {
                    **self._hotel_head(code),
                    "rooms": rooms_json,
                    "minRate": str(min(nets)),
                    "maxRate": str(max(nets)),
                    "currency": self._currency(code),
                }
            )
        return _json(
            200,
            {
                "auditData": self._audit(),
                "hotels": {
                    "hotels": hotels,
                    "checkIn": check_in.isoformat(),
                    "checkOut": check_out.isoformat(),
                    "total": len(hotels),
                },
            },
        )

    def _checkrate(self, body: dict[str, Any], cfg: dict[str, Any]) -> Response:
        rooms = body.get("rooms")
        if not isinstance(rooms, list) or len(rooms) != 1:
            raise Refusal(
                400, "INVALID_DATA", "rooms must hold one rateKey (the simulator's limit)."
            )
        p = self._parse_key((rooms[0] or {}).get("rateKey"))
        net = self._net(p, float(cfg["price_drift_percent"])) + (
            Decimal("7.00") if p["pay"] == "HOTEL" else 0
        )
        self.store.put(CHECKED, p["mac"], {"at": self.clock(), "net": str(net)})
        rate = self._rate_json(p, net, "BOOKABLE")
        room_name = dict((c, n) for c, n, _ in ROOMS)[p["room"]]
        hotel = {
            **self._hotel_head(p["hotel"]),
            "checkIn": p["check_in"].isoformat(),
            "checkOut": p["check_out"].isoformat(),
            "rooms": [{"code": p["room"], "name": room_name, "rates": [rate]}],
            "totalNet": str(net),
            "currency": self._currency(p["hotel"]),
            "paymentDataRequired": p["pay"] == "HOTEL",
        }
        return _json(200, {"auditData": self._audit(), "hotel": hotel})

    # ------------------------------------------------------------------ bookings

    def _book(self, body: dict[str, Any], secure: bool, cfg: dict[str, Any]) -> Response:
        holder = body.get("holder") or {}
        for part in ("name", "surname"):
            value = holder.get(part)
            if not isinstance(value, str) or not value.strip():
                raise Refusal(400, "INVALID_DATA", f"holder.{part} is required.")
            if len(value) > NAME_LIMIT:
                raise Refusal(
                    400, "INVALID_DATA", f"holder.{part} is at most {NAME_LIMIT} characters."
                )
        rooms = body.get("rooms")
        if not isinstance(rooms, list) or len(rooms) != 1:
            raise Refusal(
                400, "INVALID_DATA", "rooms must hold one rateKey (the simulator's limit)."
            )
        room = rooms[0] or {}
        p = self._parse_key(room.get("rateKey"))
        checked = self.store.get(CHECKED, p["mac"])
        if p["type"] == "R" and not checked:
            raise Refusal(
                400, "INVALID_DATA", "This is a RECHECK rate: call checkrates before booking."
            )
        if p["pay"] == "HOTEL":
            if not body.get("paymentData"):
                raise Refusal(402, "PAYMENT_REQUIRED", "This rate needs paymentData.")
            if not secure:
                raise Refusal(400, "INVALID_DATA", "Card bookings go to the secure host.")
        self._check_paxes(room.get("paxes"), p)
        quoted = self._net(p) + (Decimal("7.00") if p["pay"] == "HOTEL" else 0)
        if checked:
            quoted = Decimal(checked["net"])
        net = self._net(p, float(cfg["price_drift_percent"])) + (
            Decimal("7.00") if p["pay"] == "HOTEL" else 0
        )
        tolerance = Decimal(str(body.get("tolerance") or 0))
        if quoted and abs(net - quoted) / quoted * 100 > tolerance:
            raise Refusal(
                400,
                "INVALID_DATA",
                f"The price changed from {quoted} to {net}, beyond the tolerance.",
            )
        client_reference = str(body.get("clientReference") or "")
        if not client_reference or len(client_reference) > 20:
            raise Refusal(
                400, "INVALID_DATA", "clientReference is required (at most 20 characters)."
            )
        with self.store.transaction():
            sequence = self.store.increment(COUNTS, "booking_sequence")
            reference = f"{zlib.crc32(self.partner.encode()) % 900 + 100}-{1_000_000 + sequence}"
            booking = self._booking_json(reference, body, p, net)
            self.store.put(BOOKING, reference, booking)
        return _json(200, {"auditData": self._audit(), "booking": booking})

    @staticmethod
    def _check_paxes(paxes: Any, p: dict[str, Any]) -> None:
        if not isinstance(paxes, list) or not paxes:
            raise Refusal(400, "INVALID_DATA", "paxes are required.")
        for room_id in range(1, p["rooms"] + 1):
            mine = [x for x in paxes if isinstance(x, dict) and x.get("roomId") == room_id]
            adults = sum(1 for x in mine if x.get("type") == "AD")
            children = sum(1 for x in mine if x.get("type") == "CH")
            if adults != p["adults"] or children != p["children"]:
                raise Refusal(
                    400,
                    "INVALID_DATA",
                    f"Room {room_id} needs {p['adults']} AD and {p['children']} CH paxes.",
                )
        for pax in paxes:
            if not isinstance(pax, dict) or pax.get("type") not in ("AD", "CH"):
                raise Refusal(400, "INVALID_DATA", "A pax type is AD or CH.")
            if not 1 <= int(pax.get("roomId") or 0) <= p["rooms"]:
                raise Refusal(400, "INVALID_DATA", "A pax roomId names a room of the rate.")
            for part in ("name", "surname"):
                if len(str(pax.get(part) or "")) > NAME_LIMIT:
                    raise Refusal(
                        400, "INVALID_DATA", f"A pax {part} is at most {NAME_LIMIT} characters."
                    )

    def _booking_json(self, reference: str, body: dict, p: dict, net: Decimal) -> dict[str, Any]:
        currency = self._currency(p["hotel"])
        rate = self._rate_json(p, net, "BOOKABLE")
        for unused in ("rateKey", "rateType", "allotment"):
            rate.pop(unused)
        now = datetime.fromtimestamp(self.clock(), UTC)
        return {
            "reference": reference,
            "clientReference": body["clientReference"],
            "creationDate": now.date().isoformat(),
            "status": "CONFIRMED",
            "modificationPolicies": {"cancellation": True, "modification": True},
            "creationUser": self.config()["api_key"],
            "holder": body["holder"],
            "remark": str(body.get("remark") or ""),
            "hotel": {
                **self._hotel_head(p["hotel"]),
                "checkIn": p["check_in"].isoformat(),
                "checkOut": p["check_out"].isoformat(),
                "rooms": [
                    {
                        "status": "CONFIRMED",
                        "id": 1,
                        "code": p["room"],
                        "name": dict((c, n) for c, n, _ in ROOMS)[p["room"]],
                        "paxes": body["rooms"][0]["paxes"],
                        "rates": [rate],
                    }
                ],
                "totalNet": str(net),
                "currency": currency,
                "supplier": {"name": "HOTELBEDS SANDBOX", "vatNumber": "ESB00000000"},
            },
            "totalNet": str(net),
            "pendingAmount": str(net),
            "currency": currency,
        }

    def _booking(self, reference: str) -> dict[str, Any]:
        booking = self.store.get(BOOKING, reference)
        if booking is None:
            raise Refusal(404, "NOT_FOUND", f"No booking {reference}.")
        return booking

    def _list(self, request: Request) -> Response:
        start, end = request.param("start"), request.param("end")
        if not start or not end:
            raise Refusal(400, "INVALID_DATA", "start and end are required.")
        first = int(request.param("from", "1") or 1)
        last = int(request.param("to", "25") or 25)
        status = request.param("status", "ALL")
        reference = request.param("clientReference")
        found = []
        for _, booking in self.store.items(BOOKING):
            if not start <= booking["creationDate"] <= end:
                continue
            if reference and booking["clientReference"] != reference:
                continue
            if status not in ("ALL", booking["status"]):
                continue
            found.append(booking)
        page = found[first - 1 : last]
        return _json(
            200,
            {
                "auditData": self._audit(),
                "bookings": {"bookings": page, "from": first, "to": last, "total": len(found)},
            },
        )

    def _cancel(self, reference: str, flag: str | None) -> Response:
        if flag not in ("SIMULATION", "CANCELLATION"):
            raise Refusal(400, "INVALID_DATA", "cancellationFlag is SIMULATION or CANCELLATION.")
        with self.store.transaction():
            booking = self._booking(reference)
            fee = Decimal(0)
            if booking["status"] != "CANCELLED":
                now = datetime.fromtimestamp(self.clock(), UTC)
                for room in booking["hotel"]["rooms"]:
                    for rate in room["rates"]:
                        for policy in rate.get("cancellationPolicies") or []:
                            if datetime.fromisoformat(policy["from"]) <= now:
                                fee = max(fee, Decimal(policy["amount"]))
            answer = {**booking, "hotel": {**booking["hotel"], "cancellationAmount": str(fee)}}
            if flag == "CANCELLATION" and booking["status"] != "CANCELLED":
                cancelled = {
                    **booking,
                    "status": "CANCELLED",
                    "cancellationReference": f"C{reference}",
                }
                cancelled["hotel"] = {**booking["hotel"], "cancellationAmount": str(fee)}
                self.store.put(BOOKING, reference, cancelled)
                answer = cancelled
            elif booking["status"] == "CANCELLED":
                answer = booking
        return _json(200, {"auditData": self._audit(), "booking": answer})
