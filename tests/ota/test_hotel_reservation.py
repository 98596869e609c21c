"""The shared OTA reservation-body codec and the full error attributes (pema.ota additions)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from lxml import etree

from pema import ota
from pema.ota import hotel_reservation as hres
from pema.ota.issues import OTAIssue, add_issues, document_comments, read_issues
from pema.ota.reservations import GuestProfile
from pema.xml import element, parse_xml, to_bytes


def amount_el(**attrs: str) -> etree._Element:
    return etree.fromstring(
        f'<Total xmlns="{ota.OTA_NS}" ' + " ".join(f'{k}="{v}"' for k, v in attrs.items()) + "/>"
    )


@pytest.mark.parametrize(
    ("attrs", "value"),
    [
        ({"AmountAfterTax": "12050", "DecimalPlaces": "2"}, Decimal("120.50")),
        ({"AmountAfterTax": "120.50", "DecimalPlaces": "2"}, Decimal("120.50")),  # IDS Next style
        ({"AmountAfterTax": "169", "DecimalPlaces": "2"}, Decimal("1.69")),  # OpenTravel's sample
        ({"AmountAfterTax": "37000"}, Decimal("37000")),
        ({"AmountAfterTax": "45250", "DecimalPlaces": "3"}, Decimal("45.250")),
        ({"AmountAfterTax": "500", "DecimalPlaces": "0"}, Decimal("500")),
    ],
)
def test_decimal_places_mean_the_point_was_left_out(attrs, value):
    assert hres.read_amount_element(amount_el(**attrs)).value == value


def test_amounts_that_are_not_numbers_are_a_parse_error():
    with pytest.raises(ota.OTAParseError, match="not an amount"):
        hres.read_amount_element(amount_el(AmountAfterTax="12,50"))
    with pytest.raises(ota.OTAParseError, match="not a finite amount"):
        hres.read_amount_element(amount_el(AmountAfterTax="NaN"))


def test_minor_units_are_exact_or_refused():
    assert hres.exact_minor_units(Decimal("120.50"), "EUR") == 12_050
    assert hres.exact_minor_units(Decimal("1234.00"), "JPY") == 1_234
    assert hres.exact_minor_units(Decimal("45.250"), "KWD") == 45_250
    with pytest.raises(hres.InexactAmountError, match="12.345 EUR"):
        hres.exact_minor_units(Decimal("12.345"), "EUR")
    assert hres.major_units(45_250, "KWD") == Decimal("45.250")
    assert hres.wire_amount(Decimal("120.50"), 2) == "12050"
    assert hres.wire_amount(Decimal("120.50"), None) == "120.50"
    with pytest.raises(ValueError, match="does not fit"):
        hres.wire_amount(Decimal("1.005"), 2)


def test_card_masking_keeps_the_last_four_and_is_idempotent():
    assert hres.mask_card_number("4111 1111 1111 1111") == "XXXXXXXXXXXX1111"
    assert hres.mask_card_number("XXXXXXXXXXXX1111") == "XXXXXXXXXXXX1111"
    assert hres.mask_card_number("123") == "XXX"
    assert hres.mask_card_number(None) is None


def sample_message() -> hres.HotelReservationsMessage:
    eur = {"currency": "EUR", "decimal_places": 2}
    return hres.HotelReservationsMessage(
        name=hres.RES_MODIFY_NOTIF_RQ,
        target="Production",
        timestamp=datetime(2026, 1, 15, 10, 0),
        version="2.001",
        reservations=(
            hres.HotelReservationData(
                res_status="Cancelled",
                last_modify_datetime=datetime(2026, 1, 14, 9, 0),
                room_stays=(
                    hres.ResRoomStay(
                        index_number="1",
                        room_type_code="R1",
                        rate_plan_code="P1",
                        rates=tuple(
                            hres.RateLine(
                                effective_date=date(2026, 3, d),
                                rate_plan_code="P1VCC",
                                total=hres.Amount(after_tax=Decimal("99.90"), **eur),
                            )
                            for d in (1, 2)
                        ),
                        guest_counts=(hres.GuestCount(age_qualifying_code=10, count=2),),
                        total=hres.Amount(after_tax=Decimal("199.80"), **eur),
                        hotel_code="H1",
                        guest_rphs=("1",),
                        comments=("Quiet room",),
                        special_requests=("Cot",),
                    ),
                ),
                res_guests=(
                    hres.ResGuest(rph="1", profile=GuestProfile(surname="Rao", given_name="Asha")),
                ),
                comments=("Booker says hi",),
                guarantee=hres.PaymentCard(
                    card_code="VI",
                    card_number="4111111111111111",
                    series_code="123",
                    expire_date="1228",
                ),
                total=hres.Amount(after_tax=Decimal("199.80"), **eur),
                reservation_ids=(
                    hres.ReservationID(value="77", created=datetime(2026, 1, 10, 8, 0)),
                ),
                booker=GuestProfile(surname="Rao", email="asha@example.com", country="IN"),
            ),
        ),
    )


def test_reservation_bodies_round_trip_and_are_valid(schemas):
    msg = sample_message()
    body = hres.build_hotel_reservations(msg)
    schemas.assert_valid(body)
    assert hres.parse_hotel_reservations(body) == msg


def test_split_gives_one_document_per_reservation_with_cards_masked():
    msg = sample_message()
    two = hres.HotelReservationsMessage(
        name=msg.name, reservations=msg.reservations * 2, target="Production", version="2.001"
    )
    envelope, pieces = hres.split_hotel_reservations(hres.build_hotel_reservations(two))
    assert envelope.name == hres.RES_MODIFY_NOTIF_RQ and envelope.reservations == ()
    assert len(pieces) == 2
    for piece in pieces:
        assert b"4111111111111111" not in piece and b'SeriesCode="123"' not in piece
        (res,) = hres.parse_hotel_reservations(piece).reservations
        assert res.guarantee.card_number == "XXXXXXXXXXXX1111" and res.guarantee.series_code is None
        assert res.raw == piece


def test_acks_list_ids_on_success_and_name_them_in_record_id_on_rejection(schemas):
    ok = hres.ReservationAck(name=hres.RES_NOTIF_RS, reservation_ids=("1", "2"), target="Test")
    body = hres.build_reservation_ack(ok)
    schemas.assert_valid(body)
    assert hres.parse_reservation_ack(body).reservation_ids == ("1", "2")
    rejection = hres.ReservationAck(
        name=hres.RES_MODIFY_NOTIF_RS,
        errors=(OTAIssue(type=3, code="450", short_text="Unmapped", record_id="2"),),
        target="Test",
    )
    body = hres.build_reservation_ack(rejection)
    schemas.assert_valid(body)
    parsed = hres.parse_reservation_ack(body)
    assert not parsed.success and parsed.reservation_ids == ("2",)
    with pytest.raises(ota.OTAParseError, match="not a reservation acknowledgement"):
        hres.parse_reservation_ack(body.replace(b"RS", b"RQ"))


def test_issues_keep_every_attribute_and_comments_around_the_root_are_read():
    root = element("OTA_PingRS", {"Version": "1"}, namespace=ota.OTA_NS)
    issue = OTAIssue(
        type=3,
        code="15",
        short_text="NOT_A_VALID_DATE",
        text="Too old",
        status="NotProcessed",
        record_id="4",
    )
    add_issues(root, "Errors", "Error", [issue])
    data = b"<!-- before -->\n" + to_bytes(root).split(b"\n", 1)[1] + b"\n<!-- RUID: [x] -->"
    parsed = parse_xml(data)
    assert read_issues(parsed, "Errors", "Error") == (issue,)
    assert document_comments(parsed) == ("before", "RUID: [x]")
