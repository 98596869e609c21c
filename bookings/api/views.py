"""Views of the booking-engine API. Each parses input, calls one domain function, shapes output."""

from __future__ import annotations

import re
from datetime import UTC, date, timedelta

import django_filters
from django.conf import settings
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from pema.api import request_has_scope, staff_or_scope, validated_data
from pema.sql import get_instance

from ..api_keys import KNOWN_SCOPES, remembered_hotel
from ..availability import Offer, validate_stay
from ..availability_cache import cached_search
from ..calendar import lowest_price_calendar
from ..errors import PaymentUnavailable
from ..extensions import describe, method_for, payment_extension
from ..models import (
    ApiKey,
    Hotel,
    RatePlan,
    Reservation,
    ReservationRoom,
    RoomNight,
    RoomType,
)
from ..reservations import (
    GuestDetails,
    cancel_reservation,
    check_with_master,
    modify_reservation,
    reserve_stay,
)
from . import serializers as s
from .errors import ApiError
from .idempotency import replay_if_done, run_once
from .schema import IDEMPOTENCY_KEY, error_responses

SOURCE = Reservation.Source.BOOKING_ENGINE
# Codes are validated before they reach a query: PostgreSQL refuses NUL bytes and
# odd input should be a 404, never a 500.
_CODE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")

AvailabilityRead = staff_or_scope("availability:read")
BookingsWrite = staff_or_scope("bookings:write")


class BookingsRead(staff_or_scope("bookings:read")):
    """Reading bookings: ``bookings:read``, or ``bookings:write`` (a writer reads what it wrote)."""

    def has_permission(self, request, view) -> bool:
        return request_has_scope(request, "bookings:read") or request_has_scope(
            request, "bookings:write"
        )


def visible_hotels(request: Request) -> QuerySet[Hotel]:
    """The hotels the caller may see: a key's own, or all for staff."""
    if isinstance(request.auth, ApiKey):
        # The key's hotel ids are remembered with the key: a plain IN, no join.
        return Hotel.objects.filter(id__in=list(request.auth.hotel_ids))
    return Hotel.objects.all()


def get_hotel(request: Request, code: str) -> Hotel:
    """The hotel, or 404 when unknown or not the key's (never a 403: its existence is private).

    Reads take the hotel remembered with the key (at most a few seconds old, see
    ``api_keys``); writes read it afresh, so a booking always sees the hotel's
    current settings.
    """
    hotel = None
    if _CODE.match(code):
        if request.method in SAFE_METHODS and isinstance(request.auth, ApiKey):
            hotel = remembered_hotel(request.auth, code)
        if hotel is None and isinstance(request.auth, ApiKey):
            # By hand (``pema.sql``): the ORM's cost to build this one-row query was
            # a tenth of a booking's CPU. The key's hotels, as ``visible_hotels``.
            hotel = get_instance(Hotel, id__in=list(request.auth.hotel_ids), code=code)
        elif hotel is None:
            hotel = visible_hotels(request).filter(code=code).first()
    if hotel is None:
        raise ApiError(404, "hotel_not_found", f"No hotel {code[:32]!r} for this key.")
    request._request.pema_hotel = hotel
    return hotel


def _stays() -> QuerySet[ReservationRoom]:
    """A booking's room stays and nights, each in its model's order within its booking.

    Ordered by id and date explicitly: the models' orderings (reservation, id;
    stay, date) give the same lists per booking but join the parent tables to sort.
    """
    return (
        ReservationRoom.objects.select_related("room_type", "rate_plan")
        .order_by("id")
        .prefetch_related(Prefetch("nights", queryset=RoomNight.objects.order_by("date")))
    )


def booking_queryset(request: Request) -> QuerySet[Reservation]:
    stays = _stays()
    return (
        Reservation.objects.filter(hotel__in=visible_hotels(request))
        .select_related("hotel", "guest")
        .prefetch_related(Prefetch("rooms", queryset=stays))
    )


def get_booking(request: Request, number: str) -> Reservation:
    booking = (
        booking_queryset(request).filter(confirmation_number=number).first()
        if _CODE.match(number)
        else None
    )
    if booking is None:
        raise ApiError(404, "booking_not_found", f"No booking {number[:32]!r} for this key.")
    request._request.pema_hotel = booking.hotel
    return booking


def _room_type(hotel: Hotel, code: str) -> RoomType:
    # One row at most (code is unique per hotel). A hand-written select: the ORM's
    # cost to build this query was a tenth of a booking's CPU.
    room_type = get_instance(RoomType, hotel_id=hotel.id, code=code)
    if room_type is None:
        message = f"No room type {code} at this hotel."
        raise ApiError(400, "unknown_room_type", message, {"room_type": [message]})
    return room_type


def _rate_plan(hotel: Hotel, code: str) -> RatePlan:
    plan = get_instance(RatePlan, hotel_id=hotel.id, code=code, is_active=True)
    if plan is None:
        message = f"No rate plan {code} at this hotel."
        raise ApiError(400, "unknown_rate_plan", message, {"rate_plan": [message]})
    return plan


def _validated(serializer_class, data):
    return validated_data(serializer_class, data)


def _booking_data(reservation: Reservation) -> dict:
    fresh = (
        Reservation.objects.select_related("hotel", "guest")
        .prefetch_related(Prefetch("rooms", queryset=_stays()))
        .get(pk=reservation.pk)
    )
    return s.BookingSerializer(fresh).data


# --- Catalogue -----------------------------------------------------------------------------


class HotelView(APIView):
    permission_classes = [AvailabilityRead]

    @extend_schema(
        operation_id="hotel_retrieve",
        responses={200: s.HotelSerializer, **error_responses()},
        tags=["catalogue"],
    )
    def get(self, request: Request, hotel_code: str) -> Response:
        """The hotel: address, time zone, currency, check-in and check-out times, policies."""
        return Response(s.HotelSerializer(get_hotel(request, hotel_code)).data)


class RoomTypeListView(APIView):
    permission_classes = [AvailabilityRead]

    @extend_schema(
        operation_id="room_types_list",
        responses={200: s.RoomTypeSerializer(many=True), **error_responses()},
        tags=["catalogue"],
    )
    def get(self, request: Request, hotel_code: str) -> Response:
        """Room types, each with its IDS code, occupancy limits and number of active rooms."""
        hotel = get_hotel(request, hotel_code)
        room_types = hotel.room_types.annotate(
            active_rooms=Count("rooms", filter=Q(rooms__is_active=True))
        )
        return Response(s.RoomTypeSerializer(room_types, many=True).data)


class RatePlanListView(APIView):
    permission_classes = [AvailabilityRead]

    @extend_schema(
        operation_id="rate_plans_list",
        responses={200: s.RatePlanSerializer(many=True), **error_responses()},
        tags=["catalogue"],
    )
    def get(self, request: Request, hotel_code: str) -> Response:
        """Active rate plans with their meal plan, cancellation terms and room types."""
        hotel = get_hotel(request, hotel_code)
        plans = (
            hotel.rate_plans.filter(is_active=True)
            .select_related("parent")
            .prefetch_related("room_types")
        )
        return Response(s.RatePlanSerializer(plans, many=True).data)


# --- Availability and calendar --------------------------------------------------------------


def _offer_data(offer: Offer, check_in) -> dict:
    plan = offer.rate_plan
    until = None
    if plan.refundable:
        until = (check_in - timedelta(days=plan.free_cancellation_days)).isoformat()
    return {
        "room_type": offer.room_type.code,
        "room_type_name": offer.room_type.name,
        "rate_plan": plan.code,
        "rate_plan_name": plan.name,
        "meal_plan": plan.meal_plan,
        "nights": [{"date": n.date.isoformat(), "amount": n.amount} for n in offer.nights],
        "total": offer.total,
        "currency": offer.currency,
        "rooms_left": offer.rooms_left,
        "cancellation_policy": {
            "refundable": plan.refundable,
            "free_cancellation_until": until,
            "description": plan.cancellation_policy,
        },
    }


class AvailabilityView(APIView):
    permission_classes = [AvailabilityRead]

    @extend_schema(
        operation_id="availability",
        parameters=[s.AvailabilityQuerySerializer],
        responses={200: s.AvailabilitySerializer, **error_responses()},
        tags=["availability"],
    )
    def get(self, request: Request, hotel_code: str) -> Response:
        """Offers (room type × rate plan) for a stay with nightly prices, and what cannot be
        sold, with the reason."""
        hotel = get_hotel(request, hotel_code)
        q = _validated(s.AvailabilityQuerySerializer, request.query_params.dict())
        stay = (q["check_in"], q["check_out"], q["adults"], q["children"], q["rooms"])
        # Validated on every request (the booking window moves with the hotel's today);
        # only the answer itself may come from the cache.
        validate_stay(hotel, *stay)
        return Response(
            cached_search(hotel, *stay, shape=lambda result: _availability_data(hotel, result))
        )


def _availability_data(hotel: Hotel, result) -> dict:
    stay = result.stay
    return {
        "hotel": hotel.code,
        "check_in": stay.check_in.isoformat(),
        "check_out": stay.check_out.isoformat(),
        "nights": stay.nights,
        "adults": stay.adults,
        "children": stay.children,
        "rooms": stay.rooms,
        "offers": [_offer_data(o, stay.check_in) for o in result.offers],
        "unavailable": [
            {
                "room_type": u.room_type.code,
                "room_type_name": u.room_type.name,
                "reasons": [r.as_dict() for r in u.reasons],
            }
            for u in result.unavailable
        ],
    }


class CalendarView(APIView):
    permission_classes = [AvailabilityRead]

    @extend_schema(
        operation_id="calendar",
        parameters=[s.CalendarQuerySerializer],
        responses={200: s.CalendarSerializer, **error_responses()},
        tags=["availability"],
    )
    def get(self, request: Request, hotel_code: str) -> Response:
        """Per arrival day: can one night be booked, and the lowest one-night price."""
        hotel = get_hotel(request, hotel_code)
        q = _validated(s.CalendarQuerySerializer, request.query_params.dict())
        days = lowest_price_calendar(hotel, q["start"], q["end"])
        return Response(
            {
                "hotel": hotel.code,
                "days": [
                    {
                        "date": d.date.isoformat(),
                        "available": d.available,
                        "lowest_price": d.lowest_price,
                        "currency": d.currency,
                        "min_stay": d.min_stay,
                    }
                    for d in days
                ],
            }
        )


# --- Bookings -------------------------------------------------------------------------------


class BookingExample(OpenApiExample):
    """The documented booking: two nights a month from the day the schema is served, so the
    example never asks for dates in the past (it is computed each time, not at import)."""

    def __init__(self) -> None:
        super().__init__("A two-night stay", request_only=True)

    @property
    def value(self) -> dict:
        check_in = date.today() + timedelta(days=30)
        return {
            "room_type": "EXT",
            "rate_plan": "BAR-BB",
            "check_in": check_in.isoformat(),
            "check_out": (check_in + timedelta(days=2)).isoformat(),
            "adults": 2,
            "children": 0,
            "guest": {
                "first_name": "Asha",
                "last_name": "Rao",
                "email": "asha@example.com",
                "phone": "+91 98450 00000",
                "country": "IN",
            },
            "special_requests": "Late arrival",
            "expected_total": 2800000,
        }

    @value.setter
    def value(self, _ignored) -> None:
        """``OpenApiExample.__init__`` sets a value; this one is always computed."""


class BookingCreateView(APIView):
    permission_classes = [BookingsWrite]

    @extend_schema(
        operation_id="booking_create",
        parameters=[IDEMPOTENCY_KEY],
        request=s.BookingCreateSerializer,
        responses={201: s.BookingSerializer, **error_responses(409, 413, 415, 422, 503)},
        examples=[BookingExample()],
        tags=["bookings"],
    )
    def post(self, request: Request, hotel_code: str) -> Response:
        """Book a stay. Needs an ``Idempotency-Key``; retries with it never book twice."""
        hotel = get_hotel(request, hotel_code)
        data = _validated(s.BookingCreateSerializer, request.data)
        rate_plan = _rate_plan(hotel, data["rate_plan"])
        # Paid online to confirm: asked for, or the rate plan's terms (non-refundable).
        payment = None
        if data["payment"] or rate_plan.requires_prepayment:
            payment = payment_extension(hotel.id, data["payment"])
            if payment is None:
                raise PaymentUnavailable(
                    "This booking is paid online, and online payment is not available "
                    "at this hotel.",
                    fields={"payment": ["Not available at this hotel."]},
                )
        stay = {
            "hotel": hotel,
            "room_type": _room_type(hotel, data["room_type"]),
            "rate_plan": rate_plan,
            "check_in": data["check_in"],
            "check_out": data["check_out"],
            "adults": data["adults"],
            "children": data["children"],
            "rooms": data["rooms"],
            "source": SOURCE,
        }
        if hotel.availability_master == Hotel.AvailabilityMaster.PMS:
            # Ask the PMS before the idempotency transaction opens, so no database
            # lock waits on it; a retry of a booking already made is answered first.
            replayed = replay_if_done(request, request.data)
            if replayed is not None:
                return replayed
            check_with_master(**stay)

        def book() -> Response:
            reservation = reserve_stay(
                **stay,
                guest=GuestDetails(**data["guest"]),
                special_requests=data["special_requests"],
                expected_total=data.get("expected_total"),
                master_confirmed=True,
                # run_once's transaction rolls back whole on any error from here.
                savepoint=False,
                **_hold(payment),
            )
            # Described from memory: ``reserve_stay`` hands back the booking with its
            # hotel, guest (as stored), stays and nights, all written in this very
            # transaction, so reading them back would return the same.
            body = s.BookingSerializer(reservation).data
            if payment is not None:
                method = method_for(payment, data["payment"])
                body.update(payment.booking_created(reservation, method, request))
            return Response(body, status=status.HTTP_201_CREATED)

        return run_once(request, request.data, book)


def _hold(payment) -> dict:
    """A booking paid online holds its rooms as ``pending_payment`` for PAYMENT_HOLD_MINUTES."""
    if payment is None:
        return {}
    return {
        "status": Reservation.Status.PENDING_PAYMENT,
        "hold_expires_at": timezone.now() + timedelta(minutes=settings.PAYMENT_HOLD_MINUTES),
    }


class BookingFilter(django_filters.FilterSet):
    """Filters for syncing bookings back: by hotel, status, arrival and last change."""

    hotel = django_filters.CharFilter(field_name="hotel__code", help_text="Hotel code.")
    status = django_filters.ChoiceFilter(choices=Reservation.Status.choices)
    arrival_from = django_filters.DateFilter(field_name="check_in", lookup_expr="gte")
    arrival_to = django_filters.DateFilter(field_name="check_in", lookup_expr="lte")
    updated_since = django_filters.IsoDateTimeFilter(method="filter_updated_since")

    class Meta:
        model = Reservation
        fields = ["hotel", "status", "arrival_from", "arrival_to", "updated_since"]

    def filter_updated_since(self, queryset, name, value):
        # In UTC: PostgreSQL rejects some offsets Python accepts (e.g. +16:01).
        try:
            moment = value.astimezone(UTC)
        except OverflowError:
            # Past either end of the calendar: nothing changed after the end of
            # time, and everything changed after its beginning.
            return queryset.none() if value.year > 1 else queryset
        return queryset.filter(updated_at__gte=moment)


class BookingCursorPagination(CursorPagination):
    """Oldest change first, so a sync reads forward and resumes from its last cursor.

    A cursor is the caller's to forge: one that does not decode, or whose
    position is not an aware timestamp PostgreSQL can hold (the position goes
    into the query as is), is a 400 ``invalid_cursor`` rather than DRF's 404
    or a failing query.
    """

    ordering = ("updated_at", "id")
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200
    page_size_query_description = "Bookings per page, 1 or more (50 if left out; at most 200)."

    def get_page_size(self, request) -> int:
        """``limit`` as sent, cut to 200; one that is not a whole number of 1 or more is a 400
        (DRF would quietly use the default)."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if size < 1:
            message = "Must be a whole number of 1 or more."
            raise ApiError(400, "invalid_field", f"limit: {message}", {"limit": [message]})
        return min(size, self.max_page_size)

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["minimum"] = 1
        return parameters

    def decode_cursor(self, request):
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            cursor = None
            valid = False
        else:
            valid = cursor is None or cursor.position is None or _is_timestamp(cursor.position)
        if not valid:
            raise ApiError(
                400,
                "invalid_cursor",
                "The cursor is not one this API gave out; start again without it.",
                {"cursor": ["Not a valid cursor."]},
            )
        return cursor


def _is_timestamp(value: str) -> bool:
    """An aware date and time that converts to UTC (what a cursor's position always is)."""
    try:
        moment = parse_datetime(value)
        return moment is not None and moment.tzinfo is not None and bool(moment.astimezone(UTC))
    except (ValueError, OverflowError):
        return False


@extend_schema_view(
    get=extend_schema(
        operation_id="bookings_list",
        responses={200: s.BookingSerializer(many=True), **error_responses()},
        tags=["bookings"],
    )
)
class BookingListView(generics.ListAPIView):
    """Bookings of the key's hotels, oldest change first, for syncing changes back."""

    permission_classes = [BookingsRead]
    serializer_class = s.BookingSerializer
    filterset_class = BookingFilter
    pagination_class = BookingCursorPagination

    def get_queryset(self) -> QuerySet[Reservation]:
        return booking_queryset(self.request)


class BookingDetailView(APIView):
    def get_permissions(self):
        if self.request.method == "PATCH":
            return [BookingsWrite()]
        return [BookingsRead()]

    @extend_schema(
        operation_id="booking_retrieve",
        responses={200: s.BookingSerializer, **error_responses()},
        tags=["bookings"],
    )
    def get(self, request: Request, confirmation_number: str) -> Response:
        """One booking by its confirmation number."""
        return Response(s.BookingSerializer(get_booking(request, confirmation_number)).data)

    @extend_schema(
        operation_id="booking_update",
        request=s.BookingUpdateSerializer,
        responses={200: s.BookingSerializer, **error_responses(409, 413, 415, 503)},
        tags=["bookings"],
    )
    def patch(self, request: Request, confirmation_number: str) -> Response:
        """Change dates, room type, rate plan, guests or requests; re-checked and re-priced."""
        booking = get_booking(request, confirmation_number)
        data = _validated(s.BookingUpdateSerializer, request.data)
        hotel = booking.hotel
        updated = modify_reservation(
            booking,
            source=SOURCE,
            check_in=data.get("check_in"),
            check_out=data.get("check_out"),
            room_type=_room_type(hotel, data["room_type"]) if "room_type" in data else None,
            rate_plan=_rate_plan(hotel, data["rate_plan"]) if "rate_plan" in data else None,
            adults=data.get("adults"),
            children=data.get("children"),
            special_requests=data.get("special_requests"),
            expected_total=data.get("expected_total"),
            may_move_non_refundable=request.user.has_perm("bookings.move_non_refundable"),
        )
        return Response(_booking_data(updated))


class BookingCancelView(APIView):
    permission_classes = [BookingsWrite]

    @extend_schema(
        operation_id="booking_cancel",
        request=s.CancelInputSerializer,
        responses={200: s.CancellationSerializer, **error_responses(413, 415)},
        tags=["bookings"],
    )
    def post(self, request: Request, confirmation_number: str) -> Response:
        """Cancel the booking; cancelling again answers the same and changes nothing."""
        booking = get_booking(request, confirmation_number)
        data = _validated(s.CancelInputSerializer, request.data or {})
        cancelled, changed = cancel_reservation(booking, source=SOURCE, reason=data["reason"])
        return Response(
            {
                "confirmation_number": cancelled.confirmation_number,
                "status": cancelled.status,
                "cancelled_at": cancelled.cancelled_at,
                "already_cancelled": not changed,
                "booking": _booking_data(cancelled),
                "cancellation_fee": cancelled.cancellation_fee or 0,
                "refund": None,
                **describe(cancelled),
            }
        )


# --- Keys -----------------------------------------------------------------------------------


class ValidateKeyView(APIView):
    permission_classes = []

    @extend_schema(
        operation_id="auth_validate",
        request=None,
        responses={
            200: OpenApiResponse(s.KeyInfoSerializer, description="The key is valid."),
            **error_responses(),
        },
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        """Whether the key is valid, which hotels it sees and which scopes it has."""
        auth = request.auth
        if isinstance(auth, ApiKey):
            hotels = list(visible_hotels(request).values_list("code", flat=True))
            body = {
                "valid": True,
                "name": auth.name,
                "prefix": auth.prefix,
                "hotels": hotels,
                "scopes": list(auth.scopes),
                "expires_at": auth.expires_at,
            }
        elif request.user.is_authenticated and request.user.is_staff:
            body = {
                "valid": True,
                "name": request.user.get_username(),
                "prefix": "",
                "hotels": list(Hotel.objects.values_list("code", flat=True)),
                "scopes": list(KNOWN_SCOPES),
                "expires_at": None,
            }
        else:
            raise ApiError(401, "not_authenticated", "Send an API key.")
        return Response(s.KeyInfoSerializer(body).data)
