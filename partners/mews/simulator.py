"""The Mews simulator, on the sandbox harness: the Connector API as §2.6 of the notes has it.

Served under ``/mews/``; base URL ``http://<sandbox>/mews`` (calls go to
``/mews/api/connector/v1/<resource>/<action>``). It checks:

1. ``POST`` with ``Content-Type: application/json`` and the exact, case-sensitive path
   with no trailing slash: otherwise 404;
2. ``ClientToken``, ``AccessToken`` and ``Client`` in the body, the tokens a known pair
   (Mews' published demo pairs are accepted): otherwise **401** ``{Message, RequestId}``;
3. a ``Request-Id`` header on every answer;
4. ``Limitation`` on every getAll, ``Count`` 1..1000; newest first, the answer's
   ``Cursor`` the oldest item's id, null when the page is empty;
5. every ``*Utc`` interval ``{StartUtc, EndUtc}`` in ``...Z`` form, start <= end and at
   most 3 months long (400 otherwise); ``ScheduledStartUtc`` with ``ActualStartUtc`` (and
   the End pair) refused;
6. id filters capped (1000; ``ChannelNumbers`` 100);
7. ``Extent`` required on resources/getAll and customers/getAll; customers/getAll
   needs a filter;
8. ``resources/update`` refuses ``State`` ``OutOfOrder``;
9. at most 200 requests per AccessToken per rolling 30 s: **429** with ``Retry-After``.

Control commands: ``configure`` (enterprise, service, tokens), ``resources``,
``set_resource``, ``create_reservation`` and ``cancel_reservation`` (the PMS side: a
General webhook is POSTed to the configured ``webhook_url`` with ``?Token=``),
``add_customer``, ``generate`` (bulk data for the benchmark), ``throttle`` (answer the
next ``times`` calls 429).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from sandbox.simulator import CommandError, Request, Response, Simulator

#: Mews' published demo tokens (gross pricing enterprise): public, the simulator's defaults.
DEMO_CLIENT_TOKENS = (
    "E0D439EE522F44368DC78E1BFB03710C-D24FB11DBE31D4621C4817E028D9E1D",
    "E916C341431C4D28A866AD200152DBD3-A046EB5583FFBE94DE1172237763712",
    "2CC71B0660F345019882AD200155B4FE-4A1FC9080A4DD2A404734003674F77E",
    "07AB1F14B55C49B8BDD6AD200158423B-273A4497AFF5E20566D7199DB3DC2BA",
)
DEMO_ACCESS_TOKENS = (
    "C66EF7B239D24632943D115EDE9CB810-EA00F8FD8294692C940F6B5A8F9453D",
    "CC150C355D6A4048A220AD20015483AB-B6D09C0C84B09538077CB8FFBB907B4",
    "5F56B9903A834F199E28AD20015E58CA-5C6A1A00550634911534AD6A098E8B7",
    "39E301DD5A1C4A569087AD20015F60DD-50DC28896E9090CCA0995C9BBD90351",
)
DEFAULT_CLIENT_TOKEN, DEFAULT_ACCESS_TOKEN = DEMO_CLIENT_TOKENS[0], DEMO_ACCESS_TOKENS[0]
ENTERPRISE = "851df8c8-90f2-4c4a-8e01-a4fc46b25178"
SERVICE = "bd26d8db-86da-4f96-9efc-e5a4654a4a94"
LIMIT, LIMIT_SECONDS = 200, 30.0
MAX_WINDOW = timedelta(days=93)  # "3 months": the longest three months
STATES = ("Dirty", "Clean", "Inspected", "OutOfService", "OutOfOrder")
CAPS = {"ChannelNumbers": 100, "PartnerCompanyIds": 100, "TravelAgencyIds": 100}
OPERATIONS = (
    "reservations/getAll/2023-06-06",
    "reservations/add",
    "reservations/update",
    "reservations/cancel",
    "resources/getAll",
    "resources/update",
    "customers/getAll",
    "customers/add",
    "services/getAll",
)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _answer(body: Any, status: int = 200, headers: dict | None = None) -> Response:
    request_id = uuid.uuid4().hex
    if status >= 400:
        body = {"Message": body, "RequestId": request_id}
    return Response(
        status=status,
        body=json.dumps(body).encode(),
        content_type="application/json",
        headers={"Request-Id": request_id, **(headers or {})},
    )


def _interval(value: Any, name: str) -> tuple[str, str]:
    if not isinstance(value, dict) or not {"StartUtc", "EndUtc"} <= set(value):
        raise Refused(400, f"{name} needs StartUtc and EndUtc.")
    try:
        start, end = (
            datetime.strptime(value[k], "%Y-%m-%dT%H:%M:%SZ") for k in ("StartUtc", "EndUtc")
        )
    except (TypeError, ValueError) as exc:
        raise Refused(400, f"{name}: times are YYYY-MM-DDThh:mm:ssZ.") from exc
    if end < start or end - start > MAX_WINDOW:
        raise Refused(400, f"{name}: the interval must be ordered and at most 3 months long.")
    return value["StartUtc"], value["EndUtc"]


class MewsSimulator(Simulator):
    """Mews Connector API."""

    title = "Mews Connector API simulator"

    def __init__(self, context) -> None:
        super().__init__(context)
        self._calls: dict[str, deque] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ state
    def config(self) -> dict[str, Any]:
        return self.store.get(
            "config",
            "config",
            {
                "enterprise_id": ENTERPRISE,
                "service_id": SERVICE,
                "pairs": [
                    list(p) for p in zip(DEMO_CLIENT_TOKENS, DEMO_ACCESS_TOKENS, strict=True)
                ],
                "webhook_url": "",
                "webhook_token": "",
            },
        )

    def _docs(self, kind: str) -> list[dict[str, Any]]:
        return [doc for _, doc in self.store.items(kind)]

    def _rate_limited(self, token: str) -> float | None:
        now = time.monotonic()
        with self._lock:
            calls = self._calls.setdefault(token, deque())
            while calls and now - calls[0] > LIMIT_SECONDS:
                calls.popleft()
            if len(calls) >= LIMIT:
                return LIMIT_SECONDS - (now - calls[0])
            calls.append(now)
        return None

    # ------------------------------------------------------------------ the API
    def handle(self, request: Request) -> Response:
        prefix = "/api/connector/v1/"
        operation = request.path[len(prefix) :] if request.path.startswith(prefix) else ""
        if operation not in OPERATIONS:
            return _answer("Not found.", 404)
        if request.method != "POST" or not request.header("Content-Type").startswith(
            "application/json"
        ):
            return _answer("The API takes POST with application/json.", 404)
        try:
            body = json.loads(request.body or b"{}")
            if not isinstance(body, dict):
                raise ValueError("not an object")
        except ValueError:
            return _answer("The body is not a JSON object.", 400)
        pair = [body.get("ClientToken"), body.get("AccessToken")]
        if not body.get("Client") or pair not in self.config()["pairs"]:
            return _answer("Invalid ClientToken or AccessToken.", 401)
        throttle = self.store.get("throttle", "throttle", {"times": 0})
        if throttle["times"] > 0:
            throttle["times"] -= 1
            self.store.put("throttle", "throttle", throttle)
            self.store.increment("counter", "throttled")
            return _answer(
                "Too many requests.", 429, {"Retry-After": str(throttle.get("retry_after", 1))}
            )
        wait = self._rate_limited(pair[1])
        if wait is not None:
            return _answer("Too many requests.", 429, {"Retry-After": str(max(int(wait) + 1, 1))})
        self.store.increment("counter", operation)
        handler = getattr(self, "_" + operation.split("/2023")[0].replace("/", "_"))
        try:
            return _answer(handler(body))
        except Refused as refused:
            return _answer(refused.message, refused.status)

    @staticmethod
    def _limitation(body: dict) -> tuple[int, str | None]:
        limitation = body.get("Limitation")
        if not isinstance(limitation, dict):
            raise Refused(400, "Limitation is required.")
        count = limitation.get("Count")
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 1000:
            raise Refused(400, "Limitation.Count is 1 to 1000.")
        return count, limitation.get("Cursor")

    @staticmethod
    def _caps(body: dict) -> None:
        for name, value in body.items():
            listed = name.endswith(("Ids", "Numbers", "Emails")) and isinstance(value, list)
            if listed and len(value) > CAPS.get(name, 1000):
                raise Refused(400, f"{name} takes at most {CAPS.get(name, 1000)} items.")

    def _page(self, rows: list[dict], body: dict, key: str, **extra) -> dict:
        count, cursor = self._limitation(body)
        rows = sorted(rows, key=lambda r: (r.get("UpdatedUtc", ""), r["Id"]), reverse=True)
        if cursor:
            ids = [r["Id"] for r in rows]
            rows = rows[ids.index(cursor) + 1 :] if cursor in ids else []
        page = rows[:count]
        return {key: page, **extra, "Cursor": page[-1]["Id"] if page else None}

    @staticmethod
    def _in(row: dict, field: str, interval: tuple[str, str] | None) -> bool:
        return interval is None or interval[0] <= row.get(field, "") <= interval[1]

    def _reservations_getAll(self, body: dict) -> dict:
        self._caps(body)
        if "ScheduledStartUtc" in body and "ActualStartUtc" in body:
            raise Refused(400, "ScheduledStartUtc and ActualStartUtc cannot be combined.")
        if "ScheduledEndUtc" in body and "ActualEndUtc" in body:
            raise Refused(400, "ScheduledEndUtc and ActualEndUtc cannot be combined.")
        updated = _interval(body["UpdatedUtc"], "UpdatedUtc") if "UpdatedUtc" in body else None
        for name in ("CreatedUtc", "ScheduledStartUtc", "ScheduledEndUtc", "CollidingUtc"):
            if name in body:
                _interval(body[name], name)
        ids, numbers = body.get("ReservationIds"), body.get("ChannelNumbers")
        states = body.get("States")
        rows = [
            r
            for r in self._docs("reservation")
            if self._in(r, "UpdatedUtc", updated)
            and (ids is None or r["Id"] in ids)
            and (numbers is None or r.get("ChannelNumber") in numbers)
            and (states is None or r["State"] in states)
        ]
        return self._page(rows, body, "Reservations")

    def _resources_getAll(self, body: dict) -> dict:
        if not isinstance(body.get("Extent"), dict):
            raise Refused(400, "Extent is required.")
        self._caps(body)
        inactive = body["Extent"].get("Inactive", False)
        rows = [r for r in self._docs("resource") if r["IsActive"] or inactive]
        return self._page(rows, body, "Resources")

    def _resources_update(self, body: dict) -> dict:
        updates = body.get("ResourceUpdates")
        if not isinstance(updates, list) or len(updates) > 1000:
            raise Refused(400, "ResourceUpdates is a list of at most 1000.")
        with self.store.transaction():
            for update in updates:
                resource = self.store.get("resource", str(update.get("ResourceId")))
                if resource is None:
                    raise Refused(400, f"Invalid ResourceId {update.get('ResourceId')}.")
                state = update.get("State")
                if state is not None:
                    value = state.get("Value") if isinstance(state, dict) else None
                    if value == "OutOfOrder":
                        raise Refused(400, "State OutOfOrder cannot be set through the API.")
                    if value not in STATES:
                        raise Refused(400, f"Invalid State {value!r}.")
                    resource["State"] = value
                resource["UpdatedUtc"] = _now()
                self.store.put("resource", resource["Id"], resource)
        return {}

    def _customers_getAll(self, body: dict) -> dict:
        if not isinstance(body.get("Extent"), dict):
            raise Refused(400, "Extent is required.")
        self._caps(body)
        filters = (
            "CustomerIds",
            "Emails",
            "CreatedUtc",
            "UpdatedUtc",
            "DeletedUtc",
            "FirstNames",
            "LastNames",
            "LoyaltyCodes",
            "CompanyIds",
        )
        if not any(name in body for name in filters):
            raise Refused(400, "CustomerIds is required if no other filter is provided.")
        updated = _interval(body["UpdatedUtc"], "UpdatedUtc") if "UpdatedUtc" in body else None
        ids, emails = body.get("CustomerIds"), body.get("Emails")
        rows = [
            c
            for c in self._docs("customer")
            if self._in(c, "UpdatedUtc", updated)
            and (ids is None or c["Id"] in ids)
            and (emails is None or c.get("Email") in emails)
        ]
        return self._page(rows, body, "Customers", Documents=None)

    def _customers_add(self, body: dict) -> dict:
        if not body.get("LastName"):
            raise Refused(400, "LastName is required.")
        return self._make_customer(body)

    def _reservations_add(self, body: dict) -> dict:
        if body.get("ServiceId") != self.config()["service_id"]:
            raise Refused(400, "Invalid ServiceId.")
        made = []
        for item in body.get("Reservations") or []:
            if not self.store.get("customer", str(item.get("CustomerId"))):
                raise Refused(400, "Invalid CustomerId.")
            for name in ("StartUtc", "EndUtc"):
                _interval({"StartUtc": item.get(name), "EndUtc": item.get(name)}, name)
            made.append(
                {"Identifier": item.get("Identifier"), "Reservation": self._make_reservation(item)}
            )
        return {"Reservations": made}

    def _reservations_update(self, body: dict) -> dict:
        with self.store.transaction():
            for update in body.get("ReservationUpdates") or []:
                row = self.store.get("reservation", str(update.get("ReservationId")))
                if row is None:
                    raise Refused(400, "Invalid ReservationId.")
                for name, field in (
                    ("StartUtc", "ScheduledStartUtc"),
                    ("EndUtc", "ScheduledEndUtc"),
                ):
                    if isinstance(update.get(name), dict):
                        row[field] = update[name]["Value"]
                if isinstance(update.get("AdultCount"), dict):
                    row["PersonCounts"] = [
                        {"AgeCategoryId": "adult", "Count": update["AdultCount"]["Value"]}
                    ]
                row["UpdatedUtc"] = _now()
                self.store.put("reservation", row["Id"], row)
        return {"Reservations": []}

    def _reservations_cancel(self, body: dict) -> dict:
        with self.store.transaction():
            for rid in body.get("ReservationIds") or []:
                row = self.store.get("reservation", str(rid))
                if row is None:
                    raise Refused(400, "Invalid ReservationId.")
                if row["State"] == "Canceled":
                    raise Refused(403, "The reservation is already canceled.")
                row["State"], row["CancelledUtc"] = "Canceled", _now()
                row["UpdatedUtc"] = row["CancelledUtc"]
                self.store.put("reservation", row["Id"], row)
        return {"ReservationIds": body.get("ReservationIds") or []}

    def _services_getAll(self, body: dict) -> dict:
        service = {
            "Id": self.config()["service_id"],
            "EnterpriseId": self.config()["enterprise_id"],
            "IsActive": True,
            "Names": {"en-US": "Accommodation"},
            "Data": {"Discriminator": "Bookable", "Value": {}},
            "UpdatedUtc": _now(),
        }
        return self._page([service], body, "Services")

    # ------------------------------------------------------------------ PMS side
    def _make_customer(self, values: dict) -> dict:
        now = _now()
        customer = {
            "Id": str(uuid.uuid4()),
            "ChainId": None,
            "Number": str(self.store.increment("seq", "customer")),
            "FirstName": values.get("FirstName") or "",
            "LastName": values["LastName"],
            "Email": values.get("Email"),
            "Phone": values.get("Phone"),
            "NationalityCode": values.get("NationalityCode"),
            "LoyaltyCode": values.get("LoyaltyCode"),
            "CreatedUtc": now,
            "UpdatedUtc": now,
            "Classifications": [],
            "Options": [],
            "MergeTargetId": None,
            "IsActive": True,
        }
        self.store.put("customer", customer["Id"], customer)
        return customer

    def _make_reservation(self, item: dict, origin: str = "Connector") -> dict:
        now = _now()
        row = {
            "Id": str(uuid.uuid4()),
            "ServiceId": self.config()["service_id"],
            "AccountId": item["CustomerId"],
            "AccountType": "Customer",
            "Number": str(self.store.increment("seq", "reservation")),
            "State": item.get("State", "Confirmed"),
            "Origin": origin,
            "CreatedUtc": now,
            "UpdatedUtc": now,
            "CancelledUtc": None,
            "RateId": item.get("RateId"),
            "RequestedResourceCategoryId": item.get("RequestedCategoryId"),
            "AssignedResourceId": None,
            "ChannelNumber": item.get("ChannelNumber"),
            "ScheduledStartUtc": item["StartUtc"],
            "ScheduledEndUtc": item["EndUtc"],
            "ActualStartUtc": None,
            "ActualEndUtc": None,
            "Purpose": "Leisure",
            "PersonCounts": [{"AgeCategoryId": "adult", "Count": item.get("AdultCount", 1)}],
        }
        self.store.put("reservation", row["Id"], row)
        return row

    def _webhook(self, events: list[dict]) -> int:
        config = self.config()
        if not config["webhook_url"]:
            return 0
        url = f"{config['webhook_url']}?{urlencode({'Token': config['webhook_token']})}"
        body = {
            "EnterpriseId": config["enterprise_id"],
            "IntegrationId": str(uuid.uuid4()),
            "Events": events,
        }
        delivery = self.context.push(
            url,
            json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            timeout=5.0,
        )
        return delivery.status

    def command(self, name: str, payload: dict[str, Any]) -> Any:
        if name == "configure":
            config = {**self.config(), **{k: v for k, v in payload.items() if k in self.config()}}
            self.store.put("config", "config", config)
            return config
        if name == "resources":
            for spec in payload.get("resources", []):
                rid = str(spec.get("Id") or uuid.uuid4())
                self.store.put(
                    "resource",
                    rid,
                    {
                        "Id": rid,
                        "EnterpriseId": self.config()["enterprise_id"],
                        "IsActive": True,
                        "ParentResourceId": None,
                        "Name": str(spec["Name"]),
                        "State": spec.get("State", "Clean"),
                        "CreatedUtc": _now(),
                        "UpdatedUtc": _now(),
                        "Data": {
                            "Discriminator": "Space",
                            "Value": {"FloorNumber": str(spec["Name"])[:1]},
                        },
                    },
                )
            return {"resources": self.store.count("resource")}
        if name == "set_resource":
            with self.store.transaction():
                found = next(
                    (r for r in self._docs("resource") if r["Name"] == payload.get("Name")), None
                )
                if found is None:
                    raise CommandError("no such resource")
                found["State"], found["UpdatedUtc"] = payload.get("State", found["State"]), _now()
                self.store.put("resource", found["Id"], found)
            return found
        if name == "add_customer":
            return self._make_customer(payload)
        if name == "create_reservation":
            customer = self._make_customer(payload.get("customer") or {"LastName": "Walk-in"})
            try:
                start = date.fromisoformat(payload["start"])
                end = date.fromisoformat(payload["end"])
            except (KeyError, ValueError) as exc:
                raise CommandError("start and end (YYYY-MM-DD) are required") from exc
            row = self._make_reservation(
                {
                    "CustomerId": customer["Id"],
                    "StartUtc": f"{start}T14:00:00Z",
                    "EndUtc": f"{end}T10:00:00Z",
                    "RequestedCategoryId": payload.get("category"),
                    "RateId": payload.get("rate"),
                    "AdultCount": payload.get("adults", 2),
                },
                origin="Commander",
            )
            status = self._webhook(
                [
                    {"Discriminator": "ServiceOrderUpdated", "Value": {"Id": row["Id"]}},
                    {"Discriminator": "CustomerAdded", "Value": {"Id": customer["Id"]}},
                ]
            )
            return {"reservation": row, "webhook": status}
        if name == "cancel_reservation":
            with self.store.transaction():
                row = self.store.get("reservation", str(payload.get("Id")))
                if row is None:
                    raise CommandError("no such reservation")
                row["State"], row["CancelledUtc"] = "Canceled", _now()
                row["UpdatedUtc"] = row["CancelledUtc"]
                self.store.put("reservation", row["Id"], row)
            status = self._webhook(
                [{"Discriminator": "ServiceOrderUpdated", "Value": {"Id": row["Id"]}}]
            )
            return {"reservation": row, "webhook": status}
        if name == "generate":
            return self._generate(payload)
        if name == "throttle":
            self.store.put(
                "throttle",
                "throttle",
                {
                    "times": int(payload.get("times", 1)),
                    "retry_after": int(payload.get("retry_after", 1)),
                },
            )
            return {"times": int(payload.get("times", 1))}
        raise CommandError(f"unknown command {name!r}")

    def _generate(self, payload: dict[str, Any]) -> dict[str, int]:
        categories = payload.get("categories") or ["EXQ"]
        rate = payload.get("rate", "BAR")
        start = date.fromisoformat(payload.get("start") or date.today().isoformat())
        with self.store.transaction():
            customers = [
                self._make_customer(
                    {
                        "FirstName": f"Guest{n}",
                        "LastName": "Bench",
                        "Email": f"guest{n}@bench.example",
                    }
                )
                for n in range(int(payload.get("customers", 0)))
            ]
            for n in range(int(payload.get("reservations", 0))):
                day = start + timedelta(days=n % 60)
                customer = (
                    customers[n % len(customers)]
                    if customers
                    else self._make_customer({"LastName": "Bench"})
                )
                self._make_reservation(
                    {
                        "CustomerId": customer["Id"],
                        "StartUtc": f"{day}T14:00:00Z",
                        "EndUtc": f"{day + timedelta(days=1)}T10:00:00Z",
                        "RequestedCategoryId": categories[n % len(categories)],
                        "RateId": rate,
                    },
                    origin="Commander",
                )
        return {k: self.store.count(k) for k in ("reservation", "customer", "resource")}

    def snapshot(self) -> dict[str, Any]:
        return {
            "config": {k: v for k, v in self.config().items() if k != "pairs"},
            "reservations": self._docs("reservation"),
            "resources": self._docs("resource"),
            "customers": self.store.count("customer"),
            "calls": dict(self.store.items("counter")),
        }

    def error_response(self, status: int) -> Response:
        return _answer(f"Forced error {status}.", status)

    def describe(self) -> str:
        return f"Mews: the published demo tokens; ServiceId {SERVICE}."
