"""The staff workspace on PostgreSQL: server time of admin pages with 5,000 reservations.

Builds a dedicated database (``pema_bench_admin``, or ``<BENCH_DB_PREFIX>_admin``) on
the PostgreSQL server that ``DATABASE_URL`` names (else the local one), seeds the
Pema hotel with its calendar, 5,000 reservations spread over the next 60 days and
made over the last 40, and a channel connection with a sync log; gathers the
planner's statistics (``ANALYZE``), then times each case in one process through
Django's request handler (middleware, view, templates and queries: the server's
time, no network), logged in as a superuser, after a few warm-up requests.

Cases are the functions listed in :data:`CASES`: ``case(client, context) ->
response``. Add a page (the rate grid, a cell edit) by writing one and listing it.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.bench_api import _database_urls, _env, _redis_url

TITLE = "Staff workspace: admin pages with 5,000 reservations"
ROOT = Path(__file__).resolve().parent.parent
DB_NAME = os.environ.get("BENCH_DB_PREFIX", "pema_bench") + "_admin"
RESERVATIONS = 5000
WARM_UP = 5
REQUESTS = 100
TARGET_P95_MS = 150.0


# ------------------------------------------------------------------ the cases


def dashboard(client, context):
    """The Today dashboard (the admin index) of the seeded hotel."""
    return client.get(f"/admin/?hotel={context['hotel_code']}")


def connection_page(client, context):
    """A connection's health and traffic page."""
    return client.get(f"/admin/channels/connection/{context['connection_id']}/overview/")


CASES = [dashboard, connection_page]


# ------------------------------------------------------------------ in the seeded process


def seed_and_measure(reservations: int, requests: int) -> dict:
    """Runs inside the benchmark's database: seed, then time every case."""
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client

    from bookings.models import Hotel
    from bookings.seed import seed_pema_wellness
    from channels.models import SyncLog
    from tests.ids_connection import make_connection
    from tests.support.bulk import bulk_reservations

    seed_pema_wellness()
    hotel = Hotel.objects.get(code="PEMA")
    bulk_reservations(hotel, reservations, days=60)
    conn = make_connection(hotel)
    SyncLog.objects.bulk_create(
        [SyncLog(connection=conn, operation="OTA_HotelAvailNotif", status="success")] * 500
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    user = User.objects.create_superuser("bench", "bench@bench.test", "bench")
    client = Client()
    client.force_login(user)
    context = {"hotel_code": hotel.code, "hotel_id": hotel.pk, "connection_id": conn.pk}
    results = {}
    for case in CASES:
        for _ in range(WARM_UP):
            assert case(client, context).status_code < 400, case.__name__
        times = []
        for _ in range(requests):
            started = time.perf_counter()
            response = case(client, context)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code < 400, case.__name__
        results[case.__name__] = {"times": times, **_queries(connection, case, client, context)}
    return results


def _queries(connection, case, client, context) -> dict:
    """The queries one request of ``case`` makes, their time, and the slowest."""
    seen: list[tuple[float, str]] = []

    def timed(execute, sql, params, many, ctx):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, ctx)
        finally:
            seen.append(((time.perf_counter() - started) * 1000, sql))

    with connection.execute_wrapper(timed):
        case(client, context)
    slowest = max(seen, default=(0.0, ""))
    return {
        "queries": len(seen),
        "sql_ms": sum(ms for ms, _ in seen),
        "slowest": [round(slowest[0], 1), slowest[1][:200]],
    }


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(round(share * (len(ordered) - 1))), len(ordered) - 1)]


def run() -> str:
    import psycopg

    admin_url, _ = _database_urls()
    db_url = admin_url.rsplit("/", 1)[0] + f"/{DB_NAME}"
    with psycopg.connect(admin_url.replace("postgres://", "postgresql://"), autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{DB_NAME}"')
    var_dir = Path(os.environ.get("PEMA_VAR_DIR", ROOT / "var")) / "bench-admin"
    var_dir.mkdir(parents=True, exist_ok=True)
    env = _env(db_url, var_dir, _redis_url())
    env["ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"
    py = sys.executable
    subprocess.run([py, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    load_before = os.getloadavg()[0]
    script = (
        "import json\nfrom benchmarks.bench_admin import seed_and_measure\n"
        f"print(json.dumps(seed_and_measure({RESERVATIONS}, {REQUESTS})))"
    )
    done = subprocess.run(
        [py, "-c", script], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    results = json.loads(done.stdout.strip().splitlines()[-1])
    lines = [
        f"{RESERVATIONS:,} reservations; {REQUESTS} requests per page after {WARM_UP} warm-up; "
        f"server time through Django's handler on PostgreSQL; load average "
        f"{load_before:.1f} before. Target: p95 <= {TARGET_P95_MS:.0f} ms.",
        "",
        "| page | p50 ms | p95 ms | max ms | queries | SQL ms (one request) | target |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, row in results.items():
        times = row["times"]
        p95 = _percentile(times, 0.95)
        lines.append(
            f"| {name} | {statistics.median(times):.1f} | {p95:.1f} | {max(times):.1f} | "
            f"{row['queries']} | {row['sql_ms']:.1f} | "
            f"{'met' if p95 <= TARGET_P95_MS else 'MISSED'} |"
        )
    for name, row in results.items():
        print(f"{name}: slowest query {row['slowest']}", file=sys.stderr)
    return "\n".join(lines)
