"""The OPERA Cloud (OHIP) simulator, on the sandbox harness: §3.7 of the notes.

Served under ``/opera/``; the gateway (a connection's base URL) is
``http://<sandbox>/opera``. It checks:

1. ``POST /oauth/v1/tokens``: a form; HTTP Basic naming a known client id and
   secret; ``x-app-key`` the client's application key; ``grant_type``
   ``client_credentials`` with a ``scope`` (and ``enterpriseId`` when configured
   as an OCIM environment) or ``password`` with the integration user's
   ``username`` and ``password``; **401** otherwise. It answers
   ``{access_token, expires_in: 3600, token_type: "Bearer", oracle_tk_context}``
   and the token expires on time (``token_lifetime`` is configurable);
2. every data call: ``Authorization: Bearer`` with a token issued and unexpired
   (401), ``x-app-key`` of the same application (401) and ``x-hotelid`` a hotel
   the client may reach (403); a path ``{hotelId}`` other than the header's is 403;
3. ``limit``/``offset`` paging with ``hasMore``, ``totalResults``, ``count``,
   ``totalPages``, ``offset``, ``limit``; **204 with an empty body** when nothing
   matches, for searches and reads by id;
4. errors as ``exceptionDetailType`` (``type``, ``title``, ``status``, ``detail``,
   ``o:errorCode``);
5. enums: ``housekeepingRoomStatus`` (Clean, Dirty, Pickup, Inspected, OutOfOrder,
   OutOfService), ``housekeepingStatus`` (Vacant, Occupied), ``reservationStatuses``;
6. business events: a destructive read, ``limit`` at most 20 (400 above), 204 when
   the queue is empty; a change made with ``x-externalsystem`` is not queued for
   that external system;
7. more than 50 requests in one second: the extra ones are delayed by 1 s; the
   ``throttle`` command answers the next calls 429 instead.

Control commands: ``configure``, ``rooms``, ``set_room``, ``add_profile``,
``create_reservation`` and ``cancel_reservation`` (the hotel's side: each change
queues business events), ``throttle``.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections import deque
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qs

from sandbox.simulator import CommandError, Request, Response, Simulator, run_command

CLIENT_ID = "sandbox-opera-client"
CLIENT_SECRET = "sandbox-opera-secret"
APP_KEY = "sandbox-opera-app-key"
HOTEL = "SAND01"
EXTERNAL_SYSTEM = "PEMA"
USERNAME, PASSWORD = "sandbox-integration-user", "sandbox-integration-password"
HK_STATUSES = ("Clean", "Dirty", "Pickup", "Inspected", "OutOfOrder", "OutOfService")
FO_STATUSES = ("Vacant", "Occupied")
RESERVATION_STATUSES = (
    "Reserved", "Requested", "NoShow", "Cancelled", "InHouse", "CheckedOut", "Waitlisted",
    "DueIn", "DueOut", "Walkin", "PendingCheckout", "CheckedIn", "WaitList",
)  # fmt: skip
EVENTS_MAX = 20
PER_SECOND = 50


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _json(body: Any, status: int = 200, headers: dict | None = None) -> Response:
    return Response(
        status=status,
        body=json.dumps(body).encode(),
        content_type="application/json",
        headers=headers or {},
    )


def problem(status: int, title: str, detail: str, code: str = "") -> Response:
    """OHIP's error body (``exceptionDetailType``)."""
    return _json(
        {
            "type": "https://www.rfc-editor.org/rfc/rfc9110.html#section-15",
            "title": title,
            "status": status,
            "detail": detail,
            "o:errorCode": code or f"OHIP-{status}",
        },
        status,
    )


def empty() -> Response:
    return Response(status=204, body=b"", content_type="application/json")


class Refused(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def page(rows: list, request: Request, default_limit: int = 20) -> tuple[list, dict]:
    try:
        limit = int(request.param("limit", str(default_limit)))
        offset = int(request.param("offset", "0"))
    except ValueError as exc:
        raise Refused(problem(400, "Bad Request", "limit and offset are numbers.")) from exc
    if limit < 1 or offset < 0:
        raise Refused(problem(400, "Bad Request", "limit is at least 1, offset at least 0."))
    chunk = rows[offset : offset + limit]
    return chunk, {
        "totalPages": (len(rows) + limit - 1) // limit,
        "offset": offset,
        "limit": limit,
        "hasMore": offset + len(chunk) < len(rows),
        "totalResults": len(rows),
        "count": len(chunk),
    }


class OperaSimulator(Simulator):
    """OPERA Cloud via OHIP: OAuth, reservations, housekeeping, profiles, business events."""

    title = "OPERA Cloud (OHIP) simulator"

    def __init__(self, context) -> None:
        super().__init__(context)
        self._lock = threading.Lock()
        self._second: deque = deque()

    # ------------------------------------------------------------------ state
    def config(self) -> dict[str, Any]:
        return self.store.get(
            "config",
            "config",
            {
                "clients": {CLIENT_ID: {"secret": CLIENT_SECRET, "app_key": APP_KEY}},
                "hotels": [HOTEL],
                "external_systems": [EXTERNAL_SYSTEM],
                "users": {USERNAME: PASSWORD},
                "ocim": False,
                "enterprise_id": "",
                "token_lifetime": 3600,
            },
        )

    def _docs(self, kind: str) -> list[dict]:
        return [doc for _, doc in self.store.items(kind)]

    def _enqueue(self, module: str, action: str, key: str, details: list, origin: str) -> None:
        """Queue a business event for every external system but the one that made it."""
        seq = self.store.increment("seq", "event")
        for system in self.config()["external_systems"]:
            if system == origin:
                continue
            self.store.put(
                "event",
                f"{system}:{seq:09d}",
                {
                    "system": system,
                    "entry": {
                        "businessEvent": {
                            "header": {
                                "moduleName": module,
                                "actionType": action,
                                "actionId": seq,
                                "primaryKey": key,
                                "publisherId": 57475,
                                "createdDateTime": datetime.now(UTC).strftime(
                                    "%Y-%m-%d %H:%M:%S.%f"
                                )[:-5],
                                "hotelId": HOTEL,
                            },
                            "details": details,
                        },
                        "businessEventId": {"id": str(seq)},
                    },
                },
            )

    # ------------------------------------------------------------------ the API
    def _pace(self) -> None:
        """Over 50 requests in a second, the extra ones wait a second (OHIP's throttle)."""
        now = time.monotonic()
        with self._lock:
            while self._second and now - self._second[0] > 1.0:
                self._second.popleft()
            busy = len(self._second) >= PER_SECOND
            self._second.append(now)
        if busy:
            self.store.increment("counter", "delayed")
            time.sleep(1.0)

    def handle(self, request: Request) -> Response:
        self._pace()
        try:
            if request.path == "/oauth/v1/tokens":
                return self._token(request)
            throttle = self.store.get("throttle", "throttle", {"times": 0})
            if throttle["times"] > 0:
                throttle["times"] -= 1
                self.store.put("throttle", "throttle", throttle)
                self.store.increment("counter", "throttled")
                return problem(429, "Too Many Requests", "Throttled (sandbox).")
            hotel = self._authorised(request)
            self.store.increment("counter", request.method + " " + request.path.split("/")[1])
            return self._route(request, hotel)
        except Refused as refused:
            return refused.response

    def _token(self, request: Request) -> Response:
        if request.method != "POST":
            return problem(405, "Method Not Allowed", "POST a form.")
        if not request.header("Content-Type").startswith("application/x-www-form-urlencoded"):
            return problem(415, "Unsupported Media Type", "The token request is a form.")
        config = self.config()
        client = self._basic(request.header("Authorization"))
        known = config["clients"].get(client[0]) if client else None
        if known is None or known["secret"] != client[1]:
            return problem(401, "Unauthorized", "Invalid client ID or client secret.")
        if not request.header("x-app-key") or request.header("x-app-key") != known["app_key"]:
            return problem(401, "Unauthorized", "x-app-key is missing or not this client's.")
        form = {k: v[0] for k, v in parse_qs(request.body.decode("ascii", "replace")).items()}
        grant = form.get("grant_type")
        if grant == "password":
            if config["users"].get(form.get("username", "")) != form.get(
                "password"
            ) or not form.get("password"):
                return problem(401, "Unauthorized", "Invalid username and/or password.")
        elif grant == "client_credentials":
            if not form.get("scope"):
                return problem(400, "Bad Request", "client_credentials needs a scope.")
            if config["ocim"] and request.header("enterpriseId") != config["enterprise_id"]:
                return problem(401, "Unauthorized", "enterpriseId is missing or wrong.")
        else:
            return problem(400, "Bad Request", "grant_type is password or client_credentials.")
        token = secrets.token_urlsafe(32)
        lifetime = int(config["token_lifetime"])
        self.store.put(
            "token",
            token,
            {"client": client[0], "app_key": known["app_key"], "expires": time.time() + lifetime},
        )
        self.store.increment("counter", "tokens")
        return _json(
            {
                "access_token": token,
                "expires_in": lifetime,
                "token_type": "Bearer",
                "oracle_tk_context": "user_assertion",
            }
        )

    @staticmethod
    def _basic(header: str) -> tuple[str, str] | None:
        if not header.startswith("Basic "):
            return None
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        return user, password

    def _authorised(self, request: Request) -> str:
        bearer = request.header("Authorization")
        token = self.store.get("token", bearer[7:]) if bearer.startswith("Bearer ") else None
        if token is None or token["expires"] <= time.time():
            raise Refused(problem(401, "Unauthorized", "The access token is invalid or expired."))
        if request.header("x-app-key") != token["app_key"]:
            raise Refused(problem(401, "Unauthorized", "x-app-key is missing or not the token's."))
        hotel = request.header("x-hotelid")
        if not hotel:
            raise Refused(problem(400, "Bad Request", "x-hotelid is required."))
        if hotel not in self.config()["hotels"]:
            raise Refused(problem(403, "Forbidden", f"No access to hotel {hotel}."))
        parts = request.path.split("/")
        at = parts.index("hotels") + 1 if "hotels" in parts else 0
        if at and at < len(parts) and parts[at] != hotel:
            raise Refused(problem(403, "Forbidden", "The path's hotel is not x-hotelid."))
        return hotel

    def _body(self, request: Request) -> dict:
        if not request.header("Content-Type").startswith("application/json"):
            raise Refused(problem(415, "Unsupported Media Type", "The body is JSON."))
        try:
            body = json.loads(request.body or b"{}")
        except ValueError as exc:
            raise Refused(problem(400, "Bad Request", "The body is not JSON.")) from exc
        if not isinstance(body, dict):
            raise Refused(problem(400, "Bad Request", "The body is not a JSON object."))
        return body

    def _route(self, request: Request, hotel: str) -> Response:
        parts = [p for p in request.path.split("/") if p]
        method = request.method
        origin = request.header("x-externalsystem")
        match parts:
            case ["rsv", "v1", "hotels", _, "reservations"] if method == "GET":
                return self._search(request)
            case ["rsv", "v1", "hotels", _, "reservations"] if method == "POST":
                return self._create(self._body(request), origin)
            case ["rsv", "v1", "hotels", _, "reservations", rid] if method == "GET":
                row = self.store.get("reservation", rid)
                return _json({"reservations": {"reservation": [row]}}) if row else empty()
            case ["rsv", "v1", "hotels", _, "reservations", rid] if method == "PUT":
                return self._modify(rid, self._body(request), origin)
            case ["rsv", "v1", "hotels", _, "reservations", rid, "cancellations"] if (
                method == "POST"
            ):
                self._body(request)
                return self._cancel(rid, origin)
            case ["hsk", "v1", "hotels", _, "housekeepingOverview"] if method == "GET":
                return self._overview(request)
            case ["hsk", "v1", "hotels", _, "rooms", "status"] if method == "PUT":
                return self._room_status(self._body(request), origin)
            case ["crm", "v1", "profiles"] if method == "GET":
                return self._profiles(request, hotel)
            case ["int", "v1", "externalSystem", system, "hotels", _, "businessEvents"] if (
                method == "GET"
            ):
                return self._events(request, system)
        return problem(404, "Not Found", f"No operation {method} {request.path}.")

    # -- reservations --
    def _search(self, request: Request) -> Response:
        rows = self._docs("reservation")
        refs = request.query.get("externalReferenceIds")
        if refs:
            rows = [
                r for r in rows if any(e.get("id") in refs for e in r.get("externalReferences", []))
            ]
        statuses = request.query.get("reservationStatuses")
        if statuses:
            bad = [s for s in statuses if s not in RESERVATION_STATUSES]
            if bad:
                raise Refused(problem(400, "Bad Request", f"Invalid reservationStatuses {bad}."))
            rows = [r for r in rows if r["reservationStatus"] in statuses]
        start = request.param("arrivalStartDate")
        if start:
            rows = [r for r in rows if r["roomStay"]["arrivalDate"] >= start]
        chunk, paging = page(rows, request)
        if not chunk:
            return empty()
        return _json({"reservations": {"reservationInfo": chunk, **paging}, "links": []})

    def _make(self, spec: dict, guest: dict, origin: str, refs: list | None = None) -> dict:
        rid = str(900000 + self.store.increment("seq", "reservation"))
        now = _now()
        row = {
            "reservationIdList": [
                {"id": rid, "type": "Reservation"},
                {"id": str(int(rid) + 550000), "type": "Confirmation"},
            ],
            "externalReferences": refs or [],
            "roomStay": {
                "arrivalDate": spec["arrivalDate"],
                "departureDate": spec["departureDate"],
                "adultCount": int(spec.get("adults", 2)),
                "childCount": int(spec.get("children", 0)),
                "roomType": spec.get("roomType", ""),
                "ratePlanCode": spec.get("ratePlanCode", ""),
                "numberOfRooms": 1,
                "totalAmount": {
                    "amount": float(spec.get("amount", 0)),
                    "currencyCode": spec.get("currency", "INR"),
                },
            },
            "reservationGuest": guest,
            "hotelId": HOTEL,
            "createDateTime": now,
            "lastModifyDateTime": now,
            "reservationStatus": "Reserved",
            "computedReservationStatus": "DueIn",
        }
        for name in ("arrivalDate", "departureDate"):
            try:
                date.fromisoformat(row["roomStay"][name])
            except (TypeError, ValueError) as exc:
                raise Refused(problem(400, "Bad Request", f"{name} is YYYY-MM-DD.")) from exc
        self.store.put("reservation", rid, row)
        self._enqueue("Reservation", "NEW RESERVATION", rid, self._details(row), origin)
        return row

    @staticmethod
    def _details(row: dict) -> list[dict]:
        stay = row["roomStay"]
        return [
            {"dataElement": "RESERVATION STATUS", "newValue": row["reservationStatus"].upper()},
            {"dataElement": "ARRIVAL DATE", "newValue": stay["arrivalDate"]},
            {"dataElement": "DEPARTURE DATE", "newValue": stay["departureDate"]},
            {"dataElement": "ROOM TYPE", "newValue": stay["roomType"]},
            {"dataElement": "RATE CODE", "newValue": stay["ratePlanCode"]},
        ]

    def _create(self, body: dict, origin: str) -> Response:
        items = (body.get("reservations") or {}).get("reservation")
        if not isinstance(items, list) or not items:
            raise Refused(problem(400, "Bad Request", "reservations.reservation is required."))
        made = []
        for item in items:
            stay = item.get("roomStay") or {}
            rates = stay.get("roomRates") or [{}]
            counts = stay.get("guestCounts") or {}
            names = ((item.get("reservationGuests") or [{}])[0].get("profileInfo") or {}).get(
                "profile"
            ) or {}
            person = ((names.get("customer") or {}).get("personName") or [{}])[0]
            if not person.get("surname"):
                raise Refused(problem(400, "Bad Request", "The guest needs a surname."))
            email = ((names.get("emails") or {}).get("emailInfo") or [{}])[0].get("email") or {}
            total = rates[0].get("total") or {}
            row = self._make(
                {
                    "arrivalDate": stay.get("arrivalDate"),
                    "departureDate": stay.get("departureDate"),
                    "adults": counts.get("adults", 1),
                    "children": counts.get("children", 0),
                    "roomType": rates[0].get("roomType", ""),
                    "ratePlanCode": rates[0].get("ratePlanCode", ""),
                    "amount": total.get("amountBeforeTax", 0),
                    "currency": total.get("currencyCode", "INR"),
                },
                {
                    "givenName": person.get("givenName", ""),
                    "surname": person["surname"],
                    "email": email.get("emailAddress", ""),
                },
                origin,
                refs=item.get("externalReferences") or [],
            )
            made.append({"reservationIdList": row["reservationIdList"]})
        rid = made[0]["reservationIdList"][0]["id"]
        return _json(
            {"reservations": {"reservation": made}, "links": [{"href": rid, "rel": "self"}]},
            201,
            {"Location": f"/rsv/v1/hotels/{HOTEL}/reservations/{rid}"},
        )

    def _modify(self, rid: str, body: dict, origin: str) -> Response:
        with self.store.transaction():
            row = self.store.get("reservation", rid)
            if row is None:
                raise Refused(problem(404, "Not Found", f"No reservation {rid}."))
            update = (body.get("reservations") or [{}])[0].get("roomStay") or {}
            for name in ("arrivalDate", "departureDate"):
                if name in update:
                    row["roomStay"][name] = update[name]
            if "guestCounts" in update:
                row["roomStay"]["adultCount"] = int(update["guestCounts"].get("adults", 1))
            row["lastModifyDateTime"] = _now()
            self.store.put("reservation", rid, row)
            self._enqueue("Reservation", "UPDATE RESERVATION", rid, self._details(row), origin)
        return _json({"reservations": {"reservation": [row]}, "links": []})

    def _cancel(self, rid: str, origin: str) -> Response:
        with self.store.transaction():
            row = self.store.get("reservation", rid)
            if row is None:
                raise Refused(problem(404, "Not Found", f"No reservation {rid}."))
            if row["reservationStatus"] == "Cancelled":
                raise Refused(problem(409, "Conflict", "The reservation is cancelled already."))
            row["reservationStatus"], row["lastModifyDateTime"] = "Cancelled", _now()
            self.store.put("reservation", rid, row)
            self._enqueue("Reservation", "CANCEL RESERVATION", rid, self._details(row), origin)
        return _json(
            {"cxlActivityLog": [{"reservationIdList": row["reservationIdList"]}], "links": []},
            201,
        )

    # -- housekeeping --
    def _overview(self, request: Request) -> Response:
        rows = sorted(self._docs("room"), key=lambda r: r["roomId"])
        wanted = request.query.get("housekeepingRoomStatus")
        if wanted:
            if any(s not in HK_STATUSES for s in wanted):
                raise Refused(problem(400, "Bad Request", "Invalid housekeepingRoomStatus."))
            rows = [
                r
                for r in rows
                if r["housekeeping"]["housekeepingRoomStatus"]["housekeepingRoomStatus"] in wanted
            ]
        chunk, paging = page(rows, request)
        if not chunk:
            return empty()
        return _json(
            {
                "housekeepingRoomInfo": {
                    "housekeepingRooms": {"room": chunk, "hotelId": HOTEL},
                    **paging,
                },
                "links": [],
            }
        )

    def _room_status(self, body: dict, origin: str) -> Response:
        rooms = body.get("roomList")
        if not isinstance(rooms, list) or not rooms or len(rooms) > 4000:
            raise Refused(problem(400, "Bad Request", "roomList is 1 to 4000 rooms."))
        status = body.get("housekeepingRoomStatus")
        occupancy = body.get("housekeepingStatus")
        if status is not None and status not in HK_STATUSES:
            raise Refused(problem(400, "Bad Request", f"Invalid housekeepingRoomStatus {status}."))
        if occupancy is not None and occupancy not in FO_STATUSES:
            raise Refused(problem(400, "Bad Request", f"Invalid housekeepingStatus {occupancy}."))
        if status in ("OutOfOrder", "OutOfService"):
            raise Refused(
                problem(400, "Bad Request", f"{status} is set through outOfOrderRooms.", "HSK-OOO")
            )
        with self.store.transaction():
            for entry in rooms:
                room = self.store.get("room", str(entry.get("roomId")))
                if room is None:
                    raise Refused(problem(404, "Not Found", f"No room {entry.get('roomId')}."))
                state = room["housekeeping"]["housekeepingRoomStatus"]
                if status:
                    state["housekeepingRoomStatus"] = status
                if occupancy:
                    state["housekeepingStatus"] = occupancy
                self.store.put("room", room["roomId"], room)
                self._enqueue("Housekeeping", "UPDATE ROOM STATUS", room["roomId"], [], origin)
        return _json({"links": []})

    # -- profiles --
    def _profiles(self, request: Request, hotel: str) -> Response:
        if request.param("hotelId", hotel) != hotel:
            raise Refused(problem(403, "Forbidden", "hotelId is not x-hotelid."))
        rows = self._docs("profile")
        chunk, paging = page(rows, request)
        if not chunk:
            return empty()
        return _json({"profileSummaries": {"profileInfo": chunk, **paging}, "links": []})

    # -- business events --
    def _events(self, request: Request, system: str) -> Response:
        try:
            limit = int(request.param("limit", str(EVENTS_MAX)))
        except ValueError as exc:
            raise Refused(problem(400, "Bad Request", "limit is a number.")) from exc
        if not 1 <= limit <= EVENTS_MAX:
            raise Refused(problem(400, "Bad Request", f"limit is 1 to {EVENTS_MAX}."))
        if system not in self.config()["external_systems"]:
            raise Refused(problem(404, "Not Found", f"No consumer for external system {system}."))
        with self.store.transaction():
            queued = [(k, d) for k, d in self.store.items("event") if d["system"] == system]
            taken = queued[:limit]
            for key, _ in taken:
                self.store.delete("event", key)  # dequeued: a destructive read
        if not taken:
            return empty()
        self.store.increment("counter", "events_dequeued", len(taken))
        return _json({"businessEventData": [d["entry"] for _, d in taken], "links": []})

    # ------------------------------------------------------------------ the hotel's side
    def command(self, name: str, payload: dict[str, Any]) -> Any:
        return run_command(
            {
                "configure": self._configure,
                "rooms": self._rooms,
                "set_room": self._set_room,
                "add_profile": self._add_profile,
                "create_reservation": self._create_command,
                "cancel_reservation": self._cancel_command,
                "throttle": self._throttle,
            },
            name,
            payload,
        )

    def _configure(self, payload: dict) -> dict:
        config = {**self.config(), **{k: v for k, v in payload.items() if k in self.config()}}
        self.store.put("config", "config", config)
        return {k: v for k, v in config.items() if k not in ("clients", "users")}

    def _rooms(self, payload: dict) -> dict:
        for spec in payload["rooms"]:
            number = str(spec["roomId"])
            self.store.put(
                "room",
                number,
                {
                    "roomId": number,
                    "roomType": spec.get("roomType", ""),
                    "floor": number[:1],
                    "housekeeping": {
                        "housekeepingRoomStatus": {
                            "housekeepingRoomStatus": spec.get("status", "Clean"),
                            "frontOfficeStatus": spec.get("frontOfficeStatus", "Vacant"),
                            "housekeepingStatus": spec.get("frontOfficeStatus", "Vacant"),
                        }
                    },
                },
            )
        return {"rooms": self.store.count("room")}

    def _set_room(self, payload: dict) -> dict:
        with self.store.transaction():
            room = self.store.get("room", str(payload["roomId"]))
            if room is None:
                raise CommandError("no such room")
            state = room["housekeeping"]["housekeepingRoomStatus"]
            status = payload.get("status", state["housekeepingRoomStatus"])
            if status not in HK_STATUSES:
                raise CommandError(f"status is one of {', '.join(HK_STATUSES)}")
            state["housekeepingRoomStatus"] = status
            if "frontOfficeStatus" in payload:
                state["frontOfficeStatus"] = payload["frontOfficeStatus"]
            room.pop("outOfOrder", None)
            if status == "OutOfOrder":
                start = payload.get("start", date.today().isoformat())
                room["outOfOrder"] = [
                    {
                        "start": start,
                        "end": payload.get("end", start),
                        "reasonCode": payload.get("reasonCode", "MAINT"),
                        "reasonDescription": payload.get("reason", "Maintenance"),
                        "housekeepingRoomStatus": "OutOfOrder",
                        "returnStatus": "Dirty",
                    }
                ]
            self.store.put("room", room["roomId"], room)
            self._enqueue("Housekeeping", "UPDATE ROOM STATUS", room["roomId"], [], "")
        return room

    def _add_profile(self, payload: dict) -> dict:
        pid = str(1280000 + self.store.increment("seq", "profile"))
        profile = {
            "profileIdList": [{"id": pid, "type": "Profile"}],
            "profile": {
                "customer": {
                    "personName": [
                        {
                            "givenName": payload.get("givenName", ""),
                            "surname": payload["surname"],
                            "nameType": "Primary",
                        }
                    ]
                },
                "emails": {"emailInfo": [{"email": {"emailAddress": payload.get("email", "")}}]},
                "telephones": {
                    "telephoneInfo": [{"telephone": {"phoneNumber": payload.get("phone", "")}}]
                },
                "addresses": {
                    "addressInfo": [{"address": {"country": {"code": payload.get("country", "")}}}]
                },
                "profileMemberships": {
                    "profileMembership": [{"membershipLevel": payload.get("level", "")}]
                },
                "profileType": "Guest",
            },
        }
        self.store.put("profile", pid, profile)
        self._enqueue("Profile", "NEW PROFILE", pid, [], "")
        return profile

    def _create_command(self, payload: dict) -> dict:
        guest = payload.get("guest") or {"surname": "Walk-in"}
        profile = self._add_profile(guest)
        row = self._make(
            {
                "arrivalDate": payload["arrivalDate"],
                "departureDate": payload["departureDate"],
                "roomType": payload.get("roomType", ""),
                "ratePlanCode": payload.get("ratePlanCode", ""),
                "adults": payload.get("adults", 2),
                "amount": payload.get("amount", 0),
                "currency": payload.get("currency", "INR"),
            },
            {
                "id": profile["profileIdList"][0]["id"],
                "givenName": guest.get("givenName", ""),
                "surname": guest["surname"],
                "email": guest.get("email", ""),
            },
            "",
        )
        return {"reservation": row}

    def _cancel_command(self, payload: dict) -> dict:
        try:
            answer = self._cancel(str(payload["id"]), "")
        except Refused as refused:
            raise CommandError(json.loads(refused.response.body)["detail"]) from refused
        return json.loads(answer.body)

    def _throttle(self, payload: dict) -> dict:
        self.store.put("throttle", "throttle", {"times": int(payload.get("times", 1))})
        return {"times": int(payload.get("times", 1))}

    def snapshot(self) -> dict[str, Any]:
        return {
            "config": {k: v for k, v in self.config().items() if k not in ("clients", "users")},
            "reservations": self._docs("reservation"),
            "rooms": self._docs("room"),
            "profiles": self._docs("profile"),
            "events": len(self._docs("event")),
            "calls": dict(self.store.items("counter")),
        }

    def error_response(self, status: int) -> Response:
        return problem(status, "Forced error", f"Forced error {status} (sandbox fault).")

    def describe(self) -> str:
        return f"OPERA: client {CLIENT_ID}, hotel {HOTEL}, external system {EXTERNAL_SYSTEM}."
