"""Celery tasks of the bookings app: webhook sweeping and delivery.

Tasks take ids, are idempotent (the state is in the database rows) and are
acknowledged late, so a worker that dies mid-task leaves the message to
another worker.
"""

from __future__ import annotations

from celery import shared_task

from pema.tasks import enqueue

from . import webhooks


@shared_task(acks_late=True, ignore_result=True)
def sweep_webhooks(hotel_id: int | None = None) -> int:
    """Create deliveries from new events, then start delivery for every endpoint that is due
    (including those whose worker died mid-delivery: their lease has run out)."""
    created = webhooks.sweep(hotel_id)
    for endpoint_id in webhooks.endpoints_due():
        enqueue(deliver_webhooks, endpoint_id)
    return created


@shared_task(acks_late=True, ignore_result=True)
def deliver_webhooks(endpoint_id: int) -> None:
    """Send one endpoint's due deliveries in order; schedule itself for the next retry."""
    wait = webhooks.deliver_endpoint(endpoint_id)
    if wait is not None:
        enqueue(deliver_webhooks, endpoint_id, countdown=max(wait, 0.05))


@shared_task(acks_late=True, ignore_result=True)
def take_over_webhooks() -> int:
    """Every 10 s: hand endpoints whose worker died mid-delivery to a live worker."""
    abandoned = webhooks.OUTBOX.abandoned()
    for endpoint_id in abandoned:
        enqueue(deliver_webhooks, endpoint_id)
    return len(abandoned)


@shared_task(acks_late=True, ignore_result=True)
def extend_calendars() -> int:
    """Roll every hotel's calendar forward to the configured horizon (hourly; cheap when done)."""
    from .inventory import extend_calendar
    from .models import Hotel

    return sum(extend_calendar(hotel) for hotel in Hotel.objects.all())
