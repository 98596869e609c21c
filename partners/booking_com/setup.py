"""Connecting a hotel to Booking.com (``manage.py ensure_connection booking_com ...``).

A Booking.com connection pushes ARI and pulls reservations: it exports no
reservations (Booking takes none from a channel manager) and is asked nothing
before a booking. Its pull runs on a beat entry every 20 s.
"""

from __future__ import annotations

from channels.connections import ProductSpec, ensure_connection
from channels.models import Connection
from channels.pull import ensure_pull_schedule

PROVIDER = "booking_com"


def connect(
    *,
    hotel: str,
    base_url: str,
    credentials: dict,
    secure_base_url: str | None = None,
    settings: dict | None = None,
    products: list[ProductSpec] | None = None,
    update: bool = False,
) -> tuple[Connection, bool]:
    """The hotel's Booking.com connection and its pull schedule; (connection, created).

    ``secure_base_url`` (where reservations are read) defaults to ``base_url``.
    """
    settings = dict(settings or {})
    if secure_base_url:
        settings["secure_base_url"] = secure_base_url
    conn, created = ensure_connection(
        PROVIDER,
        hotel=hotel,
        base_url=base_url,
        credentials=credentials,
        settings=settings,
        products=products,
        update=update,
        defaults={
            "name": "Booking.com",
            "export_reservations": False,
            "check_availability": False,
        },
    )
    ensure_pull_schedule(conn, update=update)
    return conn, created
