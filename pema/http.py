"""The one outbound HTTP client: every call to a partner goes through :func:`request`
(:func:`post` and :func:`get` are its two common shapes).

Tests fake this one place (with ``responses``, which patches ``requests``).

A request takes any method and a raw body (XML, form, whatever the partner
speaks, with the caller's ``Content-Type``) or ``json=``, which is encoded here
and sent as ``application/json``. ``auth=`` is the partner's signing or
authorisation hook (:mod:`pema.http_auth`: HTTP Basic, a bearer token fetched
and refreshed, headers signed per request). The hook adds its headers just
before sending, so they exist only on the wire: nothing here logs a request,
and callers log bodies, never headers. A 401 answer is shown to the hook, and
a hook holding a token that may have been revoked early (a bearer token) gets
one fresh try; a second 401 is the caller's to report.

Every call is bounded twice:

- per socket operation, by the connect and read timeouts: a partner that never
  answers is given up on after ``PEMA_HTTP_READ_TIMEOUT``;
- as a whole, by a deadline (``PEMA_HTTP_DEADLINE_SECONDS``): the read timeout
  restarts with every byte, so a partner dripping one byte every few seconds
  would otherwise hold a worker for as long as it likes. A watchdog timer shuts
  the call's sockets down when the deadline passes, which wakes the blocked
  read, and the call raises :class:`DeadlineExceeded` (a ``Timeout``). A call
  the watchdog fired on never returns what it read, even when the cut happened
  to look like the end of the body.

The deadline covers everything one :func:`request` does: fetching a token for
its auth hook (itself a request, bounded by what is left) and the one retry
after a 401.

**HTTP 429 inside the call.** A partner that answers 429 (too many requests)
is asked again after 1 s, then 2 s, then 4 s (:data:`RETRY_429_DELAYS`), each
wait its ``Retry-After`` when it sends one, capped at 30 s
(``PEMA_HTTP_429_MAX_WAIT``), at most ``PEMA_HTTP_429_RETRIES`` (3) times.
Each try has its own deadline; the waits are not on the wire. A fourth 429
is returned to the caller, and a job goes back to the outbox's backoff with
it. The waits go through :data:`sleep`, which tests replace with a fake clock.
"""

from __future__ import annotations

import contextlib
import email.utils
import json as jsonlib
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

if TYPE_CHECKING:
    from pema.http_auth import Auth

# Re-exported so callers classify failures without importing requests themselves.
ConnectionError = requests.ConnectionError  # noqa: A001
Timeout = requests.Timeout
RequestException = requests.RequestException


class DeadlineExceeded(requests.Timeout):
    """The call as a whole took longer than its deadline."""


#: The waits before the first, second and third retry of a 429, in seconds.
RETRY_429_DELAYS = (1.0, 2.0, 4.0)
#: How the 429 retries wait (tests put a fake clock's sleep here).
sleep = time.sleep


def retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """A ``Retry-After`` header in seconds (delta-seconds or an HTTP date); None if absent."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)


def wait_before_429_retry(attempt: int, header: str | None) -> float:
    """Seconds to wait before retry ``attempt`` (0-based) of a 429: its Retry-After or the
    schedule, capped at ``PEMA_HTTP_429_MAX_WAIT``."""
    delay = retry_after(header)
    if delay is None:
        delay = RETRY_429_DELAYS[min(attempt, len(RETRY_429_DELAYS) - 1)]
    return min(delay, settings.PEMA_HTTP_429_MAX_WAIT)


@dataclass
class _Call:
    """The sockets one call uses, and whether its watchdog has fired."""

    # Sockets, not connections: http.client hands a closing connection's socket over to
    # its response and forgets it, while the body is still being read from it.
    sockets: list[socket.socket] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    finished: bool = False
    expired: bool = False

    def track(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self.lock:
            self.sockets.append(sock)
            expired = self.expired
        if expired:
            _shut(sock)  # connected just as the deadline passed

    def expire(self) -> None:
        with self.lock:
            if self.finished:
                return
            self.expired = True
            sockets = list(self.sockets)
        for sock in sockets:
            _shut(sock)

    def finish(self) -> bool:
        """Mark the call over; True if the watchdog got there first."""
        with self.lock:
            self.finished = True
            return self.expired


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed
        sock.shutdown(socket.SHUT_RDWR)  # wakes a read blocked in another thread


_current = threading.local()


def _track(sock: socket.socket | None) -> None:
    call: _Call | None = getattr(_current, "call", None)
    if call is not None:
        call.track(sock)


class _Tracked:
    """Connection mix-in: the socket of each request is registered with the thread's call."""

    sock: socket.socket | None

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        _track(self.sock)

    def request(self, *args, **kwargs):
        if self.sock is not None:
            _track(self.sock)  # a pooled connection, connected by an earlier call
        return super().request(*args, **kwargs)  # type: ignore[misc]


class _TrackedHTTPConnection(_Tracked, HTTPConnection):
    pass


class _TrackedHTTPSConnection(_Tracked, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _TrackedHTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _TrackedHTTPSConnection


class _DeadlineAdapter(HTTPAdapter):
    """requests' adapter with connections the watchdog can find."""

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


_session: requests.Session | None = None


def session() -> requests.Session:
    """A shared session (connection pooling); requests sessions are fine across threads for
    simple posts."""
    global _session
    if _session is None:
        _session = requests.Session()
        _session.headers["User-Agent"] = f"Pema/{settings.PEMA_VERSION}"
        adapter = _DeadlineAdapter()
        _session.mount("http://", adapter)
        _session.mount("https://", adapter)
    return _session


@dataclass(frozen=True)
class HttpResponse:
    """What a partner answered."""

    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        """The body parsed as JSON (``ValueError`` if it is not JSON)."""
        return jsonlib.loads(self.body)


@dataclass
class OutgoingRequest:
    """One request as it is about to be sent: what an auth hook reads and signs.

    ``url`` is final (the query already encoded into it) and ``body`` the exact
    bytes sent, so a signature over either matches what the partner receives.
    A hook adds its headers to ``headers``.
    """

    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None


def default_timeout() -> tuple[float, float]:
    return (settings.PEMA_HTTP_CONNECT_TIMEOUT, settings.PEMA_HTTP_READ_TIMEOUT)


#: An HTTP method is a token (RFC 9110 §9.1): letters only here, so no header can be smuggled in.
_METHOD = re.compile(r"[A-Za-z]{1,20}")
MAX_BYTES = 4 * 1024 * 1024


def post(
    url: str,
    body: bytes | None = None,
    *,
    json: Any = None,
    headers: dict[str, str] | None = None,
    auth: Auth | None = None,
    timeout: tuple[float, float] | None = None,
    deadline: float | None = None,
    max_bytes: int = MAX_BYTES,
) -> HttpResponse:
    """POST ``body`` or ``json`` (see :func:`request`)."""
    return request(
        "POST",
        url,
        body,
        json=json,
        headers=headers,
        auth=auth,
        timeout=timeout,
        deadline=deadline,
        max_bytes=max_bytes,
    )


def get(
    url: str,
    *,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    auth: Auth | None = None,
    timeout: tuple[float, float] | None = None,
    deadline: float | None = None,
    max_bytes: int = MAX_BYTES,
) -> HttpResponse:
    """GET ``url`` with the query ``params`` (see :func:`request`)."""
    return request(
        "GET",
        url,
        params=params,
        headers=headers,
        auth=auth,
        timeout=timeout,
        deadline=deadline,
        max_bytes=max_bytes,
    )


def request(
    method: str,
    url: str,
    body: bytes | None = None,
    *,
    json: Any = None,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    auth: Auth | None = None,
    timeout: tuple[float, float] | None = None,
    deadline: float | None = None,
    max_bytes: int = MAX_BYTES,
    retry_429: bool = True,
) -> HttpResponse:
    """Send one request; raise ``requests`` errors for connection failures and timeouts.

    ``retry_429``: a 429 answer is tried again, as the module says (a request made
    inside another, a token fetch, never waits: the outer call does).

    ``method`` is any HTTP method (GET, POST, PUT, PATCH, DELETE, ...). The body
    is ``body`` as given (XML and other raw bodies, with the caller's
    ``Content-Type``) or ``json``, encoded as UTF-8 JSON with ``Content-Type:
    application/json`` unless the caller set one; not both. ``auth`` signs or
    authorises the request (:mod:`pema.http_auth`); it may raise
    :class:`pema.http_auth.TokenError` when it cannot get a token.

    ``deadline`` (seconds, default ``PEMA_HTTP_DEADLINE_SECONDS``) bounds the
    whole call, from connecting to the last byte of the answer, including the
    auth hook's token fetch and a retry after a 401. The response body is read
    up to ``max_bytes`` (plus one byte, so callers can tell an oversized answer
    from a full one) to keep a hostile partner from filling memory.
    """
    if not _METHOD.fullmatch(method):
        raise ValueError(f"Not an HTTP method: {method!r}.")
    retries = settings.PEMA_HTTP_429_RETRIES if retry_429 else 0
    if getattr(_current, "budget", None) is not None:
        retries = 0
    attempt = 0
    while True:
        answer = _request_once(
            method, url, body, json, params, headers, auth, timeout, deadline, max_bytes
        )
        if answer.status != 429 or attempt >= retries:
            return answer
        sleep(wait_before_429_retry(attempt, answer.headers.get("Retry-After")))
        attempt += 1


def _request_once(
    method: str,
    url: str,
    body: bytes | None,
    json: Any,
    params: dict[str, str] | None,
    headers: dict[str, str] | None,
    auth: Auth | None,
    timeout: tuple[float, float] | None,
    deadline: float | None,
    max_bytes: int,
) -> HttpResponse:
    """One try of :func:`request` (a 401 and its one fresh try included)."""
    if json is not None and body is not None:
        raise ValueError("Send a body or json, not both.")
    base_headers = dict(headers or {})
    if json is not None:
        body = jsonlib.dumps(json, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        if not any(name.lower() == "content-type" for name in base_headers):
            base_headers["Content-Type"] = "application/json"
    limit = settings.PEMA_HTTP_DEADLINE_SECONDS if deadline is None else deadline
    ends = time.monotonic() + limit
    outer = getattr(_current, "budget", None)
    if outer is not None and outer[0] < ends:
        # A request made inside another (a token fetch) spends the outer one's deadline.
        ends, limit = outer
    method = method.upper()
    # The final URL, so a hook signs what is sent (the query included).
    full_url = requests.Request(method, url, params=params).prepare().url or url
    _current.budget = (ends, limit)
    try:
        outgoing = OutgoingRequest(method, full_url, dict(base_headers), body)
        if auth is not None:
            auth.apply(outgoing)
        answer = _send(outgoing, ends, limit, timeout, max_bytes)
        if auth is not None and answer.status == 401 and auth.refused(outgoing):
            outgoing = OutgoingRequest(method, full_url, dict(base_headers), body)
            auth.apply(outgoing)
            answer = _send(outgoing, ends, limit, timeout, max_bytes)  # a second 401 stands
        return answer
    finally:
        _current.budget = outer


def _hooks_only(prepared: requests.PreparedRequest) -> requests.PreparedRequest:
    """requests' own auth, doing nothing: without one it would read ``~/.netrc`` and
    overwrite the hook's ``Authorization``. Credentials come from the hooks alone."""
    return prepared


def _send(
    outgoing: OutgoingRequest,
    ends: float,
    limit: float,
    timeout: tuple[float, float] | None,
    max_bytes: int,
) -> HttpResponse:
    """One exchange on the wire, its watchdog set for what is left of the deadline."""
    remaining = ends - time.monotonic()
    if remaining <= 0:
        raise DeadlineExceeded(f"No complete answer within {limit:g} s.")
    call = _Call()
    watchdog = threading.Timer(remaining, call.expire)
    watchdog.daemon = True
    _current.call = call
    watchdog.start()
    try:
        response = session().request(
            outgoing.method,
            outgoing.url,
            data=outgoing.body,
            headers=outgoing.headers,
            auth=_hooks_only,
            timeout=timeout or default_timeout(),
            stream=True,
            # Never follow a redirect: requests would resend the partner's key
            # headers (IDS's X-API-Secret, a signature) to whatever host the
            # redirect names, and turn a POST into a GET. A 3xx is the caller's answer.
            allow_redirects=False,
        )
        try:
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_content(64 * 1024):
                chunks.append(chunk)
                size += len(chunk)
                if size > max_bytes:
                    break
            # At most one byte over the cap, however large the last chunk was.
            result = HttpResponse(
                response.status_code, b"".join(chunks)[: max_bytes + 1], dict(response.headers)
            )
        finally:
            response.close()
    except Exception as exc:
        if call.finish():
            raise DeadlineExceeded(f"No complete answer within {limit:g} s.") from exc
        raise
    finally:
        watchdog.cancel()
        _current.call = None
    if call.finish():
        raise DeadlineExceeded(f"No complete answer within {limit:g} s.")
    return result
