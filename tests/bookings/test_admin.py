"""The staff backoffice: pages answer staff, reservations and ARI go through the domain."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from bookings.models import InventoryDay, RateDay, Reservation
from bookings.reservations import GuestDetails, reserve_stay
from tests.factories import sellable_hotel

pytestmark = pytest.mark.django_db


@pytest.fixture
def hotel():
    return sellable_hotel(rooms={"DBL": 2, "TWN": 1}, price=1_000_000)


@pytest.fixture
def staff(client):
    user = User.objects.create_superuser("boss", "boss@example.com", "pw-for-tests-1")
    client.force_login(user)
    return client


def book(hotel, code="DBL", source="staff"):
    check_in = hotel.today() + timedelta(days=5)
    return reserve_stay(
        hotel=hotel, room_type=hotel.room_types.get(code=code), rate_plan=hotel.rate_plans.get(),
        check_in=check_in, check_out=check_in + timedelta(days=2), adults=2,
        guest=GuestDetails("Asha", "Rao", "asha@example.com"), source=source,
    )  # fmt: skip


def admin_urls(hotel, reservation):
    names = [
        "hotel", "roomtype", "room", "rateplan", "inventoryday", "rateday", "guest",
        "reservation", "changeevent",
    ]  # fmt: skip
    urls = [reverse("admin:index")]
    urls += [reverse(f"admin:bookings_{n}_changelist") for n in names]
    urls += [
        reverse("admin:bookings_reservation_add"),
        reverse("admin:bookings_reservation_change", args=[reservation.pk]),
        reverse("admin:bookings_reservation_cancel", args=[reservation.pk]),
        reverse("admin:bookings_hotel_calendar", args=[hotel.pk]),
        reverse("admin:bookings_hotel_ari", args=[hotel.pk]),
        reverse("admin:bookings_roomtype_change", args=[hotel.room_types.first().pk]),
    ]
    return urls


def test_pages_answer_staff_and_redirect_anonymous(client, hotel):
    reservation = book(hotel)
    urls = admin_urls(hotel, reservation)
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], url
    client.force_login(User.objects.create_superuser("boss", "b@example.com", "pw-for-tests-1"))
    for url in urls:
        assert client.get(url).status_code == 200, url


def test_index_links_the_calendar(staff, hotel):
    page = staff.get(reverse("admin:index")).content.decode()
    assert reverse("admin:bookings_hotel_calendar", args=[hotel.pk]) in page
    assert "Channel and PMS sync health" in page


def test_calendar_shows_availability_and_markers(staff, hotel):
    book(hotel, code="TWN")
    RateDay.objects.filter(room_type__code="DBL", date=hotel.today() + timedelta(days=1)).update(
        closed_to_arrival=True
    )
    page = staff.get(reverse("admin:bookings_hotel_calendar", args=[hotel.pk])).content.decode()
    assert "0/1" in page  # TWN sold out on the booked nights
    assert "2/2" in page and "10,000" in page and "CTA" in page


def test_staff_create_a_reservation_through_the_domain(staff, hotel):
    check_in = hotel.today() + timedelta(days=3)
    response = staff.post(
        reverse("admin:bookings_reservation_add"),
        {
            "hotel": hotel.pk,
            "room_type": hotel.room_types.get(code="TWN").pk,
            "rate_plan": hotel.rate_plans.get().pk,
            "check_in": check_in.isoformat(),
            "check_out": (check_in + timedelta(days=2)).isoformat(),
            "adults": 1, "children": 0, "rooms": 1,
            "guest_first_name": "Meera", "guest_last_name": "Iyer",
            "guest_email": "meera@example.com",
            "rooms-TOTAL_FORMS": 0, "rooms-INITIAL_FORMS": 0,
        },
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:3000]
    reservation = Reservation.objects.get()
    assert reservation.source == "staff" and reservation.total_amount == 2_000_000
    assert InventoryDay.objects.get(room_type__code="TWN", date=check_in).sold == 1

    # The same room again: sold out, shown as a form error, nothing written.
    response = staff.post(
        reverse("admin:bookings_reservation_add"),
        {
            "hotel": hotel.pk, "room_type": hotel.room_types.get(code="TWN").pk,
            "rate_plan": hotel.rate_plans.get().pk, "check_in": check_in.isoformat(),
            "check_out": (check_in + timedelta(days=2)).isoformat(),
            "adults": 1, "children": 0, "rooms": 1,
            "guest_first_name": "Ravi", "guest_last_name": "K",
            "rooms-TOTAL_FORMS": 0, "rooms-INITIAL_FORMS": 0,
        },
    )  # fmt: skip
    assert response.status_code == 200
    assert "Sold out on" in response.content.decode()
    assert Reservation.objects.count() == 1


def test_staff_modify_and_cancel(staff, hotel):
    reservation = book(hotel)
    url = reverse("admin:bookings_reservation_change", args=[reservation.pk])
    response = staff.post(
        url,
        {
            "room_type": hotel.room_types.get(code="TWN").pk,
            "rate_plan": hotel.rate_plans.get().pk,
            "check_in": reservation.check_in.isoformat(),
            "check_out": (reservation.check_out + timedelta(days=1)).isoformat(),
            "adults": 1, "children": 0, "special_requests": "Late arrival",
            "rooms-TOTAL_FORMS": 1, "rooms-INITIAL_FORMS": 1,
            "rooms-0-id": reservation.rooms.get().pk, "rooms-0-reservation": reservation.pk,
        },
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:3000]
    reservation.refresh_from_db()
    assert reservation.version == 2 and reservation.special_requests == "Late arrival"
    assert reservation.total_amount == 3_000_000
    assert InventoryDay.objects.get(room_type__code="DBL", date=reservation.check_in).sold == 0
    assert InventoryDay.objects.get(room_type__code="TWN", date=reservation.check_in).sold == 1

    response = staff.post(reverse("admin:bookings_reservation_cancel", args=[reservation.pk]))
    assert response.status_code == 302
    reservation.refresh_from_db()
    assert reservation.status == "cancelled"
    assert InventoryDay.objects.get(room_type__code="TWN", date=reservation.check_in).sold == 0
    assert staff.get(url).status_code == 200


def test_cancel_action(staff, hotel):
    reservation = book(hotel)
    staff.post(
        reverse("admin:bookings_reservation_changelist"),
        {"action": "cancel_selected", "_selected_action": [reservation.pk]},
    )
    reservation.refresh_from_db()
    assert reservation.status == "cancelled"


def test_overbooked_reservations_stand_out(staff, hotel):
    book(hotel, code="TWN")
    check_in = hotel.today() + timedelta(days=5)
    reserve_stay(
        hotel=hotel, room_type=hotel.room_types.get(code="TWN"), rate_plan=hotel.rate_plans.get(),
        check_in=check_in, check_out=check_in + timedelta(days=2), adults=1,
        guest=GuestDetails("O", "TA"), source="ota", source_channel="agoda", external_id="A1",
    )  # fmt: skip
    page = staff.get(reverse("admin:bookings_reservation_changelist")).content.decode()
    assert page.count("OVERBOOKED") == 1


def test_ari_form_updates_the_calendar(staff, hotel):
    start = hotel.today() + timedelta(days=1)
    response = staff.post(
        reverse("admin:bookings_hotel_ari", args=[hotel.pk]),
        {
            "rate_plans": [hotel.rate_plans.get().pk],
            "start": start.isoformat(),
            "end": (start + timedelta(days=6)).isoformat(),
            "weekdays": ["0", "1", "2", "3", "4"],
            "price": "12500.50",
            "closed_to_arrival": "close",
            "apply": "1",
            "confirm_warnings": "on",
        },
    )
    assert response.status_code == 302
    rows = RateDay.objects.filter(room_type__code="DBL", date__gte=start)[:7]
    for row in rows:
        weekday = row.date.weekday() < 5
        assert row.price == (1_250_050 if weekday else 1_000_000)
        assert row.closed_to_arrival is weekday


def test_ari_form_shows_a_conflict_as_an_error(staff, hotel):
    reservation = book(hotel, code="TWN")
    response = staff.post(
        reverse("admin:bookings_hotel_ari", args=[hotel.pk]),
        {
            "room_types": [hotel.room_types.get(code="TWN").pk],
            "start": reservation.check_in.isoformat(),
            "end": reservation.check_in.isoformat(),
            "weekdays": [str(d) for d in range(7)],
            "availability_override": "0",
            "apply": "1",
            "confirm_warnings": "on",
        },
    )
    assert response.status_code == 200
    assert "fewer rooms than are already sold" in response.content.decode()


def test_staff_groups_exist_with_their_permissions():
    front = Group.objects.get(name="Front office")
    revenue = Group.objects.get(name="Revenue")
    admin = Group.objects.get(name="Administrator")
    assert front.permissions.filter(codename="add_reservation").exists()
    assert not front.permissions.filter(codename="change_rateday").exists()
    assert revenue.permissions.filter(codename="change_rateday").exists()
    assert admin.permissions.filter(codename="delete_room").exists()


def test_front_office_cannot_open_the_bulk_update(client, hotel):
    user = User.objects.create_user("fo", password="pw-for-tests-1", is_staff=True)
    user.groups.add(Group.objects.get(name="Front office"))
    client.force_login(user)
    assert client.get(reverse("admin:bookings_reservation_add")).status_code == 200
    assert client.get(reverse("admin:bookings_hotel_ari", args=[hotel.pk])).status_code == 403


def test_calendar_paging_far_away_is_clamped_not_a_crash(staff, hotel):
    url = reverse("admin:bookings_hotel_calendar", args=[hotel.pk])
    for start in ("9999-12-31", "0001-01-01", "not-a-date"):
        assert staff.get(url, {"start": start}).status_code == 200


def test_ari_form_refuses_past_days_with_a_message(staff, hotel):
    yesterday = hotel.today() - timedelta(days=1)
    response = staff.post(
        reverse("admin:bookings_hotel_ari", args=[hotel.pk]),
        {
            "start": yesterday.isoformat(),
            "end": yesterday.isoformat(),
            "weekdays": [str(d) for d in range(7)],
            "price": "100",
        },
    )
    assert response.status_code == 200
    assert "Past days cannot be changed" in response.content.decode()


@pytest.mark.parametrize(
    "field, value",
    [
        ("price", "99999999999999999999"),
        ("price", "1E+30"),
        ("price", "0.001"),
        ("availability_override", str(2**63)),
        ("blocked", "40000"),
        ("min_stay_arrival", "9999"),
    ],
)
def test_ari_form_out_of_range_values_are_form_errors(staff, hotel, field, value):
    day = hotel.today() + timedelta(days=1)
    response = staff.post(
        reverse("admin:bookings_hotel_ari", args=[hotel.pk]),
        {
            "start": day.isoformat(),
            "end": day.isoformat(),
            "weekdays": [str(d) for d in range(7)],
            field: value,
        },
    )
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()


def test_deleting_a_sold_room_is_refused_with_the_reason(staff, hotel):
    reservation = book(hotel, code="TWN")
    room = hotel.room_types.get(code="TWN").rooms.get()
    url = reverse("admin:bookings_room_delete", args=[room.pk])
    page = staff.get(url).content.decode()
    assert reservation.check_in.isoformat() in page
    staff.post(url, {"post": "yes"})
    assert hotel.rooms.filter(pk=room.pk).exists()
    staff.post(
        reverse("admin:bookings_room_changelist"),
        {"action": "delete_selected", "_selected_action": [room.pk], "post": "yes"},
    )
    assert hotel.rooms.filter(pk=room.pk).exists()


def test_a_duplicate_room_number_in_the_inline_is_a_form_error(staff, hotel):
    dbl = hotel.room_types.get(code="DBL")
    existing = hotel.rooms.exclude(room_type=dbl).first()
    rooms = list(dbl.rooms.all())
    data = {
        "hotel": hotel.pk, "code": dbl.code, "name": dbl.name, "base_occupancy": 2,
        "max_adults": 2, "max_children": 1, "max_occupancy": 3, "amenities": "[]",
        "images": "[]", "sort_order": 0,
        "rooms-TOTAL_FORMS": len(rooms) + 1, "rooms-INITIAL_FORMS": len(rooms),
        "rooms-MIN_NUM_FORMS": 0, "rooms-MAX_NUM_FORMS": 1000,
    }  # fmt: skip
    for i, room in enumerate(rooms):
        data |= {
            f"rooms-{i}-id": room.pk, f"rooms-{i}-room_type": dbl.pk,
            f"rooms-{i}-number": room.number, f"rooms-{i}-is_active": "on",
            f"rooms-{i}-housekeeping_status": "clean",
        }  # fmt: skip
    n = len(rooms)
    data |= {
        f"rooms-{n}-room_type": dbl.pk, f"rooms-{n}-number": existing.number,
        f"rooms-{n}-is_active": "on", f"rooms-{n}-housekeeping_status": "clean",
    }  # fmt: skip
    response = staff.post(reverse("admin:bookings_roomtype_change", args=[dbl.pk]), data)
    assert response.status_code == 200
    assert f"Room {existing.number} already exists" in response.content.decode()


def test_webhook_endpoint_events_must_be_known():
    from django.core.exceptions import ValidationError

    from bookings.models import WebhookEndpoint

    endpoint = WebhookEndpoint(url="https://example.com/h", secret="s" * 20, events=5)
    with pytest.raises(ValidationError):
        endpoint.clean()
    endpoint.events = ["booking.created", "booking.exploded"]
    with pytest.raises(ValidationError):
        endpoint.clean()
    endpoint.events, endpoint.secret = ["booking.created"], "short"
    with pytest.raises(ValidationError):
        endpoint.clean()


def test_moving_a_non_refundable_stay_in_the_admin_needs_the_permission(client, hotel):
    from django.contrib.auth.models import Permission

    from bookings.staff_groups import sync_staff_groups

    hotel.rate_plans.update(refundable=False)
    reservation = book(hotel)
    sync_staff_groups()
    desk = User.objects.create_user("desk", password="pw-for-tests-1", is_staff=True)
    desk.groups.add(Group.objects.get(name="Front office"))
    client.force_login(desk)
    url = reverse("admin:bookings_reservation_change", args=[reservation.pk])
    later = {
        "room_type": reservation.rooms.get().room_type_id,
        "rate_plan": hotel.rate_plans.get().pk,
        "check_in": (reservation.check_in + timedelta(days=1)).isoformat(),
        "check_out": (reservation.check_out + timedelta(days=1)).isoformat(),
        "adults": 2, "children": 0, "special_requests": "",
        "rooms-TOTAL_FORMS": 1, "rooms-INITIAL_FORMS": 1,
        "rooms-0-id": reservation.rooms.get().pk, "rooms-0-reservation": reservation.pk,
    }  # fmt: skip

    refused = client.post(url, later)
    assert refused.status_code == 200
    assert "non-refundable" in refused.content.decode()
    reservation.refresh_from_db()
    assert reservation.version == 1

    desk.user_permissions.add(Permission.objects.get(codename="move_non_refundable"))
    desk = User.objects.get(pk=desk.pk)  # permissions are cached on the user
    client.force_login(desk)
    moved = client.post(url, later)
    assert moved.status_code == 302, [
        line for line in moved.content.decode().splitlines() if "errorlist" in line
    ]
    reservation.refresh_from_db()
    assert reservation.version == 2 and reservation.check_in == hotel.today() + timedelta(days=6)
