"""Cells of the staff rate grid, drawn in Python: a 30-day grid of a large hotel is
about a thousand cells, and an included template per cell cost more than the queries.

Each cell carries an id so an edit can redraw it in place (htmx out-of-band swap),
and, for staff who may change it, the URL of its editor.
"""

from __future__ import annotations

from django import template
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from bookings.calendar_grid import AvailabilityCell, PlanRow, RateCell
from bookings.models import RoomType
from pema.money import to_major

register = template.Library()


def avail_id(room_type_id: int, cell: AvailabilityCell) -> str:
    return f"a-{room_type_id}-{cell.date:%Y%m%d}"


def rate_id(plan_id: int, room_type_id: int, cell: RateCell) -> str:
    return f"r-{plan_id}-{room_type_id}-{cell.date:%Y%m%d}"


def _classes(cell, today, *extra: str) -> str:
    names = list(extra)
    if cell.date.weekday() >= 5:
        names.append("we")
    if cell.date == today:
        names.append("today")
    return " ".join(names)


def _editable(url: str, editable: bool) -> str:
    if not editable:
        return ""
    return format_html(
        ' hx-get="{}" hx-target="#grid-editor" hx-trigger="click[!shiftKey]" tabindex="0"', url
    )


@register.simple_tag
def availability_cell(
    hotel_id: int, room_type: RoomType, cell: AvailabilityCell, today, editable: bool, oob=False
) -> str:
    if not cell.exists:
        return format_html('<td id="{}" class="{}">—</td>', avail_id(room_type.id, cell),
                           _classes(cell, today, "av"))  # fmt: skip
    state = "soldout" if cell.available == 0 else "low" if cell.available == 1 else ""
    url = reverse(
        "admin:bookings_hotel_grid_availability",
        args=[hotel_id, room_type.id, cell.date.isoformat()],
    )
    marks = []
    if cell.stop_sell:
        marks.append(("stop", "STOP"))
    if cell.blocked:
        marks.append(("mk", f"{cell.blocked} blk"))
    if cell.override is not None:
        marks.append(("mk", "set"))
    if cell.overbooked:
        marks.append(("over", f"+{cell.overbooked} over"))
    return format_html(
        '<td id="{}" class="{}" data-kind="availability" data-rt="{}" data-date="{}"{}{}>'
        '<span class="n" title="available / rooms to sell">{}/{}</span>{}</td>',
        avail_id(room_type.id, cell),
        _classes(cell, today, "av", state),
        room_type.id,
        cell.date.isoformat(),
        _editable(url, editable),
        format_html(' hx-swap-oob="outerHTML"') if oob else "",
        cell.available,
        cell.total,
        format_html_join("", '<span class="{}">{}</span>', marks),
    )


def _price(value: int | None, currency: str) -> str:
    if value is None:
        return "—"
    return (
        f"{to_major(value, currency):,.0f}"
        if value % 100 == 0
        else f"{to_major(value, currency):,}"
    )


@register.simple_tag
def rate_cell(
    hotel_id: int, room_type: RoomType, row: PlanRow, cell: RateCell, today, editable: bool,
    oob=False,
) -> str:  # fmt: skip
    plan = row.plan
    if not cell.exists:
        return format_html('<td id="{}" class="{}">—</td>', rate_id(plan.id, room_type.id, cell),
                           _classes(cell, today, "rt"))  # fmt: skip
    url = reverse(
        "admin:bookings_hotel_grid_rate",
        args=[hotel_id, room_type.id, plan.id, cell.date.isoformat()],
    )
    derived = row.derived_from is not None
    title = f"{plan.code}: derived, {row.derivation}" if derived else plan.code
    return format_html(
        '<td id="{}" class="{}" data-kind="rate" data-rt="{}" data-plan="{}" data-date="{}"{}{}>'
        '<span class="p{}" title="{}">{}</span>{}</td>',
        rate_id(plan.id, room_type.id, cell),
        _classes(cell, today, "rt", "closed" if cell.stop_sell else ""),
        room_type.id,
        plan.id,
        cell.date.isoformat(),
        _editable(url, editable),
        format_html(' hx-swap-oob="outerHTML"') if oob else "",
        " derived" if derived else "",
        title,
        _price(cell.price, plan.currency),
        format_html_join("", '<span class="b">{}</span>', ((b,) for b in cell.badges)),
    )


@register.filter
def money(minor: int | None, currency: str) -> str:
    """``12,500.00 INR`` from minor units."""
    from pema.money import format_money

    return format_money(minor, currency)
