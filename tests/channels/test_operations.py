"""The operator's actions on one connection (channels/operations.py): selection, sync,
full sync, pull, test, reconcile and health, as the commands and the API use them."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
import responses

from bookings.ari import AriChanges, apply_ari_update
from bookings.models import Reservation
from bookings.reservations import GuestDetails, reserve_stay
from channels import operations
from channels.dispatch import dispatch
from channels.models import SyncJob, SyncLog
from pema import ota
from tests.channels.ota_responses import ok

from .conftest import BASE_URL, make_connection
from .pull_provider import PullTestProvider
from .test_inbound import message

pytestmark = pytest.mark.django_db
AVAIL = f"{BASE_URL}/{ota.AVAIL_NOTIF_RQ}"
RATES = f"{BASE_URL}/{ota.RATE_AMOUNT_NOTIF_RQ}"
PING = f"{BASE_URL}/{ota.PING_RQ}"


def book(hotel, **overrides) -> Reservation:
    start = hotel.today() + timedelta(days=5)
    values = {
        "hotel": hotel,
        "room_type": hotel.room_types.get(code="EXT"),
        "rate_plan": hotel.rate_plans.get(code="BAR"),
        "check_in": start,
        "check_out": start + timedelta(days=2),
        "adults": 2,
        "guest": GuestDetails("Ravi", "Kumar", "ravi@example.com"),
        "source": "booking_engine",
    }
    return reserve_stay(**{**values, **overrides})


def change_price(hotel) -> None:
    day = hotel.today() + timedelta(days=3)
    apply_ari_update(hotel, start=day, end=day, changes=AriChanges(price=123_400), source="test")


# ------------------------------------------------------------------ selection


def test_selection_names_what_is_unknown_or_missing(hotel, conn):
    cases = [
        ({"hotel": "NOPE"}, "hotel_not_found", "Unknown hotel code 'NOPE'."),
        ({"provider": "nope"}, "provider_not_found", "Unknown provider 'nope'"),
        ({"connection_id": 9999}, "connection_not_found", "No connection #9999."),
        ({"provider": "booking_com"}, "no_connection", "No enabled connection for provider"),
    ]
    for kwargs, code, text in cases:
        with pytest.raises(operations.NothingSelected) as info:
            operations.select_connections(**kwargs)
        assert info.value.code == code and text in info.value.message
    conn.enabled = False
    conn.save()
    with pytest.raises(operations.NothingSelected) as info:
        operations.select_connections(connection_id=conn.pk)
    assert info.value.code == "connection_disabled"
    assert operations.select_connections(connection_id=conn.pk, enabled_only=False) == [conn]


def test_selection_filters_by_provider_and_hotel(hotel, conn, ota):
    assert operations.select_connections() == [conn, ota]
    assert operations.select_connections(provider="ids_next", hotel=hotel.code) == [conn]
    assert operations.select_connections(connection_id=ota.pk, hotel=hotel.code) == [ota]


# ------------------------------------------------------------------ sync


def test_sync_queues_the_pending_changes_and_wakes_a_worker(hotel, conn):
    change_price(hotel)
    report = operations.sync(conn)
    assert report.events == 1 and report.jobs == 1 and report.full_sync_jobs == 0
    assert report.pending == 1 and not report.delivered_rounds
    assert SyncJob.objects.get(connection=conn).kind == SyncJob.Kind.RATES


@responses.activate
def test_an_inline_sync_delivers_until_nothing_is_left(hotel, conn):
    responses.post(RATES, body=ok(ota.RATE_AMOUNT_NOTIF_RQ))
    change_price(hotel)
    report = operations.sync(conn, inline=True)
    assert report.delivered == 1 and report.pending == 0
    assert (report.failed, report.dead) == (0, 0)
    assert SyncJob.objects.get(connection=conn).status == SyncJob.Status.DONE


def test_a_full_sync_queues_the_whole_calendar(hotel, conn):
    report = operations.full_sync(conn)
    assert report.full_sync_jobs >= 2  # availability and rates at least
    kinds = set(SyncJob.objects.filter(connection=conn).values_list("kind", flat=True))
    assert kinds == {SyncJob.Kind.AVAILABILITY, SyncJob.Kind.RATES}


def test_a_full_sync_of_a_connection_sending_no_ari_is_refused(hotel, conn):
    conn.push_ari = False
    conn.save()
    with pytest.raises(operations.NotSupported) as info:
        operations.full_sync(conn)
    assert "sends no ARI" in info.value.message
    assert not SyncJob.objects.exists()


def test_a_disabled_connection_is_not_synced(hotel, conn):
    conn.enabled = False
    conn.save()
    with pytest.raises(operations.OperationError) as info:
        operations.sync(conn)
    assert info.value.code == "connection_disabled"


# ------------------------------------------------------------------ pull


def test_pulling_a_push_only_connection_is_refused(hotel, conn, ota):
    for connection in (conn, ota):
        with pytest.raises(operations.NotSupported) as info:
            operations.pull_now(connection)
        assert "pulls no reservations" in info.value.message


def test_a_pull_reads_applies_and_acknowledges(hotel, pull_ota):
    PullTestProvider.WAITING.append(message(hotel, res_id="PL1", ack_token="t-1"))
    report = operations.pull_now(pull_ota)
    assert (report.received, report.applied, report.held) == (1, 1, 0)
    assert PullTestProvider.ACKED == ["t-1"] and not PullTestProvider.WAITING
    assert Reservation.objects.get(source_channel="test_pull").status == "confirmed"


def test_a_pull_of_an_unreachable_partner_says_why(hotel, pull_ota):
    PullTestProvider.FAIL = "Could not connect: refused"
    report = operations.pull_now(pull_ota)
    assert report.error == "Could not connect: refused" and report.received == 0


# ------------------------------------------------------------------ test


@responses.activate
def test_the_probe_answers_its_outcome_and_never_raises(hotel, conn):
    responses.post(
        PING, body=ota.build_ping_rs(ota.OTAResponse(success=True, data=f"pema-ping-{conn.pk}"))
    )
    outcome = operations.test_connection(conn)
    assert outcome.ok and "answered the ping" in outcome.message
    responses.replace(responses.POST, PING, body=requests.ConnectionError("refused"))
    outcome = operations.test_connection(conn)
    assert not outcome.ok and "Could not connect" in outcome.message
    responses.replace(responses.POST, PING, status=401)
    outcome = operations.test_connection(conn)
    assert not outcome.ok and outcome.unauthorised and outcome.http_status == 401
    assert SyncLog.objects.filter(connection=conn, operation=ota.PING_RQ).count() == 3


# ------------------------------------------------------------------ reconcile


def test_reconcile_queues_dead_pending_and_missing_reservations(hotel, conn):
    dead = book(hotel)
    dispatch(conn)
    SyncJob.objects.filter(reservation=dead).update(status="dead", attempts=8)
    missing = book(hotel)
    SyncJob.objects.filter(reservation=missing).delete()
    sent = book(hotel, room_type=hotel.room_types.get(code="EXQ"))
    Reservation.objects.filter(pk=sent.pk).update(pms_reference="IDS-1")
    SyncJob.objects.filter(reservation=sent).update(status="done")

    dry = operations.reconcile(conn, dry_run=True)
    assert dict(dry.found) == {
        dead.confirmation_number: "1 dead job(s)",
        missing.confirmation_number: "no partner reference and no job",
    }
    assert dry.queued == 0 and SyncJob.objects.filter(status="dead").count() == 1

    report = operations.reconcile(conn)
    assert report.queued == 2 and report.exports and not report.pulls
    assert SyncJob.objects.get(reservation=dead).status == "pending"
    assert SyncJob.objects.filter(reservation=missing, kind="res_create").exists()
    # Queued again, they are now pending: a second pass says so and only hurries them.
    again = operations.reconcile(conn)
    assert {why for _, why in again.found} == {"a job is still pending"}
    assert SyncJob.objects.filter(reservation=missing).count() == 1


def test_reconcile_leaves_the_pms_own_reservations_and_an_otas_own(hotel, conn, pull_ota):
    book(hotel, source="pms")
    own = book(hotel, source="ota")
    Reservation.objects.filter(pk=own.pk).update(source_channel="ids_next")
    assert operations.reconcile(conn, dry_run=True).found == []


def test_reconcile_leaves_stays_already_over_that_never_had_a_reference(hotel, conn):
    """A PMS connected late is not sent every past guest; a stay still to come is."""
    past = book(hotel)
    SyncJob.objects.filter(reservation=past).delete()
    ended = hotel.today() - timedelta(days=1)
    Reservation.objects.filter(pk=past.pk).update(
        check_in=ended - timedelta(days=2), check_out=ended
    )
    coming = book(hotel)
    SyncJob.objects.filter(reservation=coming).delete()
    report = operations.reconcile(conn, dry_run=True)
    assert [number for number, _ in report.found] == [coming.confirmation_number]


def test_reconcile_pulls_a_pull_connection(hotel, pull_ota):
    PullTestProvider.WAITING.append(message(hotel, res_id="PL2", ack_token="t-2"))
    report = operations.reconcile(pull_ota, pull_inline=True)
    assert report.pulls and not report.exports and report.found == []
    assert report.pull.applied == 1 and PullTestProvider.ACKED == ["t-2"]
    dry = operations.reconcile(pull_ota, dry_run=True)
    assert dry.pull is None and not dry.pull_queued


def test_reconcile_refuses_a_connection_with_nothing_to_reconcile(hotel, ota):
    # A channel that pushes its reservations to Pema and takes none from it.
    with pytest.raises(operations.NotSupported) as info:
        operations.reconcile(ota)
    assert "nothing to reconcile" in info.value.message


def test_only_providers_that_take_reservations_are_reconciled(hotel, conn):
    conn.export_reservations = False
    conn.save()
    assert not operations.exports_reservations(conn)
    with pytest.raises(operations.NotSupported):
        operations.reconcile(conn)


# ------------------------------------------------------------------ health


def test_health_says_in_one_word_what_is_wrong(hotel, conn, ota):
    by_id = {h.connection.pk: h for h in operations.health()}
    assert by_id[conn.pk].status == by_id[ota.pk].status == "ok"
    job = SyncJob.objects.create(connection=conn, stream="ari", kind="rates", status="dead")
    SyncJob.objects.filter(pk=job.pk).update(dead_reason="permanent")
    SyncLog.objects.create(connection=ota, operation="ack", status="error", http_status=403)
    by_id = {h.connection.pk: h for h in operations.health()}
    assert by_id[conn.pk].status == "attention" and by_id[conn.pk].dead == 1
    assert by_id[ota.pk].status == "unauthorised"
    ota.enabled = False
    ota.save()
    (only,) = operations.health(type(ota).objects.filter(pk=ota.pk))
    assert only.status == "disabled"


# ------------------------------------------------------------------ the admin's actions


def admin_action(client, action: str, *conns) -> list[str]:
    response = client.post(
        "/admin/channels/connection/",
        {"action": action, "_selected_action": [c.pk for c in conns]},
        follow=True,
    )
    assert response.status_code == 200
    return [str(m) for m in response.context["messages"]]


@responses.activate
def test_the_admin_tests_a_connection_with_the_same_probe(admin_client, hotel, conn):
    responses.post(PING, status=401)
    (said,) = admin_action(admin_client, "test_connection", conn)
    assert said.startswith(f"{conn}: HTTP 401 from the partner")


def test_the_admin_reconciles_with_the_same_operation(admin_client, hotel, conn, ota, pull_ota):
    res = book(hotel)
    SyncJob.objects.filter(reservation=res).delete()
    said = admin_action(admin_client, "reconcile", conn, ota, pull_ota)
    assert f"{conn}: 1 reservation(s) queued again." in said
    assert any(m.startswith(f"{ota}: ") and "nothing to reconcile" in m for m in said)
    assert any(m.startswith(f"{pull_ota}: ") and "pull" in m for m in said)
    assert SyncJob.objects.filter(reservation=res, connection=conn, kind="res_create").exists()


def test_a_connection_whose_provider_is_gone_is_refused_not_a_crash(hotel):
    gone = make_connection(hotel, provider="retired_partner", name="Retired")
    for operation in (operations.sync, operations.pull_now, operations.reconcile):
        with pytest.raises(operations.NotSupported) as info:
            operation(gone)
        assert "not registered" in info.value.message
    outcome = operations.test_connection(gone)
    assert not outcome.ok and "not registered" in outcome.message


@responses.activate
def test_a_partner_echoing_a_credential_back_never_shows_it(hotel, conn):
    conn.credentials = {"api_key": "key-0123456789", "api_secret": "secret-9876543210"}
    conn.save()
    responses.post(PING, body=requests.ConnectionError("refused at /?secret=secret-9876543210"))
    outcome = operations.test_connection(conn)
    assert "secret-9876543210" not in outcome.message and "[redacted]" in outcome.message


def test_the_admin_full_sync_goes_through_the_operation_and_its_refusals(admin_client, hotel, conn):
    conn.push_ari = False
    conn.save()
    (said,) = admin_action(admin_client, "run_full_sync", conn)
    assert said == f"{conn}: Connection #{conn.pk} ({conn.name}) sends no ARI: no full sync."
    assert not SyncJob.objects.filter(connection=conn, kind__in=["availability", "rates"]).exists()

    conn.push_ari = True
    conn.enabled = False
    conn.save()
    (said,) = admin_action(admin_client, "run_full_sync", conn)
    assert said.startswith(f"{conn}: ") and "disabled" in said

    conn.enabled = True
    conn.save()
    SyncJob.objects.filter(connection=conn).delete()
    (said,) = admin_action(admin_client, "run_full_sync", conn)
    queued = SyncJob.objects.filter(connection=conn, kind__in=["availability", "rates"]).count()
    assert queued and said.startswith(f"{conn}: ") and "job(s) queued" in said
