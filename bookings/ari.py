"""Bulk updates of the ARI calendar (availability, rates, restrictions).

One call sets any of the fields for chosen room types and rate plans over a
date range and a set of weekdays, with a handful of bulk UPDATE statements
(never a save per row), and writes one ``ChangeEvent`` describing the change
in the same transaction. Inventory fields (availability override, blocked
rooms) apply to room types; rate fields to rate plans × room types; stop sell
applies to the chosen rate plans when any are chosen, otherwise to the room
types. Derived rate plans follow a new parent price at once.

Prices can be set outright or moved relative to what each day holds
(``price_percent``: +10 %, ``price_amount``: -500 INR). With no rate plan
chosen, a price goes to the plans that derive from no other, and the derived
plans follow them: it never overwrites a derived plan's discount unasked.
``preview_ari_update`` tells, before anything is written, how many cells a
change alters, a sample of them before and after, and what to be warned of.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import (
    BigIntegerField,
    F,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    Subquery,
    Value,
)
from django.db.models.functions import Cast, Greatest

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
    #: Relative price changes: percent (e.g. Decimal("10"), Decimal("-12.5")) or minor units.
    price_percent: Decimal | None = None
    price_amount: int | None = None
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
    "price_percent",
    "price_amount",
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
    ways = [changes.price, changes.price_percent, changes.price_amount]
    if sum(w is not None for w in ways) > 1:
        message = "Set the price, or change it by a percentage or an amount: one of them."
        raise InvalidStay(message, code="invalid", fields={"price": [message]})
    if changes.price_percent is not None and not (
        Decimal(-100) < changes.price_percent <= Decimal(1000)
    ):
        message = "A price change is more than -100 % and at most +1000 %."
        raise InvalidStay(message, code="invalid_value", fields={"price_percent": [message]})
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


def _percent_factor(percent: Decimal) -> int:
    """+10 % is 11000 ten-thousandths: prices move in integer arithmetic, rounded half up."""
    return 10000 + int((percent * 100).to_integral_value())


def changed_price(old: int | None, changes: AriChanges) -> int | None:
    """The price a day holds after ``changes`` (the one rule the preview and SQL both follow)."""
    if changes.price is not None:
        return changes.price
    if old is None:
        return None
    if changes.price_percent is not None:
        return (old * _percent_factor(changes.price_percent) + 5000) // 10000
    if changes.price_amount is not None:
        return old + changes.price_amount
    return old


def _price_expression(changes: AriChanges):
    if changes.price is not None:
        return Value(changes.price)
    if changes.price_percent is not None:
        # Through bigint: a 32-bit price times the factor would overflow the column type.
        scaled = Cast(F("price"), BigIntegerField()) * _percent_factor(changes.price_percent)
        return Cast((scaled + 5000) / 10000, IntegerField())
    return F("price") + changes.price_amount


def _derived_expression(child: RatePlan):
    """A derived plan's price, from its parent's row of the same room type and day."""
    parent_price = Cast(
        Subquery(
            RateDay.objects.filter(
                rate_plan_id=child.parent_id,
                room_type_id=OuterRef("room_type_id"),
                date=OuterRef("date"),
            ).values("price")[:1]
        ),
        BigIntegerField(),
    )
    if child.derivation == RatePlan.Derivation.PERCENT:
        return Cast((parent_price * (100 - child.derivation_value) + 50) / 100, IntegerField())
    if child.derivation == RatePlan.Derivation.AMOUNT:
        return Cast(Greatest(parent_price - child.derivation_value, 0), IntegerField())
    return Cast(parent_price, IntegerField())


PRICE_CHANGES = ("price", "price_percent", "price_amount")


def changes_price(changes: AriChanges) -> bool:
    return any(getattr(changes, name) is not None for name in PRICE_CHANGES)


@dataclass
class _Targets:
    """Which rows a change reaches: resolved once for the preview and the update alike."""

    room_types: list[RoomType]
    #: Plans that take the price (chosen, or with none chosen, those deriving from no other).
    price_plans: list[RatePlan]
    #: Plans that take the other rate fields (chosen, or every active plan).
    other_plans: list[RatePlan]
    #: Derived plans that follow a new price, parents first: (plan, its parent).
    followers: list[RatePlan]
    plans_chosen: bool
    room_types_chosen: bool


def _targets(
    hotel: Hotel,
    changes: AriChanges,
    room_types: list[RoomType] | None,
    rate_plans: list[RatePlan] | None,
) -> _Targets:
    chosen = list(rate_plans or [])
    if room_types:
        types = list(room_types)
    elif chosen:
        types = list(RoomType.objects.filter(rate_plans__in=chosen).distinct())
    else:
        types = list(hotel.room_types.all())
    if any(rt.hotel_id != hotel.id for rt in types) or any(p.hotel_id != hotel.id for p in chosen):
        raise InvalidStay("Room types and rate plans must belong to the hotel.", code="wrong_hotel")
    given = changes.given()
    wants_rates = any(k in RATE_FIELDS for k in given) or (changes.stop_sell is not None and chosen)
    active = (
        list(hotel.rate_plans.filter(is_active=True).select_related("parent"))
        if wants_rates or changes_price(changes)
        else []
    )
    if chosen:
        price_plans, other_plans = chosen, chosen
    else:
        active_ids = {p.id for p in active}
        price_plans = [p for p in active if p.parent_id not in active_ids]
        other_plans = active
    followers: list[RatePlan] = []
    if changes_price(changes):
        by_parent: dict[int, list[RatePlan]] = {}
        for plan in active:
            if plan.parent_id:
                by_parent.setdefault(plan.parent_id, []).append(plan)
        level, taken = list(price_plans), {p.id for p in price_plans}
        while level:
            nxt = [c for p in level for c in by_parent.get(p.id, []) if c.id not in taken]
            taken |= {c.id for c in nxt}
            followers += nxt
            level = nxt
    return _Targets(types, price_plans, other_plans, followers, bool(chosen), bool(room_types))


def _check_price_bounds(rates, changes: AriChanges) -> None:
    """A relative change must leave every price within the column: refused with the extreme."""
    if changes.price_percent is None and changes.price_amount is None:
        return
    bounds = rates.filter(price__isnull=False).aggregate(low=Min("price"), high=Max("price"))
    if bounds["low"] is None:
        return
    low, high = changed_price(bounds["low"], changes), changed_price(bounds["high"], changes)
    if low < 0:
        message = f"That makes a price negative (the lowest is {bounds['low']} minor units)."
        raise InvalidStay(message, code="invalid_value", fields={"price_amount": [message]})
    if high > LIMITS["price"][1]:
        message = "That takes a price past the largest the calendar holds."
        raise InvalidStay(message, code="invalid_value", fields={"price_percent": [message]})


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
    targets = _targets(hotel, changes, room_types, rate_plans)
    room_types = targets.room_types
    days = _days_filter(start, end, weekdays)
    ensure_calendar(hotel, start, end)

    inventory_rows = rate_rows = 0
    touched_plans: dict[int, RatePlan] = {}
    with transaction.atomic():
        inventory = InventoryDay.objects.filter(days, room_type__in=room_types)
        inventory_update: dict = {}
        if changes.availability_override is not None:
            inventory_update["total"] = changes.availability_override
            inventory_update["total_override"] = changes.availability_override
        if changes.blocked is not None:
            inventory_update["blocked"] = changes.blocked
        if changes.stop_sell is not None and not targets.plans_chosen:
            inventory_update["stop_sell"] = changes.stop_sell
        if inventory_update:
            locked = inventory.select_for_update()
            list(locked.order_by("room_type_id", "date").values_list("id", flat=True))
            _check_room_counts(inventory, changes)
            inventory_rows = inventory.update(**inventory_update)
        if changes.clear_availability_override:
            inventory_rows = max(inventory_rows, _clear_overrides(hotel, inventory))

        other_update: dict = {
            name: getattr(changes, name)
            for name in RATE_FIELDS
            if name not in PRICE_CHANGES
            and not name.startswith("clear_")
            and getattr(changes, name) is not None
        }
        if changes.clear_max_stay:
            other_update["max_stay"] = None
        if changes.stop_sell is not None and targets.plans_chosen:
            other_update["stop_sell"] = changes.stop_sell
        rates = RateDay.objects.filter(days, room_type__in=room_types)
        if other_update:
            rates.filter(rate_plan__in=targets.other_plans).update(**other_update)
            touched_plans.update({p.id: p for p in targets.other_plans})
        if changes_price(changes):
            priced = rates.filter(rate_plan__in=targets.price_plans)
            _check_price_bounds(priced, changes)
            priced.update(price=_price_expression(changes))
            touched_plans.update({p.id: p for p in targets.price_plans})
            for child in targets.followers:
                rates.filter(rate_plan=child).update(price=_derived_expression(child))
                touched_plans[child.id] = child
        if touched_plans:
            rate_rows = rates.filter(rate_plan__in=list(touched_plans)).count()

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
                    "rate_plans": sorted({p.code for p in touched_plans.values()}),
                    "inventory_fields": {k: v for k, v in given.items() if k in INVENTORY_FIELDS}
                    | ({"stop_sell": changes.stop_sell} if "stop_sell" in inventory_update else {}),
                    "rate_fields": _rate_fields_payload(given)
                    | ({"stop_sell": changes.stop_sell} if "stop_sell" in other_update else {}),
                },
                source=source,
            )
    return AriResult(inventory_rows=inventory_rows, rate_rows=rate_rows, event=event)


def _rate_fields_payload(given: dict) -> dict:
    """The rate fields for the event; a relative change is named as a change of ``price``."""
    out = {k: v for k, v in given.items() if k in RATE_FIELDS and k not in PRICE_CHANGES}
    if "price" in given:
        out["price"] = given["price"]
    elif "price_percent" in given:
        out["price"] = f"{given['price_percent']:+} %"
    elif "price_amount" in given:
        out["price"] = f"{given['price_amount']:+} minor units"
    return out


# --- Preview ------------------------------------------------------------------------


@dataclass(frozen=True)
class PreviewCell:
    """One calendar cell a change alters: what it shows now and after."""

    label: str
    before: str
    after: str


@dataclass
class AriPreview:
    """What an update would do, computed without writing."""

    inventory_cells: int = 0
    rate_cells: int = 0
    samples: list[PreviewCell] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def cells(self) -> int:
        return self.inventory_cells + self.rate_cells


_INVENTORY_PREVIEW = (("total_override", "rooms to sell"), ("blocked", "blocked"),
                      ("stop_sell", "stop sell"))  # fmt: skip
_RATE_PREVIEW = (
    ("price", "price"), ("extra_adult_price", "extra adult"), ("extra_child_price", "extra child"),
    ("min_stay_arrival", "min stay on arrival"), ("min_stay_through", "min stay through"),
    ("max_stay", "max stay"), ("closed_to_arrival", "CTA"), ("closed_to_departure", "CTD"),
    ("stop_sell", "stop sell"),
)  # fmt: skip
PREVIEW_SAMPLES = 6


def _shown(name: str, value, currency: str) -> str:
    from pema.money import format_money

    if value is None:
        return "none" if name != "total_override" else "all rooms"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if name.endswith("price"):
        return format_money(value, currency)
    return str(value)


def _describe(fields, before: dict, after: dict, currency: str) -> tuple[str, str] | None:
    changed = [(label, name) for name, label in fields if before[name] != after[name]]
    if not changed:
        return None
    return (
        "; ".join(f"{label} {_shown(name, before[name], currency)}" for label, name in changed),
        "; ".join(f"{label} {_shown(name, after[name], currency)}" for label, name in changed),
    )


def preview_ari_update(
    hotel: Hotel,
    *,
    start: date,
    end: date,
    changes: AriChanges,
    room_types: list[RoomType] | None = None,
    rate_plans: list[RatePlan] | None = None,
    weekdays: set[int] | None = None,
) -> AriPreview:
    """How many cells ``apply_ari_update`` with these arguments would change, a sample, and
    warnings: a derived plan's price overwritten, or plans changed that were not ticked."""
    _validate(hotel, start, end, weekdays, changes)
    if not changes.given():
        raise InvalidStay("Nothing to change: set at least one field.", code="nothing_to_change")
    targets = _targets(hotel, changes, room_types, rate_plans)
    days = _days_filter(start, end, weekdays)
    preview = AriPreview()
    names = {rt.id: rt.code for rt in targets.room_types}
    currency = hotel.currency

    def label(parts: list[str], day: date) -> str:
        return " · ".join(parts + [f"{day:%a %d %b %Y}"])

    inventory_changes = {
        k: v
        for k, v in (
            ("total_override", changes.availability_override),
            ("blocked", changes.blocked),
            ("stop_sell", changes.stop_sell if not targets.plans_chosen else None),
        )
        if v is not None
    }
    if inventory_changes or changes.clear_availability_override:
        fields = [f for f, _ in _INVENTORY_PREVIEW]
        rows = InventoryDay.objects.filter(days, room_type__in=targets.room_types).order_by(
            "date", "room_type_id"
        )
        for row in rows.values("room_type_id", "date", *fields):
            after = row | inventory_changes
            if changes.clear_availability_override:
                after["total_override"] = None
            shown = _describe(_INVENTORY_PREVIEW, row, after, currency)
            if shown:
                preview.inventory_cells += 1
                if len(preview.samples) < PREVIEW_SAMPLES:
                    cell = label([names[row["room_type_id"]], "availability"], row["date"])
                    preview.samples.append(PreviewCell(cell, *shown))

    other = {
        name: getattr(changes, name)
        for name, _ in _RATE_PREVIEW
        if name != "price" and getattr(changes, name, None) is not None
    }
    if changes.clear_max_stay:
        other["max_stay"] = None
    if changes.stop_sell is not None and not targets.plans_chosen:
        other.pop("stop_sell", None)
    plans = {p.id: p for p in targets.other_plans if other} | (
        {p.id: p for p in targets.price_plans + targets.followers} if changes_price(changes) else {}
    )
    if plans:
        fields = [f for f, _ in _RATE_PREVIEW]
        rows = list(
            RateDay.objects.filter(days, room_type__in=targets.room_types, rate_plan__in=plans)
            .order_by("date", "room_type_id", "rate_plan_id")
            .values("rate_plan_id", "room_type_id", "date", *fields)
        )
        new_prices: dict[tuple[int, int, date], int | None] = {}
        price_ids = {p.id for p in targets.price_plans} if changes_price(changes) else set()
        other_ids = {p.id for p in targets.other_plans} if other else set()
        for row in rows:
            key = (row["rate_plan_id"], row["room_type_id"], row["date"])
            if row["rate_plan_id"] in price_ids:
                new_prices[key] = changed_price(row["price"], changes)
        for child in targets.followers:
            for row in rows:
                if row["rate_plan_id"] == child.id:
                    parent_key = (child.parent_id, row["room_type_id"], row["date"])
                    parent_price = new_prices.get(parent_key, row["price"])
                    new_prices[(child.id, row["room_type_id"], row["date"])] = (
                        child.derive_price(parent_price)
                        if parent_key in new_prices
                        else row["price"]
                    )
        for row in rows:
            key = (row["rate_plan_id"], row["room_type_id"], row["date"])
            after = dict(row)
            if row["rate_plan_id"] in other_ids:
                after |= other
            if key in new_prices:
                after["price"] = new_prices[key]
            shown = _describe(_RATE_PREVIEW, row, after, currency)
            if shown:
                preview.rate_cells += 1
                if len(preview.samples) < PREVIEW_SAMPLES:
                    plan = plans[row["rate_plan_id"]]
                    cell = label([names[row["room_type_id"]], plan.code], row["date"])
                    preview.samples.append(PreviewCell(cell, *shown))
    preview.warnings = _warnings(targets, changes, other)
    return preview


def _warnings(targets: _Targets, changes: AriChanges, other: dict) -> list[str]:
    out = []
    codes = ", ".join
    if changes_price(changes):
        for plan in targets.price_plans:
            if plan.parent_id and targets.plans_chosen:
                out.append(
                    f"{plan.code} derives its price from {plan.parent.code}: this overwrites "
                    f"its derived price on these days (it follows {plan.parent.code} again at "
                    f"{plan.parent.code}'s next price change, unless its derivation is broken)."
                )
        if targets.followers:
            out.append(
                f"Not ticked but changed: {codes(p.code for p in targets.followers)} "
                f"{'derives its' if len(targets.followers) == 1 else 'derive their'} price from "
                f"{codes(sorted({p.parent.code for p in targets.followers}))} and follow it."
            )
    if not targets.plans_chosen and (other or changes_price(changes)):
        if other:
            out.append(
                "No rate plan is ticked: the restrictions apply to every active plan ("
                f"{codes(p.code for p in targets.other_plans)})."
            )
        if changes_price(changes):
            out.append(
                "No rate plan is ticked: the price applies to "
                f"{codes(p.code for p in targets.price_plans)}."
            )
    if not targets.room_types_chosen:
        out.append(
            "No room type is ticked: every room type "
            f"({codes(rt.code for rt in targets.room_types)}) changes."
        )
    return out


# --- One cell of the grid -------------------------------------------------------------


def break_derivation(plan: RatePlan) -> None:
    """The plan stops following its parent's price and keeps the prices it holds."""
    plan.parent = None
    plan.derivation = RatePlan.Derivation.NONE
    plan.derivation_value = 0
    plan.save(update_fields=["parent", "derivation", "derivation_value"])


RATE_CELL_FIELDS = ("price", "stop_sell", "closed_to_arrival", "closed_to_departure",
                    "min_stay_arrival", "min_stay_through", "max_stay")  # fmt: skip


def edit_rate_cell(
    rate_plan: RatePlan,
    room_type: RoomType,
    day: date,
    values: dict,
    *,
    break_derived: bool = False,
    source: str = "staff",
) -> AriResult | None:
    """Set one plan's price and restrictions for one room type and day (one ``ChangeEvent``).

    ``values`` holds any of ``RATE_CELL_FIELDS`` (``max_stay`` None: no maximum).
    Only what differs from the stored row is written; None comes back when
    nothing did. A new price on a derived plan is refused (``InvalidStay``,
    code ``derived_price``) unless ``break_derived``: the plan then stops
    following its parent, in the same transaction.
    """
    hotel = rate_plan.hotel
    row = RateDay.objects.filter(rate_plan=rate_plan, room_type=room_type, date=day).first()
    current = {name: getattr(row, name) if row else None for name in RATE_CELL_FIELDS}
    wanted = {k: v for k, v in values.items() if k in RATE_CELL_FIELDS and v != current[k]}
    if not wanted:
        return None
    kwargs = {k: v for k, v in wanted.items() if k != "max_stay"}
    if "max_stay" in wanted:
        if wanted["max_stay"] is None:
            kwargs["clear_max_stay"] = True
        else:
            kwargs["max_stay"] = wanted["max_stay"]
    if "price" in wanted and wanted["price"] is None:
        message = "A price cannot be emptied here; stop sell closes the day."
        raise InvalidStay(message, code="invalid_value", fields={"price": [message]})
    with transaction.atomic():
        if "price" in wanted and rate_plan.parent_id:
            if not break_derived:
                parent = rate_plan.parent
                message = (
                    f"{rate_plan.code}'s price is derived from {parent.code}. Change "
                    f"{parent.code}, or break the derivation to price {rate_plan.code} on its own."
                )
                raise InvalidStay(message, code="derived_price", fields={"price": [message]})
            break_derivation(rate_plan)
        return apply_ari_update(
            hotel,
            start=day,
            end=day,
            changes=AriChanges(**kwargs),
            room_types=[room_type],
            rate_plans=[rate_plan],
            source=source,
        )


def edit_inventory_cell(
    room_type: RoomType,
    day: date,
    *,
    rooms_to_sell: int | None,
    blocked: int,
    stop_sell: bool,
    source: str = "staff",
) -> AriResult | None:
    """Set one room type's rooms to sell (None: follow the active rooms), blocked rooms and
    stop sell for one day, writing what differs in one update (one ``ChangeEvent``)."""
    hotel = room_type.hotel
    row = InventoryDay.objects.filter(room_type=room_type, date=day).first()
    kwargs: dict = {}
    if row is None or rooms_to_sell != row.total_override:
        if rooms_to_sell is None:
            kwargs["clear_availability_override"] = True
        else:
            kwargs["availability_override"] = rooms_to_sell
    if row is None or blocked != row.blocked:
        kwargs["blocked"] = blocked
    if row is None or stop_sell != row.stop_sell:
        kwargs["stop_sell"] = stop_sell
    if not kwargs:
        return None
    return apply_ari_update(
        hotel,
        start=day,
        end=day,
        changes=AriChanges(**kwargs),
        room_types=[room_type],
        source=source,
    )


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
