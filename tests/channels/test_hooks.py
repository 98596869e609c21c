"""The push route ``/hooks/<connection uuid>/``: verified, stored raw, answered, applied."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from bookings.models import Reservation
from channels.models import Connection, InboundMessage

from .conftest import OTA_SECRET
from .inbound_provider import sign
from .test_inbound import message

Status = InboundMessage.Status


def push(client, connection, body: bytes, *, secret: str = OTA_SECRET, stamp: int | None = None):
    stamp = int(time.time()) if stamp is None else stamp
    return client.post(
        connection.hook_path,
        body,
        content_type="application/json",
        headers={"X-Test-Timestamp": str(stamp), "X-Test-Signature": sign(secret, stamp, body)},
    )


def body_of(*reservations) -> bytes:
    return json.dumps({"reservations": [r.to_json() for r in reservations]}).encode()


def test_every_connection_has_its_own_hook_address(hotel, ota, conn):
    assert ota.uuid != conn.uuid
    assert ota.hook_path == f"/hooks/{ota.uuid}/"


def test_an_unknown_hook_is_404(client, db):
    response = client.post(f"/hooks/{uuid.uuid4()}/", b"{}", content_type="application/json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_provider_without_webhooks_answers_404(client, conn):
    response = client.post(conn.hook_path, b"{}", content_type="application/json")
    assert response.status_code == 404
    assert not InboundMessage.objects.exists()


def test_a_bad_signature_is_refused_and_nothing_is_stored(client, hotel, ota, caplog):
    response = push(client, ota, body_of(message(hotel)), secret="not-the-secret")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "unauthorized"
    assert not InboundMessage.objects.exists() and not Reservation.objects.exists()
    assert "Refused a push" in caplog.text


def test_a_replayed_push_is_refused(client, hotel, ota):
    response = push(client, ota, body_of(message(hotel)), stamp=int(time.time()) - 3600)
    assert response.status_code == 401
    assert not InboundMessage.objects.exists()


def test_a_good_push_is_stored_answered_and_applied(
    client, hotel, ota, eager, django_capture_on_commit_callbacks
):
    body = body_of(message(hotel, res_id="BK1"), message(hotel, res_id="BK2", room="EXT"))
    with django_capture_on_commit_callbacks(execute=True):
        response = push(client, ota, body)

    assert response.status_code == 200 and response.json() == {"received": 2}
    stored = InboundMessage.objects.order_by("partner_reservation_id")
    assert [m.status for m in stored] == [Status.APPLIED, Status.APPLIED]
    assert json.loads(stored[0].raw_body)["partner_reservation_id"] == "BK1"
    assert set(Reservation.objects.values_list("external_id", flat=True)) == {"BK1", "BK2"}


def test_the_same_push_twice_books_once(
    client, hotel, ota, eager, django_capture_on_commit_callbacks
):
    body = body_of(message(hotel))
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            assert push(client, ota, body).status_code == 200

    assert InboundMessage.objects.get().deliveries == 2
    assert Reservation.objects.count() == 1


def test_a_push_that_cannot_be_read_is_kept_held_and_still_answered(client, ota):
    response = push(client, ota, b"[not json")

    assert response.status_code == 200
    kept = InboundMessage.objects.get()
    assert kept.status == Status.HELD and kept.error_code == "malformed"
    assert kept.raw_body == "[not json"


def test_a_push_is_stored_before_it_is_applied(client, hotel, ota):
    # No commit callbacks run here: the task that applies it has not run yet.
    assert push(client, ota, body_of(message(hotel))).status_code == 200
    assert InboundMessage.objects.get().status == Status.RECEIVED
    assert not Reservation.objects.exists()


def test_a_switched_off_connection_asks_the_partner_to_come_back(client, hotel, ota):
    Connection.objects.filter(pk=ota.pk).update(enabled=False)
    assert push(client, ota, body_of(message(hotel))).status_code == 503
    assert not InboundMessage.objects.exists()


@pytest.mark.parametrize("method", ["get", "put"])
def test_only_post_is_taken(client, ota, method):
    assert getattr(client, method)(ota.hook_path).status_code == 405


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_existing_connections_distinct_hook_ids():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before = [("channels", "0003_retry_window")]
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        executor = MigrationExecutor(connection)
        executor.migrate(before)
        old = executor.loader.project_state(before).apps
        hotel = old.get_model("bookings", "Hotel").objects.create(code="MIG", name="Old")
        for n in range(3):
            old.get_model("channels", "Connection").objects.create(
                hotel=hotel, provider="ids_next", name=f"C{n}", base_url="http://x.test"
            )
        MigrationExecutor(connection).migrate(latest)
        assert len(set(Connection.objects.values_list("uuid", flat=True))) == 3
    finally:
        MigrationExecutor(connection).migrate(latest)


def test_the_sweep_applies_a_push_whose_wake_up_was_lost(client, hotel, ota, eager):
    from datetime import timedelta

    from django.utils import timezone

    from channels.tasks import sweep

    assert push(client, ota, body_of(message(hotel))).status_code == 200
    InboundMessage.objects.update(received_at=timezone.now() - timedelta(minutes=2))

    sweep()

    assert InboundMessage.objects.get().status == Status.APPLIED
    assert Reservation.objects.count() == 1
