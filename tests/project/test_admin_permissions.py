"""Admin permission gaps: the sync-health page, "Back up now", deleting a live connection,
and what a refused request (403) writes to the log."""

from __future__ import annotations

import io
import logging

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from backups.models import SystemBackup
from channels.models import Connection, SyncJob
from tests.factories import sellable_hotel
from tests.ids_connection import make_connection

pytestmark = pytest.mark.django_db

HEALTH = "/admin/channels/connection/health/"
BACKUP_NOW = "/admin/backups/systembackup/backup-now/"
BACKUPS = "/admin/backups/systembackup/"


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


def superuser() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("boss", password="pw"))
    return client


def test_the_sync_health_page_needs_a_channel_permission():
    assert staff().get(HEALTH).status_code == 403
    assert staff("bookings.view_reservation", username="front").get(HEALTH).status_code == 403


def test_the_sync_health_page_opens_for_those_who_may_see_connections():
    make_connection(sellable_hotel(code="HLTH"))
    response = staff("channels.view_connection").get(HEALTH)
    assert response.status_code == 200 and b"Sync health" in response.content


def test_back_up_now_needs_the_add_permission(django_capture_on_commit_callbacks):
    viewer = staff("backups.view_systembackup")
    assert b"Back up now" not in viewer.get(BACKUPS).content
    assert viewer.post(BACKUP_NOW).status_code == 403
    assert not SystemBackup.objects.exists()

    maker = Client()
    user = User.objects.get(username="staff")
    user.user_permissions.add(Permission.objects.get(codename="add_systembackup"))
    maker.force_login(user)
    assert b"Back up now" in maker.get(BACKUPS).content
    with django_capture_on_commit_callbacks():
        assert maker.post(BACKUP_NOW).status_code == 302
    assert SystemBackup.objects.count() == 1


def test_a_live_connection_is_not_deleted_until_it_is_disabled():
    conn = make_connection(sellable_hotel(code="LIVE"))
    SyncJob.objects.create(connection=conn, kind="ari", stream="ari")
    client = superuser()
    delete_url = reverse("admin:channels_connection_delete", args=[conn.pk])

    refused = client.post(delete_url, {"post": "yes"}, follow=True)
    assert Connection.objects.filter(pk=conn.pk).exists()
    assert b"still enabled, so not deleted" in refused.content

    bulk = client.post(
        reverse("admin:channels_connection_changelist"),
        {"action": "delete_selected", "_selected_action": [conn.pk], "post": "yes"},
        follow=True,
    )
    assert Connection.objects.filter(pk=conn.pk).exists()
    assert b"still enabled, so not deleted" in bulk.content

    Connection.objects.filter(pk=conn.pk).update(enabled=False)
    assert client.get(delete_url).status_code == 200  # the usual confirmation page
    client.post(delete_url, {"post": "yes"})
    assert not Connection.objects.filter(pk=conn.pk).exists()


def console_output(action) -> str:
    """What the configured console handlers print while ``action`` runs (pytest's aside)."""
    swapped = []
    logger: logging.Logger | None = logging.getLogger("django.request")
    while logger is not None:
        for handler in logger.handlers:
            if type(handler) is logging.StreamHandler:
                buffer = io.StringIO()
                swapped.append((handler, handler.setStream(buffer), buffer))
        logger = logger.parent if logger.propagate else None
    try:
        action()
    finally:
        for handler, stream, _ in swapped:
            handler.setStream(stream)
    return "".join(buffer.getvalue() for _, _, buffer in swapped)


def test_a_403_is_one_log_line(settings):
    settings.DEBUG = True  # where Django's own console handler used to print it a second time
    client = staff()
    printed = console_output(lambda: client.post(BACKUP_NOW))
    assert printed.count("Forbidden (Permission denied): " + BACKUP_NOW) == 1, printed
    assert "Traceback" not in printed
    assert len(printed.strip().splitlines()) == 1, printed


def test_a_connections_page_and_buttons_need_channel_permissions():
    conn = make_connection(sellable_hotel(code="PAGE"))
    page = reverse("admin:channels_connection_overview", args=[conn.pk])
    run = reverse("admin:channels_connection_run", args=[conn.pk, "sync"])
    front = staff("bookings.view_reservation", username="front")
    assert front.get(page).status_code == 403
    assert front.post(run).status_code == 403
    viewer = staff("channels.view_connection", username="viewer")
    assert viewer.get(page).status_code == 200
    assert viewer.post(run).status_code == 403
    assert Client().get(page).status_code == 302  # to the login page


def test_a_progress_bar_is_seen_only_by_who_started_the_work():
    from pema import progress

    owner = staff(username="owner")
    record = progress.start("backup", "Backup #1", owner_id=User.objects.get(username="owner").pk)
    url = reverse("pema_progress", args=[record.token])
    assert owner.get(url).status_code == 200
    assert staff(username="other").get(url).status_code == 404
    assert Client().get(url).status_code == 302
