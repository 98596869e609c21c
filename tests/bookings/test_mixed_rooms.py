"""Reservations of several rooms of different types or plans: one stay, sold whole or not."""

from datetime import timedelta

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from bookings.api_keys import issue_key
from bookings.errors import InvalidStay, NoAvailability
from bookings.models import InventoryDay, RatePlan, Reservation
from bookings.reservations import (
    GuestDetails,
    RoomRequest,
    cancel_reservation,
    modify_reservation,
    reserve_rooms,
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


def line(hotel, code, rooms=1, adults=2, prices=None, plan="BAR"):
    return RoomRequest(
        room_type=hotel.room_types.get(code=code),
        rate_plan=hotel.rate_plans.get(code=plan),
        adults=adults,
        rooms=rooms,
        nightly_prices=prices,
    )


def book(hotel, lines, source="booking_engine", arrive_in=5, nights=2):
    check_in = hotel.today() + timedelta(days=arrive_in)
    return reserve_rooms(
        hotel=hotel,
        check_in=check_in,
        check_out=check_in + timedelta(days=nights),
        rooms=lines,
        guest=GuestDetails("Asha", "Rao", "asha@example.com"),
        source=source,
    )


def test_each_line_is_counted_into_its_own_type(hotel):
    reservation = book(hotel, [line(hotel, "DBL"), line(hotel, "TWN", adults=1)])

    assert [(s.room_type.code, s.adults) for s in reservation.rooms.all()] == [
        ("DBL", 2),
        ("TWN", 1),
    ]
    assert reservation.adults == 2 and reservation.total_amount == 4_000_000
    assert sold(hotel, "DBL", 5) == (1, 0) and sold(hotel, "TWN", 5) == (1, 0)


def test_a_line_that_cannot_be_sold_refuses_the_whole_reservation(hotel):
    with pytest.raises(NoAvailability):
        book(hotel, [line(hotel, "DBL"), line(hotel, "TWN", rooms=2)])

    assert not Reservation.objects.exists()
    assert sold(hotel, "DBL", 5) == (0, 0) and sold(hotel, "TWN", 5) == (0, 0)


def test_two_lines_of_one_type_share_its_rooms(hotel):
    # Two DBL rooms on two plans: the second line sells from what the first left.
    nrf = RatePlan.objects.create(hotel=hotel, code="NRF", name="Non-refundable", currency="INR")
    nrf.room_types.add(hotel.room_types.get(code="DBL"))
    ota = [line(hotel, "DBL", prices=(1, 1)), line(hotel, "DBL", plan="NRF", prices=(2, 2))]
    with pytest.raises(NoAvailability):
        book(hotel, [*ota, line(hotel, "DBL")])

    reservation = book(hotel, [*ota, line(hotel, "DBL", prices=(3, 3))], source="ota")
    assert reservation.is_overbooked and reservation.total_amount == 12
    assert sold(hotel, "DBL", 5) == (2, 1)
    over = [s.nights.filter(overbooked=True).count() for s in reservation.rooms.all()]
    assert over == [0, 0, 2]


def test_one_reservation_is_in_one_currency(hotel):
    usd = RatePlan.objects.create(hotel=hotel, code="USD", name="Dollars", currency="USD")
    usd.room_types.add(hotel.room_types.get(code="TWN"))

    with pytest.raises(InvalidStay) as refused:
        book(hotel, [line(hotel, "DBL"), line(hotel, "TWN", plan="USD")])
    assert refused.value.code == "mixed_currencies"


def test_changing_the_dates_keeps_each_rooms_type(hotel):
    reservation = book(hotel, [line(hotel, "DBL"), line(hotel, "TWN", adults=1)])
    later = hotel.today() + timedelta(days=9)

    changed = modify_reservation(
        reservation, source="staff", check_in=later, check_out=later + timedelta(days=2)
    )

    assert [s.room_type.code for s in changed.rooms.all()] == ["DBL", "TWN"]
    assert sold(hotel, "DBL", 5) == (0, 0) and sold(hotel, "TWN", 5) == (0, 0)
    assert sold(hotel, "DBL", 9) == (1, 0) and sold(hotel, "TWN", 9) == (1, 0)


def test_one_price_list_for_rooms_of_different_types_is_refused(hotel):
    reservation = book(hotel, [line(hotel, "DBL"), line(hotel, "TWN")])

    with pytest.raises(InvalidStay) as refused:
        modify_reservation(reservation, source="pms", nightly_prices=[5, 5])
    assert refused.value.code == "invalid_prices"


def test_cancelling_frees_every_type(hotel):
    reservation = book(hotel, [line(hotel, "DBL", rooms=2), line(hotel, "TWN")])
    cancel_reservation(reservation, source="staff")

    assert sold(hotel, "DBL", 5) == (0, 0) and sold(hotel, "TWN", 5) == (0, 0)


def test_staff_assign_each_room_of_an_ota_mixed_booking(admin_client, hotel):
    reservation = book(
        hotel,
        [line(hotel, "DBL", prices=(9, 9)), line(hotel, "TWN", adults=1, prices=(7, 7))],
        source="ota",
    )
    Reservation.objects.filter(pk=reservation.pk).update(
        source_channel="booking_com", external_id="BK-MIX"
    )
    first, second = reservation.rooms.order_by("id")
    dbl = hotel.rooms.filter(room_type__code="DBL").first()
    twn = hotel.rooms.get(room_type__code="TWN")
    url = reverse("admin:bookings_reservation_change", args=[reservation.pk])
    page = admin_client.get(url).content.decode()
    assert "Room 1 (DBL)" in page and "Room 2 (TWN)" in page

    response = admin_client.post(
        url,
        {
            "room_type": first.room_type_id,
            "rate_plan": first.rate_plan_id,
            "check_in": reservation.check_in.isoformat(),
            "check_out": reservation.check_out.isoformat(),
            "adults": reservation.adults,
            "children": reservation.children,
            "special_requests": "",
            "room_1": dbl.pk,
            "room_2": twn.pk,
            "staff_notes": "Family: rooms side by side",
            "rooms-TOTAL_FORMS": 2,
            "rooms-INITIAL_FORMS": 2,
            "rooms-0-id": first.pk,
            "rooms-0-reservation": reservation.pk,
            "rooms-1-id": second.pk,
            "rooms-1-reservation": reservation.pk,
        },
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    assert [s.room for s in reservation.rooms.order_by("id")] == [dbl, twn]
    reservation.refresh_from_db()
    assert reservation.version == 1 and reservation.total_amount == 32


def test_the_api_describes_a_mixed_booking(hotel):
    reservation = book(
        hotel,
        [line(hotel, "DBL", prices=(9, 9)), line(hotel, "TWN", adults=1, prices=(7, 8))],
        source="ota",
    )
    issued = issue_key(name="Website", hotels=[hotel], scopes=["bookings:read"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw}")

    data = client.get(f"/api/v1/bookings/{reservation.confirmation_number}/").json()

    assert data["rooms"] == 2 and data["room_type"] == "DBL" and data["total_amount"] == 33
    assert [n["amount"] for n in data["nightly"]] == [16, 17]


def test_a_partner_booking_past_the_calendar_makes_its_nights_first(hotel):
    """An OTA may sell nights the calendar does not reach yet: they are made, priced by
    the partner, and counted; the calendar already there is only read."""
    from django.conf import settings

    from bookings.inventory import calendar_covers
    from bookings.models import RateDay

    dbl, bar = hotel.room_types.get(code="DBL"), hotel.rate_plans.get(code="BAR")
    ahead = settings.PEMA_CALENDAR_DAYS + 10
    far = hotel.today() + timedelta(days=ahead)
    assert calendar_covers({(bar.id, dbl.id)}, hotel.today(), hotel.today() + timedelta(days=2))
    assert not calendar_covers({(bar.id, dbl.id)}, far, far + timedelta(days=2))

    reservation = book(hotel, [line(hotel, "DBL", prices=[900_000, 900_000])], "ota", ahead)

    assert reservation.total_amount == 1_800_000
    assert sold(hotel, "DBL", ahead) == (1, 0) and sold(hotel, "DBL", ahead + 1) == (1, 0)
    assert RateDay.objects.filter(rate_plan=bar, room_type=dbl, date=far).exists()
    assert calendar_covers({(bar.id, dbl.id)}, far, far + timedelta(days=2))


def test_a_change_committed_while_another_is_planned_is_not_undone(hotel, monkeypatch):
    """Staff move the booking DBL -> TWN while the API's guest change is being planned
    (after it read the rooms, before it locked): the guest change is planned again from
    the TWN booking, so both hold and the calendar counts TWN, not DBL."""
    from bookings import reservations

    reservation = book(hotel, [line(hotel, "DBL")])
    real_plan_check = reservations._confirm_with_master
    interfered = []

    def staff_move_in_between(*args, **kwargs):
        if not interfered:
            interfered.append(True)
            modify_reservation(
                Reservation.objects.get(pk=reservation.pk),
                source="staff",
                room_type=hotel.room_types.get(code="TWN"),
            )
        return real_plan_check(*args, **kwargs)

    monkeypatch.setattr(reservations, "_confirm_with_master", staff_move_in_between)
    changed = modify_reservation(reservation, source="booking_engine", adults=1)

    assert [(s.room_type.code, s.adults) for s in changed.rooms.all()] == [("TWN", 1)]
    assert changed.version == 3
    assert sold(hotel, "DBL", 5) == (0, 0) and sold(hotel, "TWN", 5) == (1, 0)


def test_a_partner_price_change_keeps_the_rooms_the_front_desk_assigned(hotel):
    reservation = book(hotel, [line(hotel, "DBL"), line(hotel, "TWN", adults=1)], "ota")
    dbl_room = hotel.room_types.get(code="DBL").rooms.first()
    twn_room = hotel.room_types.get(code="TWN").rooms.first()
    for stay, room in zip(reservation.rooms.order_by("id"), (dbl_room, twn_room), strict=True):
        stay.room = room
        stay.save()

    repriced = modify_reservation(
        reservation,
        source="ota",
        rooms=[
            line(hotel, "DBL", prices=[800_000, 800_000]),
            line(hotel, "TWN", adults=1, prices=[700_000, 700_000]),
        ],
    )
    assert [(s.room_type.code, s.room_id) for s in repriced.rooms.order_by("id")] == [
        ("DBL", dbl_room.pk),
        ("TWN", twn_room.pk),
    ]
    assert repriced.total_amount == 3_000_000

    later = hotel.today() + timedelta(days=9)
    moved = modify_reservation(
        repriced, source="ota", check_in=later, check_out=later + timedelta(days=2)
    )
    # Other nights: the rooms may be taken then, so the front desk assigns them again.
    assert [s.room_id for s in moved.rooms.all()] == [None, None]
