"""The Expedia QuickConnect simulator, on the sandbox harness (§2.6 of the partner notes).

Served under ``/expedia/`` by ``manage.py runsandbox``; base URL
``http://<sandbox>/expedia``. Three endpoints, all ``POST`` with
``Content-Type: text/xml``:

- ``/expedia/eqc/ar``: an ``AvailRateUpdateRQ`` is checked whole before anything
  is applied (:func:`check_ar`): namespace (2011/06, or 2007/02 without a
  repeated ``AvailRateUpdate``), authentication (username 4-30, password 6-30,
  case-sensitive), the hotel owned by the account, at most 5,000 updates,
  each ``DateRange`` within yesterday .. two years and a day ahead, room and
  rate ids of the hotel (3203, 3204; the rate plan under its room type),
  exactly one of ``flexibleAllocation`` / ``totalInventoryAvailable`` in
  0..4999, the property's currency and its one price form, ``lengthOfStay``
  only with several ``Rate`` elements, rates >= 0 of at most 16 digits,
  ``minLOS`` 1..28 and within the configured maximum (3135), ``minLOS <=
  maxLOS`` once merged with what is held. Any failure answers ``Error``
  elements and applies nothing. Prices outside a room type's configured
  thresholds answer ``Warning code="7013"`` per date (at most 20) and are not
  applied; everything else is. Above the configured requests per minute it
  answers HTTP 429 with ``Retry-After``.
- ``/expedia/eqc/br``: a ``BookingRetrievalRQ`` (2014/01) with exactly one kind
  of parameter (``Status`` up to three of pending/retrieved/confirmed,
  ``Booking@id``, or ``NbDaysInPast`` 1..30) returns at most 125 bookings,
  newest first. Each booking shows only its first unconfirmed transaction:
  the next is released once that one is confirmed. A pending transaction
  becomes retrieved when returned. Cancellations carry zeroed ids and amounts.
- ``/expedia/eqc/bc``: a ``BookingConfirmRQ`` (2007/09) confirms transactions
  that were delivered (id and type must match, a non-empty ``confirmNumber``
  and an ISO ``confirmTime``); a booking of another hotel, or a transaction
  never retrieved, answers ``Warning code="10081"`` for it. A confirmed
  transaction's number may be updated until 8 days after departure.

Unconfirmed transactions expire to "email" (and are no longer retrievable):
same-day arrivals 30 minutes after they were made, next-day 60 minutes,
others 24 hours. The clock can be moved on (``advance``) to see it happen.

Control commands (``POST /_control/expedia/<command>``): ``configure`` (the
account, property, products, pricing model, price thresholds, a rate limit,
``bc_unavailable``), ``book``, ``modify``, ``cancel``, ``ari`` (what is held per
room, rate and day), ``advance`` (the clock, in minutes).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings

from channels.interface import GuestDetails, Night
from partners.expedia import codec
from partners.expedia.codec import CANCEL, Issue
from sandbox.simulator import CommandError, Request, Response, Simulator

XML = "text/xml; charset=utf-8"
ARI, BOOKING, CONFIG, COUNTS = "ari", "booking", "config", "counts"
FIRST_BOOKING_ID = 848_483_849_001
DEFAULT_PRICE = 450_000  # minor units, when no price is held for the night
MAX_WARNINGS_PER_CODE = 20
PENDING, RETRIEVED, CONFIRMED, EMAIL = "pending", "retrieved", "confirmed", "email"


def _key(room: str, rate: str | None) -> str:
    return f"{room}|{rate or ''}"


class HeldAri:
    """What the simulator holds for the products one request touches: one stored
    document per product (room, or room x rate), its days by date, read once and
    written once per request."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.docs: dict[str, dict[str, dict]] = {}

    def _doc(self, room: str, rate: str | None) -> dict[str, dict]:
        key = _key(room, rate)
        if key not in self.docs:
            self.docs[key] = self.store.get(ARI, key) or {}
        return self.docs[key]

    def peek(self, room: str, rate: str | None, day: date) -> dict:
        return self._doc(room, rate).get(day.isoformat()) or {}

    def day(self, room: str, rate: str | None, day: date) -> dict:
        return self._doc(room, rate).setdefault(day.isoformat(), {})

    def save(self) -> None:
        for key, doc in self.docs.items():
            self.store.put(ARI, key, doc)


def _days(span) -> list[date]:
    out, day = [], span.start
    while day <= span.end:
        if span.weekdays is None or day.weekday() in span.weekdays:
            out.append(day)
        day += timedelta(days=1)
    return out


def _err(code: str, text: str) -> Issue:
    return Issue(code=code, text=text)


# ---------------------------------------------------------------------- AR checks


def check_auth(
    username: str | None, password: str | None, hotel_id: str | None, cfg: dict[str, Any]
) -> list[Issue]:
    """§2.6 AR 3 (and BR/BC 1): the account, then the hotel it owns."""
    if not username or not 4 <= len(username) <= 30 or not password or not 6 <= len(password) <= 30:
        return [_err("1001", "Authentication failed: username 4-30 and password 6-30 characters.")]
    if username != cfg["username"] or password != cfg["password"]:
        return [_err("1002", "Authentication failed: unknown username or wrong password.")]
    if hotel_id is not None and not (hotel_id.isdigit() and len(hotel_id) <= 14):
        return [_err("3201", f"Hotel id {hotel_id!r} is not a number of up to 14 digits.")]
    if hotel_id is not None and hotel_id != cfg["hotel_id"]:
        return [_err("3202", f"Hotel {hotel_id} is not assigned to user {username}.")]
    return []


def check_ar(
    request: codec.ArRequest, cfg: dict[str, Any], held: HeldAri, today: date
) -> list[Issue]:
    """Every §2.6 AR check that refuses the whole message (nothing applied)."""
    if request.namespace == codec.AR_NS_2007 and len(request.updates) > 1:
        ranges = {(u.room_id, u.span) for u in request.updates}
        if len(ranges) > 1:
            return [_err("2001", "AvailRateUpdate does not repeat in the 2007/02 namespace.")]
    errors = check_auth(request.username, request.password, request.hotel_id or "", cfg)
    if errors:
        return errors
    count = sum(u.updates for u in request.updates)
    if count > codec.MAX_UPDATES:
        return [_err("3010", f"{count} updates; a message carries at most {codec.MAX_UPDATES}.")]
    first, last = today - timedelta(days=1), today + timedelta(days=codec.HORIZON_DAYS)
    products = {(room, rate) for room, rate in cfg["products"]}
    rooms = {room for room, _ in products}
    bad_rooms, bad_rates = [], []
    for update in request.updates:
        span = update.span
        if span.start < first or span.end > last:
            errors.append(
                _err("3101", f"DateRange {span.start}..{span.end} outside {first}..{last}.")
            )
        if len(update.room_id) > 50 or update.room_id not in rooms:
            bad_rooms.append(update.room_id)
            continue
        if update.total_inventory is not None and update.flexible_allocation is not None:
            errors.append(
                _err(
                    "3110",
                    "Inventory takes flexibleAllocation or totalInventoryAvailable, not both.",
                )
            )
        for value in (update.total_inventory, update.flexible_allocation):
            if value is not None and not 0 <= value <= codec.MAX_INVENTORY:
                errors.append(_err("3111", f"Inventory {value} is not within 0..4999."))
        for plan in update.rate_plans:
            if len(plan.rate_id) > 50 or (update.room_id, plan.rate_id) not in products:
                bad_rates.append(plan.rate_id)
                continue
            errors += _check_rates(plan, cfg)
            errors += _check_restrictions(update, plan, cfg, held)
    if bad_rooms:
        errors.append(
            _err(
                "3203",
                "The following RoomTypeIDs do not belong to the given hotel: "
                f"{', '.join(dict.fromkeys(bad_rooms))}.",
            )
        )
    if bad_rates:
        errors.append(
            _err(
                "3204",
                "The following RatePlanIDs do not belong to the given hotel: "
                f"{', '.join(dict.fromkeys(bad_rates))}.",
            )
        )
    return errors


def _check_rates(plan: codec.RatePlanUpdate, cfg: dict[str, Any]) -> list[Issue]:
    errors = []
    form = "PerOccupancy" if cfg["pricing"] == codec.PER_OCCUPANCY else "PerDay"
    if len(plan.rates) > 1 and any(r.length_of_stay is None for r in plan.rates):
        errors.append(
            _err("3122", "Several Rate elements only with lengthOfStay (per-LOS pricing).")
        )
    if len(plan.rates) > 28:
        errors.append(_err("3122", "At most 28 Rate elements."))
    for rate in plan.rates:
        if rate.currency != cfg["currency"]:
            errors.append(
                _err(
                    "3120",
                    f"Rate currency {rate.currency or '(none)'} is not the property's "
                    f"{cfg['currency']}.",
                )
            )
        if rate.prices and rate.form != form:
            errors.append(
                _err(
                    "3121",
                    f"The property is priced {cfg['pricing']}: send {form}, not {rate.form}.",
                )
            )
        if rate.length_of_stay is not None and not 1 <= rate.length_of_stay <= 28:
            errors.append(_err("3122", f"lengthOfStay {rate.length_of_stay} is not within 1..28."))
        for _, price in rate.prices:
            if price < 0 or len(str(price)) > 16:
                errors.append(_err("3123", f"Rate {price} is below 0 or longer than 16 digits."))
    return errors


def _check_restrictions(
    update: codec.AvailRateUpdate,
    plan: codec.RatePlanUpdate,
    cfg: dict[str, Any],
    held: HeldAri,
) -> list[Issue]:
    errors = []
    if plan.min_los is not None:
        if not 1 <= plan.min_los <= 28:
            return [_err("3134", f"minLOS {plan.min_los} is not within 1..28.")]
        if plan.min_los > cfg["max_los"]:
            return [
                _err(
                    "3135", f"minLOS {plan.min_los} is above the hotel's maximum {cfg['max_los']}."
                )
            ]
    if plan.max_los is not None and not 1 <= plan.max_los <= 28:
        return [_err("3134", f"maxLOS {plan.max_los} is not within 1..28.")]
    if plan.min_los is None and plan.max_los is None:
        return errors
    for day in _days(update.span):
        state = held.peek(update.room_id, plan.rate_id, day)
        low = plan.min_los if plan.min_los is not None else state.get("min_los", 1)
        high = plan.max_los if plan.max_los is not None else state.get("max_los", 28)
        if low > high:
            return [_err("3136", f"{day}: minLOS {low} above maxLOS {high} once merged.")]
    return errors


def _threshold_warnings(
    update: codec.AvailRateUpdate, plan: codec.RatePlanUpdate, cfg: dict[str, Any], seen: dict
) -> tuple[bool, list[Issue]]:
    """(refused, warnings): prices outside the room type's thresholds (§2.6 AR 10)."""
    limits = cfg["thresholds"].get(update.room_id)
    if not limits or not plan.rates:
        return False, []
    low, high = limits
    prices = [p for rate in plan.rates for _, p in rate.prices]
    if all(low <= p <= high for p in prices):
        return False, []
    warnings = []
    for day in _days(update.span):
        seen["7013"] = seen.get("7013", 0) + 1
        if seen["7013"] <= MAX_WARNINGS_PER_CODE:
            warnings.append(
                _err(
                    "7013",
                    f"[Room Type ID {update.room_id}; Rate Plan ID {plan.rate_id}; "
                    f"Stay Date {day}] "
                    "One or more costs provided are out of threshold for an identified room type.",
                )
            )
    return True, warnings


# ---------------------------------------------------------------------- the simulator


class ExpediaSimulator(Simulator):
    """Expedia's AR, BR and BC endpoints as §2.6 of the partner notes describes them."""

    title = "Expedia QuickConnect"

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self._lock = threading.Lock()
        self._calls: list[float] = []

    # ---------------------------------------------------------------- config
    def config(self) -> dict[str, Any]:
        defaults = {
            "hotel_id": settings.EXPEDIA_SANDBOX_HOTEL_ID,
            "username": settings.EXPEDIA_SANDBOX_USERNAME,
            "password": settings.EXPEDIA_SANDBOX_PASSWORD,
            "currency": settings.EXPEDIA_SANDBOX_CURRENCY,
            "products": [
                [room, rate]
                for room in settings.BOOKING_SANDBOX_ROOMS
                for rate in settings.BOOKING_SANDBOX_RATES
            ],
            "pricing": codec.PER_DAY,
            "max_los": 28,
            # room id -> [lowest, highest] price in minor units (Expedia's rate verification)
            "thresholds": {},
            # AR requests a minute before 429 (0: no limit)
            "rate_limit_per_minute": 0,
            "clock_offset_seconds": 0,
            # BC alone answers HTTP 503 (bookings are read but cannot be confirmed)
            "bc_unavailable": False,
        }
        return {**defaults, **self.store.get(CONFIG, "property", {})}

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.config()["clock_offset_seconds"])

    # ------------------------------------------------------------------ HTTP
    def handle(self, request: Request) -> Response:
        path = request.path.strip("/")
        handlers = {codec.AR_PATH: self._ar, codec.BR_PATH: self._br, codec.BC_PATH: self._bc}
        if path not in handlers:
            return Response(status=404, body=b"not found\n", content_type="text/plain")
        self.store.increment(COUNTS, f"{request.method} {path}")
        if request.method != "POST":
            return Response(status=405, body=b"use POST\n", content_type="text/plain")
        if not request.header("Content-Type").lower().startswith("text/xml"):
            return Response(
                status=400, body=b"Content-Type must be text/xml\n", content_type="text/plain"
            )
        return handlers[path](request)

    def _answer(self, body: bytes) -> Response:
        return Response(status=200, body=body, content_type=XML)

    def _limited(self) -> Response | None:
        limit = self.config()["rate_limit_per_minute"]
        if not limit:
            return None
        now = time.monotonic()
        with self._lock:
            self._calls = [t for t in self._calls if now - t < 60]
            if len(self._calls) >= limit:
                retry = max(1, int(60 - (now - self._calls[0])) + 1)
                self.store.increment(COUNTS, "429")
                return Response(
                    status=429,
                    body=b"Too many requests\n",
                    content_type="text/plain",
                    headers={"Retry-After": str(retry)},
                )
            self._calls.append(now)
        return None

    # -------------------------------------------------------------------- AR
    def _ar(self, request: Request) -> Response:
        if (limited := self._limited()) is not None:
            return limited
        try:
            parsed = codec.parse_ar_request(request.body)
        except (codec.ExpediaCodecError, ValueError) as exc:
            return self._answer(
                codec.build_ar_response(errors=[_err("2000", f"Invalid request: {exc}")])
            )
        cfg = self.config()
        with self._lock, self.store.transaction():
            held = HeldAri(self.store)
            errors = check_ar(parsed, cfg, held, self.now().date())
            if errors:
                self.store.increment(COUNTS, "ar errors")
                return self._answer(codec.build_ar_response(errors=errors))
            warnings: list[Issue] = []
            seen: dict[str, int] = {}
            for update in parsed.updates:
                warnings += self._apply(update, cfg, held, seen)
            held.save()
        return self._answer(codec.build_ar_response(warnings=warnings))

    def _apply(self, update, cfg, held: HeldAri, seen: dict) -> list[Issue]:
        days = _days(update.span)
        for day in days:
            room = held.day(update.room_id, None, day)
            if update.closed is not None:
                room["closed"] = update.closed
            if update.total_inventory is not None:
                room["total_inventory"] = update.total_inventory
            if update.flexible_allocation is not None:
                room["flexible_allocation"] = update.flexible_allocation
        warnings = []
        for plan in update.rate_plans:
            refused, found = _threshold_warnings(update, plan, cfg, seen)
            warnings += found
            for day in days:
                state = held.day(update.room_id, plan.rate_id, day)
                if plan.closed is not None:
                    state["closed"] = plan.closed
                for name in ("min_los", "max_los", "closed_to_arrival", "closed_to_departure"):
                    if getattr(plan, name) is not None:
                        state[name] = getattr(plan, name)
                if plan.rates and not refused:
                    state["prices"] = {str(o): p for rate in plan.rates for o, p in rate.prices}
        return warnings

    # -------------------------------------------------------------------- BR
    def _br(self, request: Request) -> Response:
        try:
            parsed = codec.parse_br_request(request.body)
        except (codec.ExpediaCodecError, ValueError) as exc:
            return self._answer(
                codec.build_br_response([], errors=[_err("2000", f"Invalid request: {exc}")])
            )
        cfg = self.config()
        errors = check_auth(parsed.username, parsed.password, parsed.hotel_id, cfg)
        errors = errors or _check_params(parsed)
        if errors:
            return self._answer(codec.build_br_response([], errors=errors))
        now = self.now()
        chosen = []
        with self.store.transaction():
            self._expire(now)
            for _, record in reversed(self.store.items(BOOKING)):
                if parsed.booking_id is not None and record["id"] != parsed.booking_id:
                    continue
                found = self._released(record, parsed, now)
                if found is None:
                    continue
                chosen.append((record, dict(found)))  # as it stood when returned
                if found["status"] == PENDING:
                    found["status"] = RETRIEVED  # on its first return
                found["retrievals"] = found.get("retrievals", 0) + 1
                self.store.put(BOOKING, record["id"], record)
        chosen.sort(key=lambda pair: pair[1]["created_at"], reverse=True)
        bookings = [self._booking(r, t) for r, t in chosen[: codec.BOOKINGS_PER_RETRIEVAL]]
        return self._answer(codec.build_br_response(bookings))

    def _released(self, record: dict, parsed: codec.BrRequest, now: datetime) -> dict | None:
        """The transaction of ``record`` the request sees: the first unconfirmed one."""
        statuses = set(parsed.statuses) or {PENDING, RETRIEVED}
        if parsed.booking_id is not None:
            statuses = {PENDING, RETRIEVED, CONFIRMED}
        waiting = [t for t in record["transactions"] if t["status"] in (PENDING, RETRIEVED)]
        if waiting:
            return waiting[0] if waiting[0]["status"] in statuses else None
        if CONFIRMED in statuses or parsed.days_in_past:
            days = parsed.days_in_past or 30
            done = [t for t in record["transactions"] if t["status"] == CONFIRMED]
            if done and datetime.fromisoformat(done[-1]["created_at"]) >= now - timedelta(
                days=days
            ):
                return done[-1]
        return None

    def _expire(self, now: datetime) -> None:
        for _, record in self.store.items(BOOKING):
            changed = False
            for t in record["transactions"]:
                if t["status"] in (PENDING, RETRIEVED) and now >= _deadline(t):
                    t["status"] = EMAIL
                    changed = True
            if changed:
                self.store.increment(COUNTS, "expired to email")
                self.store.put(BOOKING, record["id"], record)

    def _booking(self, record: dict, t: dict) -> codec.ExpediaBooking:
        cancel = t["type"] == CANCEL
        currency = record["currency"]
        nights = tuple(Night(date.fromisoformat(d), 0 if cancel else p) for d, p in t["nights"])
        return codec.ExpediaBooking(
            booking_id=record["id"],
            booking_type=t["type"],
            created_at=datetime.fromisoformat(t["created_at"]),
            hotel_id=record["hotel_id"],
            room_id="0" if cancel else t["room_id"],
            rate_id="0" if cancel else t["rate_id"],
            arrival=date.fromisoformat(t["arrival"]),
            departure=date.fromisoformat(t["departure"]),
            adults=t["adults"],
            currency=currency,
            nights=nights,
            total=0 if cancel else sum(p for _, p in t["nights"]),
            source="Expedia",
            status=t["status"],
            confirm_number=t.get("confirm_number") or "",
            guest=GuestDetails(**record["guest"]),
        )

    # -------------------------------------------------------------------- BC
    def _bc(self, request: Request) -> Response:
        if self.config()["bc_unavailable"]:
            self.store.increment(COUNTS, "bc 503")
            return Response(status=503, body=b"BC unavailable\n", content_type="text/plain")
        try:
            parsed = codec.parse_bc_request(request.body)
        except (codec.ExpediaCodecError, ValueError) as exc:
            return self._answer(
                codec.build_bc_response(errors=[_err("2000", f"Invalid request: {exc}")])
            )
        cfg = self.config()
        errors = check_auth(parsed.username, parsed.password, parsed.hotel_id, cfg)
        if not errors and not parsed.confirmations:
            errors = [_err("2002", "BookingConfirmNumbers holds no BookingConfirmNumber.")]
        if errors:
            return self._answer(codec.build_bc_response(errors=errors))
        warnings = []
        now = self.now()
        with self.store.transaction():
            self._expire(now)
            for c in parsed.confirmations:
                refusal = self._confirm(c, now)
                if refusal:
                    warnings.append(
                        Issue(
                            "10081", refusal, booking_id=c.booking_id, booking_type=c.booking_type
                        )
                    )
        self.store.increment(COUNTS, "confirmed", len(parsed.confirmations) - len(warnings))
        return self._answer(codec.build_bc_response(warnings=warnings))

    def _confirm(self, c: codec.Confirmation, now: datetime) -> str:
        """Confirm one transaction; the reason it is refused (empty: confirmed)."""
        if c.booking_type not in codec.BOOKING_TYPES or not c.confirm_number.strip():
            return (
                "Update refused. bookingType is Book, Modify or Cancel and confirmNumber "
                "is required."
            )
        if c.confirm_time.tzinfo is None:
            return "Update refused. confirmTime is an ISO time with its zone."
        record = self.store.get(BOOKING, c.booking_id)
        if record is None or record["hotel_id"] != self.config()["hotel_id"]:
            return "Update refused. Hotel ID and Booking ID mismatch."
        delivered = next(
            (
                t
                for t in record["transactions"]
                if t["status"] in (RETRIEVED, CONFIRMED) and t["type"] == c.booking_type
            ),
            None,
        )
        current = next(
            (t for t in record["transactions"] if t["status"] in (PENDING, RETRIEVED)), None
        )
        if (
            current is not None
            and current["status"] == RETRIEVED
            and current["type"] == c.booking_type
        ):
            target = current
        elif delivered is not None and delivered["status"] == CONFIRMED:
            # A confirmation number update, until 8 days after departure.
            departure = date.fromisoformat(delivered["departure"])
            if now.date() > departure + timedelta(days=8):
                return (
                    "Update refused. Confirmation numbers can be updated until 8 days "
                    "after departure."
                )
            target = delivered
        else:
            return f"Update refused. No {c.booking_type} transaction of this booking was retrieved."
        target.update(
            status=CONFIRMED,
            confirm_number=c.confirm_number,
            confirmed_at=c.confirm_time.isoformat(),
        )
        self.store.put(BOOKING, record["id"], record)
        return ""

    # --------------------------------------------------------------- commands
    def command(self, name: str, payload: dict[str, Any]) -> Any:
        handlers = {
            "configure": self._configure,
            "book": self._book,
            "modify": self._modify,
            "cancel": self._cancel,
            "ari": self._held,
            "advance": self._advance,
        }
        if name not in handlers:
            raise CommandError(f"unknown command {name!r}; known: {', '.join(sorted(handlers))}")
        try:
            return handlers[name](payload)
        except CommandError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise CommandError(f"{name}: bad payload ({exc!r})") from exc

    def _configure(self, payload: dict[str, Any]) -> dict[str, Any]:
        unknown = set(payload) - set(self.config())
        if unknown:
            raise CommandError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        with self.store.transaction():
            self.store.put(
                CONFIG, "property", {**self.store.get(CONFIG, "property", {}), **payload}
            )
        return {k: v for k, v in self.config().items() if k != "password"}

    def _advance(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Move the simulator's clock on (expiry timers), by ``minutes``."""
        offset = self.config()["clock_offset_seconds"] + int(float(payload["minutes"]) * 60)
        self._configure({"clock_offset_seconds": offset})
        with self.store.transaction():
            self._expire(self.now())
        return {"now": self.now().isoformat()}

    def _transaction(self, kind: str, spec: dict[str, Any], base: dict | None = None) -> dict:
        base = base or {}
        products = self.config()["products"]
        if not products:
            raise CommandError("the property has no products; configure some")
        room_id = str(spec.get("room_id") or base.get("room_id") or products[0][0])
        rate_id = str(spec.get("rate_id") or base.get("rate_id") or products[0][1])
        check_in = date.fromisoformat(
            spec.get("check_in")
            or base.get("arrival")
            or (self.now().date() + timedelta(days=7)).isoformat()
        )
        nights = int(spec.get("nights") or (len(base["nights"]) if base else 2))
        if nights < 1:
            raise CommandError("nights must be at least 1")
        prices = []
        for n in range(nights):
            day = check_in + timedelta(days=n)
            held = (self.store.get(ARI, _key(room_id, rate_id)) or {}).get(day.isoformat()) or {}
            price = spec.get("price") or min((held.get("prices") or {"0": DEFAULT_PRICE}).values())
            prices.append([day.isoformat(), int(price)])
        return {
            "type": kind,
            "created_at": self.now().isoformat(),
            "room_id": room_id,
            "rate_id": rate_id,
            "arrival": check_in.isoformat(),
            "departure": (check_in + timedelta(days=nights)).isoformat(),
            "adults": int(spec.get("adults") or base.get("adults") or 2),
            "nights": prices,
            "status": PENDING,
            "confirm_number": "",
            "retrievals": 0,
        }

    def _book(self, payload: dict[str, Any]) -> dict[str, Any]:
        cfg = self.config()
        with self.store.transaction():
            bid = str(payload.get("booking_id") or "")
            if not bid:
                bid = str(FIRST_BOOKING_ID - 1 + self.store.increment(COUNTS, "bookings"))
            if self.store.get(BOOKING, bid) is not None:
                raise CommandError(f"booking {bid} exists; use modify")
            record = {
                "id": bid,
                "hotel_id": str(payload.get("hotel_id") or cfg["hotel_id"]),
                "currency": str(payload.get("currency") or cfg["currency"]),
                "guest": {
                    "given_name": "Maya",
                    "surname": f"Guest {bid[-4:]}",
                    "email": f"guest{bid}@example.com",
                    **payload.get("guest", {}),
                },
                "transactions": [self._transaction(codec.BOOK, payload)],
            }
            self.store.put(BOOKING, bid, record)
        return record

    def _record(self, payload: dict[str, Any]) -> dict[str, Any]:
        record = self.store.get(BOOKING, str(payload["booking_id"]))
        if record is None:
            raise CommandError(f"no booking {payload['booking_id']}")
        if record["transactions"][-1]["type"] == CANCEL:
            raise CommandError(f"booking {record['id']} is cancelled")
        return record

    def _modify(self, payload: dict[str, Any]) -> dict[str, Any]:
        with self.store.transaction():
            record = self._record(payload)
            last = record["transactions"][-1]
            record["transactions"].append(self._transaction(codec.MODIFY, payload, last))
            self.store.put(BOOKING, record["id"], record)
        return record

    def _cancel(self, payload: dict[str, Any]) -> dict[str, Any]:
        with self.store.transaction():
            record = self._record(payload)
            last = record["transactions"][-1]
            cancel = {**self._transaction(CANCEL, {}, last), "nights": last["nights"]}
            record["transactions"].append(cancel)
            self.store.put(BOOKING, record["id"], record)
        return record

    def _held(self, payload: dict[str, Any]) -> dict[str, Any]:
        start = date.fromisoformat(payload["start"])
        end = date.fromisoformat(payload.get("end") or payload["start"])
        doc = self.store.get(ARI, _key(payload["room_id"], payload.get("rate_id"))) or {}
        days, day = {}, start
        while day <= end:
            days[day.isoformat()] = doc.get(day.isoformat())
            day += timedelta(days=1)
        return days

    # ---------------------------------------------------------------- control
    def snapshot(self) -> dict[str, Any]:
        return {
            "property": {k: v for k, v in self.config().items() if k != "password"},
            "now": self.now().isoformat(),
            "bookings": [doc for _, doc in self.store.items(BOOKING)],
            "counts": dict(self.store.items(COUNTS)),
            "ari_products": self.store.count(ARI),
        }

    def error_response(self, status: int) -> Response:
        body = codec.build_ar_response(
            errors=[_err("3210", f"Forced HTTP {status} (sandbox fault)")]
        )
        return Response(status=status, body=body, content_type=XML)

    def malformed_response(self) -> Response:
        return Response(status=200, body=b'<?xml version="1.0"?>\n<AvailRateUpdateRS xmlns="ht')


def _check_params(parsed: codec.BrRequest) -> list[Issue]:
    """§2.6 BR 2: one kind of parameter; Booking@id xor NbDaysInPast; Status values."""
    kinds = set(parsed.kinds)
    if not kinds or kinds - {"Status", "Booking", "NbDaysInPast"}:
        return [
            _err("2003", f"ParamSet holds Status, Booking or NbDaysInPast, not {sorted(kinds)}.")
        ]
    if "Booking" in kinds and len(kinds) > 1:
        return [_err("2003", "ParamSet holds one kind of parameter: Booking@id stands alone.")]
    if parsed.days_in_past is not None and not 1 <= parsed.days_in_past <= 30:
        return [_err("2004", f"NbDaysInPast {parsed.days_in_past} is not within 1..30.")]
    statuses = parsed.statuses
    if (
        len(statuses) > 3
        or len(set(statuses)) != len(statuses)
        or not set(statuses) <= set(codec.STATUSES)
    ):
        return [
            _err(
                "2005", f"Status takes up to 3 distinct values of {codec.STATUSES}, not {statuses}."
            )
        ]
    return []


def _deadline(t: dict[str, Any]) -> datetime:
    """When an unconfirmed transaction reverts to email (EX-BC-REF)."""
    made = datetime.fromisoformat(t["created_at"])
    days_ahead = (date.fromisoformat(t["arrival"]) - made.date()).days
    if days_ahead <= 0:
        return made + timedelta(minutes=30)
    if days_ahead == 1:
        return made + timedelta(minutes=60)
    return made + timedelta(hours=24)


__all__: Sequence[str] = ["ExpediaSimulator", "check_ar", "check_auth"]
