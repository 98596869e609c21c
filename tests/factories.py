"""factory_boy factories for the bookings models, and a small ready-to-sell hotel."""

from __future__ import annotations

from datetime import timedelta

import factory

from bookings.inventory import ensure_calendar
from bookings.models import ChangeEvent, Guest, Hotel, RateDay, RatePlan, Room, RoomType


class HotelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Hotel
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"H{n:03d}")
    name = factory.Sequence(lambda n: f"Hotel {n}")
    timezone = "Asia/Kolkata"
    currency = "INR"


class RoomTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoomType

    hotel = factory.SubFactory(HotelFactory)
    code = factory.Sequence(lambda n: f"RT{n}")
    name = factory.LazyAttribute(lambda o: f"Room type {o.code}")
    max_adults = 2
    max_children = 1
    max_occupancy = 3
    base_occupancy = 2


class RoomFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Room

    room_type = factory.SubFactory(RoomTypeFactory)
    hotel = factory.LazyAttribute(lambda o: o.room_type.hotel)
    number = factory.Sequence(lambda n: str(1000 + n))


class RatePlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RatePlan
        skip_postgeneration_save = True  # the hook below only sets the m2m

    hotel = factory.SubFactory(HotelFactory)
    code = factory.Sequence(lambda n: f"RP{n}")
    name = factory.LazyAttribute(lambda o: f"Rate {o.code}")
    currency = factory.LazyAttribute(lambda o: o.hotel.currency)

    @factory.post_generation
    def room_types(self, create, extracted, **kwargs):
        if create and extracted:
            self.room_types.set(extracted)


class GuestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Guest

    hotel = factory.SubFactory(HotelFactory)
    first_name = "Asha"
    last_name = factory.Sequence(lambda n: f"Guest{n}")
    email = factory.LazyAttribute(lambda o: f"{o.last_name.lower()}@example.com")


def sellable_hotel(
    *,
    code: str = "TEST",
    rooms: dict[str, int] | None = None,
    price: int = 1_000_000,
    days: int = 60,
    currency: str = "INR",
) -> Hotel:
    """A hotel with room types (code -> number of rooms), one rate plan ``BAR`` selling
    all of them at ``price`` minor units a night, and ``days`` of calendar from today."""
    rooms = rooms or {"DBL": 2, "TWN": 1}
    hotel = HotelFactory(code=code, currency=currency)
    room_types = []
    for index, (rt_code, count) in enumerate(rooms.items()):
        room_type = RoomTypeFactory(hotel=hotel, code=rt_code, name=f"{rt_code} room")
        for n in range(count):
            RoomFactory(room_type=room_type, number=f"{index + 1}{n + 1:02d}")
        room_types.append(room_type)
    RatePlanFactory(hotel=hotel, code="BAR", name="Best available", room_types=room_types)
    today = hotel.today()
    ensure_calendar(hotel, today, today + timedelta(days=days))
    RateDay.objects.filter(rate_plan__hotel=hotel).update(
        price=price, extra_adult_price=price // 4, extra_child_price=price // 10
    )
    # Building the hotel is set-up, not news: tests start with an empty change log.
    ChangeEvent.objects.filter(hotel=hotel).delete()
    return hotel
