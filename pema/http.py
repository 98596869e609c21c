"""The one outbound HTTP client: every call to a partner goes through :func:`post`.

Tests fake this one place (with ``responses``, which patches ``requests``).
Timeouts are always set: a partner that never answers must not hold a worker.
"""

from __future__ import annotations

from dataclasses import dataclass

import requests
from django.conf import settings

# Re-exported so callers classify failures without importing requests themselves.
ConnectionError = requests.ConnectionError  # noqa: A001
Timeout = requests.Timeout
RequestException = requests.RequestException

_session: requests.Session | None = None


def session() -> requests.Session:
    """A shared session (connection pooling); requests sessions are fine across threads for
    simple posts."""
    global _session
    if _session is None:
        _session = requests.Session()
        _session.headers["User-Agent"] = f"Pema/{settings.PEMA_VERSION}"
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
    max_bytes: int = 4 * 1024 * 1024,
) -> HttpResponse:
    """POST ``body``; raise ``requests`` errors for connection failures and timeouts.

    The response body is read up to ``max_bytes`` (plus one byte, so callers can
    tell an oversized answer from a full one) to keep a hostile partner from
    filling memory.
    """
    response = session().post(
        url, data=body, headers=headers or {}, timeout=timeout or default_timeout(), stream=True
    )
    try:
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_content(64 * 1024):
            chunks.append(chunk)
            size += len(chunk)
            if size > max_bytes:
                break
        return HttpResponse(response.status_code, b"".join(chunks), dict(response.headers))
    finally:
        response.close()
