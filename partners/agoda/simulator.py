"""The Agoda YCS5 simulator, on the sandbox harness: what §3.5 of the partner notes checks.

Served under ``/agoda/`` by ``manage.py runsandbox`` (base URL
``http://<sandbox>/agoda``):

- ``POST /agoda/api`` (``type`` required: 3, 4 or 10 are served, other known
  types are answered "not served here") and ``POST /agoda/api/v2/ari`` (type
  optional, 10 when given);
- ``POST /agoda/token-based-authentication/exchange`` (JSON ``clientId``,
  ``clientSecret``): a token valid 1 h.

Every call needs ``?apiKey=`` (refused once the simulator is told the API-key
cut-off has passed) or ``Authorization: Bearer <token>``; a numeric
``timestamp`` (seconds accepted and counted as a warning); at most 1 MB.

SetAriV2 updates are checked one by one (:func:`check_update`): products,
dates (2219 past 730 days), ``dow``, currency, decimals, the room's min/max
rate (2201), the default rate (2101), child rate plans, booleans, min ≤ max
(22210). The answer is 200 when every update passed, 400 when none did, 207
``PartialSuccess`` naming the failed updates otherwise (with the partner's
"partial success" flag off, 207 with the full-failure body). What passed is
held per product and day (one stored document per product).

Bookings are made through the control API (``new``, ``modify``, ``cancel``; kept
as the harness's emitted documents)
and listed (type 3: at most 5 properties, 90-day windows, 740 days back) and
read (type 4: one property, at most 50, 90 days retention) as Agoda does,
times in +07:00. Each change is pushed as a ``BookingHint`` to the
configured ``hook_url``: a ``<result><success/>`` answer ends it, anything
else is retried 3 times 15 s apart (``hint_retries``, ``hint_retry_seconds``)
and then recorded as an "email fallback". Other commands: ``configure``,
``ari`` (what is held), ``fail_updates`` (the next updates fail with a code
that may pass, to test retries), ``expire_tokens``.

Codes the notes do not give are the simulator's own (``SIM_CODES``).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings

from channels.interface import GuestDetails, Night
from partners.agoda import codec
from partners.agoda.codec import AgodaError, BookingHead, WireUpdate, error_of
from sandbox.simulator import (
    EMITTED,
    CommandError,
    Request,
    Response,
    Simulator,
    run_command,
)

XML = "text/xml; charset=utf-8"
# Bookings are the harness's emitted documents (``SimulatorContext.emit``), by booking id.
BOOKING = EMITTED
ARI, CONFIG, TOKENS, HINTS, WARNINGS, COUNTS = (
    "ari",
    "config",
    "tokens",
    "hints",
    "warnings",
    "counts",
)
FIRST_BOOKING_ID = 700_000_001
DEFAULT_PRICE = 450_000
RETENTION_DAYS = 90
TRANSIENT_CODE = "9001"
#: Codes the partner notes do not give (the simulator's own); the rest are Agoda's.
SIM_CODES = {
    "1": "Unauthorized",
    "1001": "Unknown or missing request type",
    "1002": "timestamp must be a numeric epoch",
    "1003": "Request is not readable XML",
    "2001": "Invalid date or date range",
    "2202": "Currency does not match the property's",
    "2203": "Prices take at most 2 decimals",
    "2206": "Rate plan not found or not sold with this room",
    "2207": "Price updates are not allowed on a child rate plan",
    "2208": "Restriction values must be true or false",
    "2209": "Advance purchase max cannot be less than min",
    "2211": "Stay-through min cannot be negative",
    "3001": "At most 5 properties per booking list",
    "3002": "A booking list window is at most 90 days (type 3) or 60 minutes (type 9)",
    "3003": "A booking list cannot look back more than 740 days",
    "4001": "GetBookingDetail takes one property and at most 50 bookings",
    TRANSIENT_CODE: "Temporary failure, please retry",
}


def _err(code: str, update: WireUpdate | None = None, description: str = "") -> AgodaError:
    text = description or codec.VALIDATION_CODES.get(code) or SIM_CODES.get(code, "")
    return error_of(update, code, text) if update else AgodaError(code=code, description=text)


def _boolean(value: str) -> bool:
    return value in ("true", "false")


def _int(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None


def check_update(update: WireUpdate, prop: dict, today: date) -> AgodaError | None:
    """The first of §3.5's checks (points 4 to 7) ``update`` fails, or None."""
    if update.problems:
        return _err("2001", update, "; ".join(update.problems))
    rooms = prop["rooms"]
    if update.room_id not in rooms:
        return _err("2205", update, f"Room {update.room_id} does not exist")
    if update.section == "rate" and [update.room_id, update.rateplan_id] not in prop["products"]:
        return _err("2206", update)
    days = update.days()
    if not days or (update.start and update.end and update.end < update.start):
        return _err("2001", update, "from is after to")
    if max(days) > today + timedelta(days=codec.HORIZON_DAYS):
        return _err("2219", update)
    if update.default_price or update.occupancy_prices or update.currency:
        if update.rateplan_id in prop["child_rateplans"]:
            return _err("2207", update)
        if update.currency != prop["currency"]:
            return _err("2202", update)
        if not update.default_price:
            persons = rooms[update.room_id].get("num_persons", 2)
            given = {p for p, _ in update.occupancy_prices}
            if not set(range(1, persons + 1)) <= given:
                return _err("2101", update)
        texts = [update.default_price] if update.default_price else []
        texts += [price for _, price in update.occupancy_prices]
        room = rooms[update.room_id]
        for text in texts:
            try:
                value = Decimal(text)
            except InvalidOperation:
                return _err("2201", update, f"Rate {text!r} is not a number")
            if codec.decimals(text) > 2:
                return _err("2203", update)
            low, high = Decimal(str(room.get("min_rate", 0))), Decimal(str(room["max_rate"]))
            if not low <= value <= high:
                return _err("2201", update, f"Rate: {text} should be between {low} and {high}")
    for flag in (update.closed, update.cta, update.ctd):
        if flag and not _boolean(flag):
            return _err("2208", update)
    los_min, los_max = _int(update.los_min or "0"), _int(update.los_max or "0")
    if los_min is None or los_max is None or (update.los_max and los_max < (los_min or 0)):
        return _err("22210", update)
    ap_min, ap_max = _int(update.advance_min or "0"), _int(update.advance_max or "0")
    if ap_min is None or ap_max is None or (update.advance_max and ap_max < ap_min):
        return _err("2209", update)
    through = _int(update.staythrough_min or "0")
    if through is None or through < 0:
        return _err("2211", update)
    return None


def held_values(update: WireUpdate) -> dict[str, Any]:
    """What an accepted update sets on each of its days."""
    values: dict[str, Any] = {}
    if update.allotment is not None:
        values["allotment"] = update.allotment
    if update.default_price:
        values["price"] = update.default_price
        values["currency"] = update.currency
    for name in ("closed", "cta", "ctd"):
        if getattr(update, name):
            values[name] = getattr(update, name) == "true"
    for name in ("los_min", "los_max", "staythrough_min", "advance_min", "advance_max"):
        if getattr(update, name):
            values[name] = int(getattr(update, name))
    return values


def _product(room: str, rate: str) -> str:
    return f"{room}|{rate}"


def _now() -> datetime:
    return datetime.now(UTC)


class AgodaSimulator(Simulator):
    """Agoda's YCS5 endpoints as §3.5 of the partner notes describes them."""

    title = "Agoda YCS5"
    max_body_bytes = codec.MAX_REQUEST_BYTES

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self._ari_lock = threading.Lock()

    # ---------------------------------------------------------------- config

    def config(self) -> dict[str, Any]:
        # By default the property's rooms are Pema's codes (mapped by code), as Booking.com's.
        rooms = settings.BOOKING_SANDBOX_ROOMS
        limits = {"num_persons": 2, "min_rate": 0, "max_rate": 10_000_000}
        defaults = {
            "property_id": settings.AGODA_SANDBOX_PROPERTY_ID,
            "currency": settings.AGODA_SANDBOX_CURRENCY,
            "api_key": settings.AGODA_SANDBOX_API_KEY,
            "client_id": settings.AGODA_SANDBOX_CLIENT_ID,
            "client_secret": settings.AGODA_SANDBOX_CLIENT_SECRET,
            "api_key_cutoff_passed": False,
            "partial_success": True,
            "rooms": {room: dict(limits) for room in rooms},
            "products": [[room, rate] for room in rooms for rate in settings.BOOKING_SANDBOX_RATES],
            "child_rateplans": [],
            "hook_url": "",
            "hint_retries": 3,
            "hint_retry_seconds": 15.0,
        }
        return {**defaults, **self.store.get(CONFIG, "property", {})}

    # ------------------------------------------------------------------ HTTP

    def handle(self, request: Request) -> Response:
        path = "/" + request.path.strip("/")
        self.store.increment(COUNTS, f"{request.method} {path}")
        if path == codec.TOKEN_PATH:
            return self._exchange(request)
        if path not in (codec.API_PATH, codec.ARI_V2_PATH):
            return Response(status=404, body=b"not found\n", content_type="text/plain")
        if request.method != "POST":
            return Response(status=405, body=b"use POST\n", content_type="text/plain")
        cfg = self.config()
        refusal = self._authorized(request, cfg)
        if refusal is not None:
            return self._answer(401, [_err("1", description=refusal)], cfg)
        try:
            root, kind, stamp = codec.parse_request_head(request.body)
        except codec.AgodaCodecError as exc:
            return self._answer(400, [_err("1003", description=str(exc))], cfg)
        if not stamp.isdigit():
            return self._answer(400, [_err("1002")], cfg)
        if len(stamp) <= 10:
            self.store.increment(WARNINGS, "timestamp_in_seconds")
        if path == codec.ARI_V2_PATH:
            kind = kind or codec.SET_ARI_V2
        if kind not in codec.REQUEST_TYPES or (
            path == codec.ARI_V2_PATH and kind != codec.SET_ARI_V2
        ):
            return self._answer(400, [_err("1001")], cfg)
        if kind == codec.SET_ARI_V2:
            return self._set_ari(request.body, cfg)
        if kind in (codec.GET_BOOKING_LIST, codec.GET_BOOKING_LIST_V2):
            return self._booking_list(root, kind, cfg)
        if kind == codec.GET_BOOKING_DETAIL:
            return self._booking_detail(root, cfg)
        return self._answer(400, [_err("1001", description="Not served by the simulator")], cfg)

    def _answer(self, status: int, errors, cfg, *, partial: bool = False) -> Response:
        body = codec.build_result(
            tuid=secrets.token_hex(8),
            property_id=cfg["property_id"],
            errors=errors,
            partial=partial,
        )
        return Response(status=status, body=body, content_type=XML)

    def _authorized(self, request: Request, cfg: dict) -> str | None:
        """Why the call is refused (None: it is not)."""
        bearer = request.header("Authorization")
        if bearer.startswith("Bearer "):
            expires = self.store.get(TOKENS, bearer.removeprefix("Bearer ").strip())
            if expires is None or expires < time.time():
                return "The token is unknown or expired"
            return None
        key = request.param("apiKey")
        if key is None:
            return "No apiKey and no token"
        if cfg["api_key_cutoff_passed"]:
            self.store.increment(COUNTS, "api_key_after_cutoff")
            return "API key authentication has ended: use the token exchange"
        if not secrets.compare_digest(key, cfg["api_key"]):
            return "Invalid apiKey"
        return None

    def _exchange(self, request: Request) -> Response:
        cfg = self.config()
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            data = {}
        ok = isinstance(data, dict) and (
            data.get("clientId") == cfg["client_id"]
            and data.get("clientSecret") == cfg["client_secret"]
        )
        if not ok:
            body = {"success": False, "responseCode": 60, "code": 20, "token": None}
            return Response(
                status=401, body=json.dumps(body).encode(), content_type="application/json"
            )
        token = secrets.token_urlsafe(24)
        self.store.put(TOKENS, token, time.time() + codec.TOKEN_SECONDS)
        self.store.increment(COUNTS, "tokens issued")
        body = {
            "success": True,
            "responseCode": 1,
            "code": 1,
            "token": token,
            "downStreamServiceFailure": False,
        }
        return Response(status=200, body=json.dumps(body).encode(), content_type="application/json")

    # ------------------------------------------------------------------ ARI

    def _set_ari(self, body: bytes, cfg: dict) -> Response:
        try:
            document = codec.parse_set_ari(body)
        except codec.AgodaCodecError as exc:
            return self._answer(400, [_err("1003", description=str(exc))], cfg)
        if document.property_id != cfg["property_id"]:
            return self._answer(400, [_err("1301")], cfg)
        if not document.updates:
            return self._answer(400, [_err("2001", description="No update")], cfg)
        today = codec.agoda_today()
        failures: list[AgodaError] = []
        with self._ari_lock, self.store.transaction():
            # One stored document per product (its days by date): a full sync's long
            # ranges are a few writes, not one per day.
            held: dict[str, dict] = {}
            for update in document.updates:
                error = self._forced_failure(update) or check_update(update, cfg, today)
                if error is not None:
                    failures.append(error)
                    continue
                values = held_values(update)
                rate = update.rateplan_id if update.section == "rate" else ""
                product = _product(update.room_id, rate)
                if product not in held:
                    held[product] = self.store.get(ARI, product, {})
                days = held[product]
                for day in update.days():
                    key = day.isoformat()
                    days[key] = {**days.get(key, {}), **values}
            for product, days in held.items():
                self.store.put(ARI, product, days)
        if not failures:
            return self._answer(200, [], cfg)
        self.store.increment(COUNTS, "updates refused", len(failures))
        if len(failures) == len(document.updates):
            return self._answer(400, failures, cfg)
        if not cfg["partial_success"]:
            # Without the flag: 207 with the full-failure body (no update named).
            plain = [replace(f, room_id="", rateplan_id="", start="", end="") for f in failures]
            return self._answer(207, plain, cfg)
        return self._answer(207, failures, cfg, partial=True)

    def _forced_failure(self, update: WireUpdate) -> AgodaError | None:
        left = self.store.get(CONFIG, "fail_updates", 0)
        if not left:
            return None
        self.store.put(CONFIG, "fail_updates", left - 1)
        return _err(TRANSIENT_CODE, update)

    # -------------------------------------------------------------- bookings

    def _records(self) -> list[dict[str, Any]]:
        return [doc for _, doc in self.context.emitted()]

    @staticmethod
    def _head(record: dict[str, Any]) -> BookingHead:
        return BookingHead(
            booking_id=record["id"],
            property_id=record["property_id"],
            status=record["status"],
            last_action=datetime.fromisoformat(record["last_action"]),
            booking_date=datetime.fromisoformat(record["booking_date"]),
            arrival=date.fromisoformat(record["arrival"]),
            departure=date.fromisoformat(record["departure"]),
        )

    def _booking(self, record: dict[str, Any]) -> codec.AgodaBooking:
        nights = tuple(Night(date.fromisoformat(d), p) for d, p in record["nights"])
        return codec.AgodaBooking(
            head=self._head(record),
            room_id=record["room_id"],
            rateplan_id=record["rateplan_id"],
            room_count=record["room_count"],
            adults=record["adults"],
            children=record["children"],
            currency=record["currency"],
            total=sum(p for _, p in record["nights"]),
            nights=nights,
            customer=GuestDetails(**record["customer"]),
            requests=tuple(record.get("requests", ())),
        )

    def _booking_list(self, root, kind: str, cfg: dict) -> Response:
        criteria = root.find("criteria")
        if criteria is None:
            return self._answer(400, [_err("2001", description="No criteria")], cfg)
        properties = [p.get("id", "") for p in criteria.findall("property")]
        if not 1 <= len(properties) <= 5:
            return self._answer(400, [_err("3001")], cfg)
        if any(p != cfg["property_id"] for p in properties):
            return self._answer(400, [_err("1301")], cfg)
        try:
            start = codec.agoda_time(criteria.get("from", ""))
            end = codec.agoda_time(criteria.get("to", ""))
        except codec.AgodaCodecError as exc:
            return self._answer(400, [_err("2001", description=str(exc))], cfg)
        limit = timedelta(days=codec.MAX_LIST_DAYS)
        if kind == codec.GET_BOOKING_LIST_V2:
            limit = timedelta(minutes=60)
        if end < start or end - start > limit:
            return self._answer(400, [_err("3002")], cfg)
        if start < _now() - timedelta(days=codec.LOOKBACK_DAYS):
            return self._answer(400, [_err("3003")], cfg)
        status = criteria.get("status", "")
        heads = [
            self._head(r)
            for r in self._records()
            if start <= datetime.fromisoformat(r["last_action"]) <= end
            and status in ("", r["status"])
        ]
        self.store.increment(COUNTS, "booking lists")
        return Response(status=200, body=codec.build_booking_list_answer(heads), content_type=XML)

    def _booking_detail(self, root, cfg: dict) -> Response:
        properties = root.findall("criteria/property")
        ids = [b.get("id", "") for p in properties for b in p.findall("booking")]
        if len(properties) != 1 or not 1 <= len(ids) <= codec.MAX_DETAIL_IDS:
            return self._answer(400, [_err("4001")], cfg)
        if properties[0].get("id") != cfg["property_id"]:
            return self._answer(400, [_err("1301")], cfg)
        kept = _now() - timedelta(days=RETENTION_DAYS)
        found = []
        for bid in ids:
            record = self.store.get(BOOKING, bid)
            if record and datetime.fromisoformat(record["last_action"]) >= kept:
                found.append(self._booking(record))
                self.store.increment(COUNTS, f"detail {bid}")
        return Response(status=200, body=codec.build_booking_detail_answer(found), content_type=XML)

    # --------------------------------------------------------------- hints

    def _hint(self, record: dict[str, Any]) -> None:
        """Push a BookingHint for ``record`` in a thread: 1 try and the retries, then email."""
        cfg = self.config()
        if not cfg["hook_url"]:
            return
        body = codec.build_hint(record["property_id"], [self._head(record)])
        key = f"{record['id']} {record['last_action']}"
        self.store.put(HINTS, key, {"booking_id": record["id"], "attempts": [], "outcome": ""})
        thread = threading.Thread(
            target=self._push_hint,
            args=(key, cfg["hook_url"], body, cfg["hint_retries"], cfg["hint_retry_seconds"]),
            daemon=True,
        )
        thread.start()

    def _push_hint(self, key: str, url: str, body: bytes, retries: int, pause: float) -> None:
        for attempt in range(retries + 1):
            if attempt:
                time.sleep(pause)
            delivery = self.context.push(url, body, headers={"Content-Type": XML})
            ok = delivery.status == 200 and self._success(delivery.body)
            with self.store.transaction():
                doc = self.store.get(HINTS, key)
                doc["attempts"].append({"status": delivery.status, "at": _now().isoformat()})
                doc["outcome"] = "delivered" if ok else ""
                self.store.put(HINTS, key, doc)
            if ok:
                return
        with self.store.transaction():
            doc = self.store.get(HINTS, key)
            doc["outcome"] = "email fallback"
            self.store.put(HINTS, key, doc)

    @staticmethod
    def _success(body: bytes) -> bool:
        try:
            return codec.parse_result(body).success
        except Exception:  # noqa: BLE001 - anything unreadable is not a success
            return False

    # --------------------------------------------------------------- commands

    def command(self, name: str, payload: dict[str, Any]) -> Any:
        handlers = {
            "configure": self._configure,
            "new": self._new,
            "modify": self._modify,
            "cancel": self._cancel,
            "ari": self._held,
            "fail_updates": self._fail_updates,
            "expire_tokens": self._expire_tokens,
        }
        return run_command(handlers, name, payload)

    def _configure(self, payload: dict[str, Any]) -> dict[str, Any]:
        unknown = set(payload) - set(self.config())
        if unknown:
            raise CommandError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        with self.store.transaction():
            stored = self.store.get(CONFIG, "property", {})
            self.store.put(CONFIG, "property", {**stored, **payload})
        return self.config()

    def _fail_updates(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.store.put(CONFIG, "fail_updates", int(payload.get("count", 1)))
        return {"fail_updates": self.store.get(CONFIG, "fail_updates")}

    def _expire_tokens(self, payload: dict[str, Any]) -> dict[str, Any]:
        tokens = [key for key, _ in self.store.items(TOKENS)]
        for token in tokens:
            self.store.put(TOKENS, token, 0)
        return {"expired": len(tokens)}

    def _held(self, payload: dict[str, Any]) -> dict[str, Any]:
        start = date.fromisoformat(payload["start"])
        end = date.fromisoformat(payload.get("end") or payload["start"])
        room, rate = str(payload["room_id"]), str(payload.get("rate_id") or "")
        held = self.store.get(ARI, _product(room, rate), {})
        days, day = {}, start
        while day <= end:
            days[day.isoformat()] = held.get(day.isoformat())
            day += timedelta(days=1)
        return days

    def _price(self, room: str, rate: str, day: date, given: Any) -> int:
        if given:
            return int(given)
        held = self.store.get(ARI, _product(room, rate), {}).get(day.isoformat()) or {}
        if "price" in held:
            return codec.minor_units(held["price"], self.config()["currency"])
        return DEFAULT_PRICE

    def _stay(self, spec: dict[str, Any], record: dict[str, Any] | None = None) -> dict[str, Any]:
        cfg = self.config()
        base = record or {}
        first = cfg["products"][0] if cfg["products"] else ["", ""]
        room = str(spec.get("room_id") or base.get("room_id") or first[0])
        rate = str(spec.get("rate_id") or base.get("rateplan_id") or first[1])
        arrival = date.fromisoformat(
            spec.get("check_in")
            or base.get("arrival")
            or (codec.agoda_today() + timedelta(days=7)).isoformat()
        )
        old_nights = len(base.get("nights", ())) or 2
        nights = int(spec.get("nights") or old_nights)
        if nights < 1:
            raise CommandError("nights must be at least 1")
        count = int(spec.get("room_count") or base.get("room_count") or 1)
        return {
            "room_id": room,
            "rateplan_id": rate,
            "arrival": arrival.isoformat(),
            "departure": (arrival + timedelta(days=nights)).isoformat(),
            "room_count": count,
            "adults": int(spec.get("adults") or base.get("adults") or 2),
            "children": int(spec.get("children") or base.get("children") or 0),
            "currency": str(spec.get("currency") or base.get("currency") or cfg["currency"]),
            "nights": [
                [
                    (arrival + timedelta(days=n)).isoformat(),
                    count * self._price(room, rate, arrival + timedelta(days=n), spec.get("price")),
                ]
                for n in range(nights)
            ],
        }

    def _new(self, payload: dict[str, Any]) -> dict[str, Any]:
        cfg = self.config()
        now = _now().isoformat(timespec="seconds")
        with self.store.transaction():
            bid = str(payload.get("booking_id") or "")
            if not bid:
                bid = str(FIRST_BOOKING_ID - 1 + self.store.increment(COUNTS, "bookings"))
            if self.store.get(BOOKING, bid) is not None:
                raise CommandError(f"booking {bid} exists; use modify")
            record = {
                "id": bid,
                "property_id": cfg["property_id"],
                "status": codec.CONFIRM,
                "booking_date": now,
                "last_action": now,
                "customer": {
                    "given_name": "Somchai",
                    "surname": f"Guest {bid[-4:]}",
                    "country": "TH",
                    **payload.get("guest", {}),
                },
                "requests": list(payload.get("requests", [])),
                **self._stay(payload),
            }
            self.context.emit(bid, record)
        self._hint(record)
        return record

    def _change(self, bid: str, change: dict[str, Any]) -> dict[str, Any]:
        with self.store.transaction():
            record = self.store.get(BOOKING, bid)
            if record is None:
                raise CommandError(f"no booking {bid}")
            if record["status"] == codec.CANCEL:
                raise CommandError(f"booking {bid} is cancelled")
            now = _now()
            last = datetime.fromisoformat(record["last_action"])
            # Revisions are whole seconds: a change never shares one with the last.
            moment = max(now, last + timedelta(seconds=1)).replace(microsecond=0)
            record.update(change, last_action=moment.isoformat())
            self.context.emit(bid, record)
        self._hint(record)
        return record

    def _modify(self, payload: dict[str, Any]) -> dict[str, Any]:
        bid = str(payload["booking_id"])
        record = self.store.get(BOOKING, bid)
        if record is None:
            raise CommandError(f"no booking {bid}")
        return self._change(bid, {**self._stay(payload, record), "status": codec.AMEND})

    def _cancel(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self._change(str(payload["booking_id"]), {"status": codec.CANCEL})

    # ---------------------------------------------------------------- control

    def snapshot(self) -> dict[str, Any]:
        cfg = self.config()
        hidden = ("api_key", "client_secret")
        return {
            "property": {k: v for k, v in cfg.items() if k not in hidden},
            "ari_days": sum(len(days) for _, days in self.store.items(ARI)),
            "bookings": self._records(),
            "hints": dict(self.store.items(HINTS)),
            "warnings": dict(self.store.items(WARNINGS)),
            "counts": dict(self.store.items(COUNTS)),
        }

    def describe(self) -> str:
        cfg = self.config()
        return f"property {cfg['property_id']} in {cfg['currency']}"

    def error_response(self, status: int) -> Response:
        body = codec.build_result(errors=[_err(TRANSIENT_CODE)], tuid=secrets.token_hex(8))
        return Response(status=status, body=body, content_type=XML)

    def too_large_response(self, request: Request) -> Response:
        body = codec.build_result(
            errors=[AgodaError(code="1004", description="Request size is over 1 MB")]
        )
        return Response(status=413, body=body, content_type=XML)

    def malformed_response(self) -> Response:
        return Response(status=200, body=b'<?xml version="1.0"?>\n<result TUID="')


__all__ = ["AgodaSimulator", "check_update"]
