"""Twenty threads book the last room at once on PostgreSQL: exactly one wins."""

import threading
from datetime import timedelta

import pytest
from django.db import connection

from bookings.errors import NoAvailability
from bookings.models import InventoryDay, Reservation
from bookings.reservations import GuestDetails, reserve_stay
from tests.factories import sellable_hotel


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_threads_one_last_room():
    hotel = sellable_hotel(rooms={"LAST": 1}, days=10)
    room_type = hotel.room_types.get()
    rate_plan = hotel.rate_plans.get()
    check_in = hotel.today() + timedelta(days=2)
    start = threading.Barrier(20)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(n: int) -> None:
        try:
            start.wait()
            reserve_stay(
                hotel=hotel, room_type=room_type, rate_plan=rate_plan,
                check_in=check_in, check_out=check_in + timedelta(days=3), adults=1,
                guest=GuestDetails("Guest", str(n), f"g{n}@example.com"), source="booking_engine",
            )  # fmt: skip
            result = "booked"
        except NoAvailability:
            result = "refused"
        except Exception as exc:  # noqa: BLE001 - any other outcome fails the test below
            result = f"error: {exc!r}"
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["booked"] + ["refused"] * 19
    assert Reservation.objects.count() == 1
    days = InventoryDay.objects.filter(
        room_type=room_type, date__gte=check_in, date__lt=check_in + timedelta(days=3)
    )
    assert [(d.total, d.sold) for d in days] == [(1, 1)] * 3
