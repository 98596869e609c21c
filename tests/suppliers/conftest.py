"""Fixtures of the suppliers tests: the simulator in this process, suppliers pointed at it."""

from __future__ import annotations

import pytest

from partners.hotelbeds.setup import ensure_hotelbeds_supplier, sandbox_settings
from suppliers.models import Supplier
from tests.support.hotelbeds import KEY, SECRET, serving


@pytest.fixture
def hb_sandbox(tmp_path, settings):
    settings.HOTELBEDS_SANDBOX_LATENCY_MS = 0
    settings.HOTELBEDS_SANDBOX_HOTELS = 40
    settings.PEMA_SUPPLIER_SEARCH_CACHE_SECONDS = 120
    with serving(tmp_path / "sandbox") as sandbox:
        yield sandbox


@pytest.fixture(autouse=True)
def empty_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def make_supplier(
    sandbox, code: str = "hotelbeds", partner: str = "hotelbeds", **extra
) -> Supplier:
    url = sandbox.url(partner)
    return ensure_hotelbeds_supplier(
        Supplier,
        code=code,
        base_url=url,
        api_key=KEY,
        secret=SECRET,
        qps=extra.pop("qps", 50),
        settings=sandbox_settings(url),
        **extra,
    )


@pytest.fixture
def supplier(db, hb_sandbox) -> Supplier:
    return make_supplier(hb_sandbox)


@pytest.fixture
def api(db):
    """An API client holding a key with the given scopes: ``api("suppliers:read")``."""
    from rest_framework.test import APIClient

    from bookings.api_keys import issue_key
    from tests.factories import HotelFactory

    hotel = HotelFactory()

    def make(*scopes: str) -> APIClient:
        issued = issue_key(name="engine", hotels=[hotel], scopes=scopes)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw}")
        client.api_key = issued.api_key
        return client

    return make
