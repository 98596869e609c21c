"""Booking create with Redis up, down and frozen: what a broker outage costs a guest.

The same gunicorn set-up as ``bench_api`` (its seed, server and load helpers),
on its own PostgreSQL database, with the Pema hotel's IDS Next connection
enabled so that every booking wakes the dispatcher through the broker after
its commit (the enqueue this measures). Redis is the cache and the broker:

- **up**: a private ``redis-server`` started for the benchmark (else the
  local Redis);
- **down**: a port nothing listens on (connections refused at once);
- **frozen**: the private ``redis-server`` stopped with SIGSTOP, so it accepts
  connections but never answers (the case socket timeouts are for).

Each server process skips the broker for ``PEMA_BROKER_BREAKER_SECONDS``
after a failed send, so the occasional request that tries again shows in
the max column, not in p50/p95. ``/readyz/`` is measured too, as a probe
polling it would see it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from benchmarks import bench_api
from benchmarks.bench_api import SEED, Load, Server

TITLE = "Booking create with the broker down: Redis up, down and frozen"
ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "pema_bench_broker_down"
RESERVATIONS = 500
SECONDS = 8.0
TARGET_MS = 100.0
TARGETS = f"booking create with Redis down at most {TARGET_MS:.0f} ms slower than with Redis up"

CONNECT = r"""
import django
django.setup()
from bookings.models import Hotel
from partners.ids_next.setup import ensure_ids_connection
ensure_ids_connection(Hotel.objects.get(code="PEMA"))
"""


class PrivateRedis:
    """A throw-away ``redis-server`` on a free port, which can be frozen and thawed."""

    def __init__(self) -> None:
        self.port = bench_api._free_port()
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        for _ in range(50):
            try:
                bench_api.socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.1)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def freeze(self) -> None:
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        self.thaw()
        self.proc.terminate()
        self.proc.wait(timeout=10)


def _admin_url() -> str:
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    return base if base.startswith("postgres") else "postgres://postgres@127.0.0.1:5432/postgres"


def run() -> str:
    import psycopg

    admin_url = _admin_url()
    db_url = bench_api.urlunsplit(bench_api.urlsplit(admin_url)._replace(path=f"/{DB_NAME}"))
    with psycopg.connect(admin_url.replace("postgres://", "postgresql://"), autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{DB_NAME}"')
    var_dir = Path(os.environ.get("PEMA_VAR_DIR", ROOT / "var")) / "bench-broker-down"
    var_dir.mkdir(parents=True, exist_ok=True)

    redis = PrivateRedis() if shutil.which("redis-server") else None
    up_url = redis.url if redis else bench_api._redis_url()
    if not up_url:
        return "No Redis to measure against (neither `redis-server` nor a local Redis)."
    dead_port = bench_api._free_port()  # nothing listens on it
    env = bench_api._env(db_url, var_dir, up_url)
    py = sys.executable
    subprocess.run([py, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    seeded = subprocess.run(
        [py, "-c", f"N = {RESERVATIONS}\n{SEED}"],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    info = json.loads(seeded.stdout.strip().splitlines()[-1])
    subprocess.run([py, "-c", CONNECT], cwd=ROOT, env=env, check=True)
    with psycopg.connect(db_url.replace("postgres://", "postgresql://"), autocommit=True) as c:
        c.execute("ANALYZE")
    load_before = os.getloadavg()[0]
    today = date.fromisoformat(info["today"])
    codes = [code for code, _ in info["room_types"]]

    create = bench_api.booking_request_maker(today, codes, info["plans"])

    def readyz(rng):
        return "GET", "/readyz/", None, {}

    rows, figures = [], {}

    def measure(label: str, server_env: dict, before=None, after=None) -> None:
        server = Server(server_env)
        try:
            load = Load(server.port, info["key"])
            load.run(1, 1.0, readyz)  # warm the workers
            if before:
                before()
            for name, make in (("booking create", create), ("readyz", readyz)):
                result = load.run(1, SECONDS, make)
                figures[(name, label)] = result
                statuses = ", ".join(f"{k}: {v}" for k, v in sorted(result["statuses"].items()))
                rows.append(
                    f"| {name} | {label} | {result['rps']:.0f} | {result['p50']:.1f} | "
                    f"{result['p95']:.1f} | {statuses} |"
                )
        finally:
            if after:
                after()
            server.stop()

    down_env = {**env, "REDIS_URL": f"redis://127.0.0.1:{dead_port}/0"}
    try:
        # Up and down alternate, twice: other work on the machine shifts both alike.
        for round_ in (1, 2):
            measure(f"up, run {round_}", env)
            measure(f"down (port closed), run {round_}", down_env)
        if redis:
            measure("frozen (SIGSTOP)", env, before=redis.freeze, after=redis.thaw)
    finally:
        if redis:
            redis.stop()

    def best(label: str) -> dict:
        runs = [figures[("booking create", f"{label}, run {n}")] for n in (1, 2)]
        return min(runs, key=lambda r: r["p50"])

    up, down = best("up"), best("down (port closed)")
    checks = [
        (
            f"booking create p50 with Redis down <= up + {TARGET_MS:.0f} ms "
            f"({down['p50']:.1f} vs {up['p50']:.1f})",
            down["p50"] <= up["p50"] + TARGET_MS,
        ),
        (
            f"booking create p95 with Redis down <= up + {TARGET_MS:.0f} ms "
            f"({down['p95']:.1f} vs {up['p95']:.1f})",
            down["p95"] <= up["p95"] + TARGET_MS,
        ),
    ]
    verdicts = "\n".join(f"- {'met' if ok else 'MISSED'}: {label}" for label, ok in checks)
    return (
        f"gunicorn (`gunicorn.conf.py`) on PostgreSQL database `{DB_NAME}`: the Pema hotel "
        f"with 500 days of calendar, {info['reservations']} reservations and its IDS Next "
        "connection enabled, so every booking sends a task after its commit; no worker runs. "
        "Redis (cache and broker) is "
        f"{'a private `redis-server`' if redis else 'the local Redis'} when up, a closed "
        "port when down, and that `redis-server` under SIGSTOP when frozen. One client, "
        f"{SECONDS:.0f} s per row, on the same {os.cpu_count()} cores as the server. "
        "Up and down run twice, alternating; the targets compare each one's better run. "
        f"Load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after. "
        "Latencies in ms.\n\n"
        "| endpoint | Redis | req/s | p50 | p95 | statuses |\n"
        "| --- | --- | ---: | ---: | ---: | --- |\n" + "\n".join(rows) + "\n\n"
        f"Targets: {TARGETS}.\n\n{verdicts}\n"
    )
