"""Helpers of the Expedia end-to-end tests: the connection, what the simulator holds, a booking.

Not a test module. The Expedia simulator runs in the sandbox process under
``/expedia/``, with its control at ``/_control/expedia/``.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from channels.connections import parse_products
from channels.models import Connection
from partners.expedia import setup as expedia_setup

PARTNER = "expedia"
PLAN = "BAR"
CREDENTIALS = {
    "username": settings.EXPEDIA_SANDBOX_USERNAME,
    "password": settings.EXPEDIA_SANDBOX_PASSWORD,
    "hotel_id": settings.EXPEDIA_SANDBOX_HOTEL_ID,
}
#: Seconds between pulls: the connection's setting, under Expedia's minute for a test.
PULL_INTERVAL = 2


def connect_expedia(hotel, sandbox, *, full_sync: bool = False) -> Connection:
    """The hotel's Expedia connection to the simulator, ids "<code>" and "<code>-BAR".

    ``full_sync=False``: the first full sync counts as done.
    """
    codes = list(hotel.room_types.values_list("code", flat=True))
    sandbox.control(
        PARTNER,
        "configure",
        {
            "products": [[code, f"{code}-{PLAN}"] for code in codes],
            "currency": hotel.currency,
            "hotel_id": CREDENTIALS["hotel_id"],
        },
    )
    products = []
    for code in codes:
        products.append(
            {"room_type": code, "rate_plan": None, "partner_room_id": code, "partner_rate_id": None}
        )
        products.append(
            {
                "room_type": code,
                "rate_plan": PLAN,
                "partner_room_id": code,
                "partner_rate_id": f"{code}-{PLAN}",
            }
        )
    conn, _ = expedia_setup.connect(
        hotel=hotel.code,
        base_url=f"{sandbox.base_url}/expedia",
        credentials=CREDENTIALS,
        settings={"pull_interval_seconds": PULL_INTERVAL},
        products=parse_products(products),
    )
    if not full_sync:
        # These tests follow what changes from here on: the first full sync is behind them.
        Connection.objects.filter(pk=conn.pk).update(last_full_sync_at=timezone.now())
        conn.refresh_from_db()
    return conn


def inventory(sandbox, room: str, start, nights: int) -> list[int | None]:
    """``totalInventoryAvailable`` the simulator holds for ``room`` on each night."""
    held = sandbox.control(
        PARTNER,
        "ari",
        {
            "room_id": room,
            "start": start.isoformat(),
            "end": (start + timedelta(days=nights - 1)).isoformat(),
        },
    )
    return [(day or {}).get("total_inventory") for _, day in sorted(held.items())]


def bookings(sandbox) -> dict[str, dict]:
    return {b["id"]: b for b in sandbox.partner_state(PARTNER)["bookings"]}


def confirmed(sandbox, bid: str, kind: str) -> dict | None:
    record = bookings(sandbox)[bid]
    return next(
        (t for t in record["transactions"] if t["type"] == kind and t["status"] == "confirmed"),
        None,
    )


def book_at_expedia(sandbox, room: str, start, nights: int) -> str:
    made = sandbox.control(
        PARTNER,
        "book",
        {
            "room_id": room,
            "rate_id": f"{room}-{PLAN}",
            "check_in": start.isoformat(),
            "nights": nights,
        },
    )
    return made["id"]
