"""A fake clock for code that waits (``pema.http.sleep``): it records the waits, never sleeps."""

from __future__ import annotations


class FakeClock:
    """Stands in for ``time.sleep``: ``waits`` lists every wait asked for, ``now`` their sum."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)

    @property
    def now(self) -> float:
        return sum(self.waits)
