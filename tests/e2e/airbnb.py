"""Helpers of the Airbnb end-to-end tests: the connection, Airbnb's poll of Pema, a booking.

Not a test module. The Airbnb simulator runs in the sandbox process under
``/airbnb/``; it reads Pema's export from the live server when told to.
"""

from __future__ import annotations

from datetime import timedelta

from bookings.models import InventoryDay, Reservation
from partners.airbnb import setup as airbnb_setup

PARTNER = "airbnb"
LISTING = "SUITE1"
#: Seconds between feed reads: the connection's setting, short for the test.
POLL = 2


def connect_airbnb(hotel, sandbox, live_server, *, room_type: str = "SUI", export_days: int = 60):
    """The hotel's Airbnb connection: ``room_type`` (the suite) as one listing; the simulator
    imports Pema's export of it."""
    conn, _ = airbnb_setup.connect(
        hotel=hotel.code,
        settings={
            "listings": {
                LISTING: {"calendar_url": f"{sandbox.base_url}/airbnb/calendar/{LISTING}.ics"}
            },
            "pull_interval_seconds": POLL,
            "export_days": export_days,
        },
        products=airbnb_setup.listing_products(LISTING, room_type, "BAR"),
    )
    path = conn.get_provider().export_path(LISTING)
    sandbox.control(PARTNER, "import_url", {"listing": LISTING, "url": live_server.url + path})
    return conn


def closed_at_airbnb(sandbox) -> set[str]:
    """Airbnb reads Pema's calendar (as its import polls it) and says what it holds closed."""
    record = sandbox.control(PARTNER, "fetch_export", {"listing": LISTING})
    assert record["status"] in (200, 304), record
    return set(record["closed"])


def nights(hotel, offset: int, count: int) -> set[str]:
    return {(hotel.today() + timedelta(days=offset + n)).isoformat() for n in range(count)}


def sold(hotel, offset: int, room_type: str = "SUI") -> int:
    day = InventoryDay.objects.get(
        room_type__hotel=hotel,
        room_type__code=room_type,
        date=hotel.today() + timedelta(days=offset),
    )
    return day.sold + day.overbooked


def airbnb_booking(sandbox, hotel, offset: int, count: int = 2) -> dict:
    return sandbox.control(
        PARTNER,
        "book",
        {
            "listing": LISTING,
            "check_in": (hotel.today() + timedelta(days=offset)).isoformat(),
            "nights": count,
        },
    )


def landed(hotel, uid: str) -> list[Reservation]:
    return list(Reservation.objects.filter(hotel=hotel, source_channel=PARTNER, external_id=uid))
