"""Suppliers of other hotels' rooms, their content, and the bookings made through them.

These bookings are kept apart from the hotel's own inventory: nothing here
touches the ARI calendar or ``Reservation``.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import models

from pema.crypto import EncryptedJSONField


def supplier_choices() -> list[tuple[str, str]]:
    """The registered supplier classes (``PEMA_SUPPLIERS``), for ``Supplier.provider``."""
    return [(key, key.replace("_", " ").title()) for key in settings.PEMA_SUPPLIERS]


class Supplier(models.Model):
    """One supplier account: which implementation, where, its credentials and limits."""

    code = models.SlugField(max_length=40, unique=True, help_text="Pema's name for this account.")
    provider = models.CharField(max_length=40, choices=supplier_choices)
    name = models.CharField(max_length=120)
    enabled = models.BooleanField(default=True)
    base_url = models.URLField(help_text="e.g. https://api.test.hotelbeds.com")
    secure_base_url = models.URLField(
        blank=True, help_text="The card host (unused: no card rates)."
    )
    credentials = EncryptedJSONField(default=dict, blank=True, editable=False)
    settings = models.JSONField(default=dict, blank=True, help_text="Provider options (JSON).")
    qps = models.PositiveIntegerField(
        default=4, help_text="Calls a second Pema allows itself (under the contract's QPS)."
    )
    daily_quota = models.PositiveIntegerField(
        default=0, help_text="Calls a UTC day the key allows (0: no quota). A test key: 50."
    )
    search_timeout_seconds = models.FloatField(default=8.0)
    booking_timeout_seconds = models.FloatField(default=60.0)
    content_synced_at = models.DateTimeField(null=True, blank=True)
    content_sync_started_on = models.DateField(
        null=True,
        blank=True,
        help_text="Start date of the last complete sync (the next delta's base).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name or self.code


class MarkupRule(models.Model):
    """What Pema adds to a supplier's net price: a percentage, or an amount per booking.

    A rule for the offer's destination wins over the supplier's general rule
    (no destination); an amount applies only to prices in its currency.
    """

    class Kind(models.TextChoices):
        PERCENT = "percent", "Percentage"
        AMOUNT = "amount", "Amount"

    supplier = models.ForeignKey(Supplier, on_delete=models.CASCADE, related_name="markup_rules")
    destination = models.CharField(max_length=10, blank=True, help_text="Blank: every destination.")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PERCENT)
    percent = models.DecimalField(max_digits=6, decimal_places=2, default=Decimal("0"))
    amount = models.BigIntegerField(default=0, help_text="Minor units, per booking.")
    currency = models.CharField(max_length=3, blank=True)

    class Meta:
        ordering = ["supplier", "destination"]
        constraints = [
            models.UniqueConstraint(
                fields=["supplier", "destination", "currency"], name="one_markup_per_scope"
            )
        ]

    def __str__(self) -> str:
        value = (
            f"{self.percent}%"
            if self.kind == self.Kind.PERCENT
            else f"{self.amount} {self.currency}"
        )
        return f"{self.supplier_id}: {value} ({self.destination or 'all'})"

    def markup_on(self, net: int) -> int:
        """The markup in minor units on a net price of ``net`` (same currency)."""
        if self.kind == self.Kind.PERCENT:
            return int((Decimal(net) * self.percent / 100).quantize(Decimal(1), ROUND_HALF_UP))
        return self.amount


class SupplierHotel(models.Model):
    """A hotel of a supplier's content catalogue, refreshed by the content sync."""

    supplier = models.ForeignKey(Supplier, on_delete=models.CASCADE, related_name="hotels")
    code = models.CharField(max_length=40)
    name = models.CharField(max_length=200)
    category = models.CharField(max_length=20, blank=True)
    destination = models.CharField(max_length=10, blank=True, db_index=True)
    country = models.CharField(max_length=2, blank=True)
    address = models.CharField(max_length=300, blank=True)
    city = models.CharField(max_length=120, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    description = models.TextField(blank=True)
    images = models.JSONField(default=list, blank=True, help_text="Full image URLs, in order.")
    facilities = models.JSONField(default=list, blank=True)
    last_update = models.DateField(null=True, blank=True, help_text="The supplier's lastUpdate.")
    synced_at = models.DateTimeField()

    class Meta:
        ordering = ["supplier", "name"]
        constraints = [
            models.UniqueConstraint(fields=["supplier", "code"], name="one_supplier_hotel_per_code")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class SupplierBooking(models.Model):
    """A room booked at another hotel through a supplier, as the supplier confirmed it."""

    class Status(models.TextChoices):
        CONFIRMED = "confirmed", "Confirmed"
        CANCELLED = "cancelled", "Cancelled"

    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="bookings")
    api_key = models.ForeignKey(
        "bookings.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reference = models.CharField(max_length=60, help_text="The supplier's booking reference.")
    client_reference = models.CharField(max_length=20, unique=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.CONFIRMED)
    holder_name = models.CharField(max_length=50)
    holder_surname = models.CharField(max_length=50)
    hotel_code = models.CharField(max_length=40)
    hotel_name = models.CharField(max_length=200, blank=True)
    check_in = models.DateField()
    check_out = models.DateField()
    rate_type = models.CharField(max_length=10, blank=True)
    paxes = models.JSONField(default=list, blank=True)
    net = models.BigIntegerField(help_text="What the supplier charges, minor units.")
    selling = models.BigIntegerField(help_text="What Pema sells it for, minor units.")
    currency = models.CharField(max_length=3)
    markup = models.JSONField(default=dict, blank=True)
    cancellation_policies = models.JSONField(default=list, blank=True)
    cancellation_fee = models.BigIntegerField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    settled_by_lookup = models.BooleanField(
        default=False, help_text="The booking answer was lost; found by its client reference."
    )
    raw_request = models.JSONField(default=dict, blank=True)
    raw_response = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["supplier", "reference"], name="one_booking_per_reference"
            )
        ]

    def __str__(self) -> str:
        return f"{self.supplier_id} {self.reference}"
