"""The rate grid: each plan's own price and badges, cell edits through bookings.ari, derived
plans, permissions, and a fixed number of queries whatever the reservations."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from bookings.calendar_grid import calendar_grid
from bookings.models import ChangeEvent, Guest, InventoryDay, RateDay, RatePlan, Reservation
from bookings.staff_groups import sync_staff_groups
from tests.factories import RatePlanFactory, sellable_hotel

pytestmark = pytest.mark.django_db


@pytest.fixture
def hotel():
    hotel = sellable_hotel(rooms={"DBL": 2, "TWN": 1}, price=2_000_000, days=40)
    bar = hotel.rate_plans.get(code="BAR")
    nrf = RatePlanFactory(
        hotel=hotel, code="NRF", name="Non-refundable", parent=bar,
        derivation=RatePlan.Derivation.PERCENT, derivation_value=10,
        room_types=list(hotel.room_types.all()),
    )  # fmt: skip
    RateDay.objects.filter(rate_plan=nrf).update(price=1_800_000)
    ChangeEvent.objects.all().delete()
    return hotel


def member(client, group: str):
    sync_staff_groups()
    user = User.objects.create_user(group.replace(" ", ""), password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    client.force_login(user)
    return client


def cell_text(page: str, cell_id: str) -> str:
    match = re.search(rf'<td id="{cell_id}"[^>]*>(.*?)</td>', page)
    assert match, cell_id
    return re.sub(r"<[^>]+>", " ", match.group(1)).split()


def rate_cell_id(hotel, plan_code, rt_code, day):
    plan = hotel.rate_plans.get(code=plan_code)
    rt = hotel.room_types.get(code=rt_code)
    return f"r-{plan.id}-{rt.id}-{day:%Y%m%d}"


def grid_page(client, hotel, **params):
    url = reverse("admin:bookings_hotel_calendar", args=[hotel.pk])
    response = client.get(url, params)
    assert response.status_code == 200
    return response.content.decode()


def test_each_plan_row_shows_its_own_price_and_badges(client, hotel):
    day = hotel.today() + timedelta(days=2)
    RateDay.objects.filter(rate_plan__code="BAR", room_type__code="DBL", date=day).update(
        stop_sell=True
    )
    RateDay.objects.filter(rate_plan__code="NRF", room_type__code="DBL", date=day).update(
        closed_to_arrival=True
    )
    page = grid_page(member(client, "Front office"), hotel)
    assert cell_text(page, rate_cell_id(hotel, "BAR", "DBL", day)) == ["20,000", "STOP"]
    assert cell_text(page, rate_cell_id(hotel, "NRF", "DBL", day)) == ["18,000", "CTA"]
    assert cell_text(page, rate_cell_id(hotel, "BAR", "TWN", day)) == ["20,000"]
    assert "derived: 10 % off BAR" in page


def test_revenue_edits_a_bar_price_and_the_derived_plan_follows(client, hotel):
    revenue = member(client, "Revenue")
    day = hotel.today() + timedelta(days=3)
    dbl = hotel.room_types.get(code="DBL")
    bar = hotel.rate_plans.get(code="BAR")
    url = reverse("admin:bookings_hotel_grid_rate", args=[hotel.pk, dbl.pk, bar.pk, day])
    form = revenue.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'value="20000.00"' in form
    response = revenue.post(
        url,
        {"price": "25000", "min_stay_arrival": 1, "min_stay_through": 1},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert "Saved." in body
    assert cell_text(body, rate_cell_id(hotel, "BAR", "DBL", day)) == ["25,000"]
    assert cell_text(body, rate_cell_id(hotel, "NRF", "DBL", day)) == ["22,500"]
    event = ChangeEvent.objects.get()
    assert event.payload["rate_plans"] == ["BAR", "NRF"] and event.payload["room_types"] == ["DBL"]
    assert event.payload["rate_fields"] == {"price": 2_500_000}


def test_a_derived_price_is_refused_unless_the_derivation_is_broken(client, hotel):
    revenue = member(client, "Revenue")
    day = hotel.today() + timedelta(days=3)
    dbl = hotel.room_types.get(code="DBL")
    nrf = hotel.rate_plans.get(code="NRF")
    url = reverse("admin:bookings_hotel_grid_rate", args=[hotel.pk, dbl.pk, nrf.pk, day])
    assert "Break the derivation" in revenue.get(url).content.decode()
    fields = {"price": "17000", "min_stay_arrival": 1, "min_stay_through": 1}
    body = revenue.post(url, fields).content.decode()
    assert "derived from BAR" in body and "Saved." not in body
    assert not ChangeEvent.objects.exists()
    response = revenue.post(url, fields | {"break_derivation": "on"}, HTTP_HX_REQUEST="true")
    assert response["HX-Refresh"] == "true"
    nrf.refresh_from_db()
    assert nrf.parent is None
    assert RateDay.objects.get(rate_plan=nrf, room_type=dbl, date=day).price == 1_700_000


def test_restrictions_of_a_derived_plan_are_its_own(client, hotel):
    revenue = member(client, "Revenue")
    day = hotel.today() + timedelta(days=4)
    dbl = hotel.room_types.get(code="DBL")
    nrf = hotel.rate_plans.get(code="NRF")
    url = reverse("admin:bookings_hotel_grid_rate", args=[hotel.pk, dbl.pk, nrf.pk, day])
    body = revenue.post(
        url, {"price": "18000", "stop_sell": "on", "min_stay_arrival": 2, "min_stay_through": 1}
    ).content.decode()
    assert cell_text(body, rate_cell_id(hotel, "NRF", "DBL", day)) == ["18,000", "STOP", "MIN", "2"]
    assert cell_text(body, rate_cell_id(hotel, "BAR", "DBL", day)) == ["20,000"]
    assert ChangeEvent.objects.get().payload["rate_fields"] == {
        "stop_sell": True, "min_stay_arrival": 2,
    }  # fmt: skip


def test_an_availability_cell_edit(client, hotel):
    revenue = member(client, "Revenue")
    day = hotel.today() + timedelta(days=5)
    dbl = hotel.room_types.get(code="DBL")
    url = reverse("admin:bookings_hotel_grid_availability", args=[hotel.pk, dbl.pk, day])
    body = revenue.post(url, {"rooms_to_sell": 1, "blocked": 0}).content.decode()
    assert cell_text(body, f"a-{dbl.pk}-{day:%Y%m%d}") == ["1/1", "set"]
    body = revenue.post(
        url, {"rooms_to_sell": "", "blocked": 1, "stop_sell": "on"}
    ).content.decode()
    assert cell_text(body, f"a-{dbl.pk}-{day:%Y%m%d}") == ["1/2", "STOP", "1", "blk"]
    row = InventoryDay.objects.get(room_type=dbl, date=day)
    assert (row.total, row.total_override, row.blocked, row.stop_sell) == (2, None, 1, True)
    assert ChangeEvent.objects.count() == 2


def test_front_office_reads_the_grid_but_cannot_change_rates(client, hotel):
    front = member(client, "Front office")
    day = hotel.today() + timedelta(days=3)
    page = grid_page(front, hotel)
    assert "hx-get" not in page and "Bulk update" not in page
    dbl = hotel.room_types.get(code="DBL")
    bar = hotel.rate_plans.get(code="BAR")
    url = reverse("admin:bookings_hotel_grid_rate", args=[hotel.pk, dbl.pk, bar.pk, day])
    assert front.get(url).status_code == 403
    fields = {"price": "1", "min_stay_arrival": 1, "min_stay_through": 1}
    assert front.post(url, fields).status_code == 403
    url = reverse("admin:bookings_hotel_grid_availability", args=[hotel.pk, dbl.pk, day])
    assert front.post(url, {"blocked": 1}).status_code == 403
    assert not ChangeEvent.objects.exists()


def test_fourteen_days_weekends_and_today_are_marked(client, hotel):
    page = grid_page(member(client, "Revenue"), hotel)
    heads = re.findall(r'<th class="([^"]*)" scope="col">', page)
    assert len(heads) == 14
    today = hotel.today()
    weekend = sum(1 for i in range(14) if (today + timedelta(days=i)).weekday() >= 5)
    assert sum("we" in h.split() for h in heads) == weekend
    assert "today" in heads[0]
    later = grid_page(client, hotel, start=(today + timedelta(days=14)).isoformat(), days=30)
    assert len(re.findall(r'<th class="[^"]*" scope="col">', later)) == 30


def make_reservations(hotel, count: int) -> None:
    """Rows only, in bulk: the grid reads the calendar's counters, never the reservations."""
    guest = Guest.objects.create(hotel=hotel, first_name="Bulk", last_name="Guest")
    start = hotel.today()
    Reservation.objects.bulk_create(
        Reservation(
            hotel=hotel, confirmation_number=f"BULK-{n:05d}", source="staff", guest=guest,
            check_in=start + timedelta(days=n % 30), check_out=start + timedelta(days=n % 30 + 2),
            adults=2, total_amount=100, currency="INR",
        )
        for n in range(count)
    )  # fmt: skip


def test_the_grid_reads_a_fixed_number_of_queries(hotel, django_assert_num_queries):
    start = hotel.today()
    with django_assert_num_queries(5):
        calendar_grid(hotel, start, 30)
    make_reservations(hotel, 5000)
    with django_assert_num_queries(5):
        grid = calendar_grid(hotel, start, 30)
    assert len(grid.dates) == 30 and len(grid.blocks) == 2


def test_the_grid_page_reads_the_same_queries_with_5000_reservations(
    client, hotel, django_assert_max_num_queries
):
    revenue = member(client, "Revenue")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as before:
        grid_page(revenue, hotel, days=30)
    make_reservations(hotel, 5000)
    with CaptureQueriesContext(connection) as after:
        grid_page(revenue, hotel, days=30)
    assert len(after) == len(before)
