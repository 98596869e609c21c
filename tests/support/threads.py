"""Running a test's workers on real threads, all started together (PostgreSQL tests)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connections


def run_together(work: Callable[[], None], count: int) -> None:
    """Run ``work`` on ``count`` threads released at once by a barrier; wait for them all.

    Each thread closes its own database connections when done, so the test
    database can be dropped afterwards.
    """
    barrier = threading.Barrier(count)

    def run() -> None:
        try:
            barrier.wait()
            work()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
