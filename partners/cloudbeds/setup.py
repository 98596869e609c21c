"""Connecting a hotel to Cloudbeds (``manage.py ensure_connection cloudbeds --hotel PEMA``).

Without options the connection points at the sandbox's simulator
(``CLOUDBEDS_BASE_URL``, ``CLOUDBEDS_API_KEY``, ``CLOUDBEDS_PROPERTY_ID``). A
webhook secret is drawn for the connection when none is given, and the
connection's hook (``PEMA_PUBLIC_URL`` + ``/hooks/<uuid>/?secret=...``) is
subscribed with ``postWebhook`` when ``--settings-json`` asks for it
(``"subscribe": "yes"``, kept out of the stored settings). Cloudbeds takes no
ARI here (``push_ari`` off); it takes Pema's reservations.
"""

from __future__ import annotations

import secrets

from django.conf import settings as django_settings

from channels.connections import ProductSpec, SetupError, ensure_connection
from channels.models import Connection
from channels.providers.base import SyncError

PROVIDER = "cloudbeds"


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
    """The hotel's Cloudbeds connection; (connection, created)."""
    settings = dict(settings or {})
    subscribe = settings.pop("subscribe", "") == "yes"
    settings.setdefault("property_id", django_settings.CLOUDBEDS_PROPERTY_ID)
    credentials = dict(credentials or {"api_key": django_settings.CLOUDBEDS_API_KEY})
    credentials.setdefault("webhook_secret", secrets.token_urlsafe(24))
    conn, created = ensure_connection(
        PROVIDER,
        hotel=hotel,
        base_url=base_url or django_settings.CLOUDBEDS_BASE_URL,
        credentials=credentials,
        settings=settings,
        products=products,
        update=update,
        defaults={"name": "Cloudbeds", "push_ari": False},
    )
    if subscribe:
        hook = django_settings.PEMA_PUBLIC_URL.rstrip("/") + conn.hook_path
        try:
            conn.get_provider().subscribe_webhooks(hook)
        except SyncError as exc:
            raise SetupError(f"Cloudbeds refused the webhook subscription: {exc.message}") from exc
    return conn, created
