"""The Pema Wellness hotel as described in the IDS Next integration document.

``seed_pema_wellness`` is idempotent: run again, it changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction

from .availability_cache import ari_changed
from .inventory import calendar_horizon, ensure_calendar
from .models import Hotel, RateDay, RatePlan, Room, RoomType


def _numbers(*spans: str) -> list[str]:
    out: list[str] = []
    for span in spans:
        if "-" in span:
            first, last = (int(x) for x in span.split("-"))
            out.extend(str(n) for n in range(first, last + 1))
        else:
            out.append(span)
    return out


# (category, bed type, IDS code, room numbers, max occupancy, BB price in rupees)
PEMA_ROOM_TABLE: list[tuple[str, str, str, list[str], int, int]] = [
    ("Executive", "Twin", "EXT", _numbers("101", "107", "108"), 2, 14000),
    ("Executive", "Queen", "EXQ", _numbers("102-106", "109", "111", "112"), 2, 14000),
    ("Executive Junior Suite", "Super King", "SUI", _numbers("110", "113"), 3, 22000),
    ("Pema Suite", "Super King", "PES", _numbers("114-118"), 3, 26000),
    ("Standard", "Twin", "STT", _numbers("201-205", "207-215"), 2, 10000),
    ("Standard", "Queen", "STQ", _numbers("206", "209"), 2, 10000),
    (
        "Premium Balcony",
        "Twin",
        "PBT",
        _numbers("301-303", "305-308", "310", "312", "314-319"),
        2,
        12000,
    ),
    ("Premium Balcony", "Queen", "PBQ", _numbers("304", "309", "311", "313"), 2, 12000),
    ("Premium Garden", "Twin", "PGT", _numbers("401-419"), 2, 12000),
    ("Elemental Villa", "Super King", "PEV", _numbers("501-505"), 3, 35000),
]


@dataclass
class SeedReport:
    """What the seed created, and what it decided about the source table."""

    created: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def count(self, what: str, n: int = 1) -> None:
        self.created[what] = self.created.get(what, 0) + n


def _owner_of_each_room() -> dict[str, str]:
    """Each room number's one room type; a number listed twice goes to the later listing.

    The document lists room 209 under both STT and STQ; STQ, which lists it
    among only two rooms, is the more specific entry.
    """
    owner: dict[str, str] = {}
    for _, _, code, numbers, _, _ in PEMA_ROOM_TABLE:
        for number in numbers:
            owner[number] = code
    return owner


@transaction.atomic
def seed_pema_wellness() -> SeedReport:
    report = SeedReport()
    hotel, created = Hotel.objects.get_or_create(
        code="PEMA",
        defaults={
            "name": "Pema Wellness",
            "timezone": "Asia/Kolkata",
            "currency": "INR",
            "address": "Pema Wellness Resort, Visakhapatnam, Andhra Pradesh, India",
            "policies": "Check-in from 14:00, check-out by 11:00. No smoking.",
            "amenities": ["spa", "yoga", "naturopathy", "restaurant", "wifi"],
        },
    )
    if created:
        report.count("hotel")
    owner = _owner_of_each_room()
    prices: dict[str, int] = {}
    for order, (category, bed, code, numbers, occupancy, rupees) in enumerate(PEMA_ROOM_TABLE):
        room_type, made = RoomType.objects.get_or_create(
            hotel=hotel,
            code=code,
            defaults={
                "name": f"{category} {bed}",
                "category": category,
                "bed_type": bed,
                "base_occupancy": 2,
                "max_adults": min(occupancy, 3),
                "max_children": 1,
                "max_occupancy": occupancy,
                "sort_order": order,
            },
        )
        report.count("room types", made)
        prices[code] = rupees * 100
        for number in numbers:
            if owner[number] != code:
                if Room.objects.filter(hotel=hotel, number=number).exists():
                    continue
                report.notes.append(
                    f"Room {number} is listed under both {code} and {owner[number]}: "
                    f"created once, as {owner[number]}."
                )
                continue
            _, made = Room.objects.get_or_create(
                hotel=hotel,
                number=number,
                defaults={"room_type": room_type, "floor": number[0]},
            )
            report.count("rooms", made)

    room_types = list(hotel.room_types.all())
    flexible, made = RatePlan.objects.get_or_create(
        hotel=hotel,
        code="BAR-BB",
        defaults={
            "name": "Flexible, bed and breakfast",
            "currency": hotel.currency,
            "meal_plan": RatePlan.MealPlan.BREAKFAST,
            "refundable": True,
            "free_cancellation_days": 2,
            "cancellation_policy": "Free cancellation until 2 days before arrival.",
        },
    )
    report.count("rate plans", made)
    non_refundable, made = RatePlan.objects.get_or_create(
        hotel=hotel,
        code="NRF-BB",
        defaults={
            "name": "Non-refundable, bed and breakfast",
            "currency": hotel.currency,
            "meal_plan": RatePlan.MealPlan.BREAKFAST,
            "refundable": False,
            "free_cancellation_days": 0,
            "cancellation_policy": "Non-refundable: paid in full at booking.",
            "parent": flexible,
            "derivation": RatePlan.Derivation.PERCENT,
            "derivation_value": 10,
        },
    )
    report.count("rate plans", made)
    for plan in (flexible, non_refundable):
        if not plan.room_types.exists():
            plan.room_types.set(room_types)

    start, end = calendar_horizon(hotel)
    report.count("calendar rows", ensure_calendar(hotel, start, end))
    # Fresh rows have no price yet: give them the room type's base price.
    for room_type in room_types:
        base = prices.get(room_type.code)
        if base is None:
            continue
        for plan in (flexible, non_refundable):
            price = base if plan is flexible else plan.derive_price(base)
            RateDay.objects.filter(
                rate_plan=plan,
                room_type=room_type,
                price__isnull=True,
                date__gte=start,
                date__lte=end + timedelta(days=1),
            ).update(price=price, extra_adult_price=250000, extra_child_price=120000)
    ari_changed(hotel.id)  # prices set in bulk, past the model signals
    return report
