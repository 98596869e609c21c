"""Cells of the staff rate grid, drawn in Python with plain string building: a 30-day grid
of a large hotel is about a thousand cells, and a template tag, ``reverse`` and
``format_html`` per cell cost several times the queries.

Each cell carries an id so an edit can redraw it in place (htmx out-of-band swap),
and, for staff who may change it, the URL of its editor. Everything from the
database that reaches the HTML (codes, names) is escaped once per row.
"""

from __future__ import annotations

from html import escape

from django import template
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from bookings.calendar_grid import AvailabilityCell, Grid, PlanRow, RateCell, RoomTypeBlock
from pema.money import currency_exponent, format_money

register = template.Library()


def _cell_prefix(hotel_id: int) -> str:
    # The cell editors' URLs all start here: reversed once, then extended per cell.
    return reverse("admin:bookings_hotel_calendar", args=[hotel_id]) + "cell/"


def _classes(day, today, base: str) -> str:
    names = base
    if day.weekday() >= 5:
        names += " we"
    if day == today:
        names += " today"
    return names


def _editable(url: str, editable: bool) -> str:
    if not editable:
        return ""
    return f' hx-get="{url}" hx-target="#grid-editor" hx-trigger="click[!shiftKey]" tabindex="0"'


def price_text(value: int | None, currency: str) -> str:
    """Major units with thousands separators; decimals only where the price has them."""
    if value is None:
        return "—"
    exponent = currency_exponent(currency)
    whole, part = divmod(value, 10**exponent) if exponent else (value, 0)
    return f"{whole:,}" if not part else f"{whole:,}.{part:0{exponent}d}"


def _availability(prefix: str, rt_id: int, cell: AvailabilityCell, today, edit: bool, oob: str):
    day = cell.date
    cell_id = f"a-{rt_id}-{day:%Y%m%d}"
    if not cell.exists:
        return f'<td id="{cell_id}" class="{_classes(day, today, "av")}"{oob}>—</td>'
    available = cell.available
    state = " soldout" if available == 0 else " low" if available == 1 else ""
    iso = day.isoformat()
    marks = ""
    if cell.stop_sell:
        marks += '<span class="stop">STOP</span>'
    if cell.blocked:
        marks += f'<span class="mk">{cell.blocked} blk</span>'
    if cell.override is not None:
        marks += '<span class="mk">set</span>'
    if cell.overbooked:
        marks += f'<span class="over">+{cell.overbooked} over</span>'
    return (
        f'<td id="{cell_id}" class="{_classes(day, today, "av" + state)}" data-kind="availability"'
        f' data-rt="{rt_id}" data-date="{iso}"{_editable(f"{prefix}{rt_id}/{iso}/", edit)}{oob}>'
        f'<span class="n" title="available / rooms to sell">{available}/{cell.total}</span>'
        f"{marks}</td>"
    )


def _rate(prefix: str, rt_id: int, row: PlanRow, title: str, cell: RateCell, today, edit: bool,
          oob: str) -> str:  # fmt: skip
    plan = row.plan
    day = cell.date
    cell_id = f"r-{plan.id}-{rt_id}-{day:%Y%m%d}"
    if not cell.exists:
        return f'<td id="{cell_id}" class="{_classes(day, today, "rt")}"{oob}>—</td>'
    iso = day.isoformat()
    derived = " derived" if row.plan.parent_id else ""
    badges = "".join(f'<span class="b">{b}</span>' for b in cell.badges)
    url = f"{prefix}{rt_id}/{plan.id}/{iso}/"
    base = "rt closed" if cell.stop_sell else "rt"
    return (
        f'<td id="{cell_id}" class="{_classes(day, today, base)}" data-kind="rate"'
        f' data-rt="{rt_id}" data-plan="{plan.id}" data-date="{iso}"{_editable(url, edit)}{oob}>'
        f'<span class="p{derived}" title="{title}">{price_text(cell.price, plan.currency)}</span>'
        f"{badges}</td>"
    )


def _plan_title(row: PlanRow) -> str:
    code = escape(row.plan.code)
    return f"{code}: derived, {escape(row.derivation)}" if row.derived_from else code


def _block_rows(prefix: str, block: RoomTypeBlock, today, rates: bool, rooms: bool) -> list[str]:
    rt = block.room_type
    out = [
        f'<tbody class="rt-block"><tr class="avail-row"><th scope="row" title="{escape(rt.name)}">'
        f"<b>{escape(rt.code)}</b> rooms</th>"
    ]
    out += [_availability(prefix, rt.id, cell, today, rooms, "") for cell in block.availability]
    out.append("</tr>")
    for row in block.plans:
        title = _plan_title(row)
        derived = (
            f'<span class="derived-from">derived: {escape(row.derivation)}</span>'
            if row.derived_from
            else ""
        )
        out.append(
            f'<tr class="plan-row"><th scope="row" title="{escape(row.plan.name)}">'
            f"{escape(row.plan.code)}{derived}</th>"
        )
        out += [_rate(prefix, rt.id, row, title, cell, today, rates, "") for cell in row.cells]
        out.append("</tr>")
    out.append("</tbody>")
    return out


@register.simple_tag
def grid_body(grid: Grid, can_edit_rates: bool, can_edit_rooms: bool) -> SafeString:
    """Every room type's rows: availability, then one row per rate plan."""
    prefix = _cell_prefix(grid.hotel.pk)
    out: list[str] = []
    for block in grid.blocks:
        out += _block_rows(prefix, block, grid.today, can_edit_rates, can_edit_rooms)
    return mark_safe("".join(out))  # noqa: S308 - built from escaped text and numbers


@register.simple_tag
def block_cells_oob(hotel_id: int, block: RoomTypeBlock, today, rates: bool, rooms: bool):
    """The block's cells, each to replace its namesake in the page (htmx out of band)."""
    prefix = _cell_prefix(hotel_id)
    oob = ' hx-swap-oob="outerHTML"'
    rt_id = block.room_type.id
    parts = [
        "<template>"
        + "".join(_availability(prefix, rt_id, c, today, rooms, oob) for c in block.availability)
        + "</template>"
    ]
    for row in block.plans:
        title = _plan_title(row)
        cells = "".join(_rate(prefix, rt_id, row, title, c, today, rates, oob) for c in row.cells)
        parts.append(f"<template>{cells}</template>")
    return mark_safe("".join(parts))  # noqa: S308 - built from escaped text and numbers


@register.filter
def money(minor: int | None, currency: str) -> str:
    """``12,500.00 INR`` from minor units."""
    return format_money(minor, currency)
