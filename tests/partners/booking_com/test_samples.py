"""The recorded samples: Pema's codec and the simulator's side read and write them alike.

For every sample in ``partners/booking_com/samples`` the reading side gives
values, the writing side turns those values back into a document, and reading
that gives the same values. Pema's own ARI samples are rebuilt byte for byte.
Every OpenTravel 2011B sample of a kind Booking sends Pema parses too.
"""

from __future__ import annotations

import re

import pytest
from lxml import etree

from partners.booking_com import codec
from partners.booking_com import reservations as bres
from pema import ota
from pema.ota import hotel_reservation as hres
from tests.ota.conftest import samples_dir

from . import golden
from .conftest import SAMPLES

NS = {"o": ota.OTA_NS}
#: Booking's own 401 body leaves out the Type the schema requires; it is kept as Booking writes it.
NOT_2011B = {"booking_unauthorized_res_modify_notif_rs.xml"}
ALL = sorted(p.name for p in SAMPLES.glob("*.xml"))


def root_name(data: bytes) -> str:
    return etree.QName(etree.fromstring(data)).localname


def rebuild(data: bytes) -> tuple[object, object]:
    """(values read from ``data``, values read from the document built from them)."""
    name = root_name(data)
    if name == codec.AVAIL_NOTIF_RQ:
        first = codec.parse_avail_notif(data)
        return first, codec.parse_avail_notif(codec.build_avail_notif(first))
    if name == codec.RATE_AMOUNT_NOTIF_RQ:
        first = codec.parse_rate_amount_notif(data)
        return first, codec.parse_rate_amount_notif(codec.build_rate_amount_notif(first))
    if name in (codec.AVAIL_NOTIF_RS, codec.RATE_AMOUNT_NOTIF_RS):
        rs = codec.parse_ari_response(data)
        body = codec.build_ari_response(
            rs.name,
            errors=rs.errors,
            warnings=rs.warnings,
            ruid=rs.ruid,
            target=rs.target,
            echo_token=rs.echo_token,
            timestamp=rs.timestamp,
        )
        return rs, codec.parse_ari_response(body)
    if name in (hres.RES_NOTIF_RQ, hres.RES_MODIFY_NOTIF_RQ):
        batch = bres.parse_reservations(data)
        assert batch.failures == ()
        body = bres.build_reservations(
            batch.endpoint,
            batch.reservations,
            target=batch.target,
            timestamp=batch.timestamp,
            ruid=batch.ruid,
        )
        return batch, bres.parse_reservations(body)
    ack = bres.parse_ack(data)
    if ack.success:
        body = bres.build_ack(
            ack.endpoint,
            ack.reservation_ids,
            target=ack.target,
            timestamp=ack.timestamp,
            ruid=ack.ruid or None,
        )
    elif all(e.record_id for e in ack.errors):
        body = bres.build_ack(
            ack.endpoint,
            (),
            rejected=[(e.record_id, e.text) for e in ack.errors],
            target=ack.target,
            timestamp=ack.timestamp,
        )
    else:  # Booking's refusal of an ack: what it says, not how (Type is added)
        body = bres.build_ack_error(ack.endpoint, ack.errors, target=ack.target, ruid=ack.ruid)
        again = bres.parse_ack(body)
        said = [(e.code, e.text, e.record_id) for e in ack.errors]
        return said, [(e.code, e.text, e.record_id) for e in again.errors]
    return ack, bres.parse_ack(body)


def test_every_sample_is_listed_with_its_origin():
    readme = (SAMPLES / "README.md").read_text()
    listed = set(re.findall(r"`([\w.]+\.xml)`", readme))
    assert listed == set(ALL)


@pytest.mark.parametrize("name", ALL)
def test_reading_writing_and_reading_again_gives_the_same_values(name):
    first, again = rebuild((SAMPLES / name).read_bytes())
    assert again == first


@pytest.mark.parametrize("name", sorted(set(ALL) - NOT_2011B))
def test_the_samples_are_valid_2011b(name, schemas):
    schemas.assert_valid((SAMPLES / name).read_bytes())


def test_pemas_own_ari_samples_are_exactly_what_the_codec_writes():
    names = {
        codec.AVAIL_NOTIF: "pema_avail_notif_rq.xml",
        codec.RATE_AMOUNT_NOTIF: "pema_rate_amount_notif_rq.xml",
    }
    documents = golden.documents()
    assert [d.endpoint for d in documents] == list(names)
    for doc in documents:
        assert doc.body + b"\n" == (SAMPLES / names[doc.endpoint]).read_bytes()


def test_bookings_own_availability_example_reads_as_its_text_says():
    notif = codec.parse_avail_notif((SAMPLES / "booking_avail_notif_rq.xml").read_bytes())
    assert notif.hotel_id is None and notif.target == "Test"
    rooms, rate = notif.messages
    assert (rooms.room_id, rooms.rate_id, rooms.booking_limit) == ("36745603", None, 25)
    assert (rooms.span.start.isoformat(), rooms.span.end.isoformat()) == (
        "2023-11-05",
        "2023-11-17",
    )
    assert (rate.rate_id, rate.min_los, rate.max_los, rate.status) == ("1278606", 2, 5, "Open")


def _ota_samples() -> list:
    directory = samples_dir()
    if not directory.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason="OpenTravel samples not found"))]
    return [
        pytest.param(path, id=path.name)
        for path in sorted(directory.glob("*.xml"))
        if root_name(path.read_bytes()) in (hres.RES_NOTIF_RQ, hres.RES_MODIFY_NOTIF_RQ)
    ]


@pytest.mark.parametrize("path", _ota_samples())
def test_every_opentravel_sample_of_a_kind_booking_sends_parses(path):
    data = path.read_bytes()
    tree = etree.fromstring(data)
    reservations = tree.xpath("//o:HotelReservation | //o:HotelResModify", namespaces=NS)
    generic = hres.parse_hotel_reservations(data)
    assert len(generic.reservations) == len(reservations)
    for el, parsed in zip(reservations, generic.reservations, strict=True):
        assert len(parsed.room_stays) == len(el.findall("o:RoomStays/o:RoomStay", NS))
        surnames = el.xpath(".//o:Customer/o:PersonName/o:Surname/text()", namespaces=NS)
        assert [g.profile.surname for g in parsed.res_guests if g.profile] == surnames
    batch = bres.parse_reservations(data)
    # Each reservation is read, or reported with its reason: never lost.
    assert len(batch.reservations) + len(batch.failures) == len(reservations)
    for res in batch.reservations:
        ids = tree.xpath("//o:HotelReservationID/@ResID_Value", namespaces=NS)
        assert res.reservation_id == ids[0]
        assert sum(len(r.nights) for r in res.rooms) >= 1
        assert all(n.price > 0 for r in res.rooms for n in r.nights)
    for failure in batch.failures:
        assert failure.reason and failure.raw
