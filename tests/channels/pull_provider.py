"""A small pull partner for the operations tests: it keeps reservations for Pema to fetch.

Test scaffolding, registered under ``test_pull`` by the ``pull_ota`` fixture.
What waits is ``WAITING`` (a class-level list the test fills); a pull reads
it, and an acknowledgement empties what it names. ``FAIL`` makes the next
reads fail as an unreachable partner would. The engine under test (pull,
record, apply, acknowledge) is the real one.
"""

from __future__ import annotations

from typing import ClassVar

from channels.interface import (
    Acknowledgement,
    Capabilities,
    InboundReservation,
    PullResult,
    ReservationFlow,
)
from channels.providers.base import TransientError

from .inbound_provider import InboundTestProvider


class PullTestProvider(InboundTestProvider):
    key = "test_pull"
    label = "Test pull OTA"
    WAITING: ClassVar[list[InboundReservation]] = []
    ACKED: ClassVar[list[str]] = []
    FAIL: ClassVar[str] = ""

    def capabilities(self) -> Capabilities:
        return Capabilities(reservations=ReservationFlow.PULL, pull_interval_seconds=20)

    def pull_reservations(self) -> PullResult:
        if self.FAIL:
            raise TransientError(self.FAIL, unreachable=True)
        return PullResult(reservations=tuple(self.WAITING))

    def acknowledge(self, ack: Acknowledgement) -> None:
        done = {r.ack_token for r in ack.applied}
        type(self).ACKED.extend(sorted(done))
        type(self).WAITING[:] = [r for r in self.WAITING if r.ack_token not in done]

    def test_connection(self) -> str:
        if self.FAIL:
            raise TransientError(self.FAIL, unreachable=True)
        return f"{len(self.WAITING)} reservation(s) waiting."
