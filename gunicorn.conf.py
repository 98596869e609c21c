"""gunicorn settings of the web process (read from the working directory by gunicorn itself).

Threaded workers (``gthread``) rather than sync ones: a sync worker closes
the connection after every response, so a booking engine that keeps its
connection open paid a new TCP connection per call, and one slow client held
a whole worker. A request spends part of its time waiting on PostgreSQL and
Redis, which another thread of the worker uses. One worker per core: the
work is CPU-bound Python, so more workers than cores only take turns on
them (measured on 2 cores: 2 workers served more searches at 16 clients than
3); ``WEB_CONCURRENCY`` and ``GUNICORN_THREADS`` override the counts. Each
thread keeps its own database connection (``CONN_MAX_AGE``), so the server
holds up to workers x threads connections.

gunicorn refuses some requests before Django sees them: a request line over
``limit_request_line`` (414), too many or too large headers (431), a
malformed request (400). Its own answer for those is a small HTML page;
here it answers in the API's error shape instead (``json_error`` below), with
an ``X-Request-ID`` that gunicorn's warning in the log does not carry, since
no Django middleware ran (and so no audit row either). Bodies are Django's to
refuse (413 ``payload_too_large`` over ``DATA_UPLOAD_MAX_MEMORY_SIZE``): gunicorn
has no body limit, and it reads and discards a refused body before the next
request on the connection, so a proxy in front should cap bodies too.
"""

from __future__ import annotations

import gc
import json
import os
import uuid

from gunicorn import util

workers = int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 1)
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS") or 4)
keepalive = 30  # seconds an idle keep-alive connection stays open
# gunicorn's defaults, stated: the longest request line (method, path and query)
# and the header limits; what exceeds them gets the JSON answer below.
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190

# Codes of the API's error shape for what gunicorn refuses itself.
_ERROR_CODES = {
    400: "bad_request",
    403: "forbidden",
    414: "request_line_too_long",
    417: "expectation_failed",
    431: "headers_too_large",
    500: "server_error",
    501: "not_implemented",
}


def json_error(sock, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's ``util.write_error``, answering in the API's error shape."""
    code = _ERROR_CODES.get(status_int, reason.lower().replace(" ", "_"))
    message = f"{reason}: {mesg[:200]}" if mesg else f"{reason}."
    body = json.dumps({"error": {"code": code, "message": message, "fields": {}}}).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"X-Request-ID: {uuid.uuid4().hex}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


# gunicorn writes every error page of its own through this one function (looked up
# at call time), and workers fork from the process that read this file.
util.write_error = json_error


def post_worker_init(worker) -> None:
    """Move everything loaded so far (Django, the app) out of the collector's sight.

    Those objects live as long as the worker; without this every full
    collection walks them again, a pause of a few milliseconds in some
    unlucky request.
    """
    gc.freeze()
