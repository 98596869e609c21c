"""What of the payments needs a person, for the Today dashboard (``bookings.dashboard``).

Registered in ``PaymentsConfig.ready``: reservations held unpaid (and how many of
those holds run out within the next ``EXPIRING_MINUTES``), and payments where
the gateway and Pema disagree (the red marker of the payments list).
"""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from bookings.dashboard import Attention
from bookings.models import Hotel, Reservation

from .models import Payment

#: A hold that ends within this many minutes is "expiring".
EXPIRING_MINUTES = 5


def unpaid_holds(hotel: Hotel) -> list[Attention]:
    held = Reservation.objects.filter(hotel=hotel, status=Reservation.Status.PENDING_PAYMENT)
    soon = timezone.now() + timedelta(minutes=EXPIRING_MINUTES)
    count = held.count()
    expiring = held.filter(hold_expires_at__lte=soon).count() if count else 0
    url = reverse("admin:bookings_reservation_changelist")
    label = "Unpaid payment holds"
    if expiring:
        label += f" ({expiring} expiring within {EXPIRING_MINUTES} min)"
    return [
        Attention(
            label=label,
            count=count,
            url=f"{url}?hotel__id__exact={hotel.pk}&status__exact=pending_payment",
            permission="bookings.view_reservation",
        )
    ]


def disagreements(hotel: Hotel) -> list[Attention]:
    count = Payment.objects.filter(reservation__hotel=hotel).exclude(attention="").count()
    url = reverse("admin:payments_payment_changelist")
    return [
        Attention(
            label="Payments where the gateway and Pema disagree",
            count=count,
            url=f"{url}?reservation__hotel__id__exact={hotel.pk}",
            permission="payments.view_payment",
            severity="error",
        )
    ]


SOURCES = (unpaid_holds, disagreements)
