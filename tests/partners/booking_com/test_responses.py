"""Booking.com's answers to ARI: Success, Warnings, Errors with Booking's codes, and the RUID."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from partners.booking_com import codec
from partners.booking_com.codec import AVAIL_NOTIF_RS, RATE_AMOUNT_NOTIF_RS, issue
from pema.ota.common import OTAParseError
from pema.xml import UnsafeXMLError

from .conftest import sample


def test_a_success_with_warnings_keeps_them_and_the_ruid():
    rs = codec.parse_ari_response(sample("avail_notif_rs_warnings.xml"))
    assert rs.success and rs.name == AVAIL_NOTIF_RS
    assert [w.code for w in rs.warnings] == ["WARN_DUPLICATE_DATES", "ROOM_ID_INVALID"]
    assert rs.ruid == "UmFuZG9tSVYkc2RlIyh9YVdhcm5pbmdzQW5kQVBhcnRpYWxTdWNjZXNz"
    # A warning Booking marks NotProcessed is a message that was not applied.
    assert [i.code for i in rs.not_processed] == ["ROOM_ID_INVALID"]
    assert rs.failed_locators == {"3"}
    assert not rs.transient  # retrying an unknown room cannot help
    assert "RUID UmFuZG9t" in rs.summary()


def test_errors_carry_bookings_codes_and_are_permanent_when_retrying_cannot_help():
    rs = codec.parse_ari_response(sample("avail_notif_rs_errors.xml"))
    assert not rs.success
    (error,) = rs.errors
    assert (error.code, error.ota_type, error.ota_code, error.record_id) == (
        "NOT_A_VALID_DATE",
        3,
        "15",
        "1",
    )
    assert "more than 1 day in the past" in error.text
    assert not rs.transient
    assert rs.ruid.startswith("UmFuZG9tSVYkc2RlIyh9")
    assert str(error) == (
        "NOT_A_VALID_DATE (message 1): Updates more than 1 day in the past are not allowed: "
        "2023-10-01"
    )


def test_a_currency_switch_in_progress_is_worth_retrying_a_wrong_currency_is_not():
    rs = codec.parse_ari_response(sample("rate_amount_notif_rs_errors.xml"))
    by_code = {e.code: e for e in rs.errors}
    assert by_code["AVAILABILITY_UPDATE_DISABLE_HOTEL_SWITCHING_CURRENCY"].transient
    assert not by_code["CURRENCY_CODE_DONT_MATCH_HOTEL_CURRENCY"].transient
    assert not rs.transient  # one permanent error makes the whole answer permanent
    only_switching = codec.parse_ari_response(
        codec.build_ari_response(
            RATE_AMOUNT_NOTIF_RS,
            errors=[issue("AVAILABILITY_UPDATE_DISABLE_HOTEL_SWITCHING_CURRENCY")],
        )
    )
    assert only_switching.transient


@pytest.mark.parametrize(
    ("short_text", "text", "ota_type", "transient"),
    [
        ("SOMETHING_NEW_WENT_WRONG", "", 12, True),  # processing exception: our side
        ("SOMETHING_NEW_WENT_WRONG", "", 3, False),  # business rule
        ("", "Temporary problem, try again later", 3, True),
        ("Internal error", "", 13, True),
    ],
)
def test_unknown_codes_are_classified_by_their_ota_type_and_text(
    short_text, text, ota_type, transient
):
    error = codec.BookingIssue(code=short_text, text=text, ota_type=ota_type)
    assert error.transient is transient


def test_bookings_401_body_reads_as_authorization_required():
    rs = codec.parse_ari_response(codec.build_unauthorized(AVAIL_NOTIF_RS, ruid="abc"))
    (error,) = rs.errors
    assert error.code == "AUTHORIZATION_REQUIRED" and not error.transient
    assert rs.ruid == "abc"


def test_the_simulators_answers_are_valid_2011b_and_read_back_as_built(schemas):
    stamp = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)
    warnings = [issue("WARN_DUPLICATE_DATES", record_id="2", processed=True)]
    errors = [issue("ROOM_ID_INVALID", "Room ID '9' is not valid", record_id="3")]
    for name in (AVAIL_NOTIF_RS, RATE_AMOUNT_NOTIF_RS):
        ok = codec.build_ari_response(
            name, warnings=warnings + errors, ruid="RUID-1", echo_token="e-1", timestamp=stamp
        )
        failed = codec.build_ari_response(name, errors=errors, ruid="RUID-2", timestamp=stamp)
        for body in (ok, failed):
            schemas.assert_valid(body)
            assert body.rstrip().endswith(b"-->")
        ok_rs, failed_rs = codec.parse_ari_response(ok), codec.parse_ari_response(failed)
        assert ok_rs.success and ok_rs.warnings == tuple(warnings + errors)
        assert ok_rs.echo_token == "e-1" and ok_rs.timestamp == stamp and ok_rs.ruid == "RUID-1"
        assert not failed_rs.success and failed_rs.errors == tuple(errors)
        assert failed_rs.ruid == "RUID-2"
    # Booking's own 401 body has no Type; ours adds it, so it is valid too.
    for name in (AVAIL_NOTIF_RS, RATE_AMOUNT_NOTIF_RS):
        schemas.assert_valid(codec.build_unauthorized(name))


def test_a_ruid_before_the_root_or_without_brackets_is_found():
    body = (
        b'<?xml version="1.0"?>\n<!-- RUID: XYZ123== -->\n'
        + codec.build_ari_response(AVAIL_NOTIF_RS, ruid="ignored")
        .split(b"\n", 1)[1]
        .split(b"\n<!--")[0]
    )
    assert codec.parse_ari_response(body).ruid == "XYZ123=="
    bare = codec.build_ari_response(AVAIL_NOTIF_RS).split(b"\n<!--")[0]
    assert codec.parse_ari_response(bare).ruid == ""


def test_an_answer_of_the_wrong_kind_or_hostile_xml_is_refused():
    with pytest.raises(OTAParseError, match="not an ARI response"):
        codec.parse_ari_response(sample("res_notif_rs.xml"))
    with pytest.raises(OTAParseError, match="expected OTA_HotelRateAmountNotifRS"):
        codec.parse_ari_response(sample("avail_notif_rs_errors.xml"), RATE_AMOUNT_NOTIF_RS)
    with pytest.raises(UnsafeXMLError):
        codec.parse_ari_response(
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><OTA_HotelAvailNotifRS/>'
        )
    with pytest.raises(OTAParseError, match="neither Success nor Errors"):
        codec.parse_ari_response(
            b'<OTA_HotelAvailNotifRS xmlns="http://www.opentravel.org/OTA/2003/05" Version="1"/>'
        )
