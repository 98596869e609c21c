"""The OPERA Cloud provider (OHIP property APIs): reservations, housekeeping, profiles.

Wire contract (``../shared/partners/pms-and-payments.md`` §3):

- Token: ``POST {gateway}/oauth/v1/tokens``, a form, HTTP Basic with the client id
  and secret and ``x-app-key``; ``grant_type`` ``client_credentials`` with a
  ``scope`` (and ``enterpriseId`` in OCIM environments) or ``password`` with the
  integration user. Tokens last about an hour and are cached per connection and
  credentials (``pema.http_auth``), fetched again when refused.
- Every data call carries ``Authorization: Bearer``, ``x-app-key`` and
  ``x-hotelid``, and ``x-externalsystem`` (Pema's external system code), so
  Pema's own changes are not queued back to it as business events.
- ``GET /rsv/v1/hotels/{hotelId}/reservations`` pages by ``limit`` and ``offset``
  (``hasMore``); **204 means nothing found**, on searches and reads by id.
- There is no "modified since" filter. A full read lists the reservations
  arriving from yesterday on; an incremental one polls the business-event queue
  (``GET /int/v1/externalSystem/{code}/hotels/{hotelId}/businessEvents``, at most
  20, a destructive read): ``pms.sync`` stores each batch first, then the
  reservations named are read by id (:meth:`read_reservations`).
- Rooms: ``GET /hsk/v1/hotels/{hotelId}/housekeepingOverview``; housekeeping set back
  with ``PUT /hsk/v1/hotels/{hotelId}/rooms/status`` (Clean, Dirty, Inspected; out of
  order and out of service are OPERA's own room workflows and are refused here).
- Guests: ``GET /crm/v1/profiles`` (``hotelId``, ``limit``, ``offset``).
- Errors are ``exceptionDetailType`` (``title``, ``status``, ``detail``, ``o:errorCode``).

"Already there": a Pema reservation is created with an external reference
(``externalReferences[{id: confirmation number, idContext}]``). A create sent again
first looks it up (``externalReferenceIds=``) and takes the OPERA id found. OPERA's
own reservations reach Pema as source PMS and are never written back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import ClassVar

from channels.interface import (
    ChangeBatch,
    ChangeNotice,
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
    ReservationMessage,
)
from channels.providers.base import NotSupported, PermanentError
from channels.providers.pms import PmsProvider
from pema.http_auth import BearerTokenAuth, client_credentials, fingerprint
from pema.money import to_major, to_minor

PAGE = 100
EVENTS_LIMIT = 20
TOKEN_LIFETIME = 3600.0
ID_CONTEXT = "PEMA"
CANCELLED = {"Cancelled", "CANCELLED", "CANCELED"}
STATUS = {
    "Clean": HousekeepingStatus.CLEAN,
    "Pickup": HousekeepingStatus.CLEAN,
    "Dirty": HousekeepingStatus.DIRTY,
    "Inspected": HousekeepingStatus.INSPECTED,
    "OutOfService": HousekeepingStatus.OUT_OF_SERVICE,
    "OutOfOrder": HousekeepingStatus.OUT_OF_ORDER,
}
SETTABLE = {
    HousekeepingStatus.CLEAN: "Clean",
    HousekeepingStatus.DIRTY: "Dirty",
    HousekeepingStatus.INSPECTED: "Inspected",
}


def _json(body: bytes) -> dict:
    """An answer's JSON; a 204's empty body is an empty result."""
    if not body.strip():
        return {}
    data = json.loads(body)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return data


def _moment(value) -> datetime | None:
    """OHIP's timestamps (``2021-07-08 10:50:04.0`` or ISO 8601), taken as UTC without a zone."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace(" ", "T").replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _int(value, default: int = 0) -> int:
    try:
        return max(int(value), 0)
    except (TypeError, ValueError):
        return default


def _id_of(ids, kind: str = "Reservation") -> str:
    for entry in ids or []:
        if isinstance(entry, dict) and entry.get("type") == kind and entry.get("id"):
            return str(entry["id"])
    return ""


def check_answer(answer: dict) -> str:
    """An OHIP error body (``exceptionDetailType``) read as a refusal; warnings passed on."""
    if "o:errorCode" in answer or ("title" in answer and "status" in answer):
        code = answer.get("o:errorCode") or answer.get("status")
        raise PermanentError(
            f"OPERA refused the request ({code}): {answer.get('detail') or answer.get('title')}"
        )
    warnings = answer.get("warnings")
    return json.dumps(warnings)[:500] if warnings else ""


def reservation_from(info: dict, currency: str, default_rate: str = "") -> InboundReservation:
    """One ``reservationInfo`` (a search's) or ``reservation`` (a read by id)."""
    rid = _id_of(info.get("reservationIdList"))
    stay = info.get("roomStay") or {}
    guest = info.get("reservationGuest") or {}
    status = str(info.get("reservationStatus") or "Reserved")
    modified = str(info.get("lastModifyDateTime") or info.get("createDateTime") or "")
    total = stay.get("totalAmount") or {}
    money = str(total.get("currencyCode") or currency).upper()
    try:
        minor = to_minor(Decimal(str(total.get("amount", 0))), money)
    except (InvalidOperation, ValueError):
        minor = 0
    rooms = tuple(
        InboundRoomStay(
            partner_room_id=str(stay.get("roomType") or ""),
            partner_rate_id=str(stay.get("ratePlanCode") or default_rate),
            check_in=date.fromisoformat(str(stay["arrivalDate"])),
            check_out=date.fromisoformat(str(stay["departureDate"])),
            adults=max(_int(stay.get("adultCount"), 1), 1),
            children=_int(stay.get("childCount")),
            index=str(n + 1),
        )
        for n in range(max(_int(stay.get("numberOfRooms"), 1), 1))
    )
    return InboundReservation(
        partner_reservation_id=rid,
        revision=f"{status}:{modified}" if modified else status,
        kind=InboundKind.CANCEL if status in CANCELLED else InboundKind.NEW,
        currency=money,
        total=max(minor, 0),
        guest=GuestDetails(
            given_name=str(guest.get("givenName") or ""),
            surname=str(guest.get("surname") or ""),
            email=str(guest.get("email") or ""),
            phone=str(guest.get("phoneNumber") or ""),
            country=str(guest.get("nationality") or ""),
        ),
        rooms=rooms,
        booked_at=_moment(info.get("createDateTime")),
        revised_at=_moment(modified),
        raw=json.dumps(info).encode(),
    )


def notice_from(entry: dict) -> ChangeNotice:
    """One ``businessEventData`` entry as a change notice."""
    event = entry.get("businessEvent") or {}
    header = event.get("header") or {}
    module = str(header.get("moduleName") or "")
    action = str(header.get("actionType") or "")
    event_id = str((entry.get("businessEventId") or {}).get("id") or header.get("actionId") or "")
    about = str(header.get("primaryKey") or "") if module == "Reservation" else ""
    return ChangeNotice(
        event_id=event_id,
        partner_reservation_id=about,
        kind=InboundKind.CANCEL if "CANCEL" in action.upper() else InboundKind.MODIFY,
        raw=json.dumps(entry).encode(),
        module=module,
        action=action,
        revised_at=_moment(header.get("createdDateTime")),
    )


def _text_of(items, *path) -> str:
    """The first non-empty value at ``path`` in a list of OHIP ``...Info`` wrappers."""
    for item in items or []:
        value = item
        for step in path:
            value = value.get(step) if isinstance(value, dict) else None
        if value:
            return str(value)
    return ""


def guest_from(info: dict) -> PmsGuest | None:
    profile = info.get("profile") or {}
    pid = _id_of(info.get("profileIdList"), "Profile")
    if not pid:
        return None
    names = (profile.get("customer") or {}).get("personName") or []
    primary = next((n for n in names if n.get("nameType") == "Primary"), names[0] if names else {})
    return PmsGuest(
        pms_id=pid,
        given_name=str(primary.get("givenName") or ""),
        surname=str(primary.get("surname") or ""),
        email=_text_of((profile.get("emails") or {}).get("emailInfo"), "email", "emailAddress"),
        phone=_text_of(
            (profile.get("telephones") or {}).get("telephoneInfo"), "telephone", "phoneNumber"
        ),
        country=_text_of(
            (profile.get("addresses") or {}).get("addressInfo"), "address", "country", "code"
        ),
        loyalty_tier=_text_of(
            (profile.get("profileMemberships") or {}).get("profileMembership"), "membershipLevel"
        ),
        total_stays=None,  # a profile summary carries no stay count
    )


class OperaProvider(PmsProvider):
    """OPERA Cloud (OHIP property APIs)."""

    key = "opera"
    label = "OPERA Cloud (OHIP)"
    content_type = "application/json"
    reads_error_answers = True
    polls_changes = True
    settings_fields: ClassVar[dict[str, str]] = {"hotel_id": "OPERA hotel code (x-hotelid)"}
    optional_settings: ClassVar[dict[str, str]] = {
        "external_system": "External system code (business events consumer, x-externalsystem)",
        "grant": "client_credentials (default) or password",
        "scope": "OAuth scope (client_credentials)",
        "enterprise_id": "Enterprise id (OCIM environments)",
        "default_rate": "Partner rate code of OPERA reservations that name none",
    }
    credential_fields: ClassVar[dict[str, str]] = {
        "client_id": "OAuth client id",
        "client_secret": "OAuth client secret",
        "app_key": "Application key (x-app-key)",
    }
    optional_credentials: ClassVar[dict[str, str]] = {
        "username": "Integration user (password grant)",
        "password": "Integration user's password (password grant)",
        "webhook_secret": "Token of the PMS booking webhook (x-provider-token)",
    }

    @classmethod
    def validate_settings(cls, values: dict) -> list[str]:
        errors = super().validate_settings(values)
        if isinstance(values, dict):
            if values.get("grant", "client_credentials") not in ("client_credentials", "password"):
                errors.append("The setting 'grant' is client_credentials or password.")
            code = values.get("external_system", "")
            if isinstance(code, str) and len(code) > 40:
                errors.append("The setting 'external_system' is at most 40 characters.")
        return errors

    def __init__(self, connection) -> None:
        super().__init__(connection)
        self._request_id = ""

    @property
    def hotel_id(self) -> str:
        return self.setting("hotel_id")

    @property
    def external_system(self) -> str:
        return self.setting("external_system", "PEMA")

    @property
    def gateway(self) -> str:
        return self.connection.base_url.rstrip("/")

    # ------------------------------------------------------------------ transport
    def headers(self) -> dict[str, str]:
        headers = {
            **super().headers(),
            "Accept": "application/json",
            "x-app-key": self.credential("app_key"),
            "x-hotelid": self.hotel_id,
            "x-externalsystem": self.external_system,
        }
        if self._request_id:
            headers["x-request-id"] = self._request_id
        return headers

    def auth(self) -> BearerTokenAuth:
        password = self.setting("grant", "client_credentials") == "password"
        extra = (
            {
                "grant_type": "password",
                "username": self.credential("username"),
                "password": self.credential("password"),
            }
            if password
            else {}
        )
        token_headers = {"x-app-key": self.credential("app_key")}
        if self.setting("enterprise_id"):
            token_headers["enterpriseId"] = self.setting("enterprise_id")
        fetch = client_credentials(
            f"{self.gateway}/oauth/v1/tokens",
            self.credential("client_id"),
            self.credential("client_secret"),
            scope="" if password else self.setting("scope", "urn:opc:hgbu:ws:__myscopes__"),
            extra_fields=extra,
            headers=token_headers,
            default_lifetime=TOKEN_LIFETIME,
        )
        key = f"opera:{self.connection.pk}:" + fingerprint(
            self.gateway,
            self.credential("client_id"),
            self.credential("client_secret"),
            self.credential("app_key"),
            self.credential("username"),
        )
        return BearerTokenAuth(fetch, cache_key=key)

    def response_reference(self, answer: bytes) -> str:
        return ""

    def call(
        self,
        operation: str,
        path: str,
        *,
        verb: str = "GET",
        params: dict | None = None,
        body: dict | None = None,
        items: int = 0,
        message_id: str = "",
    ) -> dict:
        """One OHIP call; the answer's JSON ({} for a 204)."""
        self._request_id = message_id
        try:
            return self.exchange(
                operation,
                json.dumps(body).encode() if body is not None else b"",
                _json,
                method=verb,
                url=f"{self.gateway}{path}",
                params={k: str(v) for k, v in (params or {}).items() if v not in (None, "")},
                check=check_answer,
                items=items,
                correlation_id=message_id,
            )
        finally:
            self._request_id = ""

    def _pages(
        self, operation: str, path: str, key: str, params: dict, limit: int | None = None
    ) -> Iterator[tuple[dict, list]]:
        """Pages of ``limit``/``offset`` until ``hasMore`` is false or a 204 (empty)."""
        offset, seen = 0, 0
        while True:
            answer = self.call(operation, path, params={**params, "limit": PAGE, "offset": offset})
            holder = answer.get(key) or {}
            yield holder, answer
            count = _int(holder.get("count"))
            seen += count
            if not holder.get("hasMore") or count == 0 or (limit is not None and seen >= limit):
                return
            offset += count

    # ------------------------------------------------------------------ reading
    def _rsv(self, suffix: str = "") -> str:
        return f"/rsv/v1/hotels/{self.hotel_id}/reservations{suffix}"

    def test_connection(self) -> str:
        answer = self.call(
            "housekeepingOverview",
            f"/hsk/v1/hotels/{self.hotel_id}/housekeepingOverview",
            params={"limit": 1},
        )
        rooms = (answer.get("housekeepingRoomInfo") or {}).get("totalResults", 0)
        return f"OPERA answered: hotel {self.hotel_id}, {rooms} rooms."

    def _inbound(self, rows: list) -> list[InboundReservation]:
        currency = self.connection.hotel.currency
        default_rate = self.setting("default_rate")
        found = []
        for row in rows:
            if not isinstance(row, dict) or not _id_of(row.get("reservationIdList")):
                continue
            try:
                found.append(reservation_from(row, currency, default_rate))
            except (KeyError, ValueError):
                continue  # no stay dates: nothing Pema could hold
        return found

    def fetch_reservations(self, window: FetchWindow) -> Iterator[Sequence[InboundReservation]]:
        # No "modified since" filter: a full read lists stays arriving from yesterday on.
        # (An incremental sync reads business events instead: pms.sync, polls_changes.)
        since = (self.connection.hotel.today() - timedelta(days=1)).isoformat()
        params = {"arrivalStartDate": since, "searchType": "Any"}
        for holder, _ in self._pages(
            "getHotelReservations", self._rsv(), "reservations", params, window.limit
        ):
            yield self._inbound(holder.get("reservationInfo") or [])

    def read_reservations(
        self, partner_reservation_ids: Sequence[str]
    ) -> Iterator[Sequence[InboundReservation]]:
        for rid in partner_reservation_ids:
            answer = self.call("getReservation", self._rsv(f"/{rid}"))
            rows = ((answer.get("reservations") or {}).get("reservation")) or []
            yield self._inbound(rows)

    def poll_changes(self) -> ChangeBatch:
        answer = self.call(
            "getBusinessEvents",
            f"/int/v1/externalSystem/{self.external_system}/hotels/{self.hotel_id}/businessEvents",
            params={"limit": EVENTS_LIMIT},
        )
        entries = [e for e in answer.get("businessEventData") or [] if isinstance(e, dict)]
        notices = tuple(n for n in map(notice_from, entries) if n.event_id)
        return ChangeBatch(notices=notices, more=len(entries) >= EVENTS_LIMIT)

    def fetch_rooms(self) -> Iterator[Sequence[PmsRoom]]:
        path = f"/hsk/v1/hotels/{self.hotel_id}/housekeepingOverview"
        for holder, _ in self._pages("housekeepingOverview", path, "housekeepingRoomInfo", {}):
            rooms = []
            for row in (holder.get("housekeepingRooms") or {}).get("room") or []:
                if not isinstance(row, dict) or not row.get("roomId"):
                    continue
                state = (row.get("housekeeping") or {}).get("housekeepingRoomStatus") or {}
                status = STATUS.get(state.get("housekeepingRoomStatus"), HousekeepingStatus.DIRTY)
                occupied = state.get("frontOfficeStatus") == "Occupied"
                # roomOutOfOrderType[]: the date range and reason of an OO/OS room.
                ooo = next(iter(row.get("outOfOrder") or []), {})
                start = ooo.get("start") or None
                end = ooo.get("end") or None
                rooms.append(
                    PmsRoom(
                        pms_id=str(row["roomId"]),
                        number=str(row["roomId"]),
                        housekeeping=status,
                        occupancy=Occupancy.OCCUPIED if occupied else Occupancy.VACANT,
                        partner_room_type=str(row.get("roomType") or ""),
                        out_of_order_from=date.fromisoformat(start) if start else None,
                        # OPERA's end date is the last night out of order (inclusive).
                        out_of_order_to=date.fromisoformat(end) if end else None,
                        reason=str(ooo.get("reasonDescription") or "Out of order in OPERA")
                        if status == HousekeepingStatus.OUT_OF_ORDER
                        else "",
                    )
                )
            yield rooms

    def fetch_guests(self, window: FetchWindow) -> Iterator[Sequence[PmsGuest]]:
        # No "modified since" for profiles either: every page is read (guests sync nightly).
        params = {"hotelId": self.hotel_id}
        for holder, _ in self._pages(
            "getProfiles", "/crm/v1/profiles", "profileSummaries", params, window.limit
        ):
            rows = holder.get("profileInfo") or []
            yield [g for g in (guest_from(r) for r in rows if isinstance(r, dict)) if g]

    def set_housekeeping(self, pms_room_id: str, status: HousekeepingStatus) -> None:
        value = SETTABLE.get(HousekeepingStatus(status))
        if value is None:
            raise NotSupported(
                "OPERA takes clean, dirty or inspected here; out of order and out of service "
                "are set in OPERA itself (with their reason and dates)."
            )
        self.call(
            "putRoomRelatedStatus",
            f"/hsk/v1/hotels/{self.hotel_id}/rooms/status",
            verb="PUT",
            body={"roomList": [{"roomId": pms_room_id}], "housekeepingRoomStatus": value},
            items=1,
        )

    # ------------------------------------------------------------------ writing
    def find_by_reference(self, confirmation_number: str) -> str:
        """OPERA's id of the reservation Pema made under ``confirmation_number`` ("" if none)."""
        answer = self.call(
            "getHotelReservations",
            self._rsv(),
            params={"externalReferenceIds": confirmation_number, "limit": 10},
        )
        for row in (answer.get("reservations") or {}).get("reservationInfo") or []:
            refs = row.get("externalReferences") or []
            if any(str(r.get("id")) == confirmation_number for r in refs if isinstance(r, dict)):
                return _id_of(row.get("reservationIdList"))
        return ""

    def _stay(self, reservation: ReservationMessage) -> dict:
        room = reservation.rooms[0]
        currency = reservation.currency

        def amount(stay) -> str:
            # A room's own nights when priced; else the reservation's total (one room).
            minor = sum(n.price for n in stay.nights) if stay.nights else reservation.total
            return str(to_major(minor, currency))

        return {
            "arrivalDate": (reservation.check_in or room.check_in).isoformat(),
            "departureDate": (reservation.check_out or room.check_out).isoformat(),
            "guestCounts": {
                "adults": str(reservation.adults or room.adults),
                "children": str(reservation.children or room.children),
            },
            "roomRates": [
                {
                    "roomType": r.partner_room_id,
                    "ratePlanCode": r.partner_rate_id,
                    "start": r.check_in.isoformat(),
                    "end": r.check_out.isoformat(),
                    "guestCounts": {"adults": str(r.adults), "children": str(r.children)},
                    "numberOfUnits": "1",
                    "total": {"amountBeforeTax": amount(r), "currencyCode": currency},
                }
                for r in reservation.rooms
            ],
        }

    def push_reservation(
        self, reservation: ReservationMessage, *, message_id: str
    ) -> DeliveryResult:
        if reservation.partner_reference:
            return self._modify(reservation, message_id)
        if reservation.cancelled:
            return DeliveryResult(skipped="Cancelled before it reached the PMS.")
        found = self.find_by_reference(reservation.confirmation_number)
        if found:
            return DeliveryResult(
                partner_references={reservation.confirmation_number: found},
                warnings=(f"Already in OPERA as {found}: not created twice.",),
                messages=1,
            )
        guest = reservation.guest
        body = {
            "reservations": {
                "reservation": [
                    {
                        "sourceOfSale": {"sourceType": "PMS", "sourceCode": self.external_system},
                        "externalReferences": [
                            {"id": reservation.confirmation_number, "idContext": ID_CONTEXT}
                        ],
                        "roomStay": self._stay(reservation),
                        "reservationGuests": [
                            {
                                "profileInfo": {
                                    "profile": {
                                        "customer": {
                                            "personName": [
                                                {
                                                    "givenName": guest.given_name,
                                                    "surname": guest.surname or "Guest",
                                                    "nameType": "Primary",
                                                }
                                            ]
                                        },
                                        "emails": {
                                            "emailInfo": [{"email": {"emailAddress": guest.email}}]
                                        }
                                        if guest.email
                                        else {},
                                        "profileType": "Guest",
                                    }
                                },
                                "primary": True,
                            }
                        ],
                        "comments": [{"comment": {"text": {"value": reservation.special_requests}}}]
                        if reservation.special_requests
                        else [],
                        "hotelId": self.hotel_id,
                        "reservationStatus": "Reserved",
                    }
                ]
            }
        }
        answer = self.call(
            "postReservation", self._rsv(), verb="POST", body=body, items=1, message_id=message_id
        )
        made = ((answer.get("reservations") or {}).get("reservation") or [{}])[0]
        reference = _id_of(made.get("reservationIdList"))
        if not reference:
            raise PermanentError("OPERA created the reservation but returned no reservation id.")
        return DeliveryResult(
            partner_references={reservation.confirmation_number: reference}, messages=1
        )

    def _modify(self, reservation: ReservationMessage, message_id: str) -> DeliveryResult:
        if reservation.cancelled:
            return self.cancel_reservation(reservation, message_id=message_id)
        rid = reservation.partner_reference
        body = {
            "reservations": [
                {
                    "reservationIdList": [{"id": rid, "type": "Reservation"}],
                    "roomStay": self._stay(reservation),
                    "hotelId": self.hotel_id,
                }
            ]
        }
        self.call(
            "putReservation", self._rsv(f"/{rid}"), verb="PUT", body=body, items=1,
            message_id=message_id,
        )  # fmt: skip
        return DeliveryResult(messages=1)

    def cancel_reservation(
        self, reservation: ReservationMessage, *, message_id: str
    ) -> DeliveryResult:
        if not reservation.partner_reference:
            return DeliveryResult(skipped="Never reached the PMS: nothing to cancel there.")
        rid = reservation.partner_reference
        body = {
            "reason": {"code": ID_CONTEXT, "description": "Cancelled in Pema"},
            "reservations": [
                {
                    "reservationIdList": [{"id": rid, "type": "Reservation"}],
                    "hotelId": self.hotel_id,
                }
            ],
        }
        self.call(
            "postCancelReservation", self._rsv(f"/{rid}/cancellations"), verb="POST", body=body,
            items=1, message_id=message_id,
        )  # fmt: skip
        return DeliveryResult(messages=1)
