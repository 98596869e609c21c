"""Connecting a hotel to OPERA Cloud (``manage.py ensure_connection opera --hotel PEMA``).

Without options the connection points at the sandbox's simulator
(``OPERA_BASE_URL``) with the simulator's own client, application key and hotel
``SAND01``: only when the gateway is the local sandbox's. Production sets
``OPERA_BASE_URL`` (the gateway from Oracle's developer portal),
``OPERA_CLIENT_ID``, ``OPERA_CLIENT_SECRET``, ``OPERA_APP_KEY`` and
``OPERA_HOTEL_ID``. OPERA takes no ARI here (``push_ari`` off); it takes Pema's
reservations, and its own are read by the bookings sync (business events).
"""

from __future__ import annotations

from django.conf import settings as django_settings

from channels.connections import ProductSpec, SetupError, ensure_connection
from channels.models import Connection

PROVIDER = "opera"


def connect(
    *,
    hotel: str,
    base_url: str | None = None,
    credentials: dict | None = None,
    secure_base_url: str | None = None,
    settings: dict | None = None,
    products: list[ProductSpec] | None = None,
    update: bool = False,
) -> tuple[Connection, bool]:
    """The hotel's OPERA Cloud connection; (connection, created)."""
    from partners.opera.simulator import APP_KEY, CLIENT_ID, CLIENT_SECRET, EXTERNAL_SYSTEM

    base_url = base_url or django_settings.OPERA_BASE_URL
    sandbox = "/opera" in base_url and "127.0.0.1" in base_url
    credentials = dict(
        credentials
        or {
            "client_id": django_settings.OPERA_CLIENT_ID or (CLIENT_ID if sandbox else ""),
            "client_secret": django_settings.OPERA_CLIENT_SECRET
            or (CLIENT_SECRET if sandbox else ""),
            "app_key": django_settings.OPERA_APP_KEY or (APP_KEY if sandbox else ""),
        }
    )
    missing = [k for k in ("client_id", "client_secret", "app_key") if not credentials.get(k)]
    if missing:
        raise SetupError(
            "OPERA needs OPERA_CLIENT_ID, OPERA_CLIENT_SECRET and OPERA_APP_KEY outside the "
            f"sandbox (missing: {', '.join(missing)})."
        )
    settings = dict(settings or {})
    settings.setdefault("hotel_id", django_settings.OPERA_HOTEL_ID)
    settings.setdefault("external_system", EXTERNAL_SYSTEM)
    return ensure_connection(
        PROVIDER,
        hotel=hotel,
        base_url=base_url,
        credentials=credentials,
        settings=settings,
        products=products,
        update=update,
        defaults={"name": "OPERA Cloud", "push_ari": False},
    )
