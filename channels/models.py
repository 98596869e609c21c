"""The channel manager's state: connections to external systems, the delivery
outbox (``SyncJob``), the per-connection record of events already turned into
jobs, and the log of every call (``SyncLog``)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from pema.crypto import EncryptedJSONField

from .providers import provider_choices, provider_class


class Connection(models.Model):
    """A hotel's link to one external system (a PMS or an OTA) through one provider."""

    hotel = models.ForeignKey(
        "bookings.Hotel", on_delete=models.CASCADE, related_name="connections"
    )
    provider = models.CharField(max_length=32, choices=provider_choices())
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
    lease_owner = models.CharField(max_length=64, blank=True, editable=False)
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    last_full_sync_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Set by a failure that says the partner cannot be reached; cleared by its next answer.
    unreachable_since = models.DateTimeField(null=True, blank=True, editable=False)
    unreachable_checked_at = models.DateTimeField(null=True, blank=True, editable=False)
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

    def map_room_type(self, code: str) -> str:
        return self.room_type_map.get(code, code)

    def map_rate_plan(self, code: str) -> str:
        return self.rate_plan_map.get(code, code)


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


def default_retry_until():
    """The end of a new job's retry window (``CHANNELS_RETRY_MAX_AGE`` from now)."""
    return timezone.now() + timedelta(seconds=settings.CHANNELS_RETRY_MAX_AGE)


class SyncJob(models.Model):
    """One message to deliver to a connection: the outbox row a worker sends.

    Jobs of one ``stream`` run in id order: ``ari`` for the calendar, and one
    stream per reservation (``res:<id>``), so a stuck reservation never holds
    up ARI or other reservations. Transient failures are retried until
    ``retry_until``; ``dead_reason`` says why a dead job was given up.
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

    class DeadReason(models.TextChoices):
        PERMANENT = "permanent", "Permanent error"
        EXPIRED = "expired", "Retry window ended"
        INTERRUPTED = "interrupted", "Interrupted its worker"

    ARI_STREAM = "ari"

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="jobs")
    stream = models.CharField(max_length=40)
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
    attempts = models.PositiveSmallIntegerField(default=0)
    retry_until = models.DateTimeField(default=default_retry_until)
    dead_reason = models.CharField(max_length=12, choices=DeadReason.choices, blank=True)
    # Set while a try is in flight; still set when the job is picked up again means its
    # worker died during the call.
    attempt_started_at = models.DateTimeField(null=True, blank=True)
    interrupted_attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

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
