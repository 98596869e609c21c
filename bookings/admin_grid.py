"""The rate and availability grid's admin views: the page and its in-place cell editors.

Thin: the grid comes from ``calendar_grid``, every write goes through
``bookings.ari`` by the cell forms. Reading needs ``view_inventoryday``;
editing a price or restriction ``change_rateday``, rooms ``change_inventoryday``
(Front office reads the grid, Revenue changes it). An edit answers with the
editor's new state and, out of band, the room type's cells of that day, so
a derived plan's cell shows its new price beside its parent's.
"""

from __future__ import annotations

import contextlib
from datetime import date, timedelta

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse

from .calendar_grid import MAX_GRID_DAYS, calendar_grid
from .forms import InventoryCellForm, RateCellForm
from .models import Hotel

GRID_PAGE_SIZES = (7, 14, 30)


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise Http404("Not a date.") from exc


class RateGridAdminMixin:
    """Adds the grid and its cell editors to the hotel admin."""

    def grid_urls(self) -> list:
        view = self.admin_site.admin_view
        return [
            path("<int:hotel_id>/calendar/", view(self.calendar_view),
                 name="bookings_hotel_calendar"),
            path("<int:hotel_id>/calendar/cell/<int:room_type_id>/<str:day>/",
                 view(self.availability_cell_view), name="bookings_hotel_grid_availability"),
            path("<int:hotel_id>/calendar/cell/<int:room_type_id>/<int:plan_id>/<str:day>/",
                 view(self.rate_cell_view), name="bookings_hotel_grid_rate"),
        ]  # fmt: skip

    def calendar_view(self, request, hotel_id: int):
        if not request.user.has_perm("bookings.view_inventoryday"):
            raise PermissionDenied
        hotel = get_object_or_404(Hotel, pk=hotel_id)
        today = hotel.today()
        try:
            start = date.fromisoformat(request.GET.get("start", ""))
        except ValueError:
            start = today
        # Keep paging within dates the calendar can hold (and date arithmetic can reach).
        start = min(max(start, today - timedelta(days=366)), today + timedelta(days=3 * 366))
        try:
            days = int(request.GET.get("days", 14))
        except ValueError:
            days = 14
        days = max(1, min(days, MAX_GRID_DAYS))
        grid = calendar_grid(hotel, start, days)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Rates and availability · {hotel.name}",
            "hotel": hotel,
            "grid": grid,
            "days": days,
            "page_sizes": GRID_PAGE_SIZES,
            "previous": (start - timedelta(days=days)).isoformat(),
            "next": (start + timedelta(days=days)).isoformat(),
            "today": today,
            "can_edit_rates": request.user.has_perm("bookings.change_rateday"),
            "can_edit_rooms": request.user.has_perm("bookings.change_inventoryday"),
            "can_bulk": request.user.has_perm("bookings.change_rateday")
            and request.user.has_perm("bookings.change_inventoryday"),
            "bulk_url": reverse("admin:bookings_hotel_ari", args=[hotel.pk]),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/bookings/calendar.html", context)

    def _cell_response(self, request, hotel, room_type, form, heading: str, saved: bool):
        grid = calendar_grid(hotel, form.day, 1, room_type_ids=[room_type.id]) if saved else None
        context = {
            "hotel": hotel,
            "form": form,
            "heading": heading,
            "saved": saved,
            "block": grid.blocks[0] if grid and grid.blocks else None,
            "today": hotel.today(),
            "can_edit_rates": request.user.has_perm("bookings.change_rateday"),
            "can_edit_rooms": request.user.has_perm("bookings.change_inventoryday"),
            "action": request.get_full_path(),
        }
        response = TemplateResponse(request, "admin/bookings/grid_cell_editor.html", context)
        if saved and form.cleaned_data.get("break_derivation"):
            # The plan's row header and every room type's cells change: redraw the page.
            response = HttpResponse(status=204)
            response["HX-Refresh"] = "true"
        return response

    def rate_cell_view(self, request, hotel_id: int, room_type_id: int, plan_id: int, day: str):
        if not request.user.has_perm("bookings.view_rateday"):
            raise PermissionDenied
        hotel = get_object_or_404(Hotel, pk=hotel_id)
        room_type = get_object_or_404(hotel.room_types, pk=room_type_id)
        plan = get_object_or_404(hotel.rate_plans.select_related("parent"), pk=plan_id)
        the_day = _day(day)
        if not request.user.has_perm("bookings.change_rateday"):
            raise PermissionDenied
        heading = f"{plan.code} · {room_type.code} · {the_day:%a %d %b %Y}"
        if request.method == "POST":
            form = RateCellForm(plan, room_type, the_day, data=request.POST)
            saved = form.is_valid() and form.save()
            return self._cell_response(request, hotel, room_type, form, heading, saved)
        form = RateCellForm(plan, room_type, the_day)
        return self._cell_response(request, hotel, room_type, form, heading, False)

    def availability_cell_view(self, request, hotel_id: int, room_type_id: int, day: str):
        hotel = get_object_or_404(Hotel, pk=hotel_id)
        room_type = get_object_or_404(hotel.room_types, pk=room_type_id)
        the_day = _day(day)
        if not request.user.has_perm("bookings.change_inventoryday"):
            raise PermissionDenied
        heading = f"{room_type.code} rooms · {the_day:%a %d %b %Y}"
        if request.method == "POST":
            form = InventoryCellForm(room_type, the_day, data=request.POST)
            saved = form.is_valid() and form.save()
            return self._cell_response(request, hotel, room_type, form, heading, saved)
        form = InventoryCellForm(room_type, the_day)
        return self._cell_response(request, hotel, room_type, form, heading, False)


def bulk_initial(hotel: Hotel, query) -> dict:
    """The bulk form's starting values: a range selected in the grid, else today."""
    today = hotel.today()
    initial: dict = {"start": today, "end": today}
    for name in ("start", "end"):
        with contextlib.suppress(ValueError):
            initial[name] = date.fromisoformat(query.get(name, ""))
    for name in ("room_types", "rate_plans"):
        ids = [int(v) for v in query.getlist(name) if v.isdigit()]
        if ids:
            initial[name] = ids
    return initial
