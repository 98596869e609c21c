"""Admin for connections (write-only credentials, product mappings inline, test and
full-sync actions), the job outbox (with a retry action), the read-only sync log,
and the inbound reservation messages (raw body shown, retry for held ones)."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from bookings.models import RatePlan, RoomType
from pema import progress

from . import operations
from .delivery import retry_job
from .health import activity, connection_health
from .inbound import retry_messages
from .models import ChannelProduct, Connection, InboundMessage, SyncJob, SyncLog
from .providers import provider_class, registry
from .tasks import deliver_connection, enqueue, run_from_admin

# The buttons of a connection's page: (operation, label, runs in a worker with a bar).
PAGE_OPERATIONS = {
    "test": ("Test the connection", False),
    "sync": ("Sync now", False),
    "full_sync": ("Full sync", True),
    "pull": ("Pull reservations", True),
}


def _credential_fields() -> dict[str, str]:
    """Every provider's credential names (a form field each, whatever the provider)."""
    names: dict[str, str] = {}
    for key in registry():
        names.update(provider_class(key).credential_fields)
    return names


class ConnectionFormBase(forms.ModelForm):
    """Credentials are typed in, never shown back: an empty field keeps the stored value."""

    class Meta:
        model = Connection
        fields = [
            "hotel",
            "provider",
            "name",
            "base_url",
            "enabled",
            "push_ari",
            "export_reservations",
            "check_availability",
            "settings",
            "reject_held",
            "room_type_map",
            "rate_plan_map",
        ]

    def clean(self):
        data = super().clean()
        provider = data.get("provider")
        if not provider:
            return data
        cls = provider_class(provider)
        creds = dict(self.instance.credentials or {}) if self.instance.pk else {}
        moved = self.instance.pk and (
            "base_url" in self.changed_data or "provider" in self.changed_data
        )
        if moved:
            # Stored secrets go only to the address they were given for: whoever
            # points the connection elsewhere types them in again.
            creds = {}
        for name in cls.credential_fields:
            value = data.get(f"credential_{name}")
            if value:
                creds[name] = value
        creds = {k: v for k, v in creds.items() if k in cls.credential_fields}
        errors = cls.validate_credentials(creds)
        if errors and moved:
            raise forms.ValidationError(
                "The address changed: enter the credentials again for the new address."
            )
        if errors:
            raise forms.ValidationError(errors)
        self.instance.credentials = creds
        return data


ConnectionForm = type(
    "ConnectionForm",
    (ConnectionFormBase,),
    {
        f"credential_{name}": forms.CharField(
            label=label,
            required=False,
            widget=forms.PasswordInput(render_value=False),
            help_text="Stored encrypted, never shown; leave empty to keep the current value.",
        )
        for name, label in _credential_fields().items()
    },
)


class ChannelProductInline(admin.TabularInline):
    """The connection's products and the partner's ids for them, edited in place."""

    model = ChannelProduct
    extra = 0
    fields = ("room_type", "rate_plan", "partner_room_id", "partner_rate_id", "active")

    def get_formset(self, request, obj=None, **kwargs):
        self._hotel_id = obj.hotel_id if obj else None
        return super().get_formset(request, obj, **kwargs)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Only the connection's own hotel's room types and plans to choose from.
        hotel_id = getattr(self, "_hotel_id", None)
        if hotel_id and db_field.name == "room_type":
            kwargs["queryset"] = RoomType.objects.filter(hotel_id=hotel_id)
        if hotel_id and db_field.name == "rate_plan":
            kwargs["queryset"] = RatePlan.objects.filter(hotel_id=hotel_id)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    form = ConnectionForm
    inlines = [ChannelProductInline]
    list_display = [
        "name",
        "hotel",
        "provider",
        "enabled",
        "push_ari",
        "export_reservations",
        "check_availability",
        "last_full_sync_at",
        "overview_link",
    ]
    list_filter = ["provider", "enabled", "hotel"]
    readonly_fields = [
        "hook_url",
        "partner_notes",
        "event_cursor",
        "last_full_sync_at",
        "unreachable_since",
        "unreachable_checked_at",
        "lease_owner",
        "lease_until",
    ]
    actions = ["test_connection", "run_full_sync", "deliver_now", "pull_now", "reconcile"]

    @admin.display(description="")
    def overview_link(self, obj: Connection) -> str:
        return format_html(
            '<a href="{}">Health and traffic</a>',
            reverse("admin:channels_connection_overview", args=[obj.pk]),
        )

    @admin.display(description="Webhook address")
    def hook_url(self, obj: Connection) -> str:
        if obj.pk is None:
            return "Given once the connection is saved."
        return obj.hook_path

    @admin.display(description="Limits and addresses")
    def partner_notes(self, obj: Connection) -> str:
        # The provider's own notes (Airbnb: what a feed cannot carry, the export URLs).
        if obj.pk is None:
            return "-"
        try:
            return obj.get_provider().staff_notes() or "-"
        except (ImportError, KeyError):
            return "-"

    @admin.action(description="Test the connection")
    def test_connection(self, request, queryset):
        for conn in queryset:
            outcome = operations.test_connection(conn)
            level = messages.SUCCESS if outcome.ok else messages.ERROR
            self.message_user(request, f"{conn}: {outcome.message}", level)

    @admin.action(description="Full ARI sync (next 500 days)")
    def run_full_sync(self, request, queryset):
        # The shared operation, as the API and `manage.py sync --full`: it refuses a
        # disabled connection, one that sends no ARI, or an unregistered provider.
        for conn in queryset:
            try:
                report = operations.full_sync(conn)
            except operations.OperationError as refused:
                self.message_user(request, f"{conn}: {refused.message}", messages.ERROR)
                continue
            if report.delivery_queued:
                text, level = f"{conn}: {report.queued} job(s) queued.", messages.SUCCESS
            else:
                text = f"{conn}: {report.queued} job(s) queued; a worker will send them."
                level = messages.WARNING
            self.message_user(request, text, level)

    @admin.action(description="Pull reservations now (read the feeds)", permissions=["change"])
    def pull_now(self, request, queryset):
        # The shared operation, as `manage.py pull`: one pull now, its outcome shown.
        for conn in queryset:
            try:
                report = operations.pull_now(conn)
            except operations.OperationError as refused:
                self.message_user(request, f"{conn}: {refused.message}", messages.WARNING)
                continue
            if report.error:
                self.message_user(request, f"{conn}: {report.error}", messages.ERROR)
                continue
            self.message_user(
                request,
                f"{conn}: {report.received} message(s) read, {report.applied} applied, "
                f"{report.held} held for staff.",
                messages.SUCCESS,
            )

    @admin.action(description="Deliver pending jobs now")
    def deliver_now(self, request, queryset):
        for conn in queryset:
            enqueue(deliver_connection, conn.pk)
        self.message_user(request, "Delivery requested.")

    @admin.action(
        description="Reconcile (queue again what the partner may not have)",
        permissions=["change"],
    )
    def reconcile(self, request, queryset):
        for conn in queryset:
            try:
                report = operations.reconcile(conn)
            except operations.OperationError as exc:
                self.message_user(request, f"{conn}: {exc.message}", messages.WARNING)
                continue
            done = []
            if report.exports:
                done.append(f"{report.queued} reservation(s) queued again")
            if report.pulls:
                done.append(
                    "a pull is queued"
                    if report.pull_queued
                    else "the broker is down: the next scheduled pull reads what waits"
                )
            self.message_user(request, f"{conn}: {'; '.join(done)}.", messages.SUCCESS)

    def get_urls(self):
        extra = [
            path(
                "health/",
                self.admin_site.admin_view(self.health_view),
                name="channels_connection_health",
            ),
            path(
                "<int:pk>/overview/",
                self.admin_site.admin_view(self.overview_view),
                name="channels_connection_overview",
            ),
            path(
                "<int:pk>/run/<slug:operation>/",
                self.admin_site.admin_view(self.run_view),
                name="channels_connection_run",
            ),
        ]
        return extra + super().get_urls()

    def overview_view(self, request, pk: int):
        """One connection: its health row, the sync-log timeline, error rate, messages per
        hour, and the buttons (test, sync, full sync, pull)."""
        conn = self.get_object(request, str(pk))
        if conn is None or not self.has_view_permission(request, conn):
            raise PermissionDenied
        following = progress.from_request(request)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"{conn.name} · health and traffic",
            "connection": conn,
            "health": connection_health(Connection.objects.filter(pk=conn.pk)),
            "activity": activity(conn),
            "operations": [(name, label) for name, (label, _) in PAGE_OPERATIONS.items()],
            "can_run": self.has_change_permission(request, conn),
            "synclog_url": reverse("admin:channels_synclog_changelist"),
            "progress": following,
        }
        return TemplateResponse(request, "channels/connection_overview.html", context)

    def run_view(self, request, pk: int, operation: str):
        """A button of the connection's page: the quick ones answer here, full sync and
        pull run in a worker and the page follows them with a progress bar."""
        conn = self.get_object(request, str(pk))
        if (
            request.method != "POST"
            or conn is None
            or operation not in PAGE_OPERATIONS
            or not self.has_change_permission(request, conn)
        ):
            raise PermissionDenied
        page = reverse("admin:channels_connection_overview", args=[conn.pk])
        label, in_worker = PAGE_OPERATIONS[operation]
        if in_worker:
            record = progress.start(
                operation, f"{label} · {conn.name}", owner_id=request.user.pk, link=page
            )
            if not enqueue(run_from_admin, conn.pk, operation, record.token):
                progress.fail(record.token, "No worker could be reached (the broker is down).")
            return HttpResponseRedirect(f"{page}?progress={record.token}")
        if operation == "test":
            outcome = operations.test_connection(conn)
            level = messages.SUCCESS if outcome.ok else messages.ERROR
            self.message_user(request, f"{conn}: {outcome.message}", level)
        else:
            try:
                report = operations.sync(conn)
            except operations.OperationError as refused:
                self.message_user(request, f"{conn}: {refused.message}", messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"{conn}: {report.queued} job(s) queued, {report.pending} pending; "
                    + (
                        "a worker sends them."
                        if report.delivery_queued
                        else "the sweep sends them."
                    ),
                    messages.SUCCESS,
                )
        return HttpResponseRedirect(page)

    def health_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": "Sync health",
            "health": connection_health(),
        }
        return TemplateResponse(request, "channels/health_page.html", context)

    # A live connection is disabled before it is deleted: deleting it takes its
    # outbox and log with it, whatever is still on its way to the partner.
    def delete_view(self, request, object_id, extra_context=None):
        conn = self.get_object(request, unquote(object_id))
        if conn is not None and conn.enabled:
            self.message_user(request, _live_refusal([conn]), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:channels_connection_change", args=[conn.pk]))
        return super().delete_view(request, object_id, extra_context)

    def get_actions(self, request):
        actions = super().get_actions(request)
        if "delete_selected" in actions:
            delete_selected, name, description = actions["delete_selected"]

            def delete_disabled_only(modeladmin, request, queryset):
                live = list(queryset.filter(enabled=True))
                if live:
                    modeladmin.message_user(request, _live_refusal(live), messages.ERROR)
                    return None
                return delete_selected(modeladmin, request, queryset)

            actions[name] = (delete_disabled_only, name, description)
        return actions


def _live_refusal(live: list[Connection]) -> str:
    names = ", ".join(str(conn) for conn in live)
    return (
        f"{names}: still enabled, so not deleted. Untick Enabled and save first: deleting "
        "a live connection drops its pending jobs and sync log."
    )


@admin.register(SyncJob)
class SyncJobAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "connection",
        "kind",
        "stream",
        "status",
        "dead_reason",
        "attempts",
        "items",
        "next_attempt_at",
        "short_error",
        "created_at",
    ]
    list_filter = ["status", "dead_reason", "kind", "connection"]
    search_fields = ["stream", "reservation__confirmation_number", "last_error"]
    readonly_fields = [f.name for f in SyncJob._meta.fields]
    actions = ["retry"]

    @admin.display(description="Last error")
    def short_error(self, obj: SyncJob) -> str:
        return obj.last_error[:80]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_retry_permission(self, request) -> bool:
        return request.user.has_perm("channels.change_syncjob")

    @admin.action(description="Retry the selected dead or skipped jobs", permissions=["retry"])
    def retry(self, request, queryset):
        jobs = list(queryset.filter(status__in=[SyncJob.Status.DEAD, SyncJob.Status.SKIPPED]))
        for job in jobs:
            retry_job(job)
        for conn_id in {j.connection_id for j in jobs}:
            enqueue(deliver_connection, conn_id)
        self.message_user(request, f"{len(jobs)} job(s) queued again.")


@admin.register(SyncLog)
class SyncLogAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "connection",
        "operation",
        "status",
        "items",
        "duration_ms",
        "http_status",
        "correlation_id",
    ]
    list_filter = ["status", "operation", "connection"]
    search_fields = ["correlation_id", "error"]
    date_hierarchy = "created_at"

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in SyncLog._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    """Every reservation message received, read-only; held and failed ones can be retried."""

    list_display = [
        "id", "received_at", "connection", "partner_reservation_id", "kind", "revision",
        "status_shown", "reservation", "ack_result", "short_error",
    ]  # fmt: skip
    list_filter = ["status", "connection", "kind", "error_code", "ack_result"]
    search_fields = ["partner_reservation_id", "revision", "reservation__confirmation_number"]
    list_select_related = ["connection", "reservation"]
    date_hierarchy = "received_at"
    actions = ["retry"]
    fieldsets = [
        (None, {"fields": [
            "connection", "partner_reservation_id", "revision", "kind", "status", "error_code",
            "error", "reservation", "revised_at", "received_at", "applied_at", "attempts",
            "deliveries",
        ]}),
        ("Acknowledgement", {"fields": [
            "ack_token", "ack_result", "acked_at", "ack_attempts", "ack_error", "next_ack_at",
        ]}),
        ("What the partner sent", {"fields": ["raw_shown", "parsed_shown", "payload_shown"]}),
    ]  # fmt: skip

    def get_readonly_fields(self, request, obj=None):
        return [name for _, options in self.fieldsets for name in options["fields"]]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_retry_permission(self, request) -> bool:
        return request.user.has_perm("channels.change_inboundmessage")

    @admin.display(description="Status", ordering="status")
    def status_shown(self, obj: InboundMessage) -> str:
        if obj.status in (InboundMessage.Status.HELD, InboundMessage.Status.FAILED):
            return format_html(
                '<strong style="color:#fff;background:#ba2121;padding:2px 6px;'
                'border-radius:3px">{}</strong>',
                obj.get_status_display().upper(),
            )
        return obj.get_status_display()

    @admin.display(description="Reason")
    def short_error(self, obj: InboundMessage) -> str:
        return obj.error[:100]

    @staticmethod
    def _pre(text: str) -> str:
        return format_html('<pre style="white-space:pre-wrap;max-width:100ch">{}</pre>', text)

    @admin.display(description="Raw body")
    def raw_shown(self, obj: InboundMessage) -> str:
        return self._pre(obj.raw_body or "(empty)")

    @admin.display(description="Raw body as JSON")
    def parsed_shown(self, obj: InboundMessage) -> str:
        if obj.parsed is None:
            return "—"
        return self._pre(json.dumps(obj.parsed, indent=2, ensure_ascii=False))

    @admin.display(description="As the provider read it")
    def payload_shown(self, obj: InboundMessage) -> str:
        return self._pre(json.dumps(obj.payload, indent=2, ensure_ascii=False))

    @admin.action(description="Retry the selected held or failed messages", permissions=["retry"])
    def retry(self, request, queryset):
        chosen = queryset.filter(
            status__in=[InboundMessage.Status.HELD, InboundMessage.Status.FAILED]
        )
        outcomes = retry_messages(list(chosen.order_by("revised_at", "id")))
        if not outcomes:
            self.message_user(request, "No held or failed message was selected.", messages.WARNING)
            return
        labels = dict(InboundMessage.Status.choices)
        summary = ", ".join(f"{n} {labels[status].lower()}" for status, n in outcomes.items())
        still = outcomes.get(InboundMessage.Status.HELD, 0) + outcomes.get(
            InboundMessage.Status.FAILED, 0
        )
        level = messages.WARNING if still else messages.SUCCESS
        hint = " The reasons are shown on each message." if still else ""
        self.message_user(request, f"Retried: {summary}.{hint}", level)
