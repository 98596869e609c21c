"""Bulk updates of the ARI calendar (availability, rates, restrictions).

One call sets any of the fields for chosen room types and rate plans over a
date range and a set of weekdays, with a handful of bulk UPDATE statements
(never a save per row), and writes one ``ChangeEvent`` describing the change
in the same transaction. Inventory fields (availability override, blocked
rooms) apply to room types; rate fields to rate plans × room types; stop sell
applies to the chosen rate plans when any are chosen, otherwise to the room
types. Derived rate plans follow a new parent price at once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta

from django.db import transaction
from django.db.models import F, Q

from .errors import CalendarConflict, InvalidStay
from .events import record_event
from .inventory import ensure_calendar
from .models import ChangeEvent, Hotel, InventoryDay, RateDay, RatePlan, RoomType

WEEKDAY_NAMES = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


@dataclass(frozen=True)
class AriChanges:
    """The fields to set; ``None`` leaves a field as it is."""

    availability_override: int | None = None
    clear_availability_override: bool = False
    blocked: int | None = None
    stop_sell: bool | None = None
    price: int | None = None
    extra_adult_price: int | None = None
    extra_child_price: int | None = None
    min_stay_arrival: int | None = None
    min_stay_through: int | None = None
    max_stay: int | None = None
    clear_max_stay: bool = False
    closed_to_arrival: bool | None = None
    closed_to_departure: bool | None = None

    def given(self) -> dict:
        """The fields this change sets (False counts: it opens what was closed)."""
        return {
            k: v
            for k, v in asdict(self).items()
            if v is not None and not (k.startswith("clear_") and v is False)
        }


@dataclass
class AriResult:
    """What one bulk update changed."""

    inventory_rows: int
    rate_rows: int
    event: ChangeEvent | None


INVENTORY_FIELDS = ("availability_override", "clear_availability_override", "blocked")
RATE_FIELDS = (
    "price",
    "extra_adult_price",
    "extra_child_price",
    "min_stay_arrival",
    "min_stay_through",
    "max_stay",
    "clear_max_stay",
    "closed_to_arrival",
    "closed_to_departure",
)


def _days_filter(start: date, end: date, weekdays: set[int] | None) -> Q:
    condition = Q(date__gte=start, date__lte=end)
    if weekdays is not None and len(weekdays) < 7:
        # iso_week_day is 1 (Monday) .. 7 (Sunday); ours are 0 .. 6.
        condition &= Q(date__iso_week_day__in=[d + 1 for d in sorted(weekdays)])
    return condition


# What the calendar columns hold: room counts and stays are small integers,
# prices 32-bit minor units (21 million rupees a night is plenty).
LIMITS: dict[str, tuple[int, int]] = {
    "availability_override": (0, 32767),
    "blocked": (0, 32767),
    "min_stay_arrival": (1, 365),
    "min_stay_through": (1, 365),
    "max_stay": (1, 365),
    "price": (0, 2_147_483_647),
    "extra_adult_price": (0, 2_147_483_647),
    "extra_child_price": (0, 2_147_483_647),
}

# How far ahead the calendar can be set: beyond the synchronised window, for
# next season's prices, but not into dates no partner would accept.
MAX_DAYS_AHEAD = 3 * 366


def _validate(
    hotel: Hotel, start: date, end: date, weekdays: set[int] | None, changes: AriChanges
) -> None:
    def fail(message: str, field_name: str) -> InvalidStay:
        return InvalidStay(message, code="invalid_range", fields={field_name: [message]})

    today = hotel.today()
    if end < start:
        raise fail("The end date is before the start date.", "end")
    if start < today:
        raise fail(f"Past days cannot be changed; start on {today} or later.", "start")
    if end > today + timedelta(days=MAX_DAYS_AHEAD):
        last = today + timedelta(days=MAX_DAYS_AHEAD)
        raise fail(f"The calendar can be set up to {last}.", "end")
    if weekdays is not None and (not weekdays or not weekdays <= set(range(7))):
        raise InvalidStay("Choose at least one weekday.", code="invalid_weekdays")
    if changes.availability_override is not None and changes.clear_availability_override:
        raise InvalidStay("Set or clear the availability override, not both.", code="invalid")
    if changes.max_stay is not None and changes.clear_max_stay:
        raise InvalidStay("Set or clear the maximum stay, not both.", code="invalid")
    for name, (low, high) in LIMITS.items():
        value = getattr(changes, name)
        if value is not None and not low <= value <= high:
            label = name.replace("_", " ").capitalize()
            message = f"{label} must be between {low} and {high}."
            raise InvalidStay(message, code="invalid_value", fields={name: [message]})


def _check_room_counts(inventory, changes: AriChanges) -> None:
    """Refuse, with the dates, a change that leaves fewer rooms than are sold and blocked."""
    bad = inventory.none()
    if changes.availability_override is not None:
        blocked = F("blocked") if changes.blocked is None else changes.blocked
        bad = inventory.annotate(taken=F("sold") + blocked).filter(
            taken__gt=changes.availability_override
        )
    elif changes.blocked is not None:
        bad = inventory.annotate(taken=F("sold") + changes.blocked).filter(taken__gt=F("total"))
    dates = sorted(set(bad.values_list("date", flat=True)[:50]))
    if dates:
        shown = ", ".join(d.isoformat() for d in dates[:7])
        raise CalendarConflict(
            f"That leaves fewer rooms than are already sold or blocked on {shown}"
            f"{' and more' if len(dates) > 7 else ''}.",
            dates=dates,
        )


def apply_ari_update(
    hotel: Hotel,
    *,
    start: date,
    end: date,
    changes: AriChanges,
    room_types: list[RoomType] | None = None,
    rate_plans: list[RatePlan] | None = None,
    weekdays: set[int] | None = None,
    source: str = "staff",
) -> AriResult:
    """Apply ``changes`` to ``start``..``end`` (inclusive) on the chosen weekdays (0 = Monday)."""
    _validate(hotel, start, end, weekdays, changes)
    given = changes.given()
    if not given:
        raise InvalidStay("Nothing to change: set at least one field.", code="nothing_to_change")
    rate_plans = list(rate_plans or [])
    if room_types:
        room_types = list(room_types)
    elif rate_plans:
        room_types = list(RoomType.objects.filter(rate_plans__in=rate_plans).distinct())
    else:
        room_types = list(hotel.room_types.all())
    if any(rt.hotel_id != hotel.id for rt in room_types) or any(
        p.hotel_id != hotel.id for p in rate_plans
    ):
        raise InvalidStay("Room types and rate plans must belong to the hotel.", code="wrong_hotel")
    wants_rates = any(k in RATE_FIELDS for k in given) or (
        changes.stop_sell is not None and rate_plans
    )
    if wants_rates and not rate_plans:
        rate_plans = list(hotel.rate_plans.filter(is_active=True))
    days = _days_filter(start, end, weekdays)
    ensure_calendar(hotel, start, end)

    inventory_rows = rate_rows = 0
    touched_plans: list[RatePlan] = []
    with transaction.atomic():
        inventory = InventoryDay.objects.filter(days, room_type__in=room_types)
        inventory_update: dict = {}
        if changes.availability_override is not None:
            inventory_update["total"] = changes.availability_override
            inventory_update["total_override"] = changes.availability_override
        if changes.blocked is not None:
            inventory_update["blocked"] = changes.blocked
        if changes.stop_sell is not None and not rate_plans:
            inventory_update["stop_sell"] = changes.stop_sell
        if inventory_update:
            locked = inventory.select_for_update()
            list(locked.order_by("room_type_id", "date").values_list("id", flat=True))
            _check_room_counts(inventory, changes)
            inventory_rows = inventory.update(**inventory_update)
        if changes.clear_availability_override:
            inventory_rows = max(inventory_rows, _clear_overrides(hotel, inventory))

        rate_update: dict = {
            name: getattr(changes, name)
            for name in RATE_FIELDS
            if not name.startswith("clear_") and getattr(changes, name) is not None
        }
        if changes.clear_max_stay:
            rate_update["max_stay"] = None
        if changes.stop_sell is not None and rate_plans:
            rate_update["stop_sell"] = changes.stop_sell
        if rate_update:
            rates = RateDay.objects.filter(days, rate_plan__in=rate_plans, room_type__in=room_types)
            rate_rows = rates.update(**rate_update)
            touched_plans = list(rate_plans)
            if changes.price is not None:
                for child in RatePlan.objects.filter(parent__in=rate_plans, is_active=True):
                    if child in rate_plans:
                        continue
                    rate_rows += RateDay.objects.filter(
                        days, rate_plan=child, room_type__in=room_types
                    ).update(price=child.derive_price(changes.price))
                    touched_plans.append(child)

        event = None
        if inventory_rows or rate_rows:
            event = record_event(
                hotel,
                ChangeEvent.Kind.ARI_CHANGED,
                {
                    "start": start.isoformat(),
                    "end": end.isoformat(),
                    "weekdays": sorted(weekdays) if weekdays is not None else None,
                    "room_types": sorted(rt.code for rt in room_types),
                    "rate_plans": sorted({p.code for p in touched_plans}),
                    "inventory_fields": {k: v for k, v in given.items() if k in INVENTORY_FIELDS}
                    | ({"stop_sell": changes.stop_sell} if "stop_sell" in inventory_update else {}),
                    "rate_fields": {k: v for k, v in given.items() if k in RATE_FIELDS}
                    | ({"stop_sell": changes.stop_sell} if "stop_sell" in rate_update else {}),
                },
                source=source,
            )
    return AriResult(inventory_rows=inventory_rows, rate_rows=rate_rows, event=event)


def _clear_overrides(hotel: Hotel, inventory) -> int:
    """Days return to following their room type's active room count."""
    from .inventory import active_room_counts

    changed = 0
    for rt_id, count in active_room_counts(hotel).items():
        rows = inventory.filter(room_type_id=rt_id, total_override__isnull=False)
        # Lock first, so a booking cannot land between the check and the update.
        list(rows.select_for_update().order_by("date").values_list("id", flat=True))
        conflicts = rows.annotate(taken=F("sold") + F("blocked")).filter(taken__gt=count)
        dates = list(conflicts.values_list("date", flat=True)[:7])
        if dates:
            raise CalendarConflict(
                "Clearing the override leaves fewer rooms than are sold or blocked on "
                + ", ".join(d.isoformat() for d in dates),
                dates=dates,
            )
        changed += rows.update(total=count, total_override=None)
    return changed
