"""Hotelbeds APItude as a Pema supplier: requests built and answers normalised.

The wire calls are :mod:`partners.hotelbeds.client`'s; this module turns
:mod:`suppliers.interface` values into APItude's JSON and back:

- content: ``GET /hotel-content-api/1.0/hotels?fields=all&from=&to=`` (at most
  1,000 a page, ``lastUpdateTime`` for deltas);
- availability: ``POST /hotel-api/1.0/hotels`` with ``stay``, ``occupancies``
  and ``hotels`` or ``destination``;
- ``POST /checkrates``, ``POST /bookings``, ``GET /bookings?clientReference=``
  (settling a lost booking answer), ``DELETE /bookings/{ref}?cancellationFlag=``,
  ``GET /status``.

Prices come as decimal strings in the hotel's currency and become integer
minor units (:mod:`pema.money`). Rates paid at the hotel (``AT_HOTEL``) need
card data on the secure host; Pema takes no card data, so they are left out
of search answers and refused at booking.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pema.money import to_minor
from suppliers.interface import (
    BookingRequest,
    BookingResult,
    CancellationPolicy,
    CancellationResult,
    ContentPage,
    HotelContent,
    HotelOffer,
    PaymentRequired,
    Rate,
    RateUnavailable,
    SearchQuery,
    Supplier,
    SupplierError,
    SupplierStatus,
    SupplierUnavailable,
)

from .client import CONTENT_API, HOTEL_API, HotelbedsClient

PAY_AT_HOTEL = "AT_HOTEL"
#: Where Hotelbeds serves content images (a path of the content API is appended).
DEFAULT_IMAGE_BASE = "https://photos.hotelbeds.com/giata/"
CONTENT_TIMEOUT = 60.0
LIST_TIMEOUT = 120.0


def _text(value: Any) -> str:
    """A content field: ``{"content": "..."}`` or a plain value."""
    if isinstance(value, dict):
        return str(value.get("content") or "")
    return "" if value is None else str(value)


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def parse_content_hotel(item: dict[str, Any]) -> HotelContent:
    coordinates = item.get("coordinates") or {}
    images = sorted(
        item.get("images") or [], key=lambda i: (i.get("visualOrder", 0), i.get("order", 0))
    )
    facilities = [_text(f.get("description")) for f in item.get("facilities") or []]
    return HotelContent(
        code=str(item["code"]),
        name=_text(item.get("name")),
        category=str(item.get("categoryCode") or ""),
        destination=str(item.get("destinationCode") or ""),
        country=str(item.get("countryCode") or ""),
        address=_text(item.get("address")),
        city=_text(item.get("city")),
        latitude=_float(coordinates.get("latitude")),
        longitude=_float(coordinates.get("longitude")),
        description=_text(item.get("description")),
        images=tuple(str(i["path"]) for i in images if i.get("path")),
        facilities=tuple(f for f in facilities if f),
        last_update=_date(item.get("lastUpdate")),
    )


def parse_policies(
    items: list[dict[str, Any]] | None, currency: str
) -> tuple[CancellationPolicy, ...]:
    return tuple(
        CancellationPolicy(
            amount=to_minor(p.get("amount", "0"), currency),
            currency=currency,
            starts_at=str(p.get("from") or ""),
        )
        for p in items or []
    )


def parse_rate(rate: dict[str, Any], room: dict[str, Any], currency: str) -> Rate:
    return Rate(
        rate_key=str(rate["rateKey"]),
        rate_type=str(rate.get("rateType") or "BOOKABLE"),
        room_code=str(room.get("code") or ""),
        room_name=str(room.get("name") or ""),
        board_code=str(rate.get("boardCode") or ""),
        board_name=str(rate.get("boardName") or ""),
        net=to_minor(rate.get("net", "0"), currency),
        currency=currency,
        rooms=int(rate.get("rooms") or 1),
        adults=int(rate.get("adults") or 0),
        children=int(rate.get("children") or 0),
        payment_type=str(rate.get("paymentType") or ""),
        rate_class=str(rate.get("rateClass") or ""),
        cancellation_policies=parse_policies(rate.get("cancellationPolicies"), currency),
        comments=str(rate.get("rateComments") or ""),
    )


def parse_availability(data: dict[str, Any]) -> list[HotelOffer]:
    """The offers of an availability answer, rates paid at the hotel left out."""
    offers = []
    for hotel in (data.get("hotels") or {}).get("hotels") or []:
        currency = str(hotel.get("currency") or "EUR")
        rates = tuple(
            parse_rate(rate, room, currency)
            for room in hotel.get("rooms") or []
            for rate in room.get("rates") or []
            if rate.get("paymentType") != PAY_AT_HOTEL
        )
        if rates:
            offers.append(
                HotelOffer(
                    hotel_code=str(hotel["code"]),
                    hotel_name=str(hotel.get("name") or ""),
                    category=str(hotel.get("categoryCode") or ""),
                    destination=str(hotel.get("destinationCode") or ""),
                    currency=currency,
                    rates=rates,
                )
            )
    return offers


def parse_booking(
    booking: dict[str, Any], request: dict | None = None, raw: dict | None = None
) -> BookingResult:
    hotel = booking.get("hotel") or {}
    currency = str(booking.get("currency") or hotel.get("currency") or "EUR")
    policies: tuple[CancellationPolicy, ...] = ()
    for room in hotel.get("rooms") or []:
        for rate in room.get("rates") or []:
            policies += parse_policies(rate.get("cancellationPolicies"), currency)
    check_in, check_out = _date(hotel.get("checkIn")), _date(hotel.get("checkOut"))
    if check_in is None or check_out is None:
        raise SupplierUnavailable("Hotelbeds' booking answer has no stay dates.")
    return BookingResult(
        reference=str(booking["reference"]),
        client_reference=str(booking.get("clientReference") or ""),
        status=str(booking.get("status") or ""),
        hotel_code=str(hotel.get("code") or ""),
        hotel_name=str(hotel.get("name") or ""),
        check_in=check_in,
        check_out=check_out,
        net=to_minor(booking.get("totalNet", hotel.get("totalNet", "0")), currency),
        currency=currency,
        cancellation_policies=policies,
        raw_request=request or {},
        raw_response=raw or {"booking": booking},
    )


def availability_body(query: SearchQuery) -> dict[str, Any]:
    occupancies = []
    for occupancy in query.occupancies:
        entry: dict[str, Any] = {
            "rooms": occupancy.rooms,
            "adults": occupancy.adults,
            "children": occupancy.children,
        }
        if occupancy.children_ages:
            entry["paxes"] = [{"type": "CH", "age": age} for age in occupancy.children_ages]
        occupancies.append(entry)
    body: dict[str, Any] = {
        "stay": {"checkIn": query.check_in.isoformat(), "checkOut": query.check_out.isoformat()},
        "occupancies": occupancies,
    }
    if query.hotels:
        body["hotels"] = {"hotel": [int(c) if c.isdigit() else c for c in query.hotels]}
    else:
        body["destination"] = {"code": query.destination}
    return body


def booking_body(request: BookingRequest) -> dict[str, Any]:
    paxes = []
    for pax in request.paxes:
        entry: dict[str, Any] = {
            "roomId": pax.room,
            "type": pax.kind,
            "name": pax.name,
            "surname": pax.surname,
        }
        if pax.age is not None:
            entry["age"] = pax.age
        paxes.append(entry)
    body: dict[str, Any] = {
        "holder": {"name": request.holder.name, "surname": request.holder.surname},
        "rooms": [{"rateKey": request.rate_key, "paxes": paxes}],
        "clientReference": request.client_reference,
        "tolerance": request.tolerance_percent,
    }
    if request.remark:
        body["remark"] = request.remark
    return body


class HotelbedsSupplier(Supplier):
    """Hotelbeds' Booking API and Content API, one account."""

    key = "hotelbeds"
    label = "Hotelbeds APItude"
    credential_fields = {"api_key": "The Hotel API key (Api-key).", "secret": "Its shared secret."}

    def __init__(self, config) -> None:
        super().__init__(config)
        self.client = HotelbedsClient(config)

    def image_url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        base = str(self.config.settings.get("image_base_url") or DEFAULT_IMAGE_BASE)
        return base.rstrip("/") + "/" + path.lstrip("/")

    def content(self, *, first: int, last: int, updated_since: date | None = None) -> ContentPage:
        if not 1 <= first <= last or last - first >= 1000:
            raise ValueError("A content page is from..to with at most 1,000 hotels.")
        params: dict[str, Any] = {
            "fields": "all",
            "language": self.config.settings.get("language", "ENG"),
            "from": first,
            "to": last,
            "useSecondaryLanguage": "false",
        }
        if updated_since is not None:
            params["lastUpdateTime"] = updated_since.isoformat()
        answer = self.client.call(
            "GET",
            f"{CONTENT_API}/hotels",
            operation="content",
            params=params,
            timeout=CONTENT_TIMEOUT,
        )
        data = answer.data
        return ContentPage(
            hotels=tuple(parse_content_hotel(item) for item in data.get("hotels") or []),
            first=int(data.get("from") or first),
            last=int(data.get("to") or last),
            total=int(data.get("total") or 0),
        )

    def search(self, query: SearchQuery) -> list[HotelOffer]:
        body = availability_body(query)
        if most := int(self.config.settings.get("max_hotels") or 0):
            body["filter"] = {"maxHotels": most}
        answer = self.client.call(
            "POST",
            f"{HOTEL_API}/hotels",
            operation="search",
            body=body,
            timeout=self.config.search_timeout,
        )
        return parse_availability(answer.data)

    def check_rate(self, rate_key: str) -> Rate:
        answer = self.client.call(
            "POST",
            f"{HOTEL_API}/checkrates",
            operation="checkrate",
            body={"rooms": [{"rateKey": rate_key}]},
            timeout=self.config.booking_timeout,
        )
        hotel = answer.data.get("hotel") or {}
        currency = str(hotel.get("currency") or "EUR")
        for room in hotel.get("rooms") or []:
            for rate in room.get("rates") or []:
                parsed = parse_rate(rate, room, currency)
                if parsed.payment_type == PAY_AT_HOTEL:
                    raise PaymentRequired("This rate is paid at the hotel and needs card data.")
                return parsed
        raise RateUnavailable("Hotelbeds returned no rate for this rateKey.")

    def book(self, request: BookingRequest) -> BookingResult:
        body = booking_body(request)
        answer = self.client.call(
            "POST",
            f"{HOTEL_API}/bookings",
            operation="book",
            body=body,
            timeout=self.config.booking_timeout,
            booking=True,
        )
        booking = answer.data.get("booking")
        if not isinstance(booking, dict) or not booking.get("reference"):
            raise SupplierError("Hotelbeds' booking answer has no booking reference.")
        return parse_booking(booking, body, answer.data)

    def find_booking(
        self, client_reference: str, *, created_from: date, created_to: date
    ) -> BookingResult | None:
        params = {
            "start": created_from.isoformat(),
            "end": created_to.isoformat(),
            "filterType": "CREATION",
            "status": "ALL",
            "from": 1,
            "to": 25,
            "clientReference": client_reference,
        }
        answer = self.client.call(
            "GET", f"{HOTEL_API}/bookings", operation="list", params=params, timeout=LIST_TIMEOUT
        )
        for booking in (answer.data.get("bookings") or {}).get("bookings") or []:
            if booking.get("clientReference") == client_reference:
                return parse_booking(booking, None, {"booking": booking})
        return None

    def cancel(self, reference: str, *, simulate: bool) -> CancellationResult:
        flag = "SIMULATION" if simulate else "CANCELLATION"
        answer = self.client.call(
            "DELETE",
            f"{HOTEL_API}/bookings/{reference}",
            operation="cancel",
            params={"cancellationFlag": flag, "language": "ENG"},
            timeout=LIST_TIMEOUT,
        )
        booking = answer.data.get("booking") or {}
        hotel = booking.get("hotel") or {}
        currency = str(booking.get("currency") or "EUR")
        return CancellationResult(
            reference=str(booking.get("reference") or reference),
            status=str(booking.get("status") or ""),
            fee=to_minor(hotel.get("cancellationAmount", "0"), currency),
            currency=currency,
            simulated=simulate,
            raw_response=answer.data,
        )

    def status(self) -> SupplierStatus:
        # Short: the health check waits for it (at most once a minute).
        answer = self.client.call("GET", f"{HOTEL_API}/status", operation="status", timeout=3.0)
        status = str(answer.data.get("status") or "")
        return SupplierStatus(ok=status.upper() == "OK", message=status or "no status")
