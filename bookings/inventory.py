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


def calendar_covers(products: set[tuple[int, int]], check_in: date, check_out: date) -> bool:
    """Whether every night of the stay has its rows for these (rate plan id, room type id).

    Two counts, against the four reads and the sets :func:`ensure_calendar`
    builds over every room type of the hotel: partner bookings ask this first,
    and nearly always the calendar is already there.
    """
    nights = (check_out - check_in).days
    if nights <= 0 or not products:
        return True
    room_type_ids = {room_type_id for _, room_type_id in products}
    in_stay = Q(date__gte=check_in, date__lt=check_out)
    inventory = InventoryDay.objects.filter(in_stay, room_type_id__in=room_type_ids).count()
    if inventory < nights * len(room_type_ids):
        return False
    pairs = Q()
    for rate_plan_id, room_type_id in products:
        pairs |= Q(rate_plan_id=rate_plan_id, room_type_id=room_type_id)
    return RateDay.objects.filter(in_stay, pairs).count() >= nights * len(products)


def _plan_room_pairs(hotel: Hotel) -> list[tuple[int, int]]:
    through = hotel.rate_plans.model.room_types.through
    return list(
        through.objects.filter(rateplan__hotel=hotel).values_list("rateplan_id", "roomtype_id")
    )


def calendar_horizon(hotel: Hotel) -> tuple[date, date]:
    """The window of days the calendar is kept for: today and the configured days ahead."""
    today = hotel.today()
    return today, today + timedelta(days=settings.PEMA_CALENDAR_DAYS - 1)


def extend_calendar(hotel: Hotel, *, source: str = "calendar") -> int:
    """Keep the calendar reaching ``PEMA_CALENDAR_DAYS`` ahead as the days go by.

    Days new at the end of the window get their rooms from the active room
    count and their rates and restrictions from the same weekday a week
    earlier, so a hotel stays sellable on its usual weekly pattern until staff
    say otherwise. One ``ChangeEvent`` tells the channels about the new days.
    Returns the number of rows created.
    """
    start, end = calendar_horizon(hotel)
    last_before = (
        RateDay.objects.filter(rate_plan__hotel=hotel)
        .order_by("-date")
        .values_list("date", flat=True)
        .first()
    )
    with transaction.atomic():
        created = ensure_calendar(hotel, start, end)
        if not created:
            return 0
        first_new = max(start, last_before + timedelta(days=1)) if last_before else start
        _copy_last_week(hotel, first_new, end)
        record_event(
            hotel,
            ChangeEvent.Kind.ARI_CHANGED,
            {
                "start": first_new.isoformat(),
                "end": end.isoformat(),
                "weekdays": None,
                "room_types": sorted(hotel.room_types.values_list("code", flat=True)),
                "rate_plans": sorted(hotel.rate_plans.values_list("code", flat=True)),
                "inventory_fields": {"total": "active rooms"},
                "rate_fields": dict.fromkeys(RATE_COPIED_FIELDS, "as the week before"),
            },
            source=source,
        )
    return created


RATE_COPIED_FIELDS = (
    "price", "extra_adult_price", "extra_child_price", "min_stay_arrival", "min_stay_through",
    "max_stay", "closed_to_arrival", "closed_to_departure", "stop_sell",
)  # fmt: skip


def _copy_last_week(hotel: Hotel, first: date, last: date) -> None:
    """Unpriced rate rows from ``first`` to ``last`` take the values of a week before."""
    rows = list(
        RateDay.objects.filter(
            rate_plan__hotel=hotel, date__gte=first - timedelta(days=7), date__lte=last
        ).order_by("date")
    )
    by_key = {(r.rate_plan_id, r.room_type_id, r.date): r for r in rows}
    changed = []
    for row in rows:
        if row.date < first or row.price is not None:
            continue
        week_before = by_key.get((row.rate_plan_id, row.room_type_id, row.date - timedelta(days=7)))
        if week_before is None or week_before.price is None:
            continue
        for name in RATE_COPIED_FIELDS:
            setattr(row, name, getattr(week_before, name))
        changed.append(row)
    RateDay.objects.bulk_update(changed, RATE_COPIED_FIELDS, batch_size=1000)


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
