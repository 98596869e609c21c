"""Helpers of the Booking.com end-to-end tests: the connection, a pull beat, what both sides hold.

Also what every channel's end-to-end test shares: a website booking
(:func:`api_book`), the pull beat, Pema's rooms left. Not a test module.
The Booking.com simulator runs in the sandbox process beside IDS Next, under
``/booking_com/`` with its control at ``/_control/booking_com/``.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from datetime import date, timedelta

from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from bookings.api_keys import issue_key
from bookings.models import InventoryDay, Reservation
from channels import tasks
from channels.connections import parse_products
from channels.models import Connection, SyncJob
from partners.booking_com import setup as booking_setup

PARTNER = "booking_com"
PLAN = "BAR"
CREDENTIALS = {
    "username": settings.BOOKING_SANDBOX_USERNAME,
    "password": settings.BOOKING_SANDBOX_PASSWORD,
    "hotel_id": settings.BOOKING_SANDBOX_HOTEL_ID,
}
CANCELLED = ("Cancel", "Cancelled")
UNMAPPED_ROOM = "99999999"
#: Seconds between pulls: the connection's setting, well under Booking's 20 s for a test.
PULL_INTERVAL = 2


def connect_booking(hotel, sandbox, *, full_sync: bool = False, horizon_days: int = 60):
    """The hotel's Booking.com connection to the simulator, mapped by code, one plan.

    The simulator's property is set to the hotel's room types with that plan.
    ``full_sync=False``: the first full sync counts as done (these tests follow
    what changes from here on).
    """
    codes = list(hotel.room_types.values_list("code", flat=True))
    sandbox.control(
        PARTNER,
        "configure",
        {
            "products": [[code, PLAN] for code in codes],
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
            {"room_type": code, "rate_plan": PLAN, "partner_room_id": code, "partner_rate_id": PLAN}
        )
    base = f"{sandbox.base_url}/booking_com"
    conn, _ = booking_setup.connect(
        hotel=hotel.code,
        base_url=base,
        secure_base_url=f"{base}/secure",
        credentials=CREDENTIALS,
        settings={"pull_interval_seconds": PULL_INTERVAL, "horizon_days": horizon_days},
        products=parse_products(products),
    )
    if not full_sync:
        Connection.objects.filter(pk=conn.pk).update(last_full_sync_at=timezone.now())
        conn.refresh_from_db()
    return conn


def pull(conn: Connection, *, expires: float | None = None) -> None:
    """What the beat entry does: the connection's pull task, on the worker's queue."""
    tasks.pull_connection.apply_async(
        args=[conn.pk], queue=settings.CHANNELS_TASK_QUEUE, expires=expires
    )


class PullBeat:
    """Celery beat's part for one pull connection, in a thread: a pull every interval.

    A pull not taken within the interval expires, as beat's own entries would
    be set to, so a busy worker does not find a backlog of pulls.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.interval = conn.get_provider().capabilities().pull_interval_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            pull(self.conn, expires=self.interval)
            self._stop.wait(self.interval)

    def __enter__(self) -> PullBeat:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def website(hotel) -> APIClient:
    """The booking-engine API as the hotel's website calls it (its own key)."""
    issued = issue_key(name="Website", hotels=[hotel], scopes=["bookings:write", "bookings:read"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw}")
    return client


def api_book(hotel, code: str, start: date, nights: int = 2) -> dict:
    """A booking through the booking-engine API, as a website makes it."""
    answer = website(hotel).post(
        f"/api/v1/hotels/{hotel.code}/bookings/",
        {
            "room_type": code,
            "rate_plan": PLAN,
            "check_in": start.isoformat(),
            "check_out": (start + timedelta(days=nights)).isoformat(),
            "adults": 2,
            "guest": {"first_name": "Asha", "last_name": "Rao", "email": "asha@example.com"},
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )
    assert answer.status_code == 201, answer.content
    return answer.json()


def api_cancel(hotel, confirmation_number: str) -> dict:
    """The guest cancels on the website."""
    answer = website(hotel).post(
        f"/api/v1/bookings/{confirmation_number}/cancel/",
        {"reason": "Plans changed"},
        format="json",
    )
    assert answer.status_code == 200, answer.content
    return answer.json()


def reservations(sandbox) -> dict[str, dict]:
    """The simulator's reservations by id."""
    return {r["id"]: r for r in sandbox.partner_state(PARTNER)["reservations"]}


def acknowledged(record: dict) -> bool:
    """Whether Booking holds the reservation's latest version as acknowledged."""
    return not record["queued"] and record["acked_version"] == record["version"]


def rooms_to_sell(sandbox, room: str, start: date, nights: int) -> list[int | None]:
    """The BookingLimit the simulator holds for ``room`` on each night."""
    held = sandbox.control(
        PARTNER,
        "ari",
        {
            "room_id": room,
            "start": start.isoformat(),
            "end": (start + timedelta(days=nights - 1)).isoformat(),
        },
    )
    return [(day or {}).get("rooms_to_sell") for _, day in sorted(held.items())]


def available(hotel, code: str, start: date, nights: int) -> list[int]:
    """Rooms Pema has left to sell of ``code`` on each night."""
    rows = InventoryDay.objects.filter(
        room_type__hotel=hotel,
        room_type__code=code,
        date__gte=start,
        date__lt=start + timedelta(days=nights),
    ).order_by("date")
    return [row.available for row in rows]


def taken(hotel) -> Counter:
    """(room type, night) -> rooms taken in Pema's calendar, sold or overbooked."""
    rows = InventoryDay.objects.filter(room_type__hotel=hotel).values_list(
        "room_type__code", "date", "sold", "overbooked"
    )
    return Counter({(code, day): sold + over for code, day, sold, over in rows if sold + over})


def nights_of(records, local=()) -> Counter:
    """(room, night) -> rooms the partner's live reservations and local ones take."""
    expected: Counter = Counter()
    for record in records:
        if record["status"] in CANCELLED:
            continue
        for room in record["rooms"]:
            for day, _price in room["nights"]:
                expected[(room["room_id"], date.fromisoformat(day))] += 1
    for reservation in local:
        if reservation.status == Reservation.Status.CANCELLED:
            continue
        for stay in reservation.rooms.select_related("room_type").prefetch_related("nights"):
            for night in stay.nights.all():
                expected[(stay.room_type.code, night.date)] += 1
    return expected


def outbox_settled(conn: Connection) -> bool:
    """Nothing left to send to the connection (every ARI job done)."""
    open_jobs = SyncJob.objects.filter(connection=conn).exclude(
        status__in=[SyncJob.Status.DONE, SyncJob.Status.SKIPPED]
    )
    return not open_jobs.exists()
