"""The record of every backup Pema made: its file, what it holds and how it went."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class SystemBackup(models.Model):
    """One backup file in the ``backups`` storage, with its manifest and outcome.

    The table is never itself backed up or restored (see ``backups.registry``):
    restoring an old backup must not forget the backups made since.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    class Kind(models.TextChoices):
        MANUAL = "manual", "Manual"
        SCHEDULED = "scheduled", "Scheduled"

    file_name = models.CharField(max_length=255, blank=True, help_text="Name in the storage.")
    size = models.BigIntegerField(default=0, help_text="Bytes.")
    checksum = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the payload.")
    counts = models.JSONField(default=dict, blank=True, help_text="Rows per model.")
    manifest = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.MANUAL)
    apps = models.JSONField(
        default=list, blank=True, help_text="App labels included; empty means all."
    )
    exclude_audit = models.BooleanField(default=False)
    compressed = models.BooleanField(default=True)
    encrypted = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Text, not a foreign key: backups depends on no other app, and the record of
    # who asked must outlive the key (a revoked or deleted key keeps its name here).
    created_by_key = models.CharField(
        max_length=150,
        blank=True,
        help_text="The API key that asked for the backup (its name and prefix), if a key did.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("download_systembackup", "Can download backup files"),
            ("restore_systembackup", "Can restore the database from a backup"),
        ]

    def __str__(self) -> str:
        return self.file_name or f"Backup #{self.pk}"

    @property
    def rows(self) -> int:
        return sum(self.counts.values()) if self.counts else 0
