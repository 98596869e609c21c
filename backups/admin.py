"""Backups in the admin: the list of backups, "Back up now", download and a guarded restore."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from pema import progress
from pema.tasks import enqueue_on_commit

from . import service
from .models import SystemBackup

BACKUP_NOW_PERMISSION = "backups.add_systembackup"
DOWNLOAD_PERMISSION = "backups.download_systembackup"
RESTORE_PERMISSION = "backups.restore_systembackup"


def queue_backup(backup: SystemBackup, progress_token: str | None = None) -> None:
    """Hand a recorded backup to a Celery worker once the record is committed."""
    from .tasks import run_backup

    enqueue_on_commit(run_backup, backup.pk, progress_token)


def queue_restore(backup: SystemBackup, mode: str, progress_token: str) -> None:
    """Hand a restore to a Celery worker; the page follows it through ``progress_token``."""
    from .tasks import restore_backup

    enqueue_on_commit(restore_backup, backup.pk, mode, progress_token)


def _changelist_following(record: progress.Progress) -> HttpResponseRedirect:
    url = reverse("admin:backups_systembackup_changelist")
    return HttpResponseRedirect(f"{url}?progress={record.token}")


@admin.register(SystemBackup)
class SystemBackupAdmin(admin.ModelAdmin):
    # The links second: at 1024 and 1440 px the table scrolls in its box, and
    # Download and Restore must be in sight without scrolling it.
    list_display = (
        "__str__",
        "links",
        "status",
        "kind",
        "created_at",
        "size_display",
        "rows",
        "encrypted",
        "created_by",
        "duration_ms",
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
            '<span class="pema-links"><a href="{}">Download</a> · <a href="{}">Restore…</a></span>',
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

    def changelist_view(self, request, extra_context=None):
        # The bar of a backup or restore this user started, when the page follows one.
        following = progress.from_request(request)
        return super().changelist_view(request, {**(extra_context or {}), "progress": following})

    def backup_now_view(self, request):
        # Making a backup adds one: the add permission, not view (the API asks the same).
        if request.method != "POST" or not request.user.has_perm(BACKUP_NOW_PERMISSION):
            raise PermissionDenied
        try:
            backup = service.start_backup(user=request.user)
        except service.BackupError as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            record = progress.start("backup", f"Backup #{backup.pk}", owner_id=request.user.pk)
            queue_backup(backup, record.token)
            self.message_user(
                request, f"Backup #{backup.pk} queued: a worker will make it.", messages.SUCCESS
            )
            return _changelist_following(record)
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
                if mode not in service.MODES:
                    self.message_user(request, f"Unknown mode {mode!r}.", messages.ERROR)
                elif validate_only:
                    # A dry run reads the file only: answered here, with its report.
                    try:
                        context["report"] = service.restore(backup, mode=mode, validate_only=True)
                    except service.BackupError as exc:
                        self.message_user(request, str(exc), messages.ERROR)
                else:
                    # Writing every table takes minutes: a worker does it, the page follows.
                    record = progress.start(
                        "restore", f"Restore of {backup} ({mode})", owner_id=request.user.pk
                    )
                    queue_restore(backup, mode, record.token)
                    self.message_user(
                        request, f"Restore of {backup} queued: a worker runs it.", messages.SUCCESS
                    )
                    return _changelist_following(record)
        return TemplateResponse(request, "admin/backups/systembackup/restore.html", context)
