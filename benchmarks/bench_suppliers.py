"""Supplier search under gunicorn: two Hotelbeds simulators at 300 ms, the cache cold and warm.

Builds a dedicated database (``pema_bench_suppliers``, or
``<BENCH_DB_PREFIX>_suppliers``), starts ``manage.py runsandbox`` with its two
Hotelbeds instances answering after 300 ms (the simulator's default), points
two suppliers at them, syncs their content (300 hotels each), and starts
gunicorn with the project's ``gunicorn.conf.py`` and Redis for the cache.

``GET /api/v1/suppliers/search/`` is driven at 1 and 16 clients (processes,
each one keep-alive connection, the same machinery as the API benchmark):

- **cold**: every request a query never asked before (destination, check-in
  and guests drawn so none repeats), so both suppliers are asked each time;
- **warm**: the requests cycle over 24 queries asked once beforehand, so every
  answer comes from the cache.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import requests

from benchmarks.bench_api import (
    Load,
    Server,
    _database_urls,
    _empty_cache,
    _env,
    _free_port,
    _gunicorn_shape,
    _recreate_database,
    _redis_url,
)

TITLE = "Supplier search: two Hotelbeds simulators at 300 ms, cache cold and warm"
ROOT = Path(__file__).resolve().parent.parent
DB_NAME = os.environ.get("BENCH_DB_PREFIX", "pema_bench") + "_suppliers"
DURATION = {1: 8.0, 16: 10.0}
LATENCY_MS = 300
_REQUESTS = itertools.count()
DESTINATIONS = ("PMI", "BCN", "GOI", "DEL", "BOM", "KTM")
TARGETS = "search p95 <= 2 s with the cache cold; >= 167 req/s (10,000 a minute) warm at 16 clients"

SEED = r"""
import json, sys
import django
django.setup()
from django.core.management import call_command
from bookings.api_keys import issue_key
from bookings.models import Hotel
from partners.hotelbeds.setup import ensure_hotelbeds_supplier, sandbox_settings
from suppliers.models import Supplier
base = sys.argv[1]
for code, partner in (("hotelbeds", "hotelbeds"), ("hotelbeds-b", "hotelbeds2")):
    url = f"{base}/{partner}"
    ensure_hotelbeds_supplier(Supplier, code=code, base_url=url, api_key="hb-sandbox-key",
        secret="hb-sandbox-secret", qps=1000, settings=sandbox_settings(url))
    call_command("sync_supplier_content", code, "--full", "--no-progress")
hotel, _ = Hotel.objects.get_or_create(code="BENCH", defaults={"name": "Bench"})
key = issue_key(name="bench", hotels=[hotel], scopes=["suppliers:read"])
print(json.dumps({"key": key.raw, "hotels": Supplier.objects.get(code="hotelbeds").hotels.count()}))
"""


class Sandbox:
    """``manage.py runsandbox`` on a free port, its state in a temporary directory."""

    def __init__(self, env: dict) -> None:
        self.port = _free_port()
        self.dir = tempfile.mkdtemp(prefix="pema-bench-sandbox-")
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "runsandbox", "--port", str(self.port),
             "--state-dir", self.dir],
            cwd=ROOT, env={**env, "HOTELBEDS_SANDBOX_LATENCY_MS": str(LATENCY_MS)},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(300):
            try:
                if requests.get(f"{self.base_url}/_control/partners", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        for partner in ("hotelbeds", "hotelbeds2"):
            # The account's limits are not what is measured here: Pema's own pace stays on.
            requests.post(
                f"{self.base_url}/_control/{partner}/configure",
                json={"qps": 100000, "content_qps": 100},
                timeout=10,
            ).raise_for_status()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def run() -> str:
    admin_url, db_url = _database_urls(DB_NAME)
    _recreate_database(admin_url, DB_NAME)
    var_dir = Path(os.environ.get("PEMA_VAR_DIR", ROOT / "var")) / "bench-suppliers"
    var_dir.mkdir(parents=True, exist_ok=True)
    redis_url = _redis_url()
    env = _env(db_url, var_dir, redis_url)
    py = sys.executable
    subprocess.run([py, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    sandbox = Sandbox(env)
    try:
        seeded = subprocess.run(
            [py, "-c", SEED, sandbox.base_url],
            cwd=ROOT, env=env, check=True, capture_output=True, text=True,
        )  # fmt: skip
        info = json.loads(seeded.stdout.strip().splitlines()[-1])
        _empty_cache(redis_url)
        shape = _gunicorn_shape(env)
        load_before = os.getloadavg()[0]
        rows, figures = _measure(env, info["key"], redis_url)
    finally:
        sandbox.stop()
    load_after = os.getloadavg()[0]
    cold16, warm16 = figures[("cold", 16)], figures[("warm", 16)]
    checks = [
        ("search p95 <= 2 s, cache cold, 1 client", figures[("cold", 1)]["p95"] <= 2000),
        ("search p95 <= 2 s, cache cold, 16 clients", cold16["p95"] <= 2000),
        (">= 167 req/s warm at 16 clients", warm16["rps"] >= 167),
    ]
    verdicts = "\n".join(f"- {'met' if ok else 'MISSED'}: {label}" for label, ok in checks)
    return (
        f"gunicorn ({shape}, `gunicorn.conf.py`) on PostgreSQL database `{DB_NAME}` and "
        f"{'Redis' if redis_url else 'the file cache'} for the cache; `manage.py runsandbox` "
        f"with two Hotelbeds simulators answering availability after {LATENCY_MS} ms, "
        f"{info['hotels']} hotels each (content synced first), 20 hotels an answer each "
        "(`max_hotels`), so a search returns about 40 hotels and 160 rates. One process per "
        f"client, each one keep-alive connection, on the same {os.cpu_count()} cores as the "
        f"server, the simulators, PostgreSQL and Redis ({DURATION[1]:.0f} s at 1 client, "
        f"{DURATION[16]:.0f} s at 16). Cold: every query new, both suppliers asked in "
        "parallel. Warm: 24 queries cached beforehand, asked over and over. The floor row "
        "is the API's cheapest authenticated call on the same server at the same time (on a "
        "quiet machine the API benchmark measures it near 480 req/s at 16 clients). "
        "Latencies in ms. "
        f"1-minute load average {load_before:.1f} before, {load_after:.1f} after.\n\n"
        "| search | clients | req/s | p50 | p95 | statuses |\n"
        "| --- | ---: | ---: | ---: | ---: | --- |\n" + "\n".join(rows) + "\n\n"
        f"Targets: {TARGETS}.\n\n{verdicts}\n"
    )


def _path(today: date, n: int, nights: int = 2, adults: int = 2) -> str:
    destination = DESTINATIONS[n % len(DESTINATIONS)]
    check_in = today + timedelta(days=7 + (n // len(DESTINATIONS)) % 700)
    check_out = check_in + timedelta(days=nights)
    return (
        f"/api/v1/suppliers/search/?destination={destination}&check_in={check_in}"
        f"&check_out={check_out}&adults={adults}"
    )


def _measure(env: dict, key: str, redis_url: str) -> tuple[list[str], dict]:
    today = date.today()
    rows: list[str] = []
    figures: dict = {}
    server = Server(env)
    try:
        load = Load(server.port, key)
        # Warm the workers' connections on queries of their own (then forgotten).
        load.run(2, 2.0, lambda rng: ("GET", _path(today, rng.randrange(10**6), 3, 3), None, {}))
        for clients in (1, 16):
            # The framework floor on this machine now: what no search can beat.
            figures[("floor", clients)] = _row(
                rows, load, "floor (auth/validate)", clients,
                lambda rng: ("POST", "/api/v1/auth/validate/", None, {}),
            )  # fmt: skip
            _empty_cache(redis_url)

            def cold(rng):
                # Distinct per client (its own seed) and per request: never a cache hit.
                n = rng.randrange(10**6) * 7 + next(_REQUESTS)
                return "GET", _path(today, n, 1 + n % 3, 1 + n % 2), None, {}

            figures[("cold", clients)] = _row(rows, load, "cold", clients, cold)
            warm_paths = [_path(today, 5000 + i) for i in range(24)]
            for path in warm_paths:  # ask each once: cached from here on
                requests.get(
                    f"http://127.0.0.1:{server.port}{path}",
                    headers={"Authorization": f"Bearer {key}"},
                    timeout=30,
                )

            def warm(rng, paths=tuple(warm_paths)):
                return "GET", paths[rng.randrange(len(paths))], None, {}

            figures[("warm", clients)] = _row(rows, load, "warm", clients, warm)
    finally:
        server.stop()
    return rows, figures


def _row(rows: list[str], load: Load, name: str, clients: int, make) -> dict:
    result = load.run(clients, DURATION[clients], make)
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(result["statuses"].items()))
    rows.append(
        f"| {name} | {clients} | {result['rps']:.0f} | {result['p50']:.1f} | "
        f"{result['p95']:.1f} | {statuses}"
        + (
            f"; {result['distinct']} distinct queries |"
            if name != "floor (auth/validate)"
            else " |"
        )
    )
    return result
