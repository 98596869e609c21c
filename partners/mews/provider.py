"""The Mews provider (Connector API): reservations, resources (rooms), customers (guests).

Wire contract (``../shared/partners/pms-and-payments.md`` §2):

- Every call is ``POST {base_url}/api/connector/v1/{resource}/{action}`` with a JSON
  body carrying ``ClientToken``, ``AccessToken`` and ``Client`` (``Pema <version>``).
- Paged reads take ``Limitation {Count, Cursor}`` (Count at most 1000); the answer's
  ``Cursor`` is the oldest item's id, passed back for the next, older page, until it is
  null or a page comes back short.
- Time filters (``UpdatedUtc``) are ``{StartUtc, EndUtc}`` of at most 3 months: an
  incremental read from ``since`` to now walks 3-month windows (a first read goes back
  :data:`FIRST_READ_DAYS`).
- Errors: 401 refused tokens, 403 business rules, 429 with ``Retry-After`` (retried in
  the call by ``pema.http``), error bodies ``{Message, RequestId}``.
- The General webhook (``?Token=<webhook_secret>`` in its URL) lists ``Events``; a
  ``ServiceOrderUpdated`` names a reservation, which is read with
  ``reservations/getAll/2023-06-06`` by id.

Mapping: a reservation's ``RequestedResourceCategoryId`` is the partner room id and its
``RateId`` the partner rate id. Times are UTC; stay dates are the hotel's local dates
of ``ScheduledStartUtc``/``ScheduledEndUtc``.

"Already there": Pema's reservations are added with ``ChannelNumber`` = the
confirmation number; a create sent again first reads ``ChannelNumbers`` and takes the
Mews id found. Mews's own reservations reach Pema as source PMS and never go back.
"""

from __future__ import annotations

import hmac
import json
import zoneinfo
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from django.conf import settings

from channels.interface import (
    DeliveryResult,
    FetchWindow,
    GuestDetails,
    HousekeepingStatus,
    InboundKind,
    InboundReservation,
    InboundRoomStay,
    PmsGuest,
    PmsRoom,
    ReservationFlow,
    ReservationMessage,
    WebhookRequest,
)
from channels.providers.base import NotSupported, PermanentError, WebhookRefused
from channels.providers.pms import PmsProvider

PAGE = 1000
WINDOW = timedelta(days=90)
FIRST_READ_DAYS = 90
STATE = {
    "Dirty": HousekeepingStatus.DIRTY,
    "Clean": HousekeepingStatus.CLEAN,
    "Inspected": HousekeepingStatus.INSPECTED,
    "OutOfService": HousekeepingStatus.OUT_OF_SERVICE,
    "OutOfOrder": HousekeepingStatus.OUT_OF_ORDER,
}
MEWS_STATE = {v: k for k, v in STATE.items()}
RESERVATIONS = "reservations/getAll/2023-06-06"


def utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _revision(row: dict) -> str:
    """A reservation's revision: its state and when Mews last changed it."""
    state, updated = str(row.get("State") or ""), str(row.get("UpdatedUtc") or "")
    return f"{state}:{updated}" if updated else state


def _moment(value) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def windows(since: datetime, until: datetime) -> Iterator[tuple[datetime, datetime]]:
    """``since``..``until`` as intervals of at most 3 months."""
    start = since
    while start < until:
        end = min(start + WINDOW, until)
        yield start, end
        start = end


class MewsProvider(PmsProvider):
    """Mews (Connector API)."""

    key = "mews"
    label = "Mews (Connector API)"
    content_type = "application/json"
    pushes_bookings = True
    credential_fields: ClassVar[dict[str, str]] = {
        "client_token": "ClientToken (per application)",
        "access_token": "AccessToken (per property)",
    }
    optional_credentials: ClassVar[dict[str, str]] = {
        "webhook_secret": "Token of the General webhook URL (?Token=)"
    }
    settings_fields: ClassVar[dict[str, str]] = {
        "service_id": "Id of the bookable (accommodation) service"
    }
    optional_settings: ClassVar[dict[str, str]] = {"enterprise_id": "Enterprise id"}

    def capabilities(self):
        from dataclasses import replace

        return replace(super().capabilities(), reservations=ReservationFlow.PUSH)

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.connection.hotel.timezone)

    def url_for(self, operation: str) -> str:
        return f"{self.connection.base_url.rstrip('/')}/api/connector/v1/{operation}"

    def response_reference(self, answer: bytes) -> str:
        try:
            data = json.loads(answer)
        except ValueError:
            return ""
        return str(data.get("RequestId") or "") if isinstance(data, dict) else ""

    def call(self, operation: str, body: dict, *, items: int = 0, message_id: str = "") -> dict:
        payload = {
            "ClientToken": self.credential("client_token"),
            "AccessToken": self.credential("access_token"),
            "Client": f"Pema {settings.PEMA_VERSION}",
            **body,
        }
        if message_id:
            payload["Identifier"] = message_id  # ignored by Mews; a retry is recognisable in logs
        # The tokens are credentials: the log keeps the body without them (redact).
        return self.exchange(
            operation,
            json.dumps(payload).encode(),
            json.loads,
            items=items,
            correlation_id=message_id,
        )

    def redact(self, body: bytes) -> bytes:
        try:
            data = json.loads(body)
        except ValueError:
            return body
        if isinstance(data, dict):
            for name in ("ClientToken", "AccessToken"):
                if name in data:
                    data[name] = "***"
        return json.dumps(data).encode()

    def _paged(self, operation: str, body: dict, key: str, limit: int | None) -> Iterator[list]:
        cursor, seen = None, 0
        while True:
            answer = self.call(operation, {**body, "Limitation": {"Count": PAGE, "Cursor": cursor}})
            items = answer.get(key) or []
            yield items
            seen += len(items)
            cursor = answer.get("Cursor")
            if not cursor or len(items) < PAGE or (limit is not None and seen >= limit):
                return

    # ------------------------------------------------------------------ reading
    def test_connection(self) -> str:
        answer = self.call(
            "resources/getAll",
            {"Extent": {"Resources": True, "Inactive": False}, "Limitation": {"Count": 1}},
        )
        return f"Mews answered: {len(answer.get('Resources') or [])} resource(s) on the first page."

    def _customers(self, ids: list[str]) -> dict[str, dict]:
        found: dict[str, dict] = {}
        for at in range(0, len(ids), PAGE):
            for page in self._paged(
                "customers/getAll",
                {"CustomerIds": ids[at : at + PAGE], "Extent": {"Customers": True}},
                "Customers",
                None,
            ):
                found |= {c["Id"]: c for c in page if isinstance(c, dict) and c.get("Id")}
        return found

    def _inbound(self, rows: list[dict], raw_of=None) -> list[InboundReservation]:
        customers = self._customers(sorted({r["AccountId"] for r in rows if r.get("AccountId")}))
        found = []
        for row in rows:
            start = _moment(row.get("ScheduledStartUtc") or row.get("StartUtc"))
            end = _moment(row.get("ScheduledEndUtc") or row.get("EndUtc"))
            if not row.get("Id") or start is None or end is None:
                continue
            customer = customers.get(row.get("AccountId"), {})
            adults = sum(p.get("Count", 0) for p in row.get("PersonCounts") or []) or 1
            found.append(
                InboundReservation(
                    partner_reservation_id=str(row["Id"]),
                    # The state too: a booking made and cancelled within one second of
                    # UpdatedUtc is two revisions, not one (the cancellation was lost).
                    revision=_revision(row),
                    kind=InboundKind.CANCEL if row.get("State") == "Canceled" else InboundKind.NEW,
                    currency=self.connection.hotel.currency,
                    guest=GuestDetails(
                        given_name=str(customer.get("FirstName") or ""),
                        surname=str(customer.get("LastName") or ""),
                        email=str(customer.get("Email") or ""),
                        phone=str(customer.get("Phone") or ""),
                        country=str(customer.get("NationalityCode") or ""),
                    ),
                    rooms=(
                        InboundRoomStay(
                            partner_room_id=str(row.get("RequestedResourceCategoryId") or ""),
                            partner_rate_id=str(row.get("RateId") or ""),
                            check_in=start.astimezone(self.tz).date(),
                            check_out=end.astimezone(self.tz).date(),
                            adults=adults,
                        ),
                    ),
                    booked_at=_moment(row.get("CreatedUtc")),
                    revised_at=_moment(row.get("UpdatedUtc")),
                    raw=raw_of(row) if raw_of else json.dumps(row).encode(),
                )
            )
        return found

    def fetch_reservations(self, window: FetchWindow) -> Iterator[Sequence[InboundReservation]]:
        now = datetime.now(UTC)
        since = window.since or now - timedelta(days=FIRST_READ_DAYS)
        seen = 0
        for start, end in windows(since, now):
            body = {"UpdatedUtc": {"StartUtc": utc(start), "EndUtc": utc(end)}}
            for page in self._paged(RESERVATIONS, body, "Reservations", window.limit):
                yield self._inbound(page)
                seen += len(page)
                if window.limit is not None and seen >= window.limit:
                    return

    def fetch_rooms(self) -> Iterator[Sequence[PmsRoom]]:
        body = {"Extent": {"Resources": True, "Inactive": False}}
        for page in self._paged("resources/getAll", body, "Resources", None):
            yield [
                PmsRoom(
                    pms_id=str(r["Id"]),
                    number=str(r.get("Name") or ""),
                    housekeeping=STATE.get(r.get("State"), HousekeepingStatus.DIRTY),
                    reason="Out of order in Mews" if r.get("State") == "OutOfOrder" else "",
                )
                for r in page
                if isinstance(r, dict) and r.get("Id") and r.get("IsActive", True)
            ]

    def fetch_guests(self, window: FetchWindow) -> Iterator[Sequence[PmsGuest]]:
        now = datetime.now(UTC)
        since = window.since or now - timedelta(days=FIRST_READ_DAYS)
        for start, end in windows(since, now):
            body = {
                "UpdatedUtc": {"StartUtc": utc(start), "EndUtc": utc(end)},
                "Extent": {"Customers": True, "Addresses": False},
            }
            for page in self._paged("customers/getAll", body, "Customers", window.limit):
                yield [
                    PmsGuest(
                        pms_id=str(c["Id"]),
                        given_name=str(c.get("FirstName") or ""),
                        surname=str(c.get("LastName") or ""),
                        email=str(c.get("Email") or ""),
                        phone=str(c.get("Phone") or ""),
                        country=str(c.get("NationalityCode") or ""),
                        loyalty_tier=str(c.get("LoyaltyCode") or ""),
                    )
                    for c in page
                    if isinstance(c, dict) and c.get("Id") and not c.get("MergeTargetId")
                ]

    def set_housekeeping(self, pms_room_id: str, status: HousekeepingStatus) -> None:
        if status == HousekeepingStatus.OUT_OF_ORDER:
            raise NotSupported("Mews does not take out of order through the API (resource blocks).")
        self.call(
            "resources/update",
            {
                "ResourceUpdates": [
                    {"ResourceId": pms_room_id, "State": {"Value": MEWS_STATE[status]}}
                ]
            },
            items=1,
        )

    # ------------------------------------------------------------------ writing
    def _customer_id(self, guest: GuestDetails) -> str:
        if guest.email:
            answer = self.call(
                "customers/getAll",
                {
                    "Emails": [guest.email],
                    "Extent": {"Customers": True},
                    "Limitation": {"Count": 1},
                },
            )
            for customer in answer.get("Customers") or []:
                return str(customer["Id"])
        made = self.call(
            "customers/add",
            {
                "FirstName": guest.given_name,
                "LastName": guest.surname or "Guest",
                "Email": guest.email or None,
                "Phone": guest.phone or None,
                "NationalityCode": guest.country or None,
            },
        )
        return str(made["Id"])

    def find_by_channel_number(self, confirmation_number: str) -> str:
        answer = self.call(
            RESERVATIONS,
            {"ChannelNumbers": [confirmation_number], "Limitation": {"Count": 10}},
        )
        for row in answer.get("Reservations") or []:
            return str(row["Id"])
        return ""

    def push_reservation(
        self, reservation: ReservationMessage, *, message_id: str
    ) -> DeliveryResult:
        if reservation.partner_reference:
            return self._update(reservation, message_id)
        if reservation.cancelled:
            return DeliveryResult(skipped="Cancelled before it reached the PMS.")
        found = self.find_by_channel_number(reservation.confirmation_number)
        if found:
            return DeliveryResult(
                partner_references={reservation.confirmation_number: found},
                warnings=(f"Already in Mews as {found}: not added twice.",),
                messages=1,
            )
        customer = self._customer_id(reservation.guest)
        room = reservation.rooms[0]
        answer = self.call(
            "reservations/add",
            {
                "ServiceId": self.setting("service_id"),
                "Reservations": [
                    {
                        "Identifier": reservation.confirmation_number,
                        "ChannelNumber": reservation.confirmation_number,
                        "State": "Confirmed",
                        "StartUtc": self._local_utc(room.check_in),
                        "EndUtc": self._local_utc(room.check_out),
                        "CustomerId": customer,
                        "RequestedCategoryId": room.partner_room_id,
                        "RateId": room.partner_rate_id,
                        "AdultCount": room.adults,
                        "ChildCount": room.children,
                        "Notes": reservation.special_requests or None,
                    }
                ],
            },
            items=1,
            message_id=message_id,
        )
        made = (answer.get("Reservations") or [{}])[0].get("Reservation") or {}
        if not made.get("Id"):
            raise PermanentError("Mews added the reservation but returned no id.")
        return DeliveryResult(
            partner_references={reservation.confirmation_number: str(made["Id"])}, messages=1
        )

    def _local_utc(self, day) -> str:
        return utc(datetime(day.year, day.month, day.day, tzinfo=self.tz))

    def _update(self, reservation: ReservationMessage, message_id: str) -> DeliveryResult:
        if reservation.cancelled:
            return self.cancel_reservation(reservation, message_id=message_id)
        room = reservation.rooms[0] if reservation.rooms else None
        update = {"ReservationId": reservation.partner_reference}
        if room is not None:
            update |= {
                "StartUtc": {"Value": self._local_utc(room.check_in)},
                "EndUtc": {"Value": self._local_utc(room.check_out)},
                "AdultCount": {"Value": room.adults},
            }
        self.call(
            "reservations/update", {"ReservationUpdates": [update]}, items=1, message_id=message_id
        )
        return DeliveryResult(messages=1)

    def cancel_reservation(
        self, reservation: ReservationMessage, *, message_id: str
    ) -> DeliveryResult:
        if not reservation.partner_reference:
            return DeliveryResult(skipped="Never reached the PMS: nothing to cancel there.")
        self.call(
            "reservations/cancel",
            {"ReservationIds": [reservation.partner_reference], "PostCancellationFee": False},
            items=1,
            message_id=message_id,
        )
        return DeliveryResult(messages=1)

    # ------------------------------------------------------------------ webhooks
    def verify_webhook(self, request: WebhookRequest) -> None:
        expected = self.credential("webhook_secret")
        given = request.query.get("Token", "")
        if not expected or not hmac.compare_digest(expected.encode(), given.encode()):
            raise WebhookRefused("The webhook's Token is missing or wrong.", http_status=401)

    def parse_webhook(self, request: WebhookRequest) -> tuple[InboundReservation, ...]:
        try:
            message = json.loads(request.body)
        except ValueError as exc:
            raise PermanentError(f"The webhook is not JSON: {exc}") from exc
        events = message.get("Events") if isinstance(message, dict) else None
        if not isinstance(events, list):
            raise PermanentError("The webhook has no Events list.")
        ids = sorted(
            {
                str((e.get("Value") or {}).get("Id"))
                for e in events
                if isinstance(e, dict) and e.get("Discriminator") == "ServiceOrderUpdated"
                and (e.get("Value") or {}).get("Id")
            }
        )  # fmt: skip
        if not ids:
            return ()  # resources and customers: read by the scheduled syncs
        found: list[InboundReservation] = []
        for at in range(0, len(ids), PAGE):
            for page in self._paged(
                RESERVATIONS, {"ReservationIds": ids[at : at + PAGE]}, "Reservations", None
            ):
                found += self._inbound(page)
        return tuple(found)
