"""The sandbox harness: routing, per-partner faults, the control API, the store, framing."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
import requests

from pema.ota import PingRQ, build_ping_rq, parse_ping_rs
from sandbox.simulator import CommandError, Request, Response, Simulator
from tests.sandbox import HarnessThread, RunningSandbox, free_port


class CounterSimulator(Simulator):
    """A small partner for the harness tests: counts calls in the store, echoes bodies."""

    title = "Counter"

    def handle(self, request: Request) -> Response:
        calls = self.store.increment("calls", request.path)
        return Response(
            body=json.dumps(
                {
                    "path": request.path,
                    "calls": calls,
                    "body": request.body.decode(),
                    "q": request.param("q"),
                }
            ).encode(),
            content_type="application/json",
        )

    def command(self, name: str, payload: dict[str, Any]) -> Any:
        if name == "book":
            self.context.emit(payload["id"], payload)
            return {"queued": [key for key, _ in self.context.emitted()]}
        if name == "push":
            delivery = self.context.push(payload["url"], b"booking", timeout=5)
            return {
                "status": delivery.status,
                "body": delivery.body.decode(),
                "error": delivery.error,
            }
        raise CommandError(f"unknown command {name!r}")

    def snapshot(self) -> dict[str, Any]:
        return {**super().snapshot(), "calls": dict(self.store.items("calls"))}


SIMULATORS = {"counter": CounterSimulator, "other": CounterSimulator}


@pytest.fixture
def harness(tmp_path):
    with HarnessThread(SIMULATORS, tmp_path / "state") as running:
        yield running


def test_calls_are_routed_to_their_partner_and_unknown_paths_are_404(harness):
    answer = harness.post("/counter/a/b?q=1", b"hello")
    assert answer.status_code == 200
    assert answer.json() == {"path": "/a/b", "calls": 1, "body": "hello", "q": "1"}
    assert harness.get("/other/a/b").json()["calls"] == 1  # its own store
    assert harness.get("/nobody/a").status_code == 404
    assert harness.get("/_control/partners").json() == {"counter": "Counter", "other": "Counter"}
    assert harness.state("counter")["calls"] == {"/a/b": 1}


def test_state_persists_across_a_restart_and_reset_wipes_one_partner(harness):
    harness.post("/counter/x")
    harness.post("/other/x")
    harness.control("counter", "book", {"id": "B1", "guest": "Asha"})
    harness.restart()
    assert harness.state("counter")["calls"] == {"/x": 1}
    assert harness.state("counter")["emitted"] == [{"id": "B1", "guest": "Asha"}]
    assert harness.control("counter", "reset") == {"reset": True}
    assert harness.state("counter") == {"emitted": [], "calls": {}}
    assert harness.state("other")["calls"] == {"/x": 1}


def test_push_posts_a_booking_to_pemas_hook_and_reports_what_came_back(harness):
    pushed = harness.control("counter", "push", {"url": f"{harness.base_url}/other/hooks/abc/"})
    assert pushed["status"] == 200 and '"body": "booking"' in pushed["body"]
    assert harness.state("other")["calls"] == {"/hooks/abc/": 1}
    harness.control("other", "faults", {"status": 503})
    assert (
        harness.control("counter", "push", {"url": f"{harness.base_url}/other/x"})["status"] == 503
    )

    nowhere = harness.control("counter", "push", {"url": f"http://127.0.0.1:{free_port()}/"})
    assert nowhere["status"] == 0 and nowhere["error"]


def test_down_closes_the_connection_without_an_answer(harness):
    harness.control("counter", "faults", {"down": True})
    with pytest.raises(requests.ConnectionError):
        harness.post("/counter/x")
    assert harness.get("/other/x").ok  # faults are per partner
    assert harness.get("/_control/counter/state").ok  # and never on control
    harness.control("counter", "faults", {"down": False})
    assert harness.post("/counter/x").json()["calls"] == 1  # the refused call did nothing


def test_fail_percent_fails_exactly_that_share(harness):
    harness.control("counter", "faults", {"fail_percent": 50})
    statuses = [harness.post("/counter/x").status_code for _ in range(10)]
    assert statuses.count(500) == 5 and statuses.count(200) == 5


def test_forced_status_and_429_with_retry_after(harness):
    harness.control("counter", "faults", {"status": 503})
    assert harness.post("/counter/x").status_code == 503
    harness.control("counter", "faults", {"status": None, "retry_after": 7})
    answer = harness.post("/counter/x")
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "7"
    harness.control("counter", "faults", {"retry_after": None})
    assert harness.post("/counter/x").json()["calls"] == 1


def test_malformed_and_truncated_answers(harness):
    harness.control("counter", "faults", {"malformed": True})
    answer = harness.post("/counter/x")
    assert answer.status_code == 200 and answer.content.startswith(b"<?xml")
    harness.control("counter", "faults", {"malformed": False, "truncate": True})
    with pytest.raises(ValueError):
        harness.post("/counter/x").json()
    assert harness.state("counter")["calls"] == {"/x": 1}  # truncate applies the call


def test_faults_limited_to_some_methods_spare_the_others(harness):
    harness.control("counter", "faults", {"status": 503, "methods": ["post"]})
    assert harness.get("/_control/counter/faults").json()["methods"] == ["POST"]
    assert harness.get("/counter/x").json()["calls"] == 1  # a read answers
    assert harness.post("/counter/x").status_code == 503  # an acknowledgement fails
    harness.control("counter", "faults", {"methods": []})
    assert harness.get("/counter/x").status_code == 503  # every call again
    answer = harness.post("/_control/counter/faults", b'{"methods": "POST"}')
    assert answer.status_code == 400


def test_slow_still_answers(harness):
    harness.control("counter", "faults", {"slow_ms": 50})
    assert harness.post("/counter/x").ok


def test_bad_control_requests_are_400_and_change_nothing(harness):
    before = harness.get("/_control/counter/faults").json()
    for payload in (
        b"not json",
        b"[1]",
        b'{"status": 200}',
        b'{"nonsense": 1}',
        b'{"slow_ms": "x"}',
    ):
        answer = harness.post("/_control/counter/faults", payload)
        assert answer.status_code == 400 and "error" in answer.json()
    assert harness.get("/_control/counter/faults").json() == before
    assert harness.post("/_control/counter/fly", b"{}").status_code == 400
    assert harness.get("/_control/counter/").headers["Content-Type"].startswith("text/html")


def _raw(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        return sock.recv(4096)


@pytest.mark.parametrize(
    "headers, status",
    [
        (b"Content-Length: -1\r\n", b"400"),
        (b"Content-Length: 1, 2\r\n", b"400"),
        (b"Transfer-Encoding: chunked\r\n", b"411"),
    ],
)
def test_partner_bodies_are_framed_by_a_plain_content_length(harness, headers, status):
    answer = _raw(harness.port, b"POST /counter/x HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
    assert answer.split(b" ")[1] == status
    assert harness.state("counter")["calls"] == {}


def test_runsandbox_serves_every_simulator_and_ids_next_on_one_port():
    with RunningSandbox() as sandbox:
        base = sandbox.base_url
        assert requests.get(f"{base}/_control/partners", timeout=5).json() == {
            "ids_next": "IDS Next",
            "booking_com": "Booking.com",
            "agoda": "Agoda YCS5",
        }
        state = requests.get(f"{base}/_control/booking_com/state", timeout=5).json()
        assert state["reservations"] == []
        # IDS Next is on the harness: its root paths and /ids_next/ are the same partner.
        ping = build_ping_rq(PingRQ(echo_data="hi", echo_token="t1"))
        headers = {"X-API-Key": sandbox.api_key, "X-API-Secret": sandbox.api_secret}
        answer = requests.post(f"{base}/ids_next/OTA_PingRQ", data=ping, headers=headers, timeout=5)
        assert parse_ping_rs(answer.content).success
        assert sandbox.state()["message_counts"] == {"OTA_PingRQ": 1}
        requests.post(f"{base}/_control/ids_next/faults", json={"down": True}, timeout=5)
        assert sandbox.state() == requests.get(f"{base}/_control/ids_next/state", timeout=5).json()
        with pytest.raises(requests.ConnectionError):
            sandbox.send(ping)
        assert (
            requests.post(
                f"{base}/booking_com/hotels/ota/OTA_HotelAvailNotif", timeout=5
            ).status_code
            == 415
        )  # faults are per partner: Booking.com still answers
