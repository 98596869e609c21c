"""Wake the dispatcher when a change commits, or when a connection is enabled.

``bookings`` writes a ``ChangeEvent`` in the transaction of every change; we
listen for it here (``bookings`` never imports us) and, once the transaction
commits, ask a worker to dispatch. Nothing is sent before the commit, and a
rolled-back change wakes nobody. Saving an enabled connection wakes it too, so
a new one gets its first full sync without waiting for the minute sweep.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_delete, post_migrate, post_save
from django.dispatch import receiver

from bookings.models import ChangeEvent


@receiver(post_save, sender=ChangeEvent, dispatch_uid="channels-wake-dispatcher")
def wake_dispatcher(sender, instance: ChangeEvent, created: bool, raw: bool = False, **kwargs):
    if not created or raw:
        return
    from pema.sql import row_exists

    from .models import Connection
    from .tasks import dispatch_hotel, enqueue

    hotel_id = instance.hotel_id

    def wake() -> None:
        # A hand-built EXISTS: this runs after every committed change, on the request's thread.
        if row_exists(Connection, hotel_id=hotel_id, enabled=True):
            enqueue(dispatch_hotel, hotel_id)

    transaction.on_commit(wake)


@receiver(post_save, sender="channels.Connection", dispatch_uid="channels-wake-on-enable")
def wake_on_enable(sender, instance, raw: bool = False, update_fields=None, **kwargs):
    """A connection saved enabled is dispatched at once (its first pass sends the calendar)."""
    if raw or not instance.enabled:
        return
    if update_fields is not None and "enabled" not in update_fields:
        return  # the delivery machinery's own saves (lease, cursor) wake nobody
    from .tasks import dispatch_hotel, enqueue

    hotel_id = instance.hotel_id
    transaction.on_commit(lambda: enqueue(dispatch_hotel, hotel_id))


@receiver(post_save, sender="channels.Connection", dispatch_uid="channels-pull-schedule")
def schedule_pulls(sender, instance, raw: bool = False, update_fields=None, **kwargs):
    """A connection whose partner is pulled gets its beat entry, however it was made
    (the admin, a command); a disabled connection's entry finds nothing to do."""
    if raw or update_fields is not None:
        return  # the delivery machinery's own saves
    from .pull import ensure_pull_schedule

    try:
        ensure_pull_schedule(instance)
    except KeyError:
        return  # a provider no longer registered: Connection.clean says so to staff


@receiver(post_save, sender="channels.Connection", dispatch_uid="channels-full-sync-schedule")
def schedule_full_syncs(sender, instance, raw: bool = False, update_fields=None, **kwargs):
    """A provider sent ARI gets a periodic full sync with its first such connection.

    Changes only mark the days they touch, so a day that comes inside a
    partner's window (Booking.com sells 365 days of a longer calendar) would
    otherwise never be sent. A provider with its own entry (IDS Next's) keeps it.
    """
    if raw or update_fields is not None or not (instance.enabled and instance.push_ari):
        return
    import json

    from django.conf import settings
    from django_celery_beat.models import PeriodicTask

    from pema.schedules import ensure_periodic_task

    task = "channels.tasks.full_sync_provider"
    args = [instance.provider]
    if PeriodicTask.objects.filter(task=task, args=json.dumps(args)).exists():
        return
    ensure_periodic_task(
        name=f"channels: full sync of every {instance.provider} connection",
        task=task,
        every_minutes=settings.CHANNELS_FULL_SYNC_MINUTES,
        enabled=True,
        args=args,
    )


@receiver(post_delete, sender="channels.Connection", dispatch_uid="channels-pull-unschedule")
def unschedule_pulls(sender, instance, **kwargs):
    from django_celery_beat.models import PeriodicTask

    from .pull import pull_task_name

    PeriodicTask.objects.filter(name=pull_task_name(instance)).delete()


def ensure_sweep_schedule(**kwargs) -> None:
    """The minute sweep as a django-celery-beat PeriodicTask (created once, editable)."""
    from pema.schedules import ensure_periodic_task

    ensure_periodic_task(
        name="channels: sweep outbox",
        task="channels.tasks.sweep",
        every_minutes=1,
        enabled=True,
    )


post_migrate.connect(ensure_sweep_schedule, dispatch_uid="channels-sweep-schedule")
