"""``pema.sql.select_values`` returns what the ORM's ``values_list`` returns."""

from datetime import timedelta

import pytest

from bookings.availability import InventoryRow, RateRow
from bookings.models import InventoryDay, RateDay
from pema.sql import select_values
from tests.factories import sellable_hotel

pytestmark = pytest.mark.django_db


@pytest.fixture
def hotel():
    return sellable_hotel(rooms={"DBL": 2, "TWN": 1}, days=20)


def orm(model, fields, **lookups):
    return list(model.objects.filter(**lookups).values_list(*fields).order_by())


def test_same_rows_and_types_as_the_orm(hotel):
    start = hotel.today() + timedelta(days=3)
    RateDay.objects.filter(date=start).update(price=None, max_stay=5, closed_to_arrival=True)
    InventoryDay.objects.filter(date=start).update(stop_sell=True, blocked=1)
    room_types = list(hotel.room_types.values_list("id", flat=True))
    plans = list(hotel.rate_plans.values_list("id", flat=True))
    cases = [
        (InventoryDay, InventoryRow._fields, {"room_type__in": room_types, "date__gte": start,
                                              "date__lt": start + timedelta(days=7)}),
        (RateDay, RateRow._fields, {"room_type__in": room_types[:1], "rate_plan__in": plans,
                                    "date__gte": start, "date__lte": start + timedelta(days=7)}),
        (RateDay, ("date", "price"), {"room_type": room_types[0], "date__gt": start}),
    ]  # fmt: skip
    for model, fields, lookups in cases:
        expected = sorted(orm(model, fields, **lookups))
        got = sorted(select_values(model, fields, **lookups))
        assert expected and got == expected
        assert [list(map(type, row)) for row in got] == [list(map(type, row)) for row in expected]


def test_an_empty_in_list_matches_nothing(hotel):
    assert select_values(InventoryDay, ("date",), room_type__in=[]) == []


# --- The other hand-written statements of the booking path ---------------------------------


def _values(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def test_get_instance_is_the_instance_the_orm_reads(hotel):
    from bookings.models import Hotel, RatePlan, RoomType
    from pema.sql import get_instance

    cases = [
        (Hotel, {"id__in": [hotel.id], "code": hotel.code}),
        (RoomType, {"hotel_id": hotel.id, "code": "TWN"}),
        (RatePlan, {"hotel_id": hotel.id, "code": "BAR", "is_active": True}),
    ]
    for model, lookups in cases:
        expected = model.objects.filter(**lookups).order_by("pk").first()
        got = get_instance(model, **lookups)
        assert expected is not None and type(got) is model
        assert _values(got) == _values(expected)
        assert not got._state.adding and got._state.db == "default"
    hotel.rate_plans.update(is_active=False)
    assert get_instance(RatePlan, hotel_id=hotel.id, code="BAR", is_active=True) is None
    assert get_instance(Hotel, id__in=[], code=hotel.code) is None


def _reservation(hotel, number: str, **fields):
    from bookings.models import Guest, Reservation

    guest = Guest.objects.create(hotel=hotel, first_name="Asha", last_name="Rao")
    start = hotel.today() + timedelta(days=2)
    return Reservation(
        hotel=hotel, guest=guest, confirmation_number=number, source="staff", check_in=start,
        check_out=start + timedelta(days=2), adults=2, total_amount=100, currency="INR", **fields,
    )  # fmt: skip


def test_insert_rows_writes_what_the_orm_reads_back(hotel):
    from bookings.models import Reservation, ReservationRoom, RoomNight
    from pema.sql import insert_rows

    reservation = _reservation(hotel, "TEST-AAAAAA", special_requests="Late")
    assert insert_rows([reservation]) == 1
    assert reservation.pk and not reservation._state.adding
    stored = Reservation.objects.get(pk=reservation.pk)
    assert _values(stored) == _values(reservation)
    assert stored.created_at is not None  # auto_now_add ran
    room = ReservationRoom(
        reservation=reservation, room_type=hotel.room_types.get(code="DBL"),
        rate_plan=hotel.rate_plans.get(), adults=2, total_amount=100,
    )  # fmt: skip
    insert_rows([room])
    nights = [RoomNight(stay=room, date=reservation.check_in + timedelta(days=i), price=50 + i)
              for i in range(2)]  # fmt: skip
    assert insert_rows(nights) == 2
    # Each row's id is the one its values went into.
    assert {n.pk: n.price for n in nights} == dict(
        RoomNight.objects.filter(stay=room).values_list("pk", "price")
    )


def test_insert_rows_skips_only_the_named_conflict(hotel):
    from django.db import IntegrityError, transaction

    from bookings.models import Reservation
    from pema.sql import insert_rows

    insert_rows([_reservation(hotel, "TEST-TAKEN1", external_id="X1", source_channel="ota")])
    again = _reservation(hotel, "TEST-TAKEN1")
    assert insert_rows([again], skip_conflicts_on="confirmation_number") == 0
    assert again.pk is None and again._state.adding
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_rows([_reservation(hotel, "TEST-TAKEN1")])
    with pytest.raises(IntegrityError), transaction.atomic():
        # Another unique index (the channel's reservation id) is not skipped.
        twin = _reservation(hotel, "TEST-OTHER1", external_id="X1", source_channel="ota")
        insert_rows([twin], skip_conflicts_on="confirmation_number")
    assert Reservation.objects.filter(hotel=hotel).count() == 1


def test_add_to_columns_and_save_fields_write_like_update(hotel):
    from bookings.models import Reservation
    from pema.sql import add_to_columns, insert_rows, save_fields

    start = hotel.today() + timedelta(days=3)
    rows = InventoryDay.objects.filter(
        room_type__hotel=hotel, date__in=[start, start + timedelta(1)]
    )
    before = {r.pk: (r.sold, r.overbooked, r.blocked) for r in rows}
    dbl = hotel.room_types.get(code="DBL")
    changed = add_to_columns(
        InventoryDay, {"sold": 2, "overbooked": 1}, room_type_id=dbl.id,
        date__in=[start, start + timedelta(days=1)],
    )  # fmt: skip
    assert changed == 2
    after = {r.pk: (r.sold, r.overbooked, r.blocked) for r in rows.all()}
    for pk, (sold, over, blocked) in before.items():
        room_type_id = InventoryDay.objects.get(pk=pk).room_type_id
        step = (2, 1) if room_type_id == dbl.id else (0, 0)
        assert after[pk] == (sold + step[0], over + step[1], blocked)
    assert add_to_columns(InventoryDay, {"sold": 1}, room_type_id__in=[]) == 0
    reservation = _reservation(hotel, "TEST-SAVE01")
    insert_rows([reservation])
    reservation.special_requests, reservation.adults = "Quiet room", 3
    assert save_fields(reservation, ["special_requests"]) == 1
    stored = Reservation.objects.get(pk=reservation.pk)
    assert (stored.special_requests, stored.adults) == ("Quiet room", 2)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_for_update_locks_the_rows_it_reads(hotel):
    """Another transaction cannot take the rows until the locking one ends."""
    import threading

    from django.db import OperationalError, connection, transaction

    start = hotel.today() + timedelta(days=3)
    dbl = hotel.room_types.get(code="DBL")
    outcome = {}

    def other() -> None:
        try:
            with transaction.atomic():
                list(InventoryDay.objects.select_for_update(nowait=True).filter(
                    room_type=dbl, date=start))  # fmt: skip
            outcome["locked"] = False
        except OperationalError:
            outcome["locked"] = True
        finally:
            connection.close()

    with transaction.atomic():
        rows = select_values(
            InventoryDay, ("room_type_id", "date"), order_by=("date",), for_update=True,
            room_type_id=dbl.id, date__in=[start + timedelta(days=1), start],
        )  # fmt: skip
        assert rows == [(dbl.id, start), (dbl.id, start + timedelta(days=1))]
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
    assert outcome == {"locked": True}
    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert outcome == {"locked": False}
