"""IDS Next: ARI change-to-sandbox latency with a real worker, and a 500-day full sync.

Starts the IDS Next sandbox and a Celery worker (solo pool, private queue) as
subprocesses, on the database and broker the settings name. Uses the seeded
Pema hotel through a temporary connection; the hotel's other connections are
paused meanwhile and restored afterwards.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

TITLE = "IDS Next sync: ARI latency and a 500-day full sync"
CHANGES = 100


def _start_worker(queue: str) -> tuple[subprocess.Popen, Path]:
    from django.conf import settings

    log = Path(tempfile.mkdtemp(prefix="pema-bench-worker-")) / "worker.log"
    env = {**os.environ, "CHANNELS_TASK_QUEUE": queue, "PEMA_VAR_DIR": str(settings.VAR_DIR)}
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "pema",
        "worker",
        "--pool=solo",
        "-Q",
        queue,
        "--loglevel=WARNING",
        "--without-mingle",
        "--without-gossip",
        "--without-heartbeat",
    ]
    with open(log, "ab") as out:
        process = subprocess.Popen(
            command, cwd=settings.BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    # The worker logs nothing at WARNING when it is ready: give it a moment.
    time.sleep(6)
    return process, log


def run() -> str:
    import django

    django.setup()
    from django.conf import settings
    from django.utils import timezone

    from bookings.ari import AriChanges, apply_ari_update
    from bookings.seed import seed_pema_wellness
    from channels.delivery import deliver
    from channels.dispatch import plan_full_sync
    from channels.models import Connection, SyncJob
    from tests.sandbox import RunningSandbox

    seed_pema_wellness()
    from bookings.models import Hotel

    hotel = Hotel.objects.get(code="PEMA")
    room_types = list(hotel.room_types.all())
    paused = list(hotel.connections.filter(enabled=True).values_list("pk", flat=True))
    Connection.objects.filter(pk__in=paused).update(enabled=False)
    queue = f"pema-bench-{uuid.uuid4().hex[:8]}"
    settings.CHANNELS_TASK_QUEUE = queue
    sandbox = RunningSandbox().start()
    conn = Connection.objects.create(
        # Measured from here on: its first full sync (a new connection's) is timed below.
        last_full_sync_at=timezone.now(),
        hotel=hotel,
        provider="ids_next",
        name=f"IDS bench {queue}",
        base_url=sandbox.base_url,
        settings={"hotel_code": sandbox.hotel_code},
        credentials={"api_key": sandbox.api_key, "api_secret": sandbox.api_secret},
    )
    worker, _log = _start_worker(queue)
    try:
        ext = hotel.room_types.get(code="EXT")
        plan = hotel.rate_plans.get(code="BAR-BB")
        latencies = []
        for i in range(CHANGES):
            day = hotel.today() + timedelta(days=10 + i)
            price = 1_500_000 + i * 100
            began = time.perf_counter()
            apply_ari_update(
                hotel,
                start=day,
                end=day,
                changes=AriChanges(price=price),
                rate_plans=[plan],
                room_types=[ext],
            )
            key, when = f"{plan.code}/{ext.code}", day.isoformat()
            deadline = began + 30
            while time.perf_counter() < deadline:
                rates = sandbox.state()["rates"].get(key, {})
                if rates.get(when, {}).get("amount") == price:
                    break
                time.sleep(0.01)
            latencies.append(time.perf_counter() - began)
        latencies.sort()
        p50 = statistics.median(latencies)
        p95 = latencies[int(len(latencies) * 0.95) - 1]

        worker.terminate()
        worker.wait(timeout=15)
        SyncJob.objects.filter(connection=conn).delete()
        began = time.perf_counter()
        jobs = plan_full_sync(conn, days=500)
        planned = time.perf_counter() - began
        while deliver(conn.pk, budget_seconds=600).delivered:
            pass
        took = time.perf_counter() - began
        done = SyncJob.objects.filter(connection=conn, status="done")
        wire = sum(done.values_list("items", flat=True))
        failed = SyncJob.objects.filter(connection=conn).exclude(status="done").count()
        days_sent = len(sandbox.state()["inventory"].get("EXT", {}))
        naive = len(room_types) * 500
    finally:
        if worker.poll() is None:
            worker.terminate()
        sandbox.close()
        SyncJob.objects.filter(connection=conn).delete()
        conn.delete()
        Connection.objects.filter(pk__in=paused).update(enabled=True)
    return "\n".join(
        [
            f"ARI change -> sandbox holds it ({CHANGES} one-day price changes, real worker, "
            f"{settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}, broker "
            f"{settings.CELERY_BROKER_URL.split(':', 1)[0]}):",
            "",
            "| p50 | p95 | max |",
            "|---|---|---|",
            f"| {p50 * 1000:.0f} ms | {p95 * 1000:.0f} ms | {latencies[-1] * 1000:.0f} ms |",
            "",
            f"Full sync of the Pema hotel, 500 days, {len(room_types)} room types, 2 rate plans:",
            "",
            "| documents (HTTP calls) | wire status messages | seconds | naive messages "
            "(1 per room type per day, availability alone) |",
            "|---|---|---|---|",
            f"| {jobs} | {wire} | {took:.1f} (planning {planned:.1f}) | {naive} |",
            "",
            f"Jobs not delivered: {failed}; days of EXT inventory held by the sandbox: "
            f"{days_sent}.",
        ]
    )
