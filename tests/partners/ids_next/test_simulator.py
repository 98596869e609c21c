"""The IDS Next sandbox over real HTTP: wire contract, state, idempotency, faults."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import date

import pytest
import requests
from django.conf import settings

from pema import ota
from pema.xml import MalformedXMLError, XMLError
from tests.sandbox import RunningSandbox

D1, D2, D3, D4 = date(2030, 5, 1), date(2030, 5, 2), date(2030, 5, 3), date(2030, 5, 4)


def ping(token: str = "ping-1") -> bytes:
    return ota.build_ping_rq(ota.PingRQ(echo_data="Are you there?", echo_token=token))


def push_inventory(sandbox, room_type="EXT", limit=5, start=D1, end=D3, token="ari-1"):
    rq = ota.HotelAvailNotifRQ(
        hotel_code="PEMA001",
        echo_token=token,
        messages=(
            ota.AvailStatusMessage(
                start=start, end=end, inv_type_code=room_type, booking_limit=limit
            ),
        ),
    )
    return ota.parse_hotel_avail_notif_rs(sandbox.send(ota.build_hotel_avail_notif_rq(rq)).content)


def push_rates(sandbox, room_type="EXT", amount=450000, start=D1, end=D3):
    rq = ota.HotelRateAmountNotifRQ(
        hotel_code="PEMA001",
        echo_token="rates-1",
        messages=(
            ota.RateAmountMessage(
                start=start,
                end=end,
                inv_type_code=room_type,
                rate_plan_code="BAR",
                rates=(
                    ota.RateAmount(
                        currency="INR",
                        base_by_guest=(ota.GuestAmount(amount_after_tax=amount),),
                        additional_guests=(
                            ota.AdditionalGuestAmount(age_qualifying_code=10, amount=100000),
                        ),
                    ),
                ),
            ),
        ),
    )
    rs = ota.parse_hotel_rate_amount_notif_rs(
        sandbox.send(ota.build_hotel_rate_amount_notif_rq(rq)).content
    )
    assert rs.success, rs.errors
    return rs


def avail(sandbox, start=D1, end=D3, room_type="EXT", hotel="PEMA001", adults=2):
    rq = ota.HotelAvailRQ(
        hotel_code=hotel,
        start=start,
        end=end,
        adults=adults,
        room_type_code=room_type,
        echo_token="avail-1",
    )
    return ota.parse_hotel_avail_rs(sandbox.send(ota.build_hotel_avail_rq(rq)).content)


def commit(sandbox, confirmation="PM-1", room_type="EXT", status="Commit", **kw):
    values = {
        "res_status": status,
        "confirmation_number": confirmation,
        "hotel_code": "PEMA001",
        "room_type_code": room_type,
        "rate_plan_code": "BAR",
        "start": D1,
        "end": D3,
        "adults": 2,
        "guest": ota.GuestProfile(given_name="Asha", surname="Menon", country="IN"),
        "total": 900000,
        "currency": "INR",
        "echo_token": f"res-{confirmation}",
    }
    values.update(kw)
    rq = ota.HotelResNotifRQ(**values)
    return ota.parse_hotel_res_notif_rs(sandbox.send(ota.build_hotel_res_notif_rq(rq)).content)


def cancel(sandbox, reference):
    rq = ota.CancelRQ(pms_reference=reference, echo_token=f"cx-{reference}")
    return ota.parse_cancel_rs(sandbox.send(ota.build_cancel_rq(rq)).content)


# --------------------------------------------------------------------- basics


def test_ping_echoes_data_and_token(sandbox):
    response = sandbox.send(ping("tok-42"))
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/xml")
    rs = ota.parse_ping_rs(response.content)
    assert rs.success and rs.data == "Are you there?" and rs.echo_token == "tok-42"
    state = sandbox.state()
    assert state["message_counts"] == {"OTA_PingRQ": 1}
    assert [t["echo_token"] for t in state["echo_tokens"]] == ["tok-42"]


@pytest.mark.parametrize(("key", "secret"), [("wrong", None), (None, "wrong"), ("", "")])
def test_bad_credentials_give_ewt_4(sandbox, key, secret):
    rs = ota.parse_ping_rs(sandbox.send(ping(), api_key=key, api_secret=secret).content)
    assert not rs.success
    assert rs.has_error(type=ota.EWT_AUTHENTICATION)
    assert rs.echo_token == "ping-1"


def test_unknown_message_is_404(sandbox):
    assert requests.post(f"{sandbox.base_url}/OTA_Nope", data=b"<x/>", timeout=5).status_code == 404


def test_hostile_xml_is_answered_with_an_error(sandbox):
    evil = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b'<OTA_PingRQ xmlns="http://www.opentravel.org/OTA/2003/05" Version="1"><EchoData>&e;'
        b"</EchoData></OTA_PingRQ>"
    )
    response = requests.post(f"{sandbox.base_url}/OTA_PingRQ", data=evil, timeout=5)
    rs = ota.parse_ping_rs(response.content)
    assert rs.has_error(type=ota.EWT_PROCESSING_EXCEPTION)
    assert b"root:" not in response.content


def test_control_page_is_served(sandbox):
    response = requests.get(f"{sandbox.base_url}/_control/", timeout=5)
    assert response.status_code == 200 and "IDS Next sandbox" in response.text


# ------------------------------------------------------------------------ ARI


def test_avail_notif_is_stored_and_reflected_in_avail_rs(sandbox):
    assert push_inventory(sandbox, limit=5).success
    push_rates(sandbox)
    state = sandbox.state()
    assert state["inventory"]["EXT"] == {"2030-05-01": 5, "2030-05-02": 5, "2030-05-03": 5}
    assert state["rates"]["BAR/EXT"]["2030-05-01"]["amount"] == 450000

    rs = avail(sandbox, D1, D3)
    assert rs.success and rs.echo_token == "avail-1"
    (stay,) = rs.data.room_stays
    assert (stay.room_type_code, stay.units_available, stay.rate_plan_code) == ("EXT", 5, "BAR")
    assert [r.amount for r in stay.rates] == [450000, 450000]
    assert stay.total == 900000 and stay.currency == "INR"
    # Three adults: one extra adult per night.
    assert avail(sandbox, D1, D3, adults=3).data.room_stays[0].total == 1100000


def test_nights_it_was_never_told_about_count_as_zero(sandbox):
    push_inventory(sandbox, limit=5, start=D1, end=D2)
    assert avail(sandbox, D1, D4).data.units_for("EXT") == 0
    assert avail(sandbox, D1, D3, room_type="SUI").data.units_for("SUI") == 0


def test_restrictions_are_stored(sandbox):
    rq = ota.HotelAvailNotifRQ(
        hotel_code="PEMA001",
        echo_token="r-1",
        messages=(
            ota.AvailStatusMessage(
                start=D1,
                end=D1,
                inv_type_code="EXT",
                restriction=ota.RestrictionStatus(restriction="Arrival", status="Close"),
            ),
            ota.AvailStatusMessage(
                start=D1,
                end=D1,
                inv_type_code="EXT",
                arrival_date_based=False,
                lengths_of_stay=(ota.LengthOfStay(min_max_message_type="SetMinLOS", time=3),),
            ),
            ota.AvailStatusMessage(
                start=D2,
                end=D2,
                inv_type_code="EXT",
                booking_limit=4,
                restriction=ota.RestrictionStatus(restriction="Master", status="Close"),
            ),
        ),
    )
    assert ota.parse_hotel_avail_notif_rs(
        sandbox.send(ota.build_hotel_avail_notif_rq(rq)).content
    ).success
    restrictions = sandbox.state()["restrictions"]["EXT/*"]
    assert restrictions["2030-05-01"] == {"closed_to_arrival": 1, "min_stay_through": 3}
    assert restrictions["2030-05-02"] == {"stop_sell": 1}
    assert avail(sandbox, D2, D3).data.units_for("EXT") == 0  # stop sell


def test_a_maximum_stay_is_set_and_lifted(sandbox):
    def send_los(kind: str, time: int | None) -> None:
        message = ota.AvailStatusMessage(
            start=D1,
            end=D1,
            inv_type_code="EXT",
            arrival_date_based=True,
            lengths_of_stay=(ota.LengthOfStay(min_max_message_type=kind, time=time),),
        )
        rq = ota.HotelAvailNotifRQ(hotel_code="PEMA001", echo_token="los", messages=(message,))
        body = sandbox.send(ota.build_hotel_avail_notif_rq(rq)).content
        assert ota.parse_hotel_avail_notif_rs(body).success

    send_los(ota.SET_MAX_LOS, 5)
    assert sandbox.state()["restrictions"]["EXT/*"]["2030-05-01"].get("max_stay") == 5
    send_los(ota.REMOVE_MAX_LOS, None)
    assert sandbox.state()["restrictions"]["EXT/*"].get("2030-05-01", {}).get("max_stay") is None


def test_unknown_room_type_gives_402_and_stores_nothing(sandbox):
    rq = ota.HotelAvailNotifRQ(
        hotel_code="PEMA001",
        messages=(
            ota.AvailStatusMessage(start=D1, end=D1, inv_type_code="EXT", booking_limit=3),
            ota.AvailStatusMessage(start=D1, end=D1, inv_type_code="XXX", booking_limit=3),
        ),
    )
    rs = ota.parse_hotel_avail_notif_rs(sandbox.send(ota.build_hotel_avail_notif_rq(rq)).content)
    assert rs.has_error(type=ota.EWT_BUSINESS_RULE, code=ota.ERR_INVALID_ROOM_TYPE)
    assert sandbox.state()["inventory"] == {}
    assert commit(sandbox, room_type="XXX").has_error(code=ota.ERR_INVALID_ROOM_TYPE)
    assert avail(sandbox, room_type="XXX").has_error(code=ota.ERR_INVALID_ROOM_TYPE)


def test_unknown_hotel_gives_392(sandbox):
    assert avail(sandbox, hotel="NOPE").has_error(code=ota.ERR_INVALID_HOTEL_CODE)
    assert commit(sandbox, hotel_code="NOPE").has_error(code=ota.ERR_INVALID_HOTEL_CODE)


# ---------------------------------------------------------------- reservations


def test_commit_gets_a_reference_and_a_repeat_returns_the_same_one(sandbox):
    push_inventory(sandbox, limit=5)
    first = commit(sandbox, "PM-100")
    assert first.success and first.echo_token == "res-PM-100"
    reference = first.data.pms_reference
    assert reference.startswith("IDS-")
    again = commit(sandbox, "PM-100")
    assert again.success and again.data.pms_reference == reference
    reservations = sandbox.state()["reservations"]
    assert len(reservations) == 1
    assert reservations[0]["confirmation_number"] == "PM-100"
    assert reservations[0]["guest"]["surname"] == "Menon"
    assert avail(sandbox).data.units_for("EXT") == 4


def test_modify_updates_the_reservation(sandbox):
    reference = commit(sandbox, "PM-7").data.pms_reference
    rs = commit(sandbox, "PM-7", status="Modify", end=D4, pms_reference=reference)
    assert rs.success and rs.data.pms_reference == reference
    assert rs.data.res_response_type == "Modified"
    (res,) = sandbox.state()["reservations"]
    assert res["departure"] == "2030-05-04" and res["revision"] == 2
    assert commit(sandbox, "PM-unknown", status="Modify").has_error(
        code=ota.ERR_BOOKING_REFERENCE_NOT_FOUND
    )


def test_cancel_releases_the_room(sandbox):
    push_inventory(sandbox, limit=1)
    reference = commit(sandbox, "PM-9").data.pms_reference
    assert avail(sandbox).data.units_for("EXT") == 0

    rs = cancel(sandbox, reference)
    assert rs.success and rs.data.status == "Cancelled"
    assert rs.data.pms_reference == reference and rs.data.cancellation_number
    assert avail(sandbox).data.units_for("EXT") == 1
    assert sandbox.state()["reservations"][0]["status"] == "Cancelled"

    # Cancelling again succeeds with the same number and a warning (ERR 95).
    again = cancel(sandbox, reference)
    assert again.success
    assert again.data.cancellation_number == rs.data.cancellation_number
    assert [w.code for w in again.warnings] == [ota.ERR_BOOKING_ALREADY_CANCELLED]
    # Modifying a cancelled reservation is refused.
    assert commit(sandbox, "PM-9", status="Modify").has_error(
        code=ota.ERR_BOOKING_ALREADY_CANCELLED
    )


def stay(room_type, units=1, adults=2, children=0):
    """``units`` rooms of ``room_type`` on BAR for the nights of D1 and D2."""
    return ota.ResNotifRoomStay(
        room_type_code=room_type, rate_plan_code="BAR", start=D1, end=D3, adults=adults,
        children=children, units=units,
        rates=tuple(ota.NightRate(night=night, amount=450000) for night in (D1, D2)),
        total=900000 * units,
    )  # fmt: skip


def commit_rooms(sandbox, confirmation, stays, status="Commit", **kw):
    rq = ota.HotelResNotifRQ(
        res_status=status,
        confirmation_number=confirmation,
        hotel_code="PEMA001",
        room_stays=tuple(stays),
        guest=ota.GuestProfile(given_name="Asha", surname="Menon"),
        currency="INR",
        echo_token=f"res-{confirmation}",
        **kw,
    )
    return ota.parse_hotel_res_notif_rs(sandbox.send(ota.build_hotel_res_notif_rq(rq)).content)


def test_a_mixed_reservation_holds_rooms_of_each_of_its_types(sandbox):
    push_inventory(sandbox, "EXT", limit=5)
    push_inventory(sandbox, "SUI", limit=2)
    push_inventory(sandbox, "EXQ", limit=3)
    rs = commit_rooms(sandbox, "PM-mix", [stay("EXT", units=2), stay("SUI", adults=1, children=1)])
    assert rs.success, rs.errors
    assert avail(sandbox, room_type="EXT").data.units_for("EXT") == 3
    assert avail(sandbox, room_type="SUI").data.units_for("SUI") == 1
    assert avail(sandbox, room_type="EXQ").data.units_for("EXQ") == 3

    (res,) = sandbox.state()["reservations"]
    # The old keys still say the first room type and the rooms counted.
    assert (res["room_type"], res["room_count"], res["total"]) == ("EXT", 3, 2700000)
    assert [(r["room_type"], r["units"], r["adults"], r["children"]) for r in res["rooms"]] == [
        ("EXT", 2, 2, 0),
        ("SUI", 1, 1, 1),
    ]
    assert res["rooms"][0]["rates"][0] == {"night": "2030-05-01", "amount": 450000}

    # A modify that swaps the suite for an EXQ moves the room between types.
    reference = rs.data.pms_reference
    assert commit_rooms(
        sandbox, "PM-mix", [stay("EXT", units=2), stay("EXQ")], "Modify", pms_reference=reference
    ).success
    assert avail(sandbox, room_type="SUI").data.units_for("SUI") == 2
    assert avail(sandbox, room_type="EXQ").data.units_for("EXQ") == 2
    assert [r["room_type"] for r in sandbox.state()["reservations"][0]["rooms"]] == ["EXT", "EXQ"]

    assert cancel(sandbox, reference).success
    assert avail(sandbox, room_type="EXT").data.units_for("EXT") == 5
    assert avail(sandbox, room_type="EXQ").data.units_for("EXQ") == 3


def test_a_single_room_reservation_lists_its_one_room(sandbox):
    commit(sandbox, "PM-one")
    (res,) = sandbox.state()["reservations"]
    assert [(r["room_type"], r["units"], r["rate_plan"]) for r in res["rooms"]] == [
        ("EXT", 1, "BAR")
    ]


def test_an_unknown_room_type_in_any_stay_refuses_the_whole_reservation(sandbox):
    rs = commit_rooms(sandbox, "PM-bad", [stay("EXT"), stay("XXX")])
    assert rs.has_error(code=ota.ERR_INVALID_ROOM_TYPE)
    assert sandbox.state()["reservations"] == []


def test_a_state_file_from_before_room_rows_is_upgraded_when_opened(tmp_path):
    import sqlite3

    from partners.ids_next.simulator_state import SandboxState

    old = sqlite3.connect(tmp_path / "ids_next.sqlite3")
    old.executescript(
        """
        CREATE TABLE inventory (room_type TEXT NOT NULL, day TEXT NOT NULL,
            booking_limit INTEGER NOT NULL, PRIMARY KEY (room_type, day));
        CREATE TABLE reservations (
            id INTEGER PRIMARY KEY AUTOINCREMENT, reference TEXT UNIQUE,
            confirmation_number TEXT NOT NULL UNIQUE, hotel_code TEXT, room_type TEXT NOT NULL,
            rate_plan TEXT, arrival TEXT NOT NULL, departure TEXT NOT NULL,
            rooms INTEGER NOT NULL DEFAULT 1, adults INTEGER NOT NULL DEFAULT 1,
            children INTEGER NOT NULL DEFAULT 0, guest TEXT NOT NULL DEFAULT '{}',
            special_requests TEXT NOT NULL DEFAULT '[]', total INTEGER, currency TEXT,
            status TEXT NOT NULL, revision INTEGER NOT NULL DEFAULT 1, cancellation_number TEXT,
            created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
        INSERT INTO inventory VALUES ('EXT', '2030-05-01', 5), ('EXT', '2030-05-02', 5);
        INSERT INTO reservations (reference, confirmation_number, room_type, rate_plan, arrival,
            departure, rooms, adults, total, status, created_at, updated_at)
        VALUES ('IDS-000001', 'PM-old', 'EXT', 'BAR', '2030-05-01', '2030-05-03', 2, 2, 900000,
            'Confirmed', '2030-01-01T00:00:00+00:00', '2030-01-01T00:00:00+00:00');
        """
    )
    old.commit()
    old.close()
    for _ in range(2):  # opening twice adds nothing twice
        state = SandboxState(tmp_path)
        assert state.availability("EXT", D1, D3) == 3
        (res,) = state.snapshot()["reservations"]
        assert [(r["room_type"], r["units"], r["total"]) for r in res["rooms"]] == [
            ("EXT", 2, 900000)
        ]
        state.close()


def test_cancel_of_unknown_reference_gives_97(sandbox):
    rs = cancel(sandbox, "IDS-999999")
    assert not rs.success and rs.has_error(code=ota.ERR_BOOKING_REFERENCE_NOT_FOUND)


def test_state_survives_a_restart(sandbox):
    push_inventory(sandbox, limit=5)
    reference = commit(sandbox, "PM-restart").data.pms_reference
    sandbox.stop()
    with pytest.raises(requests.ConnectionError):
        sandbox.send(ping(), timeout=2)
    sandbox.start()
    state = sandbox.state()
    assert state["inventory"]["EXT"]["2030-05-01"] == 5
    assert [r["reference"] for r in state["reservations"]] == [reference]
    assert commit(sandbox, "PM-restart").data.pms_reference == reference
    assert avail(sandbox).data.units_for("EXT") == 4


# ---------------------------------------------------------------------- faults


def test_down_looks_unreachable_but_control_keeps_working(sandbox):
    sandbox.set_faults(down=True)
    with pytest.raises(requests.ConnectionError):
        sandbox.send(ping(), timeout=5)
    assert sandbox.state()["message_counts"] == {}
    assert sandbox.set_faults(down=False)["down"] is False
    assert ota.parse_ping_rs(sandbox.send(ping()).content).success


def test_slow_delays_the_answer(sandbox):
    sandbox.set_faults(slow_ms=600)
    started = time.monotonic()
    assert ota.parse_ping_rs(sandbox.send(ping()).content).success
    assert time.monotonic() - started >= 0.6
    with pytest.raises(requests.Timeout):
        sandbox.send(ping(), timeout=0.2)


def test_fail_percent_answers_500_for_that_share(sandbox):
    sandbox.set_faults(fail_percent=100)
    assert sandbox.send(ping()).status_code == 500
    sandbox.set_faults(fail_percent=50)
    codes = [sandbox.send(ping()).status_code for _ in range(10)]
    assert codes.count(500) == 5 and codes.count(200) == 5
    sandbox.set_faults(fail_percent=0)
    assert sandbox.send(ping()).status_code == 200


@pytest.mark.parametrize(
    ("fault", "applied"),
    [("malformed", {}), ("truncate", {ota.PING_RQ: 1})],  # truncate: applied, answer cut
)
def test_garbage_faults_answer_a_200_that_does_not_parse(sandbox, fault, applied):
    sandbox.set_faults(**{fault: True})
    response = sandbox.send(ping())
    assert response.status_code == 200
    with pytest.raises(MalformedXMLError):
        ota.parse_ping_rs(response.content)
    assert issubclass(MalformedXMLError, XMLError)
    assert sandbox.state()["message_counts"] == applied
    sandbox.set_faults(**{fault: False})
    assert ota.parse_ping_rs(sandbox.send(ping()).content).success


def test_forced_error(sandbox):
    sandbox.set_faults(error={"type": 3, "code": 322, "text": "No availability"})
    assert commit(sandbox, "PM-x").has_error(type=3, code=ota.ERR_NO_AVAILABILITY)
    sandbox.set_faults(error=None)
    assert commit(sandbox, "PM-x").success


def test_reset_wipes_state_and_faults(sandbox):
    push_inventory(sandbox)
    sandbox.set_faults(slow_ms=10)
    sandbox.reset()
    state = sandbox.state()
    assert state["inventory"] == {} and state["message_counts"] == {}
    assert requests.get(f"{sandbox.base_url}/_control/faults", timeout=5).json()["slow_ms"] == 0


def test_helper_runs_with_custom_credentials_and_room_types():
    with RunningSandbox(api_key="k", api_secret="s", room_types=("AAA",)) as custom:
        assert ota.parse_ping_rs(custom.send(ping()).content).success
        rs = commit(custom, "PM-1", room_type="EXT")
        assert rs.has_error(code=ota.ERR_INVALID_ROOM_TYPE)
    assert not custom.running


def test_sandbox_code_never_loads_pemas_database_layer():
    # It is the partner's system: its own SQLite file, never Pema's ORM or models.
    code = (
        "import sys, partners.ids_next.simulator, partners.ids_next.simulator_state\n"
        "bad = [m for m in sys.modules if m.startswith(('django.db', 'bookings', 'channels'))]\n"
        "assert not bad, bad\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=settings.BASE_DIR, env=env, capture_output=True
    )
    assert result.returncode == 0, result.stderr.decode()


# ------------------------------------------------------------ request framing


def raw_request(sandbox, head: str, body: bytes = b"", *, wait: float = 5.0) -> bytes:
    """Send ``head`` and ``body`` on a socket we never close for writing; read until the
    sandbox hangs up (or ``wait`` seconds pass)."""
    with socket.create_connection(("127.0.0.1", sandbox.port), timeout=wait) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except TimeoutError:
            pass
        return received


@pytest.mark.parametrize(
    ("length", "status"),
    [("-1", 400), ("abc", 400), ("1e3", 400), ("+12", 400), ("12x", 400)],
)
def test_a_bad_content_length_is_answered_at_once(sandbox, length, status):
    # The client keeps its side open: reading "to the end" would wait for ever.
    head = f"POST /OTA_PingRQ HTTP/1.1\nHost: sandbox\nContent-Length: {length}\n"
    answer = raw_request(sandbox, head, b"<OTA_PingRQ/>")
    assert answer.startswith(f"HTTP/1.1 {status} ".encode()), answer[:200]
    # The sandbox still serves everyone else.
    assert ota.parse_ping_rs(sandbox.send(ping()).content).success


def test_an_oversized_message_is_refused_without_being_read(sandbox):
    head = f"POST /OTA_PingRQ HTTP/1.1\nHost: sandbox\nContent-Length: {3 * 1024 * 1024}\n"
    answer = raw_request(sandbox, head)
    assert answer.startswith(b"HTTP/1.1 200 ") and b"Message too large" in answer
    assert sandbox.state()["message_counts"] == {}


def test_conflicting_or_chunked_framing_is_refused(sandbox):
    two = "POST /OTA_PingRQ HTTP/1.1\nHost: s\nContent-Length: 5\nContent-Length: 7\n"
    assert raw_request(sandbox, two, b"12345").startswith(b"HTTP/1.1 400 ")
    chunked = "POST /OTA_PingRQ HTTP/1.1\nHost: s\nTransfer-Encoding: chunked\n"
    assert raw_request(sandbox, chunked, b"5\r\nhello\r\n0\r\n\r\n").startswith(b"HTTP/1.1 411 ")
    big = "POST /_control/faults HTTP/1.1\nHost: s\nContent-Length: 70000\n"
    assert raw_request(sandbox, big).startswith(b"HTTP/1.1 413 ")
    assert requests.get(f"{sandbox.base_url}/_control/faults", timeout=5).json()["down"] is False
