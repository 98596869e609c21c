"""The PMS sync log: one row per sync run of one connection and one entity."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class PmsSyncLog(models.Model):
    """One sync run: what it read (bookings, rooms or guests), how it was started, how it
    ended, how many items it processed and failed, how long it took, and the correlation id
    that ties it to the request or webhook that started it."""

    class Entity(models.TextChoices):
        BOOKING = "booking", "Bookings"
        ROOM = "room", "Rooms"
        GUEST = "guest", "Guests"

    class Operation(models.TextChoices):
        FETCH = "fetch", "Fetch (schedule)"
        WEBHOOK = "webhook", "Webhook"
        MANUAL = "manual", "Manual (staff)"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"

    connection = models.ForeignKey(
        "channels.Connection", on_delete=models.CASCADE, related_name="pms_sync_logs"
    )
    entity = models.CharField(max_length=8, choices=Entity.choices)
    operation = models.CharField(max_length=8, choices=Operation.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    processed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    duration_ms = models.PositiveIntegerField(default=0)
    correlation_id = models.CharField(max_length=64, blank=True, db_index=True)
    since = models.DateTimeField(null=True, blank=True, help_text="Changes since (empty: all).")
    limit = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    summary = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "PMS sync log"
        indexes = [models.Index(fields=["connection", "entity", "-id"], name="pmssync_recent")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.entity} {self.operation} ({self.status})"
