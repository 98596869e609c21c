"""Payments' part in the booking flow (``bookings/extensions.py``): the 201's ``payment``
object, and the refund on cancellation."""

from __future__ import annotations

from typing import Any

from bookings.extensions import BookingExtension
from bookings.models import Reservation

from . import flow
from .models import Gateway


class PaymentsExtension(BookingExtension):
    """Takes PayU payments for booking-engine bookings and refunds them on cancellation."""

    payment_methods = (Gateway.PAYU.value,)

    def can_take_payment(self, reservation_hotel_id: int, method: str) -> bool:
        return method in self.payment_methods and flow.can_take_payment(reservation_hotel_id)

    def booking_created(self, reservation: Reservation, method: str, request: Any) -> dict:
        payment = flow.start_payment(reservation, method)
        return {"payment": flow.payment_data(payment)}

    def reservation_cancelled(self, reservation: Reservation, *, source: str) -> None:
        flow.refund_for_cancellation(reservation)

    def describe(self, reservation: Reservation) -> dict:
        return {"refund": flow.refund_summary(reservation)}
