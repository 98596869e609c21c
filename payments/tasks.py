"""Celery tasks of payments: thin wrappers over ``payments/flow.py``; they take ids."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from pema import tasks as pema_tasks

from . import flow


def enqueue(task, *args, countdown: float | None = None) -> bool:
    """Send a payments task (on the channels queue); False when the broker is unreachable.

    False never loses a refund: the reconciliation finds every unsettled one.
    """
    return pema_tasks.enqueue(task, *args, countdown=countdown, queue=settings.CHANNELS_TASK_QUEUE)


@shared_task(acks_late=True, ignore_result=True)
def send_refund(refund_id: int) -> None:
    flow.send_refund(refund_id)


@shared_task(acks_late=True, ignore_result=True)
def follow_refund(refund_id: int, tries: int = 0) -> None:
    if not flow.follow_refund(refund_id) and tries < 10:
        follow_refund.apply_async(
            args=(refund_id, tries + 1), countdown=2**tries, queue=settings.CHANNELS_TASK_QUEUE
        )


@shared_task(acks_late=True, ignore_result=True)
def reconcile_payments(older_than_minutes: float | None = None) -> dict:
    """Every minute (beat): payments pending too long and refunds not settled."""
    from datetime import timedelta

    older = None if older_than_minutes is None else timedelta(minutes=older_than_minutes)
    return flow.reconcile(older)


@shared_task(acks_late=True, ignore_result=True)
def expire_holds() -> int:
    """Every minute (beat): release bookings whose payment hold ran out."""
    return flow.expire_holds()
