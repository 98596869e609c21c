"""Deleting a SystemBackup removes its file, however it is deleted (one, a queryset, a prune)."""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from .models import SystemBackup


@receiver(post_delete, sender=SystemBackup, dispatch_uid="backups.delete_file")
def delete_backup_file(sender, instance: SystemBackup, **kwargs) -> None:
    # Only once the deletion is committed: a rolled-back delete keeps its file.
    from .service import delete_file

    name = instance.file_name
    transaction.on_commit(lambda: delete_file(name))
