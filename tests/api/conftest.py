"""Fixtures of the API tests: two hotels, keys with chosen scopes, clients that send them."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from bookings.api_keys import issue_key
from tests.factories import sellable_hotel

ALL = ["availability:read", "bookings:read", "bookings:write"]


@pytest.fixture
def hotel(db):
    return sellable_hotel(code="APIH", rooms={"DBL": 2, "TWN": 1})


@pytest.fixture
def other_hotel(db):
    return sellable_hotel(code="OTHER", rooms={"DBL": 1})


@pytest.fixture
def make_client():
    def make(hotels, scopes=ALL, header="bearer", **kwargs):
        issued = issue_key(name="Website", hotels=hotels, scopes=scopes, **kwargs)
        client = APIClient()
        if header == "bearer":
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw}")
        else:
            client.credentials(HTTP_X_API_KEY=issued.raw)
        client.raw_key = issued.raw
        client.api_key = issued.api_key
        return client

    return make


@pytest.fixture
def client(hotel, make_client):
    return make_client([hotel])


@pytest.fixture(autouse=True)
def fresh_failed_authentication_budget():
    """Failed authentications are counted per address across requests (and in the cache,
    across tests): every test starts, and leaves, the test client's address with none."""
    from bookings.api import auth_failures

    auth_failures.reset("127.0.0.1")
    yield
    auth_failures.reset("127.0.0.1")
