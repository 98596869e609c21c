"""Serializers of the booking-engine API: strict input (unknown fields rejected) and output."""

from __future__ import annotations

from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from pema.api import JsonTypes

from ..cancellation import policy_of
from ..models import Hotel, RatePlan, Reservation, RoomType


class StrictSerializer(serializers.Serializer):
    """Rejects fields it does not declare: a typo must not be silently ignored."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: ["This field is not known."] for name in unknown}, code="unknown_field"
                )
        return super().to_internal_value(data)


class StrictBodySerializer(JsonTypes, StrictSerializer):
    """A JSON body: no unknown fields, and each field in its own JSON type."""


# --- Catalogue ---------------------------------------------------------------------------


class HotelSerializer(serializers.ModelSerializer):
    # Local wall-clock times ("14:00:00"), without the offset OpenAPI's "time" format demands.
    check_in_time = serializers.CharField(help_text="Hotel-local time, HH:MM:SS.")
    check_out_time = serializers.CharField(help_text="Hotel-local time, HH:MM:SS.")

    class Meta:
        model = Hotel
        fields = [
            "code",
            "name",
            "address",
            "phone",
            "email",
            "timezone",
            "currency",
            "check_in_time",
            "check_out_time",
            "policies",
            "amenities",
            "images",
            "max_stay_nights",
            "booking_window_days",
        ]


class RoomTypeSerializer(serializers.ModelSerializer):
    rooms = serializers.IntegerField(source="active_rooms", help_text="Active rooms of this type.")

    class Meta:
        model = RoomType
        fields = [
            "code",
            "name",
            "category",
            "bed_type",
            "description",
            "base_occupancy",
            "max_adults",
            "max_children",
            "max_occupancy",
            "amenities",
            "images",
            "rooms",
        ]


class RatePlanSerializer(serializers.ModelSerializer):
    room_types = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    parent = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = RatePlan
        fields = [
            "code",
            "name",
            "currency",
            "meal_plan",
            "refundable",
            "free_cancellation_days",
            "cancellation_fee_type",
            "cancellation_fee_value",
            "prepayment_required",
            "cancellation_policy",
            "room_types",
            "parent",
        ]


# --- Availability ------------------------------------------------------------------------


class AvailabilityQuerySerializer(StrictSerializer):
    check_in = serializers.DateField()
    check_out = serializers.DateField()
    adults = serializers.IntegerField(default=2, min_value=0, max_value=99)
    children = serializers.IntegerField(default=0, min_value=0, max_value=99)
    rooms = serializers.IntegerField(default=1, min_value=0, max_value=99)


class NightSerializer(serializers.Serializer):
    date = serializers.DateField()
    amount = serializers.IntegerField(help_text="Minor units, all rooms together.")


class CancellationPolicySerializer(serializers.Serializer):
    refundable = serializers.BooleanField()
    free_cancellation_until = serializers.DateField(allow_null=True)
    description = serializers.CharField(allow_blank=True)


class OfferSerializer(serializers.Serializer):
    room_type = serializers.CharField()
    room_type_name = serializers.CharField()
    rate_plan = serializers.CharField()
    rate_plan_name = serializers.CharField()
    meal_plan = serializers.CharField()
    nights = NightSerializer(many=True)
    total = serializers.IntegerField(help_text="Minor units; send it back as expected_total.")
    currency = serializers.CharField()
    rooms_left = serializers.IntegerField()
    cancellation_policy = CancellationPolicySerializer()


class ReasonSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    date = serializers.DateField(required=False)


class UnavailableSerializer(serializers.Serializer):
    room_type = serializers.CharField()
    room_type_name = serializers.CharField()
    reasons = ReasonSerializer(many=True)


class AvailabilitySerializer(serializers.Serializer):
    hotel = serializers.CharField()
    check_in = serializers.DateField()
    check_out = serializers.DateField()
    nights = serializers.IntegerField()
    adults = serializers.IntegerField()
    children = serializers.IntegerField()
    rooms = serializers.IntegerField()
    offers = OfferSerializer(many=True)
    unavailable = UnavailableSerializer(many=True)


class CalendarQuerySerializer(StrictSerializer):
    start = serializers.DateField()
    end = serializers.DateField()


class CalendarDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    available = serializers.BooleanField()
    lowest_price = serializers.IntegerField(allow_null=True, help_text="One night, minor units.")
    currency = serializers.CharField()
    min_stay = serializers.IntegerField(allow_null=True)


class CalendarSerializer(serializers.Serializer):
    hotel = serializers.CharField()
    days = CalendarDaySerializer(many=True)


# --- Bookings ---------------------------------------------------------------------------

country_validator = RegexValidator(r"^[A-Za-z]{2}$", "Use an ISO 3166 alpha-2 code such as IN.")


class GuestInputSerializer(StrictBodySerializer):
    first_name = serializers.CharField(max_length=100)
    last_name = serializers.CharField(max_length=100)
    email = serializers.EmailField(max_length=254)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    country = serializers.CharField(
        max_length=2, required=False, allow_blank=True, default="", validators=[country_validator]
    )


class BookingCreateSerializer(StrictBodySerializer):
    room_type = serializers.CharField(max_length=16, help_text="Room type code, e.g. EXT.")
    rate_plan = serializers.CharField(max_length=32, help_text="Rate plan code, e.g. BAR-BB.")
    check_in = serializers.DateField()
    check_out = serializers.DateField()
    adults = serializers.IntegerField(min_value=0, max_value=99)
    children = serializers.IntegerField(min_value=0, max_value=99, default=0)
    rooms = serializers.IntegerField(min_value=0, max_value=99, default=1)
    guest = GuestInputSerializer()
    special_requests = serializers.CharField(
        max_length=2000, required=False, allow_blank=True, default=""
    )
    expected_total = serializers.IntegerField(
        min_value=0,
        required=False,
        allow_null=True,
        help_text="The total the guest was shown (minor units); a different price is a 409.",
    )
    payment = serializers.CharField(
        max_length=16,
        required=False,
        allow_blank=True,
        default="",
        help_text="Pay online to confirm, e.g. 'payu' (a prepaid rate plan needs no asking). "
        "The booking is then pending_payment and the answer carries a payment object.",
    )


class BookingUpdateSerializer(StrictBodySerializer):
    check_in = serializers.DateField(required=False)
    check_out = serializers.DateField(required=False)
    room_type = serializers.CharField(max_length=16, required=False)
    rate_plan = serializers.CharField(max_length=32, required=False)
    adults = serializers.IntegerField(min_value=0, max_value=99, required=False)
    children = serializers.IntegerField(min_value=0, max_value=99, required=False)
    special_requests = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    expected_total = serializers.IntegerField(min_value=0, required=False, allow_null=True)


class CancelInputSerializer(StrictBodySerializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class BookingPolicySerializer(serializers.Serializer):
    refundable = serializers.BooleanField()
    free_cancellation_until = serializers.DateField(allow_null=True)
    fee_type = serializers.CharField(help_text="nights or percent, inside the free period.")
    fee_value = serializers.IntegerField()
    description = serializers.CharField(allow_blank=True)


class GuestSerializer(serializers.Serializer):
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    email = serializers.CharField()
    phone = serializers.CharField()
    country = serializers.CharField()


class BookingSerializer(serializers.ModelSerializer):
    """A reservation as the booking engine sees it (rooms and nights prefetched)."""

    hotel = serializers.CharField(source="hotel.code")
    nights = serializers.IntegerField()
    rooms = serializers.SerializerMethodField()
    room_type = serializers.SerializerMethodField()
    rate_plan = serializers.SerializerMethodField()
    nightly = serializers.SerializerMethodField()
    guest = GuestSerializer()
    cancellation_policy = serializers.SerializerMethodField()

    class Meta:
        model = Reservation
        fields = [
            "confirmation_number",
            "hotel",
            "status",
            "source",
            "check_in",
            "check_out",
            "nights",
            "adults",
            "children",
            "rooms",
            "room_type",
            "rate_plan",
            "guest",
            "special_requests",
            "total_amount",
            "currency",
            "nightly",
            "version",
            "created_at",
            "updated_at",
            "cancelled_at",
            "hold_expires_at",
            "cancellation_policy",
            "cancellation_fee",
        ]

    # The declared fields above describe the answer (the OpenAPI schema reads
    # them); the answer itself is built by ``booking_representation``. A
    # ModelSerializer builds its fields anew for every object it renders, and
    # that was a sixth of a booking's CPU time in the web process.
    def to_representation(self, instance: Reservation) -> dict:
        return booking_representation(instance)

    # DRF's own rendering from the declared fields, kept as the reference
    # ``booking_representation`` is tested against.
    def get_rooms(self, obj: Reservation) -> int:
        return len(obj.rooms.all())

    def get_room_type(self, obj: Reservation) -> str:
        stays = list(obj.rooms.all())
        return stays[0].room_type.code if stays else ""

    def get_rate_plan(self, obj: Reservation) -> str:
        stays = list(obj.rooms.all())
        return stays[0].rate_plan.code if stays else ""

    @extend_schema_field(BookingPolicySerializer(allow_null=True))
    def get_cancellation_policy(self, obj: Reservation) -> dict | None:
        stays = list(obj.rooms.all())
        return policy_of(stays[0].rate_plan, obj.check_in) if stays else None

    @extend_schema_field(NightSerializer(many=True))
    def get_nightly(self, obj: Reservation) -> list[dict]:
        totals: dict = {}
        for stay in obj.rooms.all():
            for night in stay.nights.all():
                totals[night.date] = totals.get(night.date, 0) + night.price
        return [{"date": d.isoformat(), "amount": a} for d, a in sorted(totals.items())]


_TIMESTAMP = serializers.DateTimeField()


def _timestamp(value) -> str | None:
    return None if value is None else _TIMESTAMP.to_representation(value)


def booking_representation(reservation: Reservation) -> dict:
    """A reservation as the booking engine sees it: :class:`BookingSerializer`'s answer.

    Reads the reservation's hotel, guest and room stays with their nights as
    they are loaded (prefetch them when rendering many).
    """
    stays = list(reservation.rooms.all())
    first = stays[0] if stays else None
    totals: dict = {}
    for stay in stays:
        for night in stay.nights.all():
            totals[night.date] = totals.get(night.date, 0) + night.price
    guest = reservation.guest
    return {
        "confirmation_number": reservation.confirmation_number,
        "hotel": reservation.hotel.code,
        "status": reservation.status,
        "source": reservation.source,
        "check_in": reservation.check_in.isoformat(),
        "check_out": reservation.check_out.isoformat(),
        "nights": reservation.nights,
        "adults": reservation.adults,
        "children": reservation.children,
        "rooms": len(stays),
        "room_type": first.room_type.code if first else "",
        "rate_plan": first.rate_plan.code if first else "",
        "guest": {
            "first_name": str(guest.first_name),
            "last_name": str(guest.last_name),
            "email": str(guest.email),
            "phone": str(guest.phone),
            "country": str(guest.country),
        },
        "special_requests": reservation.special_requests,
        "total_amount": reservation.total_amount,
        "currency": reservation.currency,
        "nightly": [{"date": d.isoformat(), "amount": a} for d, a in sorted(totals.items())],
        "version": reservation.version,
        "created_at": _timestamp(reservation.created_at),
        "updated_at": _timestamp(reservation.updated_at),
        "cancelled_at": _timestamp(reservation.cancelled_at),
        "hold_expires_at": _timestamp(reservation.hold_expires_at),
        "cancellation_policy": policy_of(first.rate_plan, reservation.check_in) if first else None,
        "cancellation_fee": reservation.cancellation_fee,
    }


class CancellationSerializer(serializers.Serializer):
    confirmation_number = serializers.CharField()
    status = serializers.CharField()
    cancelled_at = serializers.DateTimeField()
    already_cancelled = serializers.BooleanField(
        help_text="True when the booking was cancelled before this call (nothing changed)."
    )
    booking = BookingSerializer()
    cancellation_fee = serializers.IntegerField(help_text="Minor units the policy kept.")
    refund = serializers.DictField(
        allow_null=True, help_text="The refund of what was paid online: amount and status."
    )


class KeyInfoSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    name = serializers.CharField()
    prefix = serializers.CharField(allow_blank=True)
    hotels = serializers.ListField(child=serializers.CharField())
    scopes = serializers.ListField(child=serializers.CharField())
    expires_at = serializers.DateTimeField(allow_null=True)
