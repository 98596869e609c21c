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
"""

from __future__ import annotations

import gc
import os

workers = int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 1)
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS") or 4)
keepalive = 30  # seconds an idle keep-alive connection stays open


def post_worker_init(worker) -> None:
    """Move everything loaded so far (Django, the app) out of the collector's sight.

    Those objects live as long as the worker; without this every full
    collection walks them again, a pause of a few milliseconds in some
    unlucky request.
    """
    gc.freeze()
