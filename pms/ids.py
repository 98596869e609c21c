"""IDS Next operations shared by commands, the admin and the API.

- :func:`ensure_ids_connection`: the hotel's ``ids_next`` connection from the
  ``IDS_*`` settings (idempotent), plus its periodic full-sync schedule;
- :func:`reconcile`: find reservations that have not reached IDS (no
  reference, or a pending / dead job) and queue them again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from bookings.models import Hotel, Reservation
from channels.delivery import retry_job
from channels.dispatch import reservation_stream
from channels.models import Connection, SyncJob
from pema.schedules import ensure_periodic_task

PROVIDER = "ids_next"
FULL_SYNC_TASK_NAME = "IDS Next: full ARI sync"


def ensure_ids_connection(hotel: Hotel, *, update: bool = False) -> tuple[Connection, bool]:
    """The hotel's IDS Next connection, created from settings if missing.

    Run again it changes nothing, unless ``update`` asks to re-apply the settings
    (base URL, hotel code, credentials).
    """
    values = {
        "base_url": settings.IDS_BASE_URL,
        "settings": {"hotel_code": settings.IDS_HOTEL_CODE},
    }
    credentials = {"api_key": settings.IDS_API_KEY, "api_secret": settings.IDS_API_SECRET}
    # Credentials are not read: an update replaces them, so it works even when the
    # stored ones were written with a key that is no longer configured.
    with transaction.atomic():
        conn, created = Connection.objects.defer("credentials").get_or_create(
            hotel=hotel,
            provider=PROVIDER,
            defaults={"name": "IDS Next", **values, "credentials": credentials},
        )
        if update and not created:
            for key, value in values.items():
                setattr(conn, key, value)
            conn.credentials = credentials
            conn.save()
    ensure_periodic_task(
        name=FULL_SYNC_TASK_NAME,
        task="channels.tasks.full_sync_provider",
        every_minutes=settings.IDS_SYNC_INTERVAL_MINUTES,
        enabled=settings.IDS_ENABLE_BACKGROUND_SYNC,
        args=[PROVIDER],
        update=update,
    )
    return conn, created


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
