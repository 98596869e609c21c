"""What gunicorn itself refuses, and an oversized body, answer in the error shape (real server).

Runs ``gunicorn pema.wsgi:application`` with the project's ``gunicorn.conf.py``
on a free port; the database is an empty SQLite file, since nothing here gets
as far as a query (the 413's audit row cannot be written there and is logged).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from tests.sandbox import free_port

pytestmark = pytest.mark.e2e
ROOT = Path(settings.BASE_DIR)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    var = tmp_path_factory.mktemp("gunicorn")
    port = free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{var / 'db.sqlite3'}",
        "PEMA_VAR_DIR": str(var),
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "2",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "pema.wsgi:application", "-b", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def exchange(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes, read the whole answer (gunicorn closes after its errors)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


def assert_error_shape(headers: dict[str, str], body: bytes, code: str) -> None:
    assert headers["content-type"].startswith("application/json")
    assert headers["x-request-id"]
    error = json.loads(body)["error"]
    assert error["code"] == code and error["message"] and error["fields"] == {}


def test_a_request_line_over_the_limit_is_a_414_in_the_error_shape(server):
    path = "/api/v1/bookings/?hotel=" + "A" * 5000
    status, headers, body = exchange(server, f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert status == 414
    assert_error_shape(headers, body, "request_line_too_long")


def test_too_many_headers_is_a_431_in_the_error_shape(server):
    many = "".join(f"X-H{i}: v\r\n" for i in range(150))
    status, headers, body = exchange(
        server, f"GET /api/v1/ HTTP/1.1\r\nHost: x\r\n{many}\r\n".encode()
    )
    assert status == 431
    assert_error_shape(headers, body, "headers_too_large")


def test_a_body_over_the_limit_is_a_413_in_the_error_shape(server):
    body = b'{"special_requests": "' + b"x" * 3_000_000 + b'"}'
    request = (
        b"POST /api/v1/hotels/PEMA/bookings/ HTTP/1.1\r\nHost: localhost\r\n"
        b"Content-Type: application/json\r\nConnection: close\r\n"
        b"X-Request-ID: big-one\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    status, headers, answer = exchange(server, request + body)
    assert status == 413
    assert headers["x-request-id"] == "big-one"
    assert_error_shape(headers, answer, "payload_too_large")
