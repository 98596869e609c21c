"""The Expedia simulator over HTTP, against the same samples as the codec (§2.6 of the notes)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from partners.expedia import codec
from partners.expedia.simulator import ExpediaSimulator
from tests.sandbox import HarnessThread

from .conftest import sample

XML = {"Content-Type": "text/xml; charset=utf-8"}
AR, BR, BC = "/expedia/eqc/ar", "/expedia/eqc/br", "/expedia/eqc/bc"
SAMPLE_DAY = datetime(2012, 8, 1, 12, 0, tzinfo=UTC)


def offset_to(moment: datetime) -> int:
    return int((moment - datetime.now(UTC)).total_seconds())


@pytest.fixture
def expedia(tmp_path):
    """The simulator holding the samples' property, its clock on the samples' 2012-08-01."""
    with HarnessThread({"expedia": ExpediaSimulator}, tmp_path / "state") as running:
        running.control(
            "expedia",
            "configure",
            {
                "hotel_id": "35499",
                "username": "testuser",
                "password": "testpass",
                "currency": "EUR",
                "products": [["9989", "556895"], ["9990", "556896"]],
                "pricing": codec.PER_OCCUPANCY,
                "clock_offset_seconds": offset_to(SAMPLE_DAY),
            },
        )
        yield running


def ar(expedia, body: bytes, headers=XML) -> codec.ArResponse:
    answer = expedia.post(AR, body, headers=headers)
    assert answer.status_code == 200, answer.text
    return codec.parse_ar_response(answer.content)


def held(expedia, room: str, rate: str | None, day: str) -> dict | None:
    return expedia.control("expedia", "ari", {"room_id": room, "rate_id": rate, "start": day})[day]


def test_the_ar_sample_is_applied_on_its_weekdays_only(expedia):
    assert ar(expedia, sample("ar_rq.xml")) == codec.ArResponse(success=True)
    friday, monday = "2012-08-03", "2012-08-06"
    assert held(expedia, "9989", None, friday) == {"closed": False, "total_inventory": 10}
    plan = held(expedia, "9989", "556895", friday)
    assert plan["prices"] == {"1": 6000, "2": 10000}
    assert (plan["min_los"], plan["max_los"], plan["closed_to_departure"]) == (2, 14, True)
    assert held(expedia, "9989", "556895", monday) is None


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ((b'password="testpass"', b'password="Testpass"'), "1002"),  # case-sensitive
        ((b'username="testuser"', b'username="abc"'), "1001"),  # 4..30 characters
        ((b'<Hotel id="35499"/>', b'<Hotel id="35500"/>'), "3202"),  # not the account's
        ((b'RoomType id="9989"', b'RoomType id="432432"'), "3203"),
        ((b'RatePlan id="556895"', b'RatePlan id="556896"'), "3204"),  # another room's plan
        ((b'from="2012-08-01"', b'from="2012-07-30"'), "3101"),  # before yesterday
        ((b'to="2012-08-31"', b'to="2014-08-03"'), "3101"),  # past two years and a day
        ((b'totalInventoryAvailable="10"', b'totalInventoryAvailable="5000"'), "3111"),
        ((b'currency="EUR"', b'currency="USD"'), "3120"),
        ((b'PerOccupancy rate="60.00" occupancy="1"', b'PerDay rate="60.00"'), "3121"),
        ((b'rate="60.00"', b'rate="-1.00"'), "3123"),
        ((b'minLOS="2"', b'minLOS="29"'), "3134"),
        ((b'minLOS="2" maxLOS="14"', b'minLOS="15" maxLOS="14"'), "3136"),
    ],
)
def test_a_refused_ar_applies_nothing(expedia, change, code):
    body = sample("ar_rq.xml").replace(*change)
    assert body != sample("ar_rq.xml")
    answer = ar(expedia, body)
    assert not answer.success and code in [e.code for e in answer.errors], answer
    assert held(expedia, "9989", None, "2012-08-03") is None  # not even the inventory


def test_a_min_stay_above_the_hotel_s_maximum_is_3135(expedia):
    expedia.control("expedia", "configure", {"max_los": 1})
    answer = ar(expedia, sample("ar_rq.xml"))
    assert [e.code for e in answer.errors] == ["3135"]


def test_min_stay_is_checked_against_the_held_maximum(expedia):
    assert ar(expedia, sample("ar_rq.xml")).success  # maxLOS 14 held
    only_min = (
        sample("ar_rq.xml").replace(b' maxLOS="14"', b"").replace(b'minLOS="2"', b'minLOS="20"')
    )
    assert [e.code for e in ar(expedia, only_min).errors] == ["3136"]


def test_more_than_5000_updates_is_refused(expedia):
    update = codec.parse_ar_request(sample("ar_rq.xml")).updates[0]
    body = codec.build_ar_request(
        [update] * 1667, username="testuser", password="testpass", hotel_id="35499"
    )  # 3 updates each: 5001
    assert [e.code for e in ar(expedia, body).errors] == ["3010"]


def test_the_2007_namespace_takes_one_availrateupdate(expedia):
    update = codec.parse_ar_request(sample("ar_rq.xml")).updates[0]
    other = codec.AvailRateUpdate(span=update.span, room_id="9990", total_inventory=1)
    body = codec.build_ar_request(
        [update, other], username="testuser", password="testpass", hotel_id="35499",
        namespace=codec.AR_NS_2007,
    )  # fmt: skip
    assert [e.code for e in ar(expedia, body).errors] == ["2001"]
    wrong = sample("ar_rq.xml").replace(b"AR/2011/06", b"AR/2010/01")
    assert [e.code for e in ar(expedia, wrong).errors] == ["2000"]


def test_prices_out_of_threshold_warn_per_date_and_the_rest_is_applied(expedia):
    expedia.control("expedia", "configure", {"thresholds": {"9989": [7000, 50000]}})
    answer = ar(expedia, sample("ar_rq.xml"))
    assert answer.success and not answer.errors
    # 13 Fridays, Saturdays and Sundays in August 2012; 7013 per date.
    assert [w.code for w in answer.warnings] == ["7013"] * 13
    assert "Stay Date 2012-08-03" in answer.warnings[0].text
    plan = held(expedia, "9989", "556895", "2012-08-03")
    assert "prices" not in plan and plan["min_los"] == 2  # the price refused, the rest applied
    assert held(expedia, "9989", None, "2012-08-03")["total_inventory"] == 10


def test_the_rate_limit_answers_429_with_retry_after(expedia):
    expedia.control("expedia", "configure", {"rate_limit_per_minute": 1})
    assert ar(expedia, sample("ar_rq.xml")).success
    answer = expedia.post(AR, sample("ar_rq.xml"), headers=XML)
    assert answer.status_code == 429 and int(answer.headers["Retry-After"]) >= 1


def test_ar_needs_post_and_text_xml(expedia):
    assert (
        expedia.post(
            AR, sample("ar_rq.xml"), headers={"Content-Type": "application/json"}
        ).status_code
        == 400
    )
    assert expedia.get(AR).status_code == 405


# ---------------------------------------------------------------------- BR and BC


def br(expedia, body: bytes | None = None) -> codec.BrResponse:
    body = body or sample("br_rq.xml").replace(b'<Hotel id="1234"/>', b'<Hotel id="35499"/>')
    answer = expedia.post(BR, body, headers=XML)
    assert answer.status_code == 200, answer.text
    return codec.parse_br_response(answer.content)


def bc(expedia, *confirmations: tuple[str, str, str]) -> codec.BcResponse:
    body = codec.build_bc_request(
        [codec.Confirmation(b, t, n, datetime.now(UTC)) for b, t, n in confirmations],
        username="testuser",
        password="testpass",
        hotel_id="35499",
    )
    answer = expedia.post(BC, body, headers=XML)
    assert answer.status_code == 200, answer.text
    return codec.parse_bc_response(answer.content)


def test_the_br_sample_request_is_taken_and_bookings_come_newest_first(expedia):
    assert [e.code for e in br(expedia, sample("br_rq.xml")).errors] == ["3202"]  # hotel 1234
    first = expedia.control(
        "expedia", "book", {"room_id": "9989", "rate_id": "556895", "check_in": "2012-08-10"}
    )
    second = expedia.control(
        "expedia", "book", {"room_id": "9990", "rate_id": "556896", "check_in": "2012-08-11"}
    )
    answer = br(expedia)
    assert [b.booking_id for b in answer.bookings] == [second["id"], first["id"]]
    assert {b.status for b in answer.bookings} == {"pending"}  # as returned; retrieved from now
    assert {b.status for b in br(expedia).bookings} == {"retrieved"}


def test_a_booking_s_next_transaction_waits_for_the_confirmation_of_the_first(expedia):
    made = expedia.control("expedia", "book", {"check_in": "2012-08-10", "nights": 2})
    bid = made["id"]
    expedia.control("expedia", "modify", {"booking_id": bid, "nights": 3})
    expedia.control("expedia", "cancel", {"booking_id": bid})
    assert [(b.booking_id, b.booking_type) for b in br(expedia).bookings] == [(bid, "Book")]
    # Confirming what was never retrieved, or the wrong type, is refused per booking.
    assert [w.code for w in bc(expedia, (bid, "Modify", "PEMA-1")).warnings] == ["10081"]
    assert bc(expedia, (bid, "Book", "PEMA-1")).warnings == ()
    [modify] = br(expedia).bookings
    assert modify.booking_type == "Modify" and modify.departure == date(2012, 8, 13)
    assert bc(expedia, (bid, "Modify", "PEMA-1")).warnings == ()
    [cancel] = br(expedia).bookings
    assert (cancel.booking_type, cancel.room_id, cancel.rate_id, cancel.total) == (
        "Cancel",
        "0",
        "0",
        0,
    )
    assert all(n.price == 0 for n in cancel.nights)
    assert bc(expedia, (bid, "Cancel", "PEMA-1")).warnings == ()
    assert br(expedia).bookings == ()


def test_a_booking_of_another_hotel_or_an_empty_number_warns_10081(expedia):
    bid = expedia.control("expedia", "book", {})["id"]
    br(expedia)
    assert [w.code for w in bc(expedia, ("999", "Book", "X")).warnings] == ["10081"]
    assert [w.code for w in bc(expedia, (bid, "Book", " ")).warnings] == ["10081"]


def test_br_parameters_are_checked(expedia):
    base = sample("br_rq.xml").replace(b'<Hotel id="1234"/>', b'<Hotel id="35499"/>')
    both = base.replace(b'<Status value="retrieved"/>', b'<Booking id="1"/>')
    assert [e.code for e in br(expedia, both).errors] == ["2003"]
    wrong = base.replace(b'value="retrieved"', b'value="expired"')
    assert [e.code for e in br(expedia, wrong).errors] == ["2005"]
    days = base.replace(b'<Status value="retrieved"/>', b"<NbDaysInPast>31</NbDaysInPast>")
    assert [e.code for e in br(expedia, days).errors] == ["2004"]


def test_unconfirmed_transactions_expire_to_email(expedia):
    same_day = expedia.control("expedia", "book", {"check_in": "2012-08-01", "nights": 1})["id"]
    later = expedia.control("expedia", "book", {"check_in": "2012-08-20", "nights": 1})["id"]
    br(expedia)
    expedia.control("expedia", "advance", {"minutes": 31})
    assert [b.booking_id for b in br(expedia).bookings] == [later]
    state = expedia.state("expedia")
    [record] = [b for b in state["bookings"] if b["id"] == same_day]
    assert record["transactions"][0]["status"] == "email"
    assert [w.code for w in bc(expedia, (same_day, "Book", "PEMA-2")).warnings] == ["10081"]
    expedia.control("expedia", "advance", {"minutes": 24 * 60})
    assert br(expedia).bookings == ()


def test_at_most_20_warnings_of_one_code(expedia):
    expedia.control("expedia", "configure", {"thresholds": {"9989": [7000, 50000]}})
    every_day = sample("ar_rq.xml")
    for day in (b"mon", b"tue", b"wed", b"thu"):
        every_day = every_day.replace(day + b'="false"', day + b'="true"')
    answer = ar(expedia, every_day)
    assert answer.success and [w.code for w in answer.warnings] == ["7013"] * 20
