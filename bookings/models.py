"""The hotel's own truth: hotels, rooms, rate plans, the ARI calendar, guests,
reservations and the change-event log that the integrations read."""

from __future__ import annotations

import zoneinfo
from datetime import date

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from pema.outbox import OutboxJob, OutboxLane

currency_validator = RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO 4217 code.")


def validate_timezone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"Unknown time zone {value!r}.") from exc


class Hotel(models.Model):
    """A property sold through Pema, with its local time zone, currency and policies."""

    class AvailabilityMaster(models.TextChoices):
        LOCAL = "local", "Pema (local calendar)"
        PMS = "pms", "The PMS (asked before every booking)"

    code = models.CharField(
        max_length=16,
        unique=True,
        validators=[RegexValidator(r"^[A-Z0-9_-]+$", "Upper-case letters, digits, - and _.")],
    )
    name = models.CharField(max_length=200)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    currency = models.CharField(max_length=3, default="INR", validators=[currency_validator])
    availability_master = models.CharField(
        max_length=8, choices=AvailabilityMaster.choices, default=AvailabilityMaster.LOCAL
    )
    address = models.TextField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    check_in_time = models.TimeField(default="14:00")
    check_out_time = models.TimeField(default="11:00")
    policies = models.TextField(blank=True)
    amenities = models.JSONField(default=list, blank=True)
    images = models.JSONField(default=list, blank=True)
    max_stay_nights = models.PositiveSmallIntegerField(
        default=30, validators=[MinValueValidator(1), MaxValueValidator(365)]
    )
    booking_window_days = models.PositiveSmallIntegerField(
        default=500, help_text="How far ahead guests may arrive."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def today(self) -> date:
        """The hotel-local date right now."""
        return timezone.now().astimezone(self.tz).date()


class RoomType(models.Model):
    """A sellable kind of room; ``code`` is the IDS room-type code shared by many rooms."""

    hotel = models.ForeignKey(Hotel, on_delete=models.CASCADE, related_name="room_types")
    code = models.CharField(max_length=16)
    name = models.CharField(max_length=120)
    category = models.CharField(max_length=120, blank=True)
    bed_type = models.CharField(max_length=60, blank=True)
    description = models.TextField(blank=True)
    base_occupancy = models.PositiveSmallIntegerField(
        default=2, help_text="Guests included in the price; extra guests pay the extra price."
    )
    max_adults = models.PositiveSmallIntegerField(default=2)
    max_children = models.PositiveSmallIntegerField(default=1)
    max_occupancy = models.PositiveSmallIntegerField(default=3)
    amenities = models.JSONField(default=list, blank=True)
    images = models.JSONField(default=list, blank=True)
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["hotel", "sort_order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["hotel", "code"], name="room_type_code_per_hotel")
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"


class Room(models.Model):
    """A physical room with its number; it belongs to exactly one room type."""

    class Housekeeping(models.TextChoices):
        CLEAN = "clean", "Clean"
        DIRTY = "dirty", "Dirty"
        INSPECTED = "inspected", "Inspected"
        OUT_OF_SERVICE = "out_of_service", "Out of service"
        OUT_OF_ORDER = "out_of_order", "Out of order"

    class Occupancy(models.TextChoices):
        VACANT = "vacant", "Vacant"
        OCCUPIED = "occupied", "Occupied"

    hotel = models.ForeignKey(Hotel, on_delete=models.CASCADE, related_name="rooms")
    number = models.CharField(max_length=16)
    room_type = models.ForeignKey(RoomType, on_delete=models.PROTECT, related_name="rooms")
    floor = models.CharField(max_length=8, blank=True)
    is_active = models.BooleanField(default=True)
    housekeeping_status = models.CharField(
        max_length=16, choices=Housekeeping.choices, default=Housekeeping.CLEAN
    )
    occupancy = models.CharField(max_length=8, choices=Occupancy.choices, default=Occupancy.VACANT)
    # The PMS's own id of the room, once a PMS sync matched it by number.
    pms_id = models.CharField("PMS id", max_length=64, blank=True)
    housekeeping_updated_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["hotel", "number"]
        constraints = [
            models.UniqueConstraint(fields=["hotel", "number"], name="room_number_per_hotel")
        ]

    def __str__(self) -> str:
        return f"Room {self.number} ({self.room_type.code})"

    def clean(self) -> None:
        if self.room_type_id and self.hotel_id and self.room_type.hotel_id != self.hotel_id:
            raise ValidationError({"room_type": "The room type belongs to another hotel."})
        self._check_calendar_allows_change()

    def _check_calendar_allows_change(self) -> None:
        """Deactivating or moving a room must not leave fewer rooms than are sold."""
        if not self.pk or not self.room_type_id:
            return
        before = Room.objects.filter(pk=self.pk).values("room_type_id", "is_active").first()
        if not before or not before["is_active"]:
            return
        if self.is_active and before["room_type_id"] == self.room_type_id:
            return
        problem = self.removal_conflict(before["room_type_id"])
        if problem:
            raise ValidationError(problem)

    def removal_conflict(self, room_type_id: int | None = None) -> str:
        """Why taking this room out of its type (or deleting it) would undersell, or ''."""
        from .inventory import inventory_conflicts

        if not self.is_active and room_type_id is None:
            return ""
        room_type = RoomType.objects.select_related("hotel").get(
            pk=room_type_id or self.room_type_id
        )
        remaining = room_type.rooms.filter(is_active=True).exclude(pk=self.pk).count()
        dates = inventory_conflicts(room_type, remaining, start=room_type.hotel.today())
        if not dates:
            return ""
        shown = ", ".join(d.isoformat() for d in dates[:5])
        return (
            f"Room {self.number}: {room_type.code} would have {remaining} rooms, fewer than are "
            f"already sold or blocked on {shown}. Move those reservations or blocks first."
        )


class RatePlan(models.Model):
    """A way of selling rooms (meals, cancellation terms); may be derived from a parent plan."""

    class MealPlan(models.TextChoices):
        ROOM_ONLY = "RO", "Room only"
        BREAKFAST = "BB", "Bed and breakfast"
        HALF_BOARD = "HB", "Half board"
        FULL_BOARD = "FB", "Full board"
        ALL_INCLUSIVE = "AI", "All inclusive"

    class Derivation(models.TextChoices):
        NONE = "", "Not derived"
        PERCENT = "percent", "Percent off the parent"
        AMOUNT = "amount", "Amount off the parent (minor units)"

    hotel = models.ForeignKey(Hotel, on_delete=models.CASCADE, related_name="rate_plans")
    code = models.CharField(max_length=32)
    name = models.CharField(max_length=120)
    currency = models.CharField(max_length=3, validators=[currency_validator])
    meal_plan = models.CharField(max_length=2, choices=MealPlan.choices, default=MealPlan.BREAKFAST)

    class CancellationFee(models.TextChoices):
        NIGHTS = "nights", "Nights (the first N nights of the stay)"
        PERCENT = "percent", "Percent of the total"

    refundable = models.BooleanField(default=True)
    free_cancellation_days = models.PositiveSmallIntegerField(
        default=1, help_text="Free cancellation until this many days before arrival."
    )
    cancellation_fee_type = models.CharField(
        max_length=8,
        choices=CancellationFee.choices,
        default=CancellationFee.NIGHTS,
        help_text="What a cancellation inside the free period costs (a refundable plan).",
    )
    cancellation_fee_value = models.PositiveSmallIntegerField(
        default=1, help_text="Nights, or percent (0-100), charged inside the free period."
    )
    prepayment_required = models.BooleanField(
        default=False,
        help_text="Booking-engine bookings pay online to confirm (always, if non-refundable).",
    )
    cancellation_policy = models.TextField(blank=True)
    room_types = models.ManyToManyField(RoomType, related_name="rate_plans")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="derived_plans"
    )
    derivation = models.CharField(
        max_length=8, choices=Derivation.choices, default=Derivation.NONE, blank=True
    )
    derivation_value = models.PositiveIntegerField(
        default=0, help_text="Percent (0-100) or amount in minor units taken off the parent price."
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["hotel", "code"]
        constraints = [
            models.UniqueConstraint(fields=["hotel", "code"], name="rate_plan_code_per_hotel")
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"

    def clean(self) -> None:
        if self.parent_id and not self.derivation:
            raise ValidationError({"derivation": "A derived plan needs a derivation."})
        if self.derivation == self.Derivation.PERCENT and self.derivation_value > 100:
            raise ValidationError({"derivation_value": "A percentage is at most 100."})
        if (
            self.cancellation_fee_type == self.CancellationFee.PERCENT
            and self.cancellation_fee_value > 100
        ):
            raise ValidationError({"cancellation_fee_value": "A percentage is at most 100."})
        seen, ancestor = {self.pk}, self.parent
        while ancestor is not None:
            if ancestor.pk in seen:
                raise ValidationError({"parent": "A plan cannot derive from itself."})
            seen.add(ancestor.pk)
            ancestor = ancestor.parent
        if self.parent_id and self.parent.hotel_id != self.hotel_id:
            raise ValidationError({"parent": "The parent plan belongs to another hotel."})

    @property
    def requires_prepayment(self) -> bool:
        """Whether a booking-engine booking must be paid online before it is confirmed."""
        return self.prepayment_required or not self.refundable

    def derive_price(self, parent_price: int | None) -> int | None:
        """This plan's price from its parent's, in minor units (rounded half up)."""
        if parent_price is None:
            return None
        if self.derivation == self.Derivation.PERCENT:
            return (parent_price * (100 - self.derivation_value) + 50) // 100
        if self.derivation == self.Derivation.AMOUNT:
            return max(parent_price - self.derivation_value, 0)
        return parent_price


class InventoryDay(models.Model):
    """Rooms of one type on one night: total, sold, blocked and stop sell.

    ``total`` follows the number of active rooms unless ``total_override`` is
    set. ``sold`` counts what the hotel sold itself and can never exceed what
    it has (a CHECK); OTA bookings taken past that count in ``overbooked``.
    """

    room_type = models.ForeignKey(RoomType, on_delete=models.CASCADE, related_name="inventory")
    date = models.DateField()
    total = models.PositiveSmallIntegerField(default=0)
    total_override = models.PositiveSmallIntegerField(null=True, blank=True)
    sold = models.PositiveSmallIntegerField(default=0)
    blocked = models.PositiveSmallIntegerField(default=0)
    overbooked = models.PositiveSmallIntegerField(default=0)
    stop_sell = models.BooleanField(default=False)

    class Meta:
        ordering = ["room_type", "date"]
        constraints = [
            models.UniqueConstraint(fields=["room_type", "date"], name="inventory_day_unique"),
            models.CheckConstraint(
                condition=Q(sold__gte=0) & Q(blocked__gte=0) & Q(overbooked__gte=0),
                name="inventory_day_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(total__gte=F("sold") + F("blocked")),
                name="inventory_day_never_oversold",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.room_type.code} {self.date}: {self.available}/{self.total}"

    @property
    def available(self) -> int:
        return max(self.total - self.sold - self.blocked, 0)


class RateDay(models.Model):
    """Price and restrictions of one rate plan for one room type on one date."""

    rate_plan = models.ForeignKey(RatePlan, on_delete=models.CASCADE, related_name="rate_days")
    room_type = models.ForeignKey(RoomType, on_delete=models.CASCADE, related_name="rate_days")
    date = models.DateField()
    price = models.PositiveIntegerField(null=True, blank=True, help_text="Minor units.")
    extra_adult_price = models.PositiveIntegerField(default=0)
    extra_child_price = models.PositiveIntegerField(default=0)
    min_stay_arrival = models.PositiveSmallIntegerField(default=1)
    min_stay_through = models.PositiveSmallIntegerField(default=1)
    max_stay = models.PositiveSmallIntegerField(null=True, blank=True)
    closed_to_arrival = models.BooleanField(default=False)
    closed_to_departure = models.BooleanField(default=False)
    stop_sell = models.BooleanField(default=False)

    class Meta:
        ordering = ["rate_plan", "room_type", "date"]
        constraints = [
            models.UniqueConstraint(
                fields=["rate_plan", "room_type", "date"], name="rate_day_unique"
            )
        ]
        indexes = [models.Index(fields=["room_type", "date"], name="rate_day_room_date")]

    def __str__(self) -> str:
        return f"{self.rate_plan.code}/{self.room_type.code} {self.date}"


class Guest(models.Model):
    """A guest of one hotel; one guest per e-mail address per hotel."""

    hotel = models.ForeignKey(Hotel, on_delete=models.CASCADE, related_name="guests")
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    country = models.CharField(
        max_length=2,
        blank=True,
        validators=[RegexValidator(r"^[A-Z]{2}$", "Two letters, ISO 3166 (e.g. IN).")],
        help_text="ISO 3166 alpha-2.",
    )
    # Database defaults too: upsert_guest inserts by hand and names only its own columns.
    loyalty_tier = models.CharField(max_length=40, blank=True, default="", db_default="")
    total_stays = models.PositiveIntegerField(default=0, db_default=0)
    # The PMS's own id of the guest profile, once a PMS sync merged it by e-mail.
    pms_id = models.CharField("PMS id", max_length=64, blank=True, default="", db_default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["last_name", "first_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["hotel", "email"],
                condition=~Q(email=""),
                name="guest_email_per_hotel",
            )
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class Reservation(models.Model):
    """A booking of one or more rooms for one stay, from any source."""

    class Status(models.TextChoices):
        CONFIRMED = "confirmed", "Confirmed"
        # Holds its rooms like a confirmed one until the payment settles or the hold expires.
        PENDING_PAYMENT = "pending_payment", "Awaiting payment"
        CANCELLED = "cancelled", "Cancelled"

    #: Statuses that hold rooms in the calendar.
    HOLDING = (Status.CONFIRMED, Status.PENDING_PAYMENT)

    class Source(models.TextChoices):
        STAFF = "staff", "Staff"
        BOOKING_ENGINE = "booking_engine", "Booking engine"
        OTA = "ota", "OTA"
        PMS = "pms", "PMS"

    hotel = models.ForeignKey(Hotel, on_delete=models.PROTECT, related_name="reservations")
    confirmation_number = models.CharField(max_length=32, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CONFIRMED)
    source = models.CharField(max_length=16, choices=Source.choices)
    source_channel = models.CharField(
        max_length=32, blank=True, help_text="Which OTA or PMS, e.g. booking_com."
    )
    external_id = models.CharField(max_length=64, blank=True)
    external_revision = models.CharField(max_length=64, blank=True)
    pms_reference = models.CharField(max_length=64, blank=True)
    guest = models.ForeignKey(Guest, on_delete=models.PROTECT, related_name="reservations")
    check_in = models.DateField()
    check_out = models.DateField()
    adults = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    children = models.PositiveSmallIntegerField(default=0)
    total_amount = models.PositiveIntegerField(help_text="Minor units.")
    currency = models.CharField(max_length=3, validators=[currency_validator])
    special_requests = models.TextField(blank=True)
    staff_notes = models.TextField(blank=True, help_text="For staff only; never sent to partners.")
    is_overbooked = models.BooleanField(
        default=False, help_text="Taken from an OTA past availability: staff must rehouse."
    )
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    hold_expires_at = models.DateTimeField(
        null=True, blank=True, help_text="A reservation awaiting payment is released after this."
    )
    cancellation_fee = models.PositiveIntegerField(
        null=True, blank=True, help_text="Minor units charged by the cancellation policy."
    )

    class Meta:
        ordering = ["-created_at"]
        permissions = [
            ("move_non_refundable", "Can change the dates of a non-refundable reservation"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(check_out__gt=F("check_in")), name="reservation_dates_ordered"
            ),
            models.UniqueConstraint(
                fields=["hotel", "source_channel", "external_id"],
                condition=~Q(external_id=""),
                name="reservation_external_id_per_channel",
            ),
        ]
        indexes = [
            models.Index(fields=["hotel", "check_in"], name="reservation_hotel_arrival"),
            models.Index(fields=["updated_at"], name="reservation_updated"),
        ]

    def __str__(self) -> str:
        return self.confirmation_number

    @property
    def nights(self) -> int:
        return (self.check_out - self.check_in).days


class ReservationRoom(models.Model):
    """One room of a reservation: its type, rate plan and guests."""

    reservation = models.ForeignKey(Reservation, on_delete=models.CASCADE, related_name="rooms")
    room_type = models.ForeignKey(RoomType, on_delete=models.PROTECT, related_name="+")
    rate_plan = models.ForeignKey(RatePlan, on_delete=models.PROTECT, related_name="+")
    room = models.ForeignKey(
        Room, null=True, blank=True, on_delete=models.SET_NULL, related_name="stays"
    )
    adults = models.PositiveSmallIntegerField()
    children = models.PositiveSmallIntegerField(default=0)
    total_amount = models.PositiveIntegerField()

    class Meta:
        ordering = ["reservation", "id"]

    def __str__(self) -> str:
        return f"{self.room_type.code}/{self.rate_plan.code}"


class RoomNight(models.Model):
    """The price of one night of one reserved room; ``overbooked`` if sold past availability."""

    stay = models.ForeignKey(ReservationRoom, on_delete=models.CASCADE, related_name="nights")
    date = models.DateField()
    price = models.PositiveIntegerField()
    overbooked = models.BooleanField(default=False)

    class Meta:
        ordering = ["stay", "date"]
        constraints = [models.UniqueConstraint(fields=["stay", "date"], name="room_night_unique")]
        # Revenue on the books reads the nights of a date range (the Today dashboard):
        # without it, every past year's nights are scanned.
        indexes = [models.Index(fields=["date"], name="room_night_date")]

    def __str__(self) -> str:
        return f"{self.date}: {self.price}"


class ChangeEvent(models.Model):
    """Append-only log of changes, written in the transaction that made them.

    It is the transactional outbox: integrations read it past their cursor.
    """

    class Kind(models.TextChoices):
        ARI_CHANGED = "ari.changed", "ARI changed"
        RESERVATION_CREATED = "reservation.created", "Reservation created"
        RESERVATION_MODIFIED = "reservation.modified", "Reservation modified"
        RESERVATION_CANCELLED = "reservation.cancelled", "Reservation cancelled"
        PMS_SYNC_COMPLETED = "pms.sync.completed", "PMS sync completed"
        PMS_BOOKING_SYNCED = "pms.booking.synced", "PMS booking synced"

    hotel = models.ForeignKey(Hotel, on_delete=models.CASCADE, related_name="change_events")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    reservation = models.ForeignKey(
        Reservation, null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    payload = models.JSONField(default=dict)
    source = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["hotel", "id"], name="change_event_hotel_cursor")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind}"


# --- Booking-engine API: keys, audit, idempotency, outbound webhooks ----------------


class ApiKey(models.Model):
    """A booking engine's credential: scoped to hotels and scopes, stored only as a hash.

    The key reads ``pema_<prefix>_<secret>``; ``prefix`` is kept in clear to find
    the row, the whole key only as its SHA-256. It is the object DRF puts in
    ``request.auth``: ``has_scope`` and ``hotel_ids`` answer for it.
    """

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    hotels = models.ManyToManyField(Hotel, related_name="api_keys")
    scopes = models.JSONField(default=list)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} (pema_{self.prefix}_…)"

    @property
    def is_active(self) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    @property
    def hotel_ids(self) -> frozenset[int]:
        """Ids of the hotels this key may see (cached on the instance for the request)."""
        cached = getattr(self, "_hotel_ids", None)
        if cached is None:
            cached = frozenset(self.hotels.values_list("id", flat=True))
            self._hotel_ids = cached
        return cached

    # DRF's throttles and permission checks treat request.auth as opaque; these
    # make the key usable where a user-like object is expected in logs.
    @property
    def is_authenticated(self) -> bool:
        return True


class ApiAuditLog(models.Model):
    """One API write call or failed authentication: who, what, the outcome and how long."""

    api_key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_logs"
    )
    key_prefix = models.CharField(max_length=16, blank=True)
    hotel = models.ForeignKey(
        Hotel, null=True, blank=True, on_delete=models.SET_NULL, related_name="api_audit_logs"
    )
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    status_code = models.PositiveSmallIntegerField()
    duration_ms = models.PositiveIntegerField(default=0)
    request_id = models.CharField(max_length=64, blank=True, db_index=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    request_body = models.TextField(blank=True)
    response_body = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API audit log entry"
        verbose_name_plural = "API audit log"

    def __str__(self) -> str:
        return f"{self.method} {self.path} → {self.status_code}"


class IdempotencyRecord(models.Model):
    """The stored answer to a write sent with an ``Idempotency-Key``, replayed on retries."""

    api_key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.CASCADE, related_name="idempotency"
    )
    # Staff sessions have no key; their records are scoped by user id instead.
    owner = models.CharField(max_length=64)
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(default=0)
    response_body = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "key"], name="idempotency_key_per_owner")
        ]

    def __str__(self) -> str:
        return f"{self.owner}:{self.key}"


class WebhookEndpoint(OutboxLane):
    """Where a hotel's booking events are POSTed, signed with ``secret``.

    ``last_event_id`` is the cursor in the ``ChangeEvent`` log past which no
    delivery has been created yet. The endpoint is the outbox's lane for its
    deliveries (``pema/outbox.py``): its lease lets one worker at a time deliver
    for it, so deliveries leave in event order, and it says whether the
    receiver is reachable.
    """

    EVENT_CHOICES = [
        ("booking.created", "booking.created"),
        ("booking.modified", "booking.modified"),
        ("booking.cancelled", "booking.cancelled"),
        ("pms.sync.completed", "pms.sync.completed"),
        ("pms.booking.synced", "pms.booking.synced"),
    ]

    hotel = models.ForeignKey(Hotel, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=100)
    events = models.JSONField(default=list, help_text="Event types sent; empty sends all.")
    is_active = models.BooleanField(default=True)
    last_event_id = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["hotel", "url"]

    def __str__(self) -> str:
        return f"{self.hotel.code} → {self.url}"

    def clean(self) -> None:
        known = {value for value, _ in self.EVENT_CHOICES}
        if not isinstance(self.events, list) or not all(
            isinstance(e, str) and e in known for e in self.events
        ):
            raise ValidationError(
                {"events": f"A list of event types, from: {', '.join(sorted(known))}."}
            )
        if len(self.secret or "") < 16:
            raise ValidationError({"secret": "Use a secret of at least 16 characters."})

    def wants(self, event_type: str) -> bool:
        # Rows written before validation existed may hold anything: treat junk as "all".
        events = self.events if isinstance(self.events, list) else []
        return not events or event_type in events


class WebhookDelivery(OutboxJob):
    """One event for one endpoint, with its attempts (each one kept in ``attempt_log``).

    An outbox row (``pema.outbox.OutboxJob``): an endpoint's deliveries form one
    stream, sent in event order; a failing one is retried until its
    ``retry_until`` and ``dead_reason`` says why a dead one was given up.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Delivered"
        DEAD = "dead", "Given up"

    DONE = Status.SUCCEEDED
    STREAM = "events"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(ChangeEvent, on_delete=models.CASCADE, related_name="+")
    # One stream per endpoint: every delivery waits for the endpoint's earlier ones.
    stream = models.CharField(max_length=40, default=STREAM, editable=False)
    event_type = models.CharField(max_length=32)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_response = models.TextField(blank=True)
    attempt_log = models.JSONField(default=list)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["endpoint", "event_id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="webhook_delivery_once")
        ]
        indexes = [
            models.Index(fields=["endpoint", "status", "event"], name="webhook_delivery_queue")
        ]

    def __str__(self) -> str:
        return f"{self.event_type} #{self.event_id} → {self.endpoint_id} ({self.status})"


class RoomBlock(models.Model):
    """Rooms of one type held back from sale for a range of nights, by staff or a partner.

    ``start``..``end`` are nights like a stay (``end`` is the morning after
    the last night). ``nights`` lists the nights the block holds a room
    (``InventoryDay.blocked`` counts it); a night with no room free when the
    block was placed is in ``short_nights`` instead: the block is accepted, and
    staff see what it could not hold. A partner's block carries its own id in
    ``external_id``; ``released_at`` is set when it is freed. A block of one
    named room (a PMS's room out of order) has ``room``; a room has at most one
    active block.
    """

    hotel = models.ForeignKey(Hotel, on_delete=models.CASCADE, related_name="room_blocks")
    room_type = models.ForeignKey(RoomType, on_delete=models.CASCADE, related_name="blocks")
    room = models.ForeignKey(
        Room, on_delete=models.CASCADE, related_name="blocks", null=True, blank=True
    )
    start = models.DateField()
    end = models.DateField()
    nights = models.JSONField(default=list, blank=True)
    short_nights = models.JSONField(default=list, blank=True)
    source = models.CharField(max_length=32)
    source_channel = models.CharField(max_length=32, blank=True)
    external_id = models.CharField(max_length=64, blank=True)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["hotel", "start"]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="room_block_has_nights"),
            models.UniqueConstraint(
                fields=["room"],
                condition=Q(released_at__isnull=True, room__isnull=False),
                name="room_block_active_once",
            ),
        ]
        indexes = [
            models.Index(
                fields=["hotel", "source_channel", "external_id"],
                name="room_block_partner",
                condition=Q(released_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        who = self.source_channel or self.source
        what = f"Room {self.room.number}" if self.room_id else self.room_type.code
        return f"{what} {self.start}..{self.end} ({who})"

    @property
    def active(self) -> bool:
        return self.released_at is None
