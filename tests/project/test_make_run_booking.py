"""`make run` connects the seeded Pema hotel to the local Booking.com simulator, mapped by code,
and running it again changes nothing."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from bookings.models import RatePlan, RoomType
from channels.mapping import ProductMap
from channels.models import ChannelProduct, Connection

ROOT = Path(settings.BASE_DIR)


def make_run_commands() -> list[list[str]]:
    """The manage.py commands of `make run`'s recipe, as the shell would pass them."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    recipe = subprocess.run(
        ["make", "-n", "-s", "-C", str(ROOT), "run", "PY=python", "VENV=.venv"],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    ).stdout
    commands = []
    for line in recipe.splitlines():
        if "manage.py" not in line:
            continue
        # The shell's own word splitting and ${VAR:-default} expansion, with no BOOKING_* set.
        argv = subprocess.run(
            ["sh", "-c", f"printf '%s\\0' {line}"],
            capture_output=True,
            text=True,
            check=True,
            env={"PATH": "/usr/bin:/bin"},
        ).stdout.split("\0")[:-1]
        commands.append(argv[argv.index("manage.py") + 1 :])
    return commands


def booking_command() -> list[str]:
    [command] = [c for c in make_run_commands() if c[:2] == ["ensure_connection", "booking_com"]]
    return command


def test_make_run_connects_booking_com_after_the_seed_and_before_the_processes():
    names = [c[0] for c in make_run_commands()]
    assert names.index("seed_pema") < names.index("ensure_connection") < len(names)
    assert names[-1] == "show_admin_login"


def test_the_connection_points_at_the_procfiles_sandbox():
    command = booking_command()
    base = command[command.index("--base-url") + 1]
    procfile = (ROOT / "Procfile").read_text()
    sandbox = next(line for line in procfile.splitlines() if line.startswith("sandbox:"))
    port = sandbox.split("--port", 1)[1].split()[0]
    assert base == f"http://127.0.0.1:{port}/booking_com"
    assert command[command.index("--secure-base-url") + 1] == base + "/secure"


@pytest.mark.django_db
def test_make_runs_booking_connection_maps_the_seed_as_the_simulator_has_it():
    call_command("seed_pema", stdout=io.StringIO())
    out = io.StringIO()
    call_command(*booking_command(), stdout=out)
    assert out.getvalue().startswith("Created connection")

    conn = Connection.objects.get(hotel__code="PEMA", provider="booking_com")
    assert conn.credentials == {
        "username": settings.BOOKING_SANDBOX_USERNAME,
        "password": settings.BOOKING_SANDBOX_PASSWORD,
        "hotel_id": settings.BOOKING_SANDBOX_HOTEL_ID,
    }
    # The simulator's property: every seeded room type, at room level and with each plan.
    simulator = {
        (room, rate)
        for room in settings.BOOKING_SANDBOX_ROOMS
        for rate in settings.BOOKING_SANDBOX_RATES
    }
    rows = ChannelProduct.objects.filter(connection=conn)
    assert {(p.partner_room_id, p.partner_rate_id) for p in rows if p.rate_plan} == simulator
    assert {p.partner_room_id for p in rows if p.rate_plan is None} == set(
        settings.BOOKING_SANDBOX_ROOMS
    )
    assert all(p.partner_room_id == p.room_type.code for p in rows)  # mapped by code
    assert all(p.partner_rate_id == p.rate_plan.code for p in rows if p.rate_plan)
    seeded = {
        (rt.code, plan.code)
        for plan in RatePlan.objects.filter(hotel=conn.hotel)
        for rt in plan.room_types.all()
    }
    assert simulator == seeded
    assert RoomType.objects.filter(hotel=conn.hotel).count() == len(settings.BOOKING_SANDBOX_ROOMS)
    product = ProductMap(conn).resolve("EXQ", "BAR-BB")
    assert (product.room_type.code, product.rate_plan.code) == ("EXQ", "BAR-BB")
    assert PeriodicTask.objects.filter(name=f"channels-pull-{conn.pk}", enabled=True).exists()


@pytest.mark.django_db
def test_make_run_again_keeps_the_connection_as_it_is():
    call_command("seed_pema", stdout=io.StringIO())
    call_command(*booking_command(), stdout=io.StringIO())
    conn = Connection.objects.get(provider="booking_com")
    conn.name = "Booking.com (renamed by staff)"
    conn.save(update_fields=["name"])
    ChannelProduct.objects.filter(connection=conn, rate_plan__code="NRF-BB").update(active=False)

    out = io.StringIO()
    call_command(*booking_command(), stdout=out)

    assert out.getvalue().startswith("Kept connection")
    assert Connection.objects.filter(provider="booking_com").count() == 1
    conn.refresh_from_db()
    assert conn.name == "Booking.com (renamed by staff)"
    assert ChannelProduct.objects.filter(connection=conn).count() == 30
    assert ChannelProduct.objects.filter(connection=conn, active=False).count() == 10
    assert PeriodicTask.objects.filter(name=f"channels-pull-{conn.pk}").count() == 1
