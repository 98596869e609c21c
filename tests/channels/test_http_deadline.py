"""pema.http bounds a whole call: a partner dripping its answer byte by byte is cut off."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from pema import http, ota
from pema.http_auth import BasicAuth, BearerTokenAuth, Token, forget_tokens
from tests.sandbox import RunningSandbox

PING = ota.build_ping_rq(ota.PingRQ(echo_data="hi", echo_token="deadline-1"))
HEADERS = {"X-API-Key": "sandbox-key", "X-API-Secret": "sandbox-secret"}


@pytest.fixture(scope="module")
def sandbox():
    with RunningSandbox() as running:
        yield running


@pytest.fixture
def short_deadline(settings):
    # Every read of a drip arrives well within the read timeout; only the deadline can stop it.
    settings.PEMA_HTTP_CONNECT_TIMEOUT = 5.0
    settings.PEMA_HTTP_READ_TIMEOUT = 5.0
    settings.PEMA_HTTP_DEADLINE_SECONDS = 1.0


def test_a_dripped_answer_is_cut_off_at_the_deadline(sandbox, short_deadline):
    sandbox.set_faults(drip_ms=50)  # ~330 bytes: about 17 s to finish
    try:
        with pytest.raises(http.Timeout) as info:
            http.post(f"{sandbox.base_url}/{ota.PING_RQ}", PING, headers=HEADERS)
        assert isinstance(info.value, http.DeadlineExceeded)
    finally:
        sandbox.set_faults(drip_ms=0)
    # The shared session is fine afterwards.
    answer = http.post(f"{sandbox.base_url}/{ota.PING_RQ}", PING, headers=HEADERS)
    assert ota.parse_ping_rs(answer.body).data == "hi"


def test_a_dripping_partner_is_a_transient_failure_for_the_provider(sandbox, conn, settings):
    settings.PEMA_HTTP_DEADLINE_SECONDS = 1.0
    conn.base_url = sandbox.base_url
    conn.credentials = {"api_key": sandbox.api_key, "api_secret": sandbox.api_secret}
    conn.save()
    sandbox.set_faults(drip_ms=50)
    try:
        from channels.providers.base import TransientError

        with pytest.raises(TransientError, match="Timed out"):
            conn.get_provider().test_connection()
    finally:
        sandbox.set_faults(drip_ms=0)
    assert "answered the ping" in conn.get_provider().test_connection()


@pytest.fixture
def drip_until_close():
    """A server answering without Content-Length, dripping its body until it closes."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()
    body = b"<a>" + b"x" * 200 + b"</a>"
    served = {"sent": 0, "of": len(body), "done": threading.Event()}

    def serve():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            with client:
                client.recv(65536)
                try:
                    client.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
                    for byte in body:
                        if stop.wait(0.05):
                            break
                        client.sendall(bytes([byte]))
                        served["sent"] += 1
                except OSError:
                    pass  # the client hung up
                served["done"].set()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/", served
    stop.set()
    thread.join(timeout=5)
    listener.close()


def test_a_cut_never_passes_for_the_end_of_an_unframed_body(drip_until_close, short_deadline):
    url, served = drip_until_close
    # The watchdog's shutdown looks like the server closing: it must not read as the end.
    with pytest.raises(http.DeadlineExceeded):
        http.post(url, b"<q/>")
    assert served["done"].wait(30)
    assert served["sent"] < served["of"]  # we hung up; we did not wait for the drip to end


def test_a_quick_answer_is_untouched_by_its_deadline(sandbox, settings):
    settings.PEMA_HTTP_DEADLINE_SECONDS = 0.5
    for _ in range(3):
        answer = http.post(f"{sandbox.base_url}/{ota.PING_RQ}", PING, headers=HEADERS)
        assert answer.status == 200
    time.sleep(0.6)  # a watchdog left running would now cut a pooled connection
    answer = http.post(f"{sandbox.base_url}/{ota.PING_RQ}", PING, headers=HEADERS)
    assert ota.parse_ping_rs(answer.body).data == "hi"


def test_a_put_with_an_auth_hook_is_cut_at_the_deadline(drip_until_close, short_deadline):
    url, served = drip_until_close
    with pytest.raises(http.DeadlineExceeded):
        http.request("PUT", url, json={"rooms": 3}, auth=BasicAuth("user", "password"))
    assert served["done"].wait(30)
    assert served["sent"] < served["of"]


def test_fetching_a_token_spends_the_same_deadline(drip_until_close, short_deadline):
    url, served = drip_until_close

    def fetch() -> Token:
        # Its own deadline is generous; the call it serves has one second in all.
        answer = http.post(url, b"grant_type=client_credentials", deadline=60)
        return Token.lasting(answer.body.decode(), 3600)

    forget_tokens()
    with pytest.raises(http.DeadlineExceeded, match="within 1 s"):
        http.get(url, auth=BearerTokenAuth(fetch, cache_key="deadline"))
    assert served["done"].wait(30)
    assert served["sent"] < served["of"]
    forget_tokens()
