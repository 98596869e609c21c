"""ARI to Booking.com: what goes on the wire for each kind of item, and Booking's request rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from lxml import etree

from channels.interface import AvailabilityItem, DateSpan, RateItem, RestrictionItem
from partners.booking_com import codec
from partners.booking_com.codec import BookingCodecError, MinStayMode
from pema import ota

NS = {"o": ota.OTA_NS}
TODAY = date(2026, 1, 15)


def avail(start: date, end: date, rooms: int = 5, *, stop_sell: bool = False, weekdays=None):
    return AvailabilityItem(
        span=DateSpan(start, end, weekdays),
        room_type="EXQ",
        partner_room_id="36745603",
        rooms_to_sell=rooms,
        stop_sell=stop_sell,
    )


def restriction(start: date, end: date, *, weekdays=None, rate="1278606", **flags):
    return RestrictionItem(
        span=DateSpan(start, end, weekdays),
        room_type="EXQ",
        rate_plan="BAR",
        partner_room_id="36745603",
        partner_rate_id=rate,
        **flags,
    )


def rate(start: date, end: date, price: int = 12_050, currency: str = "EUR", *, weekdays=None):
    return RateItem(
        span=DateSpan(start, end, weekdays),
        room_type="EXQ",
        rate_plan="BAR",
        partner_room_id="36745603",
        partner_rate_id="1278606",
        price=price,
        currency=currency,
    )


def build(items, **kwargs) -> list[codec.AriDocument]:
    kwargs.setdefault("hotel_id", "367456")
    kwargs.setdefault("today", TODAY)
    return codec.build_ari_documents(items, **kwargs)


def messages(body: bytes) -> list[etree._Element]:
    return etree.fromstring(body).findall(".//o:AvailStatusMessage", NS)


def los(msg: etree._Element) -> list[tuple[str, str | None]]:
    return [
        (x.get("MinMaxMessageType"), x.get("Time")) for x in msg.findall(".//o:LengthOfStay", NS)
    ]


def status(msg: etree._Element) -> tuple[str | None, str | None]:
    el = msg.find("o:RestrictionStatus", NS)
    return (el.get("Restriction"), el.get("Status")) if el is not None else (None, None)


# ------------------------------------------------------------------ what each item becomes


def test_rooms_to_sell_go_on_a_room_level_message_with_its_open_status(schemas):
    (doc,) = build([avail(date(2026, 2, 1), date(2026, 2, 10), 7)])
    schemas.assert_valid(doc.body)
    (msg,) = messages(doc.body)
    sac = msg.find("o:StatusApplicationControl", NS)
    assert msg.get("BookingLimit") == "7"
    assert sac.get("InvTypeCode") == "36745603" and sac.get("RatePlanCode") is None
    assert (sac.get("Start"), sac.get("End")) == ("2026-02-01", "2026-02-10")
    assert status(msg) == (None, "Open")


def test_a_room_level_stop_sell_closes_the_room_and_an_overbooked_day_sells_zero():
    (doc,) = build([avail(date(2026, 2, 1), date(2026, 2, 1), -2, stop_sell=True)])
    (msg,) = messages(doc.body)
    assert msg.get("BookingLimit") == "0"
    assert status(msg) == (None, "Close")


def test_a_restriction_item_says_stop_sell_stay_limits_arrival_and_departure(schemas):
    item = restriction(
        date(2026, 2, 1),
        date(2026, 2, 5),
        stop_sell=True,
        closed_to_arrival=True,
        closed_to_departure=False,
        min_stay_through=2,
        max_stay=6,
    )
    (doc,) = build([item])
    schemas.assert_valid(doc.body)
    first, arrival, departure = messages(doc.body)
    assert first.get("BookingLimit") is None  # never on a room rate
    assert {
        m.find("o:StatusApplicationControl", NS).get("RatePlanCode") for m in messages(doc.body)
    } == {"1278606"}
    assert los(first) == [("SetMinLOS", "2"), ("SetMaxLOS", "6")]
    assert status(first) == (None, "Close")
    assert status(arrival) == ("Arrival", "Close") and los(arrival) == []
    assert status(departure) == ("Departure", "Open")
    assert [m.get("LocatorID") for m in messages(doc.body)] == ["1", "2", "3"]
    assert doc.messages == 3


def test_min_stay_mode_chooses_which_minimum_becomes_set_min_los():
    item = restriction(date(2026, 2, 1), date(2026, 2, 5), min_stay_arrival=4, min_stay_through=2)
    (through,) = build([item])
    (arrival,) = build([item], mode=MinStayMode.ARRIVAL)
    assert los(messages(through.body)[0])[0] == ("SetMinLOS", "2")
    assert los(messages(arrival.body)[0])[0] == ("SetMinLOS", "4")
    # What could not be said is reported for the sync log, not dropped silently.
    assert through.warnings == (
        "EXQ/BAR 2026-02-01..2026-02-05: minimum stay on arrival of 4 not sent "
        "(min_stay_mode=through).",
    )
    assert arrival.warnings == ()


@pytest.mark.parametrize(
    ("value", "mode"),
    [(None, MinStayMode.THROUGH), ("", MinStayMode.THROUGH), ("Arrival", MinStayMode.ARRIVAL)],
)
def test_min_stay_mode_setting_defaults_to_through(value, mode):
    assert codec.min_stay_mode(value) == mode


def test_an_unknown_min_stay_mode_is_a_clear_error():
    with pytest.raises(BookingCodecError, match="'arrival' or 'through'"):
        codec.min_stay_mode("departure")


def test_no_minimum_is_one_night_and_a_lifted_maximum_is_removed(schemas):
    (doc,) = build([restriction(date(2026, 2, 1), date(2026, 2, 1))])
    schemas.assert_valid(doc.body)
    assert los(messages(doc.body)[0]) == [("SetMinLOS", "1"), ("RemoveMaxLOS", None)]


def test_weekday_patterns_use_the_ota_day_flags(schemas):
    # Fridays and Sundays in February 2026 (the 1st is a Sunday).
    (doc,) = build([restriction(date(2026, 2, 1), date(2026, 2, 28), weekdays=(4, 6))])
    schemas.assert_valid(doc.body)
    sac = messages(doc.body)[0].find("o:StatusApplicationControl", NS)
    flags = {d: sac.get(d) for d in ("Mon", "Tue", "Weds", "Thur", "Fri", "Sat", "Sun")}
    assert flags == {
        "Mon": "false", "Tue": "false", "Weds": "false", "Thur": "false",
        "Fri": "true", "Sat": "false", "Sun": "true",
    }  # fmt: skip
    # Tightened to the first and last chosen day.
    assert (sac.get("Start"), sac.get("End")) == ("2026-02-01", "2026-02-27")


def test_prices_are_decimal_strings_in_the_hotel_currency(schemas):
    docs = (
        build([rate(date(2026, 2, 1), date(2026, 2, 1), 1_234_567, "INR")], currency="INR")
        + build([rate(date(2026, 2, 1), date(2026, 2, 1), 12_345, "JPY")], currency="jpy")
        + build([rate(date(2026, 2, 1), date(2026, 2, 1), 45_250, "KWD")])
    )
    amounts = []
    for doc in docs:
        schemas.assert_valid(doc.body)
        el = etree.fromstring(doc.body).find(".//o:BaseByGuestAmt", NS)
        amounts.append((el.get("AmountAfterTax"), el.get("CurrencyCode"), el.get("DecimalPlaces")))
        assert el.get("NumberOfGuests") is None  # standard pricing: a price per room
        assert doc.endpoint == codec.RATE_AMOUNT_NOTIF
    assert amounts == [("12345.67", "INR", "2"), ("12345", "JPY", "0"), ("45.250", "KWD", "3")]


def test_a_price_in_another_currency_than_the_hotels_is_refused_before_sending():
    with pytest.raises(
        BookingCodecError, match="priced in USD, but the Booking.com hotel sells in EUR"
    ):
        build([rate(date(2026, 2, 1), date(2026, 2, 1), currency="USD")], currency="EUR")


def test_the_booking_hotel_id_and_the_target_are_on_every_document():
    docs = build(
        [avail(date(2026, 2, 1), date(2026, 2, 2)), rate(date(2026, 2, 1), date(2026, 2, 2))],
        target=codec.TARGET_TEST,
    )
    for doc in docs:
        root = etree.fromstring(doc.body)
        assert root.get("Target") == "Test"
        assert root[0].get("HotelCode") == "367456"
    with pytest.raises(BookingCodecError, match="Production or Test"):
        build([avail(date(2026, 2, 1), date(2026, 2, 2))], target="Staging")
    with pytest.raises(BookingCodecError, match="hotel id is required"):
        build([avail(date(2026, 2, 1), date(2026, 2, 2))], hotel_id="")


# ------------------------------------------------------------- months, horizon, packing


def test_documents_never_span_two_calendar_months():
    docs = build(
        [avail(date(2026, 1, 20), date(2026, 3, 5)), rate(date(2026, 1, 31), date(2026, 2, 1))]
    )
    spans = [(d.endpoint, d.start, d.end) for d in docs]
    assert spans == [
        (codec.AVAIL_NOTIF, date(2026, 1, 20), date(2026, 1, 31)),
        (codec.AVAIL_NOTIF, date(2026, 2, 1), date(2026, 2, 28)),
        (codec.AVAIL_NOTIF, date(2026, 3, 1), date(2026, 3, 5)),
        (codec.RATE_AMOUNT_NOTIF, date(2026, 1, 31), date(2026, 1, 31)),
        (codec.RATE_AMOUNT_NOTIF, date(2026, 2, 1), date(2026, 2, 1)),
    ]


def test_dates_are_clamped_from_yesterday_to_the_horizon():
    items = [
        avail(TODAY - timedelta(days=10), TODAY + timedelta(days=3)),
        avail(TODAY - timedelta(days=30), TODAY - timedelta(days=2)),  # wholly past: dropped
        avail(TODAY + timedelta(days=360), TODAY + timedelta(days=400)),
    ]
    split = codec.clamp_and_split(items, today=TODAY, horizon_days=365)
    assert split[0].span.start == TODAY - timedelta(days=1)
    assert max(i.span.end for i in split) == TODAY + timedelta(days=364)
    assert all(i.span.start >= TODAY - timedelta(days=1) for i in split)


def test_a_month_piece_without_any_chosen_weekday_is_not_sent():
    # Mondays only, from Tuesday 27 January to Sunday 1 February: no Monday in either piece.
    items = [avail(date(2026, 1, 27), date(2026, 2, 1), weekdays=(0,))]
    assert codec.clamp_and_split(items, today=TODAY) == []


def test_a_pattern_that_covers_every_day_of_its_piece_becomes_a_plain_range():
    # Saturday and Sunday, cut to Saturday 31 January .. Sunday 1 February.
    items = [avail(date(2026, 1, 31), date(2026, 2, 1), weekdays=(5, 6))]
    jan, feb = codec.clamp_and_split(items, today=TODAY)
    assert jan.span == DateSpan(date(2026, 1, 31), date(2026, 1, 31))
    assert feb.span == DateSpan(date(2026, 2, 1), date(2026, 2, 1))


def test_documents_hold_at_most_max_messages_wire_messages():
    items = [restriction(date(2026, 2, d), date(2026, 2, d), rate=str(d)) for d in range(1, 11)]
    docs = build(items, max_messages=7)
    assert [d.messages for d in docs] == [6, 6, 6, 6, 6]  # two items of three messages each
    assert sum(len(d.items) for d in docs) == 10
    with pytest.raises(BookingCodecError, match="less than one item"):
        build(items, max_messages=2)


def test_a_later_item_for_the_same_product_and_day_goes_in_a_later_document():
    # Booking applies only the first message for a day (WARN_DUPLICATE_DATES), so
    # the later state must travel in a later request to win, as it does in Pema.
    first = rate(date(2026, 2, 1), date(2026, 2, 28), 10_000)
    weekend = rate(date(2026, 2, 1), date(2026, 2, 28), 15_000, weekdays=(5, 6))
    other_days = rate(date(2026, 2, 1), date(2026, 2, 28), 11_000, weekdays=(0, 1))
    docs = build([first, weekend])
    assert [d.items for d in docs] == [(first,), (replace_weekdays(weekend),)]
    # Items that cannot touch the same day share a document.
    assert len(build([replace_weekdays(weekend), other_days])) == 1


def replace_weekdays(item):
    return codec.clamp_and_split([item], today=TODAY)[0]


def test_several_documents_number_their_echo_tokens():
    docs = build([avail(date(2026, 1, 20), date(2026, 2, 5))], echo_token="job-42")
    assert [etree.fromstring(d.body).get("EchoToken") for d in docs] == ["job-42-1", "job-42-2"]
    (single,) = build([avail(date(2026, 2, 1), date(2026, 2, 5))], echo_token="job-43")
    assert etree.fromstring(single.body).get("EchoToken") == "job-43"


# ------------------------------------------------------------------ validity, round trips


def a_year_of_items() -> list:
    items = []
    for n in range(0, 420, 9):
        start = TODAY + timedelta(days=n - 3)
        end = start + timedelta(days=11)
        items += [
            avail(start, end, n % 6, stop_sell=n % 4 == 0),
            restriction(
                start,
                end,
                weekdays=(n % 7, (n + 3) % 7) if n % 2 else None,
                stop_sell=n % 5 == 0,
                closed_to_arrival=n % 3 == 0,
                closed_to_departure=n % 4 == 1,
                min_stay_through=n % 4 or None,
                max_stay=(n % 9) + 4 if n % 3 else None,
            ),
            rate(start, end, 9_000 + n * 7, weekdays=(5, 6) if n % 3 == 1 else None),
        ]
    return items


def test_every_document_built_is_valid_2011b_and_reads_back_as_it_was_meant(schemas):
    docs = build(a_year_of_items(), timestamp=datetime(2026, 1, 15, 8, 0, tzinfo=UTC))
    assert len({(d.endpoint, d.start.replace(day=1)) for d in docs}) >= 24
    for doc in docs:
        schemas.assert_valid(doc.body)
        if doc.endpoint == codec.AVAIL_NOTIF:
            parsed = codec.parse_avail_notif(doc.body)
            expected = tuple(m for i in doc.items for m in codec.avail_messages(i))
        else:
            parsed = codec.parse_rate_amount_notif(doc.body)
            expected = tuple(codec.rate_message(i) for i in doc.items)
        assert parsed.messages == expected
        assert [m.locator_id for m in parsed.messages] == list(range(1, len(expected) + 1))
        assert parsed.hotel_id == "367456" and parsed.target == "Production"
        assert parsed.timestamp == datetime(2026, 1, 15, 8, 0, tzinfo=UTC)


def test_the_shared_ota_parser_reads_our_documents_the_same_way():
    (doc,) = build(
        [
            avail(date(2026, 2, 1), date(2026, 2, 3), 3),
            restriction(date(2026, 2, 1), date(2026, 2, 3), closed_to_arrival=True, max_stay=5),
        ]
    )
    rq = ota.parse_hotel_avail_notif_rq(doc.body)
    assert rq.hotel_code == "367456"
    assert [m.booking_limit for m in rq.messages] == [3, None, None, None]
    assert [m.rate_plan_code for m in rq.messages] == [None, "1278606", "1278606", "1278606"]
    assert rq.messages[1].min_los == 1 and rq.messages[1].max_los == 5
    assert [m.restriction.restriction for m in rq.messages] == [None, None, "Arrival", "Departure"]
    (rates,) = build([rate(date(2026, 2, 1), date(2026, 2, 3), 12_050)])
    shared = ota.parse_hotel_rate_amount_notif_rq(rates.body)
    assert shared.messages[0].rates[0].amount_after_tax == 12_050


def test_booking_today_follows_central_european_time():
    # 23:30 UTC on 31 December is already 1 January in Amsterdam.
    assert codec.booking_today(datetime(2025, 12, 31, 23, 30, tzinfo=UTC)) == date(2026, 1, 1)
    assert codec.booking_today(datetime(2026, 7, 1, 21, 59, tzinfo=UTC)) == date(2026, 7, 1)


def test_capabilities_say_what_booking_takes():
    caps = codec.capabilities()
    assert caps.max_days_per_request == 31
    assert caps.horizon_days == 365 and caps.past_days == 1
    assert caps.pull_interval_seconds == 20
    assert caps.weekday_patterns and caps.nets_reservations
    assert codec.capabilities(horizon_days=500).horizon_days == 500


def test_endpoints_and_headers():
    assert (
        codec.endpoint_url("https://supply-xml.booking.com/", codec.AVAIL_NOTIF)
        == "https://supply-xml.booking.com/hotels/ota/OTA_HotelAvailNotif"
    )
    assert (
        codec.endpoint_url(codec.DEFAULT_SECURE_BASE_URL, codec.RES_MODIFY_NOTIF)
        == "https://secure-supply-xml.booking.com/hotels/ota/OTA_HotelResModifyNotif"
    )
    assert codec.request_headers() == {"Accept-Version": "1.1", "Content-Type": "application/xml"}
