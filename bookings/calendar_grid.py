"""The staff rate and availability grid: per room type, an availability row and a row per plan.

Each rate plan row shows that plan's own price and restriction badges, so a
cell never mixes plans: a stop sell on BAR shows on BAR only, and a derived
plan's row names its parent. The grid reads five queries whatever the range
or the number of reservations (the calendar rows carry the sold counts):
room types, active plans with their parents, which plan sells which room
type, the inventory rows and the rate rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from .models import Hotel, InventoryDay, RateDay, RatePlan, RoomType

MAX_GRID_DAYS = 62


@dataclass
class AvailabilityCell:
    """Rooms of one type on one day; ``exists`` is False where the calendar has no row."""

    date: date
    exists: bool = False
    total: int = 0
    sold: int = 0
    blocked: int = 0
    overbooked: int = 0
    override: int | None = None
    stop_sell: bool = False

    @property
    def available(self) -> int:
        return max(self.total - self.sold - self.blocked, 0)


@dataclass
class RateCell:
    """One plan's price and restrictions for one room type on one day."""

    date: date
    exists: bool = False
    price: int | None = None
    stop_sell: bool = False
    closed_to_arrival: bool = False
    closed_to_departure: bool = False
    min_stay_arrival: int = 1
    min_stay_through: int = 1
    max_stay: int | None = None

    @property
    def badges(self) -> list[str]:
        """Short markers, this plan's only: STOP, CTA, CTD, MIN n, MIN-T n, MAX n."""
        out = []
        if self.stop_sell:
            out.append("STOP")
        if self.closed_to_arrival:
            out.append("CTA")
        if self.closed_to_departure:
            out.append("CTD")
        if self.min_stay_arrival > 1:
            out.append(f"MIN {self.min_stay_arrival}")
        if self.min_stay_through > 1:
            out.append(f"MIN-T {self.min_stay_through}")
        if self.max_stay:
            out.append(f"MAX {self.max_stay}")
        return out


@dataclass
class PlanRow:
    plan: RatePlan
    cells: list[RateCell]

    @property
    def derived_from(self) -> RatePlan | None:
        return self.plan.parent if self.plan.parent_id else None

    @property
    def derivation(self) -> str:
        """How the price follows the parent, e.g. ``10 % off BAR``; '' for a plan of its own."""
        parent = self.derived_from
        if parent is None:
            return ""
        if self.plan.derivation == RatePlan.Derivation.PERCENT:
            return f"{self.plan.derivation_value} % off {parent.code}"
        if self.plan.derivation == RatePlan.Derivation.AMOUNT:
            return f"{self.plan.derivation_value} minor units off {parent.code}"
        return f"as {parent.code}"


@dataclass
class RoomTypeBlock:
    room_type: RoomType
    availability: list[AvailabilityCell]
    plans: list[PlanRow] = field(default_factory=list)


@dataclass
class Grid:
    hotel: Hotel
    start: date
    dates: list[date]
    today: date
    blocks: list[RoomTypeBlock]


def calendar_grid(
    hotel: Hotel, start: date, days: int = 14, *, room_type_ids: list[int] | None = None
) -> Grid:
    """The grid for ``days`` days from ``start`` (at most ``MAX_GRID_DAYS``), in five queries.

    ``room_type_ids`` narrows it to those room types (one column redrawn after an edit).
    """
    days = max(1, min(days, MAX_GRID_DAYS))
    dates = [start + timedelta(days=i) for i in range(days)]
    end = dates[-1]
    room_types = hotel.room_types.all()
    if room_type_ids is not None:
        room_types = room_types.filter(pk__in=room_type_ids)
    room_types = list(room_types)
    ids = [rt.id for rt in room_types]
    plans = list(hotel.rate_plans.filter(is_active=True).select_related("parent").order_by("code"))
    # Parents before the plans derived from them, then by code.
    plans.sort(key=lambda p: (p.parent.code if p.parent_id else p.code, bool(p.parent_id)))
    through = RatePlan.room_types.through
    sells = set(
        through.objects.filter(rateplan_id__in=[p.id for p in plans], roomtype_id__in=ids)
        .values_list("rateplan_id", "roomtype_id")
        .order_by()
    )
    inventory = {
        (row[0], row[1]): row[2:]
        for row in InventoryDay.objects.filter(room_type_id__in=ids, date__gte=start, date__lte=end)
        .order_by()
        .values_list(
            "room_type_id",
            "date",
            "total",
            "sold",
            "blocked",
            "overbooked",
            "total_override",
            "stop_sell",
        )  # fmt: skip
    }
    rates = {
        (row[0], row[1], row[2]): row[3:]
        for row in RateDay.objects.filter(
            room_type_id__in=ids,
            rate_plan_id__in=[p.id for p in plans],
            date__gte=start,
            date__lte=end,
        )  # fmt: skip
        .order_by()
        .values_list(
            "rate_plan_id",
            "room_type_id",
            "date",
            "price",
            "stop_sell",
            "closed_to_arrival",
            "closed_to_departure",
            "min_stay_arrival",
            "min_stay_through",
            "max_stay",
        )  # fmt: skip
    }
    blocks = []
    for room_type in room_types:
        availability = []
        for day in dates:
            row = inventory.get((room_type.id, day))
            availability.append(AvailabilityCell(day, True, *row) if row else AvailabilityCell(day))
        block = RoomTypeBlock(room_type, availability)
        for plan in plans:
            if (plan.id, room_type.id) not in sells:
                continue
            cells = []
            for day in dates:
                row = rates.get((plan.id, room_type.id, day))
                cells.append(RateCell(day, True, *row) if row else RateCell(day))
            block.plans.append(PlanRow(plan, cells))
        blocks.append(block)
    return Grid(hotel, start, dates, hotel.today(), blocks)
