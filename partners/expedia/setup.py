"""Connecting a hotel to Expedia (``manage.py ensure_connection expedia ...``).

An Expedia connection pushes ARI (AR) and pulls bookings (BR), confirming
them (BC): it exports no reservations and is asked nothing before a booking.
Held transactions are never "rejected" (EQC has no rejection), so
``reject_held`` stays off. Its pull runs on a beat entry every minute.
"""

from __future__ import annotations

from channels.connections import ProductSpec, ensure_connection
from channels.models import Connection
from channels.pull import ensure_pull_schedule

PROVIDER = "expedia"


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
    """The hotel's Expedia connection and its pull schedule; (connection, created).

    ``secure_base_url`` is not used: AR, BR and BC share one host.
    """
    conn, created = ensure_connection(
        PROVIDER,
        hotel=hotel,
        base_url=base_url,
        credentials=credentials,
        settings=dict(settings or {}),
        products=products,
        update=update,
        defaults={
            "name": "Expedia",
            "export_reservations": False,
            "check_availability": False,
            "reject_held": False,
        },
    )
    ensure_pull_schedule(conn, update=update)
    return conn, created
