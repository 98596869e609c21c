"""Celery tasks of the channel manager: thin wrappers over dispatch and delivery.

Tasks take ids, are idempotent (all state is in the database) and are
acknowledged late, so a task of a killed worker is delivered again. The
broker only wakes workers: :func:`enqueue` swallows broker errors, because the
events and jobs wait in the database for the next sweep.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from pema import tasks as pema_tasks

from .delivery import abandoned_connections, deliver, next_due_in
from .dispatch import dispatch, plan_full_sync
from .inbound import apply_inbound, waiting_message_ids
from .models import Connection
from .pull import fetch_hinted as fetch_hinted_now
from .pull import pull_connection as pull_one

logger = logging.getLogger(__name__)


def enqueue(task, *args, countdown: float | None = None) -> bool:
    """Send a channel task on the channels queue; False when the broker is unreachable."""
    return pema_tasks.enqueue(task, *args, countdown=countdown, queue=settings.CHANNELS_TASK_QUEUE)


#: Seconds between tries of a wake-up that found the connection's lease taken.
CLAIM_RETRY_SECONDS = (1.0, 2.0, 4.0)


def _deliver_and_reschedule(connection_id: int, claim_tries: int = 0) -> dict:
    report = deliver(connection_id)
    if report.claimed and report.next_due_in is not None:
        # Come back when the next retry is due (the minute sweep is the backstop).
        enqueue(deliver_connection, connection_id, countdown=max(report.next_due_in, 0.05))
    elif not report.claimed and claim_tries < len(CLAIM_RETRY_SECONDS):
        # The lease was held, or its row locked for a moment (a dispatch, a renewal):
        # whoever holds it may already have looked for work before this job committed.
        # A few short tries keep the job from waiting for the minute sweep.
        due = next_due_in(connection_id)
        if due is not None and due <= CLAIM_RETRY_SECONDS[claim_tries]:
            enqueue(
                deliver_connection,
                connection_id,
                claim_tries + 1,
                countdown=CLAIM_RETRY_SECONDS[claim_tries],
            )
    return {
        "claimed": report.claimed,
        "delivered": report.delivered,
        "failed": report.failed,
        "dead": report.dead,
    }


@shared_task(acks_late=True, ignore_result=True)
def dispatch_hotel(hotel_id: int) -> None:
    """Woken after a change commits: dispatch and deliver for the hotel's connections."""
    for conn in Connection.objects.filter(hotel_id=hotel_id, enabled=True):
        dispatch(conn)
        _deliver_and_reschedule(conn.pk)


@shared_task(acks_late=True, ignore_result=True)
def deliver_connection(connection_id: int, claim_tries: int = 0) -> dict:
    return _deliver_and_reschedule(connection_id, claim_tries)


@shared_task(acks_late=True, ignore_result=True)
def sweep() -> int:
    """Every minute: dispatch and deliver for every enabled connection."""
    count = 0
    for conn in Connection.objects.filter(enabled=True):
        dispatch(conn)
        enqueue(deliver_connection, conn.pk)
        count += 1
    # Inbound messages whose wake-up the broker lost.
    for message_id in waiting_message_ids():
        enqueue(apply_inbound_message, message_id)
    return count


@shared_task(acks_late=True, ignore_result=True)
def take_over_abandoned() -> int:
    """Every 10 s: hand connections whose worker died mid-delivery to a live worker."""
    abandoned = abandoned_connections()
    for connection_id in abandoned:
        enqueue(deliver_connection, connection_id)
    return len(abandoned)


@shared_task(acks_late=True, ignore_result=True)
def apply_inbound_message(message_id: int) -> str:
    """Apply one stored inbound reservation message (idempotent: applied ones are left)."""
    return apply_inbound(message_id).status


@shared_task(acks_late=True, ignore_result=True)
def full_sync(connection_id: int) -> int:
    """Queue the whole calendar for one connection and start delivering it."""
    conn = Connection.objects.select_related("hotel").get(pk=connection_id)
    jobs = plan_full_sync(conn)
    enqueue(deliver_connection, conn.pk)
    return jobs


@shared_task(acks_late=True, ignore_result=True)
def full_sync_provider(provider: str) -> int:
    """The periodic full sync of every enabled connection of ``provider`` that pushes ARI."""
    count = 0
    for conn in Connection.objects.filter(provider=provider, enabled=True, push_ari=True):
        plan_full_sync(conn)
        enqueue(deliver_connection, conn.pk)
        count += 1
    return count


@shared_task(acks_late=True, ignore_result=True)
def pull_connection(connection_id: int) -> dict:
    """Beat, per pull connection: read, store, apply and acknowledge its reservations.

    The pull holds the connection's delivery lease, so a delivery woken meanwhile
    (the ARI echo of the bookings it applied, say) found the lease taken and
    stopped: wake it again once the lease is free, rather than leave the
    partner waiting for the minute sweep.
    """
    report = pull_one(connection_id)
    if report.claimed and next_due_in(connection_id) is not None:
        enqueue(deliver_connection, connection_id)
    return report.as_dict()


#: Seconds between tries of a hinted fetch that found the connection busy, and how many.
HINT_RETRY_SECONDS = 1.0
HINT_TRIES = 30


@shared_task(acks_late=True, ignore_result=True)
def fetch_hinted(connection_id: int, partner_reservation_ids: list[str], tries: int = 1) -> dict:
    """A partner's hint named changed reservations: read them now (``channels.pull``).

    A connection busy with a pull or a delivery is tried again a second later
    (a pull would read them too, but only at its next beat).
    """
    report = fetch_hinted_now(connection_id, partner_reservation_ids)
    if not report.claimed and tries < HINT_TRIES:
        enqueue(
            fetch_hinted,
            connection_id,
            partner_reservation_ids,
            tries + 1,
            countdown=HINT_RETRY_SECONDS,
        )
    elif report.claimed and next_due_in(connection_id) is not None:
        enqueue(deliver_connection, connection_id)
    return report.as_dict()


@shared_task(ignore_result=True)
def run_from_admin(connection_id: int, operation: str, progress_token: str) -> str:
    """A full sync or a pull started from the admin, reported to its progress bar.

    Not acknowledged late: the work itself is idempotent, but a bar whose worker
    was lost says so rather than starting again unasked."""
    from pema import progress

    from . import operations

    conn = Connection.objects.select_related("hotel").filter(pk=connection_id).first()
    if conn is None:
        progress.fail(progress_token, f"Connection #{connection_id} no longer exists.")
        return "missing"
    try:
        if operation == "full_sync":
            report = operations.full_sync(
                conn, inline=True, progress=progress.reporter(progress_token)
            )
            text = f"{report.queued} job(s) queued, {report.delivered} delivered"
            text += f", {report.dead} dead, {report.pending} still pending."
        elif operation == "pull":
            progress.update(progress_token, step="Reading the partner")
            pulled = operations.pull_now(conn)
            if pulled.error:
                progress.fail(progress_token, pulled.error)
                return "failed"
            text = f"{pulled.received} received, {pulled.applied} applied, {pulled.held} held."
        else:
            progress.fail(progress_token, f"Unknown operation {operation!r}.")
            return "unknown"
    except operations.OperationError as refused:
        progress.fail(progress_token, refused.message)
        return refused.code
    progress.finish(progress_token, text)
    return "done"
