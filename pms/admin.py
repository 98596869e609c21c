"""The PMS admin: the sync log (filters by connection, entity, operation, status) and a
PMS page per connection with the Sync buttons, the last runs and the room board.

Thin: the buttons call ``pms.sync`` (queued in Celery as the API does) and the
housekeeping form calls ``pms.sync.set_housekeeping``.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from bookings.models import Room, RoomBlock
from channels.interface import HousekeepingStatus, SyncEntity
from channels.models import Connection
from channels.providers.base import SyncError

from . import sync
from .models import PmsSyncLog
from .pms_api import start_in_celery

SYNC_PERMISSION = "pms.add_pmssynclog"
HOUSEKEEPING_PERMISSION = "bookings.change_room"


def pms_connections():
    """Enabled or not, the connections whose provider is a PMS that syncs something."""
    return [c for c in Connection.objects.select_related("hotel") if _entities(c)]


def _entities(connection: Connection) -> list[str]:
    try:
        found = connection.get_provider().pms_entities
    except (ImportError, KeyError):
        return []
    return [str(e) for e in SyncEntity if str(e) in found]


@admin.register(PmsSyncLog)
class PmsSyncLogAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "connection",
        "entity",
        "operation",
        "status",
        "processed",
        "failed",
        "duration_ms",
        "correlation_id",
        "started_at",
    )
    list_filter = ("status", "entity", "operation", "connection", "started_at")
    search_fields = ("correlation_id", "error")
    list_select_related = ("connection",)
    readonly_fields = [f.name for f in PmsSyncLog._meta.fields]
    change_list_template = "admin/pms/pmssynclog/change_list.html"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        extra = {"pms_connections": pms_connections(), **(extra_context or {})}
        return super().changelist_view(request, extra_context=extra)

    def get_urls(self):
        own = [
            path(
                "connection/<int:pk>/",
                self.admin_site.admin_view(self.pms_page),
                name="pms_connection_page",
            ),
            path(
                "connection/<int:pk>/sync/<str:entity>/",
                self.admin_site.admin_view(self.sync_view),
                name="pms_connection_sync",
            ),
            path(
                "connection/<int:pk>/housekeeping/",
                self.admin_site.admin_view(self.housekeeping_view),
                name="pms_connection_housekeeping",
            ),
        ]
        return own + super().get_urls()

    def pms_page(self, request, pk: int):
        if not self.has_view_permission(request):
            raise PermissionDenied
        connection = get_object_or_404(Connection.objects.select_related("hotel"), pk=pk)
        rooms = list(
            Room.objects.filter(hotel=connection.hotel)
            .select_related("room_type")
            .order_by("number")
        )
        blocks = {
            b.room_id: b
            for b in RoomBlock.objects.filter(
                hotel=connection.hotel, released_at__isnull=True, room__isnull=False
            )
        }
        board = [(room, blocks.get(room.pk)) for room in rooms]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"PMS: {connection}",
            "connection": connection,
            "entities": _entities(connection),
            "runs": PmsSyncLog.objects.filter(connection=connection)[:20],
            "board": board,
            "states": [str(s) for s in HousekeepingStatus],
            "can_sync": request.user.has_perm(SYNC_PERMISSION),
            "can_set": request.user.has_perm(HOUSEKEEPING_PERMISSION),
        }
        return TemplateResponse(request, "admin/pms/pms_page.html", context)

    def sync_view(self, request, pk: int, entity: str):
        if request.method != "POST" or not request.user.has_perm(SYNC_PERMISSION):
            raise PermissionDenied
        connection = get_object_or_404(Connection.objects.select_related("hotel"), pk=pk)
        try:
            with transaction.atomic():
                log = sync.start_sync(connection, entity, operation=PmsSyncLog.Operation.MANUAL)
        except (sync.NotSyncable, ValueError) as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            start_in_celery(log)
            self.message_user(
                request, f"Sync of {entity} started (run #{log.pk}).", messages.SUCCESS
            )
        return redirect(reverse("admin:pms_connection_page", args=[pk]))

    def housekeeping_view(self, request, pk: int):
        if request.method != "POST" or not request.user.has_perm(HOUSEKEEPING_PERMISSION):
            raise PermissionDenied
        connection = get_object_or_404(Connection.objects.select_related("hotel"), pk=pk)
        room = get_object_or_404(Room, pk=request.POST.get("room"), hotel=connection.hotel)
        status = request.POST.get("status", "")
        if status not in HousekeepingStatus.__members__.values():
            self.message_user(request, f"Unknown housekeeping state {status!r}.", messages.ERROR)
        else:
            try:
                sync.set_housekeeping(room, status, connection)
            except SyncError as exc:
                self.message_user(request, f"Room {room.number}: {exc.message}", messages.ERROR)
            else:
                self.message_user(
                    request, f"Room {room.number} is now {status.replace('_', ' ')}.",
                    messages.SUCCESS,
                )  # fmt: skip
        return redirect(reverse("admin:pms_connection_page", args=[pk]))

    @admin.display(description="PMS page")
    def page_link(self, obj: PmsSyncLog) -> str:
        url = reverse("admin:pms_connection_page", args=[obj.connection_id])
        return format_html('<a href="{}">PMS page</a>', url)
