"""The operator commands: ``sync``, ``reconcile`` and their IDS Next aliases ``sync_ids``
and ``reconcile_ids`` (the same command for ``--provider ids_next``, with today's output)."""

from __future__ import annotations

from io import StringIO

import pytest
import responses
from django.core.management import call_command
from django.core.management.base import CommandError

from bookings.models import Reservation
from channels.dispatch import dispatch
from channels.models import SyncJob
from pema import ota
from tests.channels.ota_responses import ok

from .pull_provider import PullTestProvider
from .test_inbound import message
from .test_operations import RATES, book, change_price

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def refused(*args: str) -> str:
    with pytest.raises(CommandError) as info:
        call_command(*args, stdout=StringIO(), stderr=StringIO())
    return str(info.value)


# ------------------------------------------------------------------ sync


def test_sync_queue_only_names_each_connection(hotel, conn, ota):
    change_price(hotel)
    out = run("sync", "--queue-only")
    assert f"IDS #{conn.pk} IDS Next: 1 job(s) queued." in out
    assert f"IDS #{ota.pk} Test OTA: 1 job(s) queued." in out
    assert "delivered" not in out


@responses.activate
def test_sync_delivers_inline_and_says_what_is_left(hotel, conn):
    responses.post(RATES, body=ok(ota.RATE_AMOUNT_NOTIF_RQ))
    change_price(hotel)
    out = run("sync", "--connection", str(conn.pk))
    assert out.splitlines() == [
        f"IDS #{conn.pk} IDS Next: 1 job(s) queued.",
        "  delivered 1",
        "  failed 0, dead 0; pending 0.",
    ]


def test_sync_full_queues_the_calendar_of_the_chosen_provider(hotel, conn, ota):
    out = run("sync", "--full", "--provider", "ids_next", "--queue-only")
    assert "IDS Next" in out and "Test OTA" not in out
    assert SyncJob.objects.filter(connection=conn).count() >= 2
    assert not SyncJob.objects.filter(connection=ota).exists()


@pytest.mark.parametrize(
    "args, text",
    [
        (("--hotel", "NOPE"), "Unknown hotel code 'NOPE'."),
        (("--provider", "nope"), "Unknown provider 'nope'; known: "),
        (("--connection", "9999"), "No connection #9999."),
        (("--provider", "booking_com"), "No enabled connection for provider booking_com"),
    ],
)
def test_sync_says_what_it_cannot_find(hotel, conn, args, text):
    assert text in refused("sync", *args)


def test_sync_takes_a_connection_or_a_provider_not_both(hotel, conn):
    assert "not allowed with argument" in refused(
        "sync", "--connection", str(conn.pk), "--provider", "ids_next"
    )


def test_a_full_sync_of_a_connection_sending_no_ari_is_a_readable_error(hotel, conn):
    conn.push_ari = False
    conn.save()
    assert "sends no ARI: no full sync" in refused("sync", "--full", "--connection", str(conn.pk))


def test_sync_ids_keeps_its_output(hotel, conn, ota):
    change_price(hotel)
    assert run("sync_ids", "--queue-only") == "IDS: 1 job(s) queued.\n"
    assert not SyncJob.objects.filter(connection=ota).exists()
    assert refused("sync_ids", "--hotel", "NOPE") == "Unknown hotel code 'NOPE'."
    conn.enabled = False
    conn.save()
    assert refused("sync_ids") == "No enabled IDS Next connection (see ensure_ids_connection)."


# ------------------------------------------------------------------ reconcile


def out_of_step(hotel, conn) -> tuple[Reservation, Reservation]:
    dead = book(hotel)
    dispatch(conn)
    SyncJob.objects.filter(reservation=dead).update(status="dead", attempts=8)
    missing = book(hotel)
    SyncJob.objects.filter(reservation=missing).delete()
    return dead, missing


def test_reconcile_ids_keeps_its_output(hotel, conn):
    dead, missing = out_of_step(hotel, conn)
    assert run("reconcile_ids", "--dry-run").splitlines() == [
        f"{dead.confirmation_number}: 1 dead job(s)",
        f"{missing.confirmation_number}: no partner reference and no job",
        "2 reservation(s) need attention (dry run).",
    ]
    assert run("reconcile_ids").splitlines()[-1] == "2 reservation(s) queued again."
    assert SyncJob.objects.get(reservation=dead).status == "pending"


def test_reconcile_names_each_connection_and_pulls_the_pull_ones(hotel, conn, pull_ota):
    dead, _ = out_of_step(hotel, conn)
    PullTestProvider.WAITING.append(message(hotel, res_id="PL9", ack_token="t-9"))
    out = run("reconcile", "--hotel", hotel.code).splitlines()
    assert out[0] == f"IDS #{conn.pk} IDS Next:"
    assert f"{dead.confirmation_number}: 1 dead job(s)" in out
    assert f"IDS #{pull_ota.pk} Pull OTA:" in out
    assert any(
        line.startswith("  pulled: claimed True, pulls 1, received 1, applied 1") for line in out
    )
    assert out[-1] == "2 reservation(s) queued again."


def test_reconcile_dry_run_does_not_pull(hotel, pull_ota):
    PullTestProvider.WAITING.append(message(hotel, res_id="PL9", ack_token="t-9"))
    out = run("reconcile", "--connection", str(pull_ota.pk), "--dry-run")
    assert "would pull" in out and PullTestProvider.WAITING


def test_reconcile_of_a_failing_pull_is_an_error(hotel, pull_ota):
    PullTestProvider.FAIL = "HTTP 503 from the partner."
    assert "Some pulls did not complete" in refused("reconcile", "--provider", "test_pull")


def test_reconcile_says_when_a_connection_has_nothing_to_reconcile(hotel, ota):
    assert "nothing to reconcile" in refused("reconcile", "--connection", str(ota.pk))
    assert refused("reconcile_ids", "--hotel", "NOPE") == "Unknown hotel code 'NOPE'."


# ------------------------------------------------------------------ pull


def test_pull_pulls_every_pull_connection_and_says_what_it_did(hotel, conn, pull_ota):
    PullTestProvider.WAITING.append(message(hotel, res_id="PL7", ack_token="t-7"))
    out = run("pull")
    assert out.startswith(f"#{pull_ota.pk}: claimed True, pulls 1, received 1, applied 1")
    assert f"#{conn.pk}:" not in out


def test_pull_refuses_what_cannot_be_pulled(hotel, conn, pull_ota):
    assert "pulls no reservations" in refused("pull", "--connection", str(conn.pk))
    assert "None of these connections pulls" in refused("pull", "--provider", "ids_next")
    PullTestProvider.FAIL = "HTTP 503 from the partner."
    assert "Some pulls did not complete" in refused("pull", "--hotel", hotel.code)
