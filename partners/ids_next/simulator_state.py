"""The IDS Next sandbox's own memory: a SQLite file in its state directory.

This is the partner's system, so it deliberately knows nothing of Pema's
database or models: it stores only what arrived on the wire.

- ``inventory``: BookingLimit per room type code and date;
- ``restrictions``: stop sell / CTA / CTD / min-max stay per room type, rate plan
  ('' = any) and date;
- ``rates``: price per rate plan x room type x date (minor units + currency);
- ``reservations``: one row per confirmation number (UNIQUE, which is what
  makes Commit idempotent), with the sandbox's own ``IDS-000123`` reference;
  its ``room_type``/``rate_plan``/``rooms`` columns are the first RoomStay's
  codes and the rooms counted, kept for readers of the old shape (the count
  is ``room_count`` in the snapshot, whose ``rooms`` is the list below);
- ``reservation_rooms``: the reservation's RoomStays, one row per group of
  like rooms (room type, rate plan, dates, ``units``, guests per room, total,
  nightly rates as JSON). Availability counts these, room type by room type.
  A state file from before this table gets it filled from ``reservations``
  when opened (one row per reservation, as those held one room type), so no
  ``reset`` is needed;
- ``message_counts`` and ``echo_tokens``: what was received, for tests.

One connection guarded by a lock: the server is threaded, SQLite serialises
writers anyway, and the volumes are tiny.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

STATUS_CONFIRMED = "Confirmed"
STATUS_CANCELLED = "Cancelled"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS inventory (
    room_type TEXT NOT NULL,
    day TEXT NOT NULL,
    booking_limit INTEGER NOT NULL,
    PRIMARY KEY (room_type, day)
);
CREATE TABLE IF NOT EXISTS restrictions (
    room_type TEXT NOT NULL,
    rate_plan TEXT NOT NULL,
    day TEXT NOT NULL,
    stop_sell INTEGER,
    closed_to_arrival INTEGER,
    closed_to_departure INTEGER,
    min_stay_arrival INTEGER,
    min_stay_through INTEGER,
    max_stay INTEGER,
    PRIMARY KEY (room_type, rate_plan, day)
);
CREATE TABLE IF NOT EXISTS rates (
    rate_plan TEXT NOT NULL,
    room_type TEXT NOT NULL,
    day TEXT NOT NULL,
    amount INTEGER NOT NULL,
    currency TEXT NOT NULL,
    extra_adult INTEGER,
    extra_child INTEGER,
    PRIMARY KEY (rate_plan, room_type, day)
);
CREATE TABLE IF NOT EXISTS reservations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    reference TEXT UNIQUE,
    confirmation_number TEXT NOT NULL UNIQUE,
    hotel_code TEXT,
    room_type TEXT NOT NULL,
    rate_plan TEXT,
    arrival TEXT NOT NULL,
    departure TEXT NOT NULL,
    rooms INTEGER NOT NULL DEFAULT 1,
    adults INTEGER NOT NULL DEFAULT 1,
    children INTEGER NOT NULL DEFAULT 0,
    guest TEXT NOT NULL DEFAULT '{}',
    special_requests TEXT NOT NULL DEFAULT '[]',
    total INTEGER,
    currency TEXT,
    status TEXT NOT NULL,
    revision INTEGER NOT NULL DEFAULT 1,
    cancellation_number TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS reservation_rooms (
    reservation_id INTEGER NOT NULL REFERENCES reservations (id),
    position INTEGER NOT NULL,
    room_type TEXT NOT NULL,
    rate_plan TEXT,
    arrival TEXT NOT NULL,
    departure TEXT NOT NULL,
    units INTEGER NOT NULL DEFAULT 1,
    adults INTEGER NOT NULL DEFAULT 1,
    children INTEGER NOT NULL DEFAULT 0,
    total INTEGER,
    rates TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (reservation_id, position)
);
CREATE INDEX IF NOT EXISTS reservation_rooms_by_type
    ON reservation_rooms (room_type, arrival, departure);
CREATE TABLE IF NOT EXISTS message_counts (
    kind TEXT PRIMARY KEY,
    count INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS echo_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    token TEXT,
    received_at TEXT NOT NULL
);
"""

# A state file written before reservation_rooms existed: each reservation held
# ``rooms`` rooms of its one room type. Idempotent: only reservations without rows.
_UPGRADE = """
INSERT INTO reservation_rooms
    (reservation_id, position, room_type, rate_plan, arrival, departure, units, adults,
     children, total)
SELECT id, 0, room_type, rate_plan, arrival, departure, rooms, adults, children, total
FROM reservations r
WHERE NOT EXISTS (SELECT 1 FROM reservation_rooms x WHERE x.reservation_id = r.id)
"""

_RESTRICTION_FIELDS = (
    "stop_sell",
    "closed_to_arrival",
    "closed_to_departure",
    "min_stay_arrival",
    "min_stay_through",
    "max_stay",
)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def days(start: date, end_inclusive: date) -> Iterator[date]:
    day = start
    while day <= end_inclusive:
        yield day
        day += timedelta(days=1)


class SandboxState:
    """All persistent state of one sandbox, in ``<state_dir>/ids_next.sqlite3``."""

    def __init__(self, state_dir: Path | str) -> None:
        self.path = Path(state_dir) / "ids_next.sqlite3"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._db.execute(_UPGRADE)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit: a message is applied completely or not at all."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # ------------------------------------------------------------- bookkeeping

    def record_message(self, kind: str, echo_token: str | None) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO message_counts (kind, count) VALUES (?, 1) "
                "ON CONFLICT(kind) DO UPDATE SET count = count + 1",
                (kind,),
            )
            db.execute(
                "INSERT INTO echo_tokens (kind, token, received_at) VALUES (?, ?, ?)",
                (kind, echo_token, _now()),
            )

    def reset(self) -> None:
        with self.transaction() as db:
            for table in (
                "inventory",
                "restrictions",
                "rates",
                "reservation_rooms",
                "reservations",
                "message_counts",
                "echo_tokens",
            ):
                db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
            # Start references at IDS-000001 again after a reset.
            db.execute("DELETE FROM sqlite_sequence")

    # ------------------------------------------------------------------- ARI

    def set_booking_limit(
        self, db: sqlite3.Connection, room_type: str, day: date, limit: int
    ) -> None:
        db.execute(
            "INSERT INTO inventory (room_type, day, booking_limit) VALUES (?, ?, ?) "
            "ON CONFLICT(room_type, day) DO UPDATE SET booking_limit = excluded.booking_limit",
            (room_type, day.isoformat(), limit),
        )

    def set_restriction(
        self, db: sqlite3.Connection, room_type: str, rate_plan: str, day: date, **values: Any
    ) -> None:
        """Set some restriction fields for one day, leaving the others as they were."""
        fields = [f for f in _RESTRICTION_FIELDS if f in values]
        if not fields:
            return
        db.execute(
            "INSERT OR IGNORE INTO restrictions (room_type, rate_plan, day) VALUES (?, ?, ?)",
            (room_type, rate_plan, day.isoformat()),
        )
        assignments = ", ".join(f"{f} = ?" for f in fields)
        db.execute(
            f"UPDATE restrictions SET {assignments} "  # noqa: S608 - whitelisted columns
            "WHERE room_type = ? AND rate_plan = ? AND day = ?",
            (*(values[f] for f in fields), room_type, rate_plan, day.isoformat()),
        )

    def set_rate(
        self,
        db: sqlite3.Connection,
        rate_plan: str,
        room_type: str,
        day: date,
        amount: int,
        currency: str,
        extra_adult: int | None,
        extra_child: int | None,
    ) -> None:
        db.execute(
            "INSERT INTO rates (rate_plan, room_type, day, amount, currency, extra_adult, "
            "extra_child) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(rate_plan, room_type, day) DO UPDATE SET amount = excluded.amount, "
            "currency = excluded.currency, extra_adult = excluded.extra_adult, "
            "extra_child = excluded.extra_child",
            (rate_plan, room_type, day.isoformat(), amount, currency, extra_adult, extra_child),
        )

    def availability(self, room_type: str, start: date, end: date) -> int:
        """Rooms sellable for every night in [start, end): limit minus held reservations.

        A night the sandbox was never told about counts as 0, and so does a
        night under stop sell (any rate plan or none), like a PMS that was
        never loaded would answer.
        """
        with self._lock:
            nights = list(days(start, end - timedelta(days=1)))
            if not nights:
                return 0
            limits = {
                row["day"]: row["booking_limit"]
                for row in self._db.execute(
                    "SELECT day, booking_limit FROM inventory "
                    "WHERE room_type = ? AND day >= ? AND day < ?",
                    (room_type, start.isoformat(), end.isoformat()),
                )
            }
            stopped = {
                row["day"]
                for row in self._db.execute(
                    "SELECT day FROM restrictions WHERE room_type = ? AND rate_plan = '' "
                    "AND stop_sell = 1 AND day >= ? AND day < ?",
                    (room_type, start.isoformat(), end.isoformat()),
                )
            }
            # Every RoomStay of that type counts, whatever else its reservation holds.
            held = self._db.execute(
                "SELECT s.arrival, s.departure, s.units FROM reservation_rooms s "
                "JOIN reservations r ON r.id = s.reservation_id "
                "WHERE s.room_type = ? AND r.status != ? AND s.arrival < ? AND s.departure > ?",
                (room_type, STATUS_CANCELLED, end.isoformat(), start.isoformat()),
            ).fetchall()
        free = []
        for night in nights:
            key = night.isoformat()
            sold = sum(r["units"] for r in held if r["arrival"] <= key < r["departure"])
            limit = 0 if key in stopped else limits.get(key, 0)
            free.append(max(limit - sold, 0))
        return min(free)

    def nightly_rates(
        self, room_type: str, start: date, end: date, rate_plan: str | None = None
    ) -> dict[str, list[sqlite3.Row]]:
        """Rate plan -> one row per night, for the plans priced on every night of the stay."""
        with self._lock:
            sql = (
                "SELECT * FROM rates WHERE room_type = ? AND day >= ? AND day < ?"
                + (" AND rate_plan = ?" if rate_plan else "")
                + " ORDER BY rate_plan, day"
            )
            params: tuple = (room_type, start.isoformat(), end.isoformat())
            rows = self._db.execute(sql, params + ((rate_plan,) if rate_plan else ())).fetchall()
        nights = (end - start).days
        by_plan: dict[str, list[sqlite3.Row]] = {}
        for row in rows:
            by_plan.setdefault(row["rate_plan"], []).append(row)
        return {plan: rs for plan, rs in by_plan.items() if len(rs) == nights}

    def stopped_rate_plans(self, room_type: str, start: date, end: date) -> set[str]:
        """Rate plans closed (stop sell) on some night of [start, end) for ``room_type``."""
        with self._lock:
            rows = self._db.execute(
                "SELECT DISTINCT rate_plan FROM restrictions WHERE room_type = ? "
                "AND rate_plan != '' AND stop_sell = 1 AND day >= ? AND day < ?",
                (room_type, start.isoformat(), end.isoformat()),
            ).fetchall()
        return {row["rate_plan"] for row in rows}

    # ------------------------------------------------------------ reservations

    def find_reservation(
        self, *, reference: str | None = None, confirmation_number: str | None = None
    ) -> dict[str, Any] | None:
        with self._lock:
            row = None
            if reference:
                row = self._db.execute(
                    "SELECT * FROM reservations WHERE reference = ?", (reference,)
                ).fetchone()
            if row is None and confirmation_number:
                row = self._db.execute(
                    "SELECT * FROM reservations WHERE confirmation_number = ?",
                    (confirmation_number,),
                ).fetchone()
            return _reservation(self._db, row) if row is not None else None

    def create_reservation(self, values: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Store a new reservation; return (reservation, created).

        An already-known confirmation number returns the stored reservation
        unchanged (``created`` False): a retried Commit must never make two.
        """
        with self.transaction() as db:
            existing = db.execute(
                "SELECT * FROM reservations WHERE confirmation_number = ?",
                (values["confirmation_number"],),
            ).fetchone()
            if existing is not None:
                return _reservation(db, existing), False
            now = _now()
            cursor = db.execute(
                "INSERT INTO reservations (confirmation_number, hotel_code, room_type, rate_plan, "
                "arrival, departure, rooms, adults, children, guest, special_requests, total, "
                "currency, status, revision, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)",
                (
                    values["confirmation_number"],
                    values.get("hotel_code"),
                    values["room_type"],
                    values.get("rate_plan"),
                    values["arrival"],
                    values["departure"],
                    values.get("rooms", 1),
                    values.get("adults", 1),
                    values.get("children", 0),
                    json.dumps(values.get("guest") or {}),
                    json.dumps(list(values.get("special_requests") or [])),
                    values.get("total"),
                    values.get("currency"),
                    STATUS_CONFIRMED,
                    now,
                    now,
                ),
            )
            reservation_id = cursor.lastrowid
            db.execute(
                "UPDATE reservations SET reference = ? WHERE id = ?",
                (f"IDS-{reservation_id:06d}", reservation_id),
            )
            _store_rooms(db, reservation_id, values)
            row = db.execute(
                "SELECT * FROM reservations WHERE id = ?", (reservation_id,)
            ).fetchone()
            return _reservation(db, row), True

    def modify_reservation(self, reservation_id: int, values: dict[str, Any]) -> dict[str, Any]:
        with self.transaction() as db:
            db.execute(
                "UPDATE reservations SET room_type = ?, rate_plan = ?, arrival = ?, departure = ?, "
                "rooms = ?, adults = ?, children = ?, guest = ?, special_requests = ?, total = ?, "
                "currency = ?, revision = revision + 1, updated_at = ? WHERE id = ?",
                (
                    values["room_type"],
                    values.get("rate_plan"),
                    values["arrival"],
                    values["departure"],
                    values.get("rooms", 1),
                    values.get("adults", 1),
                    values.get("children", 0),
                    json.dumps(values.get("guest") or {}),
                    json.dumps(list(values.get("special_requests") or [])),
                    values.get("total"),
                    values.get("currency"),
                    _now(),
                    reservation_id,
                ),
            )
            _store_rooms(db, reservation_id, values)
            row = db.execute(
                "SELECT * FROM reservations WHERE id = ?", (reservation_id,)
            ).fetchone()
            return _reservation(db, row)

    def cancel_reservation(self, reservation_id: int) -> dict[str, Any]:
        with self.transaction() as db:
            db.execute(
                "UPDATE reservations SET status = ?, cancellation_number = ?, "
                "revision = revision + 1, updated_at = ? WHERE id = ? AND status != ?",
                (
                    STATUS_CANCELLED,
                    f"IDSC-{reservation_id:06d}",
                    _now(),
                    reservation_id,
                    STATUS_CANCELLED,
                ),
            )
            row = db.execute(
                "SELECT * FROM reservations WHERE id = ?", (reservation_id,)
            ).fetchone()
            return _reservation(db, row)

    # ----------------------------------------------------------------- export

    def snapshot(self) -> dict[str, Any]:
        """Everything, as JSON-ready data, for ``GET /_control/state``."""
        with self._lock:
            db = self._db
            inventory: dict[str, dict[str, int]] = {}
            for row in db.execute("SELECT * FROM inventory ORDER BY room_type, day"):
                inventory.setdefault(row["room_type"], {})[row["day"]] = row["booking_limit"]
            restrictions: dict[str, dict[str, dict[str, Any]]] = {}
            for row in db.execute("SELECT * FROM restrictions ORDER BY room_type, rate_plan, day"):
                key = f"{row['room_type']}/{row['rate_plan'] or '*'}"
                restrictions.setdefault(key, {})[row["day"]] = {
                    f: row[f] for f in _RESTRICTION_FIELDS if row[f] is not None
                }
            rates: dict[str, dict[str, dict[str, Any]]] = {}
            for row in db.execute("SELECT * FROM rates ORDER BY rate_plan, room_type, day"):
                rates.setdefault(f"{row['rate_plan']}/{row['room_type']}", {})[row["day"]] = {
                    "amount": row["amount"],
                    "currency": row["currency"],
                    "extra_adult": row["extra_adult"],
                    "extra_child": row["extra_child"],
                }
            rooms: dict[int, list[dict[str, Any]]] = {}
            for row in db.execute(
                "SELECT * FROM reservation_rooms ORDER BY reservation_id, position"
            ):
                rooms.setdefault(row["reservation_id"], []).append(_room(row))
            reservations = [
                _reservation(db, row, rooms.get(row["id"], []))
                for row in db.execute("SELECT * FROM reservations ORDER BY id")
            ]
            counts = {
                row["kind"]: row["count"] for row in db.execute("SELECT * FROM message_counts")
            }
            tokens = [
                {"kind": row["kind"], "echo_token": row["token"], "received_at": row["received_at"]}
                for row in db.execute("SELECT * FROM echo_tokens ORDER BY id")
            ]
        return {
            "inventory": inventory,
            "restrictions": restrictions,
            "rates": rates,
            "reservations": reservations,
            "message_counts": counts,
            "echo_tokens": tokens,
        }


def _store_rooms(db: sqlite3.Connection, reservation_id: int, values: dict[str, Any]) -> None:
    """Replace the reservation's RoomStays with ``values["room_stays"]``.

    Without ``room_stays`` the reservation's own columns are its one RoomStay.
    """
    stays = values.get("room_stays") or [
        {
            "room_type": values["room_type"],
            "rate_plan": values.get("rate_plan"),
            "arrival": values["arrival"],
            "departure": values["departure"],
            "units": values.get("rooms", 1),
            "adults": values.get("adults", 1),
            "children": values.get("children", 0),
            "total": values.get("total"),
        }
    ]
    db.execute("DELETE FROM reservation_rooms WHERE reservation_id = ?", (reservation_id,))
    db.executemany(
        "INSERT INTO reservation_rooms (reservation_id, position, room_type, rate_plan, arrival, "
        "departure, units, adults, children, total, rates) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                reservation_id,
                position,
                stay["room_type"],
                stay.get("rate_plan"),
                stay["arrival"],
                stay["departure"],
                stay.get("units", 1),
                stay.get("adults", 1),
                stay.get("children", 0),
                stay.get("total"),
                json.dumps(list(stay.get("rates") or [])),
            )
            for position, stay in enumerate(stays)
        ],
    )


def _room(row: sqlite3.Row) -> dict[str, Any]:
    data = dict(row)
    del data["reservation_id"], data["position"]
    data["rates"] = json.loads(data["rates"] or "[]")
    return data


def _reservation(
    db: sqlite3.Connection, row: sqlite3.Row, rooms: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A reservation row as JSON-ready data, with its ``rooms`` (read unless given).

    ``rooms`` is the list of RoomStays; the rooms they count together (the
    column ``rooms``) is ``room_count``.
    """
    data = dict(row)
    data["room_count"] = data.pop("rooms")
    data["guest"] = json.loads(data["guest"] or "{}")
    data["special_requests"] = json.loads(data["special_requests"] or "[]")
    if rooms is None:
        rooms = [
            _room(r)
            for r in db.execute(
                "SELECT * FROM reservation_rooms WHERE reservation_id = ? ORDER BY position",
                (data["id"],),
            )
        ]
    data["rooms"] = rooms
    return data
