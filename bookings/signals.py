"""Model signals of the bookings app.

Keep the calendar's room counts in step when rooms are added, moved,
(de)activated or removed; invalidate cached availability answers when
anything they are made of changes; forget remembered API keys when a key
changes.
"""

from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save, pre_save
from django.dispatch import receiver

from pema.schedules import ensure_periodic_task
from pema.signals import database_restored

from .api_keys import forget_checked_keys
from .availability_cache import ari_changed
from .inventory import calendar_horizon, ensure_calendar, refresh_room_type_totals
from .models import (
    ApiKey,
    ChangeEvent,
    Hotel,
    InventoryDay,
    RateDay,
    RatePlan,
    Room,
    RoomType,
)


@receiver(pre_save, sender=Room)
def remember_previous_room_type(sender, instance: Room, raw=False, **kwargs):
    if raw or not instance.pk:
        instance._previous_room_type_id = None
        return
    instance._previous_room_type_id = (
        Room.objects.filter(pk=instance.pk).values_list("room_type_id", flat=True).first()
    )


@receiver(post_save, sender=Room)
@receiver(post_delete, sender=Room)
def follow_room_count(sender, instance: Room, raw=False, **kwargs):
    if raw:  # fixtures and backup restores load the calendar as it was
        return
    ids = {instance.room_type_id, getattr(instance, "_previous_room_type_id", None)} - {None}
    for room_type in RoomType.objects.filter(pk__in=ids).select_related("hotel"):
        refresh_room_type_totals(room_type)


@receiver(post_save, sender=ChangeEvent)
def event_changes_availability(sender, instance: ChangeEvent, created=False, **kwargs):
    # Every ARI change and every reservation created, modified or cancelled writes one.
    if created:
        ari_changed(instance.hotel_id)


@receiver(post_save, sender=Hotel)
@receiver(post_delete, sender=Hotel)
def hotel_changes_availability(sender, instance: Hotel, **kwargs):
    ari_changed(instance.pk)
    forget_checked_keys()  # keys remember their hotels


@receiver(post_save, sender=RoomType)
@receiver(post_delete, sender=RoomType)
@receiver(post_save, sender=RatePlan)
@receiver(post_delete, sender=RatePlan)
def catalogue_changes_availability(sender, instance, **kwargs):
    ari_changed(instance.hotel_id)


@receiver(m2m_changed, sender=RatePlan.room_types.through)
def plan_room_types_change_availability(sender, instance, action: str, **kwargs):
    if action.startswith("post_"):
        ari_changed(instance.hotel_id)


@receiver(post_save, sender=InventoryDay)
@receiver(post_save, sender=RateDay)
def calendar_row_changes_availability(sender, instance, **kwargs):
    # Calendar rows saved one by one (the admin, fixtures); bulk paths call ari_changed.
    # No post_delete receiver: rows go only with their room type, rate plan or hotel,
    # whose own signals bump, and a receiver would stop Django's fast cascade delete.
    hotel_id = (
        RoomType.objects.filter(pk=instance.room_type_id).values_list("hotel_id", flat=True).first()
    )
    ari_changed(hotel_id)


@receiver(post_save, sender=ApiKey)
@receiver(post_delete, sender=ApiKey)
@receiver(m2m_changed, sender=ApiKey.hotels.through)
def key_changed(sender, **kwargs):
    forget_checked_keys()


@receiver(post_save, sender=RoomType)
def give_new_room_types_a_calendar(sender, instance: RoomType, created=False, raw=False, **kwargs):
    if created and not raw:
        ensure_calendar(instance.hotel, *calendar_horizon(instance.hotel))


@receiver(m2m_changed, sender=RatePlan.room_types.through)
def give_rate_plans_their_rate_rows(sender, instance, action: str, reverse=False, **kwargs):
    # Rate rows for each room type a plan starts to sell (from either side of the relation).
    if action == "post_add":
        ensure_calendar(instance.hotel, *calendar_horizon(instance.hotel))


@receiver(database_restored, dispatch_uid="bookings-restored")
def restored_database_changes_everything(sender, **kwargs):
    # A restore writes rows past the model signals: every cached answer and
    # remembered key may be stale now.
    for hotel_id in Hotel.objects.values_list("id", flat=True):
        ari_changed(hotel_id)
    forget_checked_keys()


def sync_groups_after_migrate(sender, **kwargs):
    from .staff_groups import sync_staff_groups

    sync_staff_groups()
    ensure_periodic_task(
        name="Extend hotel calendars",
        task="bookings.tasks.extend_calendars",
        every_minutes=60,
        enabled=True,
    )


post_migrate.connect(sync_groups_after_migrate, dispatch_uid="bookings-staff-groups")
