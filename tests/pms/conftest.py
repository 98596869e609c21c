"""Fixtures of the PMS tests: a sellable hotel and its mock PMS connection."""

from __future__ import annotations

import pytest

from channels.models import Connection
from tests.factories import sellable_hotel


@pytest.fixture
def eager():
    """Celery tasks run in-process, as a worker would run them."""
    from pema.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def hotel(db):
    """Rooms 101-103 (EXQ) and 201-202 (EXT), rate plan BAR, 90 days of calendar."""
    return sellable_hotel(code="PEMA", rooms={"EXQ": 3, "EXT": 2}, days=90)


def mock_connection(hotel, **settings) -> Connection:
    from partners.mock.setup import connect

    values = {
        "room_types": "EXQ,EXT",
        "rate_plan": "BAR",
        "room_numbers": "101-103,201-202",
        "start": hotel.today().isoformat(),
        **settings,
    }
    conn, _ = connect(
        hotel=hotel.code, credentials={"webhook_secret": "mock-webhook-secret"}, settings=values
    )
    return conn


@pytest.fixture
def mock(hotel) -> Connection:
    return mock_connection(hotel)
