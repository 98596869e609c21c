"""The staff calendar: room types × days with availability, price and restriction markers."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from .models import Hotel, InventoryDay, RateDay


@dataclass
class GridCell:
    """One room type on one day."""

    date: date
    available: int | None = None
    total: int | None = None
    overbooked: int = 0
    price: int | None = None
    markers: list[str] = field(default_factory=list)


@dataclass
class GridRow:
    code: str
    name: str
    cells: list[GridCell]


def calendar_grid(hotel: Hotel, start: date, days: int = 30) -> tuple[list[date], list[GridRow]]:
    """Rows per room type for ``days`` days from ``start``; three queries in all.

    The price shown is the lowest of the active rate plans; markers are
    ``STOP`` (stop sell), ``CTA``, ``CTD`` and ``MIN n`` (min stay on arrival).
    """
    dates = [start + timedelta(days=i) for i in range(days)]
    end = dates[-1]
    room_types = list(hotel.room_types.all())
    inventory = {
        (row.room_type_id, row.date): row
        for row in InventoryDay.objects.filter(
            room_type__hotel=hotel, date__gte=start, date__lte=end
        )
    }
    rates: dict[tuple[int, date], list[RateDay]] = defaultdict(list)
    for row in RateDay.objects.filter(
        rate_plan__hotel=hotel, rate_plan__is_active=True, date__gte=start, date__lte=end
    ):
        rates[(row.room_type_id, row.date)].append(row)

    rows = []
    for room_type in room_types:
        cells = []
        for day in dates:
            cell = GridCell(day)
            inv = inventory.get((room_type.id, day))
            if inv is not None:
                cell.available, cell.total, cell.overbooked = (
                    inv.available,
                    inv.total,
                    inv.overbooked,
                )
                if inv.stop_sell:
                    cell.markers.append("STOP")
            day_rates = rates.get((room_type.id, day), [])
            priced = [r.price for r in day_rates if r.price is not None and not r.stop_sell]
            cell.price = min(priced) if priced else None
            if day_rates and all(r.stop_sell for r in day_rates) and "STOP" not in cell.markers:
                cell.markers.append("STOP")
            if any(r.closed_to_arrival for r in day_rates):
                cell.markers.append("CTA")
            if any(r.closed_to_departure for r in day_rates):
                cell.markers.append("CTD")
            min_stay = max((r.min_stay_arrival for r in day_rates), default=1)
            if min_stay > 1:
                cell.markers.append(f"MIN {min_stay}")
            cells.append(cell)
        rows.append(GridRow(room_type.code, room_type.name, cells))
    return dates, rows
