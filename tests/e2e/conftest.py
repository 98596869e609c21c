"""End-to-end fixtures: the IDS Next sandbox process and a real Celery worker process.

The worker runs ``celery -A pema worker --pool=solo`` against the test
database (its name passed through ``DATABASE_URL``) and the test run's broker
(Redis when ``REDIS_URL`` is set, else the filesystem broker under the test
var dir), on a private queue so no other worker takes its tasks.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection as db
from django.utils import timezone

from channels.models import Connection
from tests.conftest import is_postgres
from tests.factories import sellable_hotel
from tests.sandbox import RunningSandbox

ROOM_TYPES = ("EXT", "EXQ")


def pytest_collection_modifyitems(config, items):
    if is_postgres():
        return
    skip = pytest.mark.skip(reason="the worker process needs a shared PostgreSQL test database")
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(skip)


def wait_for(predicate, *, timeout: float = 20.0, interval: float = 0.1, what: str = ""):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(interval)


def _database_url() -> str:
    s = db.settings_dict
    auth = quote(s["USER"] or "")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"])
    host = s.get("HOST") or "127.0.0.1"
    port = s.get("PORT") or "5432"
    return f"postgres://{auth}@{host}:{port}/{s['NAME']}"


@pytest.fixture
def sandbox():
    with RunningSandbox(room_types=ROOM_TYPES) as running:
        yield running


@pytest.fixture
def start_worker(transactional_db, settings):
    """Start a worker process on this test's private queue (as many as the test needs)."""
    queue = f"pema-e2e-{uuid.uuid4().hex[:8]}"
    settings.CHANNELS_TASK_QUEUE = queue
    logs = Path(tempfile.mkdtemp(prefix="pema-worker-"))
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CONN_MAX_AGE": "0",
        "CHANNELS_TASK_QUEUE": queue,
        "CHANNELS_RETRY_BASE_SECONDS": "0.2",
        "CHANNELS_RETRY_MAX_SECONDS": "1",
        "CHANNELS_PROBE_SECONDS": "0.5",
        "CHANNELS_OUTBOX_SETTLE_SECONDS": "1",
        "PEMA_VAR_DIR": str(settings.VAR_DIR),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
    }
    env.pop("PEMA_TEST_DB_NAME", None)
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
        "--loglevel=INFO",
        "--without-mingle",
        "--without-gossip",
        "--without-heartbeat",
    ]
    started: list[tuple[subprocess.Popen, Path]] = []

    def start() -> subprocess.Popen:
        log = logs / f"worker-{len(started) + 1}.log"
        with open(log, "ab") as out:
            process = subprocess.Popen(
                command, cwd=settings.BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        started.append((process, log))
        wait_for(lambda: "ready" in log.read_text(errors="replace"), timeout=40, what="worker")
        return process

    yield start
    for process, log in started:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        if os.environ.get("PEMA_E2E_SHOW_WORKER_LOG"):
            print(log.read_text(errors="replace")[-5000:])


@pytest.fixture
def worker(start_worker):
    return start_worker()


@pytest.fixture
def ids_hotel(transactional_db, sandbox, settings):
    settings.CHANNELS_RETRY_BASE_SECONDS = 0.2
    settings.CHANNELS_RETRY_MAX_SECONDS = 1
    settings.IDS_AVAILABILITY_CACHE_SECONDS = 0
    hotel = sellable_hotel(code="PEMA", rooms={"EXT": 3, "EXQ": 2}, days=30)
    # These tests follow what changes from here on: the first full sync is behind them.
    connect(hotel, sandbox, last_full_sync_at=timezone.now())
    return hotel


def connect(hotel, sandbox, **extra) -> Connection:
    """The hotel's IDS Next connection to the sandbox process."""
    return Connection.objects.create(
        hotel=hotel,
        provider="ids_next",
        name="IDS Next",
        base_url=sandbox.base_url,
        settings={"hotel_code": sandbox.hotel_code},
        credentials={"api_key": sandbox.api_key, "api_secret": sandbox.api_secret},
        **extra,
    )
