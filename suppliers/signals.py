"""Signals of the suppliers app: the nightly content sync's periodic task, made on migrate;
the remembered list of enabled suppliers forgotten when one changes."""

from django.conf import settings
from django.db.models.signals import post_delete, post_migrate, post_save
from django.dispatch import receiver

from pema.schedules import ensure_periodic_task

from .models import Supplier
from .search import forget_enabled_codes


@receiver(post_save, sender=Supplier)
@receiver(post_delete, sender=Supplier)
def supplier_changed(sender, **kwargs) -> None:
    """This process sees an enabled or disabled supplier at once (others within seconds)."""
    forget_enabled_codes()


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
