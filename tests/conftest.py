"""Shared test fixtures; PostgreSQL-only tests are skipped (loudly, by make test) on SQLite.

``make test`` runs the suite in parallel (pytest-xdist, see scripts/test.sh):
each worker has its own test database and runs whichever tests it is handed,
so a test may rely on its fixtures only, never on another test beside it.
"""

import pytest
from django.conf import settings


def is_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def pytest_collection_modifyitems(config, items):
    if is_postgres():
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def keep_availability_checker():
    """Tests may swap the PMS availability checker; every test starts with the app's own."""
    from bookings import external

    installed = external._checker
    yield
    external.register_availability_checker(installed)


@pytest.fixture(autouse=True)
def closed_breakers():
    """A test that takes Redis down must not leave later tests skipping the broker or cache."""
    from pema.cache import cache_breaker
    from pema.tasks import broker_breaker

    for breaker in (broker_breaker, cache_breaker):
        breaker.reset()
    yield
    for breaker in (broker_breaker, cache_breaker):
        breaker.reset()


@pytest.fixture(autouse=True)
def fake_http_clock(monkeypatch):
    """The in-call 429 retries of ``pema.http`` and the pacing of ``pema.pacing`` wait on a
    fake clock in tests (never really)."""
    from pema import http, pacing

    from .support.clock import FakeClock

    clock = FakeClock()
    monkeypatch.setattr(http, "sleep", clock.sleep)
    monkeypatch.setattr(pacing, "sleep", clock.sleep)  # client-side pacing waits on it too
    return clock
