"""The Agoda simulator over HTTP, against the same samples as the codec: §3.5's checks,
Agoda's 200/400/207 answers, both auth modes and the cut-off, bookings, and hints."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from channels.interface import AvailabilityItem, DateSpan, RateItem, RestrictionItem
from partners.agoda import codec
from partners.agoda.simulator import AgodaSimulator
from tests.sandbox import HarnessThread

from .conftest import PROPERTY, sample

KEY = "sim-key"
ROOM, OTHER_ROOM, RATE, CHILD = "5478687", "6577825", "25077", "25078"
API = f"/agoda/api?apiKey={KEY}"


@pytest.fixture
def agoda(tmp_path):
    with HarnessThread({"agoda": AgodaSimulator}, tmp_path / "state") as running:
        running.control(
            "agoda",
            "configure",
            {
                "property_id": PROPERTY,
                "currency": "THB",
                "api_key": KEY,
                "client_id": "cid",
                "client_secret": "csecret",
                "rooms": {
                    ROOM: {"num_persons": 2, "min_rate": 500, "max_rate": 100000},
                    OTHER_ROOM: {"num_persons": 2, "min_rate": 500, "max_rate": 100000},
                },
                "products": [[OTHER_ROOM, RATE], [OTHER_ROOM, CHILD], [ROOM, RATE]],
                "child_rateplans": [CHILD],
            },
        )
        yield running


def post(agoda, body: bytes, path: str = API, **headers):
    return agoda.post(path, body, headers={"Content-Type": "text/xml", **headers})


def span(offset: int, days: int = 1, weekdays=None) -> DateSpan:
    start = codec.agoda_today() + timedelta(days=offset)
    return DateSpan(start, start + timedelta(days=days - 1), weekdays)


def built(*items, currency: str = "THB") -> bytes:
    (document,) = codec.build_set_ari(
        items, property_id=PROPERTY, currency=currency, horizon_days=800
    )
    return document.body


def test_agoda_s_own_example_is_taken_and_held(agoda):
    answer = post(agoda, sample("agoda_set_ari_v2_rq.xml"))
    assert answer.status_code == 200, answer.text
    result = codec.parse_result(answer.content)
    assert result.tuid and not result.errors
    held = agoda.control(
        "agoda", "ari", {"room_id": ROOM, "start": "2018-06-01", "end": "2018-06-02"}
    )
    assert held["2018-06-01"] == {"allotment": 9, "closed": False, "cta": False, "ctd": False}
    rate = agoda.control(
        "agoda", "ari", {"room_id": OTHER_ROOM, "rate_id": RATE, "start": "2019-06-30"}
    )["2019-06-30"]
    assert rate["price"] == "2000.0" and (rate["los_min"], rate["los_max"]) == (1, 30)
    assert rate["staythrough_min"] == 1
    # The example's timestamp is in seconds: accepted, and counted.
    assert agoda.state("agoda")["warnings"] == {"timestamp_in_seconds": 1}


def test_the_multi_occupancy_example_needs_every_occupancy_of_the_room(agoda):
    assert post(agoda, sample("agoda_set_ari_v2_rq_occupancy.xml")).status_code == 200
    agoda.control(
        "agoda",
        "configure",
        {"rooms": {OTHER_ROOM: {"num_persons": 3, "min_rate": 500, "max_rate": 100000}}},
    )
    answer = post(agoda, sample("agoda_set_ari_v2_rq_occupancy.xml"))
    assert answer.status_code == 400
    assert [e.code for e in codec.parse_result(answer.content).errors] == ["2101"]


def test_what_pema_builds_is_taken_dow_as_agoda_counts(agoda):
    body = built(
        AvailabilityItem(span(1, 14, (5, 6)), "EXT", ROOM, rooms_to_sell=4),
        RestrictionItem(span(1, 3), "EXT", "BAR", ROOM, RATE, min_stay_arrival=2, max_stay=9),
        RateItem(span(1, 3), "EXT", "BAR", ROOM, RATE, price=150050, currency="THB"),
    )
    assert post(agoda, body).status_code == 200
    first = span(1).start
    held = agoda.control(
        "agoda", "ari", {"room_id": ROOM, "start": first.isoformat(),
                         "end": (first + timedelta(days=13)).isoformat()},
    )  # fmt: skip
    weekend = {d for d, v in held.items() if v}
    assert {codec.date.fromisoformat(d).isoweekday() for d in weekend} == {6, 7}
    rate = agoda.control(
        "agoda", "ari", {"room_id": ROOM, "rate_id": RATE, "start": first.isoformat()}
    )
    assert rate[first.isoformat()]["price"] == "1500.50"
    assert rate[first.isoformat()]["los_min"] == 2 and rate[first.isoformat()]["los_max"] == 9


@pytest.mark.parametrize(
    ("item", "code"),
    [
        (RestrictionItem(span(1), "EXT", "BAR", OTHER_ROOM, RATE, min_stay_arrival=5,
                         max_stay=2), "22210"),
        (RateItem(span(1), "EXT", "BAR", OTHER_ROOM, RATE, price=100, currency="THB"), "2201"),
        (RateItem(span(1), "EXT", "BAR", OTHER_ROOM, CHILD, price=100000, currency="THB"), "2207"),
        (AvailabilityItem(span(1), "EXT", "999", rooms_to_sell=1), "2205"),
        (RestrictionItem(span(1), "EXT", "BAR", ROOM, CHILD), "2206"),
    ],
)  # fmt: skip
def test_each_check_answers_agoda_s_code(agoda, item, code):
    answer = post(agoda, built(item))
    assert answer.status_code == 400
    assert [e.code for e in codec.parse_result(answer.content).errors] == [code]


def test_past_730_days_is_2219(agoda):
    body = built(AvailabilityItem(span(1), "EXT", ROOM, rooms_to_sell=1))
    far = (codec.agoda_today() + timedelta(days=731)).isoformat()
    body = body.replace(f'to="{span(1).end.isoformat()}"'.encode(), f'to="{far}"'.encode())
    answer = post(agoda, body)
    assert answer.status_code == 400
    assert [e.code for e in codec.parse_result(answer.content).errors] == ["2219"]


def test_currency_decimals_and_date_forms_are_checked(agoda):
    eur = built(
        RateItem(span(1), "EXT", "BAR", OTHER_ROOM, RATE, price=90000, currency="EUR"),
        currency="EUR",
    )
    assert codec.parse_result(post(agoda, eur).content).errors[0].code == "2202"
    three = built(RateItem(span(1), "EXT", "BAR", OTHER_ROOM, RATE, price=90000, currency="THB"))
    three = three.replace(b'default="900.00"', b'default="900.001"')
    assert codec.parse_result(post(agoda, three).content).errors[0].code == "2203"
    both = sample("agoda_set_ari_v2_rq_occupancy.xml").replace(
        b"<date_values>", b'<date_range from="2019-06-01" to="2019-06-02"/><date_values>'
    )
    answer = codec.parse_result(post(agoda, both).content)
    assert answer.errors[0].code == "2001" and "exactly one" in answer.errors[0].description
    bad_dow = sample("agoda_set_ari_v2_rq.xml").replace(b"<dow>7</dow>", b"<dow>8</dow>")
    assert post(agoda, bad_dow).status_code == 207, "one update of two fails"


def test_some_updates_failing_is_a_207_partial_success_naming_them(agoda):
    good = AvailabilityItem(span(1), "EXT", ROOM, rooms_to_sell=3)
    bad = RestrictionItem(span(2), "EXT", "BAR", OTHER_ROOM, RATE, min_stay_arrival=5, max_stay=2)
    (document,) = codec.build_set_ari([good, bad], property_id=PROPERTY, currency="THB")
    answer = post(agoda, document.body)
    assert answer.status_code == 207
    result = codec.parse_result(answer.content)
    assert result.partial and [e.code for e in result.errors] == ["22210"]
    assert codec.failed_items(document, result.errors) == [bad]
    agoda.control("agoda", "configure", {"partial_success": False})
    plain = codec.parse_result(post(agoda, document.body).content)
    assert not plain.partial and not plain.errors[0].attributed


def test_forced_failures_may_pass_later(agoda):
    agoda.control("agoda", "fail_updates", {"count": 1})
    body = built(AvailabilityItem(span(1), "EXT", ROOM, rooms_to_sell=3),
                 AvailabilityItem(span(2), "EXT", ROOM, rooms_to_sell=3))  # fmt: skip
    result = codec.parse_result(post(agoda, body).content)
    assert result.partial and result.errors[0].retryable
    assert post(agoda, body).status_code == 200


def test_auth_api_key_token_exchange_and_the_cut_off(agoda):
    body = built(AvailabilityItem(span(1), "EXT", ROOM, rooms_to_sell=3))
    assert post(agoda, body, "/agoda/api?apiKey=wrong").status_code == 401
    assert post(agoda, body, "/agoda/api").status_code == 401
    agoda.control("agoda", "configure", {"api_key_cutoff_passed": True})
    refused = post(agoda, body)
    assert refused.status_code == 401 and b"token exchange" in refused.content
    exchange = agoda.post(
        "/agoda" + codec.TOKEN_PATH,
        json.dumps(codec.token_request("cid", "csecret")).encode(),
        headers={"Content-Type": "application/json"},
    )
    token = codec.token_answer(exchange.json())
    assert post(agoda, body, "/agoda/api", Authorization=f"Bearer {token}").status_code == 200
    assert (
        post(agoda, body, "/agoda/api/v2/ari", Authorization=f"Bearer {token}").status_code == 200
    )
    agoda.control("agoda", "expire_tokens", {})
    assert post(agoda, body, "/agoda/api", Authorization=f"Bearer {token}").status_code == 401
    wrong = agoda.post("/agoda" + codec.TOKEN_PATH, b'{"clientId": "cid", "clientSecret": "x"}')
    assert wrong.status_code == 401
    with pytest.raises(codec.AgodaCodecError):
        codec.token_answer(wrong.json())


def test_request_envelope_type_timestamp_and_size(agoda):
    body = built(AvailabilityItem(span(1), "EXT", ROOM, rooms_to_sell=3))
    assert post(agoda, body.replace(b'type="10"', b'type="77"')).status_code == 400
    untyped = body.replace(b' type="10"', b"")
    assert post(agoda, untyped).status_code == 400, "type is required on /api"
    assert post(agoda, untyped, f"/agoda/api/v2/ari?apiKey={KEY}").status_code == 200
    stamp = codec.parse_request_head(body)[2]
    assert post(agoda, body.replace(stamp.encode(), b"yesterday")).status_code == 400
    huge = body.replace(b"<criteria", b"<!--" + b"x" * codec.MAX_REQUEST_BYTES + b"--><criteria")
    assert post(agoda, huge).status_code == 413


def _list(agoda, start, end, properties=(PROPERTY,), kind="3"):
    ids = "".join(f'<property id="{p}"/>' for p in properties)
    body = (
        f'<request timestamp="{codec.timestamp_ms()}" type="{kind}"><criteria '
        f'from="{codec.ict(start)}" to="{codec.ict(end)}">{ids}</criteria></request>'
    )
    return post(agoda, body.encode())


def test_bookings_are_listed_and_read_as_agoda_does(agoda):
    made = agoda.control("agoda", "new", {"room_id": OTHER_ROOM, "rate_id": RATE, "nights": 3})
    now = codec.datetime.now(codec.UTC)
    listed = _list(agoda, now - timedelta(hours=1), now + timedelta(minutes=1))
    assert listed.status_code == 200
    (head,) = codec.parse_booking_list(listed.content)
    assert head.booking_id == made["id"] and head.status == codec.CONFIRM
    assert b"+07:00" in listed.content, "times in ICT"
    detail = post(agoda, codec.build_booking_detail(PROPERTY, [made["id"]]))
    (booking,), failures = codec.parse_booking_detail(detail.content)
    inbound = booking.to_inbound()
    assert not failures and inbound.rooms[0].partner_rate_id == RATE
    assert len(inbound.rooms[0].nights) == 3 and inbound.total == 3 * 450_000
    agoda.control("agoda", "cancel", {"booking_id": made["id"]})
    (head,) = codec.parse_booking_list(
        _list(agoda, now - timedelta(hours=1), now + timedelta(minutes=1)).content
    )
    assert head.status == codec.CANCEL and head.last_action > booking.head.last_action


def test_booking_calls_keep_agoda_s_limits(agoda):
    now = codec.datetime.now(codec.UTC)
    assert _list(agoda, now - timedelta(days=91), now).status_code == 400
    assert _list(agoda, now - timedelta(days=800), now - timedelta(days=760)).status_code == 400
    assert _list(agoda, now - timedelta(hours=2), now, kind="9").status_code == 400
    six = [PROPERTY, "2", "3", "4", "5", "6"]
    assert (
        codec.parse_result(_list(agoda, now - timedelta(days=1), now, properties=six).content)
        .errors[0]
        .code
        == "3001"
    )
    many = codec.build_booking_detail(PROPERTY, ["1"]).replace(
        b'<booking id="1"/>', b"".join(f'<booking id="{n}"/>'.encode() for n in range(51))
    )
    assert codec.parse_result(post(agoda, many).content).errors[0].code == "4001"


class _Hook(BaseHTTPRequestHandler):
    answers: list[tuple[int, bytes]] = []
    received: list[bytes] = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(body)
        status, answer = type(self).answers.pop(0) if type(self).answers else (200, b"")
        self.send_response(status)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


@pytest.fixture
def hook():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    _Hook.answers, _Hook.received = [], []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/x/?token=t", _Hook
    server.shutdown()
    server.server_close()


def _hints(agoda, deadline: float = 10.0):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        hints = agoda.state("agoda")["hints"]
        if hints and all(h["outcome"] for h in hints.values()):
            return hints
        time.sleep(0.05)
    raise AssertionError(f"hints not settled: {agoda.state('agoda')['hints']}")


def test_a_change_is_hinted_and_a_success_answer_ends_it(agoda, hook):
    url, handler = hook
    agoda.control("agoda", "configure", {"hook_url": url})
    handler.answers = [(200, sample("booking_hint_rs.xml"))]
    made = agoda.control("agoda", "new", {})
    (hint,) = _hints(agoda).values()
    assert hint["outcome"] == "delivered" and len(hint["attempts"]) == 1
    (pushed,) = handler.received
    (head,) = codec.parse_hint(pushed)
    assert head.booking_id == made["id"] and b"+07:00" in pushed


def test_a_hint_not_answered_success_is_retried_three_times_then_emailed(agoda, hook):
    url, handler = hook
    agoda.control("agoda", "configure", {"hook_url": url, "hint_retry_seconds": 0.05})
    handler.answers = [
        (500, b""),
        (200, b"{}"),
        (200, codec.build_hint_reply(error=("1", "x"))),
        (503, b""),
    ]
    agoda.control("agoda", "new", {})
    (hint,) = _hints(agoda).values()
    assert hint["outcome"] == "email fallback"
    assert [a["status"] for a in hint["attempts"]] == [500, 200, 200, 503]
    assert len(handler.received) == 4
