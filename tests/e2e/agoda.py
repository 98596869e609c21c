"""Helpers of the Agoda end-to-end tests: the connection, what the simulator holds and hinted.

Not a test module. The Agoda simulator runs in the sandbox process under
``/agoda/``; its BookingHint reaches Pema's hook on the live server.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings as django_settings
from django.utils import timezone

from channels.connections import parse_products
from channels.models import Connection, InboundMessage
from partners.agoda import setup as agoda_setup

PARTNER = "agoda"
PLAN = "BAR"
HINT_TOKEN = "e2e-hint-token"


def connect_agoda(
    hotel,
    sandbox,
    live_server,
    *,
    auth: str = "api_key",
    pull_seconds: int = 3600,
    full_sync: bool = False,
) -> Connection:
    """The hotel's Agoda connection to the simulator, mapped by code, the hint pointed at
    the live server. ``pull_seconds``: the pull interval (long: only hints fetch);
    ``full_sync=False``: the first full sync counts as done."""
    codes = list(hotel.room_types.values_list("code", flat=True))
    credentials = {
        "property_id": django_settings.AGODA_SANDBOX_PROPERTY_ID,
        "hint_token": HINT_TOKEN,
    }
    if auth == "api_key":
        credentials["api_key"] = django_settings.AGODA_SANDBOX_API_KEY
    else:
        credentials["client_id"] = django_settings.AGODA_SANDBOX_CLIENT_ID
        credentials["client_secret"] = django_settings.AGODA_SANDBOX_CLIENT_SECRET
    products = []
    for code in codes:
        products.append(
            {"room_type": code, "rate_plan": None, "partner_room_id": code, "partner_rate_id": None}
        )
        products.append(
            {"room_type": code, "rate_plan": PLAN, "partner_room_id": code, "partner_rate_id": PLAN}
        )
    conn, _ = agoda_setup.connect(
        hotel=hotel.code,
        base_url=f"{sandbox.base_url}/agoda",
        credentials=credentials,
        settings={"auth": auth, "pull_interval_seconds": pull_seconds, "horizon_days": 60},
        products=parse_products(products),
    )
    if not full_sync:
        Connection.objects.filter(pk=conn.pk).update(last_full_sync_at=timezone.now())
        conn.refresh_from_db()
    sandbox.control(
        PARTNER,
        "configure",
        {
            "property_id": django_settings.AGODA_SANDBOX_PROPERTY_ID,
            "currency": hotel.currency,
            "rooms": {c: {"num_persons": 2, "min_rate": 0, "max_rate": 10_000_000} for c in codes},
            "products": [[c, PLAN] for c in codes],
            "hook_url": agoda_setup.hint_url(conn, live_server.url),
            "hint_retry_seconds": 1.0,
            "api_key_cutoff_passed": auth == "token",
        },
    )
    return conn


def allotments(sandbox, room: str, start, nights: int) -> list[int | None]:
    held = sandbox.control(
        PARTNER,
        "ari",
        {
            "room_id": room,
            "start": start.isoformat(),
            "end": (start + timedelta(days=nights - 1)).isoformat(),
        },
    )
    return [(day or {}).get("allotment") for _, day in sorted(held.items())]


def applied(conn, booking_id: str, status: str = "") -> InboundMessage | None:
    found = InboundMessage.objects.filter(
        connection=conn, partner_reservation_id=booking_id, status=InboundMessage.Status.APPLIED
    )
    if status:
        found = found.filter(revision__endswith=status)
    return found.order_by("-id").first()


def hint_outcomes(sandbox, booking_id: str) -> list[str]:
    hints = sandbox.partner_state(PARTNER)["hints"]
    return [h["outcome"] for h in hints.values() if h["booking_id"] == booking_id]
