"""IDS Next: fail-safe availability, the staff API, reconciliation, connection setup."""

from datetime import timedelta

import pytest
import requests
import responses
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from bookings.errors import ExternalAvailabilityUnavailable, NoAvailability
from bookings.models import Hotel
from bookings.reservations import GuestDetails, reserve_stay
from channels.dispatch import dispatch
from channels.models import Connection, SyncJob, SyncLog
from channels.operations import reconcile
from partners.ids_next.setup import ensure_ids_connection
from pema import ota
from tests.channels.ota_responses import BILLION_LAUGHS, avail_ok, error

from .conftest import BASE_URL

AVAIL_RQ = f"{BASE_URL}/{ota.HOTEL_AVAIL_RQ}"


@pytest.fixture
def pms_hotel(hotel, conn):
    hotel.availability_master = Hotel.AvailabilityMaster.PMS
    hotel.save()
    return hotel


def book(hotel, rooms=1):
    start = hotel.today() + timedelta(days=5)
    return reserve_stay(
        hotel=hotel,
        room_type=hotel.room_types.get(code="EXT"),
        rate_plan=hotel.rate_plans.get(code="BAR"),
        check_in=start,
        check_out=start + timedelta(days=2),
        adults=2,
        rooms=rooms,
        guest=GuestDetails("Ravi", "Kumar", "ravi@example.com"),
        source="booking_engine",
    )


@responses.activate
def test_pms_says_yes(pms_hotel):
    responses.post(AVAIL_RQ, body=avail_ok("EXT", 2))
    assert book(pms_hotel).pk
    sent = ota.parse_hotel_avail_rq(responses.calls[0].request.body)
    assert (sent.hotel_code, sent.room_type_code, sent.rooms) == ("PEMA001", "EXT", 1)


@responses.activate
def test_the_pms_is_asked_in_its_own_codes_from_the_connections_mapping(pms_hotel, conn):
    """The engine maps the stay (a product row here) before the provider is asked."""
    from channels.models import ChannelProduct

    ChannelProduct.objects.create(
        connection=conn,
        room_type=pms_hotel.room_types.get(code="EXT"),
        rate_plan=pms_hotel.rate_plans.get(code="BAR"),
        partner_room_id="DLX",
        partner_rate_id="RACK",
    )
    responses.post(AVAIL_RQ, body=avail_ok("DLX", 2))
    assert book(pms_hotel).pk
    sent = ota.parse_hotel_avail_rq(responses.calls[0].request.body)
    assert (sent.room_type_code, sent.rate_plan_code) == ("DLX", "RACK")


@responses.activate
def test_pms_says_no(pms_hotel):
    responses.post(AVAIL_RQ, body=avail_ok("EXT", 1))
    with pytest.raises(NoAvailability):
        book(pms_hotel, rooms=2)
    responses.replace(responses.POST, AVAIL_RQ, body=error(ota.HOTEL_AVAIL_RQ, 3, 322))
    with pytest.raises(NoAvailability):
        book(pms_hotel)


@pytest.mark.parametrize(
    "answer",
    [
        {"body": requests.ConnectionError("refused")},
        {"body": requests.Timeout("slow")},
        {"status": 500},
        {"body": b"garbage"},
        {"body": BILLION_LAUGHS},
        {"body": error(ota.HOTEL_AVAIL_RQ, ota.EWT_AUTHENTICATION)},
    ],
)
@responses.activate
def test_pms_unreachable_or_garbage_refuses_the_booking(pms_hotel, answer):
    responses.post(AVAIL_RQ, **answer)
    with pytest.raises(ExternalAvailabilityUnavailable) as info:
        book(pms_hotel)
    assert "contact the hotel" in info.value.message
    assert not pms_hotel.reservations.exists()
    assert SyncLog.objects.filter(operation=ota.HOTEL_AVAIL_RQ, status="error").exists()


def test_no_connection_refuses_too(pms_hotel, conn):
    conn.enabled = False
    conn.save()
    with pytest.raises(ExternalAvailabilityUnavailable):
        book(pms_hotel)


@responses.activate
def test_answers_are_cached_briefly(pms_hotel, settings):
    settings.IDS_AVAILABILITY_CACHE_SECONDS = 5
    from django.core.cache import cache

    cache.clear()
    responses.post(AVAIL_RQ, body=avail_ok("EXT", 2))
    book(pms_hotel)
    book(pms_hotel)
    assert len(responses.calls) == 1


def test_local_master_never_asks_the_pms(hotel, conn):
    with responses.RequestsMock():  # any call would fail the test
        assert book(hotel).pk


# ---------------------------------------------------------------- API


@responses.activate
def test_api_check_availability_maps_errors(admin_client, pms_hotel):
    url = "/api/v1/ids/check-availability/"
    body = {
        "hotel": "IDS",
        "room_type": "EXT",
        "rate_plan": "BAR",
        "check_in": str(pms_hotel.today() + timedelta(days=3)),
        "check_out": str(pms_hotel.today() + timedelta(days=4)),
    }
    responses.post(AVAIL_RQ, body=avail_ok("EXT", 2))
    ok = admin_client.post(url, body, content_type="application/json")
    assert ok.status_code == 200 and ok.json()["rooms"] == 2
    responses.replace(responses.POST, AVAIL_RQ, body=avail_ok("EXT", 0))
    body["adults"] = 1  # another cache key
    assert admin_client.post(url, body, content_type="application/json").status_code == 409
    responses.replace(responses.POST, AVAIL_RQ, status=503)
    body["adults"] = 2
    body["children"] = 1
    down = admin_client.post(url, body, content_type="application/json")
    assert down.status_code == 503
    assert down.json()["error"]["code"] == "pms_unavailable"
    bad = admin_client.post(url, {"hotel": "NOPE"}, content_type="application/json")
    assert bad.status_code == 400 and "fields" in bad.json()["error"]


def test_api_needs_staff_or_scope(client, conn):
    response = client.post(
        "/api/v1/ids/test-connection/", {"hotel": "IDS"}, content_type="application/json"
    )
    assert response.status_code in (401, 403)
    assert "error" in response.json()


@responses.activate
def test_api_test_connection_update_and_sync(admin_client, hotel, conn):
    responses.post(
        f"{BASE_URL}/{ota.PING_RQ}",
        body=ota.build_ping_rs(ota.OTAResponse(success=True, data=f"pema-ping-{conn.pk}")),
    )
    r = admin_client.post(
        "/api/v1/ids/test-connection/", {"hotel": "IDS"}, content_type="application/json"
    )
    assert r.status_code == 200 and r.json()["ok"]
    start = str(hotel.today())
    r = admin_client.post(
        "/api/v1/ids/update-availability/",
        {"hotel": "IDS", "start": start, "end": start, "room_types": ["EXT"], "blocked": 1},
        content_type="application/json",
    )
    assert r.status_code == 200 and r.json()["inventory_rows"] == 1
    r = admin_client.post(
        "/api/v1/ids/update-rates/",
        {"hotel": "IDS", "start": start, "end": start, "price": 12345},
        content_type="application/json",
    )
    assert r.status_code == 200 and r.json()["rate_rows"] == 2
    dispatch(conn)
    kinds = set(SyncJob.objects.filter(connection=conn).values_list("kind", flat=True))
    assert kinds == {"availability", "rates"}
    r = admin_client.post(
        "/api/v1/ids/sync-availability/", {"hotel": "IDS"}, content_type="application/json"
    )
    assert r.status_code == 202


# ---------------------------------------------------------------- setup and reconcile


def test_ensure_ids_connection_is_idempotent(hotel, settings):
    settings.IDS_BASE_URL = "http://sandbox.test:8100"
    first, created = ensure_ids_connection(hotel)
    again, created_again = ensure_ids_connection(hotel)
    assert created and not created_again and first.pk == again.pk
    assert first.credentials == {
        "api_key": settings.IDS_API_KEY,
        "api_secret": settings.IDS_API_SECRET,
    }
    task = PeriodicTask.objects.get(name="IDS Next: full ARI sync")
    assert task.interval.every == settings.IDS_SYNC_INTERVAL_MINUTES
    assert Connection.objects.filter(hotel=hotel, provider="ids_next").count() == 1
    # Its own schedule, not the generic daily one beside it.
    full_syncs = PeriodicTask.objects.filter(task="channels.tasks.full_sync_provider")
    assert [t.name for t in full_syncs] == ["IDS Next: full ARI sync"]


def test_reconcile_requeues_dead_and_missing(hotel, conn):
    res = book(hotel)
    dispatch(conn)
    SyncJob.objects.filter(reservation=res).update(status="dead", attempts=8)
    other = book(hotel)
    SyncJob.objects.filter(reservation=other).delete()  # e.g. created before the connection
    dry = reconcile(conn, dry_run=True)
    assert {n for n, _ in dry.found} == {res.confirmation_number, other.confirmation_number}
    assert SyncJob.objects.filter(reservation=res, status="dead").exists()
    call_command("reconcile_ids")
    assert SyncJob.objects.get(reservation=res).status == "pending"
    assert SyncJob.objects.filter(reservation=other, kind="res_create", status="pending").exists()


@pytest.mark.parametrize(
    "body, field",
    [
        ({"price": 3_000_000_000}, "price"),
        ({"price": 100, "bogus": 1}, "bogus"),
        ({"price": 100, "weekdays": []}, "weekdays"),
        ({"price": 100, "room_types": ["EXT\u0000"]}, "room_types"),
    ],
)
def test_ids_rate_input_errors_are_400s(client, conn, body, field):
    from django.contrib.auth.models import User

    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw-for-tests-1"))
    today = conn.hotel.today()
    payload = {"hotel": conn.hotel.code, "start": str(today), "end": str(today), **body}
    response = client.post("/api/v1/ids/update-rates/", payload, content_type="application/json")
    assert response.status_code == 400, response.content
    assert field in str(response.json()["error"])


def test_ids_availability_beyond_column_limits_is_a_400(client, conn):
    from django.contrib.auth.models import User

    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw-for-tests-1"))
    today = conn.hotel.today()
    for name in ("availability", "min_stay_arrival"):
        response = client.post(
            "/api/v1/ids/update-availability/",
            {"hotel": conn.hotel.code, "start": str(today), "end": str(today), name: 40000},
            content_type="application/json",
        )
        assert response.status_code == 400, response.content


def test_ids_hotel_code_with_nul_is_a_400(client, conn):
    from django.contrib.auth.models import User

    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw-for-tests-1"))
    response = client.post(
        "/api/v1/ids/test-connection/", {"hotel": "PEMA\u0000"}, content_type="application/json"
    )
    assert response.status_code == 400
