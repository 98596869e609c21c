"""The suppliers' booking-engine API under ``/api/v1/suppliers/``.

- ``GET search/`` (scope ``suppliers:read``): every enabled supplier asked at once;
- ``POST bookings/`` (``suppliers:write``, ``Idempotency-Key`` required), ``GET
  bookings/`` and ``GET bookings/<id>/``, ``POST bookings/<id>/cancel/[?simulate=true]``.

Views parse, call one domain function (:mod:`suppliers.search`,
:mod:`suppliers.booking`) and shape the answer. Errors use the API's one shape
(``{"error": {"code", "message", "fields"}}``); a supplier's failures map to
502/503 (it failed or Pema holds back) or 409 (the rate or price moved).
A key sees the supplier bookings it made; staff see all.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bookings.api.errors import ApiError
from bookings.api.idempotency import run_once
from bookings.api.schema import IDEMPOTENCY_KEY
from bookings.models import ApiKey
from pema.api import ErrorTable, JsonTypes, documented_errors, request_has_scope, staff_or_scope

from . import booking as domain
from .interface import (
    BOOKABLE,
    RECHECK,
    BookingOutcomeUnknown,
    Holder,
    Occupancy,
    Pax,
    PaymentRequired,
    QuotaExhausted,
    RateUnavailable,
    SearchQuery,
    SupplierError,
    SupplierRefused,
    SupplierThrottled,
    SupplierUnavailable,
)
from .models import Supplier, SupplierBooking
from .search import search_rendered

SuppliersRead = staff_or_scope("suppliers:read")
SuppliersWrite = staff_or_scope("suppliers:write")
MAX_NIGHTS = 30
MAX_ROOMS = 9

ERRORS: ErrorTable = {
    400: ("The request is not valid.", [("invalid_field", "Some fields are not valid. ...")]),
    401: ("No API key, or an unknown one.", [("not_authenticated", "Authentication ...")]),
    403: ("The key lacks the scope.", [("permission_denied", "This needs an API key ...")]),
    404: ("Unknown supplier or booking.", [("booking_not_found", "No supplier booking 12.")]),
    409: (
        "The rate cannot be sold as asked.",
        [
            ("price_changed", "The price is now 21450 EUR (minor units), not 20526 EUR."),
            ("rate_unavailable", "The rateKey has expired: search again."),
            ("payment_required", "This rate needs card data at booking, which Pema does not take."),
        ],
    ),
    422: ("The supplier refused the request.", [("supplier_refused", "Hotelbeds answered ...")]),
    429: ("Too many requests.", [("rate_limited", "Request was throttled.")]),
    502: (
        "The supplier failed or did not answer.",
        [("supplier_unavailable", "..."), ("booking_outcome_unknown", "...")],
    ),
    503: (
        "Pema holds back from the supplier (its pace, quota or back-off).",
        [("supplier_throttled", "..."), ("supplier_quota_exhausted", "...")],
    ),
}


def errors(*statuses: int) -> dict:
    return documented_errors(ERRORS, {401, 403, 429, *statuses})


def api_error(exc: SupplierError) -> ApiError:
    """The API's answer to a supplier's failure."""
    if isinstance(exc, domain.PriceChanged):
        return ApiError(
            409,
            exc.code,
            exc.message,
            selling={"amount": exc.selling, "currency": exc.currency},
            net={"amount": exc.net, "currency": exc.currency},
        )
    if isinstance(exc, PaymentRequired | RateUnavailable):
        return ApiError(409, exc.code, exc.message)
    if isinstance(exc, SupplierRefused):
        return ApiError(422, exc.code, exc.message)
    if isinstance(exc, SupplierThrottled | QuotaExhausted):
        return ApiError(503, exc.code, exc.message)
    if isinstance(exc, BookingOutcomeUnknown | domain.OutcomeUnsettled):
        return ApiError(502, "booking_outcome_unknown", exc.message)
    if isinstance(exc, SupplierUnavailable):
        return ApiError(502, exc.code, exc.message)
    return ApiError(502, exc.code, exc.message)


# --- Search --------------------------------------------------------------------------------


def _codes(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


class SearchParams(serializers.Serializer):
    destination = serializers.RegexField(r"^[A-Za-z0-9]{2,10}$", required=False)
    hotels = serializers.RegexField(
        r"^[A-Za-z0-9]{1,20}(,[A-Za-z0-9]{1,20}){0,49}$", required=False
    )
    check_in = serializers.DateField()
    check_out = serializers.DateField()
    rooms = serializers.IntegerField(min_value=1, max_value=MAX_ROOMS, default=1)
    adults = serializers.IntegerField(min_value=1, max_value=8, default=2)
    children = serializers.IntegerField(min_value=0, max_value=6, default=0)
    children_ages = serializers.RegexField(r"^\d{1,2}(,\d{1,2}){0,5}$", required=False)

    def validate(self, data):
        unknown = set(self.initial_data) - set(self.fields)
        if unknown:
            raise serializers.ValidationError(
                {name: ["Unknown parameter."] for name in sorted(unknown)}
            )
        if bool(data.get("destination")) == bool(data.get("hotels")):
            raise serializers.ValidationError(
                {"destination": ["Give a destination or hotels, not both."]}
            )
        if data["check_out"] <= data["check_in"]:
            raise serializers.ValidationError({"check_out": ["Must be after check_in."]})
        if (data["check_out"] - data["check_in"]).days > MAX_NIGHTS:
            raise serializers.ValidationError({"check_out": [f"At most {MAX_NIGHTS} nights."]})
        if data["check_in"] < date.today() - timedelta(days=1):
            raise serializers.ValidationError({"check_in": ["Must not be in the past."]})
        ages = [int(a) for a in _codes(data.get("children_ages", ""))]
        if len(ages) != data["children"] or any(a > 17 for a in ages):
            raise serializers.ValidationError(
                {"children_ages": ["Give one age (0-17) per child, comma-separated."]}
            )
        data["ages"] = tuple(ages)
        return data


def search_query(data: dict) -> SearchQuery:
    return SearchQuery(
        check_in=data["check_in"],
        check_out=data["check_out"],
        occupancies=(Occupancy(data["rooms"], data["adults"], data["ages"]),),
        destination=data.get("destination", "").upper(),
        hotels=tuple(_codes(data.get("hotels", ""))),
    )


class SearchView(APIView):
    permission_classes = [SuppliersRead]

    @extend_schema(
        operation_id="suppliers_search",
        parameters=[SearchParams],
        responses={200: dict, **errors(400)},
        tags=["suppliers"],
    )
    def get(self, request: Request) -> HttpResponse:
        """Rooms at other hotels from every enabled supplier, with net and selling prices.

        ``suppliers`` says how each supplier answered: one that failed is listed
        with its error, and the others' offers still come back. Answers are
        cached for a short time per query (``cached``)."""
        params = SearchParams(data=request.query_params.dict())
        params.is_valid(raise_exception=True)
        body = search_rendered(search_query(params.validated_data))
        return HttpResponse(body, content_type="application/json")


# --- Bookings ------------------------------------------------------------------------------


class SupplierHolderSerializer(JsonTypes):
    name = serializers.CharField(max_length=50)
    surname = serializers.CharField(max_length=50)


class SupplierPaxSerializer(JsonTypes):
    room = serializers.IntegerField(min_value=1, max_value=MAX_ROOMS, default=1)
    type = serializers.ChoiceField(choices=["AD", "CH"])
    name = serializers.CharField(max_length=50)
    surname = serializers.CharField(max_length=50)
    age = serializers.IntegerField(min_value=0, max_value=17, required=False)


class SupplierPriceSerializer(JsonTypes):
    amount = serializers.IntegerField(min_value=0)
    currency = serializers.RegexField(r"^[A-Z]{3}$")


class SupplierBookingCreateSerializer(JsonTypes):
    supplier = serializers.SlugField(max_length=40)
    rate_key = serializers.CharField(max_length=2000)
    rate_type = serializers.ChoiceField(choices=[BOOKABLE, RECHECK])
    destination = serializers.CharField(max_length=10, required=False, default="")
    holder = SupplierHolderSerializer()
    paxes = SupplierPaxSerializer(many=True, allow_empty=False)
    selling = SupplierPriceSerializer(
        required=False, help_text="The selling price shown to the guest."
    )
    tolerance_percent = serializers.FloatField(min_value=0, max_value=20, default=0)
    remark = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)


class SupplierBookingSerializer(serializers.ModelSerializer):
    supplier = serializers.SlugRelatedField(slug_field="code", read_only=True)
    status = serializers.CharField(read_only=True, help_text="confirmed or cancelled")
    net = serializers.SerializerMethodField()
    selling = serializers.SerializerMethodField()

    class Meta:
        model = SupplierBooking
        fields = [
            "id",
            "supplier",
            "reference",
            "client_reference",
            "status",
            "holder_name",
            "holder_surname",
            "hotel_code",
            "hotel_name",
            "check_in",
            "check_out",
            "rate_type",
            "paxes",
            "net",
            "selling",
            "markup",
            "cancellation_policies",
            "cancellation_fee",
            "cancelled_at",
            "settled_by_lookup",
            "created_at",
        ]

    def get_net(self, obj) -> dict:
        return {"amount": obj.net, "currency": obj.currency}

    def get_selling(self, obj) -> dict:
        return {"amount": obj.selling, "currency": obj.currency}


def _owner(request: Request) -> str:
    # As the idempotency records name their owner, so one key's retries share a reference.
    if isinstance(request.auth, ApiKey):
        return f"key:{request.auth.pk}"
    return f"user:{request.user.pk}"


def visible_bookings(request: Request):
    bookings = SupplierBooking.objects.select_related("supplier")
    if isinstance(request.auth, ApiKey):
        return bookings.filter(api_key=request.auth)
    return bookings


def get_booking(request: Request, booking_id: str) -> SupplierBooking:
    # Digits only, and few enough to be an id: anything else is a 404, never a 500.
    wellformed = booking_id.isascii() and booking_id.isdigit() and len(booking_id) <= 18
    found = visible_bookings(request).filter(pk=int(booking_id)).first() if wellformed else None
    if found is None:
        raise ApiError(
            404, "booking_not_found", f"No supplier booking {booking_id[:20]!r} for this key."
        )
    return found


class BookingsView(APIView):
    def get_permissions(self):
        return [SuppliersWrite()] if self.request.method == "POST" else [SuppliersReadBookings()]

    @extend_schema(
        operation_id="supplier_bookings_list",
        responses={200: SupplierBookingSerializer(many=True), **errors()},
        tags=["suppliers"],
    )
    def get(self, request: Request) -> Response:
        """The supplier bookings this key made (staff: all), newest first, at most 100."""
        bookings = visible_bookings(request)
        if status_filter := request.query_params.get("status"):
            bookings = bookings.filter(status=status_filter)
        return Response(SupplierBookingSerializer(bookings[:100], many=True).data)

    @extend_schema(
        operation_id="supplier_bookings_create",
        parameters=[IDEMPOTENCY_KEY],
        request=SupplierBookingCreateSerializer,
        responses={201: SupplierBookingSerializer, **errors(400, 404, 409, 422, 502, 503)},
        tags=["suppliers"],
    )
    def post(self, request: Request) -> Response:
        """Book a rate found by search. A RECHECK rate is check-rated first; a selling price
        moved beyond ``tolerance_percent`` answers 409 ``price_changed`` with the new price."""
        payload = request.data
        return run_once(request, payload, lambda: self._create(request, payload))

    def _create(self, request: Request, payload) -> Response:
        data = SupplierBookingCreateSerializer(data=payload)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        supplier = Supplier.objects.filter(code=v["supplier"], enabled=True).first()
        if supplier is None:
            raise ApiError(404, "supplier_not_found", f"No enabled supplier {v['supplier']!r}.")
        selling = v.get("selling")
        order = domain.Order(
            supplier=supplier,
            rate_key=v["rate_key"],
            rate_type=v["rate_type"],
            holder=Holder(v["holder"]["name"], v["holder"]["surname"]),
            paxes=tuple(
                Pax(p["room"], p["type"], p["name"], p["surname"], p.get("age")) for p in v["paxes"]
            ),
            expected_selling=selling["amount"] if selling else None,
            currency=selling["currency"] if selling else "",
            tolerance_percent=v["tolerance_percent"],
            remark=v["remark"],
            idempotency_owner=_owner(request),
            idempotency_key=request.META.get("HTTP_IDEMPOTENCY_KEY", ""),
            destination=v["destination"],
        )
        api_key = request.auth if isinstance(request.auth, ApiKey) else None
        try:
            made = domain.book(order, api_key=api_key)
        except SupplierError as exc:
            raise api_error(exc) from exc
        return Response(SupplierBookingSerializer(made).data, status=status.HTTP_201_CREATED)


class SuppliersReadBookings(staff_or_scope("suppliers:write")):
    """Reading supplier bookings: ``suppliers:write`` (a writer reads what it wrote) or read."""

    def has_permission(self, request, view) -> bool:
        return request_has_scope(request, "suppliers:write") or request_has_scope(
            request, "suppliers:read"
        )


class BookingDetailView(APIView):
    permission_classes = [SuppliersReadBookings]

    @extend_schema(
        operation_id="supplier_booking_retrieve",
        responses={200: SupplierBookingSerializer, **errors(404)},
        tags=["suppliers"],
    )
    def get(self, request: Request, booking_id: str) -> Response:
        return Response(SupplierBookingSerializer(get_booking(request, booking_id)).data)


class BookingCancelView(APIView):
    permission_classes = [SuppliersWrite]

    @extend_schema(
        operation_id="supplier_booking_cancel",
        request=None,
        parameters=[OpenApiParameter("simulate", bool, description="Only quote the fee.")],
        responses={200: dict, **errors(404, 422, 502, 503)},
        tags=["suppliers"],
    )
    def post(self, request: Request, booking_id: str) -> Response:
        """Cancel (``?simulate=true``: only quote the fee, nothing changes). Cancelling a
        cancelled booking answers the same again."""
        simulate = request.query_params.get("simulate", "false").lower()
        if simulate not in ("true", "false"):
            raise ApiError(
                400, "invalid_field", "simulate is true or false.", {"simulate": ["true or false"]}
            )
        booking = get_booking(request, booking_id)
        try:
            result = domain.cancel(booking, simulate=simulate == "true")
        except SupplierError as exc:
            raise api_error(exc) from exc
        booking.refresh_from_db()
        return Response(
            {
                "simulated": result.simulated,
                "fee": {"amount": result.fee, "currency": result.currency},
                "booking": SupplierBookingSerializer(booking).data,
            }
        )
