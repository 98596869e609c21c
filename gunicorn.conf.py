"""gunicorn settings of the web process (read from the working directory by gunicorn itself).

Threaded workers (``gthread``) rather than sync ones: a sync worker closes
the connection after every response, so a booking engine that keeps its
connection open paid a new TCP connection per call, and one slow client held
a whole worker. A request spends part of its time waiting on PostgreSQL and
Redis, which a second thread uses. One worker per core plus one keeps both
cores busy without the workers crowding each other out; ``WEB_CONCURRENCY``
and ``GUNICORN_THREADS`` override the counts. Each thread keeps its own
database connection (``CONN_MAX_AGE``), so the server holds up to
workers x threads connections.
"""

from __future__ import annotations

import os

workers = int(os.environ.get("WEB_CONCURRENCY") or (os.cpu_count() or 1) + 1)
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS") or 4)
keepalive = 30  # seconds an idle keep-alive connection stays open
