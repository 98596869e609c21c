"""Connecting a hotel to Mews (``manage.py ensure_connection mews --hotel PEMA``).

Without options the connection points at the sandbox's simulator with Mews'
published demo tokens (the simulator's defaults, public, never production's):
only when ``MEWS_BASE_URL`` is the sandbox's, or not set. Production sets
``MEWS_BASE_URL``, ``MEWS_CLIENT_TOKEN``, ``MEWS_ACCESS_TOKEN`` and ``MEWS_SERVICE_ID``.
A ``webhook_secret`` is drawn for the General webhook's ``?Token=`` when none is
given; Mews registers the webhook URL by hand (its partner team).
"""

from __future__ import annotations

import secrets

from django.conf import settings as django_settings

from channels.connections import ProductSpec, SetupError, ensure_connection
from channels.models import Connection

PROVIDER = "mews"


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
    """The hotel's Mews connection; (connection, created)."""
    from partners.mews.simulator import DEFAULT_ACCESS_TOKEN, DEFAULT_CLIENT_TOKEN, SERVICE

    base_url = base_url or django_settings.MEWS_BASE_URL
    sandbox = "/mews" in base_url and "127.0.0.1" in base_url
    credentials = dict(
        credentials
        or {
            "client_token": django_settings.MEWS_CLIENT_TOKEN
            or (DEFAULT_CLIENT_TOKEN if sandbox else ""),
            "access_token": django_settings.MEWS_ACCESS_TOKEN
            or (DEFAULT_ACCESS_TOKEN if sandbox else ""),
        }
    )
    if not credentials.get("client_token") or not credentials.get("access_token"):
        raise SetupError("Mews needs MEWS_CLIENT_TOKEN and MEWS_ACCESS_TOKEN outside the sandbox.")
    credentials.setdefault("webhook_secret", secrets.token_urlsafe(24))
    settings = dict(settings or {})
    settings.setdefault(
        "service_id", django_settings.MEWS_SERVICE_ID or (SERVICE if sandbox else "")
    )
    return ensure_connection(
        PROVIDER,
        hotel=hotel,
        base_url=base_url,
        credentials=credentials,
        settings=settings,
        products=products,
        update=update,
        defaults={"name": "Mews", "push_ari": False},
    )
