"""The Agoda codec against the samples: what Agoda sends is read right, what Pema sends is
what Agoda's examples show, and building what was read gives the same values again."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from channels.interface import (
    AvailabilityItem,
    DateSpan,
    InboundKind,
    RateItem,
    RestrictionItem,
)
from partners.agoda import codec

from .conftest import PROPERTY, sample, sample_json

TODAY = date(2026, 12, 1)


def span(offset: int, days: int = 1, weekdays=None) -> DateSpan:
    start = TODAY + timedelta(days=offset)
    return DateSpan(start, start + timedelta(days=days - 1), weekdays)


def test_agoda_s_set_ari_example_reads_as_its_updates():
    request = codec.parse_set_ari(sample("agoda_set_ari_v2_rq.xml"))
    assert (request.request_type, request.timestamp, request.property_id) == (
        "10",
        "1436931804",
        PROPERTY,
    )
    inventory, rate = request.updates
    assert (inventory.section, inventory.room_id, inventory.allotment) == (
        "inventory",
        "5478687",
        9,
    )
    assert inventory.dow == (1, 2, 3, 4, 5, 6, 7) and len(inventory.days()) == 30
    assert (inventory.closed, inventory.cta, inventory.ctd) == ("false", "false", "false")
    assert (rate.room_id, rate.rateplan_id, rate.currency, rate.default_price) == (
        "6577825",
        "25077",
        "THB",
        "2000.0",
    )
    assert (rate.los_min, rate.los_max, rate.staythrough_min) == ("1", "30", "1")
    assert (rate.advance_min, rate.advance_max) == ("15", "30")
    assert not inventory.problems and not rate.problems


def test_the_multi_occupancy_and_date_values_example_reads():
    (update,) = codec.parse_set_ari(sample("agoda_set_ari_v2_rq_occupancy.xml")).updates
    assert update.days() == [date(2019, 6, 30)]
    assert update.occupancy_prices == ((1, "1000.0"), (2, "1500.0"))
    assert not update.default_price and not update.problems


def test_pema_writes_agoda_s_shape_and_reads_back_the_same_values():
    items = [
        AvailabilityItem(span(0, 30, (5, 6)), "EXT", "5478687", rooms_to_sell=9, stop_sell=False),
        RestrictionItem(
            span(0, 30),
            "EXT",
            "BAR",
            "6577825",
            "25077",
            closed_to_arrival=True,
            min_stay_arrival=2,
            min_stay_through=3,
            max_stay=30,
        ),
        RateItem(span(0, 30), "EXT", "BAR", "6577825", "25077", price=200050, currency="THB"),
    ]
    (document,) = codec.build_set_ari(items, property_id=PROPERTY, currency="THB", today=TODAY)
    read = codec.parse_set_ari(document.body)
    assert read.request_type == codec.SET_ARI_V2 and read.timestamp.isdigit()
    assert len(read.timestamp) == 13, "milliseconds, as Agoda's tables say"
    inventory, restriction, price = read.updates
    assert inventory.dow == (6, 7), "Saturday and Sunday: Agoda counts 1 = Monday .. 7 = Sunday"
    assert {d.isoweekday() for d in inventory.days()} == {6, 7}
    assert (inventory.allotment, inventory.closed, inventory.cta, inventory.ctd) == (
        9,
        "false",
        "false",
        "false",
    )
    assert (restriction.cta, restriction.ctd, restriction.closed) == ("true", "false", "false")
    assert (restriction.los_min, restriction.los_max, restriction.staythrough_min) == (
        "2",
        "30",
        "3",
    )
    assert (price.currency, price.default_price) == ("THB", "2000.50")
    assert document.items == tuple(items)


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [(200050, "THB", "2000.50"), (5000, "JPY", "5000.0"), (12340, "KWD", "12.34")],
)
def test_amounts_take_the_currency_s_digits_and_at_most_two(minor, currency, text):
    assert codec.amount(minor, currency) == text


def test_a_price_needing_a_third_decimal_is_refused_not_rounded():
    with pytest.raises(codec.AgodaCodecError, match="at most 2"):
        codec.amount(12345, "KWD")
    item = RateItem(span(0), "EXT", "BAR", "1", "2", price=100, currency="EUR")
    with pytest.raises(codec.AgodaCodecError, match="priced in EUR"):
        codec.build_set_ari([item], property_id=PROPERTY, currency="THB", today=TODAY)


def test_days_past_730_are_left_out_and_documents_stay_under_the_size_limit():
    far = AvailabilityItem(span(700, 60), "EXT", "1", rooms_to_sell=1)
    (document,) = codec.build_set_ari([far], property_id=PROPERTY, currency="THB", today=TODAY)
    (update,) = codec.parse_set_ari(document.body).updates
    assert update.end == TODAY + timedelta(days=730)
    assert (
        codec.build_set_ari(
            [AvailabilityItem(span(800), "EXT", "1", rooms_to_sell=1)],
            property_id=PROPERTY,
            currency="THB",
            today=TODAY,
        )
        == []
    )
    many = [AvailabilityItem(span(n), "EXT", str(n), rooms_to_sell=1) for n in range(400)]
    documents = codec.build_set_ari(
        many, property_id=PROPERTY, currency="THB", today=TODAY, max_bytes=20_000
    )
    assert len(documents) > 1
    assert all(len(d.body) <= 20_000 for d in documents)
    assert [i for d in documents for i in d.items] == many


def test_answers_success_errors_and_partial_success():
    ok = codec.parse_result(sample("agoda_set_ari_v2_rs_success.xml"))
    assert ok.tuid and not ok.errors and not ok.partial
    failed = codec.parse_result(sample("agoda_set_ari_v2_rs_errors.xml"))
    assert [e.code for e in failed.errors] == ["22210", "2201"]
    assert all(not e.retryable and e.property_id == PROPERTY for e in failed.errors)
    partial = codec.parse_result(sample("set_ari_v2_rs_partial.xml"))
    assert partial.partial
    assert [(e.code, e.retryable, e.attributed) for e in partial.errors] == [
        ("2219", False, True),
        ("2101", False, True),
        ("9001", True, True),
    ]
    again = codec.parse_result(
        codec.build_result(
            tuid=partial.tuid, property_id=PROPERTY, errors=partial.errors, partial=True
        )
    )
    assert again.errors == partial.errors and again.partial


def test_failed_items_are_found_by_product_and_dates():
    rate = RestrictionItem(span(0, 30), "EXT", "BAR", "6577825", "25078")
    other = RestrictionItem(span(31, 30), "EXT", "BAR", "6577825", "25078")
    (document,) = codec.build_set_ari(
        [rate, other], property_id=PROPERTY, currency="THB", today=TODAY
    )
    error = codec.error_of(codec.parse_set_ari(document.body).updates[1], "9001", "later")
    assert codec.failed_items(document, [error]) == [other]


def test_agoda_s_ict_times_are_converted_to_utc():
    heads = codec.parse_booking_list(sample("get_booking_list_rs.xml"))
    first, modified, cancelled = heads
    assert first.last_action == datetime(2020, 4, 1, 2, 15, tzinfo=UTC)
    # 23:40 ICT on 20 March is 16:40 UTC the same day; 00:05 ICT on 3 April is 2 April UTC.
    assert modified.booking_date == datetime(2020, 3, 20, 16, 40, tzinfo=UTC)
    assert cancelled.last_action == datetime(2020, 4, 2, 17, 5, tzinfo=UTC)
    assert [h.status for h in heads] == [codec.CONFIRM, codec.AMEND, codec.CANCEL]
    assert first.arrival == date(2020, 5, 1) and first.departure == date(2020, 5, 3)
    assert codec.agoda_time("2020-04-01 09:15:00") == datetime(2020, 4, 1, 2, 15, tzinfo=UTC)
    assert codec.ict(datetime(2020, 4, 2, 17, 5, tzinfo=UTC)) == "2020-04-03T00:05:00+07:00"


def test_the_list_request_is_agoda_s_example_in_windows_of_90_days():
    example = codec.parse_request_head(sample("agoda_get_booking_list_rq.xml"))[0]
    start = codec.agoda_time(example.find("criteria").get("from"))
    end = codec.agoda_time(example.find("criteria").get("to"))
    body = codec.build_booking_list([PROPERTY], start, end, status=codec.AMEND)
    built = codec.parse_request_head(body)[0]
    assert built.get("type") == "3"
    assert dict(built.find("criteria").attrib) == dict(example.find("criteria").attrib)
    assert built.find("criteria/property").get("id") == PROPERTY
    windows = codec.list_windows(start, start + timedelta(days=200))
    assert len(windows) == 3 and all(b - a <= timedelta(days=90) for a, b in windows)
    with pytest.raises(codec.AgodaCodecError):
        codec.build_booking_list([PROPERTY], start, start + timedelta(days=91))


def test_the_detail_request_is_agoda_s_example():
    example = codec.parse_request_head(sample("agoda_get_booking_detail_rq.xml"))[0]
    built = codec.parse_request_head(
        codec.build_booking_detail(PROPERTY, ["412345678", "412345679"])
    )[0]
    assert built.get("type") == "4" and built.find("criteria").get("language") == "EN"
    assert [b.get("id") for b in built.iter("booking")] == [
        b.get("id") for b in example.iter("booking")
    ]
    with pytest.raises(codec.AgodaCodecError):
        codec.build_booking_detail(PROPERTY, [str(n) for n in range(51)])


def test_booking_details_become_inbound_reservations():
    bookings, failures = codec.parse_booking_detail(sample("get_booking_detail_rs.xml"))
    assert not failures
    one, two = (b.to_inbound() for b in bookings)
    assert (one.partner_reservation_id, one.kind, one.currency, one.total) == (
        "412345678",
        InboundKind.NEW,
        "THB",
        420050,
    )
    assert one.revised_at == datetime(2020, 4, 1, 2, 15, tzinfo=UTC)
    assert one.revision == "2020-04-01T02:15:00+00:00 ConfirmBooking"
    assert one.guest.given_name == "Somchai" and one.guest.country == "TH"
    assert one.special_requests == "Late check-in; Non-smoking room"
    (room,) = one.rooms
    assert (room.partner_room_id, room.partner_rate_id, room.adults) == ("5478687", "25077", 2)
    assert [(n.date.isoformat(), n.price) for n in room.nights] == [
        ("2020-05-01", 200025),
        ("2020-05-02", 220025),
    ]
    # Two rooms, three adults and a child: split over the rooms, the prices too (net amounts).
    assert two.kind == InboundKind.MODIFY and two.total == 700000
    assert [(r.adults, r.children) for r in two.rooms] == [(2, 1), (1, 0)]
    assert [n.price for r in two.rooms for n in r.nights] == [175000, 175000, 175000, 175000]


def test_detail_answers_built_by_the_simulator_read_back():
    bookings, _ = codec.parse_booking_detail(sample("get_booking_detail_rs.xml"))
    again, failures = codec.parse_booking_detail(codec.build_booking_detail_answer(bookings[:1]))
    assert not failures
    assert again[0].to_inbound().to_json() == bookings[0].to_inbound().to_json()


def test_a_booking_that_cannot_be_read_is_reported_not_dropped():
    body = sample("get_booking_detail_rs.xml").replace(b'adults="2"', b'adults="two"', 1)
    bookings, failures = codec.parse_booking_detail(body)
    assert [b.head.booking_id for b in bookings] == ["412345679"]
    assert failures[0].booking_id == "412345678" and "adults" in failures[0].reason


def test_the_hint_and_pema_s_reply():
    (head,) = codec.parse_hint(sample("agoda_booking_hint_rq.xml"))
    assert (head.booking_id, head.property_id, head.status) == (
        "412345678",
        PROPERTY,
        codec.CONFIRM,
    )
    assert head.last_action == datetime(2020, 4, 1, 2, 15, tzinfo=UTC)
    assert codec.parse_hint(codec.build_hint(PROPERTY, [head])) == [head]
    reply = codec.parse_result(codec.build_hint_reply())
    assert reply.success and reply == codec.parse_result(sample("booking_hint_rs.xml")).__class__(
        tuid="", timestamp=reply.timestamp, status="", errors=(), success=True
    )


def test_the_token_exchange_answers():
    assert codec.token_answer(sample_json("agoda_token_exchange_rs.json")).startswith("eyJ")
    with pytest.raises(codec.AgodaCodecError, match="responseCode 60"):
        codec.token_answer(sample_json("agoda_token_exchange_refused.json"))
