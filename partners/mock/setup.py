"""Connecting a hotel to the mock PMS (``manage.py ensure_connection mock --hotel PEMA``).

The mock needs no base URL and no credentials (a ``webhook_secret`` may be
given for the booking webhook); its settings are optional. A PMS takes no ARI
here, so the connection is made with ``push_ari`` off; its sync schedule
(bookings, rooms, guests) is made with the connection. ``make run`` does not
connect it unless asked.
"""

from __future__ import annotations

from channels.connections import ProductSpec, ensure_connection
from channels.models import Connection

PROVIDER = "mock"
# Never called: the mock makes no HTTP. The field wants a URL all the same.
BASE_URL = "http://mock.invalid/"


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
    """The hotel's mock PMS connection; (connection, created)."""
    return ensure_connection(
        PROVIDER,
        hotel=hotel,
        base_url=base_url or BASE_URL,
        credentials=credentials or {},
        settings=settings or {},
        products=products,
        update=update,
        defaults={"name": "Mock PMS", "push_ari": False},
    )
