"""Celery tasks of the suppliers app: thin, by id."""

from __future__ import annotations

from celery import shared_task

from .content import sync_content
from .models import Supplier


@shared_task(name="suppliers.tasks.sync_content")
def sync_supplier_content(supplier_id: int, full: bool = False) -> dict:
    report = sync_content(Supplier.objects.get(pk=supplier_id), full=full)
    return report.__dict__


@shared_task(name="suppliers.tasks.sync_all_content")
def sync_all_content() -> list[dict]:
    """The nightly delta of every enabled supplier (one failing does not stop the others)."""
    reports = []
    for supplier in Supplier.objects.filter(enabled=True):
        try:
            reports.append(sync_content(supplier).__dict__)
        except Exception as exc:  # noqa: BLE001 - reported; the next night tries again
            reports.append({"supplier": supplier.code, "error": f"{type(exc).__name__}: {exc}"})
    return reports
