"""Admin of the API's models: keys (secret shown once), the audit log, webhooks."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db import models

from . import api_keys, webhooks
from .models import ApiAuditLog, ApiKey, IdempotencyRecord, WebhookDelivery, WebhookEndpoint


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=list(api_keys.KNOWN_SCOPES.items()), widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = ApiKey
        fields = ["name", "hotels", "scopes", "expires_at"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = ("name", "prefix", "scope_list", "expires_at", "revoked_at", "last_used_at")
    list_filter = ("hotels",)
    search_fields = ("name", "prefix")
    readonly_fields = ("prefix", "last_used_at", "revoked_at", "created_at")
    filter_horizontal = ("hotels",)
    actions = ["revoke_keys"]

    @admin.display(description="Scopes")
    def scope_list(self, obj: ApiKey) -> str:
        return ", ".join(obj.scopes)

    def save_model(self, request, obj: ApiKey, form, change) -> None:
        if not change:
            raw = api_keys.set_new_secret(obj)
            # The only time the secret exists outside the caller: show it, never store it.
            messages.warning(
                request, f"The new key is {raw} — copy it now, it will not be shown again."
            )
        super().save_model(request, obj, form, change)

    @admin.action(description="Revoke the selected keys")
    def revoke_keys(self, request, queryset) -> None:
        count = api_keys.revoke(queryset)
        self.message_user(request, f"Revoked {count} key(s).")


class ReadOnly:
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ApiAuditLog)
class ApiAuditLogAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("created_at", "method", "path", "status_code", "key_prefix", "hotel")
    list_filter = ("status_code", "method", "hotel")
    search_fields = ("path", "request_id", "key_prefix")
    date_hierarchy = "created_at"


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("created_at", "owner", "key", "method", "path", "status_code")
    search_fields = ("key",)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ("hotel", "url", "is_active", "last_event_id", "unreachable_since")
    list_filter = ("is_active", "hotel")
    readonly_fields = ("last_event_id", "unreachable_since", "unreachable_checked_at")
    fields = (
        "hotel",
        "url",
        "events",
        "is_active",
        "secret",
        "last_event_id",
        "unreachable_since",
        "unreachable_checked_at",
    )
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_changeform_initial_data(self, request) -> dict:
        return {
            "secret": webhooks.new_secret(),
            "events": list(dict(WebhookEndpoint.EVENT_CHOICES)),
        }

    def save_model(self, request, obj: WebhookEndpoint, form, change) -> None:
        if not change:
            webhooks.start_cursor_now(obj)
        super().save_model(request, obj, form, change)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnly, admin.ModelAdmin):
    list_display = (
        "event_id",
        "event_type",
        "endpoint",
        "status",
        "dead_reason",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "retry_until",
        "delivered_at",
    )
    list_filter = ("status", "dead_reason", "event_type", "endpoint")
    actions = ["resend"]

    def has_change_permission(self, request, obj=None) -> bool:
        # Needed for the action; every field stays read-only.
        return request.user.has_perm("bookings.change_webhookdelivery")

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    @admin.action(description="Send the selected deliveries again")
    def resend(self, request, queryset) -> None:
        count = webhooks.resend(queryset)
        self.message_user(request, f"{count} delivery(ies) queued again.")
