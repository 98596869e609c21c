"""Screenshots of every admin page at 1440 and 1024 px into var/screenshots/, failing when
an element runs past the viewport (clipped for the user).

The pages are found from the admin's own URLs: the index, every model's changelist,
add and change pages, and every custom page a ModelAdmin adds (pages added later are
taken too). Pages that act (delete, download, run, back up now) are left out."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import NoReverseMatch, reverse

from tests.browser.conftest import NARROW, WIDE, overflowing_elements, screenshot
from tests.factories import sellable_hotel
from tests.support.bulk import bulk_reservations

SKIPPED = ("_delete", "_history", "_download", "_run", "_backup_now", "_autocomplete")


def admin_pages() -> list[tuple[str, str]]:
    """(name, url) of every admin page that shows something."""
    pages = [("index", reverse("admin:index"))]
    for model, model_admin in admin.site._registry.items():
        obj = model._default_manager.order_by("pk").first()
        for pattern in model_admin.get_urls():
            name = pattern.name
            if not name or name.endswith(SKIPPED):
                continue
            converters = pattern.pattern.converters
            try:
                if not converters:
                    url = reverse(f"admin:{name}")
                elif len(converters) == 1 and obj is not None:
                    url = reverse(f"admin:{name}", args=[obj.pk])
                else:
                    continue
            except NoReverseMatch:
                continue
            pages.append((name, url))
    return pages


@pytest.fixture
def workspace(transactional_db):
    """A hotel with a month of reservations, a connection with a log, and a backup."""
    from backups import service
    from channels.models import SyncLog
    from tests.ids_connection import make_connection

    hotel = sellable_hotel(code="PEMA", rooms={"DBL": 3, "TWN": 2}, days=40)
    bulk_reservations(hotel, 60, days=30)
    conn = make_connection(hotel)
    SyncLog.objects.create(connection=conn, operation="OTA_HotelAvailNotif", status="success")
    service.create_backup(apps=["bookings"])
    return hotel


def test_every_admin_page_fits_at_1440_and_1024_px(
    live_server, page, staff_user, login_as, workspace
):
    login_as(staff_user("Administrator", is_superuser=True))
    clipped = {}
    pages = admin_pages()
    assert len(pages) > 30
    for width_name, viewport in (("1440", WIDE), ("1024", NARROW)):
        page.set_viewport_size(viewport)
        for name, url in pages:
            response = page.goto(f"{live_server.url}{url}")
            if response.status == 403 and name.endswith("_add"):
                continue  # rows only the domain writes: the admin offers no add page
            assert response.status < 400, f"{url}: HTTP {response.status}"
            screenshot(page, f"{width_name}-{name}")
            found = overflowing_elements(page)
            if found:
                clipped[f"{width_name} {url}"] = found
    assert clipped == {}, clipped
