"""The reservation desk in the admin: live quote, guest lookup and reuse, contact details,
the overbooked marker, and the room board."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from bookings.models import Guest, RateDay, Reservation
from bookings.reservations import GuestDetails, reserve_stay
from bookings.staff_groups import sync_staff_groups
from tests.factories import sellable_hotel

pytestmark = pytest.mark.django_db


@pytest.fixture
def hotel():
    return sellable_hotel(rooms={"DBL": 2, "TWN": 1}, price=1_000_000)


@pytest.fixture
def front(client):
    sync_staff_groups()
    user = User.objects.create_user("front", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name="Front office"))
    client.force_login(user)
    return client


def book(hotel, code="DBL", days=5, source="staff", **extra):
    check_in = hotel.today() + timedelta(days=days)
    return reserve_stay(
        hotel=hotel, room_type=hotel.room_types.get(code=code), rate_plan=hotel.rate_plans.get(),
        check_in=check_in, check_out=check_in + timedelta(days=2), adults=2,
        guest=GuestDetails("Asha", "Rao", "asha@example.com", "+91 98450 12345"), source=source,
        **extra,
    )  # fmt: skip


def quote(client, hotel, code="TWN", days=3, nights=2, **extra):
    check_in = hotel.today() + timedelta(days=days)
    data = {
        "hotel": hotel.pk, "room_type": hotel.room_types.get(code=code).pk,
        "rate_plan": hotel.rate_plans.get().pk, "check_in": check_in.isoformat(),
        "check_out": (check_in + timedelta(days=nights)).isoformat(), "adults": 2, "children": 0,
        "rooms": 1,
    } | extra  # fmt: skip
    response = client.post(reverse("admin:bookings_reservation_quote"), data)
    assert response.status_code == 200
    return " ".join(response.content.decode().split())


def test_the_quote_prices_each_night_and_says_why_a_stay_cannot_be_sold(front, hotel):
    check_in = hotel.today() + timedelta(days=3)
    RateDay.objects.filter(date=check_in + timedelta(days=1)).update(price=1_200_000)
    page = quote(front, hotel)
    assert "Can be sold" in page and "22,000.00 INR" in page
    assert f"{check_in:%a %d %b %Y}</td><td>10,000.00 INR" in page
    assert "12,000.00 INR" in page
    RateDay.objects.filter(date=check_in).update(min_stay_arrival=3)
    page = quote(front, hotel)
    assert "Cannot be sold" in page and "needs a stay of at least 3 nights" in page
    RateDay.objects.filter(date=check_in).update(min_stay_arrival=1)
    book(hotel, code="TWN", days=3)
    assert "Sold out on" in quote(front, hotel)
    assert "Check-out must be after check-in" in quote(front, hotel, nights=0)
    assert "Choose the room type" in quote(front, hotel, adults="")


def test_the_change_form_quote_counts_the_reservations_own_room_as_free(front, hotel):
    reservation = book(hotel, code="TWN", days=3)
    page = quote(front, hotel, quote_reservation=reservation.pk, nights=3)
    assert "Can be sold" in page and "30,000.00 INR" in page


def test_guest_lookup_finds_by_name_email_or_phone(front, hotel):
    book(hotel)
    url = reverse("admin:bookings_reservation_guests")
    for text in ("asha", "Rao", "asha@example", "98450"):
        page = front.get(url, {"hotel": hotel.pk, "guest_lookup": text}).content.decode()
        assert 'data-email="asha@example.com"' in page, text
    page = front.get(url, {"hotel": hotel.pk, "guest_lookup": "nobody"}).content.decode()
    assert "No guest matches" in page


def test_a_looked_up_guest_is_reused_even_without_an_email(front, hotel):
    guest = Guest.objects.create(hotel=hotel, first_name="Ravi", last_name="K", phone="+91 1")
    check_in = hotel.today() + timedelta(days=3)
    response = front.post(
        reverse("admin:bookings_reservation_add"),
        {
            "hotel": hotel.pk, "room_type": hotel.room_types.get(code="TWN").pk,
            "rate_plan": hotel.rate_plans.get().pk, "check_in": check_in.isoformat(),
            "check_out": (check_in + timedelta(days=1)).isoformat(), "adults": 1, "children": 0,
            "rooms": 1, "existing_guest": guest.pk, "guest_first_name": "Ravi",
            "guest_last_name": "K", "rooms-TOTAL_FORMS": 0, "rooms-INITIAL_FORMS": 0,
        },
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Reservation.objects.get().guest == guest
    assert Guest.objects.count() == 1


def test_the_reservation_page_shows_contact_details_and_no_overbooked_marker(front, hotel):
    reservation = book(hotel)
    page = front.get(reverse("admin:bookings_reservation_change", args=[reservation.pk]))
    text = page.content.decode()
    assert 'href="mailto:asha@example.com"' in text and "+91 98450 12345" in text
    assert "OVERBOOKED" not in text and "rehouse" not in text


def test_an_overbooked_reservation_says_so(front, hotel):
    book(hotel, code="TWN")
    over = book(hotel, code="TWN", source="ota", source_channel="agoda", external_id="A1")
    assert over.is_overbooked
    text = front.get(reverse("admin:bookings_reservation_change", args=[over.pk])).content.decode()
    assert "OVERBOOKED" in text and "Taken from agoda past availability" in text


def test_the_room_board_draws_stays_and_assigns_rooms(front, hotel):
    reservation = book(hotel, code="DBL", days=2)
    hotel.rooms.filter(number="101").update(housekeeping_status="dirty")
    url = reverse("admin:bookings_reservation_board")
    page = front.get(url, {"hotel": hotel.pk}).content.decode()
    assert "Stays without a room (1)" in page and "Dirty" in page
    stay = reservation.rooms.get()
    room = hotel.rooms.get(number="102")
    response = front.post(url, {"hotel": hotel.pk, "stay": stay.pk, "room": room.pk})
    assert response.status_code == 302
    stay.refresh_from_db()
    assert stay.room == room
    page = " ".join(front.get(url, {"hotel": hotel.pk}).content.decode().split())
    assert "Stays without a room" not in page
    row = page[page.index('id="room-102"') :]
    row = row[: row.index("</tr>")]
    assert 'colspan="2" class="bar-cell"><a class="bar" href' in row
    assert reservation.confirmation_number in row
