"""What staff see of an Airbnb connection: its limits and export URLs, a pull on demand, the
age of each feed on the health page, and the setup command."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from bookings.models import Reservation
from channels.models import Connection

from .conftest import LISTING, night

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_connection_page_states_the_limits_and_the_export_urls(admin_client, conn):
    page = admin_client.get(reverse("admin:channels_connection_change", args=[conn.pk]))
    text = page.content.decode()
    assert "name, contact details or price" in text
    assert "up to the poll interval" in text
    assert f"/ical/{conn.uuid}/{LISTING}.ics?t={conn.get_provider().export_token(LISTING)}" in text


def test_staff_pull_the_feeds_now_and_the_health_page_shows_their_age(
    admin_client, hotel, simulator, live_conn
):
    simulator.control(
        "airbnb", "book", {"listing": LISTING, "check_in": night(hotel, 4).isoformat(), "nights": 1}
    )
    response = admin_client.post(
        reverse("admin:channels_connection_changelist"),
        {"action": "pull_now", "_selected_action": [live_conn.pk]},
        follow=True,
    )
    assert "1 message(s) read" in response.content.decode()
    assert "1 applied" in response.content.decode()
    assert Reservation.objects.filter(hotel=hotel, source_channel="airbnb").count() == 1
    health = admin_client.get(reverse("admin:channels_connection_health")).content.decode()
    assert f"feed {LISTING}: read" in health and "ago" in health


def test_ensure_connection_airbnb_keeps_its_export_secret(hotel, tmp_path, capsys):
    products = tmp_path / "products.json"
    rows = [("EXT", None, "L9", None), ("EXT", "BAR", "L9", "stay")]
    keys = ("room_type", "rate_plan", "partner_room_id", "partner_rate_id")
    products.write_text(json.dumps([dict(zip(keys, row, strict=True)) for row in rows]))
    args = [
        "ensure_connection",
        "airbnb",
        "--hotel",
        hotel.code,
        "--base-url",
        "https://www.airbnb.com",
        "--credentials-json",
        "{}",
        "--settings-json",
        '{"listings": {"L9": {"calendar_url": "https://www.airbnb.com/calendar/ical/9.ics"}}}',
        "--products",
        str(products),
    ]
    call_command(*args)
    conn = Connection.objects.get(hotel=hotel, provider="airbnb")
    token = conn.get_provider().export_token("L9")
    assert token and not conn.push_ari
    call_command(*args, "--update")
    conn.refresh_from_db()
    assert conn.get_provider().export_token("L9") == token, "the URL given to Airbnb stands"
    assert "Updated connection" in capsys.readouterr().out
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(name=f"channels-pull-{conn.pk}")
    assert task.interval.every == 600 and task.interval.period == "seconds"


def test_a_feed_not_read_for_three_intervals_is_stale(hotel, live_conn):
    from datetime import timedelta

    from django.utils import timezone

    from channels.health import connection_health
    from channels.models import SyncLog

    SyncLog.objects.create(
        connection=live_conn,
        operation=f"feed:{LISTING}",
        status=SyncLog.Status.SUCCESS,
        created_at=timezone.now() - timedelta(seconds=3 * 600 + 60),
    )
    SyncLog.objects.create(connection=live_conn, operation="feed:L200", status=SyncLog.Status.ERROR)
    (health,) = connection_health(Connection.objects.filter(pk=live_conn.pk))
    ages = {feed.name: feed for feed in health.feeds}
    assert ages[LISTING].stale and ages["L200"].read_at is None and ages["L200"].stale
    assert health.status == "attention"
