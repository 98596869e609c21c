"""Booking-engine API under gunicorn on PostgreSQL: availability, booking create, the floor.

Builds a dedicated database (``pema_bench_api`` on the PostgreSQL server that
``DATABASE_URL`` names, else the local one), seeds the Pema hotel with 500
days of calendar and 5,000 reservations, starts gunicorn on it, and drives it
with keep-alive HTTP clients in threads at 1 and at 16 concurrent clients.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

TITLE = "Booking-engine API: availability, booking create and the framework floor"
ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "pema_bench_api"
RESERVATIONS = 5000
DURATION = {1: 8.0, 16: 10.0}
TARGETS = "availability p95 at 1 client <= 15 ms and <= 2x the floor; create p95 <= 40 ms; "
TARGETS += "availability >= 300 req/s at 16 clients"

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


def _database_urls() -> tuple[str, str]:
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    if not base.startswith("postgres"):
        base = "postgres://postgres@127.0.0.1:5432/postgres"
    parts = urlsplit(base)
    return base, urlunsplit(parts._replace(path=f"/{DB_NAME}"))


def _recreate_database(admin_url: str) -> None:
    import psycopg

    with psycopg.connect(admin_url.replace("postgres://", "postgresql://"), autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{DB_NAME}"')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(db_url: str, var_dir: Path) -> dict:
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
        "CACHE_KEY_PREFIX": "pema-bench-api",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "pema.settings",
    }
    return env


class Load:
    """Clients in threads, each with one keep-alive connection, for a fixed time."""

    def __init__(self, port: int, key: str) -> None:
        self.port, self.key = port, key

    def run(self, clients: int, seconds: float, make_request) -> dict:
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        lock = threading.Lock()
        stop = time.monotonic() + seconds

        def client(index: int) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            rng = random.Random(index)
            mine, codes = [], {}
            while time.monotonic() < stop:
                method, path, body, headers = make_request(rng)
                headers = {"Authorization": f"Bearer {self.key}", **headers}
                started = time.perf_counter()
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                mine.append(time.perf_counter() - started)
                codes[response.status] = codes.get(response.status, 0) + 1
            conn.close()
            with lock:
                latencies.extend(mine)
                for k, v in codes.items():
                    statuses[k] = statuses.get(k, 0) + v

        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        latencies.sort()
        q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
        return {
            "rps": len(latencies) / elapsed,
            "p50": q[49] * 1000,
            "p95": q[94] * 1000,
            "n": len(latencies),
            "statuses": statuses,
        }


def run() -> str:
    admin_url, db_url = _database_urls()
    _recreate_database(admin_url)
    var_dir = Path(os.environ.get("PEMA_VAR_DIR", ROOT / "var")) / "bench-api"
    var_dir.mkdir(parents=True, exist_ok=True)
    env = _env(db_url, var_dir)
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
    port = _free_port()
    workers = max(2, (os.cpu_count() or 1) * 2)
    server = subprocess.Popen(
        [
            py, "-m", "gunicorn", "pema.wsgi:application", "-b", f"127.0.0.1:{port}",
            "-w", str(workers), "--keep-alive", "30", "--log-level", "warning",
        ],
        cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        load = Load(port, info["key"])
        from datetime import date, timedelta

        today = date.fromisoformat(info["today"])
        codes = [code for code, _ in info["room_types"]]

        def availability(rng):
            check_in = today + timedelta(days=rng.randint(1, 450))
            path = (
                f"/api/v1/hotels/PEMA/availability/?check_in={check_in}"
                f"&check_out={check_in + timedelta(days=7)}&adults=2"
            )
            return "GET", path, None, {}

        def create(rng):
            check_in = today + timedelta(days=rng.randint(1, 480))
            body = json.dumps(
                {
                    "room_type": rng.choice(codes),
                    "rate_plan": rng.choice(info["plans"]),
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

        def floor(rng):
            return "POST", "/api/v1/auth/validate/", None, {}

        scenarios = [("floor (auth/validate)", floor), ("availability, 7 nights", availability)]
        scenarios.append(("booking create", create))
        load.run(4, 2.0, availability)  # warm every worker's connections and caches
        rows, figures = [], {}
        for clients in (1, 16):
            for name, make in scenarios:
                result = load.run(clients, DURATION[clients], make)
                figures[(name, clients)] = result
                statuses = ", ".join(f"{k}: {v}" for k, v in sorted(result["statuses"].items()))
                rows.append(
                    f"| {name} | {clients} | {result['rps']:.0f} | {result['p50']:.1f} | "
                    f"{result['p95']:.1f} | {statuses} |"
                )
    finally:
        server.terminate()
        server.wait(timeout=30)
    a1 = figures[("availability, 7 nights", 1)]
    f1 = figures[("floor (auth/validate)", 1)]
    c1 = figures[("booking create", 1)]
    a16 = figures[("availability, 7 nights", 16)]
    checks = [
        ("availability p95 at 1 client <= 15 ms", a1["p95"] <= 15),
        ("availability p95 at 1 client <= 2x floor p95", a1["p95"] <= 2 * f1["p95"]),
        ("booking create p95 at 1 client <= 40 ms", c1["p95"] <= 40),
        ("availability >= 300 req/s at 16 clients", a16["rps"] >= 300),
    ]
    verdicts = "\n".join(f"- {'met' if ok else 'MISSED'}: {label}" for label, ok in checks)
    return (
        f"gunicorn ({workers} sync workers) on PostgreSQL database `{DB_NAME}`; the Pema hotel "
        f"with 500 days of calendar and {info['reservations']} reservations (seeded in "
        f"{seed_seconds:.0f} s); keep-alive clients in threads of the same machine "
        f"({DURATION[1]:.0f} s at 1 client, {DURATION[16]:.0f} s at 16). Latencies in ms.\n\n"
        "| endpoint | clients | req/s | p50 | p95 | statuses |\n"
        "| --- | ---: | ---: | ---: | ---: | --- |\n" + "\n".join(rows) + "\n\n"
        f"Targets: {TARGETS}.\n\n{verdicts}\n"
    )
