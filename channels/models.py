"""The channel manager's state: connections to external systems, their product
mappings (``ChannelProduct``), the delivery outbox (``SyncJob``), the
per-connection record of events already turned into jobs, the log of every
call (``SyncLog``) and every reservation message received (``InboundMessage``)."""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from pema.crypto import EncryptedJSONField
from pema.outbox import OutboxJob, OutboxLane
from pema.outbox import default_retry_until as default_retry_until  # migration 0003 names it

from .providers import provider_choices, provider_class


class Connection(OutboxLane):
    """A hotel's link to one external system (a PMS or an OTA) through one provider.

    It is the outbox's lane for its jobs (``pema/outbox.py``): the delivery lease and
    whether the partner is reachable live on this row.
    """

    hotel = models.ForeignKey(
        "bookings.Hotel", on_delete=models.CASCADE, related_name="connections"
    )
    provider = models.CharField(max_length=32, choices=provider_choices)
    name = models.CharField(max_length=100)
    base_url = models.URLField(max_length=300)
    enabled = models.BooleanField(default=True)
    push_ari = models.BooleanField("push ARI", default=True)
    export_reservations = models.BooleanField(default=True)
    check_availability = models.BooleanField(
        default=True, help_text="Ask this system before a booking when it is the master."
    )
    settings = models.JSONField(
        default=dict, blank=True, help_text="Provider settings, e.g. the hotel code."
    )
    credentials = EncryptedJSONField(default=dict, blank=True, editable=False)
    # The secret-free address of the connection's webhook: /hooks/<uuid>/.
    uuid = models.UUIDField("webhook id", default=uuid.uuid4, unique=True, editable=False)
    reject_held = models.BooleanField(
        "reject held reservations",
        default=False,
        help_text="Actively reject inbound reservations Pema holds (e.g. an unmapped room) "
        "instead of leaving them unacknowledged at the partner.",
    )
    room_type_map = models.JSONField(
        default=dict,
        blank=True,
        help_text="Pema room-type code -> partner code (identity when absent).",
    )
    rate_plan_map = models.JSONField(
        default=dict,
        blank=True,
        help_text="Pema rate-plan code -> partner code (identity when absent).",
    )
    # Every ChangeEvent with id <= event_cursor has been turned into jobs.
    event_cursor = models.BigIntegerField(default=0)
    last_full_sync_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["hotel", "name"]
        constraints = [
            models.UniqueConstraint(fields=["hotel", "name"], name="connection_name_per_hotel")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_provider_display()})"

    def clean(self) -> None:
        try:
            cls = provider_class(self.provider)
        except KeyError as exc:
            raise ValidationError({"provider": "Unknown provider."}) from exc
        errors = cls.validate_settings(self.settings or {})
        if errors:
            raise ValidationError({"settings": errors})

    def get_provider(self):
        """An instance of this connection's provider class."""
        return provider_class(self.provider)(self)

    @property
    def hook_path(self) -> str:
        """Where this connection's partner pushes reservations."""
        return f"/hooks/{self.uuid}/"

    def map_room_type(self, code: str) -> str:
        return self.room_type_map.get(code, code)

    def map_rate_plan(self, code: str) -> str:
        return self.rate_plan_map.get(code, code)


class ChannelProduct(models.Model):
    """One product a connection sells: a room type (the room-level product, with no
    rate plan, which carries rooms to sell) or a room type x rate plan (prices and
    restrictions), with the partner's ids for it.

    Unique both ways: one row per local product and one per partner product, so
    a partner id resolves to exactly one local product and back. A connection
    without rows maps by code (``room_type_map``/``rate_plan_map``, identity when
    absent). An inactive row is not sent, but still resolves a reservation the
    partner sends for it.
    """

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="products")
    room_type = models.ForeignKey("bookings.RoomType", on_delete=models.CASCADE, related_name="+")
    rate_plan = models.ForeignKey(
        "bookings.RatePlan",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Empty: the room-level product (rooms to sell).",
    )
    partner_room_id = models.CharField(max_length=64)
    partner_rate_id = models.CharField(
        max_length=64, blank=True, help_text="The partner's rate id; empty for the room level."
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["connection", "room_type", "rate_plan"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "room_type"],
                condition=Q(rate_plan__isnull=True),
                name="channel_product_room_level_once",
            ),
            models.UniqueConstraint(
                fields=["connection", "room_type", "rate_plan"],
                condition=Q(rate_plan__isnull=False),
                name="channel_product_local_once",
            ),
            models.UniqueConstraint(
                fields=["connection", "partner_room_id", "partner_rate_id"],
                name="channel_product_partner_once",
            ),
        ]

    def __str__(self) -> str:
        ours = self.room_type.code + (f"/{self.rate_plan.code}" if self.rate_plan_id else "")
        theirs = self.partner_room_id + (f"/{self.partner_rate_id}" if self.partner_rate_id else "")
        return f"{ours} = {theirs}"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        self.partner_room_id = (self.partner_room_id or "").strip()
        self.partner_rate_id = (self.partner_rate_id or "").strip()
        if not self.partner_room_id:
            errors["partner_room_id"] = "The partner's room id is required."
        if self.rate_plan_id and not self.partner_rate_id:
            errors["partner_rate_id"] = "A room x rate product needs the partner's rate id."
        if not self.rate_plan_id and self.partner_rate_id:
            errors["partner_rate_id"] = (
                "The room-level product has no rate id; choose a rate plan for this rate."
            )
        try:
            hotel_id = self.connection.hotel_id
        except Connection.DoesNotExist:  # an inline row of a connection not saved yet
            hotel_id = None
        if hotel_id and self.room_type_id and self.room_type.hotel_id != hotel_id:
            errors["room_type"] = "Choose a room type of the connection's hotel."
        if self.rate_plan_id and self.room_type_id:
            plan = self.rate_plan
            if hotel_id and plan.hotel_id != hotel_id:
                errors["rate_plan"] = "Choose a rate plan of the connection's hotel."
            elif not plan.room_types.filter(pk=self.room_type_id).exists():
                errors["rate_plan"] = f"{plan.code} does not sell {self.room_type.code}."
        if self.connection_id and self.room_type_id and self.partner_room_id:
            # One partner room id per room type, so a partner room means one room type.
            others = ChannelProduct.objects.filter(connection_id=self.connection_id).exclude(
                pk=self.pk
            )
            clash = (
                others.filter(partner_room_id=self.partner_room_id)
                .exclude(room_type_id=self.room_type_id)
                .select_related("room_type")
                .first()
            )
            if clash:
                errors["partner_room_id"] = (
                    f"The partner's room {self.partner_room_id!r} is mapped to "
                    f"{clash.room_type.code} already."
                )
            clash = (
                others.filter(room_type_id=self.room_type_id)
                .exclude(partner_room_id=self.partner_room_id)
                .first()
            )
            if clash:
                errors["partner_room_id"] = (
                    f"{self.room_type.code} is the partner's room {clash.partner_room_id!r} "
                    "on this connection already."
                )
        if errors:
            raise ValidationError(errors)


class ProcessedEvent(models.Model):
    """A ChangeEvent past the cursor already turned into jobs for a connection.

    The cursor only moves past events old enough that no lower id can still be
    in flight; until then these rows stop an event from being handled twice.
    """

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="+")
    event = models.ForeignKey("bookings.ChangeEvent", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "event"], name="processed_event_once")
        ]

    def __str__(self) -> str:
        return f"{self.connection_id}:{self.event_id}"


class SyncJob(OutboxJob):
    """One message to deliver to a connection: the outbox row a worker sends.

    Jobs of one ``stream`` run in id order: ``ari`` for the calendar, and one
    stream per reservation (``res:<id>``), so a stuck reservation never holds
    up ARI or other reservations. Transient failures are retried until
    ``retry_until``; ``dead_reason`` says why a dead job was given up (the
    fields the engine keeps come from ``pema.outbox.OutboxJob``).
    """

    class Kind(models.TextChoices):
        AVAILABILITY = "availability", "Availability and restrictions"
        RATES = "rates", "Rates"
        RES_CREATE = "res_create", "Reservation create"
        RES_MODIFY = "res_modify", "Reservation modify"
        RES_CANCEL = "res_cancel", "Reservation cancel"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Delivered"
        SKIPPED = "skipped", "Skipped"
        DEAD = "dead", "Dead"

    ARI_STREAM = "ari"

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="jobs")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    payload = models.JSONField(default=dict, blank=True)
    reservation = models.ForeignKey(
        "bookings.Reservation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    event = models.ForeignKey(
        "bookings.ChangeEvent", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    items = models.PositiveIntegerField(default=0, help_text="Status messages or rooms carried.")

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["connection", "stream", "id"],
                name="syncjob_open_stream",
                condition=Q(status__in=["pending", "dead"]),
            ),
            models.Index(fields=["status", "next_attempt_at"], name="syncjob_due"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} ({self.status})"

    @property
    def message_id(self) -> str:
        """EchoToken of the message: stable across retries, so the partner can spot a repeat."""
        return f"pema-{self.connection_id}-{self.pk}"


class SyncLog(models.Model):
    """One call to a partner: what was sent, what came back, how long it took."""

    class Status(models.TextChoices):
        SUCCESS = "success", "Success"
        WARNING = "warning", "Success with warnings"
        ERROR = "error", "Error"

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="logs")
    job = models.ForeignKey(
        SyncJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="logs"
    )
    operation = models.CharField(max_length=48)
    status = models.CharField(max_length=8, choices=Status.choices)
    items = models.PositiveIntegerField(default=0)
    duration_ms = models.PositiveIntegerField(default=0)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    request = models.TextField(blank=True)
    response = models.TextField(blank=True)
    error = models.TextField(blank=True)
    correlation_id = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["connection", "-id"], name="synclog_connection_recent")]

    def __str__(self) -> str:
        return f"{self.operation} {self.status}"


class InboundMessage(models.Model):
    """One reservation message from a partner, stored raw before anything is done with it.

    Applied at most once per (connection, partner reservation id, revision):
    the same revision delivered again is this row again. ``payload`` is the
    message as the provider parsed it (what is applied, and re-applied on a
    retry); ``parsed`` is a JSON view of ``raw_body`` for people. ``status``
    says where it stands; a held message says why in ``error_code`` and
    ``error`` and waits for staff. ``ack_*`` track the acknowledgement owed to
    the partner (only when ``ack_token`` is set), sent only after the commit.
    """

    class Kind(models.TextChoices):
        NEW = "new", "New"
        MODIFY = "modify", "Modify"
        CANCEL = "cancel", "Cancel"
        UNKNOWN = "", "Unreadable"

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        APPLIED = "applied", "Applied"
        HELD = "held", "Held for staff"
        FAILED = "failed", "Failed"
        SUPERSEDED = "superseded", "Superseded by a newer revision"

    class AckResult(models.TextChoices):
        NONE = "", "Not yet"
        ACCEPTED = "accepted", "Acknowledged"
        REJECTED = "rejected", "Rejected to the partner"
        FAILED = "failed", "Acknowledgement given up"

    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="inbound_messages"
    )
    partner_reservation_id = models.CharField(max_length=64)
    revision = models.CharField(max_length=128)
    kind = models.CharField(max_length=8, choices=Kind.choices, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RECEIVED)
    error_code = models.CharField(max_length=40, blank=True)
    error = models.TextField(blank=True)
    raw_body = models.TextField(blank=True)
    parsed = models.JSONField(null=True, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    revised_at = models.DateTimeField(help_text="When the partner made this revision.")
    reservation = models.ForeignKey(
        "bookings.Reservation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="inbound_messages",
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    deliveries = models.PositiveIntegerField(
        default=1, help_text="How many times the partner sent this revision."
    )
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    ack_token = models.CharField(max_length=200, blank=True)
    # The sender's id of the request that carried it (a PMS webhook's x-correlation-id).
    correlation_id = models.CharField(max_length=64, blank=True)
    ack_result = models.CharField(
        max_length=8, choices=AckResult.choices, default=AckResult.NONE, blank=True
    )
    acked_at = models.DateTimeField(null=True, blank=True)
    ack_attempts = models.PositiveSmallIntegerField(default=0)
    ack_error = models.TextField(blank=True)
    next_ack_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "partner_reservation_id", "revision"],
                name="inbound_message_once",
            )
        ]
        indexes = [
            models.Index(fields=["status", "received_at"], name="inbound_status"),
            models.Index(
                fields=["connection", "next_ack_at"],
                name="inbound_ack_due",
                condition=Q(acked_at__isnull=True) & ~Q(ack_token=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.partner_reservation_id} {self.kind} r{self.revision} ({self.status})"
