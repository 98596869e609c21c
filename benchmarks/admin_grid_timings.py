"""Server time of the staff rate grid (30 days) and of one cell edit, with 5,000 reservations.

``grid_timings(client, hotel)`` is the measurement: the Django test client
(logged in as a user who may change rates) calls the views in this process,
so the figure is the server's time (URL routing, middleware, the views,
their queries and the template) without a network or a WSGI server. The
cell edit is a BAR price change, which also re-derives the non-refundable
plan and writes one change event. The benchmark runner (``bench_admin``)
calls it; run alone, ``python -m benchmarks.admin_grid_timings`` builds a
dedicated PostgreSQL database (``pema_bench_admin_grid``, or
``<BENCH_DB_PREFIX>_admin_grid``; dropped and re-created) on the server that
``DATABASE_URL`` names, else the local one, seeds the Pema hotel with 5,000
reservations and prints the figures.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = os.environ.get("BENCH_DB_PREFIX", "pema_bench") + "_admin_grid"
RESERVATIONS = 5000
ROUNDS = 60
TARGET_MS = 150


def _percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50_ms": round(statistics.median(ordered), 1), "p95_ms": round(p95, 1)}


def grid_timings(client, hotel, rounds: int = ROUNDS) -> dict:
    """p50/p95 milliseconds of a 30-day grid page and of a cell edit (BAR price) for ``hotel``."""
    from django.urls import reverse

    grid_url = reverse("admin:bookings_hotel_calendar", args=[hotel.pk])
    plan = hotel.rate_plans.filter(parent__isnull=True, is_active=True).order_by("code").first()
    room_type = plan.room_types.order_by("sort_order", "code").first()
    today = hotel.today()
    grid, edit = [], []
    for _ in range(3):  # warm the connection, the template cache and the URL resolver
        client.get(grid_url, {"days": 30})
    for n in range(rounds):
        started = time.perf_counter()
        response = client.get(grid_url, {"days": 30})
        grid.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
        day = today + timedelta(days=1 + n % 28)
        url = reverse("admin:bookings_hotel_grid_rate", args=[hotel.pk, room_type.pk, plan.pk, day])
        form = {"price": str(15000 + n), "min_stay_arrival": 1, "min_stay_through": 1}
        started = time.perf_counter()
        response = client.post(url, form, HTTP_HX_REQUEST="true")
        edit.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200 and b"Saved." in response.content
    return {
        "grid_30_days": _percentiles(grid),
        "cell_edit": _percentiles(edit),
        "rounds": rounds,
        "target_p95_ms": TARGET_MS,
    }


def add_reservations(hotel, count: int = RESERVATIONS) -> None:
    """``count`` confirmed one-room reservations over the next 60 days, counted into the calendar
    (in bulk: set-up, not the thing measured)."""
    import random
    from collections import Counter

    from django.db import transaction
    from django.db.models import F

    from bookings.models import Guest, InventoryDay, Reservation, ReservationRoom

    rng = random.Random(7)
    today = hotel.today()
    room_types = list(hotel.room_types.all())
    plan = hotel.rate_plans.filter(parent__isnull=True).first()
    with transaction.atomic():
        guests = Guest.objects.bulk_create(
            Guest(hotel=hotel, first_name="Bench", last_name=f"G{i}", email=f"g{i}@bench.test")
            for i in range(count)
        )
        reservations, types, sold = [], [], Counter()
        for i, guest in enumerate(guests):
            room_type = rng.choice(room_types)
            check_in = today + timedelta(days=rng.randint(0, 59))
            nights = rng.randint(1, 4)
            reservations.append(
                Reservation(
                    hotel=hotel,
                    confirmation_number=f"BENCH-{i:06d}",
                    source="staff",
                    guest=guest,
                    check_in=check_in,
                    check_out=check_in + timedelta(days=nights),
                    adults=2,
                    total_amount=1_000_000 * nights,
                    currency=hotel.currency,
                )  # fmt: skip
            )
            types.append(room_type)
            for night in range(nights):
                sold[(room_type.id, check_in + timedelta(days=night))] += 1
        Reservation.objects.bulk_create(reservations, batch_size=1000)
        ReservationRoom.objects.bulk_create(
            (
                ReservationRoom(
                    reservation=r,
                    room_type=t,
                    rate_plan=plan,
                    adults=2,
                    total_amount=r.total_amount,
                )
                for r, t in zip(reservations, types, strict=True)
            ),  # fmt: skip
            batch_size=1000,
        )
        rows = InventoryDay.objects.filter(room_type__hotel=hotel, date__gte=today)
        for row in rows.values("id", "room_type_id", "date", "total", "sold", "blocked"):
            taken = sold.get((row["room_type_id"], row["date"]), 0)
            room_left = row["total"] - row["sold"] - row["blocked"]
            add, over = min(taken, room_left), max(taken - room_left, 0)
            if add or over:
                InventoryDay.objects.filter(pk=row["id"]).update(
                    sold=F("sold") + add, overbooked=F("overbooked") + over
                )


def _prepare_database() -> None:
    """Point Django at a fresh benchmark database on the chosen PostgreSQL server."""
    import psycopg

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        url = "postgres://postgres@127.0.0.1:5432/postgres"
    server = url.rsplit("/", 1)[0]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}"')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    os.environ["DATABASE_URL"] = f"{server}/{DB_NAME}"


def main() -> dict:
    """Build the database, seed it, measure; returns the figures (and prints them)."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pema.settings")
    _prepare_database()
    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from bookings.models import Hotel
    from bookings.seed import seed_pema_wellness

    call_command("migrate", verbosity=0)
    seed_pema_wellness()
    hotel = Hotel.objects.get(code="PEMA")
    add_reservations(hotel)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    user = User.objects.create_user("bench-revenue", is_staff=True)
    user.groups.add(Group.objects.get(name="Revenue"))
    client = Client()
    client.force_login(user)
    figures = grid_timings(client, hotel)
    print(figures)
    return figures


if __name__ == "__main__":
    main()
