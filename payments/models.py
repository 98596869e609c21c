"""Payments for direct bookings: the gateway config per hotel, each payment attempt, every
message about it (the money's sync log) and refunds."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q

from bookings.models import Hotel, Reservation
from pema.crypto import EncryptedJSONField
from pema.money import format_money


class Gateway(models.TextChoices):
    PAYU = "payu", "PayU India"


class GatewayConfig(models.Model):
    """A hotel's payment gateway: its mode, and its key and salt encrypted (write-only)."""

    class Mode(models.TextChoices):
        TEST = "test", "Test"
        PRODUCTION = "production", "Production"

    hotel = models.OneToOneField(Hotel, on_delete=models.CASCADE, related_name="payment_gateway")
    gateway = models.CharField(max_length=16, choices=Gateway.choices, default=Gateway.PAYU)
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.TEST)
    base_url = models.URLField(
        blank=True,
        help_text="Leave empty for the gateway's own URLs for the mode; set for a simulator.",
    )
    credentials = EncryptedJSONField(default=dict, blank=True, editable=False)
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "payment gateway"

    def __str__(self) -> str:
        return f"{self.hotel.code}: {self.get_gateway_display()} ({self.mode})"


class Payment(models.Model):
    """One attempt to pay for a reservation (a PayU ``txnid``), in minor units."""

    class Status(models.TextChoices):
        INITIATED = "initiated", "Initiated"
        PENDING = "pending", "Pending at the gateway"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        REFUNDED = "refunded", "Refunded"
        PARTLY_REFUNDED = "partly_refunded", "Partly refunded"

    OPEN = (Status.INITIATED, Status.PENDING)
    PAID = (Status.SUCCEEDED, Status.PARTLY_REFUNDED, Status.REFUNDED)

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    reservation = models.ForeignKey(Reservation, on_delete=models.PROTECT, related_name="payments")
    gateway = models.CharField(max_length=16, choices=Gateway.choices, default=Gateway.PAYU)
    txnid = models.CharField(max_length=25, unique=True)
    mihpayid = models.CharField(max_length=64, blank=True, help_text="PayU's payment id.")
    amount = models.PositiveIntegerField(help_text="Minor units.")
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.INITIATED)
    failure_reason = models.CharField(max_length=200, blank=True)
    refunded_amount = models.PositiveIntegerField(default=0, help_text="Minor units, settled.")
    gateway_status = models.CharField(
        max_length=64, blank=True, help_text="What the gateway said last (status/unmapped)."
    )
    attention = models.CharField(
        max_length=300,
        blank=True,
        help_text="Where the gateway and Pema disagree, or staff must look (shown in red).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("refund_payment", "Can refund a payment")]
        indexes = [models.Index(fields=["status", "created_at"], name="payment_status_age")]

    def __str__(self) -> str:
        return f"{self.txnid} {format_money(self.amount, self.currency)} ({self.status})"

    @property
    def refundable(self) -> int:
        """What may still be refunded: paid, less refunds settled or on their way."""
        if self.status not in self.PAID:
            return 0
        committed = sum(r.amount for r in self.refunds.all() if r.status != Refund.Status.FAILED)
        return max(self.amount - committed, 0)


class PaymentEvent(models.Model):
    """Every callback, webhook and gateway answer about a payment, stored raw first."""

    class Kind(models.TextChoices):
        RETURN = "return", "Browser return"
        WEBHOOK = "webhook", "Webhook"
        VERIFY = "verify", "verify_payment answer"
        REFUND = "refund", "cancel_refund_transaction answer"
        REFUND_STATUS = "refund_status", "check_action_status answer"
        NOTE = "note", "Pema's own decision"

    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    txnid = models.CharField(max_length=64, blank=True)
    body = models.JSONField(default=dict)
    hash_verified = models.BooleanField(null=True)
    answered = models.PositiveSmallIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.txnid}: {self.outcome}"


class Refund(models.Model):
    """Money given back through the gateway, followed until it settles."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        REQUESTED = "requested", "Requested at the gateway"
        SETTLED = "settled", "Settled"
        FAILED = "failed", "Failed"

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    token = models.CharField(max_length=40, unique=True, help_text="Unique per refund request.")
    amount = models.PositiveIntegerField(help_text="Minor units.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    request_id = models.CharField(max_length=64, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    requested_by = models.CharField(max_length=150, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive")
        ]

    def __str__(self) -> str:
        return f"{self.token} {self.amount} ({self.status})"
