"""Credentials are encrypted at rest and never shown back; the admin pages render."""

import pytest
from django.db import connection as db

from channels.models import Connection, SyncJob


def test_credentials_are_encrypted_at_rest(conn):
    with db.cursor() as cur:
        cur.execute("SELECT credentials FROM channels_connection WHERE id = %s", [conn.pk])
        stored = cur.fetchone()[0]
    assert "k" not in stored.replace("gAAAA", "") or "api_key" not in stored
    assert "api_key" not in stored
    assert Connection.objects.get(pk=conn.pk).credentials == {"api_key": "k", "api_secret": "s"}


def test_settings_are_validated_per_provider(conn):
    from django.core.exceptions import ValidationError

    conn.settings = {"hotel_code": "", "other": 1}
    with pytest.raises(ValidationError):
        conn.full_clean()


# The product mappings are an inline of the connection form: none posted here.
NO_PRODUCT_ROWS = {"products-TOTAL_FORMS": "0", "products-INITIAL_FORMS": "0"}


@pytest.fixture
def staff(admin_client):
    return admin_client


def test_admin_never_shows_credentials(staff, conn):
    page = staff.get(f"/admin/channels/connection/{conn.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="credential_api_key"' in html
    assert 'value="k"' not in html and 'value="s"' not in html


def test_admin_keeps_credentials_when_left_blank_and_replaces_when_typed(staff, conn):
    url = f"/admin/channels/connection/{conn.pk}/change/"
    form = {
        "hotel": conn.hotel_id,
        "provider": "ids_next",
        "name": "IDS Next",
        "base_url": "http://ids.test",
        "enabled": "on",
        "settings": '{"hotel_code": "PEMA001"}',
        "room_type_map": "{}",
        "rate_plan_map": "{}",
        **NO_PRODUCT_ROWS,
        "credential_api_key": "",
        "credential_api_secret": "new-secret",
    }
    response = staff.post(url, form)
    assert response.status_code == 302, response.content[:2000]
    conn.refresh_from_db()
    assert conn.credentials == {"api_key": "k", "api_secret": "new-secret"}


def test_pointing_a_connection_elsewhere_needs_the_credentials_again(staff, conn):
    url = f"/admin/channels/connection/{conn.pk}/change/"
    form = {
        "hotel": conn.hotel_id,
        "provider": "ids_next",
        "name": "IDS Next",
        "base_url": "http://attacker.example",
        "enabled": "on",
        "settings": '{"hotel_code": "PEMA001"}',
        "room_type_map": "{}",
        "rate_plan_map": "{}",
        **NO_PRODUCT_ROWS,
        "credential_api_key": "",
        "credential_api_secret": "",
    }
    response = staff.post(url, form)
    assert response.status_code == 200
    assert "enter the credentials again" in response.content.decode()
    conn.refresh_from_db()
    assert conn.base_url == "http://ids.test"
    form |= {"credential_api_key": "k2", "credential_api_secret": "s2"}
    assert staff.post(url, form).status_code == 302
    conn.refresh_from_db()
    assert conn.credentials == {"api_key": "k2", "api_secret": "s2"}


def test_health_page_and_tag_render(staff, conn):
    SyncJob.objects.create(connection=conn, stream="ari", kind="rates", status="dead")
    page = staff.get("/admin/channels/connection/health/")
    assert page.status_code == 200
    assert "IDS Next" in page.content.decode()
    from django.template import Context, Template

    html = Template("{% load channel_health %}{% channel_health %}").render(Context({}))
    assert "channel-health" in html


def test_job_and_log_admin_render(staff, conn):
    SyncJob.objects.create(connection=conn, stream="ari", kind="rates", status="dead")
    assert staff.get("/admin/channels/syncjob/").status_code == 200
    assert staff.get("/admin/channels/synclog/").status_code == 200


def test_the_health_block_shows_the_last_full_sync(admin_client, hotel):
    from channels.dispatch import dispatch

    from .conftest import make_connection

    conn = make_connection(hotel, last_full_sync_at=None)
    page = admin_client.get("/admin/").content.decode()
    assert "never" in page[page.index('class="last-full-sync"') :][:80]
    dispatch(conn)
    page = admin_client.get("/admin/").content.decode()
    assert "never" not in page[page.index('class="last-full-sync"') :][:80]
