"""IDS Next reconciliation, behind ``manage.py reconcile_ids``.

:func:`reconcile` finds reservations that have not reached IDS (no reference,
or a pending / dead job) and queues them again. Connecting a hotel to IDS Next
is :func:`partners.ids_next.setup.ensure_ids_connection`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from bookings.models import Hotel, Reservation
from channels.delivery import retry_job
from channels.dispatch import reservation_stream
from channels.models import Connection, SyncJob
from partners.ids_next.setup import PROVIDER


@dataclass
class ReconcileReport:
    """Reservations found out of step with IDS, and what was queued."""

    found: list[tuple[str, str]] = field(default_factory=list)  # (confirmation, why)
    queued: int = 0


def reconcile(*, hotel: Hotel | None = None, dry_run: bool = False) -> ReconcileReport:
    """Queue again the reservations that have not reached IDS."""
    report = ReconcileReport()
    conns = Connection.objects.filter(provider=PROVIDER, enabled=True, export_reservations=True)
    if hotel is not None:
        conns = conns.filter(hotel=hotel)
    for conn in conns:
        open_jobs = SyncJob.objects.filter(
            connection=conn,
            reservation=OuterRef("pk"),
            status__in=[SyncJob.Status.PENDING, SyncJob.Status.DEAD],
        )
        candidates = (
            Reservation.objects.filter(hotel_id=conn.hotel_id)
            .exclude(source=Reservation.Source.PMS)
            .annotate(open_job=Exists(open_jobs))
            .filter(
                Q(open_job=True) | (Q(pms_reference="") & Q(status=Reservation.Status.CONFIRMED))
            )
            .order_by("id")
        )
        for res in candidates:
            dead = list(
                SyncJob.objects.filter(
                    connection=conn, reservation=res, status=SyncJob.Status.DEAD
                ).order_by("id")
            )
            pending = SyncJob.objects.filter(
                connection=conn, reservation=res, status=SyncJob.Status.PENDING
            ).exists()
            if dead:
                why = f"{len(dead)} dead job(s)"
            elif pending:
                why = "a job is still pending"
            else:
                why = "no IDS reference and no job"
            report.found.append((res.confirmation_number, why))
            if dry_run:
                continue
            if dead:
                for job in dead:
                    retry_job(job)
            elif pending:
                SyncJob.objects.filter(
                    connection=conn, reservation=res, status=SyncJob.Status.PENDING
                ).update(next_attempt_at=timezone.now())
            else:
                SyncJob.objects.create(
                    connection=conn,
                    stream=reservation_stream(res.pk),
                    kind=SyncJob.Kind.RES_CREATE,
                    reservation=res,
                    items=1,
                )
            report.queued += 1
    return report
