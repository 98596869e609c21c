"""The one outbound HTTP client: every call to a partner goes through :func:`request`
(:func:`post` and :func:`get` are its two common shapes).

Tests fake this one place (with ``responses``, which patches ``requests``).

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
"""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass, field

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

# Re-exported so callers classify failures without importing requests themselves.
ConnectionError = requests.ConnectionError  # noqa: A001
Timeout = requests.Timeout
RequestException = requests.RequestException


class DeadlineExceeded(requests.Timeout):
    """The call as a whole took longer than its deadline."""


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


def default_timeout() -> tuple[float, float]:
    return (settings.PEMA_HTTP_CONNECT_TIMEOUT, settings.PEMA_HTTP_READ_TIMEOUT)


def post(
    url: str,
    body: bytes,
    *,
    headers: dict[str, str] | None = None,
    timeout: tuple[float, float] | None = None,
    deadline: float | None = None,
    max_bytes: int = 4 * 1024 * 1024,
) -> HttpResponse:
    """POST ``body`` (see :func:`request`)."""
    return request(
        "POST", url, body, headers=headers, timeout=timeout, deadline=deadline, max_bytes=max_bytes
    )


def get(
    url: str,
    *,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    timeout: tuple[float, float] | None = None,
    deadline: float | None = None,
    max_bytes: int = 4 * 1024 * 1024,
) -> HttpResponse:
    """GET ``url`` with the query ``params`` (see :func:`request`)."""
    return request(
        "GET",
        url,
        None,
        params=params,
        headers=headers,
        timeout=timeout,
        deadline=deadline,
        max_bytes=max_bytes,
    )


def request(
    method: str,
    url: str,
    body: bytes | None = None,
    *,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    timeout: tuple[float, float] | None = None,
    deadline: float | None = None,
    max_bytes: int = 4 * 1024 * 1024,
) -> HttpResponse:
    """Send one request; raise ``requests`` errors for connection failures and timeouts.

    ``deadline`` (seconds, default ``PEMA_HTTP_DEADLINE_SECONDS``) bounds the
    whole call, from connecting to the last byte of the answer. The response
    body is read up to ``max_bytes`` (plus one byte, so callers can tell an
    oversized answer from a full one) to keep a hostile partner from filling
    memory.
    """
    limit = settings.PEMA_HTTP_DEADLINE_SECONDS if deadline is None else deadline
    call = _Call()
    watchdog = threading.Timer(limit, call.expire)
    watchdog.daemon = True
    _current.call = call
    watchdog.start()
    try:
        response = session().request(
            method,
            url,
            data=body,
            params=params,
            headers=headers or {},
            timeout=timeout or default_timeout(),
            stream=True,
        )
        try:
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_content(64 * 1024):
                chunks.append(chunk)
                size += len(chunk)
                if size > max_bytes:
                    break
            result = HttpResponse(response.status_code, b"".join(chunks), dict(response.headers))
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
