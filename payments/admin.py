"""Payments in the admin: the list with filters, the refund action, the gateway config
(write-only secrets), and a payments inline on the reservation."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from bookings.admin import ReservationAdmin
from pema.money import exact_minor, format_money

from . import flow
from .models import GatewayConfig, Payment, PaymentEvent, Refund


def attention_marker(obj: Payment) -> str:
    if not obj.attention:
        return ""
    return format_html(
        '<strong style="color:#fff;background:#ba2121;padding:2px 6px;border-radius:3px" '
        'title="{}">CHECK</strong> {}',
        obj.attention,
        obj.attention,
    )


@admin.display(description="Payments")
def reservation_payments(admin_self, obj) -> str:
    """The reservation's payments, inline on its page (read-only: nothing to post)."""
    rows = format_html_join(
        "",
        '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
        (
            (
                reverse("admin:payments_payment_change", args=[p.pk]),
                p.txnid,
                p.get_status_display(),
                format_money(p.amount, p.currency),
                format_money(p.refunded_amount, p.currency),
                attention_marker(p),
            )
            for p in obj.payments.order_by("id")
        ),
    )
    if not rows:
        return "—"
    return format_html(
        "<table><tr><th>Payment</th><th>Status</th><th>Amount</th><th>Refunded</th>"
        "<th>Gateway and Pema</th></tr>{}</table>",
        rows,
    )


# The reservation shows its payments; bookings itself knows nothing of them.
ReservationAdmin.reservation_payments = reservation_payments
ReservationAdmin.readonly_fields = (*ReservationAdmin.readonly_fields, "hold_expires_at",
                                    "cancellation_fee", "reservation_payments")  # fmt: skip


class PaymentEventInline(admin.TabularInline):
    model = PaymentEvent
    extra = 0
    can_delete = False
    fields = ("created_at", "kind", "hash_verified", "answered", "outcome", "body")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class RefundInline(admin.TabularInline):
    model = Refund
    extra = 0
    can_delete = False
    fields = ("created_at", "token", "amount", "status", "request_id", "reason", "requested_by",
              "last_error", "settled_at")  # fmt: skip
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class RefundForm(forms.Form):
    amount = forms.CharField(help_text="In major units, e.g. 1500.00")
    reason = forms.CharField(max_length=200, required=False)

    def __init__(self, *args, payment: Payment, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.payment = payment

    def clean_amount(self) -> int:
        try:
            minor = exact_minor(self.cleaned_data["amount"].strip(), self.payment.currency)
        except ValueError as exc:
            raise forms.ValidationError("Enter an amount such as 1500.00.") from exc
        left = self.payment.refundable
        if minor <= 0 or minor > left:
            raise forms.ValidationError(
                f"At most {format_money(left, self.payment.currency)} can be refunded."
            )
        return minor


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ("txnid", "reservation", "status", "amount_shown", "refunded_shown",
                    "created_at", "settled_at", "marker")  # fmt: skip
    list_filter = ("status", "gateway", "reservation__hotel", "created_at")
    search_fields = ("txnid", "mihpayid", "reservation__confirmation_number")
    list_select_related = ("reservation",)
    readonly_fields = ("public_id", "reservation", "gateway", "txnid", "mihpayid", "amount_shown",
                       "currency", "status", "failure_reason", "refunded_shown", "gateway_status",
                       "marker", "created_at", "settled_at", "refund_link")  # fmt: skip
    fields = readonly_fields
    inlines = [RefundInline, PaymentEventInline]
    actions = ["refund_in_full"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_refund_permission(self, request) -> bool:
        return request.user.has_perm("payments.refund_payment")

    @admin.display(description="Amount")
    def amount_shown(self, obj: Payment) -> str:
        return format_money(obj.amount, obj.currency)

    @admin.display(description="Refunded")
    def refunded_shown(self, obj: Payment) -> str:
        return format_money(obj.refunded_amount, obj.currency)

    @admin.display(description="Gateway and Pema")
    def marker(self, obj: Payment) -> str:
        return attention_marker(obj) or "agree"

    @admin.display(description="Refund")
    def refund_link(self, obj: Payment) -> str:
        if obj.refundable <= 0:
            return "—"
        return format_html(
            '<a class="button" href="{}">Refund (up to {})</a>',
            reverse("admin:payments_payment_refund", args=[obj.pk]),
            format_money(obj.refundable, obj.currency),
        )

    @admin.action(description="Refund what is left of the selected payments",
                  permissions=["refund"])  # fmt: skip
    def refund_in_full(self, request, queryset):
        made = 0
        for payment in queryset:
            try:
                flow.request_refund(payment, payment.refundable, reason="staff refund",
                                    by=request.user.get_username())  # fmt: skip
                made += 1
            except flow.RefundError as exc:
                self.message_user(request, str(exc), messages.WARNING)
        if made:
            self.message_user(request, f"{made} refund(s) sent to the gateway.")

    def get_urls(self):
        own = [
            path(
                "<int:payment_id>/refund/",
                self.admin_site.admin_view(self.refund_view),
                name="payments_payment_refund",
            )
        ]
        return own + super().get_urls()

    def refund_view(self, request, payment_id: int):
        payment = get_object_or_404(Payment, pk=payment_id)
        if not self.has_refund_permission(request):
            raise PermissionDenied
        form = RefundForm(request.POST or None, payment=payment)
        if request.method == "POST" and form.is_valid():
            try:
                flow.request_refund(
                    payment,
                    form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"] or "staff refund",
                    by=request.user.get_username(),
                )
            except flow.RefundError as exc:
                form.add_error("amount", str(exc))
            else:
                messages.success(request, "The refund was sent to the gateway.")
                return redirect("admin:payments_payment_change", payment.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Refund payment {payment.txnid}",
            "payment": payment,
            "paid": format_money(payment.amount, payment.currency),
            "left": format_money(payment.refundable, payment.currency),
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/payments/payment/refund.html", context)


class GatewayConfigForm(forms.ModelForm):
    """Key and salt are write-only: left empty, the stored ones stay."""

    key = forms.CharField(required=False, help_text="Merchant key. Leave empty to keep it.")
    salt = forms.CharField(
        required=False, widget=forms.PasswordInput, help_text="Salt. Leave empty to keep it."
    )

    class Meta:
        model = GatewayConfig
        fields = ["hotel", "gateway", "mode", "base_url", "is_active"]

    def clean(self):
        data = super().clean()
        stored = self.instance.credentials or {}
        if not (data.get("key") or stored.get("key")) or not (
            data.get("salt") or stored.get("salt")
        ):
            raise forms.ValidationError("Give the merchant key and salt.")
        return data

    def save(self, commit=True):
        config = super().save(commit=False)
        creds = dict(config.credentials or {})
        for name in ("key", "salt"):
            if self.cleaned_data.get(name):
                creds[name] = self.cleaned_data[name].strip()
        config.credentials = creds
        if commit:
            config.save()
        return config


@admin.register(GatewayConfig)
class GatewayConfigAdmin(admin.ModelAdmin):
    form = GatewayConfigForm
    list_display = ("hotel", "gateway", "mode", "is_active", "updated_at")
    list_filter = ("gateway", "mode", "is_active")


@admin.register(PaymentEvent)
class PaymentEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "txnid", "hash_verified", "answered", "outcome")
    list_filter = ("kind", "hash_verified", "answered")
    search_fields = ("txnid",)
    readonly_fields = ("payment", "kind", "txnid", "body", "hash_verified", "answered",
                       "outcome", "created_at")  # fmt: skip

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
