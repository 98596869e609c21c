"""The channel manager end to end: inbound Booking.com reservations, ARI fan-out, a full sync.

Builds a dedicated PostgreSQL database (``pema_bench_channels``, or
``<BENCH_DB_PREFIX>_channels``, on the server ``DATABASE_URL`` names, else
the local one), seeds the Pema hotel, and runs the measurements in a child
process on it, with Redis as the broker (``REDIS_URL``, else the local
server), the sandbox process (``manage.py runsandbox``: IDS Next and the
Booking.com simulator on one port) and a real Celery worker (solo pool,
private queue):

1. **Full sync to Booking.com**: 500 days (the connection's horizon set to
   500) of every mapped product, planned by the dispatcher and delivered in
   the measuring process; documents (HTTP calls), wire status messages and
   seconds, against the naive one message per product per day. The
   calendar is given the shape a revenue manager's has (weekend and
   seasonal prices, weekend minimum stays), not the seed's flat one.
   **The same for Agoda** (SetAriV2 documents and their updates, against
   Agoda's limits: 1 MB a request, 730 days), its connection switched off
   afterwards so the fan-out below is the other two's.
2. **Fan-out**: one-day price changes with IDS Next and Booking.com both
   connected, from the commit to both simulators holding the new price
   (IDS Next read through ``/_control/state``, Booking.com through its
   ``ari`` control command, which reads the same store without shipping the
   whole state each poll); p50/p95 over the changes. Before it, the same
   500-day full sync goes to the Expedia simulator (AR documents and updates
   against EQC's 5,000-update limit and the naive count); that connection is
   then disabled, so the fan-out figures stay Booking.com's and IDS Next's.
   **Fan-out to all five** then switches Expedia and Agoda back on and
   connects Airbnb (every room type a listing): the same one-day price
   changes, from the commit to each of the four push partners holding the
   new price (Expedia and Agoda through their ``ari`` control commands);
   p50/p95 of the slowest of the four, and each partner's p50. Airbnb has
   nothing pushed to it: it reads Pema's export when it polls (measured in 4).
3. **Inbound**: reservations queued in the Booking.com simulator through its
   control API, pulled, applied and acknowledged by the worker. The pull
   tasks are queued back to back, as many as the pull limit needs, instead
   of every 20 s as Booking asks of production: the figure is what Pema can
   take, and the report says what Booking's pacing allows. Ack lag is the
   time from a message's commit (``applied_at``) to its acknowledgement
   (``acked_at``).
4. **Airbnb's export**: every room type as an Airbnb listing, its calendar
   (the horizon, at most 730 days) polled as Airbnb's import polls it, with
   the Booking.com reservations above in the calendar: queries and
   milliseconds per poll, a full answer and a 304 to ``If-None-Match``. An
   iCalendar feed has no message count: one document per listing and poll
   carries the whole calendar, against one message per listing per day.

``BENCH_CHANNELS_RESERVATIONS``, ``BENCH_CHANNELS_CHANGES`` and
``BENCH_CHANNELS_DAYS`` scale it down for a smoke run;
``BENCH_CHANNELS_PROFILE=<file>`` profiles one extra pull (of reservations
queued for it, in the measuring process, before the timed ones) into that
file; ``BENCH_KEEP_LOGS=1`` keeps the sandbox's and the worker's logs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

TITLE = "Channels: inbound Booking.com reservations, ARI fan-out and a full sync"
ROOT = Path(__file__).resolve().parent.parent
DB_NAME = os.environ.get("BENCH_DB_PREFIX", "pema_bench") + "_channels"
RESERVATIONS = int(os.environ.get("BENCH_CHANNELS_RESERVATIONS", "1000"))
#: Polls of each Airbnb listing's export measured (each a full answer, then a 304).
AIRBNB_POLLS = int(os.environ.get("BENCH_CHANNELS_AIRBNB_POLLS", "20"))
CHANGES = int(os.environ.get("BENCH_CHANNELS_CHANGES", "100"))
DAYS = int(os.environ.get("BENCH_CHANNELS_DAYS", "500"))
TARGETS = {
    "inbound_per_second": 200,
    "fanout_p95_ms": 1000,
    "fanout_five_p95_ms": 1500,
    "fewer_messages": 20,
}
AGODA_MAX_BYTES = 1024 * 1024
AGODA_HORIZON_DAYS = 730
RESULT_PREFIX = "BENCH-RESULT "


# ---------------------------------------------------------------------- the parent


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


def _redis_url() -> str:
    url = os.environ.get("REDIS_URL", "")
    return url or "redis://127.0.0.1:6379/12"


def _load() -> str:
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "?"


def run() -> str:
    admin_url, db_url = _database_urls()
    _recreate_database(admin_url)
    var_dir = Path(os.environ.get("PEMA_VAR_DIR", ROOT / "var")) / "bench-channels"
    var_dir.mkdir(parents=True, exist_ok=True)
    redis_url = _redis_url()
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "PEMA_VAR_DIR": str(var_dir),
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "pema.settings",
        "IDS_ENABLE_BACKGROUND_SYNC": "False",
    }
    env.pop("PEMA_TEST_DB_NAME", None)
    py = sys.executable
    subprocess.run([py, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    load_before = _load()
    child = subprocess.run(
        [py, "-m", "benchmarks.bench_channels"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    lines = [line for line in child.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if child.returncode != 0 or not lines:
        raise RuntimeError(
            f"the measuring process failed ({child.returncode}):\n"
            f"{child.stdout[-3000:]}\n{child.stderr[-5000:]}"
        )
    figures = json.loads(lines[-1][len(RESULT_PREFIX) :])
    return report(figures, load_before=load_before, load_after=_load())


def _verdict(ok: bool) -> str:
    return "met" if ok else "missed"


def report(f: dict, *, load_before: str, load_after: str) -> str:
    full, fan, inbound = f["full_sync"], f["fanout"], f["inbound"]
    ratio = full["naive"] / max(full["messages"], 1)
    wire_ratio = full["naive_wire"] / max(full["messages"], 1)
    lines = [
        f"PostgreSQL database `{DB_NAME}`, broker {f['broker']}, one Celery worker "
        "(solo pool), the sandbox process (IDS Next, Booking.com and Agoda simulators on one "
        f"port), the Pema hotel ({f['room_types']} room types, {f['rate_plans']} rate plans, "
        f"{f['products']} Booking.com products mapped). The machine's 1-minute load average "
        f"was {load_before} before and {load_after} after.",
        "",
        f"**Full sync to Booking.com**, {full['days']} days (horizon set to {full['days']}), "
        f"calendar with {full['shape']}:",
        "",
        "| documents (HTTP calls) | wire status messages | seconds | naive: 1 message per "
        "product per day | fewer | naive in Booking's wire messages, day by day | fewer |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        f"| {full['documents']} | {full['messages']} | {full['seconds']:.1f} "
        f"(planning {full['planning']:.1f}, simulator {full['partner_seconds']:.1f}) | "
        f"{full['naive']} | {ratio:.1f}x | {full['naive_wire']} | {wire_ratio:.1f}x |",
        "",
        "Booking.com takes one calendar month per document and says a room x rate's "
        "restrictions in three messages (one `RestrictionStatus` each), so even a flat "
        f"calendar needs at least one room message, three restriction and one rate message "
        f"per product and month: {full['floor']} here, at best "
        f"{full['naive'] / max(full['floor'], 1):.1f}x fewer than one message per product "
        "per day. The seconds are mostly the simulator's (it validates each document "
        "against the schemas and stores every day of it): the sum of the calls' durations "
        "is in brackets.",
        "",
        f"Jobs not done: {full['not_done']}; days held by the simulator for EXT/BAR-BB: "
        f"{full['held_days']}; simulator warnings: {full['warnings'] or 'none'}.",
        "",
        *_agoda_lines(f["agoda"]),
        "",
        f"**Fan-out**: {fan['changes']} one-day price changes (EXT/BAR-BB), commit to held by "
        "both IDS Next and Booking.com, in ms:",
        "",
        "| p50 | p95 | max | IDS Next p50 | Booking.com p50 | timed out |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {fan['p50']:.0f} | {fan['p95']:.0f} | {fan['max']:.0f} | {fan['ids_p50']:.0f} | "
        f"{fan['booking_p50']:.0f} | {fan['timed_out']} |",
        "",
        *_fanout_five_lines(f.get("fanout_five")),
        f"**Inbound**: {inbound['queued']} Booking.com reservations queued in the simulator, "
        f"pulled {inbound['pull_limit']} per GET by {inbound['pulls']} pull tasks run back "
        "to back, applied and acknowledged:",
        "",
        "| reservations applied | seconds (first pull to last applied) | reservations/s | "
        "all acknowledged after | ack lag p50 | ack lag p95 | ack lag max | held |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {inbound['applied']} | {inbound['seconds']:.1f} | {inbound['per_second']:.0f} | "
        f"{inbound['acked_seconds']:.1f} s | {inbound['ack_p50']:.0f} ms | "
        f"{inbound['ack_p95']:.0f} ms | {inbound['ack_max']:.0f} ms | {inbound['held']} |",
        "",
        f"Simulator warnings (the pulls ran back to back, against Booking's pacing): "
        f"{inbound['warnings'] or 'none'}. "
        f"In the worker: {inbound['pull_tasks']} pull tasks took {inbound['pull_seconds']:.1f} s "
        f"in all ({inbound['pull_mean']:.2f} s each: GET, store, apply one by one, ack). "
        f"At Booking's pacing (one GET per endpoint every 20 s, {inbound['pull_limit']} a GET) a "
        f"connection takes at most {inbound['pull_limit'] / 20:.0f} new reservations/s "
        "whatever Pema's speed.",
        "",
        *_airbnb_lines(f.get("airbnb")),
        f"Targets: >= {TARGETS['inbound_per_second']} inbound reservations/s: "
        f"{_verdict(inbound['per_second'] >= TARGETS['inbound_per_second'])}; fan-out p95 "
        f"<= {TARGETS['fanout_p95_ms']} ms: {_verdict(fan['p95'] <= TARGETS['fanout_p95_ms'])}; "
        f">= {TARGETS['fewer_messages']}x fewer messages than naive: "
        f"{_verdict(ratio >= TARGETS['fewer_messages'])}.",
    ]
    if f.get("expedia_full_sync"):
        lines += ["", *_expedia_report(f["expedia_full_sync"])]
    return "\n".join(lines)


def _fanout_five_lines(five: dict | None) -> list[str]:
    if not five:
        return []
    target = TARGETS["fanout_five_p95_ms"]
    return [
        f"**Fan-out to all five connections** ({', '.join(five['enabled'])} enabled): "
        f"{five['changes']} one-day price changes (EXT/BAR-BB), commit to held by all four "
        "push partners, in ms:",
        "",
        "| p50 | p95 | max | IDS Next p50 | Booking.com p50 | Expedia p50 | Agoda p50 | "
        "timed out |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {five['p50']:.0f} | {five['p95']:.0f} | {five['max']:.0f} | "
        + " | ".join(f"{five['p50_by'][p]:.0f}" for p in FIVE_PUSHED)
        + f" | {five['timed_out']} |",
        "",
        "Airbnb is not pushed to: it reads Pema's export when it polls (every few minutes at "
        "best), and the export is computed at that read, so a change is in Airbnb's next "
        "poll; what a poll costs is in the export table below. Target: p95 of the four push "
        f"partners <= {target} ms: {_verdict(five['timed_out'] == 0 and five['p95'] <= target)}.",
        "",
    ]


def _airbnb_lines(air: dict | None) -> list[str]:
    if not air:
        return []
    naive = air["listings"] * air["days"]
    return [
        f"**Airbnb's export**: {air['listings']} listings (one per room type), "
        f"{air['days']} days each, polled {air['polls']} times in all as Airbnb's import "
        "polls them, with the reservations above in the calendar:",
        "",
        "| queries a poll (max) | full answer p50 | p95 | 304 p50 | largest feed | "
        "events in it | documents for the whole calendar | naive: 1 message per listing "
        "per day | fewer |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {air['queries_max']} | {air['fresh_p50']:.1f} ms | {air['fresh_p95']:.1f} ms | "
        f"{air['unchanged_p50']:.1f} ms | {air['bytes_max']} bytes | {air['events_max']} | "
        f"{air['listings']} | {naive} | {naive / max(air['listings'], 1):.0f}x |",
        "",
        "A 304 costs the same queries as a full answer (the ETag is the body's digest, so the "
        "calendar is read and rendered either way): what it saves is the transfer and "
        "Airbnb's parse. Airbnb reads at its own pace (hours), so a poll's cost is what counts.",
        "",
    ]


#: The push partners of the five-connection fan-out, in the report's order.
FIVE_PUSHED = ("ids_next", "booking_com", "expedia", "agoda")


def _fanout_five(hotel, sandbox, http, room_types, plans) -> dict:
    """The fan-out with all five connections on; commit to held by each push partner."""
    from datetime import timedelta

    from bookings.ari import AriChanges, apply_ari_update
    from channels.models import Connection
    from partners.agoda import codec as agoda_codec
    from partners.airbnb.setup import connect, listing_products

    # Expedia and Agoda were switched off after their full syncs; Airbnb joins here
    # (the export step below reads the same connection).
    Connection.objects.filter(hotel=hotel, provider__in=["expedia", "agoda"]).update(enabled=True)
    products = []
    for rt in room_types:
        plan = next(p for p in plans if p.room_types.filter(pk=rt.pk).exists())
        products += listing_products(f"L-{rt.code}", rt.code, plan.code)
    connect(hotel=hotel.code, settings={"export_days": min(DAYS, 730)}, products=products)
    enabled = list(
        Connection.objects.filter(hotel=hotel, enabled=True)
        .order_by("provider")
        .values_list("provider", flat=True)
    )
    ext = hotel.room_types.get(code="EXT")
    bar = hotel.rate_plans.get(code="BAR-BB")
    base = sandbox.base_url

    def held(partner: str, rate_id: str, day: str) -> dict:
        answer = http.post(
            f"{base}/_control/{partner}/ari",
            json={"room_id": ext.code, "rate_id": rate_id, "start": day},
            timeout=10,
        )
        return answer.json().get(day) or {}

    def at_ids(day: str, price: int) -> bool:
        rates = http.get(f"{base}/_control/state", timeout=10).json()["rates"]
        return (rates.get(f"{bar.code}/{ext.code}", {}).get(day) or {}).get("amount") == price

    def at_agoda(day: str, price: int) -> bool:
        value = held("agoda", bar.code, day).get("price")
        return value is not None and agoda_codec.minor_units(str(value), hotel.currency) == price

    checks = {
        "ids_next": at_ids,
        "booking_com": lambda day, price: held("booking_com", bar.code, day).get("price") == price,
        "expedia": lambda day, price: (
            price in (held("expedia", f"{ext.code}-{bar.code}", day).get("prices") or {}).values()
        ),
        "agoda": at_agoda,
    }

    def change(i: int) -> dict[str, float] | None:
        day = hotel.today() + timedelta(days=12 + i % max(DAYS - 24, 1))
        price = 3_000_000 + i * 100
        began = time.perf_counter()
        apply_ari_update(
            hotel,
            start=day,
            end=day,
            changes=AriChanges(price=price),
            rate_plans=[bar],
            room_types=[ext],
            source="bench",
        )
        seen: dict[str, float] = {}
        while len(seen) < len(checks) and time.perf_counter() < began + 30:
            for partner, check in checks.items():
                if partner not in seen and check(day.isoformat(), price):
                    seen[partner] = time.perf_counter() - began
            if len(seen) < len(checks):
                time.sleep(0.005)
        return seen if len(seen) == len(checks) else None

    # A first change, not counted: the switched-on connections catch up on what they missed.
    change(-1)
    every, by_partner, timed_out = [], {p: [] for p in checks}, 0
    for i in range(CHANGES):
        seen = change(i)
        if seen is None:
            timed_out += 1
            continue
        every.append(max(seen.values()))
        for partner, seconds in seen.items():
            by_partner[partner].append(seconds)
    return {
        "enabled": enabled,
        "changes": CHANGES,
        "p50": statistics.median(every) * 1000 if every else 0.0,
        "p95": _percentile(every, 0.95) * 1000,
        "max": max(every) * 1000 if every else 0.0,
        "p50_by": {
            p: statistics.median(times) * 1000 if times else 0.0 for p, times in by_partner.items()
        },
        "timed_out": timed_out,
    }


def _expedia_report(e: dict) -> list[str]:
    ratio = e["naive"] / max(e["messages"], 1)
    return [
        f"**Full sync to Expedia**, {e['days']} days, the same calendar and "
        f"{e['products']} products (AR, weekday patterns as `DateRange` flags):",
        "",
        "| documents (AR calls) | updates | most updates in one document | Expedia's limit "
        "| seconds | naive: 1 update per product per day | fewer |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        f"| {e['documents']} | {e['messages']} | {e['largest']} | {e['limit']} (and the "
        f"operator's cap {e['cap']}) | {e['seconds']:.1f} | {e['naive']} | {ratio:.1f}x |",
        "",
        f"Every date within Expedia's window (yesterday to two years ahead); jobs not done: "
        f"{e['not_done']}; AR errors at the simulator: {e['errors']}. Target >= "
        f"{TARGETS['fewer_messages']}x fewer messages than naive, within the 5,000-update "
        f"limit: {_verdict(ratio >= TARGETS['fewer_messages'] and e['largest'] <= e['limit'])}.",
    ]


def _expedia_full_sync(hotel, sandbox, http, room_types, plans) -> dict:
    """A 500-day full sync to the Expedia simulator, delivered here; its figures."""
    from django.conf import settings
    from django.db.models import Max, Sum
    from django.utils import timezone

    from channels.connections import ProductSpec
    from channels.delivery import deliver
    from channels.dispatch import document_size, plan_full_sync
    from channels.models import Connection, SyncJob, SyncLog
    from partners.expedia import codec
    from partners.expedia.setup import connect

    control = f"{sandbox.base_url}/_control/expedia"
    http.post(
        f"{control}/configure",
        json={
            "currency": hotel.currency,
            "products": [[rt.code, f"{rt.code}-{p.code}"] for rt in room_types for p in plans],
        },
        timeout=10,
    ).raise_for_status()
    products = [ProductSpec(rt.code, None, rt.code, None) for rt in room_types] + [
        ProductSpec(rt.code, p.code, rt.code, f"{rt.code}-{p.code}")
        for rt in room_types
        for p in plans
    ]
    conn, _ = connect(
        hotel=hotel.code,
        base_url=f"{sandbox.base_url}/expedia",
        credentials={
            "username": settings.EXPEDIA_SANDBOX_USERNAME,
            "password": settings.EXPEDIA_SANDBOX_PASSWORD,
            "hotel_id": settings.EXPEDIA_SANDBOX_HOTEL_ID,
        },
        products=products,
    )
    Connection.objects.filter(pk=conn.pk).update(last_full_sync_at=timezone.now())
    conn.refresh_from_db()
    began = time.perf_counter()
    plan_full_sync(conn, days=DAYS)
    while deliver(conn.pk, budget_seconds=600).delivered:
        pass
    seconds = time.perf_counter() - began
    logs = SyncLog.objects.filter(connection=conn, operation=codec.AR_PATH)
    counts = http.get(f"{control}/state", timeout=60).json()["counts"]
    figures = {
        "days": DAYS,
        "products": len(products),
        "documents": logs.count(),
        "messages": logs.aggregate(n=Sum("items"))["n"] or 0,
        "largest": logs.aggregate(n=Max("items"))["n"] or 0,
        "limit": codec.MAX_UPDATES,
        "cap": document_size(conn.get_provider().capabilities()),
        "seconds": seconds,
        "naive": len(products) * DAYS,
        "not_done": SyncJob.objects.filter(connection=conn)
        .exclude(status=SyncJob.Status.DONE)
        .count(),
        "errors": counts.get("ar errors", 0),
    }
    Connection.objects.filter(pk=conn.pk).update(enabled=False)
    return figures


def _agoda_lines(a: dict) -> list[str]:
    ratio = a["naive"] / max(a["messages"], 1)
    within = (
        a["max_bytes"] <= AGODA_MAX_BYTES
        and a["days"] <= AGODA_HORIZON_DAYS
        and a["max_updates"] <= a["max_updates_limit"]
    )
    return [
        f"**Full sync to Agoda**, {a['days']} days of the same calendar and "
        f"{a['products']} products (SetAriV2, type 10):",
        "",
        "| documents (HTTP calls) | updates | seconds | largest document | most updates in "
        "one | naive: 1 update per product per day | fewer |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        f"| {a['documents']} | {a['messages']} | {a['seconds']:.1f} (planning "
        f"{a['planning']:.1f}, simulator {a['partner_seconds']:.1f}) | "
        f"{a['max_bytes'] / 1024:.0f} KiB | {a['max_updates']} | {a['naive']} | {ratio:.1f}x |",
        "",
        f"Agoda's limits: 1 MB a request ({_verdict(a['max_bytes'] <= AGODA_MAX_BYTES)}), "
        f"730 days ahead ({_verdict(a['days'] <= AGODA_HORIZON_DAYS)}); Pema's own cap of "
        f"{a['max_updates_limit']} updates a document (the smaller of the provider's 2,000 and "
        f"`CHANNELS_ARI_BATCH_SIZE`): {_verdict(a['max_updates'] <= a['max_updates_limit'])}. "
        "A product's day is one update of its kind (rooms, restrictions or price), and a "
        "range with weekday flags (`dow`) carries many days. Jobs not done: "
        f"{a['not_done']}; updates the simulator refused: {a['refused']}; days it holds: "
        f"{a['held_days']}. Targets: within the limits: {_verdict(within)}; >= "
        f"{TARGETS['fewer_messages']}x fewer updates than naive: "
        f"{_verdict(ratio >= TARGETS['fewer_messages'])}.",
    ]


def _full_sync_agoda(hotel, sandbox, http, room_types, plans, products, days: int) -> dict:
    """Agoda's 500-day full sync, delivered in this process; the connection switched off after."""
    from django.conf import settings
    from django.db.models import Max, Sum
    from django.utils import timezone

    from channels.delivery import deliver
    from channels.dispatch import document_size, plan_full_sync
    from channels.mapping import ProductMap, mapped_ari_items
    from channels.models import Connection, SyncJob, SyncLog
    from partners.agoda import codec
    from partners.agoda.setup import connect

    control = f"{sandbox.base_url}/_control/agoda"
    codes = [rt.code for rt in room_types]
    http.post(
        f"{control}/configure",
        json={
            "currency": hotel.currency,
            "rooms": {c: {"num_persons": 2, "min_rate": 0, "max_rate": 10_000_000} for c in codes},
            "products": [[rt.code, p.code] for rt in room_types for p in plans],
        },
        timeout=10,
    ).raise_for_status()
    agoda, _ = connect(
        hotel=hotel.code,
        base_url=f"{sandbox.base_url}/agoda",
        credentials={
            "property_id": settings.AGODA_SANDBOX_PROPERTY_ID,
            "api_key": settings.AGODA_SANDBOX_API_KEY,
        },
        settings={"horizon_days": days},
        products=products,
    )
    Connection.objects.filter(pk=agoda.pk).update(last_full_sync_at=timezone.now())
    agoda.refresh_from_db()
    began = time.perf_counter()
    jobs = plan_full_sync(agoda, days=days)
    planning = time.perf_counter() - began
    while deliver(agoda.pk, budget_seconds=600).delivered:
        pass
    seconds = time.perf_counter() - began
    logs = SyncLog.objects.filter(connection=agoda, operation="SetAriV2")
    # The documents' sizes, built again from the jobs as the provider built them.
    product_map, sizes = ProductMap(agoda), []
    for job in SyncJob.objects.filter(connection=agoda):
        items, _ = mapped_ari_items(product_map, job.payload.get("items") or [])
        sizes += [
            len(d.body)
            for d in codec.build_set_ari(
                items, property_id=agoda.get_provider().property_id, currency=hotel.currency,
                horizon_days=days,
            )
        ]  # fmt: skip
    snapshot = http.get(f"{control}/state", timeout=60).json()
    Connection.objects.filter(pk=agoda.pk).update(enabled=False)
    return {
        "days": days,
        "products": len(products),
        "jobs": jobs,
        "documents": logs.count(),
        "messages": logs.aggregate(n=Sum("items"))["n"] or 0,
        "max_updates": logs.aggregate(n=Max("items"))["n"] or 0,
        "max_updates_limit": document_size(agoda.get_provider().capabilities()),
        "max_bytes": max(sizes, default=0),
        "seconds": seconds,
        "planning": planning,
        "partner_seconds": (logs.aggregate(ms=Sum("duration_ms"))["ms"] or 0) / 1000,
        "naive": len(products) * days,
        "not_done": SyncJob.objects.filter(connection=agoda)
        .exclude(status=SyncJob.Status.DONE)
        .count(),
        "refused": snapshot["counts"].get("updates refused", 0),
        "held_days": snapshot["ari_days"],
    }


# ---------------------------------------------------------------------- the measuring child


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, int(round(len(ordered) * share)) - 1))]


def _start_worker(queue: str, log: Path) -> subprocess.Popen:
    env = {**os.environ, "CHANNELS_TASK_QUEUE": queue, "CONN_MAX_AGE": "0"}
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
    with open(log, "ab") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while "ready" not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the worker did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    return process


def _shape_calendar(hotel, days: int) -> str:
    """Weekend and seasonal prices and weekend minimum stays, as a revenue manager sets them."""
    from datetime import timedelta

    from bookings.ari import AriChanges, apply_ari_update

    today = hotel.today()
    last = today + timedelta(days=days - 1)
    room_types = list(hotel.room_types.all())
    for plan in hotel.rate_plans.all():
        for n, room_type in enumerate(room_types):
            base = 800_000 + 100_000 * n
            apply_ari_update(
                hotel,
                start=today,
                end=last,
                changes=AriChanges(price=base),
                rate_plans=[plan],
                room_types=[room_type],
                source="bench",
            )
            apply_ari_update(
                hotel,
                start=today,
                end=last,
                weekdays={4, 5},
                changes=AriChanges(price=base * 12 // 10),
                rate_plans=[plan],
                room_types=[room_type],
                source="bench",
            )
    # Peak season (mid-December to mid-January): dearer, two nights at least on weekends.
    for year in sorted({today.year, last.year}):
        start = max(today, today.replace(year=year, month=12, day=15))
        end = min(last, today.replace(year=year + 1, month=1, day=15))
        if start > end:
            continue
        apply_ari_update(
            hotel,
            start=start,
            end=end,
            changes=AriChanges(price=1_500_000),
            source="bench",
        )
        apply_ari_update(
            hotel,
            start=start,
            end=end,
            weekdays={4, 5},
            changes=AriChanges(min_stay_through=2, min_stay_arrival=2),
            source="bench",
        )
    return (
        "a price per room type and plan, Friday and Saturday 20% dearer, a peak season "
        "from 15 December to 15 January at one price with a two-night minimum stay on "
        "Fridays and Saturdays"
    )


def _measure_airbnb_export(hotel, room_types, plans) -> dict:
    """Every room type as an Airbnb listing; its export polled as Airbnb's import does."""
    from django.db import connection as db
    from django.test import RequestFactory
    from django.test.utils import CaptureQueriesContext

    from channels.views import calendar_feed
    from partners.airbnb.setup import connect, listing_products

    products = []
    for rt in room_types:
        plan = next(p for p in plans if p.room_types.filter(pk=rt.pk).exists())
        products += listing_products(f"L-{rt.code}", rt.code, plan.code)
    days = min(DAYS, 730)
    conn, _ = connect(hotel=hotel.code, settings={"export_days": days}, products=products)
    provider = conn.get_provider()
    factory = RequestFactory()
    fresh, unchanged, queries, sizes, events = [], [], [], [], []
    for rt in room_types:
        listing = f"L-{rt.code}"
        path = provider.export_path(listing)
        for _ in range(AIRBNB_POLLS):
            with CaptureQueriesContext(db) as captured:
                began = time.perf_counter()
                answer = calendar_feed(factory.get(path), connection_uuid=conn.uuid, room=listing)
                fresh.append((time.perf_counter() - began) * 1000)
            queries.append(len(captured))
            began = time.perf_counter()
            again = calendar_feed(
                factory.get(path, HTTP_IF_NONE_MATCH=answer["ETag"]),
                connection_uuid=conn.uuid,
                room=listing,
            )
            unchanged.append((time.perf_counter() - began) * 1000)
            if answer.status_code != 200 or again.status_code != 304:
                raise RuntimeError(f"export of {listing}: {answer.status_code}/{again.status_code}")
        sizes.append(len(answer.content))
        events.append(answer.content.count(b"BEGIN:VEVENT"))
    return {
        "listings": len(room_types),
        "days": days,
        "polls": len(fresh),
        "queries_max": max(queries),
        "fresh_p50": statistics.median(fresh),
        "fresh_p95": _percentile(fresh, 0.95),
        "unchanged_p50": statistics.median(unchanged),
        "bytes_max": max(sizes),
        "events_max": max(events),
    }


def measure() -> dict:
    import random
    import tempfile
    import uuid
    from datetime import timedelta

    import django

    django.setup()
    import requests
    from django.conf import settings
    from django.db.models import Sum
    from django.utils import timezone

    from bookings.ari import AriChanges, apply_ari_update
    from bookings.models import ChangeEvent, Hotel
    from bookings.seed import seed_pema_wellness
    from channels.coalesce import dates_between
    from channels.connections import ProductSpec
    from channels.delivery import deliver
    from channels.dispatch import plan_full_sync
    from channels.models import Connection, InboundMessage, SyncJob, SyncLog
    from channels.tasks import enqueue, pull_connection
    from partners.booking_com.setup import connect
    from tests.sandbox import RunningSandbox

    queue = f"pema-bench-channels-{uuid.uuid4().hex[:8]}"
    settings.CHANNELS_TASK_QUEUE = queue
    os.environ["CHANNELS_TASK_QUEUE"] = queue
    seed_pema_wellness()
    hotel = Hotel.objects.get(code="PEMA")
    room_types = list(hotel.room_types.order_by("code"))
    plans = list(hotel.rate_plans.order_by("code"))
    Connection.objects.filter(hotel=hotel).update(enabled=False)
    shape = _shape_calendar(hotel, DAYS)
    ChangeEvent.objects.filter(hotel=hotel).delete()  # set-up, not news

    http = requests.Session()
    workdir = Path(tempfile.mkdtemp(prefix="pema-bench-channels-"))
    sandbox = RunningSandbox(
        state_dir=workdir / "sandbox", room_types=tuple(rt.code for rt in room_types)
    ).start()
    control = f"{sandbox.base_url}/_control/booking_com"
    worker = None
    try:
        http.post(
            f"{control}/configure",
            json={
                "currency": hotel.currency,
                "products": [[rt.code, p.code] for rt in room_types for p in plans],
            },
            timeout=10,
        ).raise_for_status()
        products = [ProductSpec(rt.code, None, rt.code, None) for rt in room_types] + [
            ProductSpec(rt.code, p.code, rt.code, p.code) for rt in room_types for p in plans
        ]
        booking, _ = connect(
            hotel=hotel.code,
            base_url=f"{sandbox.base_url}/booking_com",
            secure_base_url=f"{sandbox.base_url}/booking_com/secure",
            credentials={
                "username": settings.BOOKING_SANDBOX_USERNAME,
                "password": settings.BOOKING_SANDBOX_PASSWORD,
                "hotel_id": settings.BOOKING_SANDBOX_HOTEL_ID,
            },
            settings={"horizon_days": DAYS},
            products=products,
        )
        Connection.objects.filter(pk=booking.pk).update(last_full_sync_at=timezone.now())
        booking.refresh_from_db()

        # 1. The full sync, delivered here (no worker yet).
        today, last_day = hotel.today(), timedelta(days=DAYS - 1)
        began = time.perf_counter()
        jobs = plan_full_sync(booking, days=DAYS)
        planning = time.perf_counter() - began
        while deliver(booking.pk, budget_seconds=600).delivered:
            pass
        seconds = time.perf_counter() - began
        ari_logs = SyncLog.objects.filter(
            connection=booking, operation__in=["OTA_HotelAvailNotif", "OTA_HotelRateAmountNotif"]
        )
        snapshot = http.get(f"{control}/state", timeout=60).json()
        months = len({(d.year, d.month) for d in dates_between(today, today + last_day)})
        held_days = sum(1 for key in snapshot["ari"] if key.startswith("EXT|BAR-BB|"))
        full = {
            "days": DAYS,
            "shape": shape,
            "jobs": jobs,
            "documents": ari_logs.count(),
            "partner_seconds": (ari_logs.aggregate(ms=Sum("duration_ms"))["ms"] or 0) / 1000,
            "floor": months * (len(room_types) + 4 * (len(products) - len(room_types))),
            "messages": ari_logs.aggregate(n=Sum("items"))["n"] or 0,
            "seconds": seconds,
            "planning": planning,
            "naive": len(products) * DAYS,
            # The same wire messages sent day by day: a room's rooms to sell (1), a room x
            # rate's restrictions (3: open/closed with stay limits, arrival, departure) and
            # its price (1).
            "naive_wire": DAYS * (len(room_types) + 4 * (len(products) - len(room_types))),
            "not_done": SyncJob.objects.filter(connection=booking)
            .exclude(status=SyncJob.Status.DONE)
            .count(),
            "held_days": held_days,
            "warnings": snapshot["warnings"],
        }

        # 1b. The same full sync to Expedia (disabled afterwards: the fan-out is Booking's).
        expedia_full = _expedia_full_sync(hotel, sandbox, http, room_types, plans)

        agoda_full = _full_sync_agoda(hotel, sandbox, http, room_types, plans, products, DAYS)

        # 2. Fan-out through the worker, IDS Next connected too.
        Connection.objects.create(
            last_full_sync_at=timezone.now(),
            hotel=hotel,
            provider="ids_next",
            name="IDS Next (bench)",
            base_url=sandbox.base_url,
            settings={"hotel_code": sandbox.hotel_code},
            credentials={"api_key": sandbox.api_key, "api_secret": sandbox.api_secret},
        )
        worker = _start_worker(queue, workdir / "worker.log")
        ext = hotel.room_types.get(code="EXT")
        bar = hotel.rate_plans.get(code="BAR-BB")
        both, ids_times, booking_times, timed_out = [], [], [], 0
        for i in range(CHANGES):
            day = hotel.today() + timedelta(days=10 + i % max(DAYS - 20, 1))
            price = 2_000_000 + i * 100
            began = time.perf_counter()
            apply_ari_update(
                hotel,
                start=day,
                end=day,
                changes=AriChanges(price=price),
                rate_plans=[bar],
                room_types=[ext],
                source="bench",
            )
            seen: dict[str, float] = {}
            deadline = began + 30
            while len(seen) < 2 and time.perf_counter() < deadline:
                if "ids" not in seen:
                    rates = http.get(f"{sandbox.base_url}/_control/state", timeout=10).json()
                    held = rates["rates"].get(f"{bar.code}/{ext.code}", {}).get(day.isoformat())
                    if held and held.get("amount") == price:
                        seen["ids"] = time.perf_counter() - began
                if "booking" not in seen:
                    held = http.post(
                        f"{control}/ari",
                        json={"room_id": ext.code, "rate_id": bar.code, "start": day.isoformat()},
                        timeout=10,
                    ).json()
                    value = held.get(day.isoformat()) or {}
                    if value.get("price") == price:
                        seen["booking"] = time.perf_counter() - began
                if len(seen) < 2:
                    time.sleep(0.005)
            if len(seen) < 2:
                timed_out += 1
                continue
            ids_times.append(seen["ids"])
            booking_times.append(seen["booking"])
            both.append(max(seen.values()))
        fanout = {
            "changes": CHANGES,
            "p50": statistics.median(both) * 1000 if both else 0.0,
            "p95": _percentile(both, 0.95) * 1000,
            "max": max(both) * 1000 if both else 0.0,
            "ids_p50": statistics.median(ids_times) * 1000 if ids_times else 0.0,
            "booking_p50": statistics.median(booking_times) * 1000 if booking_times else 0.0,
            "timed_out": timed_out,
        }

        # 2b. The same fan-out with all five connections on.
        fanout_five = _fanout_five(hotel, sandbox, http, room_types, plans)

        # 3. Inbound: queue, then pull back to back through the worker.
        rng = random.Random(11)
        profile_to = os.environ.get("BENCH_CHANNELS_PROFILE")
        pull_limit = booking.get_provider().pull_limit
        extra = pull_limit if profile_to else 0  # what the profiled pull takes
        for _ in range(RESERVATIONS + extra):
            room_type = rng.choice(room_types)
            plan = rng.choice(plans)
            check_in = hotel.today() + timedelta(days=rng.randint(1, min(DAYS, 365) - 5))
            http.post(
                f"{control}/new",
                json={
                    "room_id": room_type.code,
                    "rate_id": plan.code,
                    "check_in": check_in.isoformat(),
                    "nights": rng.randint(1, 3),
                },
                timeout=10,
            ).raise_for_status()
        if profile_to:
            # One pull in this process under the profiler, before the timed ones.
            import cProfile
            import pstats

            from channels.pull import pull_connection as pull_here

            profiler = cProfile.Profile()
            profiler.runcall(pull_here, booking.pk)
            with open(profile_to, "w") as out:
                stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
                stats.print_stats(60)
                stats.sort_stats("tottime").print_stats(30)
        mine = InboundMessage.objects.filter(connection=booking)
        before = mine.exclude(status=InboundMessage.Status.RECEIVED).count()
        total = RESERVATIONS + extra
        pulls = -(-(total - before) // pull_limit) + 1
        began = time.perf_counter()
        started_at = timezone.now()
        for _ in range(pulls):
            enqueue(pull_connection, booking.pk)
        applied_seconds = acked_seconds = None
        deadline = began + max(120, RESERVATIONS)
        while time.perf_counter() < deadline:
            done = mine.exclude(status=InboundMessage.Status.RECEIVED).count()
            if applied_seconds is None and done >= total:
                applied_seconds = time.perf_counter() - began
            if mine.filter(acked_at__isnull=False).count() >= total:
                acked_seconds = time.perf_counter() - began
                break
            time.sleep(0.05)
        applied = mine.filter(status=InboundMessage.Status.APPLIED)
        lags = [
            (acked - at).total_seconds() * 1000
            for at, acked in applied.filter(
                acked_at__isnull=False, applied_at__gte=started_at
            ).values_list("applied_at", "acked_at")
        ]
        pull_durations = [
            float(found)
            for found in re.findall(
                r"channels\.tasks\.pull_connection\[[^\]]+\] succeeded in ([0-9.]+)s",
                (workdir / "worker.log").read_text(errors="replace"),
            )
        ]
        seconds = applied_seconds or (time.perf_counter() - began)
        inbound = {
            "queued": RESERVATIONS,
            "pull_limit": pull_limit,
            "pulls": pulls,
            "applied": applied.count() - before,
            "held": mine.filter(
                status__in=[InboundMessage.Status.HELD, InboundMessage.Status.FAILED]
            ).count(),
            "seconds": seconds,
            "per_second": (applied.count() - before) / seconds if seconds else 0.0,
            "profiled": before,
            "warnings": http.get(f"{control}/state", timeout=60).json()["warnings"],
            "pull_tasks": len(pull_durations),
            "pull_seconds": sum(pull_durations),
            "pull_mean": statistics.mean(pull_durations) if pull_durations else 0.0,
            "acked_seconds": acked_seconds or 0.0,
            "ack_p50": statistics.median(lags) if lags else 0.0,
            "ack_p95": _percentile(lags, 0.95),
            "ack_max": max(lags) if lags else 0.0,
            "since": started_at.isoformat(),
        }
        airbnb = _measure_airbnb_export(hotel, room_types, plans)
        return {
            "airbnb": airbnb,
            "broker": settings.CELERY_BROKER_URL.split(":", 1)[0],
            "room_types": len(room_types),
            "rate_plans": len(plans),
            "products": len(products),
            "full_sync": full,
            "expedia_full_sync": expedia_full,
            "agoda": agoda_full,
            "fanout": fanout,
            "fanout_five": fanout_five,
            "inbound": inbound,
        }
    finally:
        if worker is not None and worker.poll() is None:
            worker.terminate()
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()
        sandbox.close()
        http.close()
        if os.environ.get("BENCH_KEEP_LOGS"):
            print(f"Sandbox and worker logs kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    print(RESULT_PREFIX + json.dumps(measure(), default=str), flush=True)
