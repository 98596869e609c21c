"""Canned IDS Next answers built with the codec, for ``responses``-based tests."""

from pema import ota
from pema.ota import OTAError, OTAResponse


def ok(name: str, data=None, warnings=()) -> bytes:
    rs = OTAResponse(success=True, data=data, warnings=tuple(warnings))
    builders = {
        ota.AVAIL_NOTIF_RQ: ota.build_hotel_avail_notif_rs,
        ota.RATE_AMOUNT_NOTIF_RQ: ota.build_hotel_rate_amount_notif_rs,
        ota.RES_NOTIF_RQ: ota.build_hotel_res_notif_rs,
        ota.CANCEL_RQ: ota.build_cancel_rs,
        ota.HOTEL_AVAIL_RQ: ota.build_hotel_avail_rs,
        ota.PING_RQ: ota.build_ping_rs,
    }
    return builders[name](rs)


def error(name: str, ewt: int, code: int | None = None, text: str = "nope") -> bytes:
    rs = OTAResponse(success=False, errors=(OTAError(type=ewt, code=code, text=text),))
    builders = {
        ota.AVAIL_NOTIF_RQ: ota.build_hotel_avail_notif_rs,
        ota.RATE_AMOUNT_NOTIF_RQ: ota.build_hotel_rate_amount_notif_rs,
        ota.RES_NOTIF_RQ: ota.build_hotel_res_notif_rs,
        ota.CANCEL_RQ: ota.build_cancel_rs,
        ota.HOTEL_AVAIL_RQ: ota.build_hotel_avail_rs,
        ota.PING_RQ: ota.build_ping_rs,
    }
    return builders[name](rs)


def res_ok(reference: str) -> bytes:
    return ok(ota.RES_NOTIF_RQ, ota.ResNotifResult(pms_reference=reference))


def avail_ok(room_type: str, units: int) -> bytes:
    return ok(
        ota.HOTEL_AVAIL_RQ,
        ota.HotelAvailResult(
            room_stays=(ota.AvailRoomStay(room_type_code=room_type, units_available=units),)
        ),
    )


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<OTA_HotelAvailNotifRS xmlns="http://www.opentravel.org/OTA/2003/05"><Success/>&lol3;</OTA_HotelAvailNotifRS>"""
