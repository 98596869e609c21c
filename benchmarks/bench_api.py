"""Booking-engine API under gunicorn on PostgreSQL: availability, booking create, the floor.

Builds a dedicated database (``pema_bench_api``, or ``<BENCH_DB_PREFIX>_api`` so
that several runs can share a server, on the PostgreSQL server that
``DATABASE_URL`` names, else the local one), seeds the Pema hotel with 500 days
of calendar and 5,000 reservations, gathers the planner's statistics
(``ANALYZE``, as autovacuum would on a live database), starts gunicorn on it
with the project's ``gunicorn.conf.py``, and drives it at 1 and at 16
concurrent clients. Like production it uses Redis for the cache (``REDIS_URL``,
else the local server when it answers, else the file cache, which the report
then names).

Each client is its own process with one keep-alive ``http.client``
connection, so the clients do not queue on one interpreter's GIL; they do
share the machine's cores with the server, which the report says.

Availability is measured twice: with the cache of answers (emptied before
each row, check-in dates drawn from 450 days, so every stay is computed once
and the row reports its hit rate), and on a second server with the cache
turned off, which is what every miss costs.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

TITLE = "Booking-engine API: availability, booking create and the framework floor"
ROOT = Path(__file__).resolve().parent.parent
DB_NAME = os.environ.get("BENCH_DB_PREFIX", "pema_bench") + "_api"
RESERVATIONS = 5000
DURATION = {1: 8.0, 16: 10.0}
TARGETS = "availability p95 at 1 client <= 15 ms and <= 2x the floor; create p95 <= 40 ms; "
TARGETS += "availability >= 300 req/s at 16 clients; "
TARGETS += "booking create >= 150 req/s with p95 <= 150 ms at 16 clients"
CACHE_PREFIX = "pema-bench-api"

SEED = r"""
import json, random, sys
from collections import Counter
from datetime import timedelta
import django
django.setup()
from django.db import transaction
from bookings.api_keys import issue_key
from bookings.models import Guest, InventoryDay, Reservation, ReservationRoom, RoomNight
from bookings.seed import seed_pema_wellness
from bookings.reservations import new_confirmation_number

seed_pema_wellness()
from bookings.models import Hotel
hotel = Hotel.objects.get(code="PEMA")
rng = random.Random(7)
today = hotel.today()
room_types = list(hotel.room_types.all())
plans = list(hotel.rate_plans.all())
rows = InventoryDay.objects.filter(room_type__hotel=hotel)
inventory = {(r.room_type_id, r.date): r for r in rows}
with transaction.atomic():
    guests = Guest.objects.bulk_create(
        [Guest(hotel=hotel, first_name="Bench", last_name=f"G{i}", email=f"g{i}@bench.test")
         for i in range(N)], batch_size=1000)
    stays, sold = [], Counter()
    numbers = set()
    reservations = []
    while len(reservations) < N:
        rt = rng.choice(room_types)
        nights = rng.randint(1, 4)
        start = today + timedelta(days=rng.randint(0, 480))
        dates = [start + timedelta(days=d) for d in range(nights)]
        if any(sold[(rt.id, d)] + 1 > inventory[(rt.id, d)].total for d in dates):
            continue  # never oversell, as the real booking path would not
        for d in dates:
            sold[(rt.id, d)] += 1
        number = new_confirmation_number(hotel)
        while number in numbers:
            number = new_confirmation_number(hotel)
        numbers.add(number)
        reservations.append(Reservation(hotel=hotel, confirmation_number=number,
            source="booking_engine", guest=guests[len(reservations)], check_in=start,
            check_out=start + timedelta(days=nights), adults=2, total_amount=1000000 * nights,
            currency="INR"))
        stays.append((rt, rng.choice(plans), dates))
    Reservation.objects.bulk_create(reservations, batch_size=1000)
    rooms = ReservationRoom.objects.bulk_create(
        [ReservationRoom(reservation=r, room_type=rt, rate_plan=p, adults=2,
                         total_amount=r.total_amount)
         for r, (rt, p, _) in zip(reservations, stays)], batch_size=1000)
    RoomNight.objects.bulk_create(
        [RoomNight(stay=room, date=d, price=1000000)
         for room, (_, _, dates) in zip(rooms, stays) for d in dates], batch_size=5000)
    for key, count in sold.items():
        inventory[key].sold = count
    InventoryDay.objects.bulk_update([inventory[k] for k in sold], ["sold"], batch_size=2000)
issued = issue_key(name="bench", hotels=[hotel],
                   scopes=["availability:read", "bookings:read", "bookings:write"])
print(json.dumps({"key": issued.raw, "reservations": len(reservations),
                  "room_types": [(rt.code, rt.max_adults) for rt in room_types],
                  "plans": [p.code for p in plans], "today": today.isoformat()}))
"""


def booking_request_maker(today: date, codes: list[str], plans: list[str]):
    """A request maker for one-night bookings spread over the next 480 days."""

    def create(rng):
        check_in = today + timedelta(days=rng.randint(1, 480))
        body = json.dumps(
            {
                "room_type": rng.choice(codes),
                "rate_plan": rng.choice(plans),
                "check_in": check_in.isoformat(),
                "check_out": (check_in + timedelta(days=1)).isoformat(),
                "adults": 1,
                "guest": {
                    "first_name": "Load",
                    "last_name": "Test",
                    "email": f"{uuid.uuid4().hex[:12]}@bench.test",
                },
            }
        )
        headers = {"Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex}
        return "POST", "/api/v1/hotels/PEMA/bookings/", body, headers

    return create


def _database_urls(name: str = DB_NAME) -> tuple[str, str]:
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    if not base.startswith("postgres"):
        base = "postgres://postgres@127.0.0.1:5432/postgres"
    parts = urlsplit(base)
    return base, urlunsplit(parts._replace(path=f"/{name}"))


def _recreate_database(admin_url: str, name: str = DB_NAME) -> None:
    import psycopg

    with psycopg.connect(admin_url.replace("postgres://", "postgresql://"), autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{name}"')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _redis_url() -> str:
    """The Redis the benchmark's server uses: REDIS_URL, else the local one if it answers."""
    url = os.environ.get("REDIS_URL", "")
    if url:
        return url
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        return ""
    return "redis://127.0.0.1:6379/13"


def _empty_cache(redis_url: str) -> None:
    """Drop the benchmark's own cache entries (its key prefix only), so a row starts cold."""
    if not redis_url:
        return
    import redis

    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{CACHE_PREFIX}:*", count=1000))
    for start in range(0, len(keys), 1000):
        client.delete(*keys[start : start + 1000])
    client.close()


def _env(db_url: str, var_dir: Path, redis_url: str) -> dict:
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "PEMA_VAR_DIR": str(var_dir),
        "DEBUG": "False",
        "SECRET_KEY": "bench-" + uuid.uuid4().hex,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "False",
        "FIELD_ENCRYPTION_KEY": "bench-" + uuid.uuid4().hex,
        "PEMA_API_RATE_LIMIT": "100000000/min",
        "CACHE_KEY_PREFIX": CACHE_PREFIX,
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "pema.settings",
    }
    if redis_url:
        env["REDIS_URL"] = redis_url
    else:
        env.pop("REDIS_URL", None)
    return env


def _client(port, key, make_request, index, ready, go, stop_after, results) -> None:
    """One client process: one keep-alive connection, requests back to back until told."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.connect()
    rng = random.Random(index)
    latencies, codes, paths = [], {}, set()
    ready.wait()
    go.wait()
    stop = time.monotonic() + stop_after
    while time.monotonic() < stop:
        method, path, body, headers = make_request(rng)
        headers = {"Authorization": f"Bearer {key}", **headers}
        started = time.perf_counter()
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        latencies.append(time.perf_counter() - started)
        codes[response.status] = codes.get(response.status, 0) + 1
        paths.add(path if method == "GET" else "")
    conn.close()
    results.put((latencies, codes, paths))


class Load:
    """Clients as processes, each with one keep-alive connection, for a fixed time."""

    def __init__(self, port: int, key: str) -> None:
        self.port, self.key = port, key

    def run(self, clients: int, seconds: float, make_request) -> dict:
        # fork: the request makers are closures, and the parent has no threads to copy.
        ctx = multiprocessing.get_context("fork")
        ready, go = ctx.Barrier(clients + 1), ctx.Event()
        results = ctx.Queue()
        procs = [
            ctx.Process(
                target=_client,
                args=(self.port, self.key, make_request, i, ready, go, seconds, results),
            )
            for i in range(clients)
        ]
        for p in procs:
            p.start()
        ready.wait()  # every client connected: start them together
        started = time.monotonic()
        go.set()
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        paths: set[str] = set()
        for _ in procs:
            mine, codes, seen = results.get()
            latencies.extend(mine)
            paths |= seen
            for k, v in codes.items():
                statuses[k] = statuses.get(k, 0) + v
        elapsed = time.monotonic() - started
        for p in procs:
            p.join()
        latencies.sort()
        q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
        return {
            "rps": len(latencies) / elapsed,
            "p50": q[49] * 1000,
            "p95": q[94] * 1000,
            "n": len(latencies),
            "distinct": len(paths - {""}),
            "statuses": statuses,
        }


class Server:
    """gunicorn on the benchmark database, with the project's gunicorn.conf.py."""

    def __init__(self, env: dict) -> None:
        self.port = _free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "pema.wsgi:application",
             "-b", f"127.0.0.1:{self.port}", "--log-level", "warning"],
            cwd=ROOT, env=env,
        )  # fmt: skip
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.1)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def _gunicorn_shape(env: dict) -> str:
    """Workers, worker class and threads as gunicorn.conf.py settles them here."""
    shape = subprocess.run(
        [sys.executable, "-c",
         "import runpy; c = runpy.run_path('gunicorn.conf.py'); "
         "print(c['workers'], c['worker_class'], c['threads'])"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    return f"{shape[0]} {shape[1]} workers x {shape[2]} threads"


def run() -> str:
    admin_url, db_url = _database_urls()
    _recreate_database(admin_url)
    var_dir = Path(os.environ.get("PEMA_VAR_DIR", ROOT / "var")) / "bench-api"
    var_dir.mkdir(parents=True, exist_ok=True)
    redis_url = _redis_url()
    env = _env(db_url, var_dir, redis_url)
    py = sys.executable
    subprocess.run([py, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    t0 = time.monotonic()
    seeded = subprocess.run(
        [py, "-c", f"N = {RESERVATIONS}\n{SEED}"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    info = json.loads(seeded.stdout.strip().splitlines()[-1])
    seed_seconds = time.monotonic() - t0
    import psycopg

    with psycopg.connect(db_url.replace("postgres://", "postgresql://"), autocommit=True) as c:
        c.execute("ANALYZE")
    _empty_cache(redis_url)
    shape = _gunicorn_shape(env)
    load_before = os.getloadavg()[0]

    today = date.fromisoformat(info["today"])
    codes = [code for code, _ in info["room_types"]]

    def availability(rng):
        check_in = today + timedelta(days=rng.randint(1, 450))
        path = (
            f"/api/v1/hotels/PEMA/availability/?check_in={check_in}"
            f"&check_out={check_in + timedelta(days=7)}&adults=2"
        )
        return "GET", path, None, {}

    create = booking_request_maker(today, codes, info["plans"])

    def floor(rng):
        return "POST", "/api/v1/auth/validate/", None, {}

    FLOOR, CACHED = "floor (auth/validate)", "availability, 7 nights"
    UNCACHED = "availability, 7 nights, cache off"
    CREATE = "booking create"
    rows, figures = [], {}

    def measure(load: Load, name: str, clients: int, make, note: str = "") -> None:
        result = load.run(clients, DURATION[clients], make)
        figures[(name, clients)] = result
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(result["statuses"].items()))
        if note:
            statuses += f"; {note}"
        rows.append(
            f"| {name} | {clients} | {result['rps']:.0f} | {result['p50']:.1f} | "
            f"{result['p95']:.1f} | {statuses} |"
        )

    # First the server with the cache of answers turned off: what every miss costs.
    server = Server({**env, "PEMA_AVAILABILITY_CACHE_SECONDS": "0"})
    try:
        load = Load(server.port, info["key"])
        load.run(4, 2.0, availability)  # warm every worker's connections
        for clients in (1, 16):
            measure(load, UNCACHED, clients, availability)
    finally:
        server.stop()

    server = Server(env)
    try:
        load = Load(server.port, info["key"])
        load.run(4, 2.0, availability)
        for clients in (1, 16):
            measure(load, FLOOR, clients, floor)
            _empty_cache(redis_url)  # each cached row starts cold
            measure(load, CACHED, clients, availability)
            r = figures[(CACHED, clients)]
            hits = 1 - r["distinct"] / r["n"] if r["n"] else 0.0
            rows[-1] = rows[-1][:-2] + f"; {r['distinct']} distinct stays, hit rate {hits:.0%} |"
            measure(load, CREATE, clients, create)
    finally:
        server.stop()

    order = {FLOOR: 0, CACHED: 1, UNCACHED: 2, CREATE: 3}
    rows.sort(key=lambda row: (int(row.split("|")[2]), order[row.split("|")[1].strip()]))
    a1 = figures[(CACHED, 1)]
    u1 = figures[(UNCACHED, 1)]
    f1 = figures[(FLOOR, 1)]
    c1 = figures[(CREATE, 1)]
    c16 = figures[(CREATE, 16)]
    a16 = figures[(CACHED, 16)]
    u16 = figures[(UNCACHED, 16)]
    checks = [
        ("availability p95 at 1 client <= 15 ms (cached)", a1["p95"] <= 15),
        ("availability p95 at 1 client <= 15 ms (cache off)", u1["p95"] <= 15),
        ("availability p95 at 1 client <= 2x floor p95 (cached)", a1["p95"] <= 2 * f1["p95"]),
        ("availability p95 at 1 client <= 2x floor p95 (cache off)", u1["p95"] <= 2 * f1["p95"]),
        ("booking create p95 at 1 client <= 40 ms", c1["p95"] <= 40),
        ("availability >= 300 req/s at 16 clients (cached)", a16["rps"] >= 300),
        ("availability >= 300 req/s at 16 clients (cache off)", u16["rps"] >= 300),
        ("booking create >= 150 req/s at 16 clients", c16["rps"] >= 150),
        ("booking create p95 at 16 clients <= 150 ms", c16["p95"] <= 150),
    ]
    verdicts = "\n".join(f"- {'met' if ok else 'MISSED'}: {label}" for label, ok in checks)
    load_after = os.getloadavg()[0]
    cache = "Redis" if redis_url else "the file cache (no Redis reachable)"
    return (
        f"gunicorn ({shape}, `gunicorn.conf.py`) on PostgreSQL database `{DB_NAME}` "
        f"(analysed after seeding) and {cache} for the cache; the Pema hotel with 500 days "
        f"of calendar and {info['reservations']} reservations (seeded in {seed_seconds:.0f} s). "
        "Load: one process per client, each with one keep-alive `http.client` connection, "
        f"on the same {os.cpu_count()} cores as the server, PostgreSQL and Redis "
        f"({DURATION[1]:.0f} s at 1 client, {DURATION[16]:.0f} s at 16). Availability asks "
        "for 7 nights from a check-in drawn from the next 450 days. The cached rows start "
        "with an empty cache, so each distinct stay is computed once (the hit rate is "
        "1 - distinct / requests); the cache-off rows run on a second server with "
        "`PEMA_AVAILABILITY_CACHE_SECONDS=0`, so every request reads the calendar. "
        "Latencies in ms. The machine's 1-minute load average was "
        f"{load_before:.1f} before the runs and {load_after:.1f} after (anything above "
        "what the benchmark itself adds is other work sharing the cores).\n\n"
        "| endpoint | clients | req/s | p50 | p95 | statuses |\n"
        "| --- | ---: | ---: | ---: | ---: | --- |\n" + "\n".join(rows) + "\n\n"
        f"Targets: {TARGETS}.\n\n{verdicts}\n"
    )
