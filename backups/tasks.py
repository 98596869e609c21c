"""Celery tasks of the backups app: thin wrappers over ``backups.service``.

Tasks take ids, are idempotent (a backup already succeeded is left alone) and
acknowledge late, so a worker lost mid-backup has the task run again.
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from pema import progress

from . import service
from .models import SystemBackup


@shared_task(name="backups.run_backup", acks_late=True)
def run_backup(backup_id: int, progress_token: str | None = None) -> str:
    """Make the file of a recorded backup; nothing to do if it already succeeded.

    ``progress_token`` names the ``pema.progress`` record the admin page follows."""
    try:
        backup = SystemBackup.objects.get(pk=backup_id)
    except SystemBackup.DoesNotExist:
        progress.fail(progress_token, f"Backup #{backup_id} no longer exists.")
        return "missing"
    if backup.status == SystemBackup.Status.SUCCEEDED:
        progress.finish(progress_token, f"{backup} was already made.")
        return "already done"
    try:
        service.run_backup(backup, progress_factory=progress.reporter(progress_token))
    except service.BackupError as exc:
        # Recorded on the SystemBackup; retrying a full backup blindly would not help.
        progress.fail(progress_token, str(exc))
        return f"failed: {exc}"
    progress.finish(progress_token, f"{backup} is made: {backup.rows:,} rows.")
    return "succeeded"


@shared_task(name="backups.restore_backup", acks_late=False)
def restore_backup(backup_id: int, mode: str, progress_token: str | None = None) -> str:
    """Restore a backup started from the admin. Not acknowledged late: a restore lost
    with its worker is rolled back by the database, and must not run again unasked."""
    try:
        backup = SystemBackup.objects.get(pk=backup_id, status=SystemBackup.Status.SUCCEEDED)
    except SystemBackup.DoesNotExist:
        progress.fail(progress_token, f"Backup #{backup_id} is not a finished backup.")
        return "missing"
    try:
        report = service.restore(
            backup, mode=mode, progress_factory=progress.reporter(progress_token)
        )
    except service.BackupError as exc:
        progress.fail(progress_token, str(exc))
        return f"failed: {exc}"
    progress.finish(
        progress_token, f"Restored {backup} ({mode}): {report.rows_written:,} rows written."
    )
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
