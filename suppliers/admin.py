"""Admin for suppliers (credentials write-only, markup inline), their hotels (a content
browser with images) and the bookings made through them (with a cancel action)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html, format_html_join

from pema.money import format_money

from . import booking as domain
from .health import report
from .interface import SupplierError
from .models import MarkupRule, Supplier, SupplierBooking, SupplierHotel
from .registry import supplier_class


class SupplierForm(forms.ModelForm):
    """Credentials are typed in, never shown back: an empty field keeps the stored value."""

    credential_api_key = forms.CharField(
        label="API key",
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Stored encrypted, never shown; leave empty to keep the current value.",
    )
    credential_secret = forms.CharField(
        label="Secret",
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Stored encrypted, never shown; leave empty to keep the current value.",
    )

    class Meta:
        model = Supplier
        fields = [
            "code",
            "provider",
            "name",
            "enabled",
            "base_url",
            "secure_base_url",
            "settings",
            "qps",
            "daily_quota",
            "search_timeout_seconds",
            "booking_timeout_seconds",
        ]

    def clean(self):
        data = super().clean()
        provider = data.get("provider")
        if not provider:
            return data
        needed = supplier_class(provider).credential_fields
        creds = dict(self.instance.credentials or {}) if self.instance.pk else {}
        if self.instance.pk and "base_url" in self.changed_data:
            creds = {}  # secrets go only to the address they were given for
        for name in needed:
            value = data.get(f"credential_{name}")
            if value:
                creds[name] = value
        missing = [needed[name] for name in needed if not creds.get(name)]
        if missing:
            raise forms.ValidationError("Enter the credentials: " + " ".join(missing))
        if data.get("qps", 1) < 1:
            self.add_error("qps", "At least 1 call a second.")
        self.instance.credentials = creds
        return data


class MarkupRuleInline(admin.TabularInline):
    model = MarkupRule
    extra = 0
    fields = ("destination", "kind", "percent", "amount", "currency")


@admin.register(Supplier)
class SupplierAdmin(admin.ModelAdmin):
    form = SupplierForm
    inlines = [MarkupRuleInline]
    list_display = (
        "code",
        "name",
        "provider",
        "enabled",
        "qps",
        "daily_quota",
        "content_synced_at",
    )
    readonly_fields = ("content_synced_at", "content_sync_started_on")

    def get_urls(self):
        return [
            path(
                "health/",
                self.admin_site.admin_view(self.health_view),
                name="suppliers_supplier_health",
            ),
            *super().get_urls(),
        ]

    def health_view(self, request):
        if not self.has_view_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": "Supplier health",
            "suppliers": report(),
        }
        return TemplateResponse(request, "suppliers/health_page.html", context)


@admin.register(SupplierHotel)
class SupplierHotelAdmin(admin.ModelAdmin):
    list_display = (
        "thumbnail",
        "name",
        "code",
        "supplier",
        "category",
        "destination",
        "city",
        "last_update",
    )
    list_filter = ("supplier", "destination", "category")
    search_fields = ("name", "code", "city", "address")
    list_per_page = 50
    readonly_fields = [f.name for f in SupplierHotel._meta.fields] + ["gallery"]

    def has_add_permission(self, request) -> bool:
        return False  # content comes from the supplier

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="")
    def thumbnail(self, obj):
        if not obj.images:
            return "—"
        return format_html(
            '<img src="{}" alt="" style="height:48px;border-radius:3px">', obj.images[0]
        )

    @admin.display(description="Images")
    def gallery(self, obj):
        return format_html_join(
            "",
            '<img src="{}" alt="" style="height:140px;margin:0 8px 8px 0">',
            ((u,) for u in obj.images),
        )


@admin.register(SupplierBooking)
class SupplierBookingAdmin(admin.ModelAdmin):
    list_display = (
        "reference",
        "supplier",
        "status",
        "hotel_name",
        "check_in",
        "check_out",
        "holder",
        "price",
        "created_at",
    )
    list_filter = ("supplier", "status")
    search_fields = ("reference", "client_reference", "holder_surname", "hotel_name")
    actions = ["cancel_bookings"]
    readonly_fields = [f.name for f in SupplierBooking._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False  # made through the API

    @admin.display(description="Holder")
    def holder(self, obj):
        return f"{obj.holder_name} {obj.holder_surname}"

    @admin.display(description="Selling (net)")
    def price(self, obj):
        return f"{format_money(obj.selling, obj.currency)} ({format_money(obj.net, obj.currency)})"

    @admin.action(
        description="Cancel the selected bookings at the supplier", permissions=["change"]
    )
    def cancel_bookings(self, request, queryset):
        for booking in queryset.select_related("supplier"):
            try:
                result = domain.cancel(booking, simulate=False)
            except SupplierError as exc:
                self.message_user(request, f"{booking.reference}: {exc.message}", messages.ERROR)
                continue
            fee = format_money(result.fee, result.currency)
            self.message_user(request, f"{booking.reference}: {result.status.lower()}, fee {fee}.")
