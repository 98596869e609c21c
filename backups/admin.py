"""Backups in the admin: the list of backups, "Back up now", download and a guarded restore."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from pema.tasks import enqueue_on_commit

from . import service
from .models import SystemBackup

BACKUP_NOW_PERMISSION = "backups.add_systembackup"
DOWNLOAD_PERMISSION = "backups.download_systembackup"
RESTORE_PERMISSION = "backups.restore_systembackup"


def queue_backup(backup: SystemBackup) -> None:
    """Hand a recorded backup to a Celery worker once the record is committed."""
    from .tasks import run_backup

    enqueue_on_commit(run_backup, backup.pk)


@admin.register(SystemBackup)
class SystemBackupAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "status",
        "kind",
        "created_at",
        "size_display",
        "rows",
        "encrypted",
        "created_by",
        "duration_ms",
        "links",
    )
    list_filter = ("status", "kind", "encrypted")
    search_fields = ("file_name",)
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in SystemBackup._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False  # "Back up now" makes backups; a form would only make records

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # records describe files; editing them would only make them lie

    @admin.display(description="size")
    def size_display(self, obj: SystemBackup) -> str:
        from .management.commands.backup import human_size

        return human_size(obj.size) if obj.size else "—"

    @admin.display(description="")
    def links(self, obj: SystemBackup):
        if obj.status != SystemBackup.Status.SUCCEEDED:
            return ""
        return format_html(
            '<a href="{}">Download</a> · <a href="{}">Restore…</a>',
            reverse("admin:backups_systembackup_download", args=[obj.pk]),
            reverse("admin:backups_systembackup_restore", args=[obj.pk]),
        )

    def get_urls(self):
        own = [
            path(
                "backup-now/",
                self.admin_site.admin_view(self.backup_now_view),
                name="backups_systembackup_backup_now",
            ),
            path(
                "<int:pk>/download/",
                self.admin_site.admin_view(self.download_view),
                name="backups_systembackup_download",
            ),
            path(
                "<int:pk>/restore/",
                self.admin_site.admin_view(self.restore_view),
                name="backups_systembackup_restore",
            ),
        ]
        return own + super().get_urls()

    def backup_now_view(self, request):
        # Making a backup adds one: the add permission, not view (the API asks the same).
        if request.method != "POST" or not request.user.has_perm(BACKUP_NOW_PERMISSION):
            raise PermissionDenied
        try:
            backup = service.start_backup(user=request.user)
        except service.BackupError as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            queue_backup(backup)
            self.message_user(
                request, f"Backup #{backup.pk} queued: a worker will make it.", messages.SUCCESS
            )
        return HttpResponseRedirect(reverse("admin:backups_systembackup_changelist"))

    def download_view(self, request, pk: int):
        if not request.user.has_perm(DOWNLOAD_PERMISSION):
            raise PermissionDenied
        backup = get_object_or_404(SystemBackup, pk=pk, status=SystemBackup.Status.SUCCEEDED)
        try:
            handle = service.storage().open(backup.file_name, "rb")
        except FileNotFoundError:
            self.message_user(request, "The backup file is missing.", messages.ERROR)
            return HttpResponseRedirect(reverse("admin:backups_systembackup_changelist"))
        return FileResponse(handle, as_attachment=True, filename=backup.file_name)

    def restore_view(self, request, pk: int):
        if not request.user.has_perm(RESTORE_PERMISSION):
            raise PermissionDenied
        backup = get_object_or_404(SystemBackup, pk=pk, status=SystemBackup.Status.SUCCEEDED)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Restore {backup}",
            "backup": backup,
            "manifest": backup.manifest,
            "counts": sorted(backup.counts.items()),
            "modes": service.MODES,
            "report": None,
        }
        if request.method == "POST":
            mode = request.POST.get("mode", "replace")
            validate_only = bool(request.POST.get("validate_only"))
            if not validate_only and request.POST.get("confirm") != "yes":
                self.message_user(request, "Tick the confirmation box to restore.", messages.ERROR)
            else:
                try:
                    report = service.restore(backup, mode=mode, validate_only=validate_only)
                except service.BackupError as exc:
                    self.message_user(request, str(exc), messages.ERROR)
                else:
                    if validate_only:
                        context["report"] = report
                    else:
                        self.message_user(
                            request,
                            f"Restored {backup} ({mode}): {report.rows_written:,} rows written.",
                            messages.SUCCESS,
                        )
                        return HttpResponseRedirect(
                            reverse("admin:backups_systembackup_changelist")
                        )
        return TemplateResponse(request, "admin/backups/systembackup/restore.html", context)
