"""The sandbox's hardened HTTP request handling, shared by every simulator.

A sandbox faces test clients that misbehave on purpose, so a body is framed
by a plain decimal ``Content-Length`` only: a negative, non-numeric or
conflicting one is a 400, a chunked body a 411, and the connection is closed;
a body over the caller's limit is left unread, and a client silent for 30 s
is hung up on. :class:`HardenedRequestHandler` is the base of both the
harness's handler and the IDS Next sandbox's.
"""

from __future__ import annotations

import json
import re
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any


class BadFraming(Exception):
    """A request body that cannot be read safely: answer ``status`` and close."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# Content-Length as RFC 9110 defines it: digits only (no sign, no spaces), and sane in size.
_DECIMAL = re.compile(r"[0-9]{1,15}")


class HardenedRequestHandler(BaseHTTPRequestHandler):
    """Safe body reading and small answer helpers over ``BaseHTTPRequestHandler``."""

    protocol_version = "HTTP/1.1"
    # Seconds a socket may stay silent: a client that stops sending mid-body frees its thread.
    timeout = 30

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        # One line per call on stderr, as http.server does, without the reverse DNS.
        super().log_message(format, *args)

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        *,
        drip_ms: int = 0,
        headers: dict[str, str] | None = None,
    ) -> None:
        if drip_ms:
            self._drip(status, body, content_type, drip_ms)
            return
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _drip(self, status: int, body: bytes, content_type: str, drip_ms: int) -> None:
        """The whole answer, status line first, one byte every ``drip_ms``."""
        self.log_request(status, len(body))
        self.close_connection = True
        head = (
            f"{self.protocol_version} {status} {HTTPStatus(status).phrase}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        )
        raw = head.encode("latin-1") + body
        try:
            for i in range(len(raw)):
                self.wfile.write(raw[i : i + 1])
                time.sleep(drip_ms / 1000)
        except OSError:
            pass  # the client gave up waiting

    def _json(self, data: Any, status: int = 200) -> None:
        self._send(status, json.dumps(data, indent=2, default=str).encode(), "application/json")

    def _refuse(self, status: int, message: str) -> None:
        """Answer a request whose body cannot be read, and hang up: its bytes are unframed."""
        self.close_connection = True
        self._send(status, f"{message}\n".encode(), "text/plain; charset=utf-8")

    def _read_body(self, limit: int) -> bytes | None:
        """The request body, or None when it is larger than ``limit`` (left unread).

        Only a plain decimal ``Content-Length`` frames a body here: a negative or
        non-numeric value, conflicting copies of the header, or a chunked body
        raise :class:`BadFraming` rather than reading to the end of the stream,
        which a client that never closes would turn into a pinned thread.
        """
        if self.headers.get("Transfer-Encoding"):
            raise BadFraming(HTTPStatus.LENGTH_REQUIRED, "Send the body with a Content-Length.")
        values = {v.strip() for v in self.headers.get_all("Content-Length") or ()}
        if len(values) > 1:
            raise BadFraming(HTTPStatus.BAD_REQUEST, "Conflicting Content-Length headers.")
        value = values.pop() if values else "0"
        if not _DECIMAL.fullmatch(value):
            raise BadFraming(HTTPStatus.BAD_REQUEST, "Content-Length must be a decimal number.")
        length = int(value)
        if length > limit:
            return None
        try:
            body = self.rfile.read(length) if length else b""
        except TimeoutError as exc:
            raise BadFraming(
                HTTPStatus.REQUEST_TIMEOUT, "The body did not arrive in time."
            ) from exc
        if len(body) < length:
            raise BadFraming(HTTPStatus.BAD_REQUEST, "The body is shorter than its Content-Length.")
        return body
