"""Refreshing a supplier's hotel content into :class:`SupplierHotel` rows.

Content is read page by page (at most 1,000 hotels a page, ``from``/``to``),
never per search: Hotelbeds blocks credentials that use its content API in
real time. A full sync reads everything; a delta (the nightly default) asks
only for hotels updated since the day the last complete sync started. Rows
are upserted in one statement per page. A sync that fails midway keeps the
pages it stored and leaves the delta's base where it was, so the next run
covers the gap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils import timezone

from .interface import HotelContent
from .models import Supplier, SupplierHotel
from .registry import supplier_for

PAGE_SIZE = 1000
FIELDS = [
    "name",
    "category",
    "destination",
    "country",
    "address",
    "city",
    "latitude",
    "longitude",
    "description",
    "images",
    "facilities",
    "last_update",
    "synced_at",
]

#: progress(done, total): called after every page.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class SyncReport:
    supplier: str
    full: bool
    hotels: int
    pages: int
    total: int


def sync_content(
    supplier: Supplier,
    *,
    full: bool = False,
    progress: Progress | None = None,
    page_size: int = PAGE_SIZE,
) -> SyncReport:
    implementation = supplier_for(supplier)
    since = (
        None
        if full or supplier.content_sync_started_on is None
        else supplier.content_sync_started_on
    )
    started_on = timezone.now().date()
    first, stored, pages, total = 1, 0, 0, 0
    while True:
        page = implementation.content(first=first, last=first + page_size - 1, updated_since=since)
        pages += 1
        total = page.total
        stored += _upsert(supplier, implementation.image_url, page.hotels)
        if progress is not None:
            progress(min(stored, total), total)
        if not page.hotels or page.last >= total:
            break
        first = page.last + 1
    Supplier.objects.filter(pk=supplier.pk).update(
        content_synced_at=timezone.now(), content_sync_started_on=started_on
    )
    return SyncReport(supplier.code, since is None, stored, pages, total)


def _upsert(
    supplier: Supplier, image_url: Callable[[str], str], hotels: tuple[HotelContent, ...]
) -> int:
    now = timezone.now()
    rows = [
        SupplierHotel(
            supplier=supplier,
            code=h.code,
            name=h.name[:200],
            category=h.category[:20],
            destination=h.destination[:10],
            country=h.country[:2],
            address=h.address[:300],
            city=h.city[:120],
            latitude=h.latitude,
            longitude=h.longitude,
            description=h.description,
            images=[image_url(path) for path in h.images],
            facilities=list(h.facilities),
            last_update=h.last_update,
            synced_at=now,
        )
        for h in hotels
    ]
    SupplierHotel.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["supplier", "code"], update_fields=FIELDS
    )
    return len(rows)
