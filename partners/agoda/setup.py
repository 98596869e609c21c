"""Connecting a hotel to Agoda (``manage.py ensure_connection agoda ...``).

An Agoda connection pushes ARI and pulls bookings (and takes BookingHint
pushes on its hook, when a ``hint_token`` is stored): it exports no
reservations and is asked nothing before a booking. Its pull runs on a beat
entry (every 120 s by default; hints make it the backstop).
"""

from __future__ import annotations

from channels.connections import ProductSpec, SetupError, ensure_connection
from channels.models import Connection
from channels.pull import ensure_pull_schedule

PROVIDER = "agoda"


def connect(
    *,
    hotel: str,
    base_url: str,
    credentials: dict,
    settings: dict | None = None,
    products: list[ProductSpec] | None = None,
    update: bool = False,
    secure_base_url: str | None = None,
) -> tuple[Connection, bool]:
    """The hotel's Agoda connection and its pull schedule; (connection, created).

    Agoda has one host: ``secure_base_url`` (the command's option) must be empty.
    """
    if secure_base_url:
        raise SetupError("Agoda has one host: give --base-url only.")
    conn, created = ensure_connection(
        PROVIDER,
        hotel=hotel,
        base_url=base_url,
        credentials=credentials,
        settings=dict(settings or {}),
        products=products,
        update=update,
        defaults={"name": "Agoda", "export_reservations": False, "check_availability": False},
    )
    ensure_pull_schedule(conn, update=update)
    return conn, created


def hint_url(connection: Connection, site: str) -> str:
    """The BookingHint URL to give Agoda: the connection's hook with its token."""
    token = (connection.credentials or {}).get("hint_token", "")
    return f"{site.rstrip('/')}{connection.hook_path}?token={token}"
