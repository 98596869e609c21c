"""Connecting a hotel to Airbnb (``manage.py ensure_connection airbnb ...``).

An Airbnb connection sends no ARI (Airbnb reads Pema's calendar export) and
takes no reservations from Pema; it reads each listing's Airbnb calendar on a
beat entry every ``pull_interval_seconds`` (10 minutes by default). Each
listing is mapped twice, as every room type a channel sells: the room level
(``partner_room_id`` = the listing id) and the room x rate product of the
rate plan its bookings are priced at (``partner_rate_id`` = ``stay``, since a
feed has no rates); :func:`listing_products` writes both.

``credentials`` may leave out ``export_secret``: a new connection gets a
random one, and an existing one keeps its own, so the export URLs given to
Airbnb stay valid when the setup runs again.
"""

from __future__ import annotations

import secrets

from channels.connections import ProductSpec, ensure_connection
from channels.models import Connection
from channels.pull import ensure_pull_schedule

from .ical import RATE_ID

PROVIDER = "airbnb"
DEFAULT_BASE_URL = "https://www.airbnb.com"


def listing_products(listing: str, room_type: str, rate_plan: str) -> list[ProductSpec]:
    """The two product rows of one listing: its room type, and the rate plan it is priced at."""
    return [
        ProductSpec(room_type, None, listing, ""),
        ProductSpec(room_type, rate_plan, listing, RATE_ID),
    ]


def connect(
    *,
    hotel: str,
    base_url: str = DEFAULT_BASE_URL,
    credentials: dict | None = None,
    secure_base_url: str | None = None,
    settings: dict | None = None,
    products: list[ProductSpec] | None = None,
    update: bool = False,
) -> tuple[Connection, bool]:
    """The hotel's Airbnb connection and its feed-reading schedule; (connection, created).

    ``secure_base_url`` is not used (the command passes it to every partner).
    """
    credentials = dict(credentials or {})
    if not credentials.get("export_secret"):
        existing = Connection.objects.filter(hotel__code=hotel, provider=PROVIDER).first()
        kept = (existing.credentials or {}).get("export_secret") if existing else None
        credentials["export_secret"] = kept or secrets.token_urlsafe(32)
    conn, created = ensure_connection(
        PROVIDER,
        hotel=hotel,
        base_url=base_url or DEFAULT_BASE_URL,
        credentials=credentials,
        settings=settings or {},
        products=products,
        update=update,
        defaults={
            "name": "Airbnb",
            "push_ari": False,
            "export_reservations": False,
            "check_availability": False,
        },
    )
    ensure_pull_schedule(conn, update=update)
    return conn, created
