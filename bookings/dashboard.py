"""The figures of the Today dashboard (the admin index) for one hotel.

- :func:`today_figures`: arrivals, departures and in-house guests today and
  tomorrow; occupancy today and over the next 7 and 30 nights; the pickup of
  the last 30 days by channel; revenue on the books for the next 30 nights;
  the reservations to rehouse.
- :func:`needs_a_person`: what waits for staff, from every registered source.

Every figure is one query whatever the number of reservations: the dashboard
renders in a fixed number of queries (tests/bookings/test_dashboard.py).

Other apps add what needs a person without this app importing them: each
registers a callable with :func:`register_attention` (channels adds held
messages, dead jobs and connections in error in its ``AppConfig.ready``; the
payments app adds unpaid or expiring payment holds the same way). A source is
called with the hotel and answers a list of :class:`Attention` items.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Q, Sum, Window
from django.db.models.functions import TruncDate
from django.urls import reverse

from .models import Hotel, InventoryDay, Reservation, RoomNight

log = logging.getLogger(__name__)

LIST_LIMIT = 25  # guests listed per day and kind; the count and a link give the rest
PICKUP_DAYS = 30
REVENUE_DAYS = 30


# ------------------------------------------------------------------ needs a person


@dataclass(frozen=True)
class Attention:
    """One kind of thing that waits for staff: how many, where to see them, who may."""

    label: str
    count: int
    url: str
    permission: str
    severity: str = "warning"  # "warning" or "error"
    items: tuple[tuple[str, str], ...] = ()  # (text, url) of the first few


AttentionSource = Callable[[Hotel], list[Attention]]
_SOURCES: list[AttentionSource] = []


def register_attention(source: AttentionSource) -> AttentionSource:
    """Add a source of what needs a person (usable as a decorator); idempotent."""
    if source not in _SOURCES:
        _SOURCES.append(source)
    return source


def attention_sources() -> list[AttentionSource]:
    """The registered sources, in registration order."""
    return list(_SOURCES)


def needs_a_person(hotel: Hotel, user=None) -> list[Attention]:
    """Every registered source's items for ``hotel`` that ``user`` may see (all when None),
    those with nothing waiting left out. A source that fails is logged and skipped: the
    dashboard stays up."""
    found: list[Attention] = []
    for source in _SOURCES:
        try:
            items = source(hotel)
        except Exception:
            log.exception("Dashboard source %r failed", source)
            continue
        found += [
            item
            for item in items
            if item.count and (user is None or user.has_perm(item.permission))
        ]
    return found


@register_attention
def overbooked_reservations(hotel: Hotel) -> list[Attention]:
    """Confirmed reservations taken past availability, not over yet: to rehouse."""
    changelist = reverse("admin:bookings_reservation_changelist")
    waiting = Reservation.objects.filter(
        hotel=hotel,
        status=Reservation.Status.CONFIRMED,
        is_overbooked=True,
        check_out__gt=hotel.today(),
    )
    # One query: the first few, each carrying the count of all (a window over the rows).
    rows = list(
        waiting.annotate(total=Window(Count("id")))
        .order_by("check_in", "id")
        .values("pk", "confirmation_number", "check_in", "guest__last_name", "total")[:LIST_LIMIT]
    )
    count = rows[0]["total"] if rows else 0
    return [
        Attention(
            label="Overbooked reservations to rehouse",
            count=count,
            url=f"{changelist}?hotel__id__exact={hotel.pk}&is_overbooked__exact=1"
            "&status__exact=confirmed",
            permission="bookings.view_reservation",
            severity="error",
            items=tuple(
                (
                    f"{r['confirmation_number']} · {r['guest__last_name']} · {r['check_in']:%d %b}",
                    reverse("admin:bookings_reservation_change", args=[r["pk"]]),
                )
                for r in rows
            ),
        )
    ]


# ------------------------------------------------------------------ figures


@dataclass(frozen=True)
class ListedStay:
    """One reservation as a dashboard list shows it."""

    pk: int
    confirmation_number: str
    guest_name: str
    check_in: date
    check_out: date
    admin_url: str


@dataclass
class GuestList:
    """Reservations of one kind on one day (arrivals, departures or in-house)."""

    kind: str
    day: date
    count: int = 0
    reservations: list[ListedStay] = field(default_factory=list)
    url: str = ""

    @property
    def more(self) -> int:
        return self.count - len(self.reservations)


@dataclass(frozen=True)
class Occupancy:
    """Room-nights sold out of those the hotel has, over ``nights`` nights from today."""

    nights: int
    sold: int
    total: int
    overbooked: int

    @property
    def percent(self) -> int:
        return round(self.sold * 100 / self.total) if self.total else 0


@dataclass
class Pickup:
    """Reservations made per day over the last days, by channel."""

    days: list[date]
    channels: list[str]
    counts: dict[str, list[int]]

    @property
    def total(self) -> int:
        return sum(sum(row) for row in self.counts.values())

    def per_day(self) -> list[int]:
        return [sum(self.counts[c][i] for c in self.channels) for i in range(len(self.days))]


@dataclass
class TodayFigures:
    """Everything the Today dashboard shows of one hotel."""

    hotel: Hotel
    today: date
    lists: dict[str, GuestList]  # "arrivals_today", "departures_tomorrow", "in_house_today", ...
    occupancy: list[Occupancy]
    pickup: Pickup
    revenue: int
    revenue_nights: int
    currency: str


def channel_of(source: str, source_channel: str) -> str:
    """The channel a reservation came through, as the pickup chart names it."""
    if source_channel:
        return source_channel
    return dict(Reservation.Source.choices).get(source, source)


def _guest_lists(hotel: Hotel, today: date) -> dict[str, GuestList]:
    tomorrow = today + timedelta(days=1)
    changelist = reverse("admin:bookings_reservation_changelist")
    lists: dict[str, GuestList] = {}
    for day, when in ((today, "today"), (tomorrow, "tomorrow")):
        base = f"{changelist}?hotel__id__exact={hotel.pk}&status__exact=confirmed"
        lists[f"arrivals_{when}"] = GuestList("arrivals", day, url=f"{base}&check_in={day}")
        lists[f"departures_{when}"] = GuestList("departures", day, url=f"{base}&check_out={day}")
        lists[f"in_house_{when}"] = GuestList(
            "in_house", day, url=f"{base}&check_in__lte={day}&check_out__gt={day}"
        )
    # One query: every confirmed stay touching today or tomorrow, as plain values (a
    # busy hotel has hundreds in house; model instances would cost most of the page).
    stays = (
        Reservation.objects.filter(
            hotel=hotel,
            status=Reservation.Status.CONFIRMED,
            check_in__lte=tomorrow,
            check_out__gte=today,
        )
        .order_by("check_in", "guest__last_name", "id")
        .values_list(
            "pk", "confirmation_number", "guest__first_name", "guest__last_name",
            "check_in", "check_out",
        )
    )  # fmt: skip
    # One reverse for every row: reversing per reservation is most of a long list's cost.
    change_url = reverse("admin:bookings_reservation_change", args=[0]).replace("/0/", "/{}/")
    for pk, number, first, last, check_in, check_out in stays:
        listed = None
        for day, when in ((today, "today"), (tomorrow, "tomorrow")):
            kinds = []
            if check_in == day:
                kinds.append("arrivals")
            if check_out == day:
                kinds.append("departures")
            if check_in <= day < check_out:
                kinds.append("in_house")
            for kind in kinds:
                entry = lists[f"{kind}_{when}"]
                entry.count += 1
                if len(entry.reservations) < LIST_LIMIT:
                    listed = listed or ListedStay(
                        pk, number, f"{first} {last}", check_in, check_out,
                        change_url.format(pk),
                    )  # fmt: skip
                    entry.reservations.append(listed)
    return lists


def _occupancy(hotel: Hotel, today: date, spans: tuple[int, ...]) -> list[Occupancy]:
    sums = {}
    for nights in spans:
        window = Q(date__lt=today + timedelta(days=nights))
        sums[f"sold_{nights}"] = Sum("sold", filter=window, default=0)
        sums[f"total_{nights}"] = Sum("total", filter=window, default=0)
        sums[f"over_{nights}"] = Sum("overbooked", filter=window, default=0)
    row = InventoryDay.objects.filter(
        room_type__hotel=hotel,
        date__gte=today,
        date__lt=today + timedelta(days=max(spans)),
    ).aggregate(**sums)
    return [
        Occupancy(nights, row[f"sold_{nights}"], row[f"total_{nights}"], row[f"over_{nights}"])
        for nights in spans
    ]


def _pickup(hotel: Hotel, today: date, days: int) -> Pickup:
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, time.min, tzinfo=hotel.tz)
    rows = (
        Reservation.objects.filter(hotel=hotel, created_at__gte=since)
        .annotate(day=TruncDate("created_at", tzinfo=hotel.tz))
        .values("day", "source", "source_channel")
        .annotate(n=Count("id"))
        .order_by()
    )
    dates = [first + timedelta(days=i) for i in range(days)]
    index = {d: i for i, d in enumerate(dates)}
    counts: dict[str, list[int]] = {}
    for row in rows:
        if row["day"] not in index:
            continue
        channel = channel_of(row["source"], row["source_channel"])
        counts.setdefault(channel, [0] * days)[index[row["day"]]] += row["n"]
    channels = sorted(counts, key=lambda c: (-sum(counts[c]), c))
    return Pickup(dates, channels, counts)


def _revenue(hotel: Hotel, today: date, nights: int) -> int:
    return RoomNight.objects.filter(
        stay__reservation__hotel=hotel,
        stay__reservation__status=Reservation.Status.CONFIRMED,
        date__gte=today,
        date__lt=today + timedelta(days=nights),
    ).aggregate(total=Sum("price", default=0))["total"]


def today_figures(hotel: Hotel, today: date | None = None) -> TodayFigures:
    """The dashboard's figures for ``hotel`` on its local ``today``."""
    today = today or hotel.today()
    return TodayFigures(
        hotel=hotel,
        today=today,
        lists=_guest_lists(hotel, today),
        occupancy=_occupancy(hotel, today, (1, 7, 30)),
        pickup=_pickup(hotel, today, PICKUP_DAYS),
        revenue=_revenue(hotel, today, REVENUE_DAYS),
        revenue_nights=REVENUE_DAYS,
        currency=hotel.currency,
    )


def chosen_hotel(code: str | None) -> tuple[Hotel | None, list[Hotel]]:
    """The hotel named by ``code`` (the first one when none or unknown) and all hotels."""
    hotels = list(Hotel.objects.order_by("code"))
    chosen = next((h for h in hotels if h.code == code), hotels[0] if hotels else None)
    return chosen, hotels
