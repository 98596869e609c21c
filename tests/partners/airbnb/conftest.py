"""Fixtures of the Airbnb tests: a hotel, its Airbnb connection, and the simulator in a thread."""

from __future__ import annotations

from datetime import timedelta

import pytest

from channels.models import Connection
from partners.airbnb import setup as airbnb_setup
from partners.airbnb.simulator import AirbnbSimulator
from tests.factories import sellable_hotel
from tests.sandbox import HarnessThread

LISTING = "L100"
SINGLE = "L200"
SECRET = "a-test-export-secret-of-some-length"


@pytest.fixture
def hotel(db):
    """EXT with two rooms, SUI with one, on sale for 60 days."""
    return sellable_hotel(code="AIR", rooms={"EXT": 2, "SUI": 1}, days=60)


def connect(hotel, calendar_base: str = "http://airbnb.test", **settings) -> Connection:
    """The hotel's Airbnb connection: EXT as listing L100; one room of SUI (201) as L200."""
    conn, _ = airbnb_setup.connect(
        hotel=hotel.code,
        credentials={"export_secret": SECRET},
        settings={
            "listings": {
                LISTING: {"calendar_url": f"{calendar_base}/calendar/{LISTING}.ics"},
                SINGLE: {"calendar_url": f"{calendar_base}/calendar/{SINGLE}.ics", "room": "201"},
            },
            **settings,
        },
        products=[
            *airbnb_setup.listing_products(LISTING, "EXT", "BAR"),
            *airbnb_setup.listing_products(SINGLE, "SUI", "BAR"),
        ],
    )
    return conn


@pytest.fixture
def conn(hotel):
    return connect(hotel)


@pytest.fixture
def simulator(tmp_path):
    with HarnessThread({"airbnb": AirbnbSimulator}, tmp_path / "state") as running:
        yield running


@pytest.fixture
def live_conn(hotel, simulator):
    """The connection reading its feeds from the simulator in a thread."""
    return connect(hotel, f"{simulator.base_url}/airbnb")


def night(hotel, offset: int):
    return hotel.today() + timedelta(days=offset)
