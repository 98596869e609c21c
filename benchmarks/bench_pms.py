"""PMS import: reservations and guests from the Mews and Cloudbeds simulators, and the
booking webhook's time from received to applied.

The simulators run in a thread of this process (the sandbox harness, on a free
port and a temporary state directory) and are filled with generated data
(``generate``). A bench hotel (``PMSBENCH``, one room type of 400 rooms, 90 days
of calendar) is made afresh on the database the settings name; its
connections sync through ``pms.sync`` exactly as the schedule or the API
would (inline here, not through a worker). Mews is read in cursor pages of
1,000; Cloudbeds in pages of 100, paced at 5 requests a second. Peak memory
is Python's (``tracemalloc``) during each import.

``BENCH_PMS_RESERVATIONS`` and ``BENCH_PMS_GUESTS`` change the sizes (10,000
and 5,000 by default).
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

TITLE = "PMS import: Mews and Cloudbeds simulators, booking webhook"
CODE = "PMSBENCH"


def _hotel():
    from bookings.inventory import ensure_calendar
    from bookings.models import (
        ChangeEvent,
        Guest,
        Hotel,
        InventoryDay,
        RateDay,
        RatePlan,
        Reservation,
        Room,
        RoomType,
    )
    from channels.models import Connection

    old = Hotel.objects.filter(code=CODE).first()
    if old is not None:
        Connection.objects.filter(hotel=old).delete()
        Reservation.objects.filter(hotel=old).delete()
        Guest.objects.filter(hotel=old).delete()
        InventoryDay.objects.filter(room_type__hotel=old).delete()
        Room.objects.filter(hotel=old).delete()
        RatePlan.objects.filter(hotel=old).delete()
        RoomType.objects.filter(hotel=old).delete()
        old.delete()
    hotel = Hotel.objects.create(code=CODE, name="PMS bench", currency="INR")
    room_type = RoomType.objects.create(hotel=hotel, code="EXQ", name="Executive Queen")
    Room.objects.bulk_create(
        Room(hotel=hotel, room_type=room_type, number=str(1000 + n)) for n in range(400)
    )
    plan = RatePlan.objects.create(hotel=hotel, code="BAR", name="Best", currency="INR")
    plan.room_types.add(room_type)
    today = hotel.today()
    from bookings.inventory import refresh_room_type_totals

    ensure_calendar(hotel, today, today + timedelta(days=90))
    refresh_room_type_totals(room_type)
    RateDay.objects.filter(rate_plan=plan).update(price=1_000_000)
    ChangeEvent.objects.filter(hotel=hotel).delete()
    return hotel


def _import(connection, entity: str) -> tuple[float, int, float]:
    """(seconds, rows, peak MiB) of one sync."""
    from pms import sync

    print(f"  {connection.provider} {entity}...", flush=True)
    tracemalloc.start()
    started = time.perf_counter()
    log = sync.sync_now(connection, entity)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    if log.status != "completed":
        raise RuntimeError(f"{connection.provider} {entity} sync failed: {log.error}")
    return seconds, log.processed, peak


def _row(name: str, seconds: float, rows: int, peak: float) -> str:
    rate = rows / seconds if seconds else 0.0
    line = f"| {name} | {rows:,} | {seconds:.1f} | {rate:,.0f} | {peak:.0f} |"
    print(line, flush=True)  # seen as it is measured, even if a later step is cut short
    return line


def _webhook_latency(
    hotel, samples: int = int(os.environ.get("BENCH_PMS_WEBHOOKS", "50"))
) -> tuple[float, float]:
    """p50 and p95 (ms) from the webhook's arrival to its reservation applied (eager task)."""
    from django.test import Client

    from channels.models import InboundMessage
    from partners.mock.setup import connect
    from pema.celery import app

    connect(
        hotel=hotel.code,
        credentials={"webhook_secret": "bench-secret"},
        settings={"room_types": "EXQ", "rate_plan": "BAR"},
    )
    client = Client()
    app.conf.task_always_eager = True
    times = []
    try:
        for n in range(samples):
            start = hotel.today() + timedelta(days=1 + n % 60)
            body = {
                "booking": {
                    "id": f"BENCH-{n}",
                    "status": "confirmed",
                    "guest": {"first_name": "B", "last_name": "W", "email": f"w{n}@bench.example"},
                    "stay": {
                        "check_in": start.isoformat(),
                        "check_out": (start + timedelta(days=1)).isoformat(),
                        "room_type": "EXQ",
                        "rate_plan": "BAR",
                        "adults": 1,
                    },
                    "totals": {"amount": "100.00", "currency": "INR"},
                }
            }
            began = time.perf_counter()
            answer = client.post(
                "/api/v1/pms/mock/bookings/",
                data=json.dumps(body),
                content_type="application/json",
                HTTP_X_PROVIDER_TOKEN="bench-secret",
                HTTP_X_HOTEL_SLUG=hotel.code.lower(),
            )
            message = InboundMessage.objects.get(pk=answer.json()["inbound_message_id"])
            if message.status != "applied":
                raise RuntimeError(f"webhook {n} not applied: {message.error}")
            times.append((time.perf_counter() - began) * 1000)
    finally:
        app.conf.task_always_eager = False
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def run() -> str:
    import django

    django.setup()
    from django.conf import settings

    from channels.models import Connection
    from partners.cloudbeds.simulator import DEFAULT_KEY, DEFAULT_PROPERTY, CloudbedsSimulator
    from partners.mews.simulator import (
        DEFAULT_ACCESS_TOKEN,
        DEFAULT_CLIENT_TOKEN,
        SERVICE,
        MewsSimulator,
    )
    from sandbox.server import make_server

    reservations = int(os.environ.get("BENCH_PMS_RESERVATIONS", "10000"))
    guests = int(os.environ.get("BENCH_PMS_GUESTS", "5000"))
    settings.PEMA_HTTP_429_RETRIES = 3
    hotel = _hotel()
    state = Path(tempfile.mkdtemp(prefix="pema-bench-pms-"))
    server = make_server(
        {"mews": MewsSimulator, "cloudbeds": CloudbedsSimulator}, state_dir=state, port=0
    )
    import threading

    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    harness = server.harness
    lines = [
        "| Import | Rows | Seconds | Rows/s | Peak MiB |",
        "|---|---:|---:|---:|---:|",
    ]
    try:
        start = hotel.today() + timedelta(days=1)
        harness.simulators["mews"].command("generate", {
            "reservations": reservations, "customers": guests, "categories": ["EXQ"],
            "rate": "BAR", "start": start.isoformat(),
        })  # fmt: skip
        mews = Connection.objects.create(
            hotel=hotel, provider="mews", name="Mews", base_url=f"{base}/mews", push_ari=False,
            settings={"service_id": SERVICE},
            credentials={
                "client_token": DEFAULT_CLIENT_TOKEN, "access_token": DEFAULT_ACCESS_TOKEN
            },
        )  # fmt: skip
        lines.append(_row("Mews reservations (pages of 1,000)", *_import(mews, "bookings")))
        lines.append(_row("Mews customers (pages of 1,000)", *_import(mews, "guests")))
        harness.simulators["cloudbeds"].command("generate", {
            "reservations": reservations, "guests": guests, "room_types": ["EXQ"],
            "start": start.isoformat(),
        })  # fmt: skip
        cloudbeds = Connection.objects.create(
            hotel=hotel, provider="cloudbeds", name="Cloudbeds",
            base_url=f"{base}/cloudbeds/api/v1.3", push_ari=False,
            settings={"property_id": DEFAULT_PROPERTY, "default_rate": "BAR"},
            credentials={"api_key": DEFAULT_KEY},
        )  # fmt: skip
        lines.append(
            _row("Cloudbeds reservations (pages of 100, 5 rps)", *_import(cloudbeds, "bookings"))
        )
        lines.append(_row("Cloudbeds guests (pages of 100, 5 rps)", *_import(cloudbeds, "guests")))
    finally:
        server.shutdown()
        server.server_close()
    p50, p95 = _webhook_latency(hotel)
    lines += [
        "",
        f"Booking webhook, received to applied (in-process eager task, which also runs the "
        f"channel dispatch it wakes; {os.environ.get('BENCH_PMS_WEBHOOKS', '50')} calls): "
        f"p50 {p50:.0f} ms, p95 {p95:.0f} ms.",
        "",
        "Reservations are applied one by one through the inbound pipeline (stored in one "
        "multi-row insert a page, then each booked in its own transaction); the Cloudbeds "
        "import is bound by its 5 requests a second.",
    ]
    return "\n".join(lines)
