"""The front office's reservation tools in the admin: a live quote, guest lookup, room board.

Thin views: the quote is ``availability.quote_stay`` (the evaluators the API
and the booking use), the board ``frontdesk.room_board``, assignments
``frontdesk.assign_room``. A quote needs the right to add or change
reservations; the board the right to see them, and assigning a room the
right to change them.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from .errors import BookingError
from .forms import QuoteForm
from .frontdesk import assign_room, room_board
from .models import Guest, Hotel, Reservation, ReservationRoom, Room

BOARD_DAYS = 14
GUEST_MATCHES = 8


def find_guests(hotel_id: int, text: str) -> list[Guest]:
    """Guests of the hotel whose name, e-mail or phone hold every word of ``text``."""
    words = text.split()[:4]
    if not words or len(text.strip()) < 2:
        return []
    guests = Guest.objects.filter(hotel_id=hotel_id)
    for word in words:
        digits = "".join(ch for ch in word if ch.isdigit())
        condition = (
            Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(email__icontains=word)
            | Q(phone__icontains=word)
        )
        if len(digits) >= 3:
            condition |= Q(phone__icontains=digits)
        guests = guests.filter(condition)
    return list(guests.order_by("last_name", "first_name")[:GUEST_MATCHES])


class ReservationDeskMixin:
    """Adds the quote, guest lookup and room board to the reservation admin."""

    def desk_urls(self) -> list:
        view = self.admin_site.admin_view
        return [
            path("quote/", view(self.quote_view), name="bookings_reservation_quote"),
            path("guests/", view(self.guest_lookup_view), name="bookings_reservation_guests"),
            path("board/", view(self.board_view), name="bookings_reservation_board"),
        ]

    def quote_view(self, request):
        user = request.user
        if not (
            user.has_perm("bookings.add_reservation")
            or user.has_perm("bookings.change_reservation")
        ):
            raise PermissionDenied
        reservation = None
        if request.POST.get("quote_reservation", "").isdigit():
            reservation = get_object_or_404(Reservation, pk=request.POST["quote_reservation"])
        form = QuoteForm(request.POST or None)
        context = {"form": form, "quote": form.quote(reservation) if form.is_valid() else None}
        return TemplateResponse(request, "admin/bookings/reservation/quote.html", context)

    def guest_lookup_view(self, request):
        if not request.user.has_perm("bookings.view_guest"):
            raise PermissionDenied
        hotel_id = request.GET.get("hotel", "")
        text = request.GET.get("guest_lookup", "")
        guests = find_guests(int(hotel_id), text) if hotel_id.isdigit() else []
        context = {"guests": guests, "text": text, "has_hotel": hotel_id.isdigit()}
        return TemplateResponse(request, "admin/bookings/reservation/guest_matches.html", context)

    def board_view(self, request):
        if not request.user.has_perm("bookings.view_reservation"):
            raise PermissionDenied
        hotels = list(Hotel.objects.order_by("code"))
        chosen = request.GET.get("hotel") or request.POST.get("hotel") or ""
        hotel = next((h for h in hotels if str(h.pk) == chosen), hotels[0] if hotels else None)
        if hotel is None:
            raise PermissionDenied
        today = hotel.today()
        try:
            start = date.fromisoformat(request.GET.get("start", ""))
        except ValueError:
            start = today
        start = min(max(start, today - timedelta(days=366)), today + timedelta(days=3 * 366))
        if request.method == "POST":
            return self._assign(request, hotel, start)
        board = room_board(hotel, start, BOARD_DAYS)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Room board · {hotel.name}",
            "hotel": hotel,
            "hotels": hotels,
            "board": board,
            "today": today,
            "previous": (start - timedelta(days=7)).isoformat(),
            "next": (start + timedelta(days=7)).isoformat(),
            "can_assign": request.user.has_perm("bookings.change_reservation"),
            "columns": [(row, row.columns(BOARD_DAYS)) for row in board.rows],
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/bookings/reservation/board.html", context)

    def _assign(self, request, hotel: Hotel, start: date):
        if not request.user.has_perm("bookings.change_reservation"):
            raise PermissionDenied
        stay = get_object_or_404(
            ReservationRoom.objects.select_related("reservation", "room_type"),
            pk=request.POST.get("stay", "0") if request.POST.get("stay", "").isdigit() else 0,
            reservation__hotel=hotel,
        )
        room_id = request.POST.get("room", "")
        room = get_object_or_404(Room, pk=room_id, hotel=hotel) if room_id.isdigit() else None
        try:
            assign_room(stay, room)
        except BookingError as error:
            messages.error(request, error.message)
        else:
            number = room.number if room else "no room"
            messages.success(
                request,
                f"{stay.reservation.confirmation_number}: {stay.room_type.code} → {number}.",
            )
        url = reverse("admin:bookings_reservation_board")
        return redirect(f"{url}?hotel={hotel.pk}&start={start.isoformat()}")
