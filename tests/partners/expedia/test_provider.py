"""The Expedia provider through the engine, with HTTP faked by ``responses``.

ARI goes through the real dispatcher's items and delivery; bookings through
``channels.pull`` and the inbound pipeline, and their confirmations through
``acknowledge_pending``.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import responses
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from bookings.models import Reservation
from channels.connections import parse_products
from channels.delivery import deliver
from channels.health import connection_health
from channels.interface import Night
from channels.models import Connection, InboundMessage, SyncJob, SyncLog
from channels.pull import pull_connection
from partners.expedia import codec
from partners.expedia.setup import connect
from tests.factories import sellable_hotel
from tests.support.ari import queue_ari
from tests.support.provider_contract import ProviderContract

from .conftest import sample

BASE = "http://expedia.test"
AR_URL, BR_URL, BC_URL = (f"{BASE}/{p}" for p in (codec.AR_PATH, codec.BR_PATH, codec.BC_PATH))
HOTEL_ID = "35499"
CREDENTIALS = {"username": "pema-eqc", "password": "s3cret-pass", "hotel_id": HOTEL_ID}
PRODUCTS = [
    {"room_type": "EXT", "rate_plan": None, "partner_room_id": "201", "partner_rate_id": None},
    {"room_type": "EXT", "rate_plan": "BAR", "partner_room_id": "201", "partner_rate_id": "301"},
    {"room_type": "EXQ", "rate_plan": None, "partner_room_id": "202", "partner_rate_id": None},
    {"room_type": "EXQ", "rate_plan": "BAR", "partner_room_id": "202", "partner_rate_id": "302"},
]
OK = codec.build_ar_response()
Status = InboundMessage.Status


@pytest.fixture
def hotel(db):
    return sellable_hotel(
        code="PEMA", rooms={"EXT": 2, "EXQ": 3}, days=40, currency="EUR", price=12000
    )


@pytest.fixture
def expedia(hotel):
    conn, _ = connect(
        hotel=hotel.code,
        base_url=BASE,
        credentials=CREDENTIALS,
        products=parse_products(PRODUCTS),
    )
    return conn


# ---------------------------------------------------------------------------- the contract


class TestExpediaContract(ProviderContract):
    key = "expedia"
    base_url = BASE
    settings = {"pricing": "per_occupancy", "occupancy": 2, "pull_interval_seconds": 60}
    credentials = CREDENTIALS
    bad_settings = {"pricing": "per_guest", "occupancy": 0}
    partner_room_id = "201"
    partner_rate_id = "301"

    def fake_partner(self, rsps, connection):
        rsps.post(BR_URL, body=codec.build_br_response([]))

    def fake_ari(self, rsps, connection):
        rsps.post(AR_URL, body=OK)

    def fake_pull(self, rsps, connection):
        day = connection.hotel.today() + timedelta(days=3)
        rsps.post(BR_URL, body=codec.build_br_response([booking("848483849001", day)]))

    def fake_ack(self, rsps, connection):
        rsps.post(BC_URL, body=codec.build_bc_response())


def booking(
    bid: str,
    day,
    *,
    kind: str = codec.BOOK,
    room: str = "201",
    rate: str = "301",
    nights=2,
    minutes_ago: int = 1,
    hotel_id: str = HOTEL_ID,
    price: int = 15000,
):
    cancel = kind == codec.CANCEL
    return codec.ExpediaBooking(
        booking_id=bid,
        booking_type=kind,
        created_at=timezone.now() - timedelta(minutes=minutes_ago),
        hotel_id=hotel_id,
        room_id="0" if cancel else room,
        rate_id="0" if cancel else rate,
        arrival=day,
        departure=day + timedelta(days=nights),
        adults=2,
        currency="EUR",
        nights=tuple(Night(day + timedelta(days=n), 0 if cancel else price) for n in range(nights)),
        total=0 if cancel else price * nights,
        status="pending",
    )


def test_credentials_follow_eqc_s_rules():
    from partners.expedia.provider import ExpediaProvider

    errors = ExpediaProvider.validate_credentials(
        {"username": "abc", "password": "12345", "hotel_id": "x1"}
    )
    assert len(errors) == 3


# ---------------------------------------------------------------------------- ARI


@responses.activate
def test_ari_jobs_become_ar_documents_with_all_seven_weekdays(expedia):
    ar = responses.post(AR_URL, body=OK)
    queue_ari(expedia)

    report = deliver(expedia.pk)

    assert report.delivered == 2 and report.dead == 0
    assert ar.call_count == 2
    rooms, plans = set(), set()
    for call in responses.calls:
        assert call.request.headers["Content-Type"].startswith("text/xml")
        request = codec.parse_ar_request(call.request.body)
        assert (request.username, request.password, request.hotel_id) == tuple(CREDENTIALS.values())
        assert b'sun="true"' in call.request.body and b'mon="true"' in call.request.body
        for update in request.updates:
            rooms.add(update.room_id)
            plans |= {p.rate_id for p in update.rate_plans}
            if update.total_inventory is not None:
                assert update.total_inventory in (2, 3)  # net of reservations: none yet
            for plan in update.rate_plans:
                for rate in plan.rates:
                    assert rate.currency == "EUR" and rate.prices == ((0, 12000),)
    assert rooms == {"201", "202"} and plans == {"301", "302"}
    assert SyncLog.objects.filter(connection=expedia, operation=codec.AR_PATH).count() == 2


@responses.activate
def test_an_error_applies_nothing_and_is_permanent(expedia):
    responses.post(AR_URL, body=sample("ar_rs_error.xml"))
    queue_ari(expedia)

    deliver(expedia.pk)

    for job in SyncJob.objects.filter(connection=expedia):
        assert job.status == SyncJob.Status.DEAD and job.dead_reason == SyncJob.DeadReason.PERMANENT
        assert "3203" in job.last_error and "432432" in job.last_error


@responses.activate
def test_error_3210_is_transient(expedia):
    responses.post(
        AR_URL, body=codec.build_ar_response(errors=[codec.Issue("3210", "Connection refused.")])
    )
    queue_ari(expedia)

    deliver(expedia.pk)

    jobs = SyncJob.objects.filter(connection=expedia)
    assert {job.status for job in jobs} == {SyncJob.Status.PENDING}  # retried, not dead
    [tried] = [job for job in jobs if job.attempts]
    assert tried.attempts == 1 and "3210" in tried.last_error


@responses.activate
def test_a_warning_is_a_partial_success_logged_on_the_job_with_its_dates(expedia):
    responses.post(AR_URL, body=sample("ar_rs_warning.xml"))
    queue_ari(expedia)

    deliver(expedia.pk)

    for job in SyncJob.objects.filter(connection=expedia):
        assert job.status == SyncJob.Status.DONE
        [warning] = job.payload["warnings"]
        assert "7013" in warning and "Stay Date 2012-08-01" in warning
    logs = SyncLog.objects.filter(connection=expedia, operation=codec.AR_PATH)
    assert {log.status for log in logs} == {SyncLog.Status.WARNING}
    assert all("Stay Date 2012-08-01" in log.error for log in logs)


@responses.activate
def test_429_is_transient_and_honours_retry_after(expedia):
    responses.post(AR_URL, status=429, headers={"Retry-After": "120"})
    queue_ari(expedia)
    before = timezone.now()

    deliver(expedia.pk)

    jobs = SyncJob.objects.filter(connection=expedia)
    assert {job.status for job in jobs} == {SyncJob.Status.PENDING}
    [tried] = [job for job in jobs if job.attempts]
    assert "429" in tried.last_error
    assert tried.next_attempt_at >= before + timedelta(seconds=119)


@responses.activate
def test_refused_credentials_in_the_body_are_unauthorised(expedia):
    responses.post(
        AR_URL, body=codec.build_ar_response(errors=[codec.Issue("1002", "Authentication failed.")])
    )
    queue_ari(expedia)

    deliver(expedia.pk)

    for job in SyncJob.objects.filter(connection=expedia):
        assert job.status == SyncJob.Status.DEAD and "1002" in job.last_error


# ---------------------------------------------------------------------------- bookings


@responses.activate
def test_a_pulled_booking_is_applied_then_confirmed_with_pema_s_number(expedia, hotel):
    day = hotel.today() + timedelta(days=5)
    responses.post(BR_URL, body=codec.build_br_response([booking("848483849001", day)]))
    bc = responses.post(BC_URL, body=codec.build_bc_response())

    report = pull_connection(expedia.pk)

    assert report.applied == 1 and report.as_dict()["acknowledged"] == 1
    reservation = Reservation.objects.get(external_id="848483849001")
    assert reservation.source_channel == "expedia" and reservation.total_amount == 30000
    [confirmation] = codec.parse_bc_request(bc.calls[0].request.body).confirmations
    assert (confirmation.booking_id, confirmation.booking_type) == ("848483849001", "Book")
    assert confirmation.confirm_number == reservation.confirmation_number
    message = InboundMessage.objects.get(partner_reservation_id="848483849001")
    assert message.ack_result == InboundMessage.AckResult.ACCEPTED
    assert b"848483849001" in message.raw_body.encode()


@responses.activate
def test_a_cancellation_with_zeroed_ids_is_matched_by_booking_id(expedia, hotel):
    day = hotel.today() + timedelta(days=5)
    responses.post(BR_URL, body=codec.build_br_response([booking("848483849002", day)]))
    responses.post(BC_URL, body=codec.build_bc_response())
    pull_connection(expedia.pk)
    responses.replace(
        responses.POST,
        BR_URL,
        body=codec.build_br_response([booking("848483849002", day, kind=codec.CANCEL)]),
    )
    bc = responses.post(BC_URL, body=codec.build_bc_response())

    report = pull_connection(expedia.pk)

    assert report.applied == 1
    reservation = Reservation.objects.get(external_id="848483849002")
    assert reservation.status == Reservation.Status.CANCELLED
    [confirmation] = codec.parse_bc_request(bc.calls[-1].request.body).confirmations
    assert confirmation.booking_type == "Cancel"
    assert confirmation.confirm_number == reservation.confirmation_number


@responses.activate
def test_a_held_booking_blocks_no_other(expedia, hotel):
    day = hotel.today() + timedelta(days=6)
    held_one = booking("848483849003", day, room="999")  # a room Pema does not map
    good = booking("848483849004", day)
    responses.post(BR_URL, body=codec.build_br_response([good, held_one]))
    bc = responses.post(BC_URL, body=codec.build_bc_response())

    pull_connection(expedia.pk)

    held = InboundMessage.objects.get(partner_reservation_id="848483849003")
    assert held.status == Status.HELD and held.acked_at is None
    assert Reservation.objects.filter(external_id="848483849004").exists()
    [confirmation] = codec.parse_bc_request(bc.calls[0].request.body).confirmations
    assert confirmation.booking_id == "848483849004"  # the held one is left unconfirmed

    # Expedia releases the good booking's modification; the held one is still there.
    modify = booking("848483849004", day, kind=codec.MODIFY, nights=3, minutes_ago=0)
    responses.replace(responses.POST, BR_URL, body=codec.build_br_response([modify, held_one]))
    pull_connection(expedia.pk)

    reservation = Reservation.objects.get(external_id="848483849004")
    assert reservation.check_out == day + timedelta(days=3)
    last = codec.parse_bc_request(bc.calls[-1].request.body).confirmations
    assert [(c.booking_id, c.booking_type) for c in last] == [("848483849004", "Modify")]
    held.refresh_from_db()
    assert held.status == Status.HELD and held.deliveries == 2


@responses.activate
def test_a_bc_warning_fails_only_that_booking_s_confirmation(expedia, hotel):
    day = hotel.today() + timedelta(days=7)
    responses.post(
        BR_URL,
        body=codec.build_br_response([booking("848483849005", day), booking("848483849006", day)]),
    )
    warning = codec.Issue(
        "10081", "Update refused. Hotel ID and Booking ID mismatch.", "848483849005", "Book"
    )
    responses.post(BC_URL, body=codec.build_bc_response(warnings=[warning]))

    pull_connection(expedia.pk)

    refused = InboundMessage.objects.get(partner_reservation_id="848483849005")
    taken = InboundMessage.objects.get(partner_reservation_id="848483849006")
    assert refused.ack_result == InboundMessage.AckResult.FAILED and "10081" in refused.ack_error
    assert taken.ack_result == InboundMessage.AckResult.ACCEPTED


@responses.activate
def test_a_bc_outage_leaves_the_booking_applied_and_confirmed_at_the_next_pull(expedia, hotel):
    day = hotel.today() + timedelta(days=8)
    responses.post(BR_URL, body=codec.build_br_response([booking("848483849007", day)]))
    responses.post(BC_URL, status=503)

    pull_connection(expedia.pk)

    message = InboundMessage.objects.get(partner_reservation_id="848483849007")
    assert message.status == Status.APPLIED and message.acked_at is None
    responses.replace(responses.POST, BC_URL, body=codec.build_bc_response())
    pull_connection(expedia.pk)  # Expedia sends it again: retrieved, unconfirmed
    message.refresh_from_db()
    assert message.ack_result == InboundMessage.AckResult.ACCEPTED
    assert Reservation.objects.filter(external_id="848483849007").count() == 1


@responses.activate
def test_the_health_page_shows_unconfirmed_transactions_older_than_10_minutes(
    expedia, hotel, admin_client
):
    day = hotel.today() + timedelta(days=3)
    late = booking("848483849008", day, room="999", minutes_ago=11)
    fresh = booking("848483849009", day, room="999", minutes_ago=2)
    responses.post(BR_URL, body=codec.build_br_response([fresh, late]))

    pull_connection(expedia.pk)

    [health] = connection_health(Connection.objects.filter(pk=expedia.pk))
    assert health.unconfirmed == 1 and not health.ok
    page = admin_client.get(reverse("admin:index")).content.decode()
    assert "1 unconfirmed for over 10 min" in page and "#ba2121" in page


def test_ensure_connection_expedia_works(hotel, tmp_path):
    import json

    products = tmp_path / "products.json"
    products.write_text(json.dumps(PRODUCTS))
    call_command(
        "ensure_connection",
        "expedia",
        "--hotel", hotel.code,
        "--base-url", BASE,
        "--credentials-json", json.dumps(CREDENTIALS),
        "--settings-json", '{"pricing": "per_day"}',
        "--products", str(products),
    )  # fmt: skip
    conn = Connection.objects.get(hotel=hotel, provider="expedia")
    assert conn.products.count() == 4 and not conn.export_reservations and not conn.reject_held
    from django_celery_beat.models import PeriodicTask

    assert PeriodicTask.objects.filter(name=f"channels-pull-{conn.pk}").exists()
