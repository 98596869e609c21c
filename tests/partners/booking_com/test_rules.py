"""The simulator's checks (ota-channels.md §1.9) give Booking's codes and statuses."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, timedelta

import pytest

from channels.interface import (
    Acknowledgement,
    AvailabilityItem,
    DateSpan,
    RateItem,
    RestrictionItem,
)
from partners.booking_com import codec, rules
from partners.booking_com import reservations as bres
from partners.booking_com.codec import AvailMessage, AvailNotif, RateMessage, RateNotif
from partners.booking_com.rules import DayState, Property, QueuedMessage

from . import golden
from .conftest import sample

TODAY = golden.TODAY
PROP = Property(
    hotel_id="367456",
    currency="EUR",
    test=True,
    products=frozenset({("36745603", "1278606"), ("36745603", "1278607"), ("36745604", "1278606")}),
    pricing={("36745604", "1278606"): rules.PRICING_OBP},
)


def avail_doc(
    *messages: AvailMessage, hotel_id: str | None = "367456", target: str = "Test"
) -> bytes:
    return codec.build_avail_notif(AvailNotif(hotel_id=hotel_id, messages=messages, target=target))


def rate_doc(*messages: RateMessage, target: str = "Test") -> bytes:
    return codec.build_rate_amount_notif(
        RateNotif(hotel_id="367456", messages=messages, target=target)
    )


def day_span(offset: int, days: int = 1) -> DateSpan:
    start = TODAY + timedelta(days=offset)
    return DateSpan(start, start + timedelta(days=days - 1))


def room(offset: int = 2, limit: int = 3, **kw) -> AvailMessage:
    return AvailMessage(
        span=day_span(offset), room_id="36745603", booking_limit=limit, status="Open", **kw
    )


def room_rate(offset: int = 2, **kw) -> AvailMessage:
    kw.setdefault("rate_id", "1278606")
    return AvailMessage(span=day_span(offset), room_id="36745603", **kw)


def codes(outcome) -> list[str]:
    return [e.code for e in outcome.errors]


def apply(body: bytes, state=None, **kw) -> rules.AriOutcome:
    kw.setdefault("today", TODAY)
    return rules.apply_avail_notif(body, PROP, state or {}, **kw)


# ------------------------------------------------------------------ 1-2: HTTP and auth


@pytest.mark.parametrize(
    ("method", "headers", "status", "code"),
    [
        ("GET", {"Content-Type": "application/xml"}, 405, "METHOD_NOT_ALLOWED"),
        ("POST", {"Content-Type": "application/json"}, 415, "UNSUPPORTED_CONTENT_TYPE"),
        (
            "POST",
            {"content-type": "application/xml", "Accept-Version": "2.0"},
            400,
            "UNSUPPORTED_VERSION",
        ),
    ],
)
def test_http_refusals(method, headers, status, code):
    verdict = rules.check_http(method, headers)
    assert (verdict.http_status, verdict.errors[0].code) == (status, code)


def test_http_accepts_both_versions_and_a_missing_one_unless_1_0_is_sunset():
    xml = {"Content-Type": "application/xml; charset=utf-8"}
    assert rules.check_http("POST", xml) is None
    assert rules.check_http("POST", {**xml, "Accept-Version": "1.1"}) is None
    assert rules.check_http("POST", {**xml, "Accept-Version": "1.0"}) is None
    sunset = rules.check_http("POST", {**xml, "Accept-Version": "1.0"}, refuse_version_1_0=True)
    assert sunset.http_status == 400


def basic(username: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_basic_auth_follows_bookings_rules():
    account = ("Pema-Machine", "s3cret")
    check = rules.check_authorization
    assert check(basic(*account), basic=account) is None
    for headers in (
        basic("pema-machine", "s3cret"),  # usernames are case-sensitive
        basic(" Pema-Machine", "s3cret"),
        basic("Pema-Machine", "wrong"),
        {"Authorization": "Basic not-base64!"},
        {},
    ):
        verdict = check(headers, basic=account)
        assert verdict.http_status == 401 and verdict.errors[0].code == "AUTHORIZATION_REQUIRED"
    plus = ("Pema-Machine", "a+b")
    assert check(basic(*plus), basic=plus).http_status == 401
    body = codec.build_unauthorized(codec.AVAIL_NOTIF_RS)
    assert codec.parse_ari_response(body).errors[0].code == "AUTHORIZATION_REQUIRED"


def test_bearer_tokens_live_an_hour_and_thirty_may_be_issued_an_hour():
    live = {"tok-1"}
    headers = {"Authorization": "Bearer tok-1"}
    assert rules.check_authorization(headers, token_is_valid=live.__contains__) is None
    stale = {"Authorization": "Bearer tok-2"}
    assert rules.check_authorization(stale, token_is_valid=live.__contains__)
    now = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    assert rules.token_alive(now - timedelta(minutes=59), now)
    assert not rules.token_alive(now - timedelta(minutes=60), now)
    issued = [now - timedelta(minutes=m) for m in range(30)]
    assert not rules.may_issue_token(issued, now)
    assert rules.may_issue_token(issued[:29] + [now - timedelta(minutes=61)], now)


# -------------------------------------------------------------- 3-5: the document itself


def test_malformed_or_wrong_documents_are_refused(schemas):
    for body, text in [
        (b"<not xml", "not well-formed"),
        (b'<OTA_HotelAvailNotifRQ Version="1"/>', "Namespace"),
        (sample("pema_rate_amount_notif_rq.xml"), "takes OTA_HotelAvailNotifRQ"),
    ]:
        outcome = apply(body)
        assert outcome.http_status == 400 and codes(outcome) == ["XML_SCHEMA_INVALID"]
        assert text in outcome.errors[0].text
    invalid = avail_doc(room()).replace(b'BookingLimit="3"', b'BookingLimit="-3"')
    refused = apply(invalid, schema=schemas[codec.AVAIL_NOTIF_RQ])
    assert refused.http_status == 400 and "BookingLimit" in refused.errors[0].text


def test_timestamp_and_target_are_checked_against_the_property():
    assert codes(apply(avail_doc(room(), target="Production"))) == ["TARGET_MISMATCH"]
    no_stamp = avail_doc(room()).replace(b'TimeStamp="', b'Stamp="')
    assert codes(apply(no_stamp)) == ["ATTRIBUTE_VALUE_DOES_NOT_MATCH_TYPE"]


def test_avail_status_messages_must_be_there():
    body = (
        b'<OTA_HotelAvailNotifRQ xmlns="http://www.opentravel.org/OTA/2003/05" '
        b'TimeStamp="2026-03-10T09:00:00" Target="Test" Version="1.005"/>'
    )
    outcome = apply(body)
    assert outcome.http_status == 400 and codes(outcome) == ["AVAILSTATUSMESSAGES_ELEMENT_MISSING"]


# ---------------------------------------------------------------------- 6-11: messages


def test_what_pema_sends_is_accepted_and_held_per_room_rate_and_day():
    body = sample("pema_avail_notif_rq.xml")
    outcome = apply(body)
    assert outcome.http_status == 200 and outcome.errors == () and outcome.warnings == ()
    assert outcome.applied == 8
    march = lambda d: date(2026, 3, d)  # noqa: E731
    assert outcome.updates[("36745603", None, march(12))] == DayState(rooms_to_sell=4)
    assert outcome.updates[("36745603", None, march(21))] == DayState(rooms_to_sell=0, closed=True)
    friday = outcome.updates[("36745603", "1278606", march(13))]
    assert friday == DayState(closed_to_arrival=True, min_stay=2, max_stay=7)
    assert ("36745603", "1278606", march(16)) not in outcome.updates  # a Monday: not in the pattern
    assert outcome.updates[("36745603", "1278607", march(15))] == DayState(
        closed=True, closed_to_departure=True, min_stay=1
    )
    parsed = codec.parse_ari_response(outcome.body(codec.AVAIL_NOTIF, ruid="R"))
    assert parsed.success and parsed.ruid == "R"


def test_booking_takes_yesterday_but_not_the_day_before_nor_past_the_horizon():
    outcome = apply(avail_doc(room(-1), room(-2), room(10), room(499), room(500)))
    assert outcome.http_status == 200 and outcome.applied == 3
    assert [(e.code, e.record_id) for e in outcome.errors] == [
        ("NOT_A_VALID_DATE", "2"),
        ("DATES_TOO_FAR_OR_INVALID", "5"),
    ]


def test_rooms_and_rates_must_belong_to_the_property():
    outcome = apply(
        avail_doc(
            AvailMessage(span=day_span(2), room_id="99999", booking_limit=1),
            room_rate(rate_id="5555", status="Open"),
            room_rate(status="Open"),
        )
    )
    assert codes(outcome) == ["ROOM_ID_INVALID", "RATE_ID_INVALID"]
    assert outcome.errors[0].text == "Room ID '99999' is not valid"
    assert outcome.applied == 1


def test_booking_limit_is_for_rooms_only():
    outcome = apply(avail_doc(room_rate(booking_limit=2)))
    assert outcome.http_status == 400 and codes(outcome) == ["BOOKING_LIMIT_ON_RATE_LEVEL"]


@pytest.mark.parametrize(
    "los",
    [(("FullPatternLOS", 3),), (("SetMinLOS", None),), (("SetMaxLOS", 0),)],
)
def test_lengths_of_stay_must_be_known_and_positive(los):
    outcome = apply(avail_doc(room_rate(lengths_of_stay=los)))
    assert codes(outcome) == ["INVALID_LENGTH_OF_STAY"]


def test_min_stay_may_not_exceed_max_stay_once_applied_to_what_is_held():
    key = ("36745603", "1278606", TODAY + timedelta(days=2))
    state = {key: DayState(max_stay=3)}
    too_long = apply(avail_doc(room_rate(lengths_of_stay=(("SetMinLOS", 5),))), state)
    assert codes(too_long) == ["MIN_STAY_ABOVE_MAX_STAY"] and too_long.updates == {}
    lifted = apply(
        avail_doc(room_rate(lengths_of_stay=(("SetMinLOS", 5), ("RemoveMaxLOS", None)))), state
    )
    assert lifted.errors == () and lifted.updates[key] == DayState(min_stay=5)


def test_a_refused_message_does_not_shadow_a_later_one_for_the_same_day():
    key = ("36745603", "1278606", TODAY + timedelta(days=2))
    state = {key: DayState(max_stay=3)}
    outcome = apply(
        avail_doc(
            room_rate(lengths_of_stay=(("SetMinLOS", 5),)),  # refused: above the maximum
            room_rate(lengths_of_stay=(("SetMinLOS", 2),)),
        ),
        state,
    )
    assert codes(outcome) == ["MIN_STAY_ABOVE_MAX_STAY"] and outcome.warnings == ()
    assert outcome.updates[key] == DayState(min_stay=2, max_stay=3)


def test_arrival_and_departure_restrictions_need_a_rate():
    outcome = apply(
        avail_doc(
            AvailMessage(
                span=day_span(2), room_id="36745603", restriction="Arrival", status="Close"
            )
        )
    )
    assert codes(outcome) == ["INVALID_RESTRICTION_STATUS"]


def test_another_hotels_code_is_forbidden():
    outcome = apply(avail_doc(room(), hotel_id="111111"))
    assert outcome.http_status == 403 and codes(outcome) == ["HOTEL_ACCESS_DENIED"]


def test_booking_s_own_example_without_hotel_code_is_taken():
    example_day = date(2023, 11, 5)
    outcome = rules.apply_avail_notif(
        sample("booking_avail_notif_rq.xml"), PROP, {}, today=example_day
    )
    assert outcome.http_status == 200 and outcome.applied == 2
    assert outcome.updates[("36745603", "1278606", example_day)] == DayState(min_stay=2, max_stay=5)


def test_more_than_one_month_is_a_warning_not_an_error():
    outcome = apply(avail_doc(room(0), room(30)))
    assert outcome.http_status == 200 and outcome.applied == 2
    assert [w.code for w in outcome.warnings] == ["WARN_MULTIPLE_MONTHS"]


# ---------------------------------------------------------------- 12-14: rates, deltas


def price(rate_id: str = "1278606", room_id: str = "36745603", **kw) -> RateMessage:
    kw.setdefault("currency", "EUR")
    return RateMessage(span=day_span(3), room_id=room_id, rate_id=rate_id, **kw)


def apply_rates(body: bytes, state=None) -> rules.AriOutcome:
    return rules.apply_rate_amount_notif(body, PROP, state or {}, today=TODAY)


def test_prices_in_the_hotel_currency_are_held():
    outcome = apply_rates(sample("pema_rate_amount_notif_rq.xml"))
    assert outcome.http_status == 200 and outcome.applied == 2
    assert outcome.updates[("36745603", "1278606", date(2026, 3, 12))].price == 12_050
    assert outcome.updates[("36745603", "1278607", date(2026, 3, 14))].price == 11_000


def test_rate_checks_give_bookings_codes():
    outcome = apply_rates(
        rate_doc(
            price(price=1_000, currency="USD"),
            price(guest_prices=((1, 9_000), (2, 10_000))),  # standard rate sent per occupancy
            price(room_id="36745604", price=10_000),  # occupancy-based rate sent per room
            price(room_id="36745604", guest_prices=((2, 10_000),)),
        )
    )
    assert codes(outcome) == [
        "CURRENCY_CODE_DONT_MATCH_HOTEL_CURRENCY",
        "OBP_PRICING_PASSED_FOR_DEFAULT_RATE",
        "INVALID_PRICE",
    ]
    assert outcome.applied == 1
    assert outcome.updates[("36745604", "1278606", TODAY + timedelta(days=3))].guest_prices == (
        (2, 10_000),
    )


@pytest.mark.parametrize("amount", ["120.505", "-5.00"])
def test_amounts_are_non_negative_with_at_most_two_decimals(amount):
    body = rate_doc(price(price=12_050)).replace(
        b'AmountAfterTax="120.50"', f'AmountAfterTax="{amount}"'.encode()
    )
    outcome = apply_rates(body)
    assert outcome.http_status == 400 and codes(outcome) == ["INVALID_PRICE"]


def test_duplicate_dates_keep_the_first_occurrence_with_a_warning():
    outcome = apply(avail_doc(room(2, 5), room(2, 9), room_rate(2, status="Close")))
    key = ("36745603", None, TODAY + timedelta(days=2))
    assert outcome.updates[key].rooms_to_sell == 5
    assert [(w.code, w.record_id) for w in outcome.warnings] == [("WARN_DUPLICATE_DATES", "2")]
    assert outcome.applied == 3
    assert outcome.updates[("36745603", "1278606", key[2])].closed


def test_deltas_leave_what_a_message_does_not_say():
    key = ("36745603", "1278606", TODAY + timedelta(days=2))
    state = {key: DayState(min_stay=3, closed_to_arrival=True, price=9_000)}
    outcome = apply(avail_doc(room_rate(restriction="Departure", status="Close")), state)
    assert outcome.updates[key] == DayState(
        min_stay=3, closed_to_arrival=True, closed_to_departure=True, price=9_000
    )


def test_a_partial_success_is_200_with_the_failures_not_processed_and_all_failed_is_400(schemas):
    partial = apply(
        avail_doc(room(), AvailMessage(span=day_span(2), room_id="99999", booking_limit=1))
    )
    body = partial.body(codec.AVAIL_NOTIF, ruid="R-1", echo_token="e")
    schemas.assert_valid(body)
    rs = codec.parse_ari_response(body)
    assert partial.http_status == 200 and rs.success
    assert [(w.code, w.record_id, w.not_processed) for w in rs.warnings] == [
        ("ROOM_ID_INVALID", "2", True)
    ]
    assert rs.failed_locators == {"2"} and rs.ruid == "R-1" and rs.echo_token == "e"
    failed = apply(avail_doc(AvailMessage(span=day_span(2), room_id="99999", booking_limit=1)))
    body = failed.body(codec.AVAIL_NOTIF)
    schemas.assert_valid(body)
    assert failed.http_status == 400 and not codec.parse_ari_response(body).success
    assert codec.parse_ari_response(body).ruid  # every answer carries a RUID


def test_an_end_before_start_is_bookings_date_error_for_that_message_only():
    body = avail_doc(room(2), room(4)).replace(
        f'Start="{TODAY + timedelta(days=4)}"'.encode(),
        f'Start="{TODAY + timedelta(days=9)}"'.encode(),
    )
    outcome = apply(body)
    assert codes(outcome) == ["FROM_DATE_SHOULD_BE_LESS_THAN_TO_DATE"] and outcome.applied == 1


# ------------------------------------------------------------------ reservations 1, 3, 4


def test_reservations_are_served_on_the_secure_host_only():
    secure = "secure-supply-xml.booking.com"
    assert (
        rules.check_reservation_host("secure-supply-xml.booking.com:443", secure_host=secure)
        is None
    )
    assert (
        rules.check_reservation_host("supply-xml.booking.com", secure_host=secure).http_status
        == 403
    )


def test_polling_faster_than_bookings_etiquette_is_a_warning():
    now = datetime(2026, 1, 15, 12, 0, 30, tzinfo=UTC)
    assert rules.polling_warnings(now, last_get=now - timedelta(seconds=20), last_ack=None) == ()
    found = rules.polling_warnings(
        now,
        last_get=now - timedelta(seconds=19),
        last_ack=now - timedelta(seconds=4),
        concurrent=True,
    )
    assert [w.code for w in found] == [
        "WARN_POLLING_TOO_OFTEN",
        "WARN_POLLING_AFTER_ACK",
        "WARN_CONCURRENT_POLLING",
    ]


def queued(
    rid: str,
    endpoint: str = codec.RES_NOTIF,
    *,
    version: int = 1,
    pulled: int | None = 1,
    hotel="367456",
):
    return QueuedMessage(
        reservation_id=rid,
        hotel_id=hotel,
        endpoint=endpoint,
        version=version,
        pulled_version=pulled,
    )


def ack(endpoint: str, *ids: str) -> bytes:
    return bres.build_ack(endpoint, ids)


HOTELS = {"367456"}


def test_an_ack_of_pulled_messages_removes_them_from_the_queue(schemas):
    queue = {"1": queued("1"), "2": queued("2")}
    verdict = rules.check_ack(
        ack(codec.RES_NOTIF, "1", "2"), codec.RES_NOTIF, queue=queue, hotels=HOTELS
    )
    assert verdict.http_status == 200 and verdict.acknowledged == ("1", "2")
    body = verdict.body(codec.RES_NOTIF)
    schemas.assert_valid(body)
    answer = bres.parse_ack(body)
    assert answer.success and answer.ruid


def test_an_ack_on_the_wrong_endpoint_is_400_wrong_type():
    queue = {"1": queued("1", codec.RES_MODIFY_NOTIF)}
    wrong_root = rules.check_ack(
        ack(codec.RES_MODIFY_NOTIF, "1"), codec.RES_NOTIF, queue=queue, hotels=HOTELS
    )
    assert wrong_root.http_status == 400 and wrong_root.errors[0].text == rules.WRONG_TYPE
    wrong_queue = rules.check_ack(
        ack(codec.RES_NOTIF, "1"), codec.RES_NOTIF, queue=queue, hotels=HOTELS
    )
    assert wrong_queue.http_status == 400 and wrong_queue.errors[0].record_id == "1"


def test_an_unknown_id_or_another_hotels_is_403():
    queue = {"1": queued("1"), "9": queued("9", hotel="111111")}
    for rid in ("404", "9"):
        verdict = rules.check_ack(
            ack(codec.RES_NOTIF, "1", rid), codec.RES_NOTIF, queue=queue, hotels=HOTELS
        )
        assert verdict.http_status == 403 and verdict.errors[0].text == rules.ACCESS_DENIED
        assert verdict.acknowledged == ()  # nothing is half-acknowledged


def test_a_reservation_changed_since_the_pull_is_409_pull_again(schemas):
    queue = {"1": queued("1", version=2, pulled=1), "2": queued("2", pulled=None)}
    for rid in ("1", "2"):
        verdict = rules.check_ack(
            ack(codec.RES_NOTIF, rid), codec.RES_NOTIF, queue=queue, hotels=HOTELS
        )
        assert verdict.http_status == 409 and "please pull again" in verdict.errors[0].text
    body = rules.check_ack(
        ack(codec.RES_NOTIF, "1"), codec.RES_NOTIF, queue=queue, hotels=HOTELS
    ).body(codec.RES_NOTIF)
    schemas.assert_valid(body)
    assert (
        bres.parse_ack(body).errors[0].text
        == "Response token '1-2' for hotel reservation '1' does not match. please pull again."
    )


def test_an_active_rejection_keeps_the_message_queued():
    queue = {"1": queued("1", codec.RES_MODIFY_NOTIF)}
    rejection = bres.build_ack(codec.RES_MODIFY_NOTIF, (), rejected=[("1", "Unmapped room")])
    verdict = rules.check_ack(rejection, codec.RES_MODIFY_NOTIF, queue=queue, hotels=HOTELS)
    assert verdict.http_status == 200 and verdict.rejected == ("1",) and verdict.acknowledged == ()


def test_an_ack_needs_timestamp_and_target():
    queue = {"1": queued("1")}
    body = ack(codec.RES_NOTIF, "1").replace(b' Target="Production"', b"")
    verdict = rules.check_ack(body, codec.RES_NOTIF, queue=queue, hotels=HOTELS)
    assert verdict.http_status == 400 and "TimeStamp and Target" in verdict.errors[0].text


def test_pemas_own_acks_pass_the_simulators_checks():
    new = bres.parse_reservations(sample("res_notif_rq.xml")).inbound()
    queue = {r.partner_reservation_id: queued(r.partner_reservation_id) for r in new}
    ((endpoint, body),) = bres.acknowledgement_documents(Acknowledgement(applied=new))
    verdict = rules.check_ack(body, endpoint, queue=queue, hotels={"367456", "367457"})
    assert verdict.acknowledged == ("312637549", "312637550")


def test_pema_s_documents_for_any_items_pass_the_simulators_checks(schemas):
    """The codec and the simulator agree: everything Pema builds is accepted as meant."""
    items = [
        AvailabilityItem(
            span=day_span(0, 40), room_type="EXQ", partner_room_id="36745603", rooms_to_sell=2
        ),
        RestrictionItem(
            span=DateSpan(TODAY - timedelta(days=5), TODAY + timedelta(days=60), (4, 5)),
            room_type="EXQ",
            rate_plan="BAR",
            partner_room_id="36745603",
            partner_rate_id="1278606",
            closed_to_arrival=True,
            min_stay_through=2,
            max_stay=10,
        ),
        RateItem(
            span=day_span(1, 45),
            room_type="EXQ",
            rate_plan="BAR",
            partner_room_id="36745603",
            partner_rate_id="1278607",
            price=15_075,
            currency="EUR",
        ),
    ]
    docs = codec.build_ari_documents(
        items, hotel_id="367456", currency="EUR", target="Test", today=TODAY
    )
    state: dict = {}
    for doc in docs:
        name = codec.ROOTS[doc.endpoint][0]
        apply_fn = (
            rules.apply_avail_notif
            if doc.endpoint == codec.AVAIL_NOTIF
            else rules.apply_rate_amount_notif
        )
        outcome = apply_fn(doc.body, PROP, state, today=TODAY, schema=schemas[name])
        assert outcome.http_status == 200 and outcome.errors == () and outcome.warnings == ()
        state.update(outcome.updates)
    friday = next(d for d in (TODAY + timedelta(days=i) for i in range(7)) if d.weekday() == 4)
    assert state[("36745603", "1278606", friday)] == DayState(
        closed_to_arrival=True, min_stay=2, max_stay=10
    )
    assert state[("36745603", "1278607", TODAY + timedelta(days=45))].price == 15_075
    assert ("36745603", None, TODAY + timedelta(days=40)) not in state
