"""Content sync (paged, deltas, the command's progress), the health report and the admin pages."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django_celery_beat.models import PeriodicTask

from suppliers.content import sync_content
from suppliers.health import report
from suppliers.models import Supplier, SupplierBooking, SupplierHotel

pytestmark = pytest.mark.django_db


def test_a_full_sync_reads_every_page_and_a_delta_only_what_changed(supplier, hb_sandbox):
    full = sync_content(supplier, full=True, page_size=15)
    assert (full.hotels, full.pages, full.total, full.full) == (40, 3, 40, True)
    assert SupplierHotel.objects.filter(supplier=supplier).count() == 40
    hotel = SupplierHotel.objects.filter(supplier=supplier).order_by("code").first()
    assert hotel.images[0].startswith(hb_sandbox.url()) and hotel.facilities
    assert hotel.latitude is not None and hotel.description
    supplier.refresh_from_db()
    hb_sandbox.command("hotelbeds", "touch", {"codes": [int(hotel.code)], "date": "2099-01-01"})
    supplier.content_sync_started_on = supplier.content_sync_started_on.replace(year=2098)
    delta = sync_content(supplier)
    assert (delta.hotels, delta.full) == (1, False)
    hotel.refresh_from_db()
    assert hotel.name.endswith("(renovated)")
    assert SupplierHotel.objects.filter(supplier=supplier).count() == 40


def test_the_command_shows_progress_and_refuses_an_unknown_supplier(supplier, hb_sandbox):
    out = StringIO()
    call_command("sync_supplier_content", "hotelbeds", "--full", stdout=out)
    assert "hotelbeds: 40 hotels stored (full, 1 pages" in out.getvalue()
    with pytest.raises(CommandError, match="No supplier 'nope'"):
        call_command("sync_supplier_content", "nope")


def test_the_nightly_sync_is_a_periodic_task():
    task = PeriodicTask.objects.get(task="suppliers.tasks.sync_all_content")
    assert task.enabled and task.interval.every == 24 * 60


def test_the_health_report_shows_status_calls_and_quota_and_asks_status_once_a_minute(
    supplier, hb_sandbox
):
    [row] = report()
    assert row["status"]["ok"] is True and row["calls_today"] == 1 and row["qps"] == 50
    [again] = report()
    assert again["calls_today"] == 1  # the status answer was cached
    hb_sandbox.faults("hotelbeds", status=503)
    assert report()[0]["status"]["ok"] is True  # still the cached minute


def test_readyz_includes_the_suppliers(supplier, hb_sandbox):
    body = Client().get("/readyz/").json()
    assert body["suppliers"][0]["supplier"] == "hotelbeds"
    assert body["suppliers"][0]["status"]["ok"] is True


def test_a_failing_status_is_reported_not_raised(supplier, hb_sandbox):
    hb_sandbox.faults("hotelbeds", status=500)
    [row] = report()
    assert row["status"]["ok"] is False and row["status"]["code"] == "supplier_unavailable"


@pytest.fixture
def admin_client(db):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw")
    client = Client()
    client.force_login(user)
    return client


def test_admin_keeps_credentials_write_only_and_browses_content(admin_client, supplier, hb_sandbox):
    sync_content(supplier, full=True)
    page = admin_client.get(f"/admin/suppliers/supplier/{supplier.pk}/change/")
    assert page.status_code == 200
    assert b"hb-sandbox-secret" not in page.content and b"hb-sandbox-key" not in page.content
    hotels = admin_client.get("/admin/suppliers/supplierhotel/?destination=GOI")
    assert hotels.status_code == 200 and b"<img src=" in hotels.content
    hotel = SupplierHotel.objects.first()
    detail = admin_client.get(f"/admin/suppliers/supplierhotel/{hotel.pk}/change/")
    assert detail.content.count(b"<img src=") >= 3
    health = admin_client.get("/admin/suppliers/supplier/health/")
    assert health.status_code == 200 and b"Calls today" in health.content
    sync_health = admin_client.get("/admin/channels/connection/health/")
    assert b"Suppliers" in sync_health.content


def test_admin_form_keeps_the_stored_secret_when_left_empty(admin_client, supplier):
    data = {
        "code": supplier.code,
        "provider": "hotelbeds",
        "name": "Renamed",
        "enabled": "on",
        "base_url": supplier.base_url,
        "secure_base_url": "",
        "settings": "{}",
        "qps": 3,
        "daily_quota": 50,
        "search_timeout_seconds": 8,
        "booking_timeout_seconds": 60,
        "credential_api_key": "",
        "credential_secret": "",
        "markup_rules-TOTAL_FORMS": 1,
        "markup_rules-INITIAL_FORMS": 0,
        "markup_rules-0-destination": "",
        "markup_rules-0-kind": "percent",
        "markup_rules-0-percent": "8",
        "markup_rules-0-amount": "0",
        "markup_rules-0-currency": "",
    }
    answer = admin_client.post(f"/admin/suppliers/supplier/{supplier.pk}/change/", data)
    assert answer.status_code == 302, answer.content[:2000]
    supplier = Supplier.objects.get(pk=supplier.pk)
    assert supplier.credentials["secret"] == "hb-sandbox-secret" and supplier.daily_quota == 50
    assert str(supplier.markup_rules.get().percent) == "8.00"


def test_admin_cancel_action(admin_client, supplier, hb_sandbox):
    from datetime import date, timedelta

    booking = SupplierBooking.objects.create(
        supplier=supplier,
        reference="nope-1",
        client_reference="PEMAX",
        holder_name="A",
        holder_surname="B",
        hotel_code="1",
        check_in=date.today() + timedelta(days=3),
        check_out=date.today() + timedelta(days=4),
        net=100,
        selling=110,
        currency="EUR",
    )
    answer = admin_client.post(
        "/admin/suppliers/supplierbooking/",
        {"action": "cancel_bookings", "_selected_action": [booking.pk]},
        follow=True,
    )
    assert b"Nope-1: Hotelbeds answered HTTP 404: No booking nope-1." in answer.content
    booking.refresh_from_db()
    assert booking.status == "confirmed"


def test_the_health_report_is_one_query_however_many_suppliers(
    supplier, hb_sandbox, django_assert_num_queries
):
    from .conftest import make_supplier

    make_supplier(hb_sandbox, code="hotelbeds-b", partner="hotelbeds2")
    report()  # the status answers cached
    with django_assert_num_queries(1):
        assert len(report()) == 2
