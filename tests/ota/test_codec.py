"""The OTA codec: what we build is valid 2011B, and builders and parsers agree."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from pema import ota
from pema.ota import (
    AdditionalGuestAmount,
    AvailRate,
    AvailRoomStay,
    AvailStatusMessage,
    CancelResult,
    CancelRQ,
    DaysOfWeek,
    GuestAmount,
    GuestProfile,
    HotelAvailNotifRQ,
    HotelAvailResult,
    HotelAvailRQ,
    HotelRateAmountNotifRQ,
    HotelResNotifRQ,
    LengthOfStay,
    NightRate,
    OTAError,
    OTAResponse,
    PingRQ,
    RateAmount,
    RateAmountMessage,
    ResNotifResult,
    ResNotifRoomStay,
    RestrictionStatus,
)

TS = datetime(2025, 3, 1, 10, 30, tzinfo=UTC)
D1, D2, D3 = date(2025, 4, 1), date(2025, 4, 3), date(2025, 4, 30)


def ping_rq() -> PingRQ:
    return PingRQ(echo_data="Are you there?", echo_token="job-1-try-1", timestamp=TS)


def hotel_avail_rq() -> HotelAvailRQ:
    return HotelAvailRQ(
        hotel_code="PEMA001",
        start=D1,
        end=D2,
        adults=2,
        children=1,
        rooms=1,
        room_type_code="EXT",
        rate_plan_code="BAR",
        echo_token="avail-1",
        timestamp=TS,
    )


def avail_result() -> HotelAvailResult:
    return HotelAvailResult(
        room_stays=(
            AvailRoomStay(
                room_type_code="EXT",
                units_available=4,
                rate_plan_code="BAR",
                currency="INR",
                rates=(
                    AvailRate(effective_date=D1, expire_date=date(2025, 4, 2), amount=450000),
                    AvailRate(effective_date=date(2025, 4, 2), expire_date=D2, amount=475050),
                ),
                total=925050,
            ),
            AvailRoomStay(room_type_code="SUI", units_available=0),
        )
    )


def avail_notif_rq() -> HotelAvailNotifRQ:
    return HotelAvailNotifRQ(
        hotel_code="PEMA001",
        echo_token="ari-7",
        timestamp=TS,
        messages=(
            AvailStatusMessage(start=D1, end=D3, inv_type_code="EXT", booking_limit=5),
            AvailStatusMessage(
                start=D1,
                end=D3,
                inv_type_code="EXT",
                rate_plan_code="BAR",
                days=DaysOfWeek(sat=False, sun=False),
                restriction=RestrictionStatus(restriction="Master", status="Close"),
            ),
            AvailStatusMessage(
                start=D1,
                end=D1,
                inv_type_code="SUI",
                rate_plan_code="BAR",
                restriction=RestrictionStatus(restriction="Arrival", status="Close"),
            ),
            AvailStatusMessage(
                start=D2,
                end=D2,
                inv_type_code="SUI",
                rate_plan_code="BAR",
                restriction=RestrictionStatus(restriction="Departure", status="Open"),
            ),
            AvailStatusMessage(
                start=D1,
                end=D3,
                inv_type_code="EXQ",
                rate_plan_code="BAR",
                arrival_date_based=True,
                lengths_of_stay=(
                    LengthOfStay(min_max_message_type="SetMinLOS", time=2),
                    LengthOfStay(min_max_message_type="SetMaxLOS", time=14),
                ),
            ),
            AvailStatusMessage(
                start=D1,
                end=D3,
                inv_type_code="EXQ",
                rate_plan_code="BAR",
                arrival_date_based=False,
                lengths_of_stay=(LengthOfStay(min_max_message_type="SetMinLOS", time=3),),
            ),
        ),
    )


def rate_amount_rq(currency: str = "INR") -> HotelRateAmountNotifRQ:
    return HotelRateAmountNotifRQ(
        hotel_code="PEMA001",
        echo_token="rates-3",
        timestamp=TS,
        messages=(
            RateAmountMessage(
                start=D1,
                end=D3,
                inv_type_code="EXT",
                rate_plan_code="BAR",
                days=DaysOfWeek(mon=False),
                rates=(
                    RateAmount(
                        currency=currency,
                        base_by_guest=(GuestAmount(amount_after_tax=450000),),
                        additional_guests=(
                            AdditionalGuestAmount(age_qualifying_code=10, amount=100000),
                            AdditionalGuestAmount(age_qualifying_code=8, amount=50000),
                        ),
                    ),
                ),
            ),
        ),
    )


def res_notif_rq(status: str = "Commit") -> HotelResNotifRQ:
    return HotelResNotifRQ(
        res_status=status,
        confirmation_number="PM-2025-000042",
        pms_reference="IDS-000123" if status == "Modify" else None,
        hotel_code="PEMA001",
        room_type_code="EXT",
        rate_plan_code="BAR",
        start=D1,
        end=D2,
        adults=2,
        children=1,
        guest=GuestProfile(
            given_name="Asha",
            surname="Menon",
            email="asha@example.com",
            phone="+91 98765 43210",
            country="IN",
        ),
        special_requests=("Late arrival", "High floor"),
        total=925050,
        currency="INR",
        echo_token="res-1",
        timestamp=TS,
    )


def nightly(*amounts: int, start: date = D1) -> tuple[NightRate, ...]:
    return tuple(
        NightRate(night=date.fromordinal(start.toordinal() + i), amount=amount)
        for i, amount in enumerate(amounts)
    )


def mixed_res_notif_rq(status: str = "Commit") -> HotelResNotifRQ:
    """Two EXT rooms on BAR (one RoomStay, two units) and a SUI on a package, one child."""
    return HotelResNotifRQ(
        res_status=status,
        confirmation_number="PM-2025-000043",
        pms_reference="IDS-000124" if status == "Modify" else None,
        hotel_code="PEMA001",
        room_stays=(
            ResNotifRoomStay(
                room_type_code="EXT",
                rate_plan_code="BAR",
                start=D1,
                end=D2,
                adults=2,
                units=2,
                rates=nightly(450000, 475050),
                total=1850100,
            ),
            ResNotifRoomStay(
                room_type_code="SUI",
                rate_plan_code="PKG",
                start=D1,
                end=D2,
                adults=1,
                children=1,
                rates=nightly(900000, 900000),
                total=1800000,
            ),
        ),
        guest=GuestProfile(given_name="Asha", surname="Menon", email="asha@example.com"),
        special_requests=("Rooms side by side",),
        total=3650100,
        currency="INR",
        echo_token="res-2",
        timestamp=TS,
    )


def cancel_rq() -> CancelRQ:
    return CancelRQ(
        pms_reference="IDS-000123",
        confirmation_number="PM-2025-000042",
        echo_token="cx-1",
        timestamp=TS,
    )


ERRORS = (
    OTAError(type=3, code=402, text="Invalid room type SUX"),
    OTAError(type=4, text="Bad credentials"),
)
WARNINGS = (OTAError(type=3, code=95, text="Already cancelled"),)


def ok(data=None, **kw) -> OTAResponse:
    return OTAResponse(success=True, echo_token="tok-1", timestamp=TS, data=data, **kw)


def failed() -> OTAResponse:
    return OTAResponse(success=False, echo_token="tok-1", timestamp=TS, errors=ERRORS)


# (build, parse, value) for every request kind.
REQUESTS = [
    pytest.param(ota.build_ping_rq, ota.parse_ping_rq, ping_rq(), id="PingRQ"),
    pytest.param(
        ota.build_hotel_avail_rq, ota.parse_hotel_avail_rq, hotel_avail_rq(), id="HotelAvailRQ"
    ),
    pytest.param(
        ota.build_hotel_avail_notif_rq,
        ota.parse_hotel_avail_notif_rq,
        avail_notif_rq(),
        id="HotelAvailNotifRQ",
    ),
    pytest.param(
        ota.build_hotel_rate_amount_notif_rq,
        ota.parse_hotel_rate_amount_notif_rq,
        rate_amount_rq(),
        id="HotelRateAmountNotifRQ",
    ),
    pytest.param(
        ota.build_hotel_res_notif_rq,
        ota.parse_hotel_res_notif_rq,
        res_notif_rq(),
        id="HotelResNotifRQ-Commit",
    ),
    pytest.param(
        ota.build_hotel_res_notif_rq,
        ota.parse_hotel_res_notif_rq,
        res_notif_rq("Modify"),
        id="HotelResNotifRQ-Modify",
    ),
    pytest.param(
        ota.build_hotel_res_notif_rq,
        ota.parse_hotel_res_notif_rq,
        mixed_res_notif_rq(),
        id="HotelResNotifRQ-mixed-rooms",
    ),
    pytest.param(
        ota.build_hotel_res_notif_rq,
        ota.parse_hotel_res_notif_rq,
        mixed_res_notif_rq("Modify"),
        id="HotelResNotifRQ-mixed-rooms-Modify",
    ),
    pytest.param(ota.build_cancel_rq, ota.parse_cancel_rq, cancel_rq(), id="CancelRQ"),
]

# (build, parse, value) for every response kind, success and error.
RESPONSES = [
    pytest.param(ota.build_ping_rs, ota.parse_ping_rs, ok("Are you there?"), id="PingRS"),
    pytest.param(ota.build_ping_rs, ota.parse_ping_rs, failed(), id="PingRS-errors"),
    pytest.param(
        ota.build_hotel_avail_rs, ota.parse_hotel_avail_rs, ok(avail_result()), id="HotelAvailRS"
    ),
    pytest.param(
        ota.build_hotel_avail_rs, ota.parse_hotel_avail_rs, failed(), id="HotelAvailRS-errors"
    ),
    pytest.param(
        ota.build_hotel_avail_notif_rs,
        ota.parse_hotel_avail_notif_rs,
        ok(warnings=WARNINGS),
        id="HotelAvailNotifRS",
    ),
    pytest.param(
        ota.build_hotel_avail_notif_rs,
        ota.parse_hotel_avail_notif_rs,
        failed(),
        id="HotelAvailNotifRS-errors",
    ),
    pytest.param(
        ota.build_hotel_rate_amount_notif_rs,
        ota.parse_hotel_rate_amount_notif_rs,
        ok(),
        id="HotelRateAmountNotifRS",
    ),
    pytest.param(
        ota.build_hotel_rate_amount_notif_rs,
        ota.parse_hotel_rate_amount_notif_rs,
        failed(),
        id="HotelRateAmountNotifRS-errors",
    ),
    pytest.param(
        ota.build_hotel_res_notif_rs,
        ota.parse_hotel_res_notif_rs,
        ok(
            ResNotifResult(
                pms_reference="IDS-000123",
                confirmation_number="PM-2025-000042",
                res_response_type="Committed",
            )
        ),
        id="HotelResNotifRS",
    ),
    pytest.param(
        ota.build_hotel_res_notif_rs,
        ota.parse_hotel_res_notif_rs,
        failed(),
        id="HotelResNotifRS-errors",
    ),
    pytest.param(
        ota.build_cancel_rs,
        ota.parse_cancel_rs,
        ok(
            CancelResult(
                status="Cancelled", pms_reference="IDS-000123", cancellation_number="IDSC-000123"
            ),
            warnings=WARNINGS,
        ),
        id="CancelRS",
    ),
    pytest.param(ota.build_cancel_rs, ota.parse_cancel_rs, failed(), id="CancelRS-errors"),
]


@pytest.mark.parametrize(("build", "parse", "value"), REQUESTS + RESPONSES)
def test_built_message_is_valid_against_the_2011b_schema(schemas, build, parse, value):
    schemas.assert_valid(build(value))


@pytest.mark.parametrize(("build", "parse", "value"), REQUESTS + RESPONSES)
def test_round_trip(build, parse, value):
    assert parse(build(value)) == value


def test_every_message_carries_the_standard_root_attributes():
    root = ota.common.parse_root(ota.build_hotel_avail_notif_rq(avail_notif_rq()))
    assert root.nsmap[None] == ota.OTA_NS
    assert root.get("Version") == ota.OTA_VERSION
    assert root.get("EchoToken") == "ari-7"
    assert root.get("TimeStamp") == "2025-03-01T10:30:00+00:00"


def test_timestamp_defaults_to_now():
    parsed = ota.parse_ping_rq(ota.build_ping_rq(PingRQ(echo_data="x", echo_token="t")))
    assert parsed.timestamp is not None
    assert abs((datetime.now(UTC) - parsed.timestamp).total_seconds()) < 60


def test_avail_notif_wire_format():
    xml = ota.build_hotel_avail_notif_rq(avail_notif_rq()).decode()
    assert 'BookingLimit="5" BookingLimitMessageType="SetLimit"' in xml
    assert 'InvTypeCode="EXT"' in xml
    assert 'Sat="false" Sun="false"' in xml
    assert '<RestrictionStatus Restriction="Master" Status="Close"/>' in xml
    assert '<RestrictionStatus Restriction="Arrival" Status="Close"/>' in xml
    assert '<LengthsOfStay ArrivalDateBased="false">' in xml
    assert 'MinMaxMessageType="SetMinLOS"' in xml
    parsed = ota.parse_hotel_avail_notif_rq(xml.encode())
    assert parsed.messages[4].min_los == 2 and parsed.messages[4].max_los == 14
    assert parsed.messages[1].restriction.closed


def test_errors_and_echo_token_are_read():
    parsed = ota.parse_hotel_avail_rs(ota.build_hotel_avail_rs(failed()))
    assert not parsed.success
    assert parsed.echo_token == "tok-1"
    assert parsed.error_codes == (402, None)
    assert parsed.has_error(type=4)
    assert parsed.errors[0].text == "Invalid room type SUX"


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (450000, "INR", "4500.00"),
        (12345, "EUR", "123.45"),
        (5, "USD", "0.05"),
        (15000, "JPY", "15000"),
    ],
)
def test_money_conversion(minor, currency, text):
    assert ota.minor_to_decimal(minor, currency) == text
    assert ota.decimal_to_minor(text, currency) == minor


def test_money_honours_decimal_places_and_rounds_half_up():
    assert ota.decimal_to_minor("169", "USD", 2) == 16900
    assert ota.decimal_to_minor("10.005", "EUR") == 1001
    assert ota.currency_exponent("XYZ") == 2


def test_jpy_rates_have_no_decimals():
    xml = ota.build_hotel_rate_amount_notif_rq(rate_amount_rq("JPY")).decode()
    assert 'AmountAfterTax="450000"' in xml and 'DecimalPlaces="0"' in xml
    parsed = ota.parse_hotel_rate_amount_notif_rq(xml.encode())
    assert parsed.messages[0].rates[0].amount_after_tax == 450000


def test_res_notif_carries_our_confirmation_number_as_type_40():
    xml = ota.build_hotel_res_notif_rq(res_notif_rq()).decode()
    assert 'ResID_Type="40" ResID_Value="PM-2025-000042"' in xml
    assert 'AmountAfterTax="9250.50" CurrencyCode="INR" DecimalPlaces="2"' in xml
    assert 'ResStatus="Commit"' in xml


def test_wrong_root_is_a_parse_error():
    with pytest.raises(ota.OTAParseError):
        ota.parse_ping_rs(ota.build_ping_rq(ping_rq()))
    with pytest.raises(ota.OTAParseError):
        ota.parse_ping_rq(b"<OTA_PingRQ><EchoData>x</EchoData></OTA_PingRQ>")  # no namespace


# ------------------------------------------------------------ several room stays

NS = {"o": ota.OTA_NS}


def test_a_mixed_reservation_has_a_room_stay_per_room_type(schemas):
    xml = ota.build_hotel_res_notif_rq(mixed_res_notif_rq())
    schemas.assert_valid(xml)
    root = ota.common.parse_root(xml)
    stays = root.xpath("//o:RoomStays/o:RoomStay", namespaces=NS)
    assert [
        (
            s.xpath("string(o:RoomTypes/o:RoomType/@RoomTypeCode)", namespaces=NS),
            s.xpath("string(o:RoomTypes/o:RoomType/@NumberOfUnits)", namespaces=NS),
            s.xpath("string(o:RatePlans/o:RatePlan/@RatePlanCode)", namespaces=NS),
            s.xpath("string(o:Total/@AmountAfterTax)", namespaces=NS),
        )
        for s in stays
    ] == [("EXT", "2", "BAR", "18501.00"), ("SUI", "1", "PKG", "18000.00")]
    ext, sui = stays
    # Guests and nightly prices are per room; two like rooms say so.
    assert ext.find("o:GuestCounts", NS).get("IsPerRoom") == "true"
    assert sui.find("o:GuestCounts", NS).get("IsPerRoom") is None
    assert [
        (r.get("EffectiveDate"), r.get("ExpireDate"), r.find("o:Base", NS).get("AmountAfterTax"))
        for r in ext.iterfind("o:RoomRates/o:RoomRate/o:Rates/o:Rate", NS)
    ] == [("2025-04-01", "2025-04-02", "4500.00"), ("2025-04-02", "2025-04-03", "4750.50")]
    # What belongs to the whole reservation sits in ResGlobalInfo, once.
    glob = root.find(".//o:ResGlobalInfo", NS)
    assert glob.find("o:Total", NS).get("AmountAfterTax") == "36501.00"
    assert glob.xpath("string(o:SpecialRequests/o:SpecialRequest/o:Text)", namespaces=NS) == (
        "Rooms side by side"
    )
    assert not root.xpath("//o:RoomStay/o:SpecialRequests", namespaces=NS)


def test_a_mixed_reservation_reads_back_with_a_summary_of_its_first_stay():
    parsed = ota.parse_hotel_res_notif_rq(ota.build_hotel_res_notif_rq(mixed_res_notif_rq()))
    assert [(s.room_type_code, s.units, s.adults, s.children) for s in parsed.room_stays] == [
        ("EXT", 2, 2, 0),
        ("SUI", 1, 1, 1),
    ]
    # The one-stay fields a single-room reader knows.
    assert (parsed.room_type_code, parsed.rate_plan_code, parsed.rooms) == ("EXT", "BAR", 3)
    assert (parsed.start, parsed.end, parsed.adults, parsed.children) == (D1, D2, 2, 1)
    assert parsed.total == 3650100 and parsed.currency == "INR"


def test_a_single_room_message_is_unchanged_by_room_stays():
    flat = res_notif_rq()
    (stay,) = flat.room_stays
    assert (stay.room_type_code, stay.units, stay.adults, stay.total) == ("EXT", 1, 2, 925050)
    same = HotelResNotifRQ(
        **{
            **{k: getattr(flat, k) for k in ("res_status", "confirmation_number", "hotel_code")},
            "room_stays": flat.room_stays,
            "guest": flat.guest,
            "special_requests": flat.special_requests,
            "total": flat.total,
            "currency": flat.currency,
            "echo_token": flat.echo_token,
            "timestamp": flat.timestamp,
        }
    )
    assert same == flat
    xml = ota.build_hotel_res_notif_rq(same)
    assert xml == ota.build_hotel_res_notif_rq(flat)
    root = ota.common.parse_root(xml)
    # Requests and total stay in the one RoomStay, as before.
    assert root.xpath("count(//o:RoomStay/o:SpecialRequests/o:SpecialRequest)", namespaces=NS) == 2
    assert not root.xpath("//o:ResGlobalInfo/o:Total", namespaces=NS)


def test_a_reservation_total_that_is_not_its_room_stays_is_sent_apart(schemas):
    mixed = mixed_res_notif_rq()
    discounted = HotelResNotifRQ(
        res_status=mixed.res_status,
        confirmation_number=mixed.confirmation_number,
        hotel_code=mixed.hotel_code,
        room_stays=mixed.room_stays[:1],
        total=1800000,
        currency="INR",
    )
    xml = ota.build_hotel_res_notif_rq(discounted)
    schemas.assert_valid(xml)
    parsed = ota.parse_hotel_res_notif_rq(xml)
    assert parsed.total == 1800000 and parsed.room_stays[0].total == 1850100


def test_one_stay_fields_that_contradict_the_room_stays_are_refused():
    # Derived from the stays; a contradicting value is a caller's mistake, said loudly.
    with pytest.raises(ValueError, match="room_type_code"):
        replace(mixed_res_notif_rq(), room_type_code="SUI")
    with pytest.raises(ValueError, match="end"):
        replace(res_notif_rq(), end=D3)


def test_like_rooms_merge_into_one_stay_with_units():
    def room(code: str, adults: int = 2, total: int | None = 900000) -> ResNotifRoomStay:
        return ResNotifRoomStay(
            room_type_code=code, rate_plan_code="BAR", start=D1, end=D2, adults=adults,
            rates=nightly(450000, 450000), total=total,
        )  # fmt: skip

    merged = ota.merge_identical_room_stays([room("EXT"), room("SUI"), room("EXT"), room("EXT", 1)])
    assert [(s.room_type_code, s.adults, s.units, s.total) for s in merged] == [
        ("EXT", 2, 2, 1800000),
        ("SUI", 2, 1, 900000),
        ("EXT", 1, 1, 900000),
    ]
    assert ota.merge_identical_room_stays([room("EXT"), room("EXT", total=None)])[0].total is None


def test_guest_counts_for_all_rooms_together_are_read_per_room():
    xml = ota.build_hotel_res_notif_rq(mixed_res_notif_rq()).replace(
        b'<GuestCounts IsPerRoom="true"><GuestCount AgeQualifyingCode="10" Count="2"/>',
        b'<GuestCounts IsPerRoom="false"><GuestCount AgeQualifyingCode="10" Count="3"/>',
    )
    assert ota.parse_hotel_res_notif_rq(xml).room_stays[0].adults == 2


def test_a_rate_range_longer_than_any_stay_is_refused_not_cut_into_nights():
    xml = ota.build_hotel_res_notif_rq(mixed_res_notif_rq()).decode()
    first = ota.parse_hotel_res_notif_rq(xml).room_stays[0].rates[0].night
    assert ota.parse_hotel_res_notif_rq(xml).room_stays[0].rates[0].amount
    hostile = xml.replace(
        f'ExpireDate="{(first + timedelta(days=1)).isoformat()}"', 'ExpireDate="9999-12-31"', 1
    )
    assert hostile != xml
    with pytest.raises(ota.OTAParseError, match="more than 366 nights"):
        ota.parse_hotel_res_notif_rq(hostile)
