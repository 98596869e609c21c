"""Fixtures shared by the channel and PMS tests: a small hotel with an IDS Next connection.

The test packages' conftest modules import them, so each folder gets the same fixtures.
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from channels.models import Connection
from tests.factories import sellable_hotel

BASE_URL = "http://ids.test"


def make_connection(hotel, **overrides) -> Connection:
    """A connection that has been running: its first full sync is behind it (pass
    ``last_full_sync_at=None`` for a new one)."""
    values = {
        "last_full_sync_at": timezone.now(),
        "hotel": hotel,
        "provider": "ids_next",
        "name": "IDS Next",
        "base_url": BASE_URL,
        "settings": {"hotel_code": "PEMA001"},
        "credentials": {"api_key": "k", "api_secret": "s"},
    }
    values.update(overrides)
    return Connection.objects.create(**values)


@pytest.fixture
def hotel(db):
    return sellable_hotel(code="IDS", rooms={"EXT": 2, "EXQ": 3}, days=40)


@pytest.fixture
def conn(hotel):
    return make_connection(hotel)


@pytest.fixture(autouse=True)
def _fast_retries(settings):
    settings.CHANNELS_RETRY_BASE_SECONDS = 1.0
    settings.CHANNELS_RETRY_MAX_SECONDS = 300.0
    settings.CHANNELS_RETRY_MAX_AGE = 24 * 3600.0
    settings.CHANNELS_PROBE_SECONDS = 30.0
    settings.CHANNELS_OUTBOX_SETTLE_SECONDS = 60.0
    settings.IDS_AVAILABILITY_CACHE_SECONDS = 0
