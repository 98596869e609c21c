"""The Booking.com simulator over HTTP: ARI held per product and day, reservations and acks."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest

from channels.interface import AvailabilityItem, DateSpan, RateItem, RestrictionItem
from partners.booking_com import codec
from partners.booking_com import reservations as bres
from partners.booking_com.codec import RES_MODIFY_NOTIF, RES_NOTIF, AvailMessage, AvailNotif
from partners.booking_com.simulator import BookingSimulator, schema_dir
from tests.sandbox import HarnessThread

HOTEL = "367456"
ROOM, OTHER_ROOM = "36745603", "36745604"
BAR, NRF = "1278606", "1278607"
ARI = "/booking_com/hotels/ota/"
SECURE = "/booking_com/secure/hotels/ota/"
USER, PASSWORD = "pema-machine", "s3cret-pass"


def auth(user: str = USER, password: str = PASSWORD) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}", **codec.request_headers()}


@pytest.fixture
def booking(tmp_path):
    with HarnessThread({"booking_com": BookingSimulator}, tmp_path / "state") as running:
        running.control(
            "booking_com",
            "configure",
            {
                "hotel_id": HOTEL,
                "currency": "EUR",
                "username": USER,
                "password": PASSWORD,
                "products": [[ROOM, BAR], [ROOM, NRF], [OTHER_ROOM, BAR]],
            },
        )
        yield running


def today():
    return codec.booking_today()


def span(offset: int, days: int = 1) -> DateSpan:
    start = today() + timedelta(days=offset)
    return DateSpan(start, start + timedelta(days=days - 1))


def documents(*items) -> list[codec.AriDocument]:
    return codec.build_ari_documents(
        items, hotel_id=HOTEL, currency="EUR", target=codec.TARGET_PRODUCTION, today=today()
    )


def held(booking, room: str, rate: str | None, offset: int, days: int = 1) -> dict:
    first = today() + timedelta(days=offset)
    return booking.control(
        "booking_com",
        "ari",
        {
            "room_id": room,
            "rate_id": rate,
            "start": first.isoformat(),
            "end": (first + timedelta(days=days - 1)).isoformat(),
        },
    )


def send(booking, doc: codec.AriDocument, headers=None):
    return booking.post(ARI + doc.endpoint, doc.body, headers=headers or auth())


ITEMS = (
    AvailabilityItem(span=span(2, 3), room_type="EXQ", partner_room_id=ROOM, rooms_to_sell=4),
    RestrictionItem(
        span=span(3),
        room_type="EXQ",
        rate_plan="BAR-BB",
        partner_room_id=ROOM,
        partner_rate_id=BAR,
        closed_to_arrival=True,
        min_stay_through=2,
    ),
    RateItem(
        span=span(2, 2),
        room_type="EXQ",
        rate_plan="BAR-BB",
        partner_room_id=ROOM,
        partner_rate_id=BAR,
        price=12_050,
        currency="EUR",
    ),
)


# ---------------------------------------------------------------------------------- ARI


def test_pemas_ari_documents_are_accepted_and_held_per_room_rate_and_day(booking):
    for doc in documents(*ITEMS):
        answer = send(booking, doc)
        assert answer.status_code == 200, answer.text
        parsed = codec.parse_ari_response(answer.content)
        assert parsed.success and parsed.errors == () and parsed.ruid
    rooms = held(booking, ROOM, None, 2, 3)
    assert [d["rooms_to_sell"] for d in rooms.values()] == [4, 4, 4]
    bar = held(booking, ROOM, BAR, 2, 3)
    days = list(bar.values())
    assert [d["price"] for d in days[:2]] == [12_050, 12_050] and days[2] is None
    assert days[1]["closed_to_arrival"] is True and days[1]["min_stay"] == 2
    assert held(booking, ROOM, NRF, 2) == {(today() + timedelta(days=2)).isoformat(): None}


def test_ari_is_applied_as_deltas_and_persists_across_a_restart(booking):
    for doc in documents(*ITEMS):
        send(booking, doc)
    (closing,) = documents(
        RestrictionItem(
            span=span(3),
            room_type="EXQ",
            rate_plan="BAR-BB",
            partner_room_id=ROOM,
            partner_rate_id=BAR,
            stop_sell=True,
        )
    )
    assert send(booking, closing).status_code == 200
    booking.restart()
    day = held(booking, ROOM, BAR, 3)[(today() + timedelta(days=3)).isoformat()]
    # The restriction item states the whole restriction (arrival open again); the price,
    # which no availability message speaks of, is left as it was.
    assert day["closed"] is True and day["closed_to_arrival"] is False
    assert day["price"] == 12_050


def test_wrong_or_missing_credentials_are_401_and_nothing_is_held(booking):
    (doc, *_) = documents(*ITEMS)
    for headers in (codec.request_headers(), auth(password="wrong")):
        answer = send(booking, doc, headers=headers)
        assert answer.status_code == 401
        assert codec.parse_ari_response(answer.content).errors[0].code == "AUTHORIZATION_REQUIRED"
    assert booking.state("booking_com")["ari"] == {}


def test_http_rules_method_content_type_and_accept_version(booking):
    (doc, *_) = documents(*ITEMS)
    assert booking.get(ARI + doc.endpoint, headers=auth()).status_code == 405
    assert send(booking, doc, {**auth(), "Content-Type": "text/plain"}).status_code == 415
    answer = send(booking, doc, {**auth(), "Accept-Version": "2.0"})
    assert answer.status_code == 400
    assert codec.parse_ari_response(answer.content).errors[0].code == "UNSUPPORTED_VERSION"


def test_dates_before_yesterday_are_refused_with_bookings_code(booking):
    body = codec.build_avail_notif(
        AvailNotif(
            hotel_id=HOTEL,
            messages=(AvailMessage(span=span(-2), room_id=ROOM, booking_limit=1, status="Open"),),
        )
    )
    answer = booking.post(ARI + codec.AVAIL_NOTIF, body, headers=auth())
    assert answer.status_code == 400
    assert [e.code for e in codec.parse_ari_response(answer.content).errors] == ["NOT_A_VALID_DATE"]


def test_a_partial_success_is_200_with_the_refused_message_not_processed(booking):
    body = codec.build_avail_notif(
        AvailNotif(
            hotel_id=HOTEL,
            messages=(
                AvailMessage(span=span(1), room_id=ROOM, booking_limit=2, status="Open"),
                AvailMessage(span=span(1), room_id="nope", booking_limit=2, status="Open"),
            ),
        )
    )
    answer = booking.post(ARI + codec.AVAIL_NOTIF, body, headers=auth())
    parsed = codec.parse_ari_response(answer.content)
    assert answer.status_code == 200 and parsed.success and len(parsed.not_processed) == 1
    assert list(held(booking, ROOM, None, 1).values())[0]["rooms_to_sell"] == 2


@pytest.mark.skipif(not schema_dir().is_dir(), reason="OpenTravel 2011B schemas not installed")
def test_a_document_invalid_against_the_2011b_schema_is_refused(booking):
    (doc, *_) = documents(*ITEMS)
    broken = doc.body.replace(b"<AvailStatusMessage ", b"<AvailStatusMessage Bogus='1' ", 1)
    answer = booking.post(ARI + doc.endpoint, broken, headers=auth())
    assert answer.status_code == 400
    assert codec.parse_ari_response(answer.content).errors[0].code == "XML_SCHEMA_INVALID"
    assert booking.state("booking_com")["schemas"] is True


def test_faults_apply_to_booking_calls(booking):
    (doc, *_) = documents(*ITEMS)
    booking.control("booking_com", "faults", {"retry_after": 30})
    answer = send(booking, doc)
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "30"
    booking.control("booking_com", "faults", {"retry_after": None, "status": 503})
    assert send(booking, doc).status_code == 503
    booking.control("booking_com", "faults", {"status": None})
    assert send(booking, doc).status_code == 200


# -------------------------------------------------------------------------- reservations


def pull(booking, endpoint: str = RES_NOTIF, **params) -> bres.ReservationBatch:
    answer = booking.get(SECURE + endpoint, headers=auth(), params=params)
    assert answer.status_code == 200, answer.text
    return bres.parse_reservations(answer.content, endpoint=endpoint)


def ack(booking, endpoint: str, *ids: str, path_endpoint: str | None = None):
    return booking.post(
        SECURE + (path_endpoint or endpoint), bres.build_ack(endpoint, ids), headers=auth()
    )


def queued(booking, endpoint: str = RES_NOTIF) -> list[str]:
    return booking.state("booking_com")["queued"][endpoint]


def test_a_new_reservation_is_pulled_acked_and_leaves_the_queue(booking):
    made = booking.control("booking_com", "new", {"room_id": ROOM, "rate_id": BAR, "price": 9_900})
    batch = pull(booking)
    assert batch.failures == () and len(batch.reservations) == 1 and batch.ruid
    (res,) = batch.reservations
    assert res.reservation_id == made["id"] and res.hotel_id == HOTEL and res.currency == "EUR"
    assert [n.price for n in res.rooms[0].nights] == [9_900, 9_900] and res.total == 19_800
    answer = ack(booking, RES_NOTIF, made["id"])
    assert answer.status_code == 200 and bres.parse_ack(answer.content).success
    assert queued(booking) == [] and pull(booking).reservations == ()


def test_ack_rules_wrong_endpoint_400_unknown_403_changed_since_pull_409(booking):
    made = booking.control("booking_com", "new", {})
    pull(booking)
    assert ack(booking, RES_MODIFY_NOTIF, made["id"]).status_code == 400  # a modify ack
    assert ack(booking, RES_NOTIF, "123").status_code == 403
    booking.control("booking_com", "modify", {"reservation_id": made["id"], "nights": 3})
    conflict = ack(booking, RES_NOTIF, made["id"])
    assert conflict.status_code == 409 and "pull again" in conflict.text
    assert queued(booking) == [made["id"]]
    # Changed before its ack, it is still a new reservation, now with three nights.
    (again,) = pull(booking).reservations
    assert len(again.rooms[0].nights) == 3
    assert ack(booking, RES_NOTIF, made["id"]).status_code == 200


def test_an_ack_with_errors_keeps_the_message_queued(booking):
    made = booking.control("booking_com", "new", {})
    pull(booking)
    body = bres.build_ack(RES_NOTIF, (), rejected=((made["id"], "unmapped room"),))
    answer = booking.post(SECURE + RES_NOTIF, body, headers=auth())
    assert answer.status_code == 200
    assert queued(booking) == [made["id"]]


def test_modifications_and_cancellations_after_the_ack_come_from_the_modify_endpoint(booking):
    made = booking.control("booking_com", "new", {})
    pull(booking)
    ack(booking, RES_NOTIF, made["id"])
    booking.control("booking_com", "modify", {"reservation_id": made["id"], "price": 5_000})
    (modified,) = pull(booking, RES_MODIFY_NOTIF).reservations
    assert modified.status == "Modify" and modified.rooms[0].nights[0].price == 5_000
    assert ack(booking, RES_MODIFY_NOTIF, made["id"]).status_code == 200
    booking.control("booking_com", "cancel", {"reservation_id": made["id"]})
    (cancelled,) = pull(booking, RES_MODIFY_NOTIF).reservations
    assert cancelled.cancelled
    assert ack(booking, RES_NOTIF, made["id"], path_endpoint=RES_MODIFY_NOTIF).status_code == 400


def test_multi_room_past_availability_and_unmapped_reservations(booking):
    (rooms_doc, *_) = documents(
        AvailabilityItem(span=span(7, 2), room_type="EXQ", partner_room_id=ROOM, rooms_to_sell=1)
    )
    send(booking, rooms_doc)
    multi = booking.control("booking_com", "multi_room", {"room_id": ROOM, "count": 3})
    over = booking.control("booking_com", "past_availability", {"room_id": ROOM})
    unmapped = booking.control("booking_com", "unmapped", {})
    by_id = {r.reservation_id: r for r in pull(booking).reservations}
    assert len(by_id[multi["id"]].rooms) == 3
    assert len(by_id[over["id"]].rooms) == 2  # one more than the 1 room held for sale
    assert by_id[unmapped["id"]].rooms[0].room_id not in {ROOM, OTHER_ROOM}
    assert (
        booking.post(
            "/_control/booking_com/unmapped", b'{"room_id": "%s"}' % ROOM.encode()
        ).status_code
        == 400
    )


def test_get_takes_id_and_limit(booking):
    first = booking.control("booking_com", "new", {})["id"]
    second = booking.control("booking_com", "new", {})["id"]
    assert [r.reservation_id for r in pull(booking, limit=1).reservations] == [first]
    assert [r.reservation_id for r in pull(booking, id=second).reservations] == [second]
    bad = booking.get(SECURE + RES_NOTIF, headers=auth(), params={"limit": "lots"})
    assert bad.status_code == 400


def test_reservations_only_on_the_secure_path_and_with_credentials(booking):
    assert booking.get(ARI + RES_NOTIF, headers=auth()).status_code == 403
    assert booking.get(SECURE + RES_NOTIF, headers=codec.request_headers()).status_code == 401


def test_polling_faster_than_every_20_seconds_is_counted_as_a_warning(booking):
    pull(booking)
    assert booking.state("booking_com")["warnings"] == {}
    pull(booking)
    assert booking.state("booking_com")["warnings"] == {"WARN_POLLING_TOO_OFTEN": 1}


def test_the_queue_persists_across_a_restart(booking):
    made = booking.control("booking_com", "new", {})
    pull(booking)
    booking.restart()
    assert queued(booking) == [made["id"]]
    assert ack(booking, RES_NOTIF, made["id"]).status_code == 200  # the pull is remembered too
