"""Every OpenTravel 2011B sample of a kind Pema handles parses with our parsers.

Each test checks the parsed result against what the sample's XML says, counted
independently with plain lxml, so a parser that silently drops data fails.
"""

from __future__ import annotations

import pytest
from lxml import etree

from pema import ota
from tests.ota.conftest import samples_dir

NS = {"o": ota.OTA_NS}

PARSERS = {
    "OTA_PingRQ": ota.parse_ping_rq,
    "OTA_PingRS": ota.parse_ping_rs,
    "OTA_HotelAvailRQ": ota.parse_hotel_avail_rq,
    "OTA_HotelAvailRS": ota.parse_hotel_avail_rs,
    "OTA_HotelAvailNotifRQ": ota.parse_hotel_avail_notif_rq,
    "OTA_HotelAvailNotifRS": ota.parse_hotel_avail_notif_rs,
    "OTA_HotelRateAmountNotifRQ": ota.parse_hotel_rate_amount_notif_rq,
    "OTA_HotelRateAmountNotifRS": ota.parse_hotel_rate_amount_notif_rs,
    "OTA_HotelResNotifRQ": ota.parse_hotel_res_notif_rq,
    "OTA_HotelResNotifRS": ota.parse_hotel_res_notif_rs,
    "OTA_CancelRQ": ota.parse_cancel_rq,
    "OTA_CancelRS": ota.parse_cancel_rs,
}


def _samples() -> list:
    directory = samples_dir()
    params = []
    for path in sorted(directory.glob("*.xml")):
        name = etree.QName(etree.parse(str(path)).getroot()).localname
        if name in PARSERS:
            params.append(pytest.param(path, id=path.name))
    return params


SAMPLES = _samples()


def test_the_samples_cover_every_kind_we_handle():
    kinds = {etree.QName(etree.parse(str(p.values[0])).getroot()).localname for p in SAMPLES}
    assert kinds == set(PARSERS)


@pytest.mark.parametrize("path", SAMPLES)
def test_sample_parses(path):
    data = path.read_bytes()
    tree = etree.fromstring(data)
    name = etree.QName(tree).localname
    parsed = PARSERS[name](data)

    def count(xpath: str) -> int:
        return int(tree.xpath(f"count({xpath})", namespaces=NS))

    if name.endswith("RS"):
        assert parsed.echo_token == tree.get("EchoToken")
        assert parsed.success == (count("/o:*/o:Success") == 1)
        assert len(parsed.errors) == count("/o:*/o:Errors/o:Error")
        assert len(parsed.warnings) == count("/o:*/o:Warnings/o:Warning")
    else:
        assert parsed.echo_token == tree.get("EchoToken")
        assert parsed.version == tree.get("Version")

    if name == "OTA_PingRQ" or name == "OTA_PingRS":
        echo = tree.find("o:EchoData", NS).text
        assert (parsed.echo_data if name == "OTA_PingRQ" else parsed.data) == echo
    elif name == "OTA_HotelAvailRQ":
        assert parsed.hotel_code == tree.xpath("string(//o:HotelRef/@HotelCode)", namespaces=NS)
        assert parsed.start.isoformat() == tree.xpath(
            "string(//o:StayDateRange/@Start)", namespaces=NS
        )
        assert parsed.end.isoformat() == tree.xpath("string(//o:StayDateRange/@End)", namespaces=NS)
    elif name == "OTA_HotelAvailRS":
        stays = parsed.data.room_stays
        assert len(stays) == count("//o:RoomStays/o:RoomStay")
        codes = tree.xpath("//o:RoomStay/o:RatePlans/o:RatePlan/@RatePlanCode", namespaces=NS)
        assert [s.rate_plan_code for s in stays] == codes
        assert all(s.rates and s.rates[0].amount > 0 for s in stays)
    elif name == "OTA_HotelAvailNotifRQ":
        assert len(parsed.messages) == count("//o:AvailStatusMessage")
        assert parsed.hotel_code == tree.find("o:AvailStatusMessages", NS).get("HotelCode")
        inv = [
            sac.get("InvTypeCode") or sac.get("InvCode")
            for sac in tree.iterfind(".//o:AvailStatusMessage/o:StatusApplicationControl", NS)
        ]
        assert [m.inv_type_code for m in parsed.messages] == inv
        limits = [
            int(x) if x else None
            for x in (m.get("BookingLimit") for m in tree.iterfind(".//o:AvailStatusMessage", NS))
        ]
        assert [m.booking_limit for m in parsed.messages] == limits
        assert sum(len(m.lengths_of_stay) for m in parsed.messages) == count("//o:LengthOfStay")
    elif name == "OTA_HotelRateAmountNotifRQ":
        assert len(parsed.messages) == count("//o:RateAmountMessage")
        msg = parsed.messages[0]
        assert msg.inv_type_code == "STD" and msg.rate_plan_code == "BARA00"
        assert msg.rates[0].base_by_guest[0].amount_before_tax == 10000  # 100.00 USD
    elif name == "OTA_HotelResNotifRQ":
        res_status = tree.get("ResStatus")
        assert parsed.res_status == res_status
        start = tree.xpath("string(//o:RoomStay/o:TimeSpan/@Start)", namespaces=NS)
        assert parsed.start.isoformat() == start
        surname = tree.xpath("string((//o:Customer/o:PersonName/o:Surname)[1])", namespaces=NS)
        assert parsed.guest.surname == surname
        room_type = tree.xpath("string(//o:RoomType/@RoomTypeCode)", namespaces=NS) or None
        assert parsed.room_type_code == room_type
    elif name == "OTA_HotelResNotifRS":
        ref = tree.xpath(
            "string(//o:HotelReservationID[@ResID_Type='14']/@ResID_Value)", namespaces=NS
        )
        if parsed.success:
            assert parsed.data.pms_reference == (ref or None)
    elif name == "OTA_CancelRQ":
        ref = tree.xpath("string(/o:OTA_CancelRQ/o:UniqueID[@Type='14']/@ID)", namespaces=NS)
        assert parsed.pms_reference == ref
        assert parsed.cancel_type == tree.get("CancelType")
    elif name == "OTA_CancelRS":
        assert parsed.data.status == "Cancelled"
        assert parsed.data.pms_reference == tree.find("o:UniqueID", NS).get("ID")
