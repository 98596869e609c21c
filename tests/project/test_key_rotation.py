"""Rotating FIELD_ENCRYPTION_KEY: old keys in FIELD_ENCRYPTION_KEYS still decrypt,
``rotate_encryption_key`` rewrites every secret with the new key (all or nothing), and
``ensure_ids_connection --update`` recovers even without the old key."""

from __future__ import annotations

import io

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection as db

from channels.models import Connection
from pema.crypto import encrypted_fields
from tests.factories import sellable_hotel
from tests.ids_connection import make_connection

pytestmark = pytest.mark.django_db

OLD, NEW, LOST = (Fernet.generate_key().decode() for _ in range(3))
CREDENTIALS = {"api_key": "k-123", "api_secret": "s-456"}


def stored_token(conn: Connection) -> str:
    with db.cursor() as cursor:
        cursor.execute(
            f"SELECT credentials FROM {db.ops.quote_name(Connection._meta.db_table)} WHERE id = %s",
            [conn.pk],
        )
        return cursor.fetchone()[0]


def rotate(*args: str) -> str:
    out = io.StringIO()
    call_command("rotate_encryption_key", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def old_conn(settings):
    settings.FIELD_ENCRYPTION_KEY, settings.FIELD_ENCRYPTION_KEYS = OLD, []
    return make_connection(sellable_hotel(code="ROTA"), credentials=CREDENTIALS)


def test_the_registry_finds_every_encrypted_field():
    assert [(m._meta.label, f.name) for m, f in encrypted_fields()] == [
        ("channels.Connection", "credentials"),
        ("suppliers.Supplier", "credentials"),
        ("payments.GatewayConfig", "credentials"),
    ]


def test_a_changed_key_says_how_to_recover(old_conn, settings):
    settings.FIELD_ENCRYPTION_KEY = NEW
    with pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_KEYS.*rotate_encryption_key"):
        Connection.objects.get(pk=old_conn.pk)


def test_old_keys_decrypt_and_rotation_rewrites_everything_with_the_new_key(old_conn, settings):
    settings.FIELD_ENCRYPTION_KEY, settings.FIELD_ENCRYPTION_KEYS = NEW, [OLD]
    assert Connection.objects.get(pk=old_conn.pk).credentials == CREDENTIALS
    before = stored_token(old_conn)

    assert "would re-encrypt 1" in rotate("--dry-run")
    assert stored_token(old_conn) == before

    assert "channels.Connection.credentials: re-encrypted 1" in rotate()
    after = stored_token(old_conn)
    assert after != before and "k-123" not in after
    assert Fernet(NEW).decrypt(after.encode())  # under the new key alone now
    settings.FIELD_ENCRYPTION_KEYS = []
    assert Connection.objects.get(pk=old_conn.pk).credentials == CREDENTIALS

    assert "re-encrypted 0, already under the current key 1" in rotate()


def test_a_value_no_key_opens_stops_the_rotation_and_changes_nothing(old_conn, settings):
    settings.FIELD_ENCRYPTION_KEY = LOST
    lost = make_connection(old_conn.hotel, name="Other", credentials={"api_key": "x"})
    settings.FIELD_ENCRYPTION_KEY, settings.FIELD_ENCRYPTION_KEYS = NEW, [OLD]
    before = stored_token(old_conn)
    with pytest.raises(CommandError, match=f"Nothing was changed.*ids \\[{lost.pk}\\]"):
        rotate()
    assert stored_token(old_conn) == before


def test_ensure_ids_connection_update_recovers_after_the_key_changed(settings):
    settings.FIELD_ENCRYPTION_KEY, settings.FIELD_ENCRYPTION_KEYS = OLD, []
    hotel = sellable_hotel(code="RKEY")
    call_command("ensure_ids_connection", "--hotel", "RKEY", stdout=io.StringIO())
    settings.FIELD_ENCRYPTION_KEY = NEW  # the old key is gone, and not in FIELD_ENCRYPTION_KEYS
    settings.IDS_API_KEY, settings.IDS_API_SECRET = "fresh-key", "fresh-secret"

    out = io.StringIO()
    call_command("ensure_ids_connection", "--hotel", "RKEY", "--update", stdout=out)

    assert "Updated" in out.getvalue()
    conn = Connection.objects.get(hotel=hotel, provider="ids_next")
    assert conn.credentials == {"api_key": "fresh-key", "api_secret": "fresh-secret"}
