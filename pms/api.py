"""Staff endpoints for IDS Next under ``/api/v1/ids/`` (scope ``ids:admin``).

Thin views: validate input, call one domain function, shape the answer.
Domain errors (``NoAvailability``, ``ExternalAvailabilityUnavailable``,
``InvalidStay``...) are shaped by the project's API exception handler.
"""

from __future__ import annotations

import re

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from bookings.api.schema import ERRORS as BOOKING_ERRORS
from bookings.api.views import get_hotel
from bookings.ari import AriChanges, apply_ari_update
from bookings.external import StayQuery
from bookings.models import Hotel, RatePlan, RoomType
from channels.dispatch import plan_full_sync
from channels.models import Connection
from channels.providers.base import SyncError
from channels.tasks import deliver_connection, enqueue, full_sync
from partners.ids_next.setup import PROVIDER
from pema.api import ErrorTable, JsonTypes, documented_errors, error_body, staff_or_scope

from .availability import check_with_pms, pms_units

IdsAdmin = staff_or_scope("ids:admin")
_CODE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")

ERRORS: ErrorTable = {
    400: (
        "The request is not valid (a field, or a change the calendar refuses).",
        [
            ("malformed_json", "The body is not valid JSON: ..."),
            ("missing_field", "A required field is missing. hotel: This field is required."),
            ("invalid_field", "Some fields are not valid. price: ..."),
            ("nothing_to_change", "Nothing to change: set at least one field."),
        ],
    ),
    401: BOOKING_ERRORS[401],
    403: (
        "The key lacks the scope ids:admin (or the staff user its permissions).",
        [("permission_denied", "This needs an API key with the scope 'ids:admin'...")],
    ),
    404: (
        "No such hotel for this key (another hotel's code answers the same), or the hotel "
        "has no enabled IDS Next connection.",
        [
            ("hotel_not_found", "No hotel 'PEMA' for this key."),
            ("not_configured", "This hotel has no enabled IDS Next connection."),
        ],
    ),
    409: (
        "IDS Next has too few rooms for the stay, or the calendar change conflicts with "
        "rooms already sold.",
        [
            ("no_availability", "IDS Next has 0 of 1 rooms."),
            ("calendar_conflict", "Rooms are already sold on 2026-05-02."),
        ],
    ),
    429: BOOKING_ERRORS[429],
    502: ("IDS Next did not answer the ping.", [("pms_unreachable", "Connection refused.")]),
    503: BOOKING_ERRORS[503],
}
COMMON = (400, 401, 403, 404, 429)


def _error(code: str, message: str, http: int) -> Response:
    return Response(error_body(code, message), http)


def _documented(answer, *statuses: int) -> dict:
    """The success answer of an IDS endpoint and its documented errors."""
    return {**answer, **documented_errors(ERRORS, set(COMMON) | set(statuses))}


class HotelInput(JsonTypes):
    """Every IDS input names the hotel; unknown fields are refused, not ignored.

    The code is checked for shape with the other fields (a 400), and only then
    looked up among the caller's hotels: another hotel's code and an unknown
    one are the same 404 ``hotel_not_found``, so a key learns nothing of the
    hotels it was not given.
    """

    hotel = serializers.RegexField(_CODE, max_length=32, help_text="The hotel's code.")

    def validate(self, data):
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({k: ["Unknown field."] for k in unknown})
        data["hotel"] = get_hotel(self.context["request"], data["hotel"])
        return super().validate(data)


def _codes(model, hotel: Hotel, codes: list[str], field: str) -> list:
    wellformed = [c for c in codes if _CODE.match(c)]
    found = {o.code: o for o in model.objects.filter(hotel=hotel, code__in=wellformed)}
    missing = [c for c in codes if c not in found]
    if missing:
        raise serializers.ValidationError({field: [f"Unknown code(s): {', '.join(missing)}."]})
    return [found[c] for c in codes]


class AvailabilityInput(HotelInput):
    room_type = serializers.CharField(max_length=32)
    rate_plan = serializers.CharField(max_length=32)
    check_in = serializers.DateField()
    check_out = serializers.DateField()
    adults = serializers.IntegerField(min_value=1, max_value=20, default=2)
    children = serializers.IntegerField(min_value=0, max_value=20, default=0)
    rooms = serializers.IntegerField(min_value=1, max_value=9, default=1)

    def validate(self, data):
        data = super().validate(data)
        if data["check_out"] <= data["check_in"]:
            raise serializers.ValidationError({"check_out": ["Must be after check_in."]})
        data["room_type"] = _codes(RoomType, data["hotel"], [data["room_type"]], "room_type")[0]
        data["rate_plan"] = _codes(RatePlan, data["hotel"], [data["rate_plan"]], "rate_plan")[0]
        return data


class RangeInput(HotelInput):
    start = serializers.DateField()
    end = serializers.DateField()
    room_types = serializers.ListField(
        child=serializers.CharField(max_length=32), required=False, max_length=100
    )
    rate_plans = serializers.ListField(
        child=serializers.CharField(max_length=32), required=False, max_length=100
    )
    weekdays = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6),
        required=False,
        allow_empty=False,
        help_text="0 = Monday; leave out for every day.",
    )

    def resolve(self) -> dict:
        data = self.validated_data
        hotel = data["hotel"]
        return {
            "start": data["start"],
            "end": data["end"],
            "room_types": _codes(RoomType, hotel, data.get("room_types") or [], "room_types")
            or None,
            "rate_plans": _codes(RatePlan, hotel, data.get("rate_plans") or [], "rate_plans")
            or None,
            "weekdays": set(data["weekdays"]) if data.get("weekdays") else None,
        }


class UpdateAvailabilityInput(RangeInput):
    availability = serializers.IntegerField(min_value=0, required=False)
    blocked = serializers.IntegerField(min_value=0, required=False)
    stop_sell = serializers.BooleanField(required=False, allow_null=True, default=None)
    min_stay_arrival = serializers.IntegerField(min_value=1, required=False)
    min_stay_through = serializers.IntegerField(min_value=1, required=False)
    max_stay = serializers.IntegerField(min_value=1, required=False)
    closed_to_arrival = serializers.BooleanField(required=False, allow_null=True, default=None)
    closed_to_departure = serializers.BooleanField(required=False, allow_null=True, default=None)

    def changes(self) -> AriChanges:
        d = self.validated_data
        return AriChanges(
            availability_override=d.get("availability"),
            blocked=d.get("blocked"),
            stop_sell=d.get("stop_sell"),
            min_stay_arrival=d.get("min_stay_arrival"),
            min_stay_through=d.get("min_stay_through"),
            max_stay=d.get("max_stay"),
            closed_to_arrival=d.get("closed_to_arrival"),
            closed_to_departure=d.get("closed_to_departure"),
        )


class UpdateRatesInput(RangeInput):
    price = serializers.IntegerField(min_value=0, help_text="Minor units.")
    extra_adult_price = serializers.IntegerField(min_value=0, required=False)
    extra_child_price = serializers.IntegerField(min_value=0, required=False)

    def changes(self) -> AriChanges:
        d = self.validated_data
        return AriChanges(
            price=d["price"],
            extra_adult_price=d.get("extra_adult_price"),
            extra_child_price=d.get("extra_child_price"),
        )


def _connection(hotel: Hotel) -> Connection | None:
    return Connection.objects.filter(hotel=hotel, provider=PROVIDER, enabled=True).first()


class IdsView(APIView):
    permission_classes = [IdsAdmin]
    input_class: type[serializers.Serializer] = HotelInput

    def read(self, request) -> serializers.Serializer:
        s = self.input_class(data=request.data, context={"request": request})
        s.is_valid(raise_exception=True)
        return s


PING_ANSWER = inline_serializer(
    "IdsPing", {"ok": serializers.BooleanField(), "message": serializers.CharField()}
)
AVAILABILITY_ANSWER = inline_serializer(
    "IdsAvailability",
    {"available": serializers.BooleanField(), "rooms": serializers.IntegerField()},
)
UPDATE_ANSWER = inline_serializer(
    "IdsCalendarUpdate",
    {
        "inventory_rows": serializers.IntegerField(),
        "rate_rows": serializers.IntegerField(),
        "event_id": serializers.IntegerField(allow_null=True),
    },
)
SYNC_ANSWER = inline_serializer(
    "IdsFullSync",
    {
        "queued": serializers.BooleanField(),
        "jobs": serializers.IntegerField(
            required=False, help_text="Jobs queued here when the broker was down."
        ),
    },
)


@extend_schema(request=HotelInput, responses=_documented({200: PING_ANSWER}, 502), tags=["ids"])
class TestConnectionView(IdsView):
    """Ping IDS Next with the hotel's connection."""

    def post(self, request):
        hotel = self.read(request).validated_data["hotel"]
        conn = _connection(hotel)
        if conn is None:
            return _error("not_configured", "This hotel has no enabled IDS Next connection.", 404)
        try:
            message = conn.get_provider().test_connection()
        except SyncError as exc:
            return _error("pms_unreachable", exc.message, status.HTTP_502_BAD_GATEWAY)
        return Response({"ok": True, "message": message})


@extend_schema(
    request=AvailabilityInput,
    responses=_documented({200: AVAILABILITY_ANSWER}, 409, 503),
    tags=["ids"],
)
class CheckAvailabilityView(IdsView):
    """Ask IDS Next about a stay, exactly as a booking would (no cache bypass)."""

    input_class = AvailabilityInput

    def post(self, request):
        d = self.read(request).validated_data
        query = StayQuery(
            d["hotel"],
            d["room_type"],
            d["rate_plan"],
            d["check_in"],
            d["check_out"],
            d["adults"],
            d["children"],
            d["rooms"],
        )
        units = pms_units(query)
        check_with_pms(query)  # raises NoAvailability (409) when too few
        return Response({"available": True, "rooms": units})


@extend_schema(
    request=UpdateAvailabilityInput, responses=_documented({200: UPDATE_ANSWER}, 409), tags=["ids"]
)
class UpdateAvailabilityView(IdsView):
    """Change availability and restrictions; the change reaches IDS through the outbox."""

    input_class = UpdateAvailabilityInput

    def post(self, request):
        s = self.read(request)
        result = apply_ari_update(
            s.validated_data["hotel"], changes=s.changes(), source="api", **s.resolve()
        )
        return Response(
            {
                "inventory_rows": result.inventory_rows,
                "rate_rows": result.rate_rows,
                "event_id": result.event.pk if result.event else None,
            }
        )


@extend_schema(
    request=UpdateRatesInput, responses=_documented({200: UPDATE_ANSWER}, 409), tags=["ids"]
)
class UpdateRatesView(UpdateAvailabilityView):
    """Change prices; the change reaches IDS through the outbox."""

    input_class = UpdateRatesInput


@extend_schema(request=HotelInput, responses=_documented({202: SYNC_ANSWER}), tags=["ids"])
class SyncAvailabilityView(IdsView):
    """Queue a full sync of the next 500 days."""

    def post(self, request):
        hotel = self.read(request).validated_data["hotel"]
        conn = _connection(hotel)
        if conn is None:
            return _error("not_configured", "This hotel has no enabled IDS Next connection.", 404)
        if enqueue(full_sync, conn.pk):
            return Response({"queued": True}, status=status.HTTP_202_ACCEPTED)
        # Broker down: queue the jobs ourselves; the minute sweep delivers them.
        jobs = plan_full_sync(conn)
        enqueue(deliver_connection, conn.pk)
        return Response({"queued": True, "jobs": jobs}, status=status.HTTP_202_ACCEPTED)
