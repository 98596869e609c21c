"""The OTA codec: what we build is valid 2011B, and builders and parsers agree."""

from __future__ import annotations

from datetime import UTC, date, datetime

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
    OTAError,
    OTAResponse,
    PingRQ,
    RateAmount,
    RateAmountMessage,
    ResNotifResult,
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
