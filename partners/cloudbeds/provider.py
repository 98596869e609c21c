"""The Cloudbeds provider (PMS API v1.3): reservations, rooms and housekeeping, guests.

Wire contract (``../shared/partners/pms-and-payments.md`` §1):

- RPC style, one URL per method: ``{base_url}/{method}`` (``base_url`` ends in
  ``/api/v1.3``). GET takes a query string; POST and PUT a form
  (``application/x-www-form-urlencoded``). Answers are JSON.
- Auth, chosen per connection (setting ``auth``): ``api_key`` sends
  ``x-api-key``; ``oauth`` sends ``Authorization: Bearer`` with a token got
  from ``POST /access_token`` with ``grant_type=refresh_token`` and refreshed
  when it expires or is refused (``pema.http_auth``). ``X-PROPERTY-ID`` on every
  call.
- The envelope ``{success, data, count, total}``; business errors are HTTP 200
  with ``success: false`` and a ``message`` (:func:`check_envelope`). A property
  the key may not reach, or a deactivated approver, is ``Unauthorised``.
- Pages: ``pageNumber`` from 1, ``pageSize`` 100 (the maximum) for
  getReservations, getGuestList and getHousekeepingStatus.
- At most 5 requests a second per property key: every call waits its turn
  (``pema.pacing``) before it is sent; a 429 is retried in the call
  (``pema.http``) and then left to the outbox's backoff.
- Webhooks: Cloudbeds signs nothing, so the hook URL a connection subscribes
  with ``postWebhook`` carries its secret (``?secret=<webhook_secret>``);
  :meth:`verify_webhook` compares it in constant time. A delivery names only
  ids (either casing, ``propertyID``/``propertyId``): a created or changed
  reservation is read again with ``getReservation``; a cancellation needs no call.

"Already there": a Pema reservation is created with ``thirdPartyIdentifier`` =
its confirmation number. A create sent again (its answer lost) first looks it
up by that identifier (``getReservations?sourceReservationId=``) and takes the
Cloudbeds id found instead of creating a second one. Reservations Cloudbeds
sent Pema are source PMS and never exported back.

Form arrays are encoded ``rooms[0][roomTypeID]=...`` (the notes did not find
the official encoding; this is PHP's, which the API's own examples use).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import ClassVar
from urllib.parse import urlencode

from channels.interface import (
    DeliveryResult,
    FetchWindow,
    GuestDetails,
    HousekeepingStatus,
    InboundKind,
    InboundReservation,
    InboundRoomStay,
    Occupancy,
    PmsGuest,
    PmsRoom,
    ReservationFlow,
    ReservationMessage,
    WebhookRequest,
)
from channels.providers.base import (
    NotSupported,
    PermanentError,
    Unauthorised,
    WebhookRefused,
)
from channels.providers.pms import PmsProvider
from pema.http_auth import BearerTokenAuth, client_credentials, fingerprint
from pema.money import to_minor
from pema.pacing import Pacer

FORM = "application/x-www-form-urlencoded"
PAGE_SIZE = 100
RATE_PER_SECOND = 5.0
#: One pacer for every Cloudbeds connection of this process, keyed by property key.
PACER = Pacer(RATE_PER_SECOND)
#: Messages of ``success: false`` that mean the credentials cannot reach the property.
ACCESS_ERRORS = ("property id", "not active anymore", "invalid status", "access_denied")
CANCELLED = "canceled"
STAY_STATES = ("not_confirmed", "confirmed", "canceled", "checked_in", "checked_out", "no_show")
CONDITION = {"clean": "clean", "dirty": "dirty", "inspected": "inspected"}
RESERVATION_EVENTS = (
    "reservation/created",
    "reservation/status_changed",
    "reservation/dates_changed",
    "reservation/accommodation_changed",
    "reservation/deleted",
)


def check_envelope(answer: dict) -> str:
    """Raise for ``success: false`` (Cloudbeds answers business errors with HTTP 200)."""
    if not isinstance(answer, dict):
        raise PermanentError("Cloudbeds answered something that is not a JSON object.")
    if answer.get("success") is True:
        return ""
    message = str(answer.get("message") or answer.get("error_description") or "no message")
    if any(text in message.lower() for text in ACCESS_ERRORS):
        raise Unauthorised(f"Cloudbeds refused access: {message}")
    raise PermanentError(f"Cloudbeds refused the request: {message}")


def _int(value, default: int = 0) -> int:
    try:
        return max(int(value), 0)
    except (TypeError, ValueError):
        return default


def _moment(value: str | None) -> datetime | None:
    """Cloudbeds' ``YYYY-MM-DD HH:MM:SS`` (taken as UTC) as an aware timestamp."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace(" ", "T"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def form(fields: dict) -> bytes:
    """A form body; lists of dicts become ``name[0][key]=value`` (PHP-style arrays)."""
    pairs: list[tuple[str, str]] = []
    for name, value in fields.items():
        if isinstance(value, list):
            for index, item in enumerate(value):
                for key, inner in item.items():
                    pairs.append((f"{name}[{index}][{key}]", str(inner)))
        elif value is not None and value != "":
            pairs.append((name, str(value).lower() if isinstance(value, bool) else str(value)))
    return urlencode(pairs).encode("ascii")


def _guest(entry: dict) -> GuestDetails:
    return GuestDetails(
        given_name=str(entry.get("guestFirstName") or ""),
        surname=str(entry.get("guestLastName") or ""),
        email=str(entry.get("guestEmail") or ""),
        phone=str(entry.get("guestPhone") or entry.get("guestCellPhone") or ""),
        country=str(entry.get("guestCountry") or ""),
    )


def reservation_from(
    data: dict, raw: bytes, default_rate: str, currency: str
) -> InboundReservation:
    """One reservation of getReservations (with guests and rooms) or getReservation."""
    reservation_id = str(data.get("reservationID") or "")
    status = str(data.get("status") or "confirmed")
    guests = data.get("guestList") or {}
    main = next(
        (g for g in guests.values() if isinstance(g, dict) and g.get("isMainGuest")),
        next((g for g in guests.values() if isinstance(g, dict)), {}),
    )
    if not main and data.get("guestName"):
        first, _, last = str(data["guestName"]).partition(" ")
        main = {
            "guestFirstName": first,
            "guestLastName": last,
            "guestEmail": data.get("guestEmail"),
        }
    rooms = data.get("rooms") or data.get("assigned") or data.get("unassigned") or []
    if not rooms:
        rooms = [data]  # one room, described by the reservation itself
    stays = []
    for index, room in enumerate(rooms):
        if room.get("roomStatus") == "cancelled" and status != CANCELLED:
            continue
        stays.append(
            InboundRoomStay(
                partner_room_id=str(room.get("roomTypeID") or ""),
                partner_rate_id=str(room.get("rateID") or room.get("roomRateID") or default_rate),
                check_in=date.fromisoformat(str(room.get("startDate") or data["startDate"])),
                check_out=date.fromisoformat(str(room.get("endDate") or data["endDate"])),
                adults=max(_int(room.get("adults", data.get("adults")), 1), 1),
                children=_int(room.get("children", data.get("children"))),
                index=str(room.get("subReservationID") or index + 1),
            )
        )
    modified = str(data.get("dateModified") or data.get("dateCreated") or "")
    total = data.get("total")
    currency = str(data.get("currency") or currency).upper()
    return InboundReservation(
        partner_reservation_id=reservation_id,
        revision=f"{status}:{modified}" if modified else status,
        kind=InboundKind.CANCEL if status == CANCELLED else InboundKind.NEW,
        currency=currency,
        # Only getReservation carries a total; a listed reservation is priced by the hotel.
        total=to_minor(Decimal(str(total)), currency) if isinstance(total, int | float) else 0,
        guest=_guest(main),
        rooms=tuple(stays),
        booked_at=_moment(data.get("dateCreated")),
        revised_at=_moment(modified),
        raw=raw,
    )


class CloudbedsProvider(PmsProvider):
    """Cloudbeds PMS (API v1.3)."""

    key = "cloudbeds"
    label = "Cloudbeds (PMS API v1.3)"
    content_type = FORM
    pushes_bookings = True
    settings_fields: ClassVar[dict[str, str]] = {"property_id": "Cloudbeds propertyID"}
    optional_settings: ClassVar[dict[str, str]] = {
        "auth": "api_key (default) or oauth",
        "default_rate": "Partner rate id of PMS reservations that name none",
        "source_id": "Cloudbeds sourceID Pema's reservations are made under (e.g. s-1)",
    }
    optional_credentials: ClassVar[dict[str, str]] = {
        "api_key": "API key (x-api-key, cbat_...)",
        "client_id": "OAuth client id",
        "client_secret": "OAuth client secret",
        "refresh_token": "OAuth refresh token",
        "webhook_secret": "Secret carried by the webhook URL (?secret=)",
    }

    @classmethod
    def validate_settings(cls, values: dict) -> list[str]:
        errors = super().validate_settings(values)
        if isinstance(values, dict) and values.get("auth", "api_key") not in ("api_key", "oauth"):
            errors.append("The setting 'auth' is api_key or oauth.")
        return errors

    @classmethod
    def validate_credentials(cls, values: dict) -> list[str]:
        errors = super().validate_credentials(values)
        if not isinstance(values, dict) or errors:
            return errors
        oauth = {"client_id", "client_secret", "refresh_token"}
        if not values.get("api_key") and not oauth <= {k for k, v in values.items() if v}:
            errors.append(
                "The credential 'api_key' is required (or, for OAuth, 'client_id', "
                "'client_secret' and 'refresh_token')."
            )
        return errors

    def __init__(self, connection) -> None:
        super().__init__(connection)
        self._message_id = ""

    @property
    def property_id(self) -> str:
        return self.setting("property_id")

    def capabilities(self):
        from dataclasses import replace

        return replace(super().capabilities(), reservations=ReservationFlow.PUSH)

    # ------------------------------------------------------------------ transport
    def headers(self) -> dict[str, str]:
        headers = {**super().headers(), "Accept": "application/json"}
        headers["X-PROPERTY-ID"] = self.property_id
        if self.setting("auth", "api_key") == "api_key":
            headers["x-api-key"] = self.credential("api_key")
        if self._message_id:
            headers["X-Pema-Message-Id"] = self._message_id
        return headers

    def auth(self):
        if self.setting("auth", "api_key") != "oauth":
            return None
        base = self.connection.base_url.rstrip("/")
        fetch = client_credentials(
            f"{base}/access_token",
            self.credential("client_id"),
            self.credential("client_secret"),
            extra_fields={
                "grant_type": "refresh_token",
                "refresh_token": self.credential("refresh_token"),
            },
            credentials_in_body=True,
            default_lifetime=3600.0,
        )
        key = f"cloudbeds:{self.connection.pk}:" + fingerprint(
            self.credential("client_id"), self.credential("refresh_token")
        )
        return BearerTokenAuth(fetch, cache_key=key)

    def response_reference(self, answer: bytes) -> str:
        return ""

    def call(
        self,
        method: str,
        *,
        verb: str = "GET",
        params: dict | None = None,
        fields: dict | None = None,
        items: int = 0,
        message_id: str = "",
    ) -> dict:
        """One paced call of ``method``; the answer's envelope (success checked)."""
        PACER.wait(self.credential("api_key") or self.credential("client_id") or self.property_id)
        self._message_id = message_id
        try:
            return self.exchange(
                method,
                form(fields or {}) if verb in ("POST", "PUT") else b"",
                json.loads,
                method=verb,
                params={k: str(v) for k, v in (params or {}).items() if v not in (None, "")},
                check=check_envelope,
                items=items,
                correlation_id=message_id,
            )
        finally:
            self._message_id = ""

    def _pages(self, method: str, params: dict, limit: int | None = None) -> Iterator[dict]:
        page, seen = 1, 0
        while True:
            answer = self.call(
                method,
                params={**params, "pageNumber": page, "pageSize": PAGE_SIZE},
            )
            yield answer
            count = _int(answer.get("count"))
            seen += count
            total = _int(answer.get("total"))
            if count < PAGE_SIZE or seen >= total or (limit is not None and seen >= limit):
                return
            page += 1

    # ------------------------------------------------------------------ operations
    def test_connection(self) -> str:
        answer = self.call("getRooms", params={"propertyIDs": self.property_id, "pageSize": 1})
        return f"Cloudbeds answered: property {self.property_id}, {answer.get('total', 0)} rooms."

    def fetch_reservations(self, window: FetchWindow) -> Iterator[Sequence[InboundReservation]]:
        params = {
            "propertyID": self.property_id,
            "includeGuestsDetails": "true",
            "includeAllRooms": "true",
        }
        if window.since is not None:
            params["modifiedFrom"] = _stamp(window.since)
        default_rate = self.setting("default_rate")
        currency = self.connection.hotel.currency
        for answer in self._pages("getReservations", params, window.limit):
            yield [
                reservation_from(row, json.dumps(row).encode(), default_rate, currency)
                for row in answer.get("data") or []
                if isinstance(row, dict) and row.get("reservationID")
            ]

    def fetch_rooms(self) -> Iterator[Sequence[PmsRoom]]:
        for answer in self._pages("getHousekeepingStatus", {"propertyID": self.property_id}):
            rooms = []
            for row in answer.get("data") or []:
                condition = str(row.get("roomCondition") or "clean")
                state = (
                    HousekeepingStatus.OUT_OF_ORDER
                    if row.get("roomBlocked") in (True, "true", 1, "1")
                    else HousekeepingStatus(condition)
                    if condition in CONDITION
                    else HousekeepingStatus.DIRTY
                )
                occupied = row.get("roomOccupied") in (True, "true", 1, "1")
                rooms.append(
                    PmsRoom(
                        pms_id=str(row.get("roomID") or ""),
                        number=str(row.get("roomName") or ""),
                        housekeeping=state,
                        occupancy=Occupancy.OCCUPIED if occupied else Occupancy.VACANT,
                        partner_room_type=str(row.get("roomTypeID") or ""),
                        reason=str(row.get("roomComments") or "Blocked in Cloudbeds")
                        if state == HousekeepingStatus.OUT_OF_ORDER
                        else "",
                    )
                )
            yield rooms

    def fetch_guests(self, window: FetchWindow) -> Iterator[Sequence[PmsGuest]]:
        params = {"propertyIDs": self.property_id, "includeGuestInfo": "true"}
        if window.since is not None:
            params["resultsFrom"] = _stamp(window.since)
        for answer in self._pages("getGuestList", params, window.limit):
            data = answer.get("data") or {}
            entries = data.values() if isinstance(data, dict) else data
            yield [
                PmsGuest(
                    pms_id=str(g.get("guestID") or ""),
                    given_name=str(g.get("guestFirstName") or ""),
                    surname=str(g.get("guestLastName") or ""),
                    email=str(g.get("guestEmail") or ""),
                    phone=str(g.get("guestPhone") or g.get("guestCellPhone") or ""),
                    country=str(g.get("guestCountry") or ""),
                )
                for g in entries
                if isinstance(g, dict) and not g.get("isMerged")
            ]

    def set_housekeeping(self, pms_room_id: str, status: HousekeepingStatus) -> None:
        condition = CONDITION.get(str(status))
        if condition is None:
            raise NotSupported(
                "Cloudbeds takes clean, dirty or inspected; out of order and out of service "
                "are room blocks, set in Cloudbeds itself."
            )
        self.call(
            "postHousekeepingStatus",
            verb="POST",
            fields={
                "propertyID": self.property_id,
                "roomID": pms_room_id,
                "roomCondition": condition,
            },
            items=1,
        )

    def find_by_identifier(self, confirmation_number: str) -> str:
        """Cloudbeds' id of the reservation Pema made under ``confirmation_number`` ("" if none)."""
        answer = self.call(
            "getReservations",
            params={"propertyID": self.property_id, "sourceReservationId": confirmation_number},
        )
        for row in answer.get("data") or []:
            if str(row.get("thirdPartyIdentifier") or "") == confirmation_number:
                return str(row.get("reservationID") or "")
        return ""

    def push_reservation(
        self, reservation: ReservationMessage, *, message_id: str
    ) -> DeliveryResult:
        if reservation.partner_reference:
            return self._put(reservation, message_id)
        if reservation.cancelled:
            return DeliveryResult(skipped="Cancelled before it reached the PMS.")
        found = self.find_by_identifier(reservation.confirmation_number)
        if found:
            return DeliveryResult(
                partner_references={reservation.confirmation_number: found},
                warnings=(f"Already in Cloudbeds as {found}: not created twice.",),
                messages=1,
            )
        guest = reservation.guest
        answer = self.call(
            "postReservation",
            verb="POST",
            items=1,
            message_id=message_id,
            fields={
                "propertyID": self.property_id,
                "sourceID": self.setting("source_id", "s-1"),
                "thirdPartyIdentifier": reservation.confirmation_number,
                "startDate": reservation.check_in.isoformat() if reservation.check_in else "",
                "endDate": reservation.check_out.isoformat() if reservation.check_out else "",
                "guestFirstName": guest.given_name,
                "guestLastName": guest.surname or "Guest",
                "guestEmail": guest.email,
                "guestPhone": guest.phone,
                "guestCountry": guest.country,
                "rooms": [
                    {
                        "roomTypeID": r.partner_room_id,
                        "quantity": 1,
                        "roomRateID": r.partner_rate_id,
                    }
                    for r in reservation.rooms
                ],
                "adults": [
                    {"roomTypeID": r.partner_room_id, "quantity": r.adults}
                    for r in reservation.rooms
                ],
                "children": [
                    {"roomTypeID": r.partner_room_id, "quantity": r.children}
                    for r in reservation.rooms
                ],
                "paymentMethod": "cash",
                "sendEmailConfirmation": "false",
            },
        )
        reference = str(answer.get("reservationID") or "")
        if not reference:
            raise PermanentError(
                "Cloudbeds accepted the reservation but returned no reservationID."
            )
        return DeliveryResult(
            partner_references={reservation.confirmation_number: reference}, messages=1
        )

    def _put(self, reservation: ReservationMessage, message_id: str) -> DeliveryResult:
        fields = {"propertyID": self.property_id, "reservationID": reservation.partner_reference}
        if reservation.cancelled:
            fields["status"] = CANCELLED
        else:
            fields["checkoutDate"] = (
                reservation.check_out.isoformat() if reservation.check_out else ""
            )
            fields["rooms"] = [
                {
                    "roomTypeID": r.partner_room_id,
                    "checkinDate": r.check_in.isoformat(),
                    "checkoutDate": r.check_out.isoformat(),
                    "adults": r.adults,
                    "children": r.children,
                }
                for r in reservation.rooms
            ]
        self.call("putReservation", verb="PUT", fields=fields, items=1, message_id=message_id)
        return DeliveryResult(messages=1)

    def cancel_reservation(
        self, reservation: ReservationMessage, *, message_id: str
    ) -> DeliveryResult:
        if not reservation.partner_reference:
            return DeliveryResult(skipped="Never reached the PMS: nothing to cancel there.")
        from dataclasses import replace

        return self._put(replace(reservation, status="cancelled"), message_id)

    def subscribe_webhooks(self, endpoint_url: str) -> list[str]:
        """Subscribe the connection's hook (with its secret) to the reservation events."""
        url = f"{endpoint_url}?{urlencode({'secret': self.credential('webhook_secret')})}"
        ids = []
        for event in RESERVATION_EVENTS:
            obj, action = event.split("/")
            answer = self.call(
                "postWebhook",
                verb="POST",
                fields={
                    "propertyID": self.property_id,
                    "object": obj,
                    "action": action,
                    "endpointUrl": url,
                },
            )
            ids.append(str((answer.get("data") or {}).get("subscriptionID") or ""))
        return ids

    # ------------------------------------------------------------------ webhooks
    def verify_webhook(self, request: WebhookRequest) -> None:
        expected = self.credential("webhook_secret")
        given = request.query.get("secret", "")
        if not expected or not hmac.compare_digest(expected.encode(), given.encode()):
            raise WebhookRefused("The hook URL's secret is missing or wrong.", http_status=401)

    def parse_webhook(self, request: WebhookRequest) -> tuple[InboundReservation, ...]:
        try:
            event = json.loads(request.body)
        except ValueError as exc:
            raise PermanentError(f"The delivery is not JSON: {exc}") from exc
        if not isinstance(event, dict):
            raise PermanentError("The delivery is not a JSON object.")
        name = str(event.get("event") or "")
        if not name.startswith("reservation/"):
            return ()  # guests, housekeeping, night audit: read by the scheduled syncs
        reservation_id = str(event.get("reservationID") or event.get("reservationId") or "")
        property_id = str(event.get("propertyID") or event.get("propertyId") or "")
        if not reservation_id or property_id != self.property_id:
            raise PermanentError("The delivery names no reservation of this property.")
        revision = f"{name}:{event.get('timestamp', '')}"
        moment = event.get("timestamp")
        revised_at = (
            datetime.fromtimestamp(float(moment), tz=UTC)
            if isinstance(moment, int | float)
            else None
        )
        if name in ("reservation/deleted",) or event.get("status") == CANCELLED:
            return (
                InboundReservation(
                    partner_reservation_id=reservation_id,
                    revision=revision,
                    kind=InboundKind.CANCEL,
                    revised_at=revised_at,
                    raw=request.body,
                ),
            )
        answer = self.call(
            "getReservation",
            params={"propertyID": self.property_id, "reservationID": reservation_id},
        )
        data = answer.get("data") or {}
        parsed = reservation_from(
            data, request.body, self.setting("default_rate"), self.connection.hotel.currency
        )
        from dataclasses import replace

        return (replace(parsed, revision=revision, revised_at=revised_at or parsed.revised_at),)
