"""Celery tasks of the backups app: thin wrappers over ``backups.service``.

Tasks take ids, are idempotent (a backup already succeeded is left alone) and
acknowledge late, so a worker lost mid-backup has the task run again.
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from . import service
from .models import SystemBackup


@shared_task(name="backups.run_backup", acks_late=True)
def run_backup(backup_id: int) -> str:
    """Make the file of a recorded backup; nothing to do if it already succeeded."""
    try:
        backup = SystemBackup.objects.get(pk=backup_id)
    except SystemBackup.DoesNotExist:
        return "missing"
    if backup.status == SystemBackup.Status.SUCCEEDED:
        return "already done"
    try:
        service.run_backup(backup)
    except service.BackupError as exc:
        # Recorded on the SystemBackup; retrying a full backup blindly would not help.
        return f"failed: {exc}"
    return "succeeded"


@shared_task(name="backups.prune_backups", acks_late=True)
def prune_backups() -> str:
    """Delete the backups the keep rules (settings BACKUP_KEEP_*) no longer keep."""
    result = service.prune(
        keep_daily=settings.BACKUP_KEEP_DAILY,
        keep_weekly=settings.BACKUP_KEEP_WEEKLY,
        keep_monthly=settings.BACKUP_KEEP_MONTHLY,
    )
    return f"kept {len(result.kept)}, deleted {len(result.deleted)}"


@shared_task(name="backups.nightly_backup", acks_late=True)
def nightly_backup() -> str:
    """The scheduled job: a full backup, then pruning (only if the backup succeeded)."""
    backup = service.start_backup(kind=SystemBackup.Kind.SCHEDULED)
    outcome = run_backup(backup.pk)
    if outcome != "succeeded":
        return outcome
    return f"{outcome}; {prune_backups()}"
