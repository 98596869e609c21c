"""The Today dashboard and the long-work progress bar in a real browser, as staff see them."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import overflowing_elements, screenshot
from tests.factories import GuestFactory, sellable_hotel
from tests.support.bulk import bulk_reservations


@pytest.fixture
def hotel(transactional_db):
    return sellable_hotel(code="PEMA", rooms={"DBL": 3, "TWN": 2}, days=40)


def test_front_office_sees_a_reservation_among_tomorrows_arrivals(
    live_server, page, staff_user, login_as, hotel
):
    [res] = bulk_reservations(hotel, 1)
    res.guest = GuestFactory(hotel=hotel, first_name="Mira", last_name="Rao")
    res.check_in = hotel.today() + timedelta(days=1)
    res.check_out = res.check_in + timedelta(days=2)
    res.save()
    login_as(staff_user("Front office"))

    page.goto(f"{live_server.url}/admin/")

    arrivals = page.locator("#arrivals-tomorrow")
    expect(arrivals).to_contain_text("Arrivals tomorrow · 1")
    expect(arrivals).to_contain_text("Mira Rao")
    arrivals.get_by_role("link", name=res.confirmation_number).click()
    expect(page).to_have_url(re.compile(rf"/admin/bookings/reservation/{res.pk}/change/$"))
    # Front office does not change rates: no bulk update, and the form refuses them.
    page.goto(f"{live_server.url}/admin/")
    expect(page.locator("#pema-hotels")).not_to_contain_text("Bulk update")
    response = page.goto(f"{live_server.url}/admin/bookings/hotel/{hotel.pk}/ari/")
    assert response.status == 403


def test_revenue_cannot_see_backups(live_server, page, staff_user, login_as, hotel):
    login_as(staff_user("Revenue"))
    page.goto(f"{live_server.url}/admin/")
    expect(page.locator("#occupancy")).to_be_visible()
    expect(page.locator("#content-main")).not_to_contain_text("Backups")
    response = page.goto(f"{live_server.url}/admin/backups/systembackup/")
    assert response.status == 403


def test_a_connection_row_links_to_its_page(live_server, page, staff_user, login_as, hotel):
    from channels.models import SyncLog
    from tests.ids_connection import make_connection

    conn = make_connection(hotel, name="IDS Next")
    SyncLog.objects.create(connection=conn, operation="OTA_HotelAvailNotif", status="success")
    login_as(staff_user("Administrator"))
    page.goto(f"{live_server.url}/admin/")

    row = page.locator("#channel-health tr.connection-row")
    expect(row).to_have_count(1)
    expect(row).to_have_attribute("data-light", "green")
    expect(row.locator(".pending")).to_have_text("0")
    row.get_by_role("link", name="IDS Next").click()

    expect(page.locator("#sync-timeline")).to_contain_text("OTA_HotelAvailNotif")
    expect(page.locator("#error-rate")).to_have_text("0 %")
    for label in ("Test the connection", "Sync now", "Full sync", "Pull reservations"):
        expect(page.get_by_role("button", name=label)).to_be_visible()
    assert overflowing_elements(page) == []


def test_the_progress_bar_follows_a_backup_to_done(
    live_server, page, staff_user, login_as, hotel, monkeypatch
):
    """The worker is this test: the page queues the backup, the test then runs the same
    Celery task the worker would, and the bar (polling, never reloaded) reaches done."""
    from backups import admin as backups_admin
    from backups.tasks import run_backup

    queued = []
    monkeypatch.setattr(backups_admin, "queue_backup", lambda b, token: queued.append((b, token)))
    login_as(staff_user("Administrator"))
    page.goto(f"{live_server.url}/admin/backups/systembackup/")
    page.get_by_role("button", name="Back up now").click()

    bar = page.locator(".pema-progress")
    expect(bar).to_have_attribute("data-status", "queued")
    expect(bar).to_contain_text("waiting for a worker")
    page.evaluate("window.notReloaded = true")

    [(backup, token)] = queued
    run_backup(backup.pk, token)

    expect(bar).to_have_attribute("data-status", "done", timeout=10_000)
    expect(bar).to_contain_text("rows")
    expect(page.locator(".pema-progress progress")).to_have_attribute("value", "100")
    assert page.evaluate("window.notReloaded") is True
    screenshot(page, "backup-progress-done")
    # The finished backup's links are in sight at 1440 px, not scrolled off in the table.
    page.reload()
    expect(page.get_by_role("link", name="Download")).to_be_in_viewport()
    expect(page.get_by_role("link", name="Restore…")).to_be_in_viewport()
