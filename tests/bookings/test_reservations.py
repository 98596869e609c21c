"""Reservations: inventory accounting through create, modify and cancel; overbooking by OTAs."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction

from bookings.errors import InvalidStay, NoAvailability, PriceChanged, ReservationClosed
from bookings.models import ChangeEvent, Guest, InventoryDay, Reservation
from bookings.reservations import (
    GuestDetails,
    cancel_reservation,
    modify_reservation,
    reserve_stay,
)
from tests.factories import sellable_hotel

pytestmark = pytest.mark.django_db


@pytest.fixture
def hotel():
    return sellable_hotel(rooms={"DBL": 2, "TWN": 1}, price=1_000_000)


def sold(hotel, code, offset):
    day = InventoryDay.objects.get(
        room_type__hotel=hotel, room_type__code=code, date=hotel.today() + timedelta(days=offset)
    )
    return day.sold, day.overbooked


def book(hotel, code="DBL", arrive_in=5, nights=2, source="booking_engine", email="a@x.com", **kw):
    check_in = hotel.today() + timedelta(days=arrive_in)
    return reserve_stay(
        hotel=hotel,
        room_type=hotel.room_types.get(code=code),
        rate_plan=hotel.rate_plans.get(code="BAR"),
        check_in=check_in,
        check_out=check_in + timedelta(days=nights),
        adults=kw.pop("adults", 2),
        guest=GuestDetails("Asha", "Rao", email),
        source=source,
        **kw,
    )


def test_create_counts_the_rooms_and_records_an_event(hotel):
    reservation = book(hotel)
    assert reservation.confirmation_number.startswith("TEST-")
    assert len(reservation.confirmation_number) == len("TEST-") + 6
    assert reservation.total_amount == 2_000_000 and reservation.currency == "INR"
    assert [sold(hotel, "DBL", d) for d in (4, 5, 6, 7)] == [(0, 0), (1, 0), (1, 0), (0, 0)]
    nights = list(reservation.rooms.get().nights.values_list("price", flat=True))
    assert nights == [1_000_000, 1_000_000]
    event = ChangeEvent.objects.get(reservation=reservation)
    assert event.kind == "reservation.created"
    assert event.payload["room_type"] == "DBL" and event.payload["total_amount"] == 2_000_000


def test_sold_out_is_refused_and_changes_nothing(hotel):
    book(hotel, code="TWN")
    with pytest.raises(NoAvailability) as error:
        book(hotel, code="TWN", email="b@x.com")
    assert error.value.reasons[0].code == "sold_out"
    assert Reservation.objects.count() == 1
    assert sold(hotel, "TWN", 5) == (1, 0)


def test_shown_total_must_match(hotel):
    with pytest.raises(PriceChanged) as error:
        book(hotel, expected_total=1_500_000)
    assert error.value.total == 2_000_000
    assert Reservation.objects.count() == 0
    assert book(hotel, expected_total=2_000_000).total_amount == 2_000_000


def test_one_guest_per_email_per_hotel(hotel):
    book(hotel, email="Asha@X.com")
    book(hotel, email="asha@x.com")
    assert Guest.objects.filter(hotel=hotel).count() == 1


def test_modify_moves_inventory_and_reprices(hotel):
    reservation = book(hotel, code="DBL", nights=2)
    changed = modify_reservation(
        reservation,
        source="staff",
        room_type=hotel.room_types.get(code="TWN"),
        check_out=reservation.check_in + timedelta(days=3),
    )
    assert changed.version == 2 and changed.total_amount == 3_000_000
    assert [sold(hotel, "DBL", d) for d in (5, 6, 7)] == [(0, 0)] * 3
    assert [sold(hotel, "TWN", d) for d in (5, 6, 7)] == [(1, 0)] * 3
    event = ChangeEvent.objects.filter(kind="reservation.modified").get()
    assert event.payload["previous"]["room_type"] == "DBL" and event.payload["room_type"] == "TWN"


def test_modify_to_a_sold_out_stay_leaves_everything_as_it_was(hotel):
    book(hotel, code="TWN", arrive_in=10, email="b@x.com")
    reservation = book(hotel, code="DBL")
    with pytest.raises(NoAvailability):
        modify_reservation(
            reservation, source="staff", room_type=hotel.room_types.get(code="TWN"),
            check_in=hotel.today() + timedelta(days=9),
            check_out=hotel.today() + timedelta(days=11),
        )  # fmt: skip
    reservation.refresh_from_db()
    assert reservation.version == 1 and reservation.check_in == hotel.today() + timedelta(days=5)
    assert sold(hotel, "DBL", 5) == (1, 0)
    assert sold(hotel, "TWN", 10) == (1, 0)


def test_modify_within_own_rooms_needs_no_extra_room(hotel):
    reservation = book(hotel, code="TWN", nights=2)
    changed = modify_reservation(
        reservation, source="staff", check_out=reservation.check_out + timedelta(days=1)
    )
    assert [sold(hotel, "TWN", d) for d in (5, 6, 7)] == [(1, 0)] * 3
    assert changed.total_amount == 3_000_000


def test_cancel_releases_and_twice_is_harmless(hotel):
    reservation = book(hotel)
    cancelled, did = cancel_reservation(reservation, source="staff")
    assert did and cancelled.status == "cancelled" and cancelled.cancelled_at
    assert sold(hotel, "DBL", 5) == (0, 0)
    again, did_again = cancel_reservation(reservation, source="staff")
    assert not did_again and again.status == "cancelled"
    assert sold(hotel, "DBL", 5) == (0, 0)
    assert ChangeEvent.objects.filter(kind="reservation.cancelled").count() == 1
    with pytest.raises(ReservationClosed):
        modify_reservation(reservation, source="staff", adults=1)


def test_ota_booking_past_availability_is_accepted_and_flagged(hotel):
    book(hotel, code="TWN")
    ota = book(hotel, code="TWN", source="ota", source_channel="booking_com", external_id="B1",
               email="b@x.com", nightly_prices=[900_000, 900_000])  # fmt: skip
    assert ota.is_overbooked and ota.total_amount == 1_800_000
    assert sold(hotel, "TWN", 5) == (1, 1)
    staff = Reservation.objects.exclude(pk=ota.pk).get()
    cancel_reservation(staff, source="staff")
    ota.refresh_from_db()
    # The freed room goes to the overbooked guest, not back on sale.
    assert not ota.is_overbooked
    assert sold(hotel, "TWN", 5) == (1, 0)


def test_ota_booking_within_availability_is_not_flagged(hotel):
    ota = book(hotel, source="ota", source_channel="expedia", external_id="E1")
    assert not ota.is_overbooked and sold(hotel, "DBL", 5) == (1, 0)


def test_guests_over_the_room_limit_are_refused(hotel):
    with pytest.raises(InvalidStay) as error:
        book(hotel, adults=3)
    assert error.value.code == "too_many_guests"


def test_database_check_forbids_overselling(hotel):
    day = InventoryDay.objects.filter(room_type__code="TWN").first()
    with pytest.raises(IntegrityError), transaction.atomic():
        InventoryDay.objects.filter(pk=day.pk).update(sold=2)


def test_a_modification_that_changes_nothing_is_not_an_event(hotel):
    reservation = book(hotel)
    same = modify_reservation(
        reservation, source="staff", check_in=reservation.check_in, adults=reservation.adults
    )
    assert same.version == 1
    assert not ChangeEvent.objects.filter(kind="reservation.modified").exists()


def test_a_returning_guest_keeps_what_the_new_details_leave_out(hotel):
    first = reserve_stay(
        hotel=hotel,
        room_type=hotel.room_types.get(code="DBL"),
        rate_plan=hotel.rate_plans.get(code="BAR"),
        check_in=hotel.today() + timedelta(days=5),
        check_out=hotel.today() + timedelta(days=6),
        adults=1,
        guest=GuestDetails("Asha", "Rao", "asha@x.com", phone="+91 1", country="in"),
        source="booking_engine",
    )
    again = book(hotel, arrive_in=8, email=" ASHA@x.com ")  # no phone, no country
    stored = Guest.objects.get(hotel=hotel)
    assert again.guest_id == first.guest_id == stored.pk
    assert (stored.phone, stored.country, stored.email) == ("+91 1", "IN", "asha@x.com")
    # The guest handed back is the row as stored, not the details sent.
    in_hand = again.guest
    assert [getattr(in_hand, f.attname) for f in Guest._meta.concrete_fields] == [
        getattr(stored, f.attname) for f in Guest._meta.concrete_fields
    ]
    renamed = reserve_stay(
        hotel=hotel,
        room_type=hotel.room_types.get(code="DBL"),
        rate_plan=hotel.rate_plans.get(code="BAR"),
        check_in=hotel.today() + timedelta(days=10),
        check_out=hotel.today() + timedelta(days=11),
        adults=1,
        guest=GuestDetails("Asha", "Menon", "asha@x.com", country="GB"),
        source="booking_engine",
    )
    stored.refresh_from_db()
    assert renamed.guest.last_name == stored.last_name == "Menon"
    assert (stored.phone, stored.country) == ("+91 1", "GB")
    assert Guest.objects.filter(hotel=hotel).count() == 1


def test_guests_without_email_are_never_merged(hotel):
    book(hotel, email="")
    book(hotel, arrive_in=8, email="")
    assert Guest.objects.filter(hotel=hotel, email="").count() == 2


def test_the_booking_in_hand_matches_a_fresh_read(hotel):
    reservation = book(hotel, nights=3, rooms=2)
    stays = list(reservation.rooms.all())  # from memory: no query
    fresh = Reservation.objects.prefetch_related("rooms__nights").get(pk=reservation.pk)
    fresh_stays = sorted(fresh.rooms.all(), key=lambda r: r.pk)
    assert [r.pk for r in stays] == [r.pk for r in fresh_stays]
    for mine, theirs in zip(stays, fresh_stays, strict=True):
        assert (mine.room_type_id, mine.rate_plan_id, mine.total_amount) == (
            theirs.room_type_id,
            theirs.rate_plan_id,
            theirs.total_amount,
        )
        assert [(n.pk, n.date, n.price, n.overbooked) for n in mine.nights.all()] == [
            (n.pk, n.date, n.price, n.overbooked) for n in theirs.nights.order_by("date")
        ]
    for field in Reservation._meta.concrete_fields:
        assert getattr(reservation, field.attname) == getattr(fresh, field.attname), field.name


def test_a_plan_that_does_not_sell_the_room_type_is_refused(hotel):
    plan = hotel.rate_plans.get(code="BAR")
    plan.room_types.remove(hotel.room_types.get(code="TWN"))
    with pytest.raises(InvalidStay) as error:
        book(hotel, code="TWN")
    assert error.value.code == "rate_plan_not_for_room_type"
    assert Reservation.objects.count() == 0
