"""Keep the calendar's room counts in step when rooms are added, moved, (de)activated or removed."""

from django.db.models.signals import post_delete, post_migrate, post_save, pre_save
from django.dispatch import receiver

from .inventory import refresh_room_type_totals
from .models import Room, RoomType


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


def sync_groups_after_migrate(sender, **kwargs):
    from .staff_groups import sync_staff_groups

    sync_staff_groups()


post_migrate.connect(sync_groups_after_migrate, dispatch_uid="bookings-staff-groups")
