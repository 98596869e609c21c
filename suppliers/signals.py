"""Signals of the suppliers app: the nightly content sync's periodic task, made on migrate."""

from django.conf import settings
from django.db.models.signals import post_migrate
from django.dispatch import receiver

from pema.schedules import ensure_periodic_task


@receiver(post_migrate)
def ensure_content_schedule(sender, **kwargs) -> None:
    if getattr(sender, "name", "") != "suppliers":
        return
    ensure_periodic_task(
        name="Supplier content sync (delta)",
        task="suppliers.tasks.sync_all_content",
        every_minutes=settings.PEMA_SUPPLIER_CONTENT_SYNC_HOURS * 60,
        enabled=True,
    )
