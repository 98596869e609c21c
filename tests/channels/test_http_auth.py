"""The HTTP client's methods, JSON bodies and auth hooks (Basic, bearer token, signed headers).

HTTP is faked with ``responses``; the clock with ``time_machine``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading
import time
from datetime import UTC, datetime
from urllib.parse import parse_qs

import pytest
import responses
import time_machine

from channels.models import SyncLog
from channels.providers.base import Provider, TransientError, Unauthorised
from pema import http
from pema.http_auth import (
    BasicAuth,
    BearerTokenAuth,
    SignedHeadersAuth,
    Token,
    TokenError,
    TokenRefused,
    client_credentials,
    fingerprint,
    forget_tokens,
    key_secret_signature,
)

API = "https://partner.test/api/v1/things"
TOKEN_URL = "https://partner.test/oauth/token"
CLIENT_ID = "pema-client"
CLIENT_SECRET = "client-s3cret-value"
START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _no_cached_tokens():
    forget_tokens()
    yield
    forget_tokens()


def token_answer(token: str, expires_in: int = 3600) -> responses.Response:
    return responses.Response(
        "POST",
        TOKEN_URL,
        json={"access_token": token, "token_type": "bearer", "expires_in": expires_in},
    )


def bearer(key: str = "conn-1") -> BearerTokenAuth:
    return BearerTokenAuth(
        client_credentials(TOKEN_URL, CLIENT_ID, CLIENT_SECRET, scope="ari"), cache_key=key
    )


def calls_to(url: str) -> list:
    return [call for call in responses.calls if call.request.url.split("?")[0] == url]


def sent_tokens() -> list[str]:
    return [call.request.headers["Authorization"] for call in calls_to(API)]


# ------------------------------------------------------------------ methods and bodies
@responses.activate
def test_a_json_body_is_encoded_with_its_content_type_and_the_answer_reads_back():
    def echo(request):
        return 200, {"Content-Type": "application/json"}, request.body

    responses.add_callback("POST", API, callback=echo)
    payload = {"guest": "Zoë Ångström", "nights": 3, "amount": {"minor": 45000, "cur": "EUR"}}
    answer = http.post(API, json=payload)
    sent = responses.calls[0].request
    assert sent.headers["Content-Type"] == "application/json"
    assert json.loads(sent.body.decode("utf-8")) == payload
    assert "Zoë".encode() in sent.body  # UTF-8 on the wire, not \u escapes
    assert answer.status == 200 and answer.json() == payload


@responses.activate
def test_a_caller_content_type_wins_over_the_json_default():
    responses.post(API, json={})
    http.post(API, json=[1], headers={"content-type": "application/vnd.partner+json"})
    assert responses.calls[0].request.headers["Content-Type"] == "application/vnd.partner+json"


@responses.activate
def test_an_xml_body_is_sent_as_given():
    responses.post(API, body=b"<ok/>")
    body = b"<?xml version='1.0' encoding='UTF-8'?><Ping>hi</Ping>"
    http.post(API, body, headers={"Content-Type": "application/xml"})
    sent = responses.calls[0].request
    assert sent.body == body and sent.headers["Content-Type"] == "application/xml"


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "put"])
@responses.activate
def test_any_method_is_sent(method):
    responses.add(method.upper(), API, json={"done": True})
    answer = http.request(method, API, json={"id": 7}, params={"hotel": "H1"})
    sent = responses.calls[0].request
    assert sent.method == method.upper()
    assert sent.url == f"{API}?hotel=H1" and json.loads(sent.body) == {"id": 7}
    assert answer.json() == {"done": True}


@responses.activate
def test_a_redirect_is_answered_not_followed_so_key_headers_stay_with_the_partner():
    responses.post(API, status=302, headers={"Location": "https://elsewhere.example/steal"})
    responses.get("https://elsewhere.example/steal", body=b"<gotcha/>")
    answer = http.post(API, b"<a/>", headers={"X-API-Secret": "s3cret"})
    assert answer.status == 302 and answer.headers["Location"].startswith("https://elsewhere")
    assert [call.request.url for call in responses.calls] == [API]


def test_a_method_that_is_not_one_or_two_bodies_are_refused():
    with pytest.raises(ValueError, match="Not an HTTP method"):
        http.request("GET\r\nX-Evil: 1", API)
    with pytest.raises(ValueError, match="not both"):
        http.request("POST", API, b"<a/>", json={"a": 1})


@responses.activate
def test_the_answer_is_cut_one_byte_over_the_size_cap():
    responses.get(API, body=b"x" * 5000)
    assert len(http.get(API, max_bytes=1000).body) == 1001
    assert len(http.get(API, max_bytes=5000).body) == 5000


# ------------------------------------------------------------------ Basic
@responses.activate
def test_basic_auth_sends_the_rfc_7617_header():
    responses.put(API, body=b"")
    http.request("PUT", API, b"<a/>", auth=BasicAuth("machine-acct", "pa:ss wörd"))
    header = responses.calls[0].request.headers["Authorization"]
    assert header == "Basic " + base64.b64encode("machine-acct:pa:ss wörd".encode()).decode()


@responses.activate
def test_basic_auth_takes_no_second_try_on_a_401():
    responses.get(API, status=401)
    assert http.get(API, auth=BasicAuth("u", "p")).status == 401
    assert len(responses.calls) == 1


# ------------------------------------------------------------------ bearer
@responses.activate
def test_a_bearer_token_is_fetched_once_and_reused():
    responses.add(token_answer("tok-1"))
    responses.get(API, json={})
    auth = bearer()
    for _ in range(3):
        assert http.get(API, auth=auth).status == 200
    # A new hook for the same connection (a new provider object) shares the token.
    http.get(API, auth=bearer())
    assert len(calls_to(TOKEN_URL)) == 1
    assert sent_tokens() == ["Bearer tok-1"] * 4
    fetch = calls_to(TOKEN_URL)[0].request
    assert parse_qs(fetch.body.decode()) == {"grant_type": ["client_credentials"], "scope": ["ari"]}
    client = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    assert fetch.headers["Authorization"] == f"Basic {client}"
    assert fetch.headers["Content-Type"] == "application/x-www-form-urlencoded"


@responses.activate
def test_client_credentials_can_go_in_the_form_instead():
    responses.add(token_answer("tok-1"))
    responses.get(API, json={})
    fetch = client_credentials(
        TOKEN_URL,
        CLIENT_ID,
        CLIENT_SECRET,
        credentials_in_body=True,
        headers={"x-app-key": "app-1"},
    )
    http.get(API, auth=BearerTokenAuth(fetch, cache_key="c"))
    sent = calls_to(TOKEN_URL)[0].request
    assert parse_qs(sent.body.decode())["client_secret"] == [CLIENT_SECRET]
    assert "Authorization" not in sent.headers and sent.headers["x-app-key"] == "app-1"


@responses.activate
def test_each_connection_has_its_own_token():
    responses.add(token_answer("tok-a"))
    responses.add(token_answer("tok-b"))
    responses.get(API, json={})
    http.get(API, auth=bearer("conn-a"))
    http.get(API, auth=bearer("conn-b"))
    http.get(API, auth=bearer("conn-a"))
    assert sent_tokens() == ["Bearer tok-a", "Bearer tok-b", "Bearer tok-a"]


@responses.activate
def test_a_bearer_token_is_refreshed_shortly_before_it_expires():
    responses.add(token_answer("tok-1", expires_in=3600))
    responses.add(token_answer("tok-2", expires_in=3600))
    responses.get(API, json={})
    auth = bearer()
    with time_machine.travel(START, tick=False) as traveller:
        http.get(API, auth=auth)
        traveller.shift(3600 - 61)  # a minute and a second left: still used
        http.get(API, auth=auth)
        traveller.shift(2)  # inside the last minute: replaced before it can expire in flight
        http.get(API, auth=auth)
        http.get(API, auth=auth)
    assert sent_tokens() == ["Bearer tok-1", "Bearer tok-1", "Bearer tok-2", "Bearer tok-2"]
    assert len(calls_to(TOKEN_URL)) == 2


@responses.activate
def test_a_short_lived_token_is_used_for_half_its_life():
    responses.add(token_answer("tok-1", expires_in=30))
    responses.add(token_answer("tok-2", expires_in=30))
    responses.get(API, json={})
    auth = bearer()
    with time_machine.travel(START, tick=False) as traveller:
        http.get(API, auth=auth)
        traveller.shift(14)
        http.get(API, auth=auth)
        traveller.shift(2)
        http.get(API, auth=auth)
    assert sent_tokens() == ["Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]


@responses.activate
def test_a_401_refreshes_the_token_and_sends_again_once():
    responses.add(token_answer("tok-1"))
    responses.add(token_answer("tok-2"))
    responses.put(API, status=401)
    responses.put(API, json={"ok": True})
    answer = http.request("PUT", API, json={"n": 1}, auth=bearer())
    assert answer.status == 200 and answer.json() == {"ok": True}
    assert sent_tokens() == ["Bearer tok-1", "Bearer tok-2"]
    assert [call.request.body for call in calls_to(API)] == [b'{"n":1}', b'{"n":1}']
    assert len(calls_to(TOKEN_URL)) == 2


@responses.activate
def test_a_second_401_stands():
    responses.add(token_answer("tok-1"))
    responses.add(token_answer("tok-2"))
    responses.add(token_answer("tok-3"))
    responses.get(API, status=401)
    assert http.get(API, auth=bearer()).status == 401
    assert sent_tokens() == ["Bearer tok-1", "Bearer tok-2"]  # exactly one retry
    assert len(calls_to(TOKEN_URL)) == 2


def test_threads_share_one_fetch():
    fetched = []
    gate = threading.Event()

    def fetch() -> Token:
        gate.wait(5)  # every thread is waiting on the slot by now
        fetched.append(1)
        return Token.lasting(f"tok-{len(fetched)}", 3600)

    auth = bearer_from(fetch)
    seen: list[str] = []
    threads = [threading.Thread(target=lambda: seen.append(auth.token())) for _ in range(8)]
    for thread in threads:
        thread.start()
    time.sleep(0.05)  # let the threads block on the slot's lock
    gate.set()
    for thread in threads:
        thread.join(5)
    assert fetched == [1] and seen == ["tok-1"] * 8


def bearer_from(fetch) -> BearerTokenAuth:
    return BearerTokenAuth(fetch, cache_key="threads")


@responses.activate
def test_a_refused_client_is_reported_without_the_answer_body():
    responses.post(
        TOKEN_URL,
        status=401,
        json={"error": "invalid_client", "error_description": f"bad secret {CLIENT_SECRET}"},
    )
    with pytest.raises(TokenRefused) as info:
        http.get(API, auth=bearer())
    assert info.value.http_status == 401
    assert "invalid_client" in str(info.value) and CLIENT_SECRET not in str(info.value)
    assert not calls_to(API)


@pytest.mark.parametrize(
    "answer",
    [
        {"status": 503, "body": b""},
        {"body": b"<html>not json</html>"},
        {"json": {"token_type": "bearer"}},
        {"json": {"access_token": "t", "token_type": "mac"}},
        {"json": {"access_token": "t", "expires_in": "soon"}},
        {"body": b'{"access_token": "' + b"x" * 70000 + b'"}'},
    ],
)
@responses.activate
def test_an_answer_that_is_no_token_is_a_token_error(answer):
    responses.post(TOKEN_URL, **answer)
    with pytest.raises(TokenError):
        http.get(API, auth=bearer())
    assert not calls_to(API)


# ------------------------------------------------------------------ signed headers
@responses.activate
def test_the_signature_is_computed_for_each_request_on_the_clock():
    responses.get(API, json={})
    auth = SignedHeadersAuth(key_secret_signature("key-1", "secret-1"))
    with time_machine.travel(START, tick=False) as traveller:
        http.get(API, auth=auth)
        traveller.shift(1)
        http.get(API, auth=auth)
    first, second = (call.request.headers for call in responses.calls)
    seconds = int(START.timestamp())
    assert first["Api-key"] == "key-1"
    assert first["X-Signature"] == hashlib.sha256(f"key-1secret-1{seconds}".encode()).hexdigest()
    assert second["X-Signature"] == (
        hashlib.sha256(f"key-1secret-1{seconds + 1}".encode()).hexdigest()
    )


@responses.activate
def test_a_signer_sees_the_exact_method_url_and_body_sent():
    responses.patch(API, json={})
    seen = []

    def sign(request) -> dict[str, str]:
        seen.append((request.method, request.url, request.body))
        return {"X-Digest": hashlib.sha256(request.body).hexdigest()}

    http.request("patch", API, json={"a": 1}, params={"q": "x y"}, auth=SignedHeadersAuth(sign))
    sent = responses.calls[0].request
    assert seen == [("PATCH", sent.url, sent.body)]
    assert sent.headers["X-Digest"] == hashlib.sha256(b'{"a":1}').hexdigest()


@responses.activate
def test_a_signed_call_takes_no_second_try_on_a_401():
    responses.get(API, status=401)
    assert http.get(API, auth=SignedHeadersAuth(key_secret_signature("k", "s"))).status == 401
    assert len(responses.calls) == 1


# ------------------------------------------------------------------ through a provider
class BearerProvider(Provider):
    """A JSON partner authorised by a client-credentials token."""

    key = "test_bearer"

    def url_for(self, operation: str) -> str:
        return API

    def auth(self) -> BearerTokenAuth:
        creds = self.connection.credentials
        return BearerTokenAuth(
            client_credentials(TOKEN_URL, creds["api_key"], creds["api_secret"]),
            cache_key=f"{self.connection.pk}:{fingerprint(creds)}",
        )


@pytest.fixture
def bearer_conn(conn):
    conn.credentials = {"api_key": CLIENT_ID, "api_secret": CLIENT_SECRET}
    conn.save()
    return conn


@responses.activate
def test_no_token_or_secret_reaches_the_sync_log_or_the_logs(bearer_conn, caplog):
    caplog.set_level(logging.DEBUG)
    responses.add(token_answer("tok-SECRET-1"))
    responses.add(token_answer("tok-SECRET-2"))
    responses.post(API, status=401, body=b"token tok-SECRET-1 is revoked")
    responses.post(API, json={"ok": True})
    provider = BearerProvider(bearer_conn)
    assert provider.exchange("things", b'{"n":1}', json.loads) == {"ok": True}
    log = SyncLog.objects.get(connection=bearer_conn)
    assert log.status == "success" and log.request == '{"n":1}'
    written = " ".join([log.request, log.response, log.error, log.correlation_id, caplog.text])
    for secret in ("tok-SECRET-2", CLIENT_SECRET, "Bearer", "Authorization"):
        assert secret not in written
    assert "***" in repr(provider.auth()) and CLIENT_SECRET not in repr(provider.auth())


@responses.activate
def test_a_refused_token_makes_the_connection_unauthorised(bearer_conn):
    responses.post(TOKEN_URL, status=400, json={"error": "invalid_client"})
    with pytest.raises(Unauthorised) as info:
        BearerProvider(bearer_conn).exchange("things", b"{}", json.loads)
    assert info.value.http_status == 400
    log = SyncLog.objects.get(connection=bearer_conn)
    assert "invalid_client" in log.error and CLIENT_SECRET not in log.error


@responses.activate
def test_a_failing_token_endpoint_is_transient(bearer_conn):
    responses.post(TOKEN_URL, status=502)
    with pytest.raises(TransientError, match="access token") as info:
        BearerProvider(bearer_conn).exchange("things", b"{}", json.loads)
    assert info.value.unreachable


@responses.activate
def test_new_credentials_mean_a_new_token(bearer_conn):
    responses.add(token_answer("tok-1"))
    responses.add(token_answer("tok-2"))
    responses.post(API, json={})
    BearerProvider(bearer_conn).exchange("things", b"{}", json.loads)
    bearer_conn.credentials = {"api_key": CLIENT_ID, "api_secret": "rotated"}
    BearerProvider(bearer_conn).exchange("things", b"{}", json.loads)
    assert sent_tokens() == ["Bearer tok-1", "Bearer tok-2"]


@responses.activate
def test_a_netrc_entry_never_replaces_the_hook(tmp_path, monkeypatch):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine partner.test login someone password elses\n")
    monkeypatch.setenv("NETRC", str(netrc))
    responses.add(token_answer("tok-1"))
    responses.get(API, json={})
    http.get(API, auth=bearer())
    http.get(API)
    assert calls_to(API)[0].request.headers["Authorization"] == "Bearer tok-1"
    assert "Authorization" not in calls_to(API)[1].request.headers
