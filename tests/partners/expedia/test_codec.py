"""The EQC codec against the samples typed from Expedia's examples, both directions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from channels.interface import (
    AvailabilityItem,
    DateSpan,
    InboundKind,
    Night,
    RateItem,
    RestrictionItem,
)
from partners.expedia import codec
from pema.xml import parse_xml

from .conftest import sample

TODAY = date(2026, 12, 1)
AUTH = {"username": "testuser", "password": "testpass", "hotel_id": "35499"}


def test_the_ar_sample_reads_as_one_update_with_weekdays_and_occupancy_prices():
    request = codec.parse_ar_request(sample("ar_rq.xml"))
    assert request.namespace == codec.AR_NS
    assert (request.username, request.password, request.hotel_id) == tuple(AUTH.values())
    [update] = request.updates
    # sun, fri and sat are true: Friday (4), Saturday (5), Sunday (6).
    assert update.span == DateSpan(date(2012, 8, 1), date(2012, 8, 31), (4, 5, 6))
    assert (update.room_id, update.closed, update.total_inventory) == ("9989", False, 10)
    [plan] = update.rate_plans
    assert plan.rate_id == "556895" and plan.closed is False
    [rate] = plan.rates
    assert (rate.currency, rate.form, rate.prices) == (
        "EUR",
        "PerOccupancy",
        ((1, 6000), (2, 10000)),
    )
    assert (plan.min_los, plan.max_los) == (2, 14)
    assert (plan.closed_to_arrival, plan.closed_to_departure) == (False, True)


def test_building_the_sample_s_update_gives_the_sample_back():
    update = codec.parse_ar_request(sample("ar_rq.xml")).updates[0]
    built = codec.build_ar_request([update], **AUTH)
    assert codec.parse_ar_request(built) == codec.parse_ar_request(sample("ar_rq.xml"))
    root = parse_xml(built)
    date_range = root.find(f"{{{codec.AR_NS}}}AvailRateUpdate/{{{codec.AR_NS}}}DateRange")
    # All seven weekday flags are sent, as Expedia recommends.
    assert {k: date_range.get(k) for k in codec.WEEKDAYS} == {
        "mon": "false", "tue": "false", "wed": "false", "thu": "false",
        "fri": "true", "sat": "true", "sun": "true",
    }  # fmt: skip


def test_the_ar_answers_read_as_success_partial_success_and_nothing_applied():
    assert codec.parse_ar_response(sample("ar_rs_success.xml")) == codec.ArResponse(success=True)
    warned = codec.parse_ar_response(sample("ar_rs_warning.xml"))
    assert warned.success and not warned.errors
    [warning] = warned.warnings
    assert warning.code == "7013" and "Stay Date 2012-08-01" in warning.text
    failed = codec.parse_ar_response(sample("ar_rs_error.xml"))
    assert not failed.success and [e.code for e in failed.errors] == ["3203", "3204"]
    assert "432432" in failed.errors[0].text and not failed.transient
    assert codec.parse_ar_response(
        codec.build_ar_response(errors=[codec.Issue("3210", "Connection refused")])
    ).transient


@pytest.mark.parametrize("name", ["ar_rs_success.xml", "ar_rs_warning.xml", "ar_rs_error.xml"])
def test_the_simulator_s_ar_answers_are_the_samples(name):
    parsed = codec.parse_ar_response(sample(name))
    rebuilt = codec.build_ar_response(errors=parsed.errors, warnings=parsed.warnings)
    assert codec.parse_ar_response(rebuilt) == parsed


def test_items_become_ar_updates_with_every_flag_said():
    span = DateSpan(TODAY, TODAY + timedelta(days=30), (5, 6))
    items = [
        AvailabilityItem(span=span, room_type="EXT", partner_room_id="201", rooms_to_sell=-1),
        RestrictionItem(
            span=span, room_type="EXT", rate_plan="BAR", partner_room_id="201",
            partner_rate_id="301", min_stay_arrival=None, min_stay_through=3, max_stay=40,
            closed_to_arrival=True,
        ),
        RateItem(
            span=span, room_type="EXT", rate_plan="BAR", partner_room_id="201",
            partner_rate_id="301", price=12345, currency="EUR", extra_adult=2000,
        ),
    ]  # fmt: skip
    [document] = codec.build_ar_documents(items, **AUTH, today=TODAY)
    updates = codec.parse_ar_request(document.body).updates
    assert document.updates == 3
    assert [u.span for u in updates] == [span] * 3
    assert updates[0].total_inventory == 0 and updates[0].closed is False  # overbooked: 0
    restriction = updates[1].rate_plans[0]
    assert (restriction.min_los, restriction.max_los) == (1, 28)  # EQC's 1..28
    assert restriction.closed_to_arrival and restriction.closed is False
    assert updates[2].rate_plans[0].rates[0].prices == ((0, 12345),)
    assert any("minimum stay through of 3 not sent" in w for w in document.warnings)
    assert any("sent as 28" in w for w in document.warnings)
    [occupancy] = codec.build_ar_documents(
        items[2:], **AUTH, today=TODAY, pricing=codec.PER_OCCUPANCY, occupancy=2
    )
    prices = codec.parse_ar_request(occupancy.body).updates[0].rate_plans[0].rates[0]
    assert prices.form == "PerOccupancy"
    assert prices.prices == ((1, 12345), (2, 12345), (3, 14345))


def test_documents_hold_at_most_5000_updates_and_only_expedia_s_dates():
    items = [
        AvailabilityItem(
            span=DateSpan(TODAY + timedelta(days=n % 700), TODAY + timedelta(days=n % 700)),
            room_type="EXT", partner_room_id=str(n), rooms_to_sell=1,
        )
        for n in range(12_001)
    ]  # fmt: skip
    documents = codec.build_ar_documents(items, **AUTH, today=TODAY)
    assert [d.updates for d in documents] == [5000, 5000, 2001]
    old = AvailabilityItem(
        span=DateSpan(TODAY - timedelta(days=10), TODAY + timedelta(days=800)),
        room_type="EXT", partner_room_id="1", rooms_to_sell=1,
    )  # fmt: skip
    [document] = codec.build_ar_documents([old], **AUTH, today=TODAY)
    [update] = codec.parse_ar_request(document.body).updates
    assert update.span.start == TODAY - timedelta(days=1)
    assert update.span.end == TODAY + timedelta(days=codec.HORIZON_DAYS)


def test_the_br_request_sample_is_what_the_provider_builds():
    built = codec.build_br_request(username="testuser", password="testpass", hotel_id="1234")
    assert codec.parse_br_request(built) == codec.parse_br_request(sample("br_rq.xml"))
    parsed = codec.parse_br_request(sample("br_rq.xml"))
    assert parsed.statuses == ("pending", "retrieved") and parsed.kinds == ("Status",)


def test_the_br_sample_reads_as_a_booking_and_a_zeroed_cancellation():
    answer = codec.parse_br_response(sample("br_rs.xml"))
    assert not answer.failures and not answer.errors
    cancel, book = answer.bookings
    assert (book.booking_id, book.booking_type, book.hotel_id) == ("848483849123", "Book", "1234")
    assert (book.room_id, book.rate_id) == ("9989", "556895")
    assert (book.arrival, book.departure, book.adults, book.children) == (
        date(2012, 8, 3), date(2012, 8, 5), 2, 1,
    )  # fmt: skip
    assert book.nights == (Night(date(2012, 8, 3), 10000), Night(date(2012, 8, 4), 11050))
    assert book.total == 21050 and book.currency == "EUR"
    assert book.guest.surname == "Doe" and book.guest.email == "john.doe@example.com"
    assert book.created_at == datetime(2012, 7, 20, 9, 30, tzinfo=UTC)
    inbound = codec.to_inbound(book)
    assert inbound.kind == InboundKind.NEW and inbound.partner_reservation_id == "848483849123"
    assert inbound.rooms[0].nights == book.nights and inbound.total == 21050
    assert inbound.special_requests == "Late arrival, around 23:00."
    assert codec.read_ack_token(inbound.ack_token) == ("848483849123", "Book")
    assert b"848483849123" in inbound.raw and b"848485410078" not in inbound.raw
    # A cancellation: zeroed room, rate and amounts, matched by booking id alone.
    assert (cancel.room_id, cancel.rate_id, cancel.total) == ("0", "0", 0)
    cancelled = codec.to_inbound(cancel)
    assert cancelled.kind == InboundKind.CANCEL and cancelled.rooms == ()
    assert cancelled.revision != inbound.revision


def test_the_simulator_s_br_answer_reads_as_the_sample():
    answer = codec.parse_br_response(sample("br_rs.xml"))
    rebuilt = codec.parse_br_response(codec.build_br_response(answer.bookings))
    keep = ("booking_id", "booking_type", "room_id", "rate_id", "arrival", "departure", "nights",
            "total", "currency", "created_at", "status")  # fmt: skip
    for mine, theirs in zip(rebuilt.bookings, answer.bookings, strict=True):
        assert {k: getattr(mine, k) for k in keep} == {k: getattr(theirs, k) for k in keep}


def test_an_unreadable_booking_is_kept_raw_not_an_error():
    body = sample("br_rs.xml").replace(b'type="Book"', b'type="Rebook"')
    answer = codec.parse_br_response(body)
    [failure] = answer.failures
    assert failure.booking_id == "848483849123" and b"Rebook" in failure.raw
    assert len(answer.bookings) == 1


def test_the_bc_samples_both_ways():
    request = codec.parse_bc_request(sample("bc_rq.xml"))
    assert request.hotel_id == "3546"
    assert [(c.booking_id, c.booking_type, c.confirm_number) for c in request.confirmations] == [
        ("848483849123", "Book", "8675309"),
        ("848485410078", "Cancel", "8675311"),
    ]
    built = codec.build_bc_request(
        request.confirmations, username="testuser", password="testpass", hotel_id="3546"
    )
    assert codec.parse_bc_request(built) == request
    answer = codec.parse_bc_response(sample("bc_rs_warning.xml"))
    assert answer.success
    [warning] = answer.warnings
    assert (warning.code, warning.booking_id, warning.booking_type) == ("10081", "9123", "Book")
    rebuilt = codec.parse_bc_response(codec.build_bc_response(warnings=answer.warnings))
    assert rebuilt == answer


def test_wrong_namespaces_are_refused():
    with pytest.raises(codec.ExpediaCodecError, match="namespace"):
        codec.parse_ar_request(sample("ar_rq.xml").replace(b"AR/2011/06", b"AR/2099/01"))
    with pytest.raises(codec.ExpediaCodecError, match="namespace"):
        codec.parse_br_request(sample("br_rq.xml").replace(b"BR/2014/01", b"BR/2007/02"))
