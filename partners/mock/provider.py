"""The mock PMS provider: reservations, rooms and guests generated from a seeded RNG.

No HTTP and no simulator: every call answers from ``random.Random`` seeded with
the connection's ``seed`` setting and the hotel code, so the same connection
always "holds" the same data, and a demo or a test can rely on it. Pema's
reservations are accepted and given the reference ``MOCK-<confirmation
number>``. Its bookings also arrive through the seed's booking webhook
(``/api/v1/pms/mock/bookings/``), which every PMS provider shares.

Settings (all optional): ``seed``; ``room_types`` (comma-separated partner room
codes, default ``EXQ``); ``rate_plan`` (default ``BAR-BB``); ``room_numbers``
(``101-106,110``); ``reservations`` and ``guests`` (how many to generate);
``out_of_order`` (room numbers reported out of order).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta

from channels.interface import (
    DeliveryResult,
    FetchWindow,
    GuestDetails,
    HousekeepingStatus,
    InboundKind,
    InboundReservation,
    InboundRoomStay,
    Night,
    Occupancy,
    PmsGuest,
    PmsRoom,
    ReservationMessage,
)
from channels.providers.pms import PmsProvider

FIRST = ("Asha", "Ravi", "Meera", "Tenzin", "Karma", "Sonam", "Priya", "Arjun", "Leela", "Dorji")
LAST = ("Rao", "Sharma", "Bhutia", "Lepcha", "Gurung", "Iyer", "Das", "Tamang", "Singh", "Menon")
TIERS = ("", "", "Silver", "Gold", "Platinum")
COUNTRIES = ("IN", "IN", "IN", "GB", "US", "DE", "NP", "BT")
STATES = (
    (HousekeepingStatus.CLEAN, 6),
    (HousekeepingStatus.DIRTY, 3),
    (HousekeepingStatus.INSPECTED, 2),
    (HousekeepingStatus.OUT_OF_SERVICE, 1),
)
PAGE = 100
# Generated stays start from this day, so the data does not move with the clock.
EPOCH = date(2026, 1, 1)


def numbers(spec: str) -> list[str]:
    """``"101-103,110"`` -> ``["101", "102", "103", "110"]``."""
    found = []
    for part in (p.strip() for p in spec.split(",")):
        if "-" in part:
            first, last = part.split("-", 1)
            width = len(first)
            found += [str(n).zfill(width) for n in range(int(first), int(last) + 1)]
        elif part:
            found.append(part)
    return found


class MockProvider(PmsProvider):
    """A PMS made of generated data (``seed`` decides it)."""

    key = "mock"
    label = "Mock PMS (generated data, no HTTP)"
    content_type = "application/json"
    optional_settings = {
        "seed": "Seed of the generated data",
        "room_types": "Partner room codes, comma-separated",
        "rate_plan": "Partner rate code",
        "room_numbers": "Room numbers, e.g. 101-106,110",
        "reservations": "How many reservations it holds",
        "guests": "How many guest profiles it holds",
        "out_of_order": "Room numbers out of order, comma-separated",
        "start": "First day stays are generated from (YYYY-MM-DD)",
    }

    def _rng(self, what: str) -> random.Random:
        # The hotel's code, not its database id: the same seed gives the same data in
        # every database (a test's, a demo's), whatever ids the rows got.
        hotel = self.connection.hotel.code
        return random.Random(f"{self.setting('seed', '1')}:{hotel}:{what}")

    def _count(self, name: str, default: int) -> int:
        try:
            return max(int(self.setting(name, str(default))), 0)
        except ValueError:
            return default

    @property
    def room_types(self) -> list[str]:
        return [c.strip() for c in self.setting("room_types", "EXQ").split(",") if c.strip()]

    def _start(self) -> date:
        try:
            return date.fromisoformat(self.setting("start", EPOCH.isoformat()))
        except ValueError:
            return EPOCH

    def test_connection(self) -> str:
        return f"Mock PMS: generated data (seed {self.setting('seed', '1')}), no HTTP."

    # ------------------------------------------------------------------ generated data
    def guests(self) -> list[PmsGuest]:
        rng = self._rng("guests")
        found = []
        for n in range(1, self._count("guests", 10) + 1):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            found.append(
                PmsGuest(
                    pms_id=f"MG-{n}",
                    given_name=first,
                    surname=last,
                    email=f"{first}.{last}.{n}@example.com".lower(),
                    phone=f"+91 98{rng.randrange(10**8):08d}",
                    country=rng.choice(COUNTRIES),
                    loyalty_tier=rng.choice(TIERS),
                    total_stays=rng.randrange(0, 12),
                )
            )
        return found

    def reservations(self) -> list[InboundReservation]:
        rng = self._rng("reservations")
        guests = self.guests() or [PmsGuest(pms_id="MG-0", given_name="Walk", surname="In")]
        start, plan = self._start(), self.setting("rate_plan", "BAR-BB")
        made = datetime(start.year, start.month, start.day, 9, tzinfo=UTC)
        found = []
        for n in range(1, self._count("reservations", 10) + 1):
            guest = rng.choice(guests)
            check_in = start + timedelta(days=rng.randrange(0, 60))
            nights = rng.randrange(1, 5)
            price = rng.randrange(80, 200) * 10000
            stay = InboundRoomStay(
                partner_room_id=rng.choice(self.room_types),
                partner_rate_id=plan,
                check_in=check_in,
                check_out=check_in + timedelta(days=nights),
                adults=rng.randrange(1, 3),
                nights=tuple(Night(check_in + timedelta(days=d), price) for d in range(nights)),
            )
            found.append(
                InboundReservation(
                    partner_reservation_id=f"MOCK-{n}",
                    revision="1",
                    kind=InboundKind.NEW,
                    currency=self.connection.hotel.currency,
                    total=price * nights,
                    guest=GuestDetails(
                        given_name=guest.given_name,
                        surname=guest.surname,
                        email=guest.email,
                        phone=guest.phone,
                        country=guest.country,
                    ),
                    rooms=(stay,),
                    booked_at=made + timedelta(minutes=n),
                    revised_at=made + timedelta(minutes=n),
                )
            )
        return found

    def rooms(self) -> list[PmsRoom]:
        rng = self._rng("rooms")
        out = set(numbers(self.setting("out_of_order", "")))
        states = [state for state, weight in STATES for _ in range(weight)]
        found = []
        for n, number in enumerate(numbers(self.setting("room_numbers", "101-106"))):
            state = HousekeepingStatus.OUT_OF_ORDER if number in out else rng.choice(states)
            found.append(
                PmsRoom(
                    pms_id=f"MR-{number}",
                    number=number,
                    housekeeping=state,
                    occupancy=rng.choice((Occupancy.VACANT, Occupancy.OCCUPIED)),
                    partner_room_type=self.room_types[n % len(self.room_types)],
                    reason="Out of order (mock)" if number in out else "",
                )
            )
        return found

    # ------------------------------------------------------------------ the PMS operations
    @staticmethod
    def _pages(items: Sequence, limit: int | None) -> Iterator[Sequence]:
        items = list(items)[:limit] if limit is not None else list(items)
        for at in range(0, len(items), PAGE):
            yield items[at : at + PAGE]

    def fetch_reservations(self, window: FetchWindow) -> Iterator[Sequence[InboundReservation]]:
        items = self.reservations()
        if window.since is not None:
            items = [r for r in items if r.revised_at and r.revised_at > window.since]
        return self._pages(items, window.limit)

    def fetch_rooms(self) -> Iterator[Sequence[PmsRoom]]:
        return self._pages(self.rooms(), None)

    def fetch_guests(self, window: FetchWindow) -> Iterator[Sequence[PmsGuest]]:
        return self._pages(self.guests(), window.limit)

    def set_housekeeping(self, pms_room_id: str, status: HousekeepingStatus) -> None:
        """The mock takes every state (it keeps none: the next sync reports its own again)."""

    def push_reservation(
        self, reservation: ReservationMessage, *, message_id: str
    ) -> DeliveryResult:
        if reservation.partner_reference:
            return DeliveryResult(messages=1)
        if reservation.cancelled:
            return DeliveryResult(skipped="Cancelled before it reached the PMS.")
        reference = f"MOCK-{reservation.confirmation_number}"
        return DeliveryResult(
            partner_references={reservation.confirmation_number: reference}, messages=1
        )

    def cancel_reservation(
        self, reservation: ReservationMessage, *, message_id: str
    ) -> DeliveryResult:
        if not reservation.partner_reference:
            return DeliveryResult(skipped="Never reached the PMS: nothing to cancel there.")
        return DeliveryResult(messages=1)
