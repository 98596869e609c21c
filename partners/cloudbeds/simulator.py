"""The Cloudbeds simulator, on the sandbox harness: API v1.3 as §1.7 of the notes has it.

Served under ``/cloudbeds/`` by ``manage.py runsandbox``; base URL
``http://<sandbox>/cloudbeds/api/v1.3``. It checks, per call:

1. the path ``/api/v1.3/<method>`` (or ``/api/v1.2/``) and the verb of the method
   (get* GET, post* POST, put* PUT, delete* DELETE): otherwise 404 / 405;
2. ``x-api-key`` (or ``Authorization: Bearer`` of a token it issued) is known:
   otherwise **401** ``{"error":"access_denied","message":...}``;
3. the ``propertyID`` (or ``propertyIDs``) is the key's: otherwise **HTTP 200**
   ``{"success":false,"message":"None of the included property id's match ..."}``;
4. POST and PUT bodies are form-encoded (415 otherwise, a simulator choice);
5. the enums (reservation ``status``, ``roomCondition``) - ``success:false`` otherwise;
6. pages: ``pageNumber`` from 1, ``pageSize`` clamped to the method's maximum (100 for
   getReservations and getGuestList, 5000 for getHousekeepingStatus: a simulator
   choice, the notes found no documented behaviour), with ``count`` and ``total``;
7. ``modifiedFrom``/``modifiedTo`` against ``dateModified``, ``resultsFrom`` against the
   guest's ``dateModified``; ``sourceReservationId`` against ``thirdPartyIdentifier``;
8. an ``X-Request-ID`` on every answer.

``postWebhook`` subscriptions are kept; reservations made through the control
API (``create_reservation``, ``cancel_reservation``) are delivered to them as
the thin JSON Cloudbeds posts (IDs in both casings), unsigned.
``postHousekeepingStatus`` with no ``roomCondition`` toggles clean and dirty.
The control command ``throttle`` answers the next ``times`` calls with 429
(with ``Retry-After`` when given): the real shape is undocumented.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from sandbox.simulator import CommandError, Request, Response, Simulator

DEFAULT_KEY = "cbat_sandbox_key"
DEFAULT_PROPERTY = "318267"
OAUTH_CLIENT = ("sandbox-client", "sandbox-secret", "sandbox-refresh")
DENIED = {
    "error": "access_denied",
    "message": "The resource owner or authorization server denied the request.",
}
NOT_YOURS = "None of the included property id's match the access_token user's property id"
STATUSES = ("not_confirmed", "confirmed", "canceled", "checked_in", "checked_out", "no_show")
CONDITIONS = ("dirty", "clean", "inspected")
PAGE_CAPS = {"getReservations": 100, "getGuestList": 100, "getHousekeepingStatus": 5000}
PAGE_DEFAULTS = {"getRooms": 20, "getRoomTypes": 20}
VERBS = {"put": "PUT", "delete": "DELETE", "post": "POST", "get": "GET"}
KINDS = ("reservation", "room", "guest", "webhook")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _json(body: Any, status: int = 200, headers: dict | None = None) -> Response:
    return Response(
        status=status,
        body=json.dumps(body).encode(),
        content_type="application/json",
        headers={"X-Request-ID": uuid.uuid4().hex, **(headers or {})},
    )


def _refuse(message: str) -> Response:
    return _json({"success": False, "message": message})


def _form(request: Request) -> dict[str, str]:
    return dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))


def _array(fields: dict[str, str], name: str) -> list[dict[str, str]]:
    """``rooms[0][roomTypeID]=...`` back into ``[{"roomTypeID": ...}]``."""
    rows: dict[int, dict[str, str]] = {}
    for key, value in fields.items():
        if key.startswith(f"{name}[") and "][" in key:
            index, inner = key[len(name) + 1 : -1].split("][", 1)
            rows.setdefault(int(index), {})[inner] = value
    return [rows[i] for i in sorted(rows)]


class CloudbedsSimulator(Simulator):
    """Cloudbeds PMS API v1.3."""

    title = "Cloudbeds PMS simulator"

    # ------------------------------------------------------------------ state
    def config(self) -> dict[str, Any]:
        return self.store.get(
            "config",
            "config",
            {"property_id": DEFAULT_PROPERTY, "api_keys": [DEFAULT_KEY], "tokens": []},
        )

    def _next_id(self, kind: str, start: int) -> str:
        return str(self.store.increment("seq", kind) + start)

    def _docs(self, kind: str) -> list[dict[str, Any]]:
        return [doc for _, doc in self.store.items(kind)]

    # ------------------------------------------------------------------ the API
    def handle(self, request: Request) -> Response:
        parts = request.path.strip("/").split("/")
        if len(parts) == 1 and parts[0] == "access_token":
            parts = ["api", "v1.3", "access_token"]
        if len(parts) != 3 or parts[:2] not in (["api", "v1.3"], ["api", "v1.2"]):
            return _json({"success": False, "message": "Not found."}, 404)
        method = parts[2]
        if method == "access_token":
            return self._access_token(request)
        verb = next((v for prefix, v in VERBS.items() if method.startswith(prefix)), None)
        handler = getattr(self, f"_m_{method}", None)
        if handler is None or verb is None:
            return _json({"success": False, "message": f"Unknown method {method}."}, 404)
        if request.method != verb:
            return _json({"success": False, "message": f"{method} takes {verb}."}, 405)
        if not self._authorised(request):
            return _json(DENIED, 401)
        throttle = self.store.get("throttle", "throttle", {"times": 0})
        if throttle["times"] > 0:
            throttle["times"] -= 1
            self.store.put("throttle", "throttle", throttle)
            headers = (
                {"Retry-After": str(throttle["retry_after"])}
                if throttle.get("retry_after") is not None
                else {}
            )
            self.store.increment("counter", "throttled")
            return _json({"success": False, "message": "Too many requests."}, 429, headers)
        if verb in ("POST", "PUT") and not request.header("Content-Type").startswith(
            "application/x-www-form-urlencoded"
        ):
            return _json({"success": False, "message": "Send a form (x-www-form-urlencoded)."}, 415)
        values = (
            _form(request)
            if verb in ("POST", "PUT")
            else {k: v[0] for k, v in request.query.items()}
        )
        given = values.get("propertyID") or values.get("propertyIDs") or ""
        if given and any(p.strip() != self.config()["property_id"] for p in given.split(",")):
            return _refuse(NOT_YOURS)
        self.store.increment("counter", method)
        return handler(values)

    def _authorised(self, request: Request) -> bool:
        config = self.config()
        key = request.header("x-api-key")
        bearer = request.header("Authorization").removeprefix("Bearer ").strip()
        return (key and key in config["api_keys"]) or (bearer and bearer in config["tokens"])

    def _access_token(self, request: Request) -> Response:
        fields = _form(request)
        client_id, secret, refresh = OAUTH_CLIENT
        if (fields.get("client_id"), fields.get("client_secret")) != (client_id, secret):
            return _json({"error": "invalid_client"}, 401)
        if fields.get("grant_type") != "refresh_token" or fields.get("refresh_token") != refresh:
            return _json({"error": "invalid_grant"}, 400)
        token = f"cbat_oauth_{uuid.uuid4().hex}"
        with self.store.transaction():
            config = self.config()
            config["tokens"] = [*config["tokens"][-20:], token]
            self.store.put("config", "config", config)
        return _json(
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": 3600,
                "refresh_token": refresh,
                "resources": [{"type": "property", "id": self.config()["property_id"]}],
            }
        )

    @staticmethod
    def _page(method: str, values: dict[str, str], rows: list) -> Response:
        try:
            number = max(int(values.get("pageNumber", 1)), 1)
            size = int(values.get("pageSize", PAGE_DEFAULTS.get(method, 100)))
        except ValueError:
            return _refuse("pageNumber and pageSize are numbers.")
        size = min(max(size, 1), PAGE_CAPS.get(method, 100))
        page = rows[(number - 1) * size : number * size]
        return _json({"success": True, "data": page, "count": len(page), "total": len(rows)})

    def _m_getReservations(self, values: dict[str, str]) -> Response:
        status = values.get("status")
        if status and status not in STATUSES:
            return _refuse(f"Invalid status {status}.")
        rows = self._docs("reservation")
        since, until = values.get("modifiedFrom"), values.get("modifiedTo")
        rows = [
            r
            for r in rows
            if (not since or r["dateModified"] >= since)
            and (not until or r["dateModified"] <= until)
            and (not status or r["status"] == status)
            and (
                not values.get("sourceReservationId")
                or r.get("thirdPartyIdentifier") == values["sourceReservationId"]
            )
        ]
        rows.sort(key=lambda r: (r["dateModified"], r["reservationID"]))
        if values.get("includeGuestsDetails") != "true":
            rows = [{k: v for k, v in r.items() if k != "guestList"} for r in rows]
        if values.get("includeAllRooms") != "true":
            rows = [{k: v for k, v in r.items() if k != "rooms"} for r in rows]
        return self._page("getReservations", values, rows)

    def _m_getReservation(self, values: dict[str, str]) -> Response:
        found = self.store.get("reservation", values.get("reservationID", ""))
        if found is None:
            return _refuse("Reservation not found.")
        main = next(iter(found["guestList"].values()), {})
        data = {
            **{k: v for k, v in found.items() if k != "rooms"},
            "guestEmail": main.get("guestEmail", ""),
            "assigned": found["rooms"],
            "unassigned": [],
        }
        return _json({"success": True, "data": data})

    def _m_postReservation(self, values: dict[str, str]) -> Response:
        rooms = _array(values, "rooms")
        adults = _array(values, "adults")
        try:
            start = date.fromisoformat(values["startDate"])
            end = date.fromisoformat(values["endDate"])
        except (KeyError, ValueError):
            return _refuse("startDate and endDate (YYYY-MM-DD) are required.")
        if not rooms or end <= start:
            return _refuse("A reservation needs rooms and an endDate after its startDate.")
        reservation = self._make_reservation(
            first=values.get("guestFirstName", ""),
            last=values.get("guestLastName", ""),
            email=values.get("guestEmail", ""),
            country=values.get("guestCountry", ""),
            start=start,
            end=end,
            rooms=[
                {
                    "roomTypeID": r.get("roomTypeID", ""),
                    "adults": (adults[i] if i < len(adults) else {}).get("quantity", "1"),
                }
                for i, r in enumerate(rooms)
            ],
            third_party=values.get("thirdPartyIdentifier", ""),
            source="api",
        )
        guest_id = reservation["guestID"]
        return _json(
            {
                "success": True,
                "reservationID": reservation["reservationID"],
                "status": "confirmed",
                "guestID": guest_id,
                "startDate": start.isoformat(),
                "endDate": end.isoformat(),
                "dateCreated": reservation["dateCreated"],
                "unassigned": [],
            }
        )

    def _m_putReservation(self, values: dict[str, str]) -> Response:
        with self.store.transaction():
            found = self.store.get("reservation", values.get("reservationID", ""))
            if found is None:
                return _refuse("Reservation not found.")
            status = values.get("status")
            if status and status not in STATUSES:
                return _refuse(f"Invalid status {status}.")
            if status:
                found["status"] = status
            rooms = _array(values, "rooms")
            if rooms:
                found["rooms"] = [
                    {
                        **found["rooms"][0],
                        "roomTypeID": r["roomTypeID"],
                        "startDate": r["checkinDate"],
                        "endDate": r["checkoutDate"],
                        "adults": r.get("adults", "1"),
                        "children": r.get("children", "0"),
                    }
                    for r in rooms
                ]
                found["startDate"] = rooms[0]["checkinDate"]
                found["endDate"] = rooms[0]["checkoutDate"]
            found["dateModified"] = _now()
            self.store.put("reservation", found["reservationID"], found)
        return _json({"success": True, "data": found})

    def _m_getRooms(self, values: dict[str, str]) -> Response:
        rooms = sorted(self._docs("room"), key=lambda r: r["roomName"])
        listed = [
            {k: r[k] for k in ("roomID", "roomName", "roomTypeID", "roomTypeName", "roomBlocked")}
            for r in rooms
        ]
        answer = json.loads(self._page("getRooms", values, listed).body)
        answer["data"] = [{"propertyID": self.config()["property_id"], "rooms": answer["data"]}]
        return _json(answer)

    def _m_getHousekeepingStatus(self, values: dict[str, str]) -> Response:
        condition = values.get("roomCondition")
        if condition and condition not in ("clean", "dirty"):
            return _refuse(f"Invalid roomCondition {condition}.")
        rows = sorted(self._docs("room"), key=lambda r: r["roomName"])
        rows = [
            {**r, "date": date.today().isoformat(), "frontdeskStatus": "unused"}
            for r in rows
            if not condition or r["roomCondition"] == condition
        ]
        return self._page("getHousekeepingStatus", values, rows)

    def _m_postHousekeepingStatus(self, values: dict[str, str]) -> Response:
        condition = values.get("roomCondition")
        if condition and condition not in CONDITIONS:
            return _refuse(f"Invalid roomCondition {condition}.")
        with self.store.transaction():
            room = self.store.get("room", values.get("roomID", ""))
            if room is None:
                return _refuse("Room not found.")
            if not condition:  # no optional parameter: it switches the condition
                condition = "dirty" if room["roomCondition"] == "clean" else "clean"
            room["roomCondition"] = condition
            if "roomComments" in values:
                room["roomComments"] = values["roomComments"]
            self.store.put("room", room["roomID"], room)
        return _json(
            {
                "success": True,
                "data": {
                    "date": date.today().isoformat(),
                    "roomID": room["roomID"],
                    "roomCondition": condition,
                    "roomComments": room.get("roomComments", ""),
                },
            }
        )

    def _m_getGuestList(self, values: dict[str, str]) -> Response:
        since = values.get("resultsFrom")
        rows = sorted(
            (g for g in self._docs("guest") if not since or g["dateModified"] >= since),
            key=lambda g: (g["dateModified"], g["guestID"]),
        )
        answer = json.loads(self._page("getGuestList", values, rows).body)
        answer["data"] = {g["guestID"]: g for g in answer["data"]}  # keyed by guest ID
        return _json(answer)

    def _m_postWebhook(self, values: dict[str, str]) -> Response:
        if not all(values.get(k) for k in ("object", "action", "endpointUrl")):
            return _refuse("object, action and endpointUrl are required.")
        subscription = self._next_id("webhook", 1000)
        self.store.put(
            "webhook",
            subscription,
            {
                "id": subscription,
                "event": {"entity": values["object"], "action": values["action"]},
                "subscriptionData": {"endpoint": values["endpointUrl"]},
            },
        )
        return _json({"success": True, "data": {"subscriptionID": subscription}})

    def _m_getWebhooks(self, values: dict[str, str]) -> Response:
        return _json({"success": True, "data": self._docs("webhook")})

    # ------------------------------------------------------------------ PMS side
    def _make_guest(
        self, first: str, last: str, email: str, country: str = "", *, dedupe: bool = True
    ) -> dict:
        for guest in self._docs("guest") if dedupe else ():
            if email and guest["guestEmail"] == email:
                return guest
        guest_id = self._next_id("guest", 159926000)
        guest = {
            "guestID": guest_id,
            "guestFirstName": first,
            "guestLastName": last,
            "guestName": f"{first} {last}".strip(),
            "guestEmail": email,
            "guestPhone": "",
            "guestCountry": country,
            "isMainGuest": True,
            "isMerged": False,
            "dateCreated": _now(),
            "dateModified": _now(),
            "status": "confirmed",
        }
        self.store.put("guest", guest_id, guest)
        return guest

    def _make_reservation(
        self,
        *,
        first,
        last,
        email,
        country,
        start,
        end,
        rooms,
        third_party="",
        source="pms",
        dedupe=True,
    ) -> dict:
        guest = self._make_guest(first, last, email, country, dedupe=dedupe)
        reservation_id = self._next_id("reservation", 7061304400000)
        now = _now()
        reservation = {
            "propertyID": self.config()["property_id"],
            "reservationID": reservation_id,
            "dateCreated": now,
            "dateModified": now,
            "status": "confirmed",
            "guestID": guest["guestID"],
            "guestName": guest["guestName"],
            "startDate": start.isoformat(),
            "endDate": end.isoformat(),
            "adults": str(rooms[0].get("adults", "1")),
            "children": "0",
            "balance": 0,
            "sourceName": "Pema" if source == "api" else "Walk-In",
            "thirdPartyIdentifier": third_party,
            "rooms": [
                {
                    "roomTypeID": r["roomTypeID"],
                    "startDate": start.isoformat(),
                    "endDate": end.isoformat(),
                    "adults": str(r.get("adults", "1")),
                    "children": "0",
                    "roomStatus": "not_checked_in",
                    "subReservationID": f"{reservation_id}-{i + 1}",
                }
                for i, r in enumerate(rooms)
            ],
            "guestList": {guest["guestID"]: guest},
        }
        self.store.put("reservation", reservation_id, reservation)
        return reservation

    def _deliver(self, event: dict) -> list[int]:
        statuses = []
        obj, action = event["event"].split("/")
        for hook in self._docs("webhook"):
            if hook["event"] == {"entity": obj, "action": action}:
                url = hook["subscriptionData"]["endpoint"]
                delivery = self.context.push(
                    url, json.dumps(event).encode(), headers={"Content-Type": "application/json"}
                )
                statuses.append(delivery.status)
        return statuses

    @staticmethod
    def _event(name: str, reservation: dict, **extra) -> dict:
        prop = reservation["propertyID"]
        return {
            "reservationID": reservation["reservationID"],
            "propertyID": int(prop),
            "propertyID_str": prop,
            "version": "1.0",
            "event": name,
            "timestamp": datetime.now(UTC).timestamp(),
            **extra,
        }

    def command(self, name: str, payload: dict[str, Any]) -> Any:
        if name == "configure":
            config = {
                **self.config(),
                **{k: v for k, v in payload.items() if k in ("property_id", "api_keys")},
            }
            self.store.put("config", "config", config)
            return config
        if name == "rooms":
            for spec in payload.get("rooms", []):
                room_id = str(spec.get("roomID") or f"{spec['roomTypeID']}-{spec['roomName']}")
                self.store.put(
                    "room",
                    room_id,
                    {
                        "roomID": room_id,
                        "roomName": str(spec["roomName"]),
                        "roomTypeID": str(spec["roomTypeID"]),
                        "roomTypeName": spec.get("roomTypeName", ""),
                        "roomCondition": spec.get("roomCondition", "clean"),
                        "roomOccupied": bool(spec.get("roomOccupied", False)),
                        "roomBlocked": bool(spec.get("roomBlocked", False)),
                        "roomComments": spec.get("roomComments", ""),
                        "housekeeperID": 0,
                        "doNotDisturb": False,
                        "refusedService": False,
                        "vacantPickup": False,
                    },
                )
            return {"rooms": self.store.count("room")}
        if name == "set_room":
            with self.store.transaction():
                room = next(
                    (
                        r
                        for r in self._docs("room")
                        if r["roomName"] == str(payload.get("roomName"))
                    ),
                    None,
                )
                if room is None:
                    raise CommandError("no such room")
                room.update(
                    {
                        k: v
                        for k, v in payload.items()
                        if k in ("roomCondition", "roomOccupied", "roomBlocked", "roomComments")
                    }
                )
                self.store.put("room", room["roomID"], room)
            return room
        if name == "create_reservation":
            try:
                start = date.fromisoformat(payload["startDate"])
                end = date.fromisoformat(payload["endDate"])
            except (KeyError, ValueError) as exc:
                raise CommandError("startDate and endDate are required") from exc
            reservation = self._make_reservation(
                first=payload.get("firstName", "Walk"),
                last=payload.get("lastName", "In"),
                email=payload.get("email", ""),
                country=payload.get("country", ""),
                start=start,
                end=end,
                rooms=[
                    {
                        "roomTypeID": str(payload.get("roomTypeID", "")),
                        "adults": payload.get("adults", 1),
                    }
                ],
            )
            statuses = self._deliver(self._event("reservation/created", reservation))
            return {"reservation": reservation, "deliveries": statuses}
        if name == "cancel_reservation":
            with self.store.transaction():
                found = self.store.get("reservation", str(payload.get("reservationID")))
                if found is None:
                    raise CommandError("no such reservation")
                found["status"], found["dateModified"] = "canceled", _now()
                self.store.put("reservation", found["reservationID"], found)
            event = self._event("reservation/status_changed", found, status="canceled")
            return {"reservation": found, "deliveries": self._deliver(event)}
        if name == "generate":
            return self._generate(payload)
        if name == "throttle":
            self.store.put(
                "throttle",
                "throttle",
                {"times": int(payload.get("times", 1)), "retry_after": payload.get("retry_after")},
            )
            return {"times": int(payload.get("times", 1))}
        raise CommandError(f"unknown command {name!r}")

    def _generate(self, payload: dict[str, Any]) -> dict[str, int]:
        """Bulk data for the benchmark: ``reservations`` and ``guests`` with generated names."""
        types = payload.get("room_types") or ["EXQ"]
        start = date.fromisoformat(payload.get("start") or date.today().isoformat())
        with self.store.transaction():
            for n in range(int(payload.get("guests", 0))):
                self._make_guest(
                    f"Guest{n}", "Bench", f"guest{n}@bench.example", "IN", dedupe=False
                )
            for n in range(int(payload.get("reservations", 0))):
                check_in = start + timedelta(days=n % 60)
                self._make_reservation(
                    first=f"Res{n}",
                    last="Bench",
                    email=f"res{n}@bench.example",
                    country="IN",
                    start=check_in,
                    end=check_in + timedelta(days=1),
                    rooms=[{"roomTypeID": types[n % len(types)], "adults": 1}],
                    dedupe=False,
                )
        return {kind: self.store.count(kind) for kind in KINDS}

    def snapshot(self) -> dict[str, Any]:
        return {
            "config": self.config(),
            "reservations": self._docs("reservation"),
            "rooms": self._docs("room"),
            "guests": self.store.count("guest"),
            "webhooks": self._docs("webhook"),
            "calls": dict(self.store.items("counter")),
        }

    def error_response(self, status: int) -> Response:
        return _json({"success": False, "message": f"Forced error {status}."}, status)

    def describe(self) -> str:
        return f"Cloudbeds: x-api-key {DEFAULT_KEY}, propertyID {DEFAULT_PROPERTY}."
