"""Keeping the calendar rows in place and room counts in step with the rooms.

``InventoryDay.total`` follows the number of active rooms of its type from
the hotel's today on, unless staff set an override for a day.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Q

from .availability_cache import ari_changed
from .errors import CalendarConflict
from .events import record_event
from .models import ChangeEvent, Hotel, InventoryDay, RateDay, RoomType


def active_room_counts(hotel: Hotel) -> dict[int, int]:
    rows = hotel.room_types.annotate(n=Count("rooms", filter=Q(rooms__is_active=True)))
    return {rt.id: rt.n for rt in rows}


def ensure_calendar(hotel: Hotel, start: date, end: date) -> int:
    """Create the missing InventoryDay and RateDay rows for ``start``..``end`` inclusive.

    Existing rows are left alone. Returns how many rows were created.
    """
    counts = active_room_counts(hotel)
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    if not days:
        return 0
    room_type_ids = list(counts)
    have_inventory = set(
        InventoryDay.objects.filter(
            room_type_id__in=room_type_ids, date__gte=start, date__lte=end
        ).values_list("room_type_id", "date")
    )
    new_inventory = [
        InventoryDay(room_type_id=rt_id, date=d, total=counts[rt_id])
        for rt_id in room_type_ids
        for d in days
        if (rt_id, d) not in have_inventory
    ]
    pairs = _plan_room_pairs(hotel)
    have_rates = set(
        RateDay.objects.filter(rate_plan__hotel=hotel, date__gte=start, date__lte=end).values_list(
            "rate_plan_id", "room_type_id", "date"
        )
    )
    new_rates = [
        RateDay(rate_plan_id=plan_id, room_type_id=rt_id, date=d)
        for plan_id, rt_id in pairs
        for d in days
        if (plan_id, rt_id, d) not in have_rates
    ]
    InventoryDay.objects.bulk_create(new_inventory, batch_size=2000, ignore_conflicts=True)
    RateDay.objects.bulk_create(new_rates, batch_size=2000, ignore_conflicts=True)
    if new_inventory or new_rates:
        ari_changed(hotel.id)  # bulk_create sends no model signals
    return len(new_inventory) + len(new_rates)


def _plan_room_pairs(hotel: Hotel) -> list[tuple[int, int]]:
    through = hotel.rate_plans.model.room_types.through
    return list(
        through.objects.filter(rateplan__hotel=hotel).values_list("rateplan_id", "roomtype_id")
    )


def calendar_horizon(hotel: Hotel) -> tuple[date, date]:
    """The window of days the calendar is kept for: today and the configured days ahead."""
    today = hotel.today()
    return today, today + timedelta(days=settings.PEMA_CALENDAR_DAYS - 1)


def inventory_conflicts(
    room_type: RoomType, new_total: int, *, start: date, end: date | None = None
) -> list[date]:
    """Days from ``start`` (following the room count) where ``new_total`` is too few."""
    rows = InventoryDay.objects.filter(
        room_type=room_type, date__gte=start, total_override__isnull=True
    ).annotate(taken=F("sold") + F("blocked"))
    if end is not None:
        rows = rows.filter(date__lte=end)
    return list(rows.filter(taken__gt=new_total).values_list("date", flat=True)[:10])


def refresh_room_type_totals(room_type: RoomType, *, source: str = "staff") -> int:
    """Set ``total`` to the active room count from today on, where no override is set.

    Raises ``CalendarConflict`` when days already have more rooms sold and
    blocked than would remain. Returns the number of days changed.
    """
    hotel = room_type.hotel
    today = hotel.today()
    count = room_type.rooms.filter(is_active=True).count()
    with transaction.atomic():
        conflicts = inventory_conflicts(room_type, count, start=today)
        if conflicts:
            shown = ", ".join(d.isoformat() for d in conflicts)
            raise CalendarConflict(
                f"{room_type.code} would have {count} rooms, fewer than are already sold or "
                f"blocked on {shown}. Move those reservations or blocks first.",
                dates=conflicts,
            )
        changed = (
            InventoryDay.objects.filter(
                room_type=room_type, date__gte=today, total_override__isnull=True
            )
            .exclude(total=count)
            .update(total=count)
        )
        if changed:
            record_event(
                hotel,
                ChangeEvent.Kind.ARI_CHANGED,
                {
                    "start": today.isoformat(),
                    "end": calendar_horizon(hotel)[1].isoformat(),
                    "weekdays": None,
                    "room_types": [room_type.code],
                    "rate_plans": [],
                    "inventory_fields": {"total": count},
                    "rate_fields": {},
                },
                source=source,
            )
    return changed
