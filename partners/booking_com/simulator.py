"""The Booking.com simulator, on the sandbox harness: a thin layer over :mod:`rules`.

Served under ``/booking_com/`` by ``manage.py runsandbox``. One port stands for
Booking's two hosts, so the host is a path prefix:

- ``/booking_com/hotels/ota/OTA_HotelAvailNotif`` and ``.../OTA_HotelRateAmountNotif``:
  the supply host (ARI). Base URL ``http://<sandbox>/booking_com``.
- ``/booking_com/secure/hotels/ota/OTA_HotelResNotif`` and ``.../OTA_HotelResModifyNotif``:
  the secure host (reservations; ``GET`` to pull, ``POST`` to acknowledge).
  Secure base URL ``http://<sandbox>/booking_com/secure``. A reservation call
  on the supply path is refused (403 ``SECURE_HOST_REQUIRED``).

Every request needs the machine account's Basic credentials (401 otherwise);
ARI needs ``POST``, ``Content-Type: application/xml`` and an ``Accept-Version``
of 1.0 or 1.1. Documents are checked against the 2011B schemas (from
``PEMA_OTA_DIR``) and then by :func:`rules.apply_avail_notif` /
:func:`rules.apply_rate_amount_notif`; what they change is held per room,
rate and date. Answers end in Booking's ``<!-- RUID: [...] -->`` comment.

Reservations are created through the control API (``POST
/_control/booking_com/<command>``): ``new``, ``multi_room``,
``past_availability``, ``unmapped``, ``modify``, ``cancel``; ``configure``
sets the property and the account; ``ari`` reads what is held. A GET returns
the queued messages of its endpoint; an ack goes through
:func:`rules.check_ack` (wrong endpoint 400, unknown id 403, changed since
the pull 409). Polling faster than every 20 s, within 5 s of an ack or
concurrently is counted as a warning (``state["warnings"]``), not refused.
A change made before the original was acknowledged stays a new-reservation
message (§1.9 reservations point 6); after it, it is queued on
``OTA_HotelResModifyNotif``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings

from channels.interface import GuestDetails, Night
from partners.booking_com import codec, rules
from partners.booking_com import reservations as bres
from partners.booking_com.codec import (
    AVAIL_NOTIF,
    AVAIL_NOTIF_RS,
    RATE_AMOUNT_NOTIF_RS,
    RES_MODIFY_NOTIF,
    RES_NOTIF,
    BookingIssue,
)
from partners.booking_com.rules import DayState, Key, Property, QueuedMessage
from pema.ota.schemas import RootSchema, ota_schemas
from sandbox.simulator import CommandError, Request, Response, Simulator

SUPPLY = "supply"
SECURE = "secure"
XML = "application/xml; charset=utf-8"
#: Kinds in the harness store.
ARI, RESERVATION, CONFIG, POLLING, WARNINGS, COUNTS = (
    "ari",
    "reservation",
    "config",
    "polling",
    "warnings",
    "counts",
)
FIRST_RESERVATION_ID = 4_000_000_001
DEFAULT_PRICE = 450_000  # minor units, when no price is held for the night
UNMAPPED_ROOM = "99999999"
CANCELLED = "Cancelled"
MODIFY = "Modify"


def schema_dir() -> Path:
    return ota_schemas.directory


def schema_for(root: str) -> RootSchema | None:
    """The 2011B schema of ``root`` (compiled once per process), None when not installed."""
    return ota_schemas[root] if ota_schemas.has(root) else None


def _key(room: str, rate: str | None, day: date) -> str:
    return f"{room}|{rate or ''}|{day.isoformat()}"


def _day_state(doc: dict[str, Any]) -> DayState:
    return DayState(**{**doc, "guest_prices": tuple(tuple(p) for p in doc["guest_prices"])})


class HeldAri(Mapping):
    """What the simulator holds, read from the store day by day as the rules ask."""

    def __init__(self, simulator: BookingSimulator) -> None:
        self.store = simulator.store

    def __getitem__(self, key: Key) -> DayState:
        doc = self.store.get(ARI, _key(*key))
        if doc is None:
            raise KeyError(key)
        return _day_state(doc)

    def __iter__(self) -> Iterator[Key]:
        for key, _ in self.store.items(ARI):
            room, rate, day = key.split("|")
            yield (room, rate or None, date.fromisoformat(day))

    def __len__(self) -> int:
        return self.store.count(ARI)


class BookingSimulator(Simulator):
    """Booking.com's supply and secure hosts as §1.9 of the partner notes describes them."""

    title = "Booking.com"

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        # ARI is applied as deltas over what is held: one request at a time.
        self._ari_lock = threading.Lock()
        self._pulls_lock = threading.Lock()
        self._pulls_in_flight = 0

    # ---------------------------------------------------------------- config

    def config(self) -> dict[str, Any]:
        defaults = {
            "hotel_id": settings.BOOKING_SANDBOX_HOTEL_ID,
            "currency": settings.BOOKING_SANDBOX_CURRENCY,
            "username": settings.BOOKING_SANDBOX_USERNAME,
            "password": settings.BOOKING_SANDBOX_PASSWORD,
            "test": False,
            "products": [
                [room, rate]
                for room in settings.BOOKING_SANDBOX_ROOMS
                for rate in settings.BOOKING_SANDBOX_RATES
            ],
            "pricing": {},
            "cancel_status": CANCELLED,
        }
        return {**defaults, **self.store.get(CONFIG, "property", {})}

    def property(self) -> Property:
        cfg = self.config()
        return Property(
            hotel_id=cfg["hotel_id"],
            currency=cfg["currency"],
            test=bool(cfg["test"]),
            products=frozenset((room, rate) for room, rate in cfg["products"]),
            pricing={tuple(k.split("|")): v for k, v in cfg["pricing"].items()},
        )

    # ------------------------------------------------------------------ HTTP

    def handle(self, request: Request) -> Response:
        parts = request.path.strip("/").split("/")
        host = SUPPLY
        if parts[:1] == [SECURE]:
            host, parts = SECURE, parts[1:]
        if parts[:2] != ["hotels", "ota"] or len(parts) != 3:
            return Response(status=404, body=b"not found\n", content_type="text/plain")
        endpoint = parts[2]
        self.store.increment(COUNTS, f"{request.method} {endpoint}")
        if endpoint in codec.ARI_ENDPOINTS and host == SUPPLY:
            return self._ari(request, endpoint)
        if endpoint in codec.RESERVATION_ENDPOINTS:
            refusal = rules.check_reservation_host(host, secure_host=SECURE)
            if refusal is not None:
                return self._reservation_refusal(endpoint, refusal)
            if request.method == "GET":
                return self._pull(request, endpoint)
            if request.method == "POST":
                return self._ack(request, endpoint)
            return Response(status=405, body=b"use GET or POST\n", content_type="text/plain")
        return Response(status=404, body=b"not found\n", content_type="text/plain")

    def _authorized(self, request: Request) -> rules.Verdict | None:
        cfg = self.config()
        return rules.check_authorization(request.headers, basic=(cfg["username"], cfg["password"]))

    def _ari(self, request: Request, endpoint: str) -> Response:
        name = AVAIL_NOTIF_RS if endpoint == AVAIL_NOTIF else RATE_AMOUNT_NOTIF_RS
        refusal = rules.check_http(request.method, request.headers) or self._authorized(request)
        if refusal is not None:
            body = codec.build_ari_response(name, errors=refusal.errors, ruid=codec.new_ruid())
            return Response(status=refusal.http_status, body=body, content_type=XML)
        apply = (
            rules.apply_avail_notif if endpoint == AVAIL_NOTIF else rules.apply_rate_amount_notif
        )
        root = codec.ROOTS[endpoint][0]
        with self._ari_lock, self.store.transaction():
            outcome = apply(
                request.body,
                self.property(),
                HeldAri(self),
                today=codec.booking_today(),
                schema=schema_for(root),
            )
            for (room, rate, day), state in outcome.updates.items():
                self.store.put(ARI, _key(room, rate, day), asdict(state))
        ruid = codec.new_ruid()
        self.store.put(COUNTS, f"last_ruid {endpoint}", ruid)
        return Response(status=outcome.http_status, body=outcome.body(endpoint, ruid=ruid))

    def _reservation_refusal(self, endpoint: str, verdict: rules.Verdict) -> Response:
        body = bres.build_ack_error(endpoint, verdict.errors, ruid=codec.new_ruid())
        return Response(status=verdict.http_status, body=body, content_type=XML)

    # -------------------------------------------------------------- reservations

    def _records(self) -> list[dict[str, Any]]:
        return [doc for _, doc in self.store.items(RESERVATION)]

    def _warn(self, found: tuple[BookingIssue, ...]) -> None:
        for warning in found:
            self.store.increment(WARNINGS, warning.code)

    def _moment(self, name: str) -> datetime | None:
        value = self.store.get(POLLING, name)
        return datetime.fromisoformat(value) if value else None

    def _pull(self, request: Request, endpoint: str) -> Response:
        if (refusal := self._authorized(request)) is not None:
            return self._reservation_refusal(endpoint, refusal)
        now = datetime.now(UTC)
        with self._pulls_lock:
            concurrent = self._pulls_in_flight > 0
            self._pulls_in_flight += 1
        try:
            self._warn(
                rules.polling_warnings(
                    now,
                    last_get=self._moment(f"get {endpoint}"),
                    last_ack=self._moment("ack"),
                    concurrent=concurrent,
                )
            )
            self.store.put(POLLING, f"get {endpoint}", now.isoformat())
            return self._pulled(request, endpoint)
        finally:
            with self._pulls_lock:
                self._pulls_in_flight -= 1

    def _pulled(self, request: Request, endpoint: str) -> Response:
        cfg = self.config()
        wanted_id = request.param("id")
        hotels = request.param("hotel_ids")
        hotel_ids = {h.strip() for h in hotels.split(",")} if hotels else {cfg["hotel_id"]}
        limit_text = request.param("limit") or str(codec.DEFAULT_MAX_MESSAGES)
        if not limit_text.isdigit() or int(limit_text) < 1:
            verdict = rules.Verdict(
                http_status=400,
                errors=(codec.issue("ATTRIBUTE_VALUE_DOES_NOT_MATCH_TYPE", "limit is a count."),),
            )
            return self._reservation_refusal(endpoint, verdict)
        limit = int(limit_text)
        chosen = []
        with self.store.transaction():
            for record in self._records():
                if not record["queued"] or record["endpoint"] != endpoint:
                    continue
                if record["hotel_id"] not in hotel_ids or wanted_id not in (None, record["id"]):
                    continue
                if len(chosen) >= limit:
                    break
                record["pulled_version"] = record["version"]
                record["retrievals"] += 1
                self.store.put(RESERVATION, record["id"], record)
                chosen.append(record)
        target = codec.TARGET_TEST if cfg["test"] else codec.TARGET_PRODUCTION
        body = bres.build_reservations(
            endpoint, [self._reservation(r) for r in chosen], target=target
        )
        return Response(status=200, body=body, content_type=XML)

    def _ack(self, request: Request, endpoint: str) -> Response:
        refusal = rules.check_http(request.method, request.headers) or self._authorized(request)
        if refusal is not None:
            return self._reservation_refusal(endpoint, refusal)
        with self.store.transaction():
            records = {r["id"]: r for r in self._records() if r["queued"]}
            queue = {rid: self._queued(r) for rid, r in records.items()}
            verdict = rules.check_ack(
                request.body,
                endpoint,
                queue=queue,
                hotels={self.config()["hotel_id"]},
                schema=schema_for(codec.ROOTS[endpoint][1]),
            )
            for rid in verdict.acknowledged:
                record = records[rid]
                record.update(queued=False, acked_version=record["version"])
                self.store.put(RESERVATION, rid, record)
            for rid in verdict.rejected:
                records[rid]["rejections"] += 1
                self.store.put(RESERVATION, rid, records[rid])
            self.store.put(POLLING, "ack", datetime.now(UTC).isoformat())
        if verdict.http_status >= 400:
            self.store.increment(COUNTS, f"ack refused {verdict.http_status}")
        return Response(
            status=verdict.http_status,
            body=verdict.body(endpoint, ruid=codec.new_ruid()),
            content_type=XML,
        )

    @staticmethod
    def _queued(record: dict[str, Any]) -> QueuedMessage:
        return QueuedMessage(
            reservation_id=record["id"],
            hotel_id=record["hotel_id"],
            endpoint=record["endpoint"],
            version=record["version"],
            pulled_version=record["pulled_version"],
        )

    @staticmethod
    def _reservation(record: dict[str, Any]) -> bres.BookingReservation:
        rooms = tuple(
            bres.BookingRoomStay(
                room_id=room["room_id"],
                rate_plan_code=room["rate_plan_code"],
                nights=tuple(Night(date.fromisoformat(d), price) for d, price in room["nights"]),
                adults=room["adults"],
                children=room["children"],
                index=str(n),
                guest=GuestDetails(**record["booker"]),
            )
            for n, room in enumerate(record["rooms"], start=1)
        )
        return bres.BookingReservation(
            reservation_id=record["id"],
            hotel_id=record["hotel_id"],
            currency=record["currency"],
            rooms=rooms,
            booker=GuestDetails(**record["booker"]),
            created_at=datetime.fromisoformat(record["created_at"]),
            modified_at=datetime.fromisoformat(record["modified_at"]),
            status=record["status"],
        )

    # --------------------------------------------------------------- commands

    def command(self, name: str, payload: dict[str, Any]) -> Any:
        handlers = {
            "configure": self._configure,
            "new": self._new,
            "multi_room": self._multi_room,
            "past_availability": self._past_availability,
            "unmapped": self._unmapped,
            "modify": self._modify,
            "cancel": self._cancel,
            "ari": self._held,
        }
        if name not in handlers:
            raise CommandError(f"unknown command {name!r}; known: {', '.join(sorted(handlers))}")
        try:
            return handlers[name](payload)
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, CommandError):
                raise
            raise CommandError(f"{name}: bad payload ({exc!r})") from exc

    def _configure(self, payload: dict[str, Any]) -> dict[str, Any]:
        known = set(self.config())
        unknown = set(payload) - known
        if unknown:
            raise CommandError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        with self.store.transaction():
            self.store.put(
                CONFIG, "property", {**self.store.get(CONFIG, "property", {}), **payload}
            )
        return self.config()

    def _held_day(self, room: str, rate: str | None, day: date) -> DayState | None:
        doc = self.store.get(ARI, _key(room, rate, day))
        return _day_state(doc) if doc else None

    def _held(self, payload: dict[str, Any]) -> dict[str, Any]:
        start = date.fromisoformat(payload["start"])
        end = date.fromisoformat(payload.get("end") or payload["start"])
        days = {}
        day = start
        while day <= end:
            held = self._held_day(payload["room_id"], payload.get("rate_id"), day)
            days[day.isoformat()] = asdict(held) if held else None
            day += timedelta(days=1)
        return days

    def _default_product(self) -> tuple[str, str]:
        products = sorted(self.property().products)
        if not products:
            raise CommandError("the property has no products; configure some")
        return products[0]

    def _room(self, spec: dict[str, Any]) -> dict[str, Any]:
        room_default, rate_default = self._default_product()
        room_id = str(spec.get("room_id") or room_default)
        rate_id = str(spec.get("rate_id") or rate_default)
        check_in = date.fromisoformat(
            spec.get("check_in") or (codec.booking_today() + timedelta(days=7)).isoformat()
        )
        nights = int(spec.get("nights") or 2)
        if nights < 1:
            raise CommandError("nights must be at least 1")
        prices = []
        for n in range(nights):
            day = check_in + timedelta(days=n)
            held = self._held_day(room_id, rate_id, day)
            price = spec.get("price") or (held.price if held and held.price else DEFAULT_PRICE)
            prices.append([day.isoformat(), int(price)])
        return {
            "room_id": room_id,
            "rate_plan_code": rate_id + (bres.VCC_SUFFIX if spec.get("vcc") else ""),
            "adults": int(spec.get("adults") or 2),
            "children": int(spec.get("children") or 0),
            "nights": prices,
        }

    def _create(self, payload: dict[str, Any], rooms: list[dict[str, Any]], tag: str) -> dict:
        cfg = self.config()
        now = datetime.now(UTC).isoformat()
        with self.store.transaction():
            rid = str(payload.get("reservation_id") or "")
            if not rid:
                rid = str(FIRST_RESERVATION_ID - 1 + self.store.increment(COUNTS, "reservations"))
            if self.store.get(RESERVATION, rid) is not None:
                raise CommandError(f"reservation {rid} exists; use modify")
            record = {
                "id": rid,
                "hotel_id": cfg["hotel_id"],
                "currency": str(payload.get("currency") or cfg["currency"]),
                "status": "",
                "rooms": rooms,
                "booker": {
                    "given_name": "Asha",
                    "surname": f"Guest {rid[-4:]}",
                    "email": f"guest{rid}@example.com",
                    **payload.get("guest", {}),
                },
                "created_at": now,
                "modified_at": now,
                "endpoint": RES_NOTIF,
                "version": 1,
                "pulled_version": None,
                "acked_version": None,
                "queued": True,
                "retrievals": 0,
                "rejections": 0,
                "kind": tag,
            }
            self.store.put(RESERVATION, rid, record)
        return record

    def _new(self, payload: dict[str, Any]) -> dict[str, Any]:
        specs = payload.get("rooms") or [payload]
        return self._create(payload, [self._room(s) for s in specs], "new")

    def _multi_room(self, payload: dict[str, Any]) -> dict[str, Any]:
        count = int(payload.get("count") or 2)
        specs = payload.get("rooms") or [payload] * count
        if len(specs) < 2:
            raise CommandError("a multi-room reservation has at least two rooms")
        return self._create(payload, [self._room(s) for s in specs], "multi_room")

    def _past_availability(self, payload: dict[str, Any]) -> dict[str, Any]:
        """One more room than the rooms to sell held on its tightest night: an overbooking."""
        room = self._room(payload)
        held = [
            self._held_day(room["room_id"], None, date.fromisoformat(day))
            for day, _ in room["nights"]
        ]
        limits = [h.rooms_to_sell for h in held if h and h.rooms_to_sell is not None]
        count = (min(limits) if limits else 0) + 1
        return self._create(payload, [room] * count, "past_availability")

    def _unmapped(self, payload: dict[str, Any]) -> dict[str, Any]:
        spec = {**payload, "room_id": payload.get("room_id") or UNMAPPED_ROOM}
        if spec["room_id"] in self.property().rooms:
            raise CommandError(f"room {spec['room_id']} is mapped on the property")
        return self._create(payload, [self._room(spec)], "unmapped")

    def _change(self, rid: str, change: dict[str, Any]) -> dict[str, Any]:
        with self.store.transaction():
            record = self.store.get(RESERVATION, rid)
            if record is None:
                raise CommandError(f"no reservation {rid}")
            if record["status"] in (CANCELLED, "Cancel"):
                raise CommandError(f"reservation {rid} is cancelled")
            record.update(change)
            acked = record["acked_version"] is not None
            if acked:
                record["endpoint"] = RES_MODIFY_NOTIF
                record["status"] = change.get("status") or MODIFY
            # Before the original's ack the change stays a new-reservation message.
            record["version"] += 1
            record["queued"] = True
            record["modified_at"] = datetime.now(UTC).isoformat()
            self.store.put(RESERVATION, rid, record)
        return record

    def _modify(self, payload: dict[str, Any]) -> dict[str, Any]:
        rid = str(payload["reservation_id"])
        record = self.store.get(RESERVATION, rid)
        if record is None:
            raise CommandError(f"no reservation {rid}")
        first = record["rooms"][0]
        spec = {
            "room_id": first["room_id"],
            "rate_id": bres.split_rate_plan_code(first["rate_plan_code"])[0],
            "check_in": first["nights"][0][0],
            "nights": len(first["nights"]),
            "adults": first["adults"],
            **{k: v for k, v in payload.items() if k != "reservation_id"},
        }
        rooms = [self._room(spec)] + [dict(r) for r in record["rooms"][1:]]
        return self._change(rid, {"rooms": rooms})

    def _cancel(self, payload: dict[str, Any]) -> dict[str, Any]:
        status = str(payload.get("status") or self.config()["cancel_status"])
        if status not in (CANCELLED, "Cancel"):
            raise CommandError("status is Cancelled or Cancel")
        return self._change(str(payload["reservation_id"]), {"status": status})

    # ---------------------------------------------------------------- control

    def snapshot(self) -> dict[str, Any]:
        records = self._records()
        return {
            "property": {k: v for k, v in self.config().items() if k != "password"},
            "schemas": schema_dir().is_dir(),
            "ari": {key: doc for key, doc in self.store.items(ARI)},
            "reservations": records,
            "queued": {
                endpoint: [r["id"] for r in records if r["queued"] and r["endpoint"] == endpoint]
                for endpoint in codec.RESERVATION_ENDPOINTS
            },
            "warnings": dict(self.store.items(WARNINGS)),
            "counts": dict(self.store.items(COUNTS)),
        }

    def describe(self) -> str:
        if schema_dir().is_dir():
            return f"documents validated against the 2011B schemas in {schema_dir()}"
        return f"2011B schemas not found in {schema_dir()}: set PEMA_OTA_DIR to validate"

    def error_response(self, status: int) -> Response:
        body = codec.build_ari_response(
            AVAIL_NOTIF_RS,
            errors=(codec.issue("INTERNAL_ERROR", f"Forced HTTP {status} (sandbox fault)"),),
            ruid=codec.new_ruid(),
        )
        return Response(status=status, body=body, content_type=XML)

    def malformed_response(self) -> Response:
        return Response(status=200, body=b'<?xml version="1.0"?>\n<OTA_HotelAvailNotifRS xmlns="ht')


__all__ = ["BookingSimulator"]
