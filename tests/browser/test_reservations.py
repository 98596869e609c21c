"""Booking in the admin, in Chromium, as Front office: a live quote, an existing guest reused,
and the grid's availability dropping; the room board assigns the room."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from bookings.models import Guest, Hotel, Reservation
from bookings.seed import seed_pema_wellness
from tests.browser.conftest import overflowing_elements, screenshot


@pytest.fixture
def pema(transactional_db) -> Hotel:
    seed_pema_wellness()
    return Hotel.objects.get(code="PEMA")


def test_front_office_books_with_a_live_quote_for_an_existing_guest(
    live_server, page, staff_user, login_as, pema
):
    guest = Guest.objects.create(
        hotel=pema, first_name="Meera", last_name="Iyer", email="meera@example.com",
        phone="+91 98450 11111",
    )  # fmt: skip
    login_as(staff_user("Front office"))
    check_in = pema.today() + timedelta(days=1)
    check_out = check_in + timedelta(days=2)
    suite = pema.room_types.get(code="SUI")  # two rooms

    grid = f"{live_server.url}/admin/bookings/hotel/{pema.pk}/calendar/"
    page.goto(grid)
    availability = page.locator(f"#a-{suite.id}-{check_in:%Y%m%d} .n")
    expect(availability).to_have_text("2/2")

    page.goto(f"{live_server.url}/admin/bookings/reservation/add/")
    page.select_option("#id_hotel", label=str(pema))
    page.select_option("#id_room_type", label=str(suite))
    page.select_option("#id_rate_plan", label=str(pema.rate_plans.get(code="BAR-BB")))
    page.fill("#id_check_in", check_in.isoformat())
    page.fill("#id_check_out", check_out.isoformat())
    page.fill("#id_adults", "2")
    quote = page.locator("#live-quote")
    expect(quote).to_contain_text("Can be sold: 44,000.00 INR for 2 nights")
    expect(quote.locator("tbody tr")).to_have_count(2)
    page.fill("#id_adults", "5")
    expect(quote).to_contain_text("Cannot be sold")
    expect(quote).to_contain_text("holds at most")
    page.fill("#id_adults", "2")
    expect(quote).to_contain_text("Can be sold: 44,000.00 INR")

    page.fill("#id_guest_lookup", "98450")
    page.get_by_role("button", name="Meera Iyer").click()
    expect(page.locator("#id_guest_email")).to_have_value("meera@example.com")
    expect(page.locator("#guest-chosen")).to_contain_text("existing guest Meera Iyer")
    assert overflowing_elements(page) == []
    screenshot(page, "reservation-add-quote-1440")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")

    reservation = Reservation.objects.get()
    assert reservation.guest_id == guest.pk and Guest.objects.count() == 1
    assert reservation.total_amount == 4_400_000

    page.goto(grid)
    expect(page.locator(f"#a-{suite.id}-{check_in:%Y%m%d} .n")).to_have_text("1/2")
    expect(page.locator(f"#a-{suite.id}-{check_out:%Y%m%d} .n")).to_have_text("2/2")

    page.goto(f"{live_server.url}/admin/bookings/reservation/{reservation.pk}/change/")
    expect(page.locator("#guest-contact")).to_contain_text("meera@example.com")
    expect(page.locator("#guest-contact")).to_contain_text("+91 98450 11111")
    expect(page.locator("body")).not_to_contain_text("OVERBOOKED")
    expect(page.locator("#live-quote")).to_contain_text("Can be sold: 44,000.00 INR")

    page.goto(f"{live_server.url}/admin/bookings/reservation/board/?hotel={pema.pk}")
    page.get_by_role("button", name="Assign").click()
    expect(page.locator(".messagelist")).to_contain_text(f"{reservation.confirmation_number}: SUI")
    expect(page.locator("#room-110")).to_contain_text(reservation.confirmation_number)
    assert overflowing_elements(page) == []
    screenshot(page, "room-board-1440")
