"""The PMS admin: the sync log, the PMS page's Sync buttons, last runs and room board."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client
from django.urls import reverse

from bookings.models import Room
from bookings.staff_groups import sync_staff_groups
from pms import sync
from pms.models import PmsSyncLog

pytestmark = pytest.mark.django_db


def staff(*permissions: str, username: str = "staff") -> Client:
    user = User.objects.create_user(username, password="pw", is_staff=True)
    for name in permissions:
        app, codename = name.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app, codename=codename)
        )
    client = Client()
    client.force_login(user)
    return client


def test_the_pms_page_shows_the_last_runs_and_the_room_board(hotel, mock):
    sync.sync_now(mock, "rooms", correlation_id="corr-board")
    page = staff("pms.view_pmssynclog").get(reverse("admin:pms_connection_page", args=[mock.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "corr-board" in html and 'id="pms-room-board"' in html
    assert "MR-101" in html
    assert "Sync bookings" not in html  # no permission to start a sync


def test_sync_buttons_start_a_run_for_staff_with_the_permission(hotel, mock, eager):
    client = staff("pms.view_pmssynclog", "pms.add_pmssynclog")
    page = client.get(reverse("admin:pms_connection_page", args=[mock.pk])).content.decode()
    assert "Sync bookings" in page and "Sync rooms" in page and "Sync guests" in page
    answer = client.post(reverse("admin:pms_connection_sync", args=[mock.pk, "guests"]))
    assert answer.status_code == 302
    log = PmsSyncLog.objects.get(connection=mock)
    assert (log.entity, log.operation, log.status, log.processed) == (
        "guest",
        "manual",
        "completed",
        10,
    )


def test_starting_a_sync_needs_the_permission(hotel, mock):
    client = staff("pms.view_pmssynclog")
    assert (
        client.post(reverse("admin:pms_connection_sync", args=[mock.pk, "rooms"])).status_code
        == 403
    )
    assert not PmsSyncLog.objects.exists()


def test_staff_set_housekeeping_back_through_the_pms(hotel, mock):
    sync.sync_now(mock, "rooms")
    client = staff("pms.view_pmssynclog", "bookings.change_room")
    room = Room.objects.get(hotel=hotel, number="103")
    answer = client.post(
        reverse("admin:pms_connection_housekeeping", args=[mock.pk]),
        {"room": room.pk, "status": "inspected"},
    )
    assert answer.status_code == 302
    room.refresh_from_db()
    assert room.housekeeping_status == "inspected"


def test_the_sync_log_filters_by_entity_and_status(hotel, mock):
    sync.sync_now(mock, "rooms")
    sync.sync_now(mock, "guests")
    client = staff("pms.view_pmssynclog")
    page = client.get("/admin/pms/pmssynclog/?entity__exact=guest").content.decode()
    assert "Guests" in page and page.count('class="field-entity"') == 1


def test_the_manager_role_front_office_may_sync_and_the_owner_administrator_too(hotel):
    sync_staff_groups()
    front = Group.objects.get(name="Front office")
    assert front.permissions.filter(codename="add_pmssynclog").exists()
    assert (
        Group.objects.get(name="Administrator")
        .permissions.filter(codename="add_pmssynclog")
        .exists()
    )
