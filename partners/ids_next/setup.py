"""Connecting a hotel to IDS Next (``manage.py ensure_ids_connection``).

The connection comes from the ``IDS_*`` settings, not from command-line
values: a hotel has one PMS, and ``make run`` and the compose stack point it
at the sandbox by default. An IDS Next connection exports every reservation
and, when the hotel makes the PMS its availability master, is asked before
every booking. Its periodic full ARI sync runs on a beat entry.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.db.models import Model

from channels.models import Connection
from pema.schedules import ensure_periodic_task

PROVIDER = "ids_next"
FULL_SYNC_TASK_NAME = "IDS Next: full ARI sync"


def ensure_ids_connection(hotel: Model, *, update: bool = False) -> tuple[Connection, bool]:
    """The hotel's IDS Next connection, created from settings if missing.

    ``hotel`` is a ``bookings`` hotel (typed as a model only: partners do not
    import ``bookings`` models, not even for a hint).

    Run again it changes nothing, unless ``update`` asks to re-apply the settings
    (base URL, hotel code, credentials).
    """
    values = {
        "base_url": settings.IDS_BASE_URL,
        "settings": {"hotel_code": settings.IDS_HOTEL_CODE},
    }
    credentials = {"api_key": settings.IDS_API_KEY, "api_secret": settings.IDS_API_SECRET}
    # IDS's own schedule first: a connection saved without one would get the
    # generic daily full sync (channels.signals.schedule_full_syncs) beside it.
    ensure_periodic_task(
        name=FULL_SYNC_TASK_NAME,
        task="channels.tasks.full_sync_provider",
        every_minutes=settings.IDS_SYNC_INTERVAL_MINUTES,
        enabled=settings.IDS_ENABLE_BACKGROUND_SYNC,
        args=[PROVIDER],
        update=update,
    )
    # Credentials are not read: an update replaces them, so it works even when the
    # stored ones were written with a key that is no longer configured.
    with transaction.atomic():
        conn, created = Connection.objects.defer("credentials").get_or_create(
            hotel=hotel,
            provider=PROVIDER,
            defaults={"name": "IDS Next", **values, "credentials": credentials},
        )
        if update and not created:
            for key, value in values.items():
                setattr(conn, key, value)
            conn.credentials = credentials
            conn.save()
    return conn, created
