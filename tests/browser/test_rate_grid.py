"""The rate grid in Chromium, as Revenue and Front office see it, on the seeded Pema hotel."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from bookings.models import Hotel, RateDay
from bookings.seed import seed_pema_wellness
from tests.browser.conftest import NARROW, overflowing_elements, screenshot


@pytest.fixture
def pema(transactional_db) -> Hotel:
    seed_pema_wellness()
    return Hotel.objects.get(code="PEMA")


def cell(page, hotel, plan_code, rt_code, day):
    plan = hotel.rate_plans.get(code=plan_code)
    room_type = hotel.room_types.get(code=rt_code)
    return page.locator(f"#r-{plan.id}-{room_type.id}-{day:%Y%m%d}")


def next_saturday(hotel):
    today = hotel.today()
    return today + timedelta(days=(5 - today.weekday()) % 7 or 7)


def grid_url(live_server, hotel):
    return f"{live_server.url}/admin/bookings/hotel/{hotel.pk}/calendar/"


def test_revenue_sets_a_bar_weekend_price_and_the_derived_plan_follows(
    live_server, page, staff_user, login_as, pema
):
    login_as(staff_user("Revenue"))
    saturday = next_saturday(pema)
    page.goto(grid_url(live_server, pema))
    expect(page.locator("#rate-grid thead th[scope=col]")).to_have_count(14)
    assert overflowing_elements(page) == []
    bar, nrf = (
        cell(page, pema, "BAR-BB", "EXQ", saturday),
        cell(page, pema, "NRF-BB", "EXQ", saturday),
    )
    expect(bar).to_have_class(re.compile(r"\bwe\b"))
    expect(bar.locator(".p")).to_have_text("14,000")
    expect(nrf.locator(".p")).to_have_text("12,600")

    bar.click()
    editor = page.locator("#grid-editor")
    expect(editor).to_contain_text(f"BAR-BB · EXQ · {saturday:%a %d %b %Y}")
    editor.get_by_label("Price (INR)").fill("25000")
    editor.get_by_role("button", name="Save").click()
    expect(editor).to_contain_text("Saved.")
    expect(bar.locator(".p")).to_have_text("25,000")
    expect(nrf.locator(".p")).to_have_text("22,500")
    screenshot(page, "rate-grid-edited-1440")

    page.reload()
    expect(cell(page, pema, "BAR-BB", "EXQ", saturday).locator(".p")).to_have_text("25,000")
    expect(cell(page, pema, "NRF-BB", "EXQ", saturday).locator(".p")).to_have_text("22,500")
    expect(cell(page, pema, "BAR-BB", "EXT", saturday).locator(".p")).to_have_text("14,000")

    # A derived plan's price asks before breaking the derivation.
    cell(page, pema, "NRF-BB", "EXQ", saturday).click()
    editor.get_by_label("Price (INR)").fill("20000")
    editor.get_by_role("button", name="Save").click()
    expect(editor).to_contain_text("price is derived from BAR-BB")
    assert (
        RateDay.objects.get(rate_plan__code="NRF-BB", room_type__code="EXQ", date=saturday).price
        == 2_250_000
    )


def test_a_stop_sell_on_one_plan_shows_on_that_plan_only(
    live_server, page, staff_user, login_as, pema
):
    login_as(staff_user("Revenue"))
    day = pema.today() + timedelta(days=3)
    page.goto(grid_url(live_server, pema))
    nrf, bar = cell(page, pema, "NRF-BB", "SUI", day), cell(page, pema, "BAR-BB", "SUI", day)
    nrf.click()
    editor = page.locator("#grid-editor")
    editor.get_by_label("Stop sell").check()
    editor.get_by_role("button", name="Save").click()
    expect(nrf.locator(".b")).to_have_text(["STOP"])
    expect(bar.locator(".b")).to_have_count(0)
    page.reload()
    expect(cell(page, pema, "NRF-BB", "SUI", day)).to_contain_text("STOP")
    expect(cell(page, pema, "BAR-BB", "SUI", day)).not_to_contain_text("STOP")


def test_a_shift_click_range_opens_the_bulk_form_prefilled(
    live_server, page, staff_user, login_as, pema
):
    login_as(staff_user("Revenue"))
    first = pema.today() + timedelta(days=1)
    last = first + timedelta(days=3)
    page.goto(grid_url(live_server, pema))
    cell(page, pema, "BAR-BB", "PES", first).click()
    page.keyboard.press("Escape")
    cell(page, pema, "BAR-BB", "PES", last).click(modifiers=["Shift"])
    link = page.locator("#bulk-selected")
    expect(link).to_have_text("Bulk update the 4 selected cells")
    link.click()
    expect(page.locator("#id_start")).to_have_value(first.isoformat())
    expect(page.locator("#id_end")).to_have_value(last.isoformat())
    expect(page.get_by_label("BAR-BB · Flexible, bed and breakfast")).to_be_checked()
    expect(page.get_by_label("NRF-BB · Non-refundable, bed and breakfast")).not_to_be_checked()
    page.get_by_label("Price (INR)").fill("+10 %")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#bulk-preview")).to_contain_text("8 cells change")
    expect(page.locator("#bulk-preview")).to_contain_text("Not ticked but changed: NRF-BB")


def test_front_office_reads_the_grid_and_cannot_change_rates(
    live_server, page, staff_user, login_as, pema
):
    login_as(staff_user("Front office"))
    day = pema.today() + timedelta(days=2)
    page.set_viewport_size(NARROW)
    page.goto(grid_url(live_server, pema))
    expect(page.locator(".grid-legend")).to_contain_text("changing rates needs the Revenue role")
    assert overflowing_elements(page) == []
    screenshot(page, "rate-grid-front-office-1024")
    bar = cell(page, pema, "BAR-BB", "EXT", day)
    bar.click()
    expect(page.locator("#grid-editor")).to_be_empty()
    expect(page.get_by_role("link", name="Bulk update")).to_have_count(0)
    plan = pema.rate_plans.get(code="BAR-BB")
    room_type = pema.room_types.get(code="EXT")
    url = f"{grid_url(live_server, pema)}cell/{room_type.id}/{plan.id}/{day.isoformat()}/"
    token = page.context.cookies()
    csrf = next((c["value"] for c in token if c["name"] == "csrftoken"), "")
    response = page.request.post(
        url, form={"price": "1", "min_stay_arrival": "1", "min_stay_through": "1"},
        headers={"X-CSRFToken": csrf, "Referer": live_server.url},
    )  # fmt: skip
    assert response.status == 403
    assert RateDay.objects.get(rate_plan=plan, room_type=room_type, date=day).price == 1_400_000
