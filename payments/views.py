"""The guest's payment pages: the one that posts the checkout form, and the result."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET

from bookings.models import Reservation
from pema.money import format_money

from . import flow
from .gateways import NotConfigured
from .models import Payment


def _payment(public_id) -> Payment:
    return get_object_or_404(
        Payment.objects.select_related("reservation__hotel", "reservation__guest"),
        public_id=public_id,
    )


@require_GET
def start(request: HttpRequest, public_id) -> HttpResponse:
    """Posts the hosted checkout form for the guest (a button without JavaScript)."""
    payment = _payment(public_id)
    reservation = payment.reservation
    if (
        payment.status not in Payment.OPEN
        or reservation.status != Reservation.Status.PENDING_PAYMENT
    ):
        return redirect("payment-result", payment.public_id)
    try:
        form = flow.checkout_form(payment)
    except NotConfigured:
        return render(request, "payments/rejected.html",
                      {"message": "Online payment is not available."}, status=503)  # fmt: skip
    context = {
        "payment": payment,
        "reservation": reservation,
        "amount": format_money(payment.amount, payment.currency),
        "form": form,
    }
    return render(request, "payments/start.html", context)


@require_GET
def result(request: HttpRequest, public_id) -> HttpResponse:
    """What became of the booking: confirmed, cancelled, or still being confirmed."""
    payment = _payment(public_id)
    reservation = payment.reservation
    if reservation.status == Reservation.Status.CONFIRMED and payment.status in Payment.PAID:
        state = "confirmed"
    elif payment.status in Payment.PAID:
        state = "refunded"
    elif reservation.status == Reservation.Status.CANCELLED:
        state = "failed"
    else:
        state = "pending"
    context = {
        "payment": payment,
        "reservation": reservation,
        "amount": format_money(payment.amount, payment.currency),
        "state": state,
    }
    return render(request, "payments/result.html", context)
