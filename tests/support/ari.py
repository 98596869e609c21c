"""ARI jobs for provider tests: what the dispatcher makes for a few days of a whole hotel."""

from __future__ import annotations

from datetime import timedelta

from bookings.models import RoomType
from channels.coalesce import DirtyDays, dates_between
from channels.dispatch import ari_jobs
from channels.models import SyncJob


def queue_ari(conn, days: int = 3) -> list[SyncJob]:
    """The dispatcher's jobs for ``days`` days of every room type and of plan ``BAR``."""
    today = conn.hotel.today()
    span = dates_between(today, today + timedelta(days=days - 1))
    dirty = DirtyDays()
    for room_type in RoomType.objects.filter(hotel=conn.hotel):
        dirty.avail[room_type.id] = set(span)
    plan = conn.hotel.rate_plans.get(code="BAR")
    for room_type in plan.room_types.all():
        dirty.restr[(plan.id, room_type.id)] = set(span)
        dirty.rates[(plan.id, room_type.id)] = set(span)
    SyncJob.objects.bulk_create(ari_jobs(conn, dirty))
    return list(SyncJob.objects.filter(connection=conn))
