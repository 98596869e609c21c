"""Pema's calendar for partners that read it (an iCalendar export): the nights with no room left.

:func:`calendar_export` answers, for one partner room of a connection (a
room-level ``ChannelProduct``: the room type), which nights from today to the
provider's horizon have no room left for that partner, as spans. The provider
renders them in its wire format (``Provider.render_calendar``).

- **No echo.** The partner's own reservations and blocks on this connection's
  provider are counted as free: the partner knows of them already, and a
  night closed because of its own booking would come back to it as a block.
- **One room.** Where staff map a single room (``Provider.export_room``), a
  night is also closed when that room is given to another reservation.
- **Safe side.** A night with no calendar row, or with stop sell on the room
  type, is closed.

It is read on every poll of the partner, so it costs a fixed handful of
queries whatever the horizon: the product, the calendar rows, the partner's
own nights, its own blocks and, for one room, that room's nights.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from django.db.models import Count, Q

from bookings.models import InventoryDay, Reservation, RoomBlock, RoomNight

from .interface import CalendarExport, DateSpan
from .models import ChannelProduct, Connection


class UnknownRoom(LookupError):
    """The connection maps no room-level product under that partner room id."""


def _spans(days: list[date]) -> tuple[DateSpan, ...]:
    spans: list[DateSpan] = []
    for day in days:
        if spans and spans[-1].end + timedelta(days=1) == day:
            spans[-1] = DateSpan(spans[-1].start, day)
        else:
            spans.append(DateSpan(day, day))
    return tuple(spans)


def calendar_export(connection: Connection, partner_room_id: str) -> CalendarExport:
    """The nights ``partner_room_id`` has no room left on, today to the provider's horizon."""
    product = (
        ChannelProduct.objects.filter(
            connection=connection,
            partner_room_id=partner_room_id,
            rate_plan__isnull=True,
            active=True,
        )
        .select_related("room_type")
        .first()
    )
    if product is None:
        raise UnknownRoom(partner_room_id)
    provider = connection.get_provider()
    room_type = product.room_type
    hotel = connection.hotel
    today = hotel.today()
    last = today + timedelta(days=provider.capabilities().horizon_days - 1)
    nights = {"date__gte": today, "date__lte": last}
    live = ~Q(stay__reservation__status=Reservation.Status.CANCELLED)
    own_nights = Counter(
        dict(
            RoomNight.objects.filter(
                live,
                stay__room_type=room_type,
                stay__reservation__hotel=hotel,
                stay__reservation__source_channel=connection.provider,
                **nights,
            )
            .values("date")
            .annotate(n=Count("id"))
            .values_list("date", "n")
        )
    )
    own_blocked: Counter[date] = Counter()
    for held in RoomBlock.objects.filter(
        room_type=room_type,
        source_channel=connection.provider,
        released_at__isnull=True,
        end__gt=today,
        start__lte=last,
    ).values_list("nights", flat=True):
        own_blocked.update(date.fromisoformat(night) for night in held or ())
    room_taken: set[date] = set()
    room_number = provider.export_room(partner_room_id)
    if room_number:
        room_taken = set(
            RoomNight.objects.filter(
                live,
                stay__room__hotel=hotel,
                stay__room__number=room_number,
                **nights,
            )
            .exclude(stay__reservation__source_channel=connection.provider)
            .values_list("date", flat=True)
        )
        # The room out of order at the PMS is not Airbnb's to sell either.
        for held in RoomBlock.objects.filter(
            room__hotel=hotel,
            room__number=room_number,
            released_at__isnull=True,
            end__gt=today,
            start__lte=last,
        ).values_list("nights", flat=True):
            room_taken.update(date.fromisoformat(night) for night in held or ())
    rows = InventoryDay.objects.filter(room_type=room_type, **nights).values_list(
        "date", "total", "sold", "blocked", "overbooked", "stop_sell"
    )
    free: set[date] = set()
    for day, total, sold, blocked, overbooked, stop_sell in rows:
        others_sold = sold + overbooked - own_nights[day]
        others_blocked = blocked - own_blocked[day]
        if not stop_sell and day not in room_taken and total - others_sold - others_blocked > 0:
            free.add(day)
    every = [today + timedelta(days=n) for n in range((last - today).days + 1)]
    return CalendarExport(
        partner_room_id=partner_room_id,
        closed=_spans([day for day in every if day not in free]),
        today=today,
    )
