"""The Agoda provider against a faked Agoda (``responses``): the contract battery, ARI and its
answers (207 partial success narrowed to what may pass), both auth modes, bookings pulled
and hinted, and the hook's answer."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.test import Client

from channels.interface import (
    AvailabilityItem,
    DateSpan,
    GuestDetails,
    InboundKind,
    Night,
    RateItem,
    RestrictionItem,
    WebhookRequest,
)
from channels.models import ChannelProduct, Connection, InboundMessage, SyncJob, SyncLog
from channels.providers.base import PartiallyApplied, PermanentError, TransientError, Unauthorised
from channels.pull import fetch_hinted, pull_connection
from partners.agoda import codec
from partners.agoda.provider import AgodaProvider
from pema import http_auth
from tests.factories import sellable_hotel
from tests.support.provider_contract import ProviderContract

from .conftest import PROPERTY, sample

BASE = "http://agoda.test"
API = f"{BASE}/api"
TOKEN = f"{BASE}{codec.TOKEN_PATH}"
KEY_CREDENTIALS = {"property_id": PROPERTY, "api_key": "k3y-secret", "hint_token": "h1nt"}
TOKEN_CREDENTIALS = {
    "property_id": PROPERTY,
    "client_id": "client-1",
    "client_secret": "s3cret",
    "hint_token": "h1nt",
}
ROOM, RATE = "5478687", "25077"
TYPE = re.compile(rb'type="(\d+)"')


@pytest.fixture(autouse=True)
def _fresh_tokens():
    http_auth.forget_tokens()
    yield
    http_auth.forget_tokens()


def request_type(call) -> str:
    body = call.request.body or b""
    body = body.encode() if isinstance(body, str) else body
    match = TYPE.search(body)
    return match.group(1).decode() if match else ""


def ok() -> bytes:
    return sample("agoda_set_ari_v2_rs_success.xml")


def connection_for(hotel, credentials=None, **settings) -> Connection:
    conn = Connection.objects.create(
        hotel=hotel,
        provider="agoda",
        name="Agoda",
        base_url=BASE,
        settings=settings,
        credentials=dict(credentials or KEY_CREDENTIALS),
        export_reservations=False,
    )
    room_type = hotel.room_types.get(code="EXT")
    plan = hotel.rate_plans.get(code="BAR")
    ChannelProduct.objects.create(connection=conn, room_type=room_type, partner_room_id=ROOM)
    ChannelProduct.objects.create(
        connection=conn,
        room_type=room_type,
        rate_plan=plan,
        partner_room_id=ROOM,
        partner_rate_id=RATE,
    )
    return conn


@pytest.fixture
def hotel(db):
    return sellable_hotel(code="PEMA", rooms={"EXT": 3, "EXQ": 2}, days=40, currency="THB")


@pytest.fixture
def agoda(hotel):
    return connection_for(hotel)


def span(offset: int, days: int = 1) -> DateSpan:
    start = codec.agoda_today() + timedelta(days=offset)
    return DateSpan(start, start + timedelta(days=days - 1))


# ---------------------------------------------------------------------- the contract


class TestAgodaContract(ProviderContract):
    key = "agoda"
    base_url = BASE
    settings = {"horizon_days": 400, "lookback_hours": 24}
    credentials = KEY_CREDENTIALS
    bad_settings = {"auth": "password", "horizon_days": 731}
    partner_room_id = ROOM
    partner_rate_id = RATE
    acknowledges = False

    def fake_partner(self, rsps, connection):
        rsps.post(API, body=codec.build_booking_list_answer([]))

    def fake_ari(self, rsps, connection):
        rsps.post(API, body=ok())

    def fake_pull(self, rsps, connection):
        rsps.post(API, body=self._list_answer(connection))
        rsps.post(API, body=sample("get_booking_detail_rs.xml"))

    def fake_webhook(self, connection) -> WebhookRequest:
        return WebhookRequest(
            method="POST",
            path=connection.hook_path,
            headers={"content-type": "text/xml"},
            query={"token": "h1nt"},
            body=sample("agoda_booking_hint_rq.xml"),
            received_at=datetime.now(UTC),
        )

    @staticmethod
    def _list_answer(connection) -> bytes:
        heads = codec.parse_booking_list(sample("get_booking_list_rs.xml"))[:2]
        return codec.build_booking_list_answer(heads)

    def test_credentials_validation(self) -> None:
        """Agoda takes an API key or a client id and secret: one of the two sets."""
        validate = AgodaProvider.validate_credentials
        assert validate(dict(KEY_CREDENTIALS)) == []
        assert validate(dict(TOKEN_CREDENTIALS)) == []
        assert any("'property_id'" in e for e in validate({"api_key": "k"}))
        assert any("'api_key'" in e for e in validate({"property_id": PROPERTY}))
        both = {"property_id": PROPERTY, "client_id": "c"}
        assert any("'client_secret'" in e for e in validate(both))
        assert validate({**KEY_CREDENTIALS, "password": "x"})


# ---------------------------------------------------------------------- ARI


def test_ari_goes_as_set_ari_v2_with_the_api_key_in_the_query(agoda):
    items = [AvailabilityItem(span(1, 3), "EXT", ROOM, rooms_to_sell=2)]
    with responses.RequestsMock() as rsps:
        rsps.post(API, body=ok())
        result = agoda.get_provider().push_availability(items, message_id="pema-job-1")
        (call,) = rsps.calls
    assert parse_qs(urlsplit(call.request.url).query) == {"apiKey": ["k3y-secret"]}
    assert call.request.headers["X-Pema-Message-Id"] == "pema-job-1"
    assert call.request.headers["Content-Type"] == "text/xml"
    assert request_type(call) == "10" and not result.failed_updates
    log = agoda.logs.get()
    assert log.correlation_id == "5bd2a3c5-3f4e-4a57-9d55-0f1c8a3e2b11", "Agoda's TUID"
    assert "k3y-secret" not in log.request + log.response + log.error


def test_the_api_key_never_reaches_the_log_in_a_connection_error(agoda):
    import requests

    items = [AvailabilityItem(span(1), "EXT", ROOM, rooms_to_sell=2)]
    with responses.RequestsMock() as rsps:
        rsps.post(API, body=requests.ConnectionError(f"refused: {API}?apiKey=k3y-secret"))
        with pytest.raises(TransientError) as caught:
            agoda.get_provider().push_availability(items, message_id="m")
    assert "k3y-secret" not in caught.value.message
    assert "k3y-secret" not in agoda.logs.get().error


def test_a_400_is_permanent_and_says_agoda_s_errors(agoda):
    items = [RestrictionItem(span(1), "EXT", "BAR", ROOM, RATE, min_stay_arrival=5, max_stay=2)]
    with responses.RequestsMock() as rsps:
        rsps.post(API, status=400, body=sample("agoda_set_ari_v2_rs_errors.xml"))
        with pytest.raises(PermanentError, match="22210 Max LOS cannot be less than Min Los"):
            agoda.get_provider().push_availability(items, message_id="m")


def test_a_refused_key_after_the_cut_off_makes_the_connection_unauthorised(agoda):
    items = [AvailabilityItem(span(1), "EXT", ROOM, rooms_to_sell=2)]
    with responses.RequestsMock() as rsps:
        rsps.post(API, status=401, body=codec.build_result(errors=[]))
        with pytest.raises(Unauthorised):
            agoda.get_provider().push_availability(items, message_id="m")


def _partial_job(agoda, hotel) -> SyncJob:
    start = codec.agoda_today() + timedelta(days=2)
    items = [
        {"type": "avail", "room_type": "EXT", "start": start.isoformat(), "end": start.isoformat(),
         "limit": 2, "stop_sell": False},
        {"type": "restr", "room_type": "EXT", "rate_plan": "BAR", "start": start.isoformat(),
         "end": (start + timedelta(days=1)).isoformat(), "stop_sell": False, "cta": False,
         "ctd": False, "min_stay_arrival": None, "min_stay_through": None, "max_stay": None},
    ]  # fmt: skip
    return SyncJob.objects.create(
        connection=agoda,
        stream=SyncJob.ARI_STREAM,
        kind=SyncJob.Kind.AVAILABILITY,
        payload={"items": items},
    )


def _partial_answer(job, code: str) -> bytes:
    restr = job.payload["items"][1]
    error = codec.AgodaError(
        code=code,
        description=codec.VALIDATION_CODES.get(code, "Temporary failure, please retry"),
        room_id=ROOM,
        rateplan_id=RATE,
        start=restr["start"],
        end=restr["end"],
    )
    return codec.build_result(tuid="T-207", property_id=PROPERTY, errors=[error], partial=True)


def test_207_with_a_retryable_failure_narrows_the_job_to_it_and_retries(agoda, hotel):
    from channels.delivery import run_job

    job = _partial_job(agoda, hotel)
    with responses.RequestsMock() as rsps:
        rsps.post(API, status=207, body=_partial_answer(job, "9001"))
        run_job(job)
    job.refresh_from_db()
    assert job.status == SyncJob.Status.PENDING, "retried, not done"
    assert [i["type"] for i in job.payload["items"]] == ["restr"], "only what failed goes again"
    (failed,) = job.payload["failed_updates"]
    assert failed.startswith("9001 Temporary failure") and ROOM in failed
    log = agoda.logs.get()
    assert log.status == SyncLog.Status.WARNING and "PartialSuccess" in log.error
    # The retry sends the one update and succeeds.
    job.next_attempt_at = job.created_at
    job.save()
    with responses.RequestsMock() as rsps:
        rsps.post(API, body=ok())
        run_job(job)
        (call,) = rsps.calls
    (update,) = codec.parse_set_ari(call.request.body).updates
    assert (update.section, update.rateplan_id) == ("rate", RATE)
    job.refresh_from_db()
    assert job.status == SyncJob.Status.DONE
    assert job.payload["failed_updates"] == [failed], "what failed stays on the record"


def test_207_with_a_permanent_failure_is_recorded_and_not_retried(agoda, hotel):
    from channels.delivery import run_job

    job = _partial_job(agoda, hotel)
    with responses.RequestsMock() as rsps:
        rsps.post(API, status=207, body=_partial_answer(job, "2219"))
        run_job(job)
    job.refresh_from_db()
    assert job.status == SyncJob.Status.DONE
    assert len(job.payload["items"]) == 2, "nothing to send again"
    (failed,) = job.payload["failed_updates"]
    assert failed.startswith("2219 Date can not be greater than 730 days")
    assert any("Agoda refused: 2219" in w for w in job.payload["warnings"])


def test_207_without_the_partial_flag_is_a_failure_of_the_whole_document(agoda):
    body = codec.build_result(errors=[codec.AgodaError("2219", "Date can not be greater")])
    items = [AvailabilityItem(span(1), "EXT", ROOM, rooms_to_sell=2)]
    with responses.RequestsMock() as rsps:
        rsps.post(API, status=207, body=body)
        with pytest.raises(PermanentError, match="2219"):
            agoda.get_provider().push_availability(items, message_id="m")


def test_a_207_naming_no_update_retries_the_whole_document(agoda):
    error = codec.AgodaError(code="9001", description="Temporary failure")
    body = codec.build_result(errors=[error], partial=True)
    items = [
        AvailabilityItem(span(1), "EXT", ROOM, rooms_to_sell=2),
        RateItem(span(1), "EXT", "BAR", ROOM, RATE, price=150000, currency="THB"),
    ]
    with responses.RequestsMock() as rsps:
        rsps.post(API, status=207, body=body)
        with pytest.raises(PartiallyApplied) as caught:
            agoda.get_provider().push_availability(items, message_id="m")
    assert set(caught.value.retry_items) == set(items)


# ---------------------------------------------------------------------- auth


def _token_answer(token: str = "tok-1") -> str:
    return json.dumps({"success": True, "responseCode": 1, "code": 1, "token": token})


def test_token_mode_exchanges_once_an_hour_and_sends_a_bearer_token(hotel):
    conn = connection_for(hotel, TOKEN_CREDENTIALS, auth="token")
    provider = conn.get_provider()
    items = [AvailabilityItem(span(1), "EXT", ROOM, rooms_to_sell=2)]
    with responses.RequestsMock() as rsps:
        rsps.post(TOKEN, body=_token_answer())
        rsps.post(API, body=ok())
        provider.push_availability(items, message_id="a")
        provider.push_availability(items, message_id="b")
        calls = list(rsps.calls)
    exchange, first, second = calls
    assert json.loads(exchange.request.body) == {"clientId": "client-1", "clientSecret": "s3cret"}
    for call in (first, second):
        assert call.request.headers["Authorization"] == "Bearer tok-1"
        assert "apiKey" not in call.request.url
    assert "tok-1" not in "".join(conn.logs.values_list("request", flat=True))


def test_a_token_revoked_early_is_fetched_again_once(hotel):
    conn = connection_for(hotel, TOKEN_CREDENTIALS, auth="token")
    items = [AvailabilityItem(span(1), "EXT", ROOM, rooms_to_sell=2)]
    with responses.RequestsMock() as rsps:
        rsps.post(TOKEN, body=_token_answer("old"))
        rsps.post(TOKEN, body=_token_answer("new"))
        rsps.post(API, status=401, body=codec.build_result())
        rsps.post(API, body=ok())
        conn.get_provider().push_availability(items, message_id="a")
        sent = [c.request.headers.get("Authorization") for c in rsps.calls if c.request.url == API]
    assert sent == ["Bearer old", "Bearer new"]


def test_refused_client_credentials_make_the_connection_unauthorised(hotel):
    conn = connection_for(hotel, TOKEN_CREDENTIALS)  # no API key: token mode by itself
    assert conn.get_provider().auth_mode == "token"
    with responses.RequestsMock() as rsps:
        rsps.post(TOKEN, status=401, body=sample("agoda_token_exchange_refused.json"))
        with pytest.raises(Unauthorised):
            conn.get_provider().push_availability(
                [AvailabilityItem(span(1), "EXT", ROOM, rooms_to_sell=2)], message_id="a"
            )


def test_both_stored_the_setting_chooses(hotel):
    both = {**KEY_CREDENTIALS, **TOKEN_CREDENTIALS}
    assert connection_for(hotel, both).get_provider().auth_mode == "api_key"
    conn = Connection.objects.get(hotel=hotel)
    conn.settings = {"auth": "token"}
    assert conn.get_provider().auth_mode == "token"


# ---------------------------------------------------------------------- bookings


def _heads(*rows) -> bytes:
    heads = [
        codec.BookingHead(
            booking_id=bid,
            property_id=PROPERTY,
            status=status,
            last_action=when,
            booking_date=when,
            arrival=arrival,
            departure=arrival + timedelta(days=2),
        )
        for bid, status, when, arrival in rows
    ]
    return codec.build_booking_list_answer(heads)


def _detail(bid: str, status: str, when: datetime, arrival, price=150000) -> bytes:
    head = codec.BookingHead(
        bid, PROPERTY, status, when, when, arrival, arrival + timedelta(days=2)
    )

    booking = codec.AgodaBooking(
        head=head,
        room_id=ROOM,
        rateplan_id=RATE,
        room_count=1,
        adults=2,
        children=0,
        currency="THB",
        total=2 * price,
        nights=(Night(arrival, price), Night(arrival + timedelta(days=1), price)),
        customer=GuestDetails(given_name="Somchai", surname="Jaidee", country="TH"),
    )
    return codec.build_booking_detail_answer([booking])


def test_a_pull_lists_then_reads_only_what_pema_does_not_hold(agoda, hotel):
    when = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    arrival = hotel.today() + timedelta(days=3)
    with responses.RequestsMock() as rsps:
        rsps.post(API, body=_heads(("900001", codec.CONFIRM, when, arrival)))
        rsps.post(API, body=_detail("900001", codec.CONFIRM, when, arrival))
        report = pull_connection(agoda.pk)
        assert [request_type(c) for c in rsps.calls] == ["3", "4"]
    assert report.applied == 1
    message = InboundMessage.objects.get(connection=agoda)
    assert message.status == InboundMessage.Status.APPLIED and message.ack_token == ""
    reservation = message.reservation
    assert reservation.external_id == "900001" and reservation.total_amount == 300000
    # Listed again, unchanged: no detail call.
    with responses.RequestsMock() as rsps:
        rsps.post(API, body=_heads(("900001", codec.CONFIRM, when, arrival)))
        assert pull_connection(agoda.pk).received == 0
        assert [request_type(c) for c in rsps.calls] == ["3"]
    # Cancelled at Agoda: read and applied; the room is free again.
    later = when + timedelta(minutes=2)
    with responses.RequestsMock() as rsps:
        rsps.post(API, body=_heads(("900001", codec.CANCEL, later, arrival)))
        rsps.post(API, body=_detail("900001", codec.CANCEL, later, arrival))
        assert pull_connection(agoda.pk).applied == 1
    reservation.refresh_from_db()
    assert reservation.status == "cancelled"


def test_details_are_read_fifty_a_call(agoda, hotel):
    when = datetime.now(UTC).replace(microsecond=0)
    arrival = hotel.today() + timedelta(days=3)
    rows = [(str(910000 + n), codec.CONFIRM, when, arrival) for n in range(120)]
    with responses.RequestsMock() as rsps:
        rsps.post(API, body=_heads(*rows))
        rsps.post(API, body=codec.build_booking_detail_answer([]))
        agoda.get_provider().pull_reservations()
        details = [c for c in rsps.calls if request_type(c) == "4"]
    sizes = [
        len(codec.parse_request_head(c.request.body)[0].findall(".//booking")) for c in details
    ]
    assert sizes == [50, 50, 20]


def test_the_pull_window_is_the_look_back_cut_into_90_days(hotel):
    conn = connection_for(hotel, lookback_hours=24 * 200)
    with responses.RequestsMock() as rsps:
        rsps.post(API, body=codec.build_booking_list_answer([]))
        conn.get_provider().pull_reservations()
        windows = []
        for call in rsps.calls:
            criteria = codec.parse_request_head(call.request.body)[0].find("criteria")
            assert criteria.get("from").endswith("+07:00"), "Agoda's times are ICT"
            windows.append(
                codec.agoda_time(criteria.get("to")) - codec.agoda_time(criteria.get("from"))
            )
    assert len(windows) == 3 and max(windows) <= timedelta(days=90)
    assert sum(windows, timedelta()) == timedelta(days=200)


# ---------------------------------------------------------------------- hints


def test_a_hint_is_answered_success_and_fetches_the_booking_at_once(agoda, hotel, monkeypatch):
    queued = []
    from pema import tasks as pema_tasks

    monkeypatch.setattr(
        pema_tasks, "enqueue_on_commit", lambda task, *args, queue=None: queued.append(args)
    )
    body = sample("agoda_booking_hint_rq.xml")
    answer = Client().post(f"{agoda.hook_path}?token=h1nt", body, content_type="text/xml")
    assert answer.status_code == 200
    assert codec.parse_result(answer.content).success
    assert answer["Content-Type"].startswith("text/xml")
    assert queued == [(agoda.pk, ["412345678"])]
    hint_log = agoda.logs.get(operation="hint")
    assert (
        hint_log.correlation_id == "412345678" and b"BookingHint" not in hint_log.request.encode()
    )

    when = datetime.now(UTC).replace(microsecond=0)
    arrival = hotel.today() + timedelta(days=5)
    with responses.RequestsMock() as rsps:
        rsps.post(API, body=_detail("412345678", codec.CONFIRM, when, arrival))
        report = fetch_hinted(agoda.pk, ["412345678"])
        assert [request_type(c) for c in rsps.calls] == ["4"]
    assert report.applied == 1
    assert InboundMessage.objects.get(connection=agoda).kind == InboundKind.NEW


def test_a_hint_without_its_token_is_refused_and_nothing_fetched(agoda, monkeypatch):
    from pema import tasks as pema_tasks

    queued = []
    monkeypatch.setattr(pema_tasks, "enqueue_on_commit", lambda *a, **k: queued.append(a))
    body = sample("agoda_booking_hint_rq.xml")
    assert Client().post(agoda.hook_path, body, content_type="text/xml").status_code == 401
    wrong = Client().post(f"{agoda.hook_path}?token=nope", body, content_type="text/xml")
    assert wrong.status_code == 401 and not queued


def test_a_hint_of_another_property_fetches_nothing(agoda, monkeypatch):
    from pema import tasks as pema_tasks

    queued = []
    monkeypatch.setattr(pema_tasks, "enqueue_on_commit", lambda *a, **k: queued.append(a))
    other = sample("agoda_booking_hint_rq.xml").replace(PROPERTY.encode(), b"777")
    answer = Client().post(f"{agoda.hook_path}?token=h1nt", other, content_type="text/xml")
    assert answer.status_code == 200
    assert not queued


def test_an_unreadable_hint_is_logged_and_answered(agoda):
    answer = Client().post(f"{agoda.hook_path}?token=h1nt", b"<nonsense", content_type="text/xml")
    assert answer.status_code == 200, "the pull is the backstop; Agoda need not retry"
    assert agoda.logs.get(operation="hint").status == SyncLog.Status.ERROR


def test_fetch_hinted_waits_for_the_lease(agoda):
    from channels.delivery import claim, release

    assert claim(agoda.pk, "someone")
    with responses.RequestsMock():
        assert not fetch_hinted(agoda.pk, ["1"]).claimed
    release(agoda.pk, "someone")


# ---------------------------------------------------------------------- setup


def test_ensure_connection_makes_the_connection_its_products_and_its_pull(hotel, tmp_path):
    from django.core.management import call_command
    from django_celery_beat.models import PeriodicTask

    from partners.agoda.setup import hint_url

    products = tmp_path / "products.json"
    products.write_text(
        json.dumps(
            [
                {"room_type": "EXT", "rate_plan": None, "partner_room_id": ROOM,
                 "partner_rate_id": None},
                {"room_type": "EXT", "rate_plan": "BAR", "partner_room_id": ROOM,
                 "partner_rate_id": RATE},
            ]
        )
    )  # fmt: skip
    call_command(
        "ensure_connection",
        "agoda",
        "--hotel",
        hotel.code,
        "--base-url",
        BASE,
        "--credentials-json",
        json.dumps(TOKEN_CREDENTIALS),
        "--settings-json",
        '{"auth": "token", "pull_interval_seconds": 60}',
        "--products",
        str(products),
    )
    conn = Connection.objects.get(hotel=hotel, provider="agoda")
    assert conn.products.count() == 2 and not conn.export_reservations
    assert conn.get_provider().auth_mode == "token"
    task = PeriodicTask.objects.get(name=f"channels-pull-{conn.pk}")
    assert task.interval.every == 60
    assert hint_url(conn, "https://pema.example/") == (
        f"https://pema.example/hooks/{conn.uuid}/?token=h1nt"
    )


def test_ensure_connection_refuses_credentials_agoda_cannot_use(hotel):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="api_key"):
        call_command(
            "ensure_connection",
            "agoda",
            "--hotel",
            hotel.code,
            "--base-url",
            BASE,
            "--credentials-json",
            json.dumps({"property_id": PROPERTY}),
        )
