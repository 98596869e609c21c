"""An OTA owns its reservations' stay and price; staff assign rooms and keep notes."""

from datetime import timedelta

import pytest
from django.urls import reverse

from bookings.models import ChangeEvent, InventoryDay, Reservation
from bookings.reservations import GuestDetails, reserve_stay
from tests.factories import sellable_hotel

pytestmark = pytest.mark.django_db


@pytest.fixture
def hotel():
    return sellable_hotel(rooms={"DBL": 2, "TWN": 1}, price=1_000_000)


@pytest.fixture
def staff(admin_client):
    return admin_client


def book(hotel, *, source="ota", external_id="BK7", days=5):
    check_in = hotel.today() + timedelta(days=days)
    return reserve_stay(
        hotel=hotel, room_type=hotel.room_types.get(code="DBL"), rate_plan=hotel.rate_plans.get(),
        check_in=check_in, check_out=check_in + timedelta(days=2), adults=2,
        guest=GuestDetails("Mira", "Sen"), source=source,
        source_channel="booking_com" if source == "ota" else "",
        external_id=external_id if source == "ota" else "", special_requests="Quiet room",
    )  # fmt: skip


def form_data(reservation, **changes) -> dict:
    stay = reservation.rooms.get()
    data = {
        "room_type": stay.room_type_id,
        "rate_plan": stay.rate_plan_id,
        "check_in": reservation.check_in.isoformat(),
        "check_out": reservation.check_out.isoformat(),
        "adults": reservation.adults,
        "children": reservation.children,
        "special_requests": reservation.special_requests,
        "room_1": "",
        "staff_notes": "",
        "rooms-TOTAL_FORMS": 1,
        "rooms-INITIAL_FORMS": 1,
        "rooms-0-id": stay.pk,
        "rooms-0-reservation": reservation.pk,
    }
    data.update(changes)
    return data


def change_url(reservation) -> str:
    return reverse("admin:bookings_reservation_change", args=[reservation.pk])


def test_staff_cannot_move_an_ota_reservations_dates(staff, hotel):
    reservation = book(hotel)
    later = (reservation.check_out + timedelta(days=1)).isoformat()

    response = staff.post(change_url(reservation), form_data(reservation, check_out=later))

    assert response.status_code == 200
    page = response.content.decode()
    assert "came from booking_com, which owns its dates" in page
    assert "assign rooms and add staff" in page
    reservation.refresh_from_db()
    assert reservation.version == 1 and reservation.nights == 2
    assert InventoryDay.objects.get(room_type__code="DBL", date=reservation.check_out).sold == 0


@pytest.mark.parametrize("field", ["room_type", "rate_plan", "adults", "special_requests"])
def test_staff_cannot_change_what_the_ota_owns(staff, hotel, field):
    reservation = book(hotel)
    value = {
        "room_type": hotel.room_types.get(code="TWN").pk,
        "rate_plan": "",
        "adults": 1,
        "special_requests": "Changed by staff",
    }[field]
    response = staff.post(change_url(reservation), form_data(reservation, **{field: value}))
    assert response.status_code == 200
    reservation.refresh_from_db()
    assert reservation.version == 1 and reservation.special_requests == "Quiet room"


def test_staff_assign_a_room_and_add_notes_to_an_ota_reservation(staff, hotel):
    reservation = book(hotel)
    room = hotel.rooms.filter(room_type__code="DBL").first()
    events = ChangeEvent.objects.count()

    response = staff.post(
        change_url(reservation),
        form_data(reservation, room_1=room.pk, staff_notes="VIP: upgrade if possible"),
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    reservation.refresh_from_db()
    assert reservation.rooms.get().room == room
    assert reservation.staff_notes == "VIP: upgrade if possible"
    assert reservation.version == 1  # nothing the channels need to hear of
    assert ChangeEvent.objects.count() == events


def test_a_room_held_by_another_stay_those_nights_is_refused(staff, hotel):
    room = hotel.rooms.filter(room_type__code="DBL").first()
    first = book(hotel, external_id="BK1")
    staff.post(change_url(first), form_data(first, room_1=room.pk))
    second = book(hotel, external_id="BK2", days=6)  # overlaps the first's second night

    response = staff.post(change_url(second), form_data(second, room_1=room.pk))

    assert response.status_code == 200
    assert f"Room {room.number} is taken by {first.confirmation_number}" in (
        response.content.decode()
    )
    assert second.rooms.get().room is None


def test_the_change_page_says_who_owns_the_stay(staff, hotel):
    reservation = book(hotel)
    page = staff.get(change_url(reservation)).content.decode()
    assert "as booking_com booked it" in page
    assert "Set by booking_com; changed there, not here." in page
    assert 'name="room_1"' in page and 'name="staff_notes"' in page


def test_staff_reservations_still_change_and_take_rooms(staff, hotel):
    reservation = book(hotel, source="staff")
    twn = hotel.rooms.get(room_type__code="TWN")

    response = staff.post(
        change_url(reservation),
        form_data(reservation, room_type=twn.room_type_id, room_1=twn.pk, staff_notes="Moved"),
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    reservation.refresh_from_db()
    assert reservation.version == 2 and reservation.staff_notes == "Moved"
    assert reservation.rooms.get().room == twn
    assert Reservation.objects.get(pk=reservation.pk).rooms.get().room_type.code == "TWN"


def test_a_room_of_another_type_is_refused_with_the_reason(staff, hotel):
    reservation = book(hotel)
    twn = hotel.rooms.get(room_type__code="TWN")

    response = staff.post(change_url(reservation), form_data(reservation, room_1=twn.pk))

    assert response.status_code == 200
    assert f"Room {twn.number} is not an active DBL room." in response.content.decode()
    assert reservation.rooms.get().room is None
