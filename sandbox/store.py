"""The harness's generic state store: JSON documents by partner, kind and key, in SQLite.

Every simulator keeps what it holds here (ARI per product and day, its
reservation queue, counters), in one file in the sandbox's state directory,
so a restart resumes where it stopped. This is the partner's side, so it
knows nothing of Pema's database.

One connection guarded by a lock: the server is threaded, SQLite serialises
writers anyway, and the volumes are small. :meth:`StateStore.transaction`
holds the lock for a read-modify-write, which is what keeps a simulator's
deltas consistent under concurrent requests.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

STATE_FILE = "harness.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    partner TEXT NOT NULL,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    body TEXT NOT NULL,
    seq INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (partner, kind, key)
);
CREATE INDEX IF NOT EXISTS documents_by_seq ON documents (partner, kind, seq);
"""


class StateStore:
    """The sandbox's SQLite file (``harness.sqlite3`` in the state directory)."""

    def __init__(self, state_dir: Path) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        self.path = state_dir / STATE_FILE
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic unit (re-entrant): everything inside commits together or not at all."""
        with self._lock:
            if self._db.in_transaction:
                yield
                return
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def get(self, partner: str, kind: str, key: str) -> Any | None:
        with self._lock:
            row = self._db.execute(
                "SELECT body FROM documents WHERE partner=? AND kind=? AND key=?",
                (partner, kind, key),
            ).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, partner: str, kind: str, key: str, document: Any) -> None:
        """Insert or replace; a replaced document keeps its place in :meth:`items` order."""
        now = datetime.now(UTC).isoformat()
        with self.transaction():
            self._db.execute(
                "INSERT INTO documents (partner, kind, key, body, seq, updated_at) VALUES "
                "(?, ?, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM documents), ?) "
                "ON CONFLICT (partner, kind, key) DO UPDATE SET body=excluded.body, "
                "updated_at=excluded.updated_at",
                (partner, kind, key, json.dumps(document, default=str), now),
            )

    def delete(self, partner: str, kind: str, key: str) -> None:
        with self.transaction():
            self._db.execute(
                "DELETE FROM documents WHERE partner=? AND kind=? AND key=?", (partner, kind, key)
            )

    def items(self, partner: str, kind: str) -> list[tuple[str, Any]]:
        """Every ``(key, document)`` of a kind, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT key, body FROM documents WHERE partner=? AND kind=? ORDER BY seq",
                (partner, kind),
            ).fetchall()
        return [(key, json.loads(body)) for key, body in rows]

    def count(self, partner: str, kind: str) -> int:
        with self._lock:
            return self._db.execute(
                "SELECT COUNT(*) FROM documents WHERE partner=? AND kind=?", (partner, kind)
            ).fetchone()[0]

    def reset(self, partner: str) -> None:
        """Forget everything one partner's simulator holds."""
        with self.transaction():
            self._db.execute("DELETE FROM documents WHERE partner=?", (partner,))

    def close(self) -> None:
        with self._lock:
            self._db.close()


class PartnerStore:
    """One simulator's view of the store: its own documents only."""

    def __init__(self, store: StateStore, partner: str) -> None:
        self.store = store
        self.partner = partner

    def transaction(self) -> Any:
        return self.store.transaction()

    def get(self, kind: str, key: str, default: Any = None) -> Any:
        found = self.store.get(self.partner, kind, key)
        return default if found is None else found

    def put(self, kind: str, key: str, document: Any) -> None:
        self.store.put(self.partner, kind, key, document)

    def delete(self, kind: str, key: str) -> None:
        self.store.delete(self.partner, kind, key)

    def items(self, kind: str) -> list[tuple[str, Any]]:
        return self.store.items(self.partner, kind)

    def count(self, kind: str) -> int:
        return self.store.count(self.partner, kind)

    def increment(self, kind: str, key: str, by: int = 1) -> int:
        with self.transaction():
            value = int(self.get(kind, key, 0)) + by
            self.put(kind, key, value)
        return value

    def reset(self) -> None:
        self.store.reset(self.partner)
