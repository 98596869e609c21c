"""Fixtures for the channel-manager tests (shared with the PMS tests)."""

import pytest

from tests.ids_connection import BASE_URL, _fast_retries, conn, hotel, make_connection

__all__ = ["BASE_URL", "_fast_retries", "conn", "hotel", "make_connection"]

OTA_BASE_URL = "http://ota.test"
OTA_SECRET = "test-signing-secret"


@pytest.fixture
def inbound_provider(monkeypatch):
    """The test partner of tests/channels/inbound_provider.py, registered for one test."""
    from channels import providers

    monkeypatch.setitem(
        providers.PROVIDERS,
        "test_inbound",
        "tests.channels.inbound_provider.InboundTestProvider",
    )
    providers.provider_class.cache_clear()
    yield
    providers.provider_class.cache_clear()


@pytest.fixture
def ota(hotel, inbound_provider):
    """An OTA connection of the test hotel, mapped by code (no product rows)."""
    return make_connection(
        hotel,
        provider="test_inbound",
        name="Test OTA",
        base_url=OTA_BASE_URL,
        settings={},
        credentials={"secret": OTA_SECRET},
    )


@pytest.fixture
def eager():
    """Celery tasks run in-process, as a worker would run them."""
    from pema.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def pull_ota(hotel, monkeypatch):
    """A pull OTA connection of the test hotel (tests/channels/pull_provider.py), mapped by
    code, with nothing waiting."""
    from channels import providers

    from .pull_provider import PullTestProvider

    monkeypatch.setitem(
        providers.PROVIDERS, "test_pull", "tests.channels.pull_provider.PullTestProvider"
    )
    providers.provider_class.cache_clear()
    monkeypatch.setattr(PullTestProvider, "WAITING", [])
    monkeypatch.setattr(PullTestProvider, "ACKED", [])
    monkeypatch.setattr(PullTestProvider, "FAIL", "")
    yield make_connection(
        hotel,
        provider="test_pull",
        name="Pull OTA",
        base_url="http://pull.test",
        settings={},
        credentials={"secret": OTA_SECRET},
        push_ari=False,
    )
    providers.provider_class.cache_clear()
