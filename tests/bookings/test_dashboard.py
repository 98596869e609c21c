"""The Today dashboard (the admin index): its figures, who sees what, the hook other apps
add to, and a number of queries that does not grow with the reservations."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bookings import dashboard
from bookings.models import InventoryDay, Reservation
from tests.factories import GuestFactory, sellable_hotel
from tests.support.bulk import bulk_reservations

pytestmark = pytest.mark.django_db


def book(hotel, check_in, nights=1, **extra) -> Reservation:
    [res] = bulk_reservations(hotel, 1)
    res.check_in, res.check_out = check_in, check_in + timedelta(days=nights)
    for name, value in extra.items():
        setattr(res, name, value)
    res.save()
    res.rooms.get().nights.all().delete()
    stay = res.rooms.get()
    for d in range(nights):
        stay.nights.create(date=check_in + timedelta(days=d), price=1_000_000)
    return res


@pytest.fixture
def hotel():
    return sellable_hotel(rooms={"DBL": 4, "TWN": 1}, days=40)


def test_arrivals_departures_and_in_house_today_and_tomorrow(hotel):
    today = hotel.today()
    arriving = book(hotel, today, nights=2)
    tomorrow_in = book(hotel, today + timedelta(days=1))
    leaving = book(hotel, today - timedelta(days=2), nights=2)
    book(hotel, today + timedelta(days=1), status=Reservation.Status.CANCELLED)

    lists = dashboard.today_figures(hotel).lists

    def pks(name):
        return [listed.pk for listed in lists[name].reservations]

    assert pks("arrivals_today") == [arriving.pk]
    assert pks("arrivals_tomorrow") == [tomorrow_in.pk]
    assert pks("departures_today") == [leaving.pk]
    assert pks("departures_tomorrow") == []
    assert pks("in_house_today") == [arriving.pk]
    assert set(pks("in_house_tomorrow")) == {arriving.pk, tomorrow_in.pk}
    assert lists["arrivals_today"].reservations[0].admin_url.endswith(f"/{arriving.pk}/change/")
    assert lists["departures_tomorrow"].count == 0


def test_occupancy_revenue_and_pickup(hotel):
    today = hotel.today()
    InventoryDay.objects.filter(room_type__hotel=hotel, date=today, room_type__code="DBL").update(
        sold=2
    )
    book(hotel, today, nights=3, created_at=timezone.now())  # 3 nights at 10,000.00 INR
    book(hotel, today + timedelta(days=40), created_at=timezone.now())  # past the 30 nights
    book(hotel, today, created_at=timezone.now() - timedelta(days=31), status="cancelled")
    figures = dashboard.today_figures(hotel)

    tonight, week, month = figures.occupancy
    assert (tonight.nights, tonight.sold, tonight.total, tonight.percent) == (1, 2, 5, 40)
    assert (week.sold, week.total) == (2, 35)
    assert month.nights == 30
    assert figures.revenue == 3_000_000
    assert figures.pickup.total == 2  # both made within the last 30 days
    assert len(figures.pickup.days) == 30 and figures.pickup.days[-1] == today


def test_the_index_shows_front_office_tomorrows_arrival_and_no_channel_health(client, hotel):
    from django.contrib.auth.models import Group

    from bookings.staff_groups import sync_staff_groups

    sync_staff_groups()
    guest = GuestFactory(hotel=hotel, first_name="Mira", last_name="Rao")
    res = book(hotel, hotel.today() + timedelta(days=1), guest=guest)
    user = User.objects.create_user("fo", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name="Front office"))
    client.force_login(user)

    page = client.get("/admin/").content.decode()

    arrivals = page[page.index('id="arrivals-tomorrow"') :]
    arrivals = arrivals[: arrivals.index("</div>")]
    assert res.confirmation_number in arrivals and "Mira Rao" in arrivals
    assert 'id="revenue"' in page  # front office may view reservations
    assert 'id="channel-health"' not in page  # and not connections
    assert "Bulk update" not in page  # nor change rates


def test_needs_a_person_lists_overbooked_stays_and_takes_other_apps_sources(hotel, admin_user):
    over = book(hotel, hotel.today(), is_overbooked=True)
    book(hotel, hotel.today())

    @dashboard.register_attention
    def unpaid_holds(h):
        return [dashboard.Attention("Unpaid holds", 3, "/x/", "bookings.view_reservation")]

    @dashboard.register_attention
    def broken(h):
        raise RuntimeError("a source that fails leaves the dashboard up")

    try:
        items = {a.label: a for a in dashboard.needs_a_person(hotel, admin_user)}
        nobody = User.objects.create_user("nobody", is_staff=True)
        assert dashboard.needs_a_person(hotel, nobody) == []
    finally:
        dashboard._SOURCES.remove(unpaid_holds)
        dashboard._SOURCES.remove(broken)
    rehouse = items["Overbooked reservations to rehouse"]
    assert rehouse.count == 1 and over.confirmation_number in rehouse.items[0][0]
    assert items["Unpaid holds"].count == 3
    # channels registered its own sources at start-up, without bookings importing it.
    names = [s.__name__ for s in dashboard.attention_sources()]
    assert {"held_messages", "dead_jobs", "connections_in_error"} <= set(names)


def count_index_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/admin/").status_code == 200
    return len(queries)


def test_the_index_takes_the_same_queries_with_1_and_5000_reservations(admin_client, hotel):
    from tests.channels.conftest import make_connection

    make_connection(hotel)
    book(hotel, hotel.today())
    count_index_queries(admin_client)  # warm: content types, session
    one = count_index_queries(admin_client)

    bulk_reservations(hotel, 5000, days=40)
    many = count_index_queries(admin_client)

    assert one == many
    page = admin_client.get("/admin/").content.decode()
    assert "and " in page and " more</a>" in page  # lists are capped, with a link to the rest
