"""Pulling reservations from partners that keep them for us to fetch (Booking.com, ...).

:func:`pull_connection` is one pull of one connection, the same for every
provider: read what the partner has waiting (``provider.pull_reservations``),
store each message raw (``record_inbound``, or ``record_malformed`` for one
the provider could not read), apply each (``apply_inbound``, its own
transaction), and only then, everything committed, acknowledge
(``acknowledge_pending``). A crash anywhere before the acknowledgement only
means the partner sends the messages again, and applying them again changes
nothing.

Never two pulls of one connection at once: a pull holds the connection's
delivery lease (``channels.delivery.claim``), the same one the outbox uses, so
a pull waits for the next beat while ARI is being delivered to that partner.

When the partner answers an acknowledgement with "pull again" (Booking.com's
409: a reservation changed since it was read), the connection is pulled once
more, after the partner's wait after an ack, and acknowledged again.

A feed partner (Airbnb's iCalendar) lists what it holds rather than what
changed: its pull also returns a ``FeedSnapshot`` per feed read whole, and
``channels/feeds.py`` turns entries already held into modifications and
what is gone from a feed into cancellations, stored and applied like any
other message.

A pull acknowledges everything it owes, :data:`ACK_BATCH` messages a call: a
pull can read more than one call's worth (Booking.com reads new and modified
reservations, up to its ``limit`` each), and what is left unacknowledged is
only sent again by the partner at the next pull.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field

from .delivery import claim, lease_keeper, release
from .feeds import as_modifications, held_items, removals
from .inbound import (
    APPLICABLE,
    AckReport,
    acknowledge_pending,
    apply_inbound,
    record_inbound,
    record_malformed,
)
from .mapping import ProductMap
from .models import Connection
from .providers.base import SyncError

logger = logging.getLogger(__name__)
#: Messages acknowledged per call to the partner.
ACK_BATCH = 100
#: A bound on the calls of one pull's acknowledgement (messages come in far fewer).
MAX_ACK_CALLS = 100


@dataclass
class PullReport:
    """What one pull did: messages read, applied, held, and the acknowledgements."""

    claimed: bool = False
    pulls: int = 0
    received: int = 0
    applied: int = 0
    held: int = 0
    acks: list[AckReport] = field(default_factory=list)
    error: str = ""

    def as_dict(self) -> dict:
        return {
            "claimed": self.claimed,
            "pulls": self.pulls,
            "received": self.received,
            "applied": self.applied,
            "held": self.held,
            "acknowledged": sum(a.accepted for a in self.acks),
            "rejected": sum(a.rejected for a in self.acks),
            "ack_failed": sum(a.failed for a in self.acks),
            "error": self.error,
        }


def _pull_once(connection: Connection, report: PullReport, read=None) -> bool:
    """Read (``read``: the provider's pull unless given), store and apply; False when
    the partner could not be read."""
    provider = connection.get_provider()
    report.pulls += 1
    try:
        result = (read or provider.pull_reservations)()
    except SyncError as exc:
        report.error = exc.message
        return False
    items = list(result.reservations)
    if result.snapshots:
        # A feed lists what stands: the engine tells new from changed, and finds removals.
        held = held_items(connection)
        items = as_modifications(result.reservations, held)
        items += removals(held, result.snapshots, today=connection.hotel.today())
    messages = [record_inbound(connection, item) for item in items]
    messages += [
        record_malformed(
            connection,
            bad.raw,
            bad.reason,
            partner_reservation_id=bad.partner_reservation_id,
            ack_token=bad.ack_token,
        )
        for bad in result.unreadable
    ]
    report.received += len(messages)
    products = ProductMap(connection)  # read once for the whole pull
    for message in messages:
        if message.status not in APPLICABLE:
            continue  # applied before: delivered again, nothing to do but acknowledge
        done = apply_inbound(message.pk, products=products)
        if done.status == done.Status.APPLIED:
            report.applied += 1
        elif done.status in (done.Status.HELD, done.Status.FAILED):
            report.held += 1
    return True


def _acknowledge_owed(connection: Connection, report: PullReport) -> AckReport:
    """Acknowledge every committed message owed, a batch a call; the last call's report."""
    ack = AckReport()
    for _ in range(MAX_ACK_CALLS):
        ack = acknowledge_pending(connection, limit=ACK_BATCH)
        report.acks.append(ack)
        if ack.pull_again or ack.failed or ack.accepted + ack.rejected < ACK_BATCH:
            break
    return ack


def pull_connection(connection_id: int) -> PullReport:
    """One pull of ``connection_id``: read, store, apply, then acknowledge."""
    report = PullReport()
    owner = f"pull-{uuid.uuid4().hex}"
    if not claim(connection_id, owner):
        return report
    report.claimed = True
    keeper = lease_keeper(connection_id, owner)
    keeper.start()
    try:
        connection = Connection.objects.select_related("hotel").get(pk=connection_id)
        if not _pull_once(connection, report):
            return report
        ack = _acknowledge_owed(connection, report)
        if ack.pull_again and not keeper.lost:
            time.sleep(connection.get_provider().wait_after_ack_seconds)
            if _pull_once(connection, report):
                _acknowledge_owed(connection, report)
    finally:
        keeper.stop()
        release(connection_id, owner)
    return report


def fetch_hinted(connection_id: int, partner_reservation_ids: list[str]) -> PullReport:
    """Read the reservations a partner's hint named, now: store, apply, acknowledge.

    The same path as a pull, under the same lease; when the lease is taken
    (a pull or a delivery is running) the report is unclaimed and the caller
    tries again shortly.
    """
    report = PullReport()
    owner = f"hint-{uuid.uuid4().hex}"
    if not partner_reservation_ids or not claim(connection_id, owner):
        return report
    report.claimed = True
    keeper = lease_keeper(connection_id, owner)
    keeper.start()
    try:
        connection = Connection.objects.select_related("hotel").get(pk=connection_id)
        provider = connection.get_provider()
        ids = list(partner_reservation_ids)
        if _pull_once(connection, report, lambda: provider.fetch_hinted_reservations(ids)):
            _acknowledge_owed(connection, report)
    finally:
        keeper.stop()
        release(connection_id, owner)
    return report


def pull_connections(connection_id: int | None = None) -> list[int]:
    """The enabled connections whose provider pulls reservations (or just ``connection_id``)."""
    connections = Connection.objects.filter(enabled=True)
    if connection_id is not None:
        connections = connections.filter(pk=connection_id)
    return [
        conn.pk for conn in connections if conn.get_provider().capabilities().pull_interval_seconds
    ]


def pull_task_name(connection: Connection) -> str:
    return f"channels-pull-{connection.pk}"


def ensure_pull_schedule(connection: Connection, *, update: bool = False):
    """The beat entry pulling ``connection`` at its provider's interval (none: no entry)."""
    from pema.schedules import ensure_periodic_task

    interval = connection.get_provider().capabilities().pull_interval_seconds
    if not interval:
        return None
    return ensure_periodic_task(
        name=pull_task_name(connection),
        task="channels.tasks.pull_connection",
        every_seconds=interval,
        enabled=connection.enabled,
        args=[connection.pk],
        update=update,
    )
