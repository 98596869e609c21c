"""Many reservations at once, for query-count tests and the admin benchmark.

Written straight to the tables (bulk inserts), not through the booking
functions: what is measured is reading them, and 5,000 bookings one by one
would take minutes. Stays are spread over ``days`` around today, created over
the last 40 days, through a few channels, some overbooked; the calendar's
``sold`` is left alone (it stays within its CHECK), so occupancy reads what the
calendar says.
"""

from __future__ import annotations

import random
import uuid
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from bookings.models import Guest, Reservation, ReservationRoom, RoomNight

CHANNELS = (("booking_engine", ""), ("ota", "booking_com"), ("ota", "expedia"), ("staff", ""))


def bulk_reservations(hotel, count: int, *, days: int = 60, seed: int = 7) -> list[Reservation]:
    """``count`` confirmed reservations of ``hotel`` (about 1 in 50 overbooked)."""
    rng = random.Random(seed)
    batch = uuid.uuid4().hex[:8]  # several calls in one test never collide
    today = hotel.today()
    room_types = list(hotel.room_types.all())
    plans = list(hotel.rate_plans.all())
    now = timezone.now()
    with transaction.atomic():
        guests = Guest.objects.bulk_create(
            [
                Guest(
                    hotel=hotel,
                    first_name="Bulk",
                    last_name=f"G{i}",
                    email=f"g{i}-{batch}@bulk.test",
                )
                for i in range(count)
            ],
            batch_size=1000,
        )
        reservations, stays = [], []
        for i, guest in enumerate(guests):
            nights = rng.randint(1, 4)
            start = today + timedelta(days=rng.randint(-10, days - 10))
            source, channel = rng.choice(CHANNELS)
            reservations.append(
                Reservation(
                    hotel=hotel,
                    confirmation_number=f"B{batch}{i:06d}",
                    source=source,
                    source_channel=channel,
                    guest=guest,
                    check_in=start,
                    check_out=start + timedelta(days=nights),
                    adults=2,
                    total_amount=1_000_000 * nights,
                    currency=hotel.currency,
                    is_overbooked=rng.random() < 0.02,
                )
            )
            stays.append((rng.choice(room_types), rng.choice(plans), start, nights))
        Reservation.objects.bulk_create(reservations, batch_size=1000)
        for res in reservations:
            res.created_at = now - timedelta(hours=rng.randint(0, 40 * 24))
        Reservation.objects.bulk_update(reservations, ["created_at"], batch_size=1000)
        rooms = ReservationRoom.objects.bulk_create(
            [
                ReservationRoom(
                    reservation=res, room_type=rt, rate_plan=plan, adults=2,
                    total_amount=res.total_amount,
                )
                for res, (rt, plan, _, _) in zip(reservations, stays, strict=True)
            ],
            batch_size=1000,
        )  # fmt: skip
        RoomNight.objects.bulk_create(
            [
                RoomNight(stay=room, date=start + timedelta(days=d), price=1_000_000)
                for room, (_, _, start, nights) in zip(rooms, stays, strict=True)
                for d in range(nights)
            ],
            batch_size=5000,
        )
    return reservations
