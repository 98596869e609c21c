"""Delivering ``SyncJob``s: the channel manager's outbox, one lane per connection.

The engine is ``pema/outbox.py`` (the lease and its keeper, take-over of a dead
worker's connection, ordered streams, capped backoff within the retry window,
the unreachable-partner probe, dead jobs with their reason, manual retry); the
booking-engine webhooks use the same one. What is particular to channels:

- the transport is the connection's provider, called through
  ``channels/outbound.py``: it turns the job into the provider's typed
  operation and writes the result (partner references, skipped with a reason,
  warnings) onto the job, its reservation and its sync log;
- a disabled connection's jobs wait;
- ARI documents carry absolute values, so a dead ARI job does not hold back
  the ARI behind it (newer values supersede it, and the periodic full sync
  repairs what it carried). A dead reservation job does block the later jobs
  of *that reservation only*: a modify or cancel must not overtake a create
  that never landed. Other reservations and ARI flow on.
"""

from __future__ import annotations

from django.db.models import Q

from pema.outbox import DeliveryReport, Outbox, backoff_seconds

from .models import Connection, SyncJob
from .outbound import send

__all__ = [
    "OUTBOX",
    "DeliveryReport",
    "abandoned_connections",
    "backoff_seconds",
    "claim",
    "deliver",
    "lease_keeper",
    "next_due_in",
    "release",
    "retry_job",
    "run_job",
    "runnable_jobs",
]


OUTBOX = Outbox(
    lane_model=Connection,
    job_model=SyncJob,
    lane="connection",
    send=send,
    active={"enabled": True},
    dead_blocks=~Q(stream=SyncJob.ARI_STREAM),
    select_related=("connection__hotel",),
    sent_fields=("payload",),  # the result is kept there (the partner's ids, warnings)
)

claim = OUTBOX.claim
release = OUTBOX.release
lease_keeper = OUTBOX.keeper  # the pull holds the same lease (channels/pull.py)
abandoned_connections = OUTBOX.abandoned
runnable_jobs = OUTBOX.runnable
next_due_in = OUTBOX.next_due_in
run_job = OUTBOX.run


def deliver(connection_id: int, *, budget_seconds: float = 50.0) -> DeliveryReport:
    """Deliver the connection's runnable jobs for up to ``budget_seconds``."""
    return OUTBOX.deliver(connection_id, budget_seconds=budget_seconds)


def retry_job(job: SyncJob) -> None:
    """Give a dead (or skipped) job a fresh retry window, starting now."""
    OUTBOX.retry([job.pk])
