"""The Booking.com provider end to end through the engine, against recorded and built documents.

HTTP is faked with ``responses`` (the real client, ``pema/http.py``, runs);
ARI goes through the real dispatcher's items and the real delivery, pulls
through ``channels.pull`` and the inbound pipeline.
"""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import responses
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from bookings.models import InventoryDay, Reservation, RoomType
from channels.coalesce import DirtyDays, dates_between
from channels.connections import parse_products
from channels.delivery import deliver
from channels.dispatch import ari_jobs
from channels.health import connection_health
from channels.interface import Night
from channels.models import InboundMessage, SyncJob, SyncLog
from channels.pull import pull_connection
from partners.booking_com import codec, reservations
from partners.booking_com.provider import BookingComProvider
from partners.booking_com.setup import connect
from tests.factories import sellable_hotel
from tests.support.ari import queue_ari
from tests.support.provider_contract import ProviderContract

from .conftest import sample

BASE = "http://booking.test"
SECURE = "http://secure-booking.test"
HOTEL_ID = "367456"
CREDENTIALS = {"username": "machine", "password": "s3cret", "hotel_id": HOTEL_ID}
PRODUCTS = [
    {"room_type": "EXT", "rate_plan": None, "partner_room_id": "36745601", "partner_rate_id": None},
    {
        "room_type": "EXT",
        "rate_plan": "BAR",
        "partner_room_id": "36745601",
        "partner_rate_id": "1278606",
    },
    {"room_type": "EXQ", "rate_plan": None, "partner_room_id": "36745603", "partner_rate_id": None},
    {
        "room_type": "EXQ",
        "rate_plan": "BAR",
        "partner_room_id": "36745603",
        "partner_rate_id": "1278608",
    },
]
RUID = "UmFuZG9tSVY$" + "A" * 20


def url(host: str, endpoint: str) -> str:
    return codec.endpoint_url(host, endpoint)


@pytest.fixture(autouse=True)
def _no_ack_wait(monkeypatch):
    # Booking's 5 s between an ack and the next GET is kept in production; tests do not wait.
    monkeypatch.setattr(BookingComProvider, "wait_after_ack_seconds", 0)


@pytest.fixture
def hotel(db):
    return sellable_hotel(
        code="PEMA", rooms={"EXT": 2, "EXQ": 3, "SUI": 1}, days=40, currency="EUR", price=12000
    )


@pytest.fixture
def booking(hotel):
    conn, created = connect(
        hotel="PEMA",
        base_url=BASE,
        secure_base_url=SECURE,
        credentials=CREDENTIALS,
        products=parse_products(PRODUCTS),
    )
    assert created
    return conn


def ok_answer(name: str) -> bytes:
    return codec.build_ari_response(name, ruid=RUID)


# ---------------------------------------------------------------------------- ARI


@responses.activate
def test_ari_jobs_become_valid_documents_of_mapped_products_only(booking, schemas):
    avail = responses.post(url(BASE, codec.AVAIL_NOTIF), body=ok_answer(codec.AVAIL_NOTIF_RS))
    rates = responses.post(
        url(BASE, codec.RATE_AMOUNT_NOTIF), body=ok_answer(codec.RATE_AMOUNT_NOTIF_RS)
    )
    queue_ari(booking)

    report = deliver(booking.pk)

    assert report.delivered == 2 and report.dead == 0
    assert avail.call_count == 1 and rates.call_count == 1
    expected_auth = "Basic " + base64.b64encode(b"machine:s3cret").decode()
    sent_rooms = set()
    for call in responses.calls:
        assert call.request.headers["Accept-Version"] == "1.1"
        assert call.request.headers["Authorization"] == expected_auth
        schemas.assert_valid(call.request.body)
        if call.request.url.endswith(codec.AVAIL_NOTIF):
            notif = codec.parse_avail_notif(call.request.body)
        else:
            notif = codec.parse_rate_amount_notif(call.request.body)
        assert notif.hotel_id == HOTEL_ID
        sent_rooms |= {m.room_id for m in notif.messages}
    # SUI is not mapped on this connection: it is left out, and said so in the log.
    assert sent_rooms == {"36745601", "36745603"}
    logs = list(SyncLog.objects.filter(connection=booking, operation=codec.AVAIL_NOTIF))
    assert logs[0].correlation_id == RUID
    assert "SUI" in logs[0].error and logs[0].status == SyncLog.Status.WARNING
    limits = {
        m.room_id: m.booking_limit
        for m in codec.parse_avail_notif(responses.calls[0].request.body).messages
        if m.booking_limit is not None
    }
    assert limits == {"36745601": 2, "36745603": 3}


def test_ari_goes_from_yesterday_to_the_connections_horizon_a_month_a_document(booking):
    """Booking's capabilities shape the jobs: 365 days by default (the setting may say
    more), nothing before yesterday, one calendar month per document."""
    today = booking.hotel.today()
    from bookings.inventory import ensure_calendar

    ensure_calendar(booking.hotel, today - timedelta(days=3), today + timedelta(days=499))

    def sent(conn) -> set:
        dirty = DirtyDays()
        span = dates_between(today - timedelta(days=3), today + timedelta(days=499))
        for room_type in RoomType.objects.filter(hotel=conn.hotel):
            dirty.avail[room_type.id] = set(span)
        jobs = ari_jobs(conn, dirty)
        for job in jobs:
            starts = {i["start"][:7] for i in job.payload["items"]}
            ends = {i["end"][:7] for i in job.payload["items"]}
            assert len(starts | ends) == 1, "one calendar month per document"
        return {
            day
            for job in jobs
            for i in job.payload["items"]
            for day in dates_between(
                datetime.fromisoformat(i["start"]).date(), datetime.fromisoformat(i["end"]).date()
            )
        }

    days = sent(booking)
    assert min(days) == today - timedelta(days=1)
    assert max(days) == today + timedelta(days=364)
    booking.settings = {**booking.settings, "horizon_days": 500}
    booking.save()
    assert max(sent(booking)) == today + timedelta(days=499)


def test_a_booking_connection_gets_no_reservation_jobs_even_if_set_to_export(booking):
    """Reservations come from Booking.com: an admin-made connection (which exports
    reservations by the model's default) must not collect jobs for them."""
    from bookings.reservations import GuestDetails, reserve_stay
    from channels.dispatch import dispatch

    booking.export_reservations = True
    booking.last_full_sync_at = booking.last_full_sync_at or datetime.now(UTC)
    booking.save()
    hotel = booking.hotel
    check_in = hotel.today() + timedelta(days=5)
    reserve_stay(
        hotel=hotel,
        room_type=hotel.room_types.get(code="EXT"),
        rate_plan=hotel.rate_plans.get(code="BAR"),
        check_in=check_in,
        check_out=check_in + timedelta(days=2),
        adults=2,
        guest=GuestDetails("Asha", "Rao", "asha@example.com"),
        source="booking_engine",
    )
    dispatch(booking)
    kinds = set(SyncJob.objects.filter(connection=booking).values_list("kind", flat=True))
    assert kinds == {"availability"}  # the rooms to sell follow the booking; nothing else


@responses.activate
def test_success_with_warnings_is_delivered_and_logged(booking):
    responses.post(url(BASE, codec.AVAIL_NOTIF), body=sample("avail_notif_rs_warnings.xml"))
    responses.post(url(BASE, codec.RATE_AMOUNT_NOTIF), body=ok_answer(codec.RATE_AMOUNT_NOTIF_RS))
    queue_ari(booking)

    deliver(booking.pk)

    jobs = {j.kind: j for j in SyncJob.objects.filter(connection=booking)}
    # The sample's NotProcessed ROOM_ID_INVALID is a message Booking refused for good.
    assert jobs[SyncJob.Kind.AVAILABILITY].status == SyncJob.Status.DEAD
    assert "ROOM_ID_INVALID" in jobs[SyncJob.Kind.AVAILABILITY].last_error
    assert jobs[SyncJob.Kind.RATES].status == SyncJob.Status.DONE


@responses.activate
def test_errors_are_classified_permanent_or_transient(booking):
    responses.post(
        url(BASE, codec.AVAIL_NOTIF), body=sample("avail_notif_rs_errors.xml"), status=400
    )
    transient = codec.build_ari_response(
        codec.RATE_AMOUNT_NOTIF_RS,
        errors=[codec.issue("AVAILABILITY_UPDATE_DISABLE_HOTEL_SWITCHING_CURRENCY")],
    )
    responses.post(url(BASE, codec.RATE_AMOUNT_NOTIF), body=transient, status=400)
    queue_ari(booking)

    deliver(booking.pk)

    jobs = {j.kind: j for j in SyncJob.objects.filter(connection=booking)}
    avail, rates = jobs[SyncJob.Kind.AVAILABILITY], jobs[SyncJob.Kind.RATES]
    assert avail.status == SyncJob.Status.DEAD and "NOT_A_VALID_DATE" in avail.last_error
    assert avail.dead_reason == SyncJob.DeadReason.PERMANENT
    assert rates.status == SyncJob.Status.PENDING and rates.attempts == 1
    assert "SWITCHING_CURRENCY" in rates.last_error
    error_log = SyncLog.objects.filter(connection=booking, operation=codec.AVAIL_NOTIF).first()
    assert error_log.correlation_id  # the RUID of the refusal is kept


def test_a_job_with_no_mapped_product_is_skipped_not_failed(booking):
    job = SyncJob.objects.create(
        connection=booking,
        stream=SyncJob.ARI_STREAM,
        kind=SyncJob.Kind.AVAILABILITY,
        payload={
            "items": [
                {
                    "type": "avail",
                    "room_type": "SUI",
                    "start": booking.hotel.today().isoformat(),
                    "end": booking.hotel.today().isoformat(),
                    "limit": 1,
                    "stop_sell": False,
                }
            ]
        },
    )
    with responses.RequestsMock():  # no call may be made
        deliver(booking.pk)
    job.refresh_from_db()
    assert job.status == SyncJob.Status.SKIPPED and "SUI" in job.last_error


# ---------------------------------------------------------------------------- reservations


def stay(room_id: str, rate: str, first, nights: int, price: int, *, index: str = "1"):
    return reservations.BookingRoomStay(
        room_id=room_id,
        rate_plan_code=rate,
        nights=tuple(Night(first + timedelta(days=n), price) for n in range(nights)),
        adults=2,
        index=index,
    )


def booking_reservation(rid: str, rooms, *, hotel_id: str = HOTEL_ID, status: str = ""):
    return reservations.BookingReservation(
        reservation_id=rid,
        hotel_id=hotel_id,
        currency="EUR",
        rooms=tuple(rooms),
        booker=reservations.GuestDetails(given_name="Ana", surname="Lima", email="a@example.com"),
        created_at=datetime(2026, 11, 30, 9, 0, tzinfo=UTC),
        modified_at=datetime(2026, 11, 30, 9, 5, tzinfo=UTC),
        status=status,
    )


def get_answer(endpoint: str, items) -> bytes:
    return reservations.build_reservations(endpoint, list(items), include_cards=False)


def sold(hotel, code: str, day) -> int:
    return InventoryDay.objects.get(room_type__hotel=hotel, room_type__code=code, date=day).sold


def acked_ids(call) -> tuple[str, ...]:
    return reservations.parse_ack(call.request.body).reservation_ids


def register_pull(new: bytes, modified: bytes | None = None) -> None:
    responses.get(url(SECURE, codec.RES_NOTIF), body=new)
    responses.get(
        url(SECURE, codec.RES_MODIFY_NOTIF),
        body=modified or get_answer(codec.RES_MODIFY_NOTIF, []),
    )


def ack_ok(endpoint: str, ids=()) -> bytes:
    return reservations.build_ack(endpoint, list(ids), ruid=RUID)


@responses.activate
def test_pull_applies_then_acknowledges_exactly_the_applied(booking):
    day = booking.hotel.today() + timedelta(days=3)
    two_rooms = booking_reservation(
        "4001",
        [
            stay("36745603", "1278608VCC", day, 2, 15000, index="1"),
            stay("36745603", "1278608", day, 2, 15000, index="2"),
        ],
    )
    single = booking_reservation("4002", [stay("36745601", "1278606", day, 1, 9900)])
    unmapped = booking_reservation("4003", [stay("99999901", "1278606", day, 1, 9900)])
    other_hotel = booking_reservation(
        "4004", [stay("36745701", "1278700", day, 1, 9900)], hotel_id="367457"
    )
    register_pull(get_answer(codec.RES_NOTIF, [two_rooms, single, unmapped, other_hotel]))
    ack = responses.post(url(SECURE, codec.RES_NOTIF), body=ack_ok(codec.RES_NOTIF))

    report = pull_connection(booking.pk)

    assert report.claimed and report.error == ""
    assert (report.applied, report.held) == (2, 1)
    assert ack.call_count == 1
    assert sorted(acked_ids(ack.calls[0])) == ["4001", "4002"]  # not the held 4003
    assert (
        sold(booking.hotel, "EXQ", day) == 2 and sold(booking.hotel, "EXQ", day + timedelta(1)) == 2
    )
    assert sold(booking.hotel, "EXT", day) == 1
    local = Reservation.objects.get(external_id="4001")
    assert local.source == Reservation.Source.OTA and local.rooms.count() == 2
    assert local.total_amount == 60000
    held = InboundMessage.objects.get(partner_reservation_id="4003")
    assert held.status == InboundMessage.Status.HELD and held.error_code == "unmapped_room"
    assert held.acked_at is None
    assert not InboundMessage.objects.filter(partner_reservation_id="4004").exists()
    get = next(c for c in responses.calls if c.request.method == "GET")
    query = parse_qs(urlparse(get.request.url).query)
    assert query == {"hotel_ids": [HOTEL_ID], "limit": ["100"]}
    assert get.request.headers["Accept-Version"] == "1.1"


@responses.activate
def test_a_pull_acknowledges_everything_it_applied_however_many_calls_it_takes(
    booking, monkeypatch
):
    """More than one acknowledgement's worth read in one pull (new and modified
    reservations, up to the limit each) is all acknowledged before the next pull."""
    from channels import pull

    monkeypatch.setattr(pull, "ACK_BATCH", 2)
    day = booking.hotel.today() + timedelta(days=4)
    new = [
        booking_reservation(f"42{n:02d}", [stay("36745601", "1278606", day, 1, 100)])
        for n in range(5)
    ]
    register_pull(get_answer(codec.RES_NOTIF, new))
    ack = responses.post(url(SECURE, codec.RES_NOTIF), body=ack_ok(codec.RES_NOTIF))

    report = pull_connection(booking.pk)

    assert report.applied == 5
    assert ack.call_count == 3  # 2 + 2 + 1
    assert sorted(i for call in ack.calls for i in acked_ids(call)) == [
        r.reservation_id for r in new
    ]
    assert not InboundMessage.objects.filter(connection=booking, acked_at__isnull=True).exists()
    assert report.as_dict()["acknowledged"] == 5


@responses.activate
def test_a_repeated_pull_of_the_same_message_is_a_no_op(booking):
    day = booking.hotel.today() + timedelta(days=5)
    answer = get_answer(
        codec.RES_NOTIF, [booking_reservation("4101", [stay("36745603", "1278608", day, 2, 100)])]
    )
    register_pull(answer)
    responses.post(url(SECURE, codec.RES_NOTIF), body=ack_ok(codec.RES_NOTIF))

    pull_connection(booking.pk)
    pull_connection(booking.pk)  # Booking sent it again (say our ack was lost)

    assert sold(booking.hotel, "EXQ", day) == 1
    assert Reservation.objects.filter(external_id="4101").count() == 1
    message = InboundMessage.objects.get(partner_reservation_id="4101")
    assert message.deliveries == 2 and message.status == InboundMessage.Status.APPLIED
    posts = [c for c in responses.calls if c.request.method == "POST"]
    assert [acked_ids(c) for c in posts] == [("4101",), ("4101",)]


@responses.activate
def test_modification_and_cancellation_from_the_modify_endpoint(booking):
    day = booking.hotel.today() + timedelta(days=7)
    first = booking_reservation("4201", [stay("36745603", "1278608", day, 2, 100)])
    register_pull(get_answer(codec.RES_NOTIF, [first]))
    responses.post(url(SECURE, codec.RES_NOTIF), body=ack_ok(codec.RES_NOTIF))
    pull_connection(booking.pk)
    assert sold(booking.hotel, "EXQ", day) == 1

    responses.reset()
    cancel = booking_reservation(
        "4201", [stay("36745603", "1278608", day, 2, 100)], status="Cancelled"
    )
    cancel = replace(cancel, modified_at=datetime(2026, 11, 30, 10, 0, tzinfo=UTC))
    register_pull(get_answer(codec.RES_NOTIF, []), get_answer(codec.RES_MODIFY_NOTIF, [cancel]))
    ack = responses.post(url(SECURE, codec.RES_MODIFY_NOTIF), body=ack_ok(codec.RES_MODIFY_NOTIF))

    pull_connection(booking.pk)

    assert sold(booking.hotel, "EXQ", day) == 0
    assert Reservation.objects.get(external_id="4201").status == Reservation.Status.CANCELLED
    assert acked_ids(ack.calls[0]) == ("4201",)


@responses.activate
def test_409_pulls_again_before_acknowledging(booking):
    day = booking.hotel.today() + timedelta(days=4)
    answer = get_answer(
        codec.RES_NOTIF, [booking_reservation("4301", [stay("36745601", "1278606", day, 1, 100)])]
    )
    register_pull(answer)
    conflict = reservations.build_ack_error(
        codec.RES_NOTIF, [codec.issue("PULL_AGAIN", "changed since", record_id="4301")]
    )
    responses.post(url(SECURE, codec.RES_NOTIF), body=conflict, status=409)
    responses.post(url(SECURE, codec.RES_NOTIF), body=ack_ok(codec.RES_NOTIF))

    report = pull_connection(booking.pk)

    sequence = [
        (c.request.method, urlparse(c.request.url).path.rsplit("/", 1)[1]) for c in responses.calls
    ]
    assert sequence == [
        ("GET", codec.RES_NOTIF),
        ("GET", codec.RES_MODIFY_NOTIF),
        ("POST", codec.RES_NOTIF),  # 409
        ("GET", codec.RES_NOTIF),
        ("GET", codec.RES_MODIFY_NOTIF),
        ("POST", codec.RES_NOTIF),  # accepted
    ]
    assert report.pulls == 2
    message = InboundMessage.objects.get(partner_reservation_id="4301")
    assert message.ack_result == InboundMessage.AckResult.ACCEPTED
    assert sold(booking.hotel, "EXT", day) == 1


@responses.activate
def test_403_shows_the_connection_unauthorised(booking, admin_client):
    responses.get(
        url(SECURE, codec.RES_NOTIF),
        body=sample("booking_unauthorized_res_modify_notif_rs.xml"),
        status=403,
    )

    report = pull_connection(booking.pk)

    assert "unauthorised" in report.error
    health = next(h for h in connection_health() if h.connection.pk == booking.pk)
    assert not health.ok
    assert health.last_error.http_status == 403
    assert "unauthorised" in health.last_error.error
    assert not InboundMessage.objects.exists()
    page = admin_client.get(reverse("admin:channels_connection_health")).content.decode()
    state = page[page.index('id="channel-health"') :]
    assert "<strong>unauthorised</strong>: HTTP 403 on OTA_HotelResNotif" in state

    # Fixed at Booking's side: the next successful pull clears it.
    responses.reset()
    register_pull(get_answer(codec.RES_NOTIF, []))
    pull_connection(booking.pk)
    health = next(h for h in connection_health() if h.connection.pk == booking.pk)
    assert not health.unauthorised


def test_the_admin_adds_a_booking_connection(admin_client, hotel):
    page = admin_client.get(reverse("admin:channels_connection_add")).content.decode()
    assert "Booking.com (OTA, OTA XML)" in page and "credential_hotel_id" in page
    response = admin_client.post(
        reverse("admin:channels_connection_add"),
        {
            "hotel": hotel.pk,
            "provider": "booking_com",
            "name": "Booking.com",
            "base_url": BASE,
            "enabled": "on",
            "push_ari": "on",
            "settings": json.dumps({"min_stay_mode": "arrival"}),
            "room_type_map": "{}",
            "rate_plan_map": "{}",
            "credential_username": "machine",
            "credential_password": "s3cret",
            "credential_hotel_id": HOTEL_ID,
            "products-TOTAL_FORMS": "0",
            "products-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    conn = hotel.connections.get(provider="booking_com")
    assert conn.credentials == CREDENTIALS
    from django_celery_beat.models import PeriodicTask

    assert PeriodicTask.objects.get(name=f"channels-pull-{conn.pk}").interval.every == 20
    conn.delete()
    assert not PeriodicTask.objects.filter(name=f"channels-pull-{conn.pk}").exists()


@responses.activate
def test_recorded_samples_pull_and_skip_the_other_property(booking):
    register_pull(sample("res_notif_rq.xml"), sample("res_modify_notif_rq.xml"))
    responses.post(url(SECURE, codec.RES_NOTIF), body=ack_ok(codec.RES_NOTIF))
    responses.post(url(SECURE, codec.RES_MODIFY_NOTIF), body=ack_ok(codec.RES_MODIFY_NOTIF))

    report = pull_connection(booking.pk)

    assert report.error == ""
    stored = set(InboundMessage.objects.values_list("partner_reservation_id", flat=True))
    assert "312637550" not in stored  # the KWD reservation of property 367457
    assert {"312637549", "312637551", "312637552"} <= stored
    log = SyncLog.objects.filter(connection=booking, operation=codec.RES_NOTIF).last()
    assert "367457" in log.error and log.status == SyncLog.Status.WARNING


# ---------------------------------------------------------------------------- setup and commands


def test_ensure_connection_command(hotel, tmp_path, capsys):
    products = tmp_path / "products.json"
    products.write_text(json.dumps(PRODUCTS))
    args = [
        "ensure_connection",
        "booking_com",
        "--hotel",
        "PEMA",
        "--base-url",
        BASE,
        "--credentials-json",
        json.dumps(CREDENTIALS),
        "--products",
        str(products),
    ]
    call_command(*args)
    conn = hotel.connections.get(provider="booking_com")
    assert conn.products.count() == 4 and not conn.export_reservations
    assert conn.get_provider().secure_base_url == BASE  # defaults to the base URL
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(name=f"channels-pull-{conn.pk}")
    assert task.interval.every == 20 and task.interval.period == "seconds"
    assert json.loads(task.args) == [conn.pk]
    # The whole calendar again once a day: days coming inside Booking's 365 get sent.
    (nightly,) = PeriodicTask.objects.filter(task="channels.tasks.full_sync_provider")
    assert json.loads(nightly.args) == ["booking_com"] and nightly.enabled
    assert (nightly.interval.every, nightly.interval.period) == (1440, "minutes")

    call_command(*args, "--secure-base-url", SECURE, "--update")
    conn.refresh_from_db()
    assert conn.settings == {"secure_base_url": SECURE}

    products.write_text(json.dumps([{"room_type": "NOPE", "partner_room_id": "1"}]))
    with pytest.raises(CommandError, match="no room type NOPE"):
        call_command(*args, "--update")
    with pytest.raises(CommandError, match="hotel_id"):
        call_command(*args[:-4], "--credentials-json", '{"username": "u", "password": "p"}')
    products.write_text("[{")
    with pytest.raises(CommandError, match="not JSON"):
        call_command(*args)


@responses.activate
def test_pull_command(booking, capsys):
    register_pull(get_answer(codec.RES_NOTIF, []))
    call_command("pull", "--connection", str(booking.pk))
    assert f"#{booking.pk}:" in capsys.readouterr().out
    with pytest.raises(CommandError, match="No connection"):
        call_command("pull", "--connection", "999999")


# ---------------------------------------------------------------------------- contract


class TestBookingComContract(ProviderContract):
    key = "booking_com"
    base_url = BASE
    settings = {"min_stay_mode": "arrival", "horizon_days": 400, "target": "Test"}
    credentials = CREDENTIALS
    bad_settings = {"min_stay_mode": "sometimes", "horizon_days": 0}

    partner_room_id = "36745601"
    partner_rate_id = "1278606"

    def fake_partner(self, rsps, connection):
        rsps.get(url(BASE, codec.RES_NOTIF), body=get_answer(codec.RES_NOTIF, []))

    def fake_ari(self, rsps, connection):
        rsps.post(url(BASE, codec.AVAIL_NOTIF), body=ok_answer(codec.AVAIL_NOTIF_RS))
        rsps.post(url(BASE, codec.RATE_AMOUNT_NOTIF), body=ok_answer(codec.RATE_AMOUNT_NOTIF_RS))

    def fake_pull(self, rsps, connection):
        day = connection.hotel.today() + timedelta(days=3)
        new = booking_reservation("5001", [stay("36745601", "1278606", day, 2, 9900)])
        rsps.get(url(BASE, codec.RES_NOTIF), body=get_answer(codec.RES_NOTIF, [new]))
        rsps.get(url(BASE, codec.RES_MODIFY_NOTIF), body=get_answer(codec.RES_MODIFY_NOTIF, []))

    def fake_ack(self, rsps, connection):
        rsps.post(url(BASE, codec.RES_NOTIF), body=ack_ok(codec.RES_NOTIF))
        rsps.post(url(BASE, codec.RES_MODIFY_NOTIF), body=ack_ok(codec.RES_MODIFY_NOTIF))


def test_no_two_pulls_of_one_connection_at_once(booking):
    from channels.delivery import claim, release

    assert claim(booking.pk, "another-worker")
    with responses.RequestsMock():  # no call may be made while another worker holds it
        report = pull_connection(booking.pk)
    assert not report.claimed
    release(booking.pk, "another-worker")


def test_the_pull_interval_is_booking_s_20_s_unless_the_connection_says(booking):
    from channels.pull import ensure_pull_schedule

    assert booking.get_provider().capabilities().pull_interval_seconds == 20
    booking.settings = {**booking.settings, "pull_interval_seconds": 2}
    booking.save()
    assert booking.get_provider().capabilities().pull_interval_seconds == 2
    task = ensure_pull_schedule(booking, update=True)
    assert task.interval.every == 2
    provider = type(booking.get_provider())
    assert provider.validate_settings({"pull_interval_seconds": 0}) == [
        "pull_interval_seconds must be a whole number from 1 to 3600."
    ]


@responses.activate
def test_a_pull_wakes_the_delivery_it_kept_waiting(booking, monkeypatch):
    from channels import tasks

    woken = []
    monkeypatch.setattr(tasks, "enqueue", lambda task, *args, **kw: woken.append((task, args)))
    register_pull(get_answer(codec.RES_NOTIF, []))
    tasks.pull_connection(booking.pk)
    assert woken == []  # nothing waits to be sent

    queue_ari(booking)
    tasks.pull_connection(booking.pk)
    assert woken == [(tasks.deliver_connection, (booking.pk,))]
