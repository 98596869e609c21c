"""A connection's page in the admin: health row, sync log, error rate, messages per hour,
and its buttons (test and sync answer at once; full sync and pull run in a worker and
the page follows them with a progress bar)."""

from __future__ import annotations

import pytest
import responses
from django.contrib.auth.models import Permission, User
from django.urls import reverse

from channels.models import SyncLog
from channels.tasks import run_from_admin
from pema import progress

pytestmark = pytest.mark.django_db


def test_the_page_shows_the_log_the_error_rate_and_the_buttons(admin_client, conn):
    SyncLog.objects.create(connection=conn, operation="OTA_HotelAvailNotif", status="success")
    SyncLog.objects.create(
        connection=conn, operation="OTA_HotelRateAmountNotif", status="error", error="boom 500"
    )
    page = admin_client.get(reverse("admin:channels_connection_overview", args=[conn.pk]))
    text = page.content.decode()
    assert page.status_code == 200
    assert 'data-light="red"' in text  # the last call failed
    assert "50 %" in text[text.index('id="error-rate"') :][:80]
    timeline = text[text.index('id="sync-timeline"') :]
    assert timeline.index("OTA_HotelRateAmountNotif") < timeline.index("OTA_HotelAvailNotif")
    for label in ("Test the connection", "Sync now", "Full sync", "Pull reservations"):
        assert label in text
    # The dashboard's health row links here.
    index = admin_client.get("/admin/").content.decode()
    assert reverse("admin:channels_connection_overview", args=[conn.pk]) in index


def test_a_viewer_sees_the_page_without_buttons_and_cannot_press_them(client, conn):
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_connection"))
    client.force_login(viewer)
    page = client.get(reverse("admin:channels_connection_overview", args=[conn.pk]))
    assert page.status_code == 200 and "Full sync" not in page.content.decode()
    run = reverse("admin:channels_connection_run", args=[conn.pk, "full_sync"])
    assert client.post(run).status_code == 403


@responses.activate
def test_full_sync_runs_in_a_worker_and_the_bar_follows_it(admin_client, conn, monkeypatch):
    queued = []
    monkeypatch.setattr("channels.admin.enqueue", lambda task, *args: queued.append(args) or True)
    run = reverse("admin:channels_connection_run", args=[conn.pk, "full_sync"])
    response = admin_client.post(run)
    assert response.status_code == 302 and "progress=" in response.url
    [(conn_id, operation, token)] = queued
    page = admin_client.get(response.url).content.decode()
    assert 'data-status="queued"' in page

    # The worker's side (the partner is down: nothing registered with responses).
    run_from_admin(conn_id, operation, token)

    record = progress.get(token)
    assert record.status == "done" and record.total > 0
    assert "queued" in record.message and "still pending" in record.message
    fragment = admin_client.get(reverse("pema_progress", args=[token])).content.decode()
    assert 'data-status="done"' in fragment and "hx-get" not in fragment


def test_a_pull_of_a_push_only_connection_ends_the_bar_with_the_reason(admin_client, conn):
    record = progress.start("pull", "Pull", owner_id=None)
    run_from_admin(conn.pk, "pull", record.token)
    ended = progress.get(record.token)
    assert ended.status == "failed" and "pulls no reservations" in ended.message


def test_test_button_answers_on_the_page(admin_client, conn, monkeypatch):
    from channels import operations

    monkeypatch.setattr(
        operations, "test_connection", lambda c: operations.ProbeResult(True, "answers")
    )
    run = reverse("admin:channels_connection_run", args=[conn.pk, "test"])
    page = admin_client.post(run, follow=True).content.decode()
    assert "answers" in page
