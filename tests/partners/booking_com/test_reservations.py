"""Booking.com reservations: reading what a GET returns, acknowledging it, and the reverse."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from lxml import etree

from channels.interface import Acknowledgement, GuestDetails, InboundKind, Night
from partners.booking_com import codec
from partners.booking_com import reservations as bres
from partners.booking_com.reservations import BookingReservation, BookingRoomStay
from pema import ota
from pema.ota import hotel_reservation as hres
from pema.ota.common import OTAParseError
from pema.xml import UnsafeXMLError

from .conftest import sample

NS = {"o": ota.OTA_NS}
CARD = hres.PaymentCard(
    card_code="VI",
    card_number="4111111111111111",
    holder_name="Jan de Vries",
    expire_date="1228",
    series_code="123",
)


def reservation(**changes) -> BookingReservation:
    base = BookingReservation(
        reservation_id="4705950059",
        hotel_id="367456",
        currency="EUR",
        rooms=(
            BookingRoomStay(
                room_id="36745603",
                rate_plan_code="1278606VCC",
                index="1",
                nights=(Night(date(2026, 3, 1), 12_050), Night(date(2026, 3, 2), 13_000)),
                adults=2,
                children=1,
                guest=GuestDetails("Anna", "Meyer"),
                comments=("Late arrival",),
                special_requests=("Cot",),
            ),
            BookingRoomStay(
                room_id="36745604",
                rate_plan_code="1278607",
                index="2",
                nights=(Night(date(2026, 3, 1), 9_000), Night(date(2026, 3, 2), 9_000)),
            ),
        ),
        booker=GuestDetails("Jan", "de Vries", "jan@example.com", "+31 20 000 0000", "NL"),
        created_at=datetime(2026, 1, 10, 9, 30, tzinfo=UTC),
        modified_at=datetime(2026, 1, 11, 8, 0, tzinfo=UTC),
        comments=("Booker comment",),
        card=CARD,
    )
    return replace(base, **changes)


def masked(res: BookingReservation) -> BookingReservation:
    """What Pema keeps of a reservation: the card number hidden, no security code."""
    if res.card is None:
        return res
    card = replace(
        res.card, card_number=hres.mask_card_number(res.card.card_number), series_code=None
    )
    return replace(res, card=card)


def one_reservation(xml: str, name: str = "OTA_HotelResNotifRQ", root_attrs: str = "") -> bytes:
    container = "HotelReservations" if name == "OTA_HotelResNotifRQ" else "HotelResModifies"
    return (
        f'<{name} xmlns="{ota.OTA_NS}" TimeStamp="2026-01-15T10:00:00+00:00" Target="Production" '
        f'Version="2.001" {root_attrs}><{container}>{xml}</{container}></{name}>'
    ).encode()


def room_rate(
    day: str, amount: str, places: str = "2", currency: str = "EUR", code: str = "1278606"
) -> str:
    return (
        f'<RoomRate EffectiveDate="{day}" RatePlanCode="{code}"><Rates><Rate>'
        f'<Total AmountAfterTax="{amount}" CurrencyCode="{currency}" DecimalPlaces="{places}"/>'
        f"</Rate></Rates></RoomRate>"
    )


def hotel_reservation(
    rates: str, rid: str = "1001", tag: str = "HotelReservation", attrs: str = ""
) -> str:
    ids = (
        f'<HotelReservationIDs><HotelReservationID ResID_Value="{rid}"/></HotelReservationIDs>'
        if rid
        else ""
    )
    return (
        f'<{tag} {attrs}><RoomStays><RoomStay IndexNumber="1">'
        '<RoomTypes><RoomType RoomTypeCode="36745603"/></RoomTypes>'
        f"<RoomRates>{rates}</RoomRates>"
        '<GuestCounts><GuestCount AgeQualifyingCode="10" Count="2"/></GuestCounts>'
        f"</RoomStay></RoomStays><ResGlobalInfo>{ids}</ResGlobalInfo></{tag}>"
    )


# ----------------------------------------------------------------------- reading a GET


def test_a_new_reservations_answer_becomes_one_value_per_reservation():
    batch = bres.parse_reservations(sample("res_notif_rq.xml"), endpoint=codec.RES_NOTIF)
    assert batch.failures == ()
    assert batch.ruid == "UmFuZG9tSVYkc2RlIyh9Yf0pZaAkRXNOZXdSZXNlcnZhdGlvbnNTYW1wbGU="
    assert batch.timestamp == datetime(2018, 8, 17, 7, 47, 43, tzinfo=UTC)
    two_rooms, kuwait = batch.reservations

    assert (two_rooms.reservation_id, two_rooms.hotel_id, two_rooms.currency) == (
        "312637549",
        "367456",
        "EUR",
    )
    assert two_rooms.created_at == datetime(2012, 11, 13, 11, 6, 39, tzinfo=UTC)
    assert two_rooms.total == 61_100  # 611.00 EUR, from 61100 with DecimalPlaces="2"
    first, second = two_rooms.rooms
    assert first.nights == (Night(date(2012, 12, 13), 18_500), Night(date(2012, 12, 14), 18_500))
    assert (first.check_in, first.check_out) == (date(2012, 12, 13), date(2012, 12, 15))
    assert first.rate_plan_code == "1278608VCC" and first.rate_id == "1278608" and first.vcc
    assert (second.rate_id, second.vcc) == ("1278606", False)
    assert (first.adults, first.children, second.adults, second.children) == (2, 0, 1, 1)
    assert first.guest == GuestDetails("Anna", "Meyer") and second.guest == GuestDetails(
        "Jan", "de Vries"
    )
    assert first.comments == ("Non-smoking room, please.",)
    assert first.special_requests == ("Arriving around 22:00.",)
    assert two_rooms.booker == GuestDetails(
        "Jan", "de Vries", "jan.devries@guest.booking.com", "+31 20 123 4567", "NL"
    )
    assert two_rooms.comments == ("We are celebrating an anniversary.",)
    # Three decimals in Kuwaiti dinar, converted exactly.
    assert (kuwait.currency, kuwait.hotel_id, kuwait.total) == ("KWD", "367457", 45_250)
    assert kuwait.rooms[0].nights == (Night(date(2012, 12, 20), 45_250),)


def test_card_numbers_are_masked_in_values_and_in_the_raw_kept():
    batch = bres.parse_reservations(sample("res_notif_rq.xml"))
    res = batch.reservations[0]
    assert res.card == hres.PaymentCard(
        card_code="MC",
        card_number="XXXXXXXXXXXX4444",
        holder_name="Jan de Vries",
        expire_date="1230",
    )
    assert b"5555555555554444" not in res.raw and b"737" not in res.raw
    assert b"XXXXXXXXXXXX4444" in res.raw


def test_each_reservation_keeps_its_own_document_which_reads_back_the_same():
    batch = bres.parse_reservations(sample("res_notif_rq.xml"))
    for res in batch.reservations:
        root = etree.fromstring(res.raw)
        ids = root.xpath("//o:HotelReservationID/@ResID_Value", namespaces=NS)
        assert ids == [res.reservation_id]
        assert root.get("TimeStamp") == "2018-08-17T07:47:43+00:00"  # the envelope is kept
        (again,) = bres.parse_reservations(res.raw).reservations
        assert again == res


def test_the_engine_gets_inbound_reservations_with_mapped_codes_and_an_ack_token():
    new, kuwait = bres.parse_reservations(sample("res_notif_rq.xml")).inbound()
    assert new.kind == InboundKind.NEW and new.partner_reservation_id == "312637549"
    assert new.ack_token == codec.RES_NOTIF
    assert [r.partner_rate_id for r in new.rooms] == ["1278608", "1278606"]  # VCC stripped
    assert [r.partner_room_id for r in new.rooms] == ["36745601", "36745603"]
    assert [r.index for r in new.rooms] == ["369", "370"]
    assert new.total == 61_100 and new.currency == "EUR"
    assert new.guest.email == "jan.devries@guest.booking.com"  # the booker
    assert new.booked_at == datetime(2012, 11, 13, 11, 6, 39, tzinfo=UTC)
    assert new.special_requests == (
        "We are celebrating an anniversary.\n"
        "Room 369: Non-smoking room, please.\n"
        "Room 369: Arriving around 22:00."
    )
    # No LastModifyDateTime: the message's TimeStamp is the revision.
    assert new.revision == "2018-08-17T07:47:43Z"
    assert new.raw.startswith(b"<?xml") and b"312637549" in new.raw and b"312637550" not in new.raw
    assert kuwait.currency == "KWD" and kuwait.total == 45_250


def test_modifications_and_both_spellings_of_a_cancellation():
    batch = bres.parse_reservations(
        sample("res_modify_notif_rq.xml"), endpoint=codec.RES_MODIFY_NOTIF
    )
    modified, cancelled, cancel = batch.inbound()
    assert [m.kind for m in (modified, cancelled, cancel)] == [
        InboundKind.MODIFY,
        InboundKind.CANCEL,
        InboundKind.CANCEL,
    ]
    assert modified.revision == "2012-11-20T09:15:00Z"  # LastModifyDateTime
    assert modified.rooms[0].check_out == date(2012, 12, 16) and modified.total == 58_000
    assert cancelled.revision == "2012-11-21T18:02:11Z"
    assert cancel.revision == "2018-08-17T07:47:43Z"
    assert {m.ack_token for m in (modified, cancelled, cancel)} == {codec.RES_MODIFY_NOTIF}


def test_a_cancellation_can_come_as_a_hotel_reservation_on_the_new_endpoint():
    doc = one_reservation(
        hotel_reservation(room_rate("2026-03-01", "10000"), attrs='ResStatus="Cancelled"')
    )
    (res,) = bres.parse_reservations(doc, endpoint=codec.RES_NOTIF).inbound()
    assert res.kind == InboundKind.CANCEL and res.ack_token == codec.RES_NOTIF


def test_a_message_whose_root_says_cancel_cancels_its_reservations():
    doc = one_reservation(
        hotel_reservation(room_rate("2026-03-01", "10000"), tag="HotelResModify"),
        name="OTA_HotelResModifyNotifRQ",
        root_attrs='ResStatus="Cancel"',
    )
    (res,) = bres.parse_reservations(doc).inbound()
    assert res.kind == InboundKind.CANCEL


def test_a_revision_survives_redelivery_and_tells_a_pre_ack_change_apart():
    rates = room_rate("2026-03-01", "10000")
    later = one_reservation(
        hotel_reservation(rates, attrs='LastModifyDateTime="2026-01-11T08:00:00"')
    ).replace(b"2026-01-15T10:00:00", b"2026-01-15T10:05:00")
    first = one_reservation(
        hotel_reservation(rates, attrs='LastModifyDateTime="2026-01-11T08:00:00"')
    )
    # The same message pulled twice has the same revision: the second apply is a no-op.
    assert bres.parse_reservations(first).inbound()[0].revision == (
        bres.parse_reservations(later).inbound()[0].revision
    )
    # Without LastModifyDateTime a reservation changed before its first ack comes
    # again as new with the same ResID_Date; the message time tells it apart.
    plain = one_reservation(hotel_reservation(rates))
    changed = one_reservation(hotel_reservation(room_rate("2026-03-01", "12000"))).replace(
        b"2026-01-15T10:00:00", b"2026-01-15T10:01:00"
    )
    old, new = (bres.parse_reservations(d).inbound()[0] for d in (plain, changed))
    assert old.revision < new.revision


@pytest.mark.parametrize(
    ("amount", "places", "currency", "minor"),
    [
        ("12050", "2", "EUR", 12_050),
        ("123400", "2", "JPY", 1_234),  # 1234.00 yen
        ("45250", "3", "KWD", 45_250),
        ("120.50", "2", "EUR", 12_050),  # written with its decimal point: read as written
        ("7", "0", "EUR", 700),
    ],
)
def test_amounts_scaled_by_decimal_places_become_exact_minor_units(amount, places, currency, minor):
    doc = one_reservation(hotel_reservation(room_rate("2026-03-01", amount, places, currency)))
    (res,) = bres.parse_reservations(doc).reservations
    assert res.rooms[0].nights == (Night(date(2026, 3, 1), minor),)


def test_a_reservation_that_cannot_be_read_is_reported_and_the_others_still_count():
    doc = one_reservation(
        hotel_reservation(room_rate("2026-03-01", "10000"), rid="1001")
        + hotel_reservation(room_rate("2026-03-01", "12345", "3"), rid="1002")  # 12.345 EUR
        + hotel_reservation(room_rate("2026-03-01", "10000"), rid="")
        + hotel_reservation(room_rate("2026-03-01", "10000") * 2, rid="1004")
        + hotel_reservation(room_rate("2026-03-01", "1") + room_rate("2026-03-03", "1"), rid="1005")
    )
    batch = bres.parse_reservations(doc)
    assert [r.reservation_id for r in batch.reservations] == ["1001"]
    reasons = {f.reservation_id: f.reason for f in batch.failures}
    assert reasons == {
        "1002": "12.345 EUR has more digits than the currency's minor unit",
        "": "The reservation has no HotelReservationID@ResID_Value.",
        "1004": "Reservation 1004, room 1: two prices for the night of 2026-03-01.",
        "1005": "Reservation 1005, room 1: the nights are not consecutive "
        "(2026-03-01..2026-03-03).",
    }
    for failure in batch.failures:
        # Kept as its own document, to be stored and held for staff.
        assert (
            etree.fromstring(failure.raw).xpath("count(//o:HotelReservation)", namespaces=NS) == 1
        )


def test_an_answer_over_the_size_cap_is_refused_unless_the_cap_is_raised():
    values = [reservation(reservation_id=str(n), card=None) for n in range(3)]
    body = bres.build_reservations(codec.RES_NOTIF, values)
    with pytest.raises(UnsafeXMLError, match="exceeds"):
        bres.parse_reservations(body, max_bytes=len(body) - 1)
    assert len(bres.parse_reservations(body, max_bytes=len(body)).reservations) == 3


def test_a_night_without_a_price_is_held_not_taken_as_free():
    no_price = '<RoomRate EffectiveDate="2026-03-01"><Rates><Rate/></Rates></RoomRate>'
    free = room_rate("2026-03-02", "0")
    batch = bres.parse_reservations(
        one_reservation(hotel_reservation(no_price, rid="1") + hotel_reservation(free, rid="2"))
    )
    assert [f.reason for f in batch.failures] == [
        "Reservation 1, room 1: no price for the night of 2026-03-01."
    ]
    assert batch.reservations[0].rooms[0].nights == (Night(date(2026, 3, 2), 0),)


def test_a_document_of_the_wrong_kind_is_refused_whole():
    with pytest.raises(OTAParseError, match="came from OTA_HotelResNotif"):
        bres.parse_reservations(sample("res_modify_notif_rq.xml"), endpoint=codec.RES_NOTIF)
    with pytest.raises(OTAParseError, match="not a Booking.com reservation message"):
        bres.parse_reservations(sample("pema_avail_notif_rq.xml"))


def test_ota_2003_guest_references_and_multi_night_rate_lines_are_read():
    xml = (
        "<HotelReservation><RoomStays><RoomStay>"
        '<RoomTypes><RoomType RoomTypeCode="R1"/></RoomTypes>'
        '<RoomRates><RoomRate RatePlanCode="P1"><Rates>'
        '<Rate EffectiveDate="2026-03-01" ExpireDate="2026-03-04">'
        '<Base AmountAfterTax="100.00" CurrencyCode="EUR"/>'
        "</Rate></Rates></RoomRate></RoomRates>"
        '<ResGuestRPHs><ResGuestRPH RPH="7"/></ResGuestRPHs>'
        "</RoomStay></RoomStays>"
        '<ResGuests><ResGuest ResGuestRPH="7"><Profiles><ProfileInfo><Profile><Customer>'
        "<PersonName><Surname>Okafor</Surname></PersonName>"
        "</Customer></Profile></ProfileInfo></Profiles></ResGuest></ResGuests>"
        '<ResGlobalInfo><HotelReservationIDs><HotelReservationID ResID_Value="9"/>'
        "</HotelReservationIDs></ResGlobalInfo></HotelReservation>"
    )
    (res,) = bres.parse_reservations(one_reservation(xml)).reservations
    room = res.rooms[0]
    assert room.guest.surname == "Okafor"
    assert [n.price for n in room.nights] == [10_000, 10_000, 10_000]  # ExpireDate is exclusive
    assert room.check_out == date(2026, 3, 4)


# ------------------------------------------------------------------- the simulator side


@pytest.mark.parametrize("endpoint", [codec.RES_NOTIF, codec.RES_MODIFY_NOTIF])
def test_what_the_simulator_builds_is_valid_and_reads_back_as_the_values(endpoint, schemas):
    values = [
        reservation(),
        reservation(reservation_id="4705950060", status="Cancelled", card=None, total=1_500),
    ]
    body = bres.build_reservations(
        endpoint, values, timestamp=datetime(2026, 1, 15, 10, 0, tzinfo=UTC), ruid="R-1"
    )
    schemas.assert_valid(body)
    batch = bres.parse_reservations(body, endpoint=endpoint)
    assert batch.failures == () and batch.ruid == "R-1"
    assert list(batch.reservations) == [masked(v) for v in values]
    root = etree.fromstring(body)
    # One RoomRate per room per night, integer amounts with DecimalPlaces, VCC kept.
    rates = root.findall(".//o:RoomStay[1]/o:RoomRates/o:RoomRate", NS)
    assert [(r.get("EffectiveDate"), r.get("RatePlanCode")) for r in rates][:2] == [
        ("2026-03-01", "1278606VCC"),
        ("2026-03-02", "1278606VCC"),
    ]
    total = rates[0].find(".//o:Total", NS)
    assert (total.get("AmountAfterTax"), total.get("DecimalPlaces")) == ("12050", "2")
    assert (
        root.xpath("string(//o:HotelReservationID/@ResID_Date)", namespaces=NS)
        == "2026-01-10T09:30:00"
    )


def test_the_simulator_can_leave_the_card_out_and_choose_decimal_places():
    yen = reservation(
        currency="JPY",
        card=None,
        rooms=(replace(reservation().rooms[1], nights=(Night(date(2026, 3, 1), 15_000),)),),
    )
    body = bres.build_reservations(codec.RES_NOTIF, [yen], decimal_places=2, include_cards=False)
    total = etree.fromstring(body).find(".//o:RoomRate//o:Total", NS)
    assert (total.get("AmountAfterTax"), total.get("DecimalPlaces")) == ("1500000", "2")
    assert b"PaymentCard" not in body
    assert bres.parse_reservations(body).reservations[0].rooms[0].nights[0].price == 15_000
    with_card = bres.build_reservations(codec.RES_NOTIF, [reservation()], include_cards=False)
    assert b"PaymentCard" not in with_card


def test_reservations_of_several_properties_keep_their_own_hotel_id():
    values = [reservation(), reservation(reservation_id="1", hotel_id="999001", card=None)]
    batch = bres.parse_reservations(bres.build_reservations(codec.RES_NOTIF, values))
    assert [r.hotel_id for r in batch.reservations] == ["367456", "999001"]


# ---------------------------------------------------------------------------------- acks


def test_acks_go_to_the_endpoint_each_message_came_from(schemas):
    new = bres.parse_reservations(sample("res_notif_rq.xml")).inbound()
    changes = bres.parse_reservations(sample("res_modify_notif_rq.xml")).inbound()
    ack = Acknowledgement(
        applied=(new[0], changes[0], changes[1]),
        rejected=((new[1], "Room 36745701 is not mapped"), (changes[2], "Unknown rate 1278606")),
    )
    documents = bres.acknowledgement_documents(ack, timestamp=datetime(2026, 1, 15, tzinfo=UTC))
    assert [endpoint for endpoint, _ in documents] == [
        codec.RES_NOTIF,
        codec.RES_NOTIF,
        codec.RES_MODIFY_NOTIF,
        codec.RES_MODIFY_NOTIF,
    ]
    parsed = []
    for endpoint, body in documents:
        schemas.assert_valid(body)
        parsed.append(bres.parse_ack(body, endpoint=endpoint))
    confirm_new, reject_new, confirm_changes, reject_change = parsed
    assert confirm_new.success and confirm_new.reservation_ids == ("312637549",)
    assert not reject_new.success and reject_new.reservation_ids == ("312637550",)
    assert reject_new.errors[0].text == "Room 36745701 is not mapped"
    assert confirm_changes.reservation_ids == ("312637549", "312637551")
    assert reject_change.reservation_ids == ("312637552",)
    assert all(p.target == "Production" for p in parsed)


def test_an_ack_confirms_or_rejects_never_both():
    with pytest.raises(ValueError, match="either confirms or rejects"):
        bres.build_ack(codec.RES_NOTIF, ["1"], rejected=[("2", "no")])
    with pytest.raises(codec.BookingCodecError, match="not a Booking.com reservation endpoint"):
        bres.build_ack(codec.AVAIL_NOTIF, ["1"])


def test_bookings_acks_and_401_read_as_acks():
    ack = bres.parse_ack(sample("booking_res_modify_notif_rs.xml"))
    assert ack.success and ack.endpoint == codec.RES_MODIFY_NOTIF
    assert ack.reservation_ids == ("312637549",)
    refused = bres.parse_ack(sample("booking_unauthorized_res_modify_notif_rs.xml"))
    assert not refused.success and refused.errors[0].code == "AUTHORIZATION_REQUIRED"
    assert refused.ruid == "UmFuZG9tSVYkc2RlIyh9YVVubmFtZWRSVUlEc2FtcGxlT25lVHdvVGhyZWU="
    with pytest.raises(OTAParseError, match="does not belong on OTA_HotelResNotif"):
        bres.parse_ack(sample("booking_res_modify_notif_rs.xml"), endpoint=codec.RES_NOTIF)
    with pytest.raises(OTAParseError, match="not a reservation acknowledgement"):
        bres.parse_ack(sample("res_notif_rq.xml"))
